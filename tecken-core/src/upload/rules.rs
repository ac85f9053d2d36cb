//! What an upload accepts, each rule with Tecken's error message (or ours, in Tecken's
//! style, for the holes Tecken leaves open).
//!
//! Every function here judges one thing (the archive's name, a member, a size) and knows
//! nothing of the order the checks run in; [`plan`](super::plan::plan) applies them in
//! Tecken's order. Messages name members (`py_repr`, as Python prints them) and never a
//! path of the server's.

use md5::{Digest, Md5};

use super::archive::Entry;
use super::options::UploadLimits;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{has_invalid_key_chars, is_hex, is_safe_component, py_repr, ObjectKey};
use crate::store::encoding::hex;

/// Members smaller than this are exempt from the per-member compression-ratio limit (a
/// 6 KB `.DS_Store` compresses 14:1 and harms no one). What many small members add up to
/// is bounded by the archive-wide ratio limit.
const RATIO_EXEMPT: u64 = 64 << 10;
/// Bytes any archive may decompress to beyond `max_ratio` times its size, so that a tiny
/// archive of small, very compressible files is not refused.
const RATIO_ALLOWANCE: u64 = 1 << 20;
/// The longest name component a file system stores (`NAME_MAX` on Linux and macOS, 255
/// UTF-16 units on Windows).
const NAME_MAX: usize = 255;

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// Tecken's check of the uploaded file's name: it must end in `.zip` (any case).
pub(super) fn check_archive_name(name: &str) -> Result<()> {
    if name.to_ascii_lowercase().ends_with(".zip") {
        return Ok(());
    }
    let ext = match name.rfind('.') {
        Some(i) if i > 0 && !name[i..].contains('/') => &name[i..],
        _ => "",
    };
    Err(invalid(format!(
        "Unrecognized archive file extension \"{ext}\""
    )))
}

/// Whether a member name is unsafe to use as a path: absolute, `.`/`..`, backslashes, NUL,
/// drive letters.
fn is_unsafe_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    name.starts_with('/')
        || name.contains(['\\', '\0'])
        || name.as_bytes().get(1) == Some(&b':')
        || trimmed.split('/').any(|c| c == "." || c == "..")
}

/// Member safety, checked on every entry (directories too) before anything else: what
/// Tecken leaves to Python's `extractall`.
pub(super) fn check_member_safety(e: &Entry) -> Result<()> {
    if is_unsafe_name(&e.name) {
        return Err(invalid(format!(
            "Unsafe file name in archive: {} (absolute paths, '.' or '..' components and backslashes are not allowed)",
            py_repr(&e.name)
        )));
    }
    if e.is_symlink() {
        return Err(invalid(format!(
            "Symbolic link in archive: {} (symlinks are not allowed)",
            py_repr(&e.name)
        )));
    }
    if e.is_encrypted() {
        return Err(invalid(format!(
            "Encrypted file in archive: {} (encryption is not supported)",
            py_repr(&e.name)
        )));
    }
    if e.name.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(invalid(format!(
            "File name too long in archive: {} (each part of a name is at most {NAME_MAX} bytes)",
            py_repr(&e.name)
        )));
    }
    Ok(())
}

/// Tecken's error for two entries of one name and different sizes (`prev` is the size of
/// the first). Equal-size twins are not an error: the first is kept.
pub(super) fn duplicate_name(e: &Entry, prev: u64) -> Error {
    invalid(format!(
        "The zipfile buffer contains two files both called {} and they have difference sizes ({} != {})",
        e.name, e.size, prev
    ))
}

/// The per-member limits, on the declared sizes: uncompressed size, and the compression
/// ratio of a member of [`RATIO_EXEMPT`] bytes or more.
pub(super) fn check_member_size(e: &Entry, limits: &UploadLimits) -> Result<()> {
    if e.size > limits.max_member_size {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "File {} is {} bytes uncompressed, more than the limit of {}",
                py_repr(&e.name),
                e.size,
                limits.max_member_size
            ),
        ));
    }
    if e.size >= RATIO_EXEMPT && e.size / e.compressed_size.max(1) > limits.max_ratio {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "File {} has a compression ratio above the limit of {} ({} bytes from {})",
                py_repr(&e.name),
                limits.max_ratio,
                e.size,
                e.compressed_size
            ),
        ));
    }
    Ok(())
}

/// The archive-wide limit on decompressed bytes, and how to explain it.
#[derive(Debug, Clone)]
pub(super) struct TotalLimit {
    pub(super) bytes: u64,
    why: String,
}

impl TotalLimit {
    /// The most bytes an archive of `archive_len` bytes may decompress to: the total
    /// limit, or the ratio limit applied to the whole archive, whichever is smaller.
    pub(super) fn new(limits: &UploadLimits, archive_len: u64) -> TotalLimit {
        let by_ratio = archive_len
            .saturating_mul(limits.max_ratio)
            .saturating_add(RATIO_ALLOWANCE);
        if by_ratio < limits.max_total_size {
            TotalLimit {
                bytes: by_ratio,
                why: format!(
                    "the archive's compression ratio limit of {} ({} bytes for {archive_len} bytes of archive)",
                    limits.max_ratio, by_ratio
                ),
            }
        } else {
            TotalLimit {
                bytes: limits.max_total_size,
                why: format!("the limit of {}", limits.max_total_size),
            }
        }
    }

