//! Upload spool files, and cleaning up the ones a killed server left behind.
//!
//! An upload's archive is written to `tecken-spool-{random}.zip` in the spool directory
//! (`--cache DIR/uploads`, else the temp dir) and removed when the upload ends. A server
//! killed with SIGKILL cannot remove it, so at start-up the server removes spool files
//! that no live server is writing. Several servers may share a spool directory, so age
//! alone cannot tell a dead file from a long upload in progress: every live spool file is
//! held under an exclusive `flock` by the process writing it, taken before the file gets
//! its spool name (it is created as `.tecken-spool-{random}.new`, locked, then renamed),
//! so an unlocked `tecken-spool-*.zip` is always a dead one. The lock goes with the
//! process, however it ends.
//!
//! Also removed: `*.new` files of this scheme and `upload-*.zip` files of earlier
//! versions (in `--cache DIR/uploads` only, where every file is ours), when older than a
//! day, as neither is locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Prefix of live spool files.
const PREFIX: &str = "tecken-spool-";
/// Suffix of live spool files.
const SUFFIX: &str = ".zip";
/// Unlocked files of other shapes are removed past this age.
const STALE_AGE: Duration = Duration::from_secs(24 * 3600);

/// A spool file: locked, removed on drop.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    file: File,
}

impl SpoolFile {
    /// Creates and locks a new spool file in `dir`.
    pub fn create(dir: &Path) -> std::io::Result<SpoolFile> {
        for _ in 0..16 {
            let id = random_id();
            let tmp = dir.join(format!(".{PREFIX}{id}.new"));
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            let path = dir.join(format!("{PREFIX}{id}{SUFFIX}"));
            let locked = match file.try_lock() {
                Ok(()) => std::fs::rename(&tmp, &path),
                Err(TryLockError::Error(e)) => Err(e),
                // A file this process just created exclusively: nobody else can hold it.
                Err(TryLockError::WouldBlock) => Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "a new spool file is locked by someone else",
                )),
            };
            if let Err(e) = locked {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            return Ok(SpoolFile { path, file });
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free spool file name",
        ))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `data`.
    pub fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn random_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

/// What [`clean`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Files removed.
    pub removed: usize,
    /// Spool files skipped because a live process holds them.
    pub live: usize,
}

/// Removes dead spool files from `dir` (see the module docs). `legacy` also allows
/// earlier versions' `upload-*.zip` names (a directory only we write to).
pub fn clean(dir: &Path, legacy: bool) -> Cleaned {
    let mut out = Cleaned::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let path = entry.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !md.is_file() {
            continue;
        }
        let old = md
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_AGE);
        let spool = name.starts_with(PREFIX) && name.ends_with(SUFFIX);
        let half_made = name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".new");
        let earlier = legacy && name.starts_with("upload-") && name.ends_with(".zip");
        if spool {
            let Ok(f) = File::open(&path) else {
                continue;
            };
            match f.try_lock() {
                Ok(()) => {
                    // Dead: nobody holds it, and nobody can start to (spool files are
                    // locked before they get this name).
                    if std::fs::remove_file(&path).is_ok() {
                        out.removed += 1;
                    }
                }
                Err(TryLockError::WouldBlock) => out.live += 1,
                Err(TryLockError::Error(_)) => {}
            }
        } else if (half_made || earlier) && old && std::fs::remove_file(&path).is_ok() {
            out.removed += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_spool_files_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = SpoolFile::create(dir.path()).unwrap();
        live.write_all(b"PK").unwrap();
        let name = live
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(name.starts_with(PREFIX) && name.ends_with(SUFFIX), "{name}");
        // A dead one: what a killed server leaves (same name shape, nobody holds it).
        let dead = dir.path().join(format!("{PREFIX}0123456789abcdef{SUFFIX}"));
        std::fs::write(&dead, b"PK").unwrap();
        let other = dir.path().join("not-ours.zip");
        std::fs::write(&other, b"x").unwrap();
        let legacy = dir.path().join("upload-abc.zip");
        std::fs::write(&legacy, b"x").unwrap();

        // flock is per open file: this process's own second open of `live` sees it locked.
        let got = clean(dir.path(), true);
        assert_eq!(
            got,
            Cleaned {
                removed: 1,
                live: 1
            }
        );
        assert!(!dead.exists());
        assert!(live.path().exists() && other.exists());
        assert!(legacy.exists(), "a recent legacy file may be a live upload");

        let old = SystemTime::now() - STALE_AGE - Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&legacy)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(clean(dir.path(), false).removed, 0);
        assert_eq!(clean(dir.path(), true).removed, 1);
        assert!(!legacy.exists());

        let path = live.path().to_path_buf();
        drop(live);
        assert!(!path.exists());
    }
}
