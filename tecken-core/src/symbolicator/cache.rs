//! The index cache directory: its layout, its byte bound and its housekeeping.
//!
//! # Layout
//!
//! ```text
//! {cache}/{debug_file}/{DEBUG_ID}/{sym_file}.tidx   an index (immutable once renamed in)
//! {cache}/{debug_file}/{DEBUG_ID}/{sym_file}.tidx.ok   the record that its CRC was checked
//! {cache}/{debug_file}/{DEBUG_ID}/.{name}.tmp.{pid}.{n}   an index (or record) being written
//! {cache}/.locks/{md5 of the module key}.lock       exists only while a process loads it (the directory stays)
//! ```
//!
//! The directories of an index are created only when an index is about to be written, so a
//! module that no source has leaves nothing behind (the lock files are described under [`super`]). A
//! `{sym_file}.tidx` too long for one file name (a 250-byte debug file name) is stored as
//! `{md5 of the module key}.tidx` instead, in the same directory.
//!
//! # Checked once, not once per process
//!
//! An index written by another process has its body CRC checked ([`crate::Index::verify`])
//! before it is trusted. The first process to check it records that it passed in a
//! `.tidx.ok` file: one line naming the index file's device, inode, size and modification
//! time and the CRC its header states. (An index of at most 64 KB is read into memory and
//! checked whole on every open instead, which costs less than mapping it and reading a
//! record: see `READ_WHOLE_MAX` in [`super`].) A later process that finds the same line skips the
//! pass over the file (a fresh process per crash would otherwise read all of a 250 MB index
//! to look up twelve frames). Index files are never changed in place: a rebuilt, replaced
//! or rewritten file has another inode or modification time and is checked again. What a
//! record cannot see is a byte that rots on the disk under an unchanged file; the
//! structural checks and bounds of every read still keep that from becoming a crash.
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
//! A symbolicator runs it on its first cache miss, unless some process sharing the
//! directory did within [`SWEEP_INTERVAL`] (the modification time of `{cache}/.swept`
//! says when): a crash processor that runs one process per crash would otherwise walk a
//! cache of thousands of indexes for every crash with a module that has no symbols.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::lock;
use crate::keys::ObjectKey;

/// Index files end with this.
pub(crate) const INDEX_SUFFIX: &str = ".tidx";
/// What the record of a passed CRC check adds to its index's name.
const VERIFIED_SUFFIX: &str = ".ok";

/// A temporary index file older than this is left by a dead process: a live builder writes
/// to its file continuously and renames it within seconds.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// How often the processes sharing a cache directory sweep it, at most.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// The file whose modification time is the last sweep's.
const SWEPT_MARKER: &str = ".swept";

/// Whether the cache at `root` is due a sweep: no process sharing it swept it within
/// `interval`. When it is, marks it swept now (the caller sweeps); two processes may both
/// find it due, which costs one extra sweep.
pub(crate) fn sweep_due(root: &Path, interval: Duration) -> bool {
    crate::fsutil::marker_due(&root.join(SWEPT_MARKER), interval)
}

/// Longest file name accepted by the file systems we run on (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// What [`crate::fsutil::temp_path`] adds to a name: `.`, `.tmp.`, a pid (at most 10
/// digits) and `.` with a counter (at most 20 digits).
const TEMP_OVERHEAD: usize = 1 + 5 + 10 + 1 + 20;

/// The path of `key`'s index under the cache `root`.
pub(crate) fn index_path(root: &Path, key: &ObjectKey) -> PathBuf {
    let plain = format!("{}{INDEX_SUFFIX}", key.file());
    let name = if plain.len() + VERIFIED_SUFFIX.len() + TEMP_OVERHEAD <= NAME_MAX {
        plain
    } else {
        format!("{}{INDEX_SUFFIX}", lock::key_hash(key))
    };
    root.join(key.debug_file()).join(key.debug_id()).join(name)
}

/// The record that the index at `index`'s CRC was checked.
pub(crate) fn verified_path(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(VERIFIED_SUFFIX);
    PathBuf::from(name)
}

/// Whether `index`'s record says that this very file (`token`, from
/// `Index::verification_token`) passed its CRC check.
pub(crate) fn was_verified(index: &Path, token: &str) -> bool {
    use std::io::Read;
    // A record is one short line: read no more than a line can be, whatever is there.
    let mut line = Vec::with_capacity(token.len() + 1);
    let read = std::fs::File::open(verified_path(index))
        .and_then(|f| f.take(token.len() as u64 + 2).read_to_end(&mut line));
    read.is_ok()
        && line
            .strip_suffix(b"\n")
            .is_some_and(|l| l == token.as_bytes())
}

