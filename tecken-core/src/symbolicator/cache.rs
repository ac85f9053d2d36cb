//! The index cache directory: its layout, its byte bound and its housekeeping.
//!
//! # Layout
//!
//! ```text
//! {cache}/{debug_file}/{DEBUG_ID}/{sym_file}.tidx   an index (immutable once renamed in)
//! {cache}/{debug_file}/{DEBUG_ID}/.{name}.tmp.{pid}.{n}   an index being written
//! {cache}/.locks/{md5 of the module key}.lock       exists only while a process loads it
//! ```
//!
//! The directories of an index are created only when an index is about to be written, so a
//! module that no source has leaves nothing behind (the lock files are described under [`super`]). A
//! `{sym_file}.tidx` too long for one file name (a 250-byte debug file name) is stored as
//! `{md5 of the module key}.tidx` instead, in the same directory.
//!
//! # Bound
//!
//! The bound counts every entry under the cache directory: index files, files being
//! written, lock files, directories and anything else found there (`du --apparent-size`).
//! Only index files are evicted, least recently used first; the directories eviction
//! empties are removed with them. Other files are never removed by eviction (the cache
//! directory may hold an HTTP server's upload spool, for instance).
//!
//! Several processes (gunicorn workers, CLI runs) may share one cache directory. Eviction is
//! safe under that sharing because index files are immutable: removing one unlinks the name
//! only, and every process that has it mapped keeps reading the old inode until it closes
//! it. A process that looks the name up after the removal simply rebuilds it (under the
//! per-module lock, so only once).
//!
//! "Recently used" is the later of the file's access and modification times; a process
//! that opens a cached index sets its access time (at most once a minute per file, to
//! keep opens cheap), whatever the file system's `noatime`/`relatime` setting
//! (those only govern the kernel's own updates). The modification time is left alone so
//! that a process can tell an in-place change of a mapped index from a mere use of it.
//!
//! # Housekeeping
//!
//! [`sweep`] removes what a process killed at the wrong time (`kill -9`, OOM) leaves
//! behind: temporary index files older than [`STALE_TEMP_AGE`] and lock files nobody holds.
//! A symbolicator runs it once, on its first cache miss.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::lock;
use crate::keys::ObjectKey;

/// Index files end with this.
pub(crate) const INDEX_SUFFIX: &str = ".tidx";

/// A temporary index file older than this is left by a dead process: a live builder writes
/// to its file continuously and renames it within seconds.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Longest file name accepted by the file systems we run on (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// What [`crate::fsutil::temp_path`] adds to a name: `.`, `.tmp.`, a pid (at most 10
/// digits) and `.` with a counter (at most 20 digits).
const TEMP_OVERHEAD: usize = 1 + 5 + 10 + 1 + 20;

/// The path of `key`'s index under the cache `root`.
pub(crate) fn index_path(root: &Path, key: &ObjectKey) -> PathBuf {
    let plain = format!("{}{INDEX_SUFFIX}", key.file());
    let name = if plain.len() + TEMP_OVERHEAD <= NAME_MAX {
        plain
    } else {
        format!("{}{INDEX_SUFFIX}", lock::key_hash(key))
    };
    root.join(key.debug_file()).join(key.debug_id()).join(name)
}

fn last_used(meta: &std::fs::Metadata) -> SystemTime {
    let m = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let a = meta.accessed().unwrap_or(SystemTime::UNIX_EPOCH);
    m.max(a)
}

/// Marks `path` as used now, unless it was marked less than a minute ago.
pub(crate) fn touch(path: &Path) {
    let now = SystemTime::now();
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let recent = now
        .duration_since(last_used(&meta))
        .is_ok_and(|age| age < Duration::from_secs(60));
    if recent {
        return;
    }
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_times(std::fs::FileTimes::new().set_accessed(now));
    }
}

/// What a walk of the cache directory found.
#[derive(Debug, Default)]
struct Walk {
    /// Bytes of every entry (files, directories, anything else).
    total: u64,
    /// Index files: path, size, last use.
    indexes: Vec<(PathBuf, u64, SystemTime)>,
    /// Temporary index files and their last modification.
    temps: Vec<(PathBuf, u64, SystemTime)>,
}

fn walk(dir: &Path, out: &mut Walk, depth: usize) {
    // Our layout is two levels deep; anything deeper was put there by someone else and is
    // counted down to a sane depth only.
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        // `DirEntry::metadata` does not follow symlinks: a link counts as itself.
        let Ok(meta) = e.metadata() else { continue };
        out.total = out.total.saturating_add(meta.len());
        let path = e.path();
        if meta.is_dir() {
            walk(&path, out, depth + 1);
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some(target) = crate::fsutil::temp_target(&name) {
            if target.ends_with(INDEX_SUFFIX) {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.temps.push((path, meta.len(), modified));
            }
        } else if name.ends_with(INDEX_SUFFIX) {
            out.indexes.push((path, meta.len(), last_used(&meta)));
        }
    }
}

