//! Cross-process "one build per module" locks.
//!
//! A process about to fetch and build a module's index holds an exclusive advisory lock on
//! `{cache}/.locks/{hash}.lock`, where `hash` is the MD5 of the module's key: one flat
//! directory, names of a fixed length whatever the module's name. The file exists only
//! while someone loads that module: the holder unlinks it before releasing the lock, so a
//! request for a module that exists nowhere leaves nothing behind (but the directory,
//! which the cache's sweep removes when it is empty).
//!
//! Unlinking a lock file that others may be waiting on is safe with the usual check: after
//! taking the lock, a process checks that the path still names the inode it locked
//! (`fstat` of its descriptor against `stat` of the path, device and inode). If not, the
//! holder it waited for has unlinked it, and it starts over with a fresh file. So at any
//! time at most one process holds a lock on the file the path names.
//!
//! A lock left behind by a process killed while loading (`kill -9`) is not held by anyone;
//! [`sweep_stale`] removes those, taking the lock first so that a live holder is never hit.

use std::fs::File;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::keys::ObjectKey;

/// The directory of lock files, under the cache root.
pub(crate) const LOCK_DIR: &str = ".locks";
/// Lock files end with this.
const LOCK_SUFFIX: &str = ".lock";

/// The lowercase hex MD5 of `key`'s `{debug_file}/{debug_id}/{sym_file}`: 32 characters.
pub(crate) fn key_hash(key: &ObjectKey) -> String {
    let digest = Md5::digest(key.path().as_bytes());
    let mut s = String::with_capacity(32);
    for b in digest.iter() {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// An exclusive lock on one module of a cache directory; released (and its file removed)
/// on drop.
#[derive(Debug)]
pub(crate) struct ModuleLock {
    file: Option<File>,
    path: PathBuf,
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut o = File::options();
    o.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never follow a symlink planted in the cache directory.
        o.custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

/// Whether `path` still names the file `f` (which we hold locked).
fn still_named(f: &File, path: &Path) -> bool {
    crate::fsutil::still_names(path, f)
}

impl ModuleLock {
    /// Takes the lock of `key` in the cache `root`, waiting for another holder (in this or
    /// another process) to finish.
    pub(crate) fn acquire(root: &Path, key: &ObjectKey) -> Result<ModuleLock> {
        let dir = root.join(LOCK_DIR);
        let path = dir.join(format!("{}{LOCK_SUFFIX}", key_hash(key)));
        let mut missing_dir = 0;
        loop {
            let f = match open_lock_file(&path) {
                Ok(f) => f,
                // The directory exists only while some lock does (see `Drop`): create it
                // and try again, a few times should another holder remove it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing_dir < 1000 => {
                    missing_dir += 1;
                    match std::fs::create_dir_all(&dir) {
                        Ok(()) => {}
                        // Another holder created it and the last one out removed it again
                        // between `create_dir_all`'s attempt and its check: try again.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(Error::io(&dir, e)),
                    }
                    continue;
                }
                Err(e) => return Err(Error::io(&path, e)),
            };
            f.lock().map_err(|e| Error::io(&path, e))?;
            if still_named(&f, &path) {
                return Ok(ModuleLock {
                    file: Some(f),
                    path,
                });
            }
            // The holder we waited for removed it: start over on a fresh file.
        }
    }

    /// Takes the lock on the existing lock file `path` if nobody holds it.
    fn try_existing(path: &Path) -> Option<ModuleLock> {
        let f = File::options().write(true).open(path).ok()?;
        f.try_lock().ok()?;
        still_named(&f, path).then(|| ModuleLock {
            file: Some(f),
            path: path.to_owned(),
        })
    }
}

impl Drop for ModuleLock {
    fn drop(&mut self) {
        // Unlink first, then unlock (by closing): a waiter that gets the lock next finds
        // the name gone and starts over.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
        // Elsewhere an open file cannot be removed: remove it after closing, best effort.
        #[cfg(not(unix))]
        let _ = std::fs::remove_file(&self.path);
        // The directory stays: creating and removing it for every lock cost a crash
        // processor two journaled directory operations per module it had no index of
        // (most of a missing module's cost). The sweep removes it when empty.
    }
}

/// Removes the lock files under `root` that nobody holds (left by a killed process).
/// Returns how many were removed.
pub(crate) fn sweep_stale(root: &Path) -> usize {
    let dir = root.join(LOCK_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let p = e.path();
        if !p.to_string_lossy().ends_with(LOCK_SUFFIX) {
            continue;
        }
        if let Some(lock) = ModuleLock::try_existing(&p) {
            drop(lock);
            n += 1;
        }
    }
    let _ = std::fs::remove_dir(&dir);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn key() -> ObjectKey {
        ObjectKey::for_module("a.pdb", "ABC").unwrap()
    }

    #[test]
    fn lock_file_exists_only_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let lock = ModuleLock::acquire(dir.path(), &key()).unwrap();
        let path = dir
            .path()
            .join(LOCK_DIR)
            .join(format!("{}.lock", key_hash(&key())));
        assert!(path.is_file());
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn one_holder_at_a_time_although_files_are_unlinked() {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (dir, inside) = (dir.clone(), inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _l = ModuleLock::acquire(dir.path(), &key()).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn stale_locks_are_swept_held_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join(LOCK_DIR);
        std::fs::create_dir_all(&locks).unwrap();
        std::fs::write(locks.join("0123.lock"), b"").unwrap();
        let held = ModuleLock::acquire(dir.path(), &key()).unwrap();
        assert_eq!(sweep_stale(dir.path()), 1);
        assert!(!locks.join("0123.lock").exists());
        assert!(held.path.is_file(), "a held lock is left alone");
        drop(held);
        assert_eq!(sweep_stale(dir.path()), 0);
        assert!(!locks.exists(), "the empty lock directory is removed");
    }
}