    /// The check on the sum of the declared sizes, before anything is decompressed.
    pub(super) fn check_declared(&self, total: u64) -> Result<()> {
        if total > self.bytes {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Archive is {total} bytes uncompressed, more than {}",
                    self.why
                ),
            ));
        }
        Ok(())
    }

    /// The error when the bytes actually produced pass the limit (the declared sizes lied).
    pub(super) fn exceeded(&self) -> Error {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("Archive decompresses to more than {} bytes", self.why),
        )
    }
}

/// Tecken's listing rules for one file: no disallowed snippet in its name, and the
/// `<module>/<hex>/<file>` or `<name>-symbols.txt` pattern (`.DS_Store` anywhere), with
/// S3's "characters to avoid" refused in the module and file names.
pub(super) fn check_listing(name: &str, disallowed_snippets: &[String]) -> Result<()> {
    if let Some(snippet) = disallowed_snippets
        .iter()
        .find(|s| !s.is_empty() && name.contains(s.as_str()))
    {
        return Err(invalid(format!(
            "Content of archive file contains the snippet '{snippet}' which is not allowed"
        )));
    }
    let parts: Vec<&str> = name.split('/').collect();
    let ok = match parts.as_slice() {
        [.., last] if *last == ".DS_Store" => true,
        [a, b, c] => {
            is_hex(b)
                && is_safe_component(a)
                && is_safe_component(c)
                && !has_invalid_key_chars(a)
                && !has_invalid_key_chars(c)
        }
        [one] => one.to_ascii_lowercase().ends_with("-symbols.txt"),
        _ => false,
    };
    if !ok {
        return Err(invalid(format!(
            "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was {})",
            py_repr(name)
        )));
    }
    Ok(())
}

/// Members accepted but not stored: `*-symbols.txt` and `.DS_Store`.
pub(super) fn is_ignored_member(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with("-symbols.txt")
        || name.rsplit('/').next() == Some(".DS_Store")
}

/// Tecken's `content_hash`: the first 30 hex digits of the MD5 of the sorted `name:size`
/// lines of every file.
pub(super) fn content_hash(files: &[&Entry]) -> String {
    let mut listing: Vec<(&str, u64)> = files.iter().map(|e| (e.name.as_str(), e.size)).collect();
    listing.sort();
    let text: Vec<String> = listing.iter().map(|(n, s)| format!("{n}:{s}")).collect();
    let mut content_hash = hex(&Md5::digest(text.join("\n").as_bytes()));
    content_hash.truncate(30);
    content_hash
}

/// The error for two members stored under one key once debug ids are upper-cased
/// (`a/abc/x` and `a/ABC/x`) whose contents differ (`first` came first in the archive).
pub(super) fn case_collision(key: &ObjectKey, first: &Entry, second: &Entry) -> Error {
    let what = if first.size == second.size {
        "contents"
    } else {
        "sizes"
    };
    invalid(format!(
        "The zipfile buffer contains two files both stored as {key} (debug ids are stored upper-case): {} and {} have different {what}",
        py_repr(&first.name),
        py_repr(&second.name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        for bad in [
            "/abc/def",
            "../ABC/x.sym",
            "a/../b",
            "./x/y",
            "a\\b\\c",
            "C:/x/y",
        ] {
            assert!(is_unsafe_name(bad), "{bad}");
        }
        for ok in ["a/B/c", "flag/", "c++filt/AB/c++filt.sym", "a..b/AB/c"] {
            assert!(!is_unsafe_name(ok), "{ok}");
        }
    }

    #[test]
    fn ignored_members() {
        assert!(is_ignored_member("build-symbols.txt"));
        assert!(is_ignored_member("flag/.DS_Store"));
        assert!(!is_ignored_member("a/B/c.sym"));
    }

    #[test]
    fn archive_names_must_end_in_zip() {
        assert!(check_archive_name("symbols.ZIP").is_ok());
        let err = |name: &str| check_archive_name(name).unwrap_err().message().to_owned();
        assert_eq!(
            err("symbols.rar"),
            "Unrecognized archive file extension \".rar\""
        );
        assert_eq!(
            err("dir.d/symbols"),
            "Unrecognized archive file extension \"\""
        );
        assert_eq!(err(".hidden"), "Unrecognized archive file extension \"\"");
    }

    #[test]
    fn listing_patterns() {
        let snippets = vec!["qcom/proprietary".to_owned()];
        for ok in [
            "xul.pdb/0123ABCD/xul.sym",
            "build-symbols.txt",
            "any/depth/.DS_Store",
        ] {
            assert!(check_listing(ok, &snippets).is_ok(), "{ok}");
        }
        for bad in [
            "xul.pdb/XYZ/xul.sym",
            "xul.sym",
            "a/b/c/d",
            "qcom/proprietary/AB/x.sym",
        ] {
            let e = check_listing(bad, &snippets).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn the_total_limit_is_the_smaller_of_size_and_ratio() {
        let limits = UploadLimits {
            max_total_size: 10 << 20,
            max_ratio: 2,
            ..UploadLimits::default()
        };
        assert_eq!(TotalLimit::new(&limits, 1000).bytes, 2000 + RATIO_ALLOWANCE);
        assert_eq!(TotalLimit::new(&limits, 100 << 20).bytes, 10 << 20);
        assert_eq!(TotalLimit::new(&limits, u64::MAX).bytes, 10 << 20);
        let limit = TotalLimit::new(&limits, 1000);
        assert!(limit.check_declared(limit.bytes).is_ok());
        assert_eq!(
            limit.check_declared(limit.bytes + 1).unwrap_err().kind(),
            ErrorKind::LimitExceeded
        );
    }
}
