//! The local store's write path: atomic writes that never follow a symlink below the root,
//! temporary names that fit any file name, and the removal of temporary files left by a
//! writer that was killed.
//!
//! A write of `v1/xul.pdb/ID/xul.sym` walks down from the root one directory at a time:
//! each component is looked at with `symlink_metadata` (which does not follow links) and
//! created if missing; a symlink or a non-directory is refused. The bytes go to
//! `.tecken.tmp.{pid}.{n}` in the final directory (created with `O_EXCL`, so a symlink
//! planted there is not followed either), are synced, and renamed over the target (a
//! rename replaces a symlink at the target rather than writing through it). The root
//! itself may be a symlink: the operator chose it.
//!
//! What this does not stop: someone who can write inside the store swapping a checked
//! directory for a symlink between the check and the write. Closing that needs
//! `openat(O_NOFOLLOW)` walks, i.e. `unsafe` FFI or a new dependency; someone with write
//! access to the store can replace or delete its files anyway. The hole this closes is
//! the one that matters: a symlink already in the store (left by a migration, a backup
//! restore, an operator's shortcut) turning uploads into writes outside it.
//!
//! Temporary names are short (at most 46 bytes) whatever the target's name: the target
//! may be 255 bytes long, the most a file system stores, and a temporary name derived
//! from it would not fit (`ENAMETOOLONG`).

use std::fs::File;
use std::io::{ErrorKind as IoKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, Result};

/// The prefix of the local store's temporary files: `.tecken.tmp.{pid}.{n}`.
const TEMP_PREFIX: &str = ".tecken.tmp.";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether `name` is a temporary file of an atomic write: ours (`.tecken.tmp.{pid}.{n}`)
/// or the older `.{name}.tmp.{pid}.{n}` of earlier versions.
pub(super) fn is_temp_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let mut parts = rest.rsplitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(pid), Some(head)) => {
            digits(n) && digits(pid) && (head == "tmp" || head.ends_with(".tmp"))
        }
        _ => false,
    }
}

/// An I/O error while writing `what` (a storage key or one of its directories), without
/// the store's root: the message may reach a client.
fn write_error(what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot write {what} in the local store: {e}"),
    )
    .with_source(e)
}

/// Makes sure `path` (the directory `what` below the root) is a real directory: created
/// if missing, refused if it is a symlink or something else.
fn ensure_dir(path: &Path, what: &str) -> Result<()> {
    // Twice: a concurrent writer may create the directory between our look and our mkdir.
    for _ in 0..2 {
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot write in the local store: {what} is a symbolic link (writes never follow links)"
                    ),
                ))
            }
            Ok(md) if md.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot write in the local store: {what} is not a directory"),
                ))
            }
            Err(e) if e.kind() == IoKind::NotFound => match std::fs::create_dir(path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == IoKind::AlreadyExists => continue,
                Err(e) => return Err(write_error(what, e)),
            },
            Err(e) => return Err(write_error(what, e)),
        }
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot write in the local store: {what} keeps changing"),
    ))
}

/// Creates a new temporary file in `dir`.
fn create_temp(dir: &Path, key: &str) -> Result<(PathBuf, File)> {
    let mut last = None;
    // `create_new` never opens an existing file: another process with our pid (another
    // container on a shared volume) cannot have us write into its temporary file.
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{TEMP_PREFIX}{}.{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == IoKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(write_error(key, e)),
        }
    }
    Err(write_error(
        key,
        last.unwrap_or_else(|| std::io::Error::from(IoKind::AlreadyExists)),
    ))
}

/// Writes `body` to `key` (already checked by `check_storage_key`) below `root`,
/// atomically and without following symlinks (see the [module docs](self)).
pub(super) fn write_below(root: &Path, key: &str, body: &[u8]) -> Result<()> {
    let mut parts: Vec<&str> = key.split('/').collect();
    let Some(file_name) = parts.pop() else {
        return Err(Error::new(ErrorKind::InvalidInput, "empty storage key"));
    };
    if is_temp_name(file_name) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid storage key {key:?}: the name is reserved for temporary files"),
        ));
    }
    let mut dir = root.to_path_buf();
    let mut rel = String::new();
    for part in parts {
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(part);
        dir.push(part);
        ensure_dir(&dir, &rel)?;
    }
    let (tmp, mut file) = create_temp(&dir, key)?;
    let result = (|| {
        file.write_all(body).map_err(|e| write_error(key, e))?;
        file.sync_all().map_err(|e| write_error(key, e))?;
        drop(file);
        std::fs::rename(&tmp, dir.join(file_name)).map_err(|e| write_error(key, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What [`super::LocalStore::remove_stale_temp_files`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TempCleanup {
    /// Temporary files removed.
    pub removed: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Files or directories that could not be read or removed (left as they were).
    pub failed: u64,
}

/// Removes the temporary files (see [`is_temp_name`]) under `root` last modified at least
/// `min_age` ago. Never follows symlinks.
pub(super) fn remove_stale_temp_files(root: &Path, min_age: Duration) -> Result<TempCleanup> {
    let mut report = TempCleanup::default();
    let now = SystemTime::now();
    let mut stack = vec![root.to_path_buf()];
    let mut first = true;
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if first => {
                return Err(
                    Error::new(ErrorKind::Io, format!("cannot list the local store: {e}"))
                        .with_source(e),
                )
            }
            Err(e) if e.kind() == IoKind::NotFound => continue,
            Err(_) => {
                report.failed += 1;
                continue;
            }
        };
        first = false;
        for entry in entries {
            let Ok(entry) = entry else {
                report.failed += 1;
                continue;
            };
            // `DirEntry::file_type` and `metadata` do not follow symlinks.
            let Ok(ft) = entry.file_type() else {
                report.failed += 1;
                continue;
            };
            if ft.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let name = entry.file_name();
            if !ft.is_file() || !name.to_str().is_some_and(is_temp_name) {
                continue;
            }
            let Ok(md) = entry.metadata() else {
                report.failed += 1;
                continue;
            };
            let stale = md
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age >= min_age);
            if !stale {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    report.removed += 1;
                    report.bytes += md.len();
                }
                Err(e) if e.kind() == IoKind::NotFound => {}
                Err(_) => report.failed += 1,
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        for ours in [
            ".tecken.tmp.12.0",
            ".xul.sym.tmp.4242.17",
            ".tmp.1.2",
            &format!(".tecken.tmp.{}.{}", u32::MAX, u64::MAX),
        ] {
            assert!(is_temp_name(ours), "{ours}");
        }
        for other in [
            "xul.sym",
            ".DS_Store",
            ".tecken.tmp.12",
            ".x.tmp.a.1",
            "tecken.tmp.1.2",
            ".x.tmpfile.1.2",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
        assert!(format!(".tecken.tmp.{}.{}", u32::MAX, u64::MAX).len() <= 46);
    }
}