/// Removes the directories between `path` and `root` (exclusive) that are empty, innermost
/// first. Returns the bytes they took.
pub(crate) fn remove_empty_parents(root: &Path, path: &Path) -> u64 {
    let mut freed = 0;
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) {
            break;
        }
        let size = std::fs::symlink_metadata(d).map(|m| m.len()).unwrap_or(0);
        // Fails, as it should, when the directory is not empty (another index, or another
        // process writing one right now).
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        freed += size;
        dir = d.parent();
    }
    freed
}

/// Total bytes of everything under `root`.
#[cfg(test)]
pub fn cache_size(root: &Path) -> u64 {
    let mut w = Walk::default();
    walk(root, &mut w, 0);
    w.total
}

/// Removes the least recently used index files under `root` until everything under it
/// takes at most `max_bytes`, never removing `keep`; directories left empty go with them.
/// Returns the bytes removed. Errors (a file another process removed first) are ignored:
/// eviction is best effort and always safe to retry.
pub fn evict(root: &Path, max_bytes: u64, keep: Option<&Path>) -> u64 {
    let mut w = Walk::default();
    walk(root, &mut w, 0);
    let mut total = w.total;
    if total <= max_bytes {
        return 0;
    }
    let mut files = w.indexes;
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
            let dirs = remove_empty_parents(root, &path);
            removed += dirs;
            total = total.saturating_sub(dirs);
        }
        // Removed by us or by another process: either way it no longer counts.
        total = total.saturating_sub(size);
    }
    removed
}

/// Removes what killed processes left under `root`: temporary index files last written
/// more than `stale_after` ago, and lock files nobody holds. Returns how many files were
/// removed.
pub fn sweep(root: &Path, stale_after: Duration) -> usize {
    let mut w = Walk::default();
    walk(root, &mut w, 0);
    let now = SystemTime::now();
    let mut n = 0;
    for (path, _, modified) in w.temps {
        let old = now
            .duration_since(modified)
            .is_ok_and(|age| age > stale_after);
        if old && std::fs::remove_file(&path).is_ok() {
            remove_empty_parents(root, &path);
            n += 1;
        }
    }
    n + lock::sweep_stale(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(p: &Path, age_s: u64) {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_s);
        f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
            .unwrap();
    }

    #[test]
    fn evicts_oldest_first_and_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |name: &str, size: usize, age_s: u64| {
            let p = dir.path().join(name).join(format!("x{INDEX_SUFFIX}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![0u8; size]).unwrap();
            aged(&p, age_s);
            p
        };
        let old = mk("a", 100, 300);
        let mid = mk("b", 100, 200);
        let new = mk("c", 100, 100);
        let dir_size = std::fs::metadata(dir.path().join("a")).unwrap().len();
        assert_eq!(cache_size(dir.path()), 300 + 3 * dir_size);
        assert_eq!(
            evict(dir.path(), 150 + dir_size, Some(&old)),
            200 + 2 * dir_size
        );
        assert!(old.exists(), "kept");
        assert!(!mid.exists() && !new.exists());
        assert!(
            !dir.path().join("b").exists() && !dir.path().join("c").exists(),
            "the emptied directories went with their indexes"
        );
    }

    #[test]
    fn the_bound_counts_every_file_not_just_indexes() {
        // Files that are not indexes (locks, temporary files, whatever else) fill the cache
        // too: the bound must see them, and evict indexes to make room.
        let dir = tempfile::tempdir().unwrap();
        let idx = dir.path().join("m/ID/m.sym.tidx");
        std::fs::create_dir_all(idx.parent().unwrap()).unwrap();
        std::fs::write(&idx, vec![0u8; 100]).unwrap();
        let other = dir.path().join("spool/upload.zip");
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, vec![0u8; 10_000]).unwrap();
        assert!(cache_size(dir.path()) >= 10_100);
        assert!(evict(dir.path(), 5_000, None) >= 100);
        assert!(!idx.exists(), "the index made room");
        assert!(!dir.path().join("m").exists(), "with its directories");
        assert!(
            other.exists(),
            "files that are not indexes are never evicted"
        );
    }

    #[test]
    fn long_names_are_hashed() {
        let long = "a".repeat(250);
        let key = ObjectKey::for_module(&long, "ABC").unwrap();
        let p = index_path(Path::new("/c"), &key);
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(name.len() + TEMP_OVERHEAD <= NAME_MAX, "{name}");
        let key = ObjectKey::for_module("xul.pdb", "ABC").unwrap();
        assert_eq!(
            index_path(Path::new("/c"), &key),
            Path::new("/c/xul.pdb/ABC/xul.sym.tidx")
        );
    }
}
