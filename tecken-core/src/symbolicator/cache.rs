//! The index cache directory: bounded in bytes, evicting the least recently used indexes.
//!
//! Several processes (gunicorn workers, CLI runs) may share one cache directory. Eviction is
//! safe under that sharing because index files are immutable: removing one unlinks the name
//! only, and every process that has it mapped keeps reading the old inode until it closes
//! it. A process that looks the name up after the removal simply rebuilds it (under the
//! per-module lock, so only once).
//!
//! "Recently used" is the file's modification time, which [`touch`] bumps when a process
//! opens a cached index (at most once a minute per file, to keep opens cheap). Access times
//! are not used: most file systems are mounted `relatime` or `noatime`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Index files end with this.
pub(crate) const INDEX_SUFFIX: &str = ".tidx";

/// Marks `path` as used now, unless it was marked less than a minute ago.
pub(crate) fn touch(path: &Path) {
    let now = SystemTime::now();
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let recent = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age < Duration::from_secs(60));
    if recent {
        return;
    }
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(now);
    }
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, u64, SystemTime)>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            collect(&path, out, depth + 1);
        } else if ft.is_file() && path.to_string_lossy().ends_with(INDEX_SUFFIX) {
            if let Ok(meta) = e.metadata() {
                out.push((
                    path,
                    meta.len(),
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                ));
            }
        }
    }
}

/// Total bytes of the index files under `root`.
pub fn cache_size(root: &Path) -> u64 {
    let mut files = Vec::new();
    collect(root, &mut files, 0);
    files.iter().map(|f| f.1).sum()
}

/// Removes the least recently used index files under `root` until their total is at most
/// `max_bytes`, never removing `keep`. Returns the bytes removed. Errors (a file another
/// process removed first) are ignored: eviction is best effort and always safe to retry.
pub fn evict(root: &Path, max_bytes: u64, keep: Option<&Path>) -> u64 {
    let mut files = Vec::new();
    collect(root, &mut files, 0);
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if total <= max_bytes {
        return 0;
    }
    files.sort_by_key(|f| f.2);
    let mut removed = 0;
    for (path, size, _) in files {
        if total <= max_bytes {
            break;
        }
        if keep.is_some_and(|k| k == path) {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            removed += size;
        }
        // Removed by us or by another process: either way it no longer counts.
        total = total.saturating_sub(size);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_first_and_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |name: &str, size: usize, age_s: u64| {
            let p = dir.path().join(name).join(format!("x{INDEX_SUFFIX}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![0u8; size]).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(age_s))
                .unwrap();
            p
        };
        let old = mk("a", 100, 300);
        let mid = mk("b", 100, 200);
        let new = mk("c", 100, 100);
        let lock = dir.path().join("a/x.tidx.lock");
        std::fs::write(&lock, b"").unwrap();
        assert_eq!(cache_size(dir.path()), 300);
        assert_eq!(evict(dir.path(), 150, Some(&old)), 200);
        assert!(old.exists(), "kept");
        assert!(!mid.exists() && !new.exists());
        assert!(lock.exists(), "lock files are never removed");
    }
}