/// Records that `index` (as `token` names it) passed its CRC check, atomically. Best
/// effort: without the record the next process checks again.
pub(crate) fn record_verified(index: &Path, token: &str) {
    let line = format!("{token}\n");
    let _ = crate::fsutil::write_file_atomic(&verified_path(index), line.as_bytes());
}

/// Whether `name` is the name of a record [`record_verified`] writes.
fn is_record_name(name: &str) -> bool {
    name.strip_suffix(VERIFIED_SUFFIX)
        .is_some_and(|index| index.ends_with(INDEX_SUFFIX))
}

/// Removes `index` and its record.
pub(crate) fn remove_index(index: &Path) {
    let _ = std::fs::remove_file(index);
    let _ = std::fs::remove_file(verified_path(index));
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
    /// Temporary index files (and records) and their last modification.
    temps: Vec<(PathBuf, u64, SystemTime)>,
    /// Records of passed CRC checks.
    records: Vec<PathBuf>,
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
            if target.ends_with(INDEX_SUFFIX) || is_record_name(target) {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.temps.push((path, meta.len(), modified));
            }
        } else if name.ends_with(INDEX_SUFFIX) {
            out.indexes.push((path, meta.len(), last_used(&meta)));
        } else if is_record_name(&name) {
            out.records.push(path);
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
            let record = verified_path(&path);
            if let Ok(meta) = std::fs::symlink_metadata(&record) {
                if std::fs::remove_file(&record).is_ok() {
                    removed += meta.len();
                    total = total.saturating_sub(meta.len());
                }
            }
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
/// more than `stale_after` ago, records of CRC checks whose index is gone, and lock files
/// nobody holds. Returns how many files were removed.
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
    for record in w.records {
        let index = record.with_extension("");
        if !index.exists() && std::fs::remove_file(&record).is_ok() {
            remove_empty_parents(root, &record);
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
        assert!(
            name.len() + VERIFIED_SUFFIX.len() + TEMP_OVERHEAD <= NAME_MAX,
            "{name}: its record's temporary file fits too"
        );
        let key = ObjectKey::for_module("xul.pdb", "ABC").unwrap();
        assert_eq!(
            index_path(Path::new("/c"), &key),
            Path::new("/c/xul.pdb/ABC/xul.sym.tidx")
        );
    }

    #[test]
    fn processes_sharing_a_cache_sweep_it_once_an_interval() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(sweep_due(root, SWEEP_INTERVAL), "never swept");
        assert!(!sweep_due(root, SWEEP_INTERVAL), "just swept, by anyone");
        aged(&root.join(SWEPT_MARKER), SWEEP_INTERVAL.as_secs() + 1);
        assert!(sweep_due(root, SWEEP_INTERVAL), "swept too long ago");
        assert!(!sweep_due(root, SWEEP_INTERVAL));
        // The marker is not an index: eviction leaves it alone.
        evict(root, 0, None);
        assert!(root.join(SWEPT_MARKER).exists());
    }

    #[test]
    fn records_go_with_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mk = |name: &str, age_s: u64| {
            let p = root
                .join(name)
                .join("ID")
                .join(format!("{name}.sym{INDEX_SUFFIX}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![0u8; 100]).unwrap();
            aged(&p, age_s);
            record_verified(&p, "1 2 100 3.000000000 0badc0de");
            assert!(was_verified(&p, "1 2 100 3.000000000 0badc0de"));
            assert!(!was_verified(&p, "1 2 100 3.000000000 0badc0df"));
            assert!(!was_verified(&p, "1 2 100 3.000000000 0badc0d"), "a prefix");
            p
        };
        let old = mk("a", 300);
        let new = mk("b", 100);
        // Eviction takes the record with the index, and its directories.
        assert!(evict(root, cache_size(root) - 50, None) >= 100);
        assert!(!old.exists() && !verified_path(&old).exists());
        assert!(!root.join("a").exists());
        assert!(new.exists() && verified_path(&new).exists());
        // A record whose index went some other way (another process, a crash between the
        // two removals) is swept; a record with its index, and a record being written by a
        // live process, are not.
        std::fs::remove_file(&new).unwrap();
        let live = crate::fsutil::temp_path(&verified_path(&root.join("c/ID/c.sym.tidx")));
        std::fs::create_dir_all(live.parent().unwrap()).unwrap();
        std::fs::write(&live, "x").unwrap();
        let kept = mk("d", 0);
        assert_eq!(sweep(root, STALE_TEMP_AGE), 1);
        assert!(!verified_path(&new).exists() && !root.join("b").exists());
        assert!(live.exists() && verified_path(&kept).exists());
        // A dead writer's temporary record is swept once it is old.
        aged(&live, STALE_TEMP_AGE.as_secs() + 60);
        assert_eq!(sweep(root, STALE_TEMP_AGE), 1);
        assert!(!live.exists());
        remove_index(&kept);
        assert!(!kept.exists() && !verified_path(&kept).exists());
    }
}
