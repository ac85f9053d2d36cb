//! Key and id rules of Tecken's symbol storage.
//!
//! Every stored file lives under a key `{debug_file}/{debug_id}/{file}` (an [`ObjectKey`]),
//! prefixed by its [`Area`]: `v1/` for regular uploads, `try/v1/` for uploads of Try
//! builds. That is exactly Tecken's bucket layout, so an existing Tecken bucket works
//! unchanged.
//!
//! The rules here are Tecken's, with its holes closed:
//!
//! - a key component is never empty, `.`, `..`, and never contains `/`, `\` or NUL, so no
//!   key can escape the store's root on a file system;
//! - debug file and file names never contain the characters Tecken refuses, S3's
//!   "characters to avoid" (control characters, U+0080..U+00FF, `\ ^ `` > < { } [ ] # % " ' |`)
//!   except `~`, which Tecken accepts since 2025 (Debian's `libgallium-24.2.8-1~bpo12+rpt1.so`);
//! - debug ids are ASCII alphanumeric and stored upper-case (Tecken keeps whatever case the
//!   uploader used, which makes `xul.pdb/abc1/xul.sym` and `xul.pdb/ABC1/xul.sym` two
//!   different files). A bucket Tecken wrote may hold lower-case ids: the store looks for
//!   the lower-case key after the upper-case one, and updates an object where it is
//!   ([`ObjectKey::lower_case_storage_key`]), so no file is stored twice.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// The file extensions Tecken serves; anything else is a 404 without a storage lookup
/// (Tecken's `DOWNLOAD_FILE_EXTENSIONS_ALLOWED`). Case-sensitive, as in Tecken.
pub const ALLOWED_DOWNLOAD_EXTENSIONS: [&str; 6] =
    [".sym", ".dl_", ".ex_", ".pd_", ".dbg.gz", ".tar.bz2"];

/// The debug id debuggers ask for when they have none; never stored, always ignored.
pub const BOGUS_DEBUG_ID: &str = "000000000000000000000000000000000";

/// Where a file lives: regular uploads or uploads of Try builds.
///
/// Try symbols are only served when asked for (`/try/...` or `?try`), and then after the
/// regular ones, as Tecken does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// `v1/{key}`.
    Regular,
    /// `try/v1/{key}`.
    Try,
}

impl Area {
    /// The storage-key prefix of the area, with a trailing slash (`v1/`, `try/v1/`).
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Regular => "v1/",
            Area::Try => "try/v1/",
        }
    }

    /// The areas to search, in order: the regular one, then Try when `try_symbols`.
    pub fn search_order(try_symbols: bool) -> &'static [Area] {
        if try_symbols {
            &[Area::Regular, Area::Try]
        } else {
            &[Area::Regular]
        }
    }

    /// The area an upload goes to.
    pub fn for_upload(try_symbols: bool) -> Area {
        if try_symbols {
            Area::Try
        } else {
            Area::Regular
        }
    }
}

/// The printable ASCII characters Tecken refuses in key names: S3's "characters to avoid"
/// but `~`, which Tecken accepts since 2025 (package versions such as `1~bpo12` name shared
/// libraries on Debian).
const REFUSED_ASCII: &str = "\\^`><{}[]#%\"'|";

/// Whether `s` contains a character Tecken refuses in key names: ASCII control characters,
/// U+0080..=U+00FF, and `\ ^ `` > < { } [ ] # % " ' |`. `~` and other non-ASCII characters
/// (`汉`, emoji) are valid, as in Tecken. This is the one rule of upload, download, syminfo
/// and symbolication alike.
pub fn has_invalid_key_chars(s: &str) -> bool {
    s.chars().any(|c| {
        let n = c as u32;
        n < 0x20 || (0x7f..=0xff).contains(&n) || REFUSED_ASCII.contains(c)
    })
}

/// Whether `s` is non-empty and only hex digits (either case).
pub fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `.sym` file name of a debug file: `xul.pdb` -> `xul.sym`, `libxul.so` ->
/// `libxul.so.sym` (Tecken's and Eliot's rule; only a lower-case `.pdb` is replaced).
pub fn sym_file_name(debug_file: &str) -> String {
    match debug_file.strip_suffix(".pdb") {
        Some(stem) => format!("{stem}.sym"),
        None => format!("{debug_file}.sym"),
    }
}

/// Whether `s` is usable as one component of a key: not empty, `.` or `..`, no `/`, `\`
/// or NUL, at most 255 bytes.
pub fn is_safe_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && s.len() <= 255
}

/// Whether `s` can be a debug file or file name in a key: a safe component
/// ([`is_safe_component`]) without a character Tecken refuses ([`has_invalid_key_chars`]).
pub(crate) fn is_valid_name(s: &str) -> bool {
    is_safe_component(s) && !has_invalid_key_chars(s)
}

