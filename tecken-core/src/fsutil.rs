//! Atomic file writes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file name beside `path`, unique across threads and processes.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Whether `name` is a file name [`temp_path`] makes: `.{name}.tmp.{pid}.{n}`. Returns the
/// name of the file it was to become.
pub(crate) fn temp_target(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?;
    let mut parts = rest.rsplitn(3, '.');
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (n, pid, stem) = (parts.next()?, parts.next()?, parts.next()?);
    if !digits(n) || !digits(pid) {
        return None;
    }
    stem.strip_suffix(".tmp").filter(|t| !t.is_empty())
}

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is
/// synced and renamed over `path`. On any error the temporary file is removed and `path` is
/// untouched.
pub(crate) fn write_atomic<T>(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<T>,
) -> Result<T> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let value = write(&mut file)?;
        file.flush().map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether `path` still names the open file `f` (device and inode; where there are no
/// inodes, whether it is a file): a lock holder's check that nobody unlinked or replaced
/// the file it locked.
#[cfg(unix)]
pub(crate) fn still_names(path: &Path, f: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
pub(crate) fn still_names(path: &Path, _f: &File) -> bool {
    path.is_file()
}

/// Whether housekeeping recorded by the modification time of `marker` is due (the marker
/// is missing or older than `interval`); when it is, the marker's time is set to now, so
/// processes sharing the directory take turns. Created empty once, then only its time
/// changes; a directory that cannot be written to is due every time.
pub(crate) fn marker_due(marker: &Path, interval: std::time::Duration) -> bool {
    let now = std::time::SystemTime::now();
    let recent = std::fs::metadata(marker)
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age < interval));
    if recent {
        return false;
    }
    let _ = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(marker)
        .and_then(|f| f.set_modified(now));
    true
}

/// Writes `bytes` to `path` atomically.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        let tmp = temp_path(Path::new("/x/a.sym.tidx"));
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_target(name), Some("a.sym.tidx"));
        for other in [
            "a.sym.tidx",
            ".a.tmp.1",
            ".a.tmp.x.1",
            ".tmp.1.2",
            "a.tmp.1.2",
        ] {
            assert_eq!(temp_target(other), None, "{other}");
        }
    }
}