/// Whether `s` can be the debug id of a key: 1 to 255 ASCII letters and digits.
pub(crate) fn is_valid_debug_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Tecken's download short-cut: requests that are answered 404 without looking anything
/// up (and are not recorded as missing): `file.ptr` (asked for by the Microsoft debugger),
/// the all-zero debug id, and files whose extension is not in
/// [`ALLOWED_DOWNLOAD_EXTENSIONS`].
pub fn is_ignored_download(_debug_file: &str, debug_id: &str, file: &str) -> bool {
    file == "file.ptr"
        || debug_id == BOGUS_DEBUG_ID
        || !ALLOWED_DOWNLOAD_EXTENSIONS
            .iter()
            .any(|ext| file.ends_with(ext))
}

/// The lower-cased extension of `file` without the dot (`xul.SYM` -> `sym`), as Python's
/// `os.path.splitext` sees it.
fn extension(file: &str) -> String {
    match file.rfind('.') {
        Some(i) if i > 0 && i + 1 < file.len() => file[i + 1..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Whether a file is stored gzip-compressed (Tecken's `COMPRESS_EXTENSIONS`: `.sym`).
pub fn should_compress(file: &str) -> bool {
    extension(file) == "sym"
}

/// The `Content-Type` a file is stored with (Tecken's `MIME_OVERRIDES`: `.sym` is
/// `text/plain`), or `None` for the backend's default.
pub fn content_type(file: &str) -> Option<&'static str> {
    if extension(file) == "sym" {
        Some("text/plain")
    } else {
        None
    }
}

/// Checks a full storage key (`v1/a/b/c`, `codeid/x.dll/ID`): relative, every component
/// safe. Backends call this before touching anything, so a hostile key never reaches a
/// file system or a URL.
pub fn check_storage_key(key: &str) -> Result<()> {
    if key.is_empty() || key.starts_with('/') || !key.split('/').all(is_safe_component) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid storage key {key:?}"),
        ));
    }
    Ok(())
}

/// A validated key `{debug_file}/{debug_id}/{file}` of a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    debug_file: String,
    debug_id: String,
    file: String,
}

impl ObjectKey {
    /// A key from its three parts; the debug id is upper-cased. Fails with
    /// [`ErrorKind::InvalidInput`] when a part is unsafe (empty, `.`, `..`, `/`, `\\`, NUL,
    /// over 255 bytes), a name has a character Tecken refuses (ASCII controls,
    /// U+0080..=U+00FF, `` \ ^ ` > < { } [ ] # % " ' | ``), or the debug id is not ASCII
    /// alphanumeric.
    pub fn new(debug_file: &str, debug_id: &str, file: &str) -> Result<ObjectKey> {
        for (what, part) in [("debug file", debug_file), ("file", file)] {
            if !is_valid_name(part) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("invalid {what} name {part:?}"),
                ));
            }
        }
        if !is_valid_debug_id(debug_id) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("invalid debug id {debug_id:?}"),
            ));
        }
        Ok(ObjectKey {
            debug_file: debug_file.to_owned(),
            debug_id: debug_id.to_ascii_uppercase(),
            file: file.to_owned(),
        })
    }

    /// Parses `{debug_file}/{debug_id}/{file}`.
    pub fn parse(path: &str) -> Result<ObjectKey> {
        let mut parts = path.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c), None) => ObjectKey::new(a, b, c),
            _ => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("invalid key {path:?}: expected <debug_file>/<debug_id>/<file>"),
            )),
        }
    }

    /// The key of a module's `.sym` file: `xul.pdb` -> `xul.pdb/{id}/xul.sym`,
    /// `libxul.so` -> `libxul.so/{id}/libxul.so.sym`.
    pub fn for_module(debug_file: &str, debug_id: &str) -> Result<ObjectKey> {
        ObjectKey::new(debug_file, debug_id, &sym_file_name(debug_file))
    }

    /// The debug file name (`xul.pdb`).
    pub fn debug_file(&self) -> &str {
        &self.debug_file
    }

    /// The debug id, upper-case.
    pub fn debug_id(&self) -> &str {
        &self.debug_id
    }

    /// The file name (`xul.sym`, `xul.pd_`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The same key with another debug file and id (a code-id redirect keeps the file).
    pub fn with_module(&self, debug_file: &str, debug_id: &str) -> Result<ObjectKey> {
        ObjectKey::new(debug_file, debug_id, &self.file)
    }

    /// `{debug_file}/{debug_id}/{file}`.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.debug_file, self.debug_id, self.file)
    }

    /// The full storage key in `area` (`v1/xul.pdb/ID/xul.sym`).
    pub fn storage_key(&self, area: Area) -> String {
        format!("{}{}", area.prefix(), self.path())
    }

    /// The storage key in `area` with the debug id in lower case (`v1/xul.pdb/abc1/xul.sym`),
    /// where a bucket Tecken wrote may hold it: Tecken stores ids in the case the uploader
    /// used. `None` when the id has no letter (the key is [`ObjectKey::storage_key`]).
    pub(crate) fn lower_case_storage_key(&self, area: Area) -> Option<String> {
        self.debug_id
            .bytes()
            .any(|b| b.is_ascii_alphabetic())
            .then(|| {
                format!(
                    "{}{}/{}/{}",
                    area.prefix(),
                    self.debug_file,
                    self.debug_id.to_ascii_lowercase(),
                    self.file
                )
            })
    }

    /// Whether the file is stored gzip-compressed (a `.sym`).
    pub fn is_compressed(&self) -> bool {
        should_compress(&self.file)
    }

    /// Whether the file is a `.sym`.
    pub fn is_sym(&self) -> bool {
        should_compress(&self.file)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.debug_file, self.debug_id, self.file)
    }
}

/// Splits a full storage key (`v1/a/b/c`, `try/v1/a/b/c`) into its area and object key.
/// `None` for keys outside the two areas or not of the three-part form.
pub fn parse_storage_key(key: &str) -> Option<(Area, ObjectKey)> {
    let (area, rest) = if let Some(rest) = key.strip_prefix(Area::Try.prefix()) {
        (Area::Try, rest)
    } else {
        (Area::Regular, key.strip_prefix(Area::Regular.prefix())?)
    };
    ObjectKey::parse(rest).ok().map(|k| (area, k))
}

/// Python's `repr()` of a string as Tecken's error messages show it: single quotes unless
/// the text has a single quote and no double quote.
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_chars_follow_tecken() {
        for bad in [
            "x%l.pdb",
            "xul#.ex_",
            "x\u{fc}l.pdb",
            "a\u{7}b",
            "a|b",
            "a^b",
        ] {
            assert!(has_invalid_key_chars(bad), "{bad:?}");
        }
        for good in [
            "xul.pdb",
            "\u{6c49}.pdb",
            "\u{26a1}\u{fe0f}.sym",
            "space in the filename.pdb",
            "c++filt",
            // Accepted by Tecken since 2025.
            "libgallium-24.2.8-1~bpo12+rpt1.so",
        ] {
            assert!(!has_invalid_key_chars(good), "{good:?}");
        }
    }

    #[test]
    fn keys_upper_case_ids_and_reject_traversal() {
        let k = ObjectKey::new("xul.pdb", "abc1", "xul.sym").unwrap();
        assert_eq!(k.storage_key(Area::Try), "try/v1/xul.pdb/ABC1/xul.sym");
        for (f, i, n) in [
            ("..", "A", "x.sym"),
            ("a", "..", "x.sym"),
            ("a", "A", ".."),
            ("a/b", "A", "c"),
            ("", "A", "c"),
        ] {
            assert!(ObjectKey::new(f, i, n).is_err(), "{f}/{i}/{n}");
        }
        assert!(ObjectKey::parse("a/b").is_err());
        assert!(ObjectKey::parse("a/b/c/d").is_err());
        assert_eq!(
            ObjectKey::for_module("xul.pdb", "a").unwrap().file(),
            "xul.sym"
        );
        assert_eq!(
            ObjectKey::for_module("libxul.so", "a").unwrap().file(),
            "libxul.so.sym"
        );
        assert!(check_storage_key("v1/../x").is_err());
        assert!(check_storage_key("/etc/passwd").is_err());
        assert!(check_storage_key("v1//x").is_err());
        assert!(check_storage_key("v1/a/B/c").is_ok());
    }

    #[test]
    fn ignored_downloads() {
        assert!(is_ignored_download("a.pdb", "ABC", "file.ptr"));
        assert!(is_ignored_download("a.pdb", BOGUS_DEBUG_ID, "a.sym"));
        assert!(is_ignored_download(
            "xul.pdb",
            "44E4EC8C2F41492B9369D6B9A059577C2",
            "xul.xxx"
        ));
        for ok in [
            "a.sym",
            "a.dl_",
            "a.ex_",
            "a.pd_",
            "a.dbg.gz",
            "a.dSYM.tar.bz2",
        ] {
            assert!(!is_ignored_download("a", "AB", ok), "{ok}");
        }
    }

    #[test]
    fn compression_rule() {
        assert!(should_compress("xul.sym"));
        assert!(should_compress("XUL.SYM"));
        assert!(!should_compress("xul.pd_"));
        assert!(!should_compress("ssltunnel.dbg.gz"));
        assert_eq!(content_type("a.sym"), Some("text/plain"));
        assert_eq!(content_type("a.jpeg"), None);
    }

    #[test]
    fn storage_keys_parse() {
        let (a, k) = parse_storage_key("try/v1/a.pdb/ab/a.sym").unwrap();
        assert_eq!((a, k.debug_id()), (Area::Try, "AB"));
        assert_eq!(
            parse_storage_key("v1/a.pdb/AB/a.sym").unwrap().0,
            Area::Regular
        );
        assert!(parse_storage_key("codeid/a.dll/AB").is_none());
    }

    #[test]
    fn python_repr() {
        assert_eq!(py_repr("a/b"), "'a/b'");
        assert_eq!(py_repr("it's"), "\"it's\"");
    }
}
