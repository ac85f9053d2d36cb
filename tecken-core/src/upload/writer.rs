//! Storing: the planned members read, encoded and written by a bounded pool of threads.
//!
//! Each worker takes the next member (largest first, so the pool ends together), checks
//! Tecken's dedup (same original size and MD5: skipped), then reads the member once,
//! streaming, into its stored form (gzip plus `original_size`/`original_md5_hash` for a
//! `.sym`; raw otherwise) and writes it atomically. The stored forms held in memory at
//! once are bounded by a byte budget shared by the workers. Every byte a member
//! decompresses to counts against the archive-wide limit, so declared sizes that lie are
//! caught as the bytes arrive. The first failure stops the other workers; what was
//! written is complete, so a retry skips it.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use md5::{Digest, Md5};

use super::archive::{is_archive_read_error, read_at_file, Archive, Entry};
use super::options::{UploadOptions, UploadProgress};
use super::plan::Planned;
use super::report::{FileReport, ModuleMismatch, SymFileReport};
use super::rules::TotalLimit;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{py_repr, Area, ObjectKey};
use crate::store::encoding::{hex, Encoder};
use crate::store::{ObjectMeta, PutObject, Storage, SymbolStore};
use crate::sym::parse_header;

/// How much of a `.sym` is kept to parse its header.
const HEAD_LEN: usize = 256 * 1024;

/// One member stored or skipped.
pub(super) struct Outcome {
    pub(super) file: FileReport,
    pub(super) skipped: bool,
    pub(super) sym: Option<SymFileReport>,
}

/// A byte budget shared by the workers.
struct Budget {
    free: Mutex<u64>,
    cond: Condvar,
    total: u64,
}

impl Budget {
    /// A budget of `total` bytes (at least 1).
    fn new(total: u64) -> Budget {
        let total = total.max(1);
        Budget {
            free: Mutex::new(total),
            cond: Condvar::new(),
            total,
        }
    }

    /// Waits until `want` bytes are free and takes them; returns what was taken, to give
    /// back with [`Budget::release`]. A want above the whole budget takes the whole budget,
    /// so a member larger than the budget runs alone instead of waiting forever.
    fn acquire(&self, want: u64) -> Result<u64> {
        let want = want.clamp(1, self.total);
        let mut free = self
            .free
            .lock()
            .map_err(|_| Error::new(ErrorKind::Internal, "upload budget lock poisoned"))?;
        while *free < want {
            free = self
                .cond
                .wait(free)
                .map_err(|_| Error::new(ErrorKind::Internal, "upload budget lock poisoned"))?;
        }
        *free -= want;
        Ok(want)
    }

    /// Gives back bytes taken by [`Budget::acquire`] and wakes the waiting workers.
    fn release(&self, n: u64) {
        if let Ok(mut free) = self.free.lock() {
            *free += n;
        }
        self.cond.notify_all();
    }
}

/// Where the members' bytes come from.
#[derive(Clone, Copy)]
pub(super) enum Members<'s, 'a> {
    /// The members of a zip archive.
    Archive(&'s Archive<'a>),
    /// One plain file (an upload session's data): the entry is the whole file.
    File(&'s File),
}

impl<'s> Members<'s, '_> {
    /// A reader of `entry`'s bytes, from the start.
    fn open(self, entry: &Entry) -> Result<Box<dyn Read + 's>> {
        Ok(match self {
            Members::Archive(a) => Box::new(a.open_member(entry)?),
            Members::File(f) => Box::new(FileRange {
                file: f,
                pos: 0,
                end: entry.size,
            }),
        })
    }
}

/// Reads `pos..end` of a file with positional reads (the file's cursor is not used, so
/// two readers of one file do not disturb each other).
struct FileRange<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = read_at_file(self.file, self.pos, &mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than its recorded size",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Shared state of one upload's workers.
struct Work<'s, 'a> {
    store: &'s SymbolStore,
    members: Members<'s, 'a>,
    area: Area,
    level: u32,
    produced: AtomicU64,
    max_total: TotalLimit,
    failed: AtomicBool,
    budget: Budget,
}

/// Stores the planned members with `options.threads` workers; the outcomes come in
/// completion order.
pub(super) fn store_members(
    store: &SymbolStore,
    members: Members<'_, '_>,
    planned: Vec<Planned>,
    area: Area,
    options: &UploadOptions,
    max_total: TotalLimit,
) -> Result<Vec<Outcome>> {
    // Largest first, so the long members start early and the pool ends together.
    let mut planned = planned;
    planned.sort_by_key(|p| std::cmp::Reverse(p.entry.size));
    let work = Work {
        store,
        members,
        area,
        level: store.options().gzip_level,
        produced: AtomicU64::new(0),
        max_total,
        failed: AtomicBool::new(false),
        budget: Budget::new(options.memory_budget),
    };
    let next = AtomicUsize::new(0);
    let files_total = planned.len();
    let bytes_total: u64 = planned.iter().map(|p| p.entry.size).sum();
    let bytes_done = AtomicU64::new(0);
    let files_done = AtomicUsize::new(0);
    let report = |o: &Outcome| {
        if let Some(progress) = &options.progress {
            progress(&UploadProgress {
                files_done: files_done.fetch_add(1, Ordering::Relaxed) + 1,
                files_total,
                bytes_done: bytes_done.fetch_add(o.file.size, Ordering::Relaxed) + o.file.size,
                bytes_total,
                key: o.file.key.clone(),
                skipped: o.skipped,
            });
        }
    };
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(planned.len()));
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let threads = options.threads.clamp(1, 64).min(planned.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if work.failed.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = planned.get(i) else { return };
                match store_one(&work, p) {
                    Ok(o) => {
                        report(&o);
                        if let Ok(mut v) = outcomes.lock() {
                            v.push(o);
                        }
                    }
                    Err(e) => {
                        work.failed.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Internal, "upload error lock poisoned"))?
    {
        return Err(e);
    }
    outcomes
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Internal, "upload result lock poisoned"))
}

/// Reads member `p` through `sink`, enforcing the archive-wide byte limit on the bytes
/// actually produced. A member read a second time (`count` false: after the dedup pass
/// found different content) is not counted again.
fn pump(work: &Work<'_, '_>, p: &Planned, sink: &mut dyn Write, count: bool) -> Result<()> {
    let mut reader = work.members.open(&p.entry)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| member_error(&p.entry.name, e))?;
        if n == 0 {
            return Ok(());
        }
        let total = if count {
            work.produced.fetch_add(n as u64, Ordering::Relaxed) + n as u64
        } else {
            0
        };
        if total > work.max_total.bytes {
            return Err(work.max_total.exceeded());
        }
        if work.failed.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::Internal,
                "upload cancelled after another member failed",
            ));
        }
        sink.write_all(&buf[..n]).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("{}: {e}", py_repr(&p.entry.name)),
            )
        })?;
    }
}

/// An error reading a member: bad data is the uploader's ([`ErrorKind::InvalidInput`],
/// 400), a failure to read the archive itself is ours ([`ErrorKind::Io`]).
fn member_error(name: &str, e: std::io::Error) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::InvalidData && !is_archive_read_error(&e) {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Io
    };
    Error::new(kind, format!("{}: {e}", py_repr(name))).with_source(e)
}

/// MD5 and the first bytes of a member, without storing it (the dedup check).
struct Digester {
    md5: Md5,
    head: Vec<u8>,
}

impl Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.md5.update(buf);
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..take]);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tecken's dedup, the part that needs no reading: the MD5 to compare a file of `size`
/// bytes with, when the object stored at `skey` (`meta`) has that size. `Some("")` for a
/// raw file whose digest the backend cannot tell (sizes alone decide, as in Tecken).
pub(super) fn md5_to_compare(
    storage: &dyn Storage,
    skey: &str,
    meta: &ObjectMeta,
    compressed: bool,
    size: u64,
) -> Result<Option<String>> {
    Ok(if compressed {
        (meta.original_size == Some(size))
            .then(|| meta.original_md5.clone())
            .flatten()
    } else if meta.size == size {
        Some(storage.content_md5(skey)?.unwrap_or_default())
    } else {
        None
    })
}

/// Stores `size` bytes of the plain file `file` under `key`, as an archive member named
/// `name` would be stored (an upload session's data): Tecken's dedup, the stored form,
/// the `.sym` report and code-id entry.
pub(super) fn store_file(
    store: &SymbolStore,
    file: &File,
    name: &str,
    key: ObjectKey,
    size: u64,
    area: Area,
    options: &UploadOptions,
) -> Result<Outcome> {
    let work = Work {
        store,
        members: Members::File(file),
        area,
        level: store.options().gzip_level,
        produced: AtomicU64::new(0),
        max_total: TotalLimit::new(&options.limits, size),
        failed: AtomicBool::new(false),
        budget: Budget::new(options.memory_budget),
    };
    let planned = Planned {
        entry: Entry::plain(name.to_owned(), size),
        key,
    };
    store_one(&work, &planned)
}

fn store_one(work: &Work<'_, '_>, p: &Planned) -> Result<Outcome> {
    let storage = work.store.storage();
    let compressed = p.key.is_compressed();
    // An object a Tecken bucket holds under the lower-case id is this key too: compared,
    // and replaced where it is, so the bucket never holds the file twice.
    let (skey, existing) = match work.store.find(&p.key, &[work.area], |k| storage.head(k))? {
        Some((_, found_key, meta)) => (found_key, Some(meta)),
        None => (p.key.storage_key(work.area), None),
    };

    // Tecken's dedup: same original size and MD5 means nothing to do. The MD5 pass only
    // decompresses (cheap); the store pass below also compresses.
    let mut digested = false;
    if let Some(meta) = &existing {
        if let Some(stored_md5) = md5_to_compare(storage, &skey, meta, compressed, p.entry.size)? {
            let mut d = Digester {
                md5: Md5::new(),
                head: Vec::new(),
            };
            pump(work, p, &mut d, true)?;
            digested = true;
            let md5 = hex(&d.md5.finalize());
            // An unknown digest of a raw file (the backend cannot tell) falls back to
            // Tecken's size-only comparison.
            if stored_md5 == md5 || (!compressed && stored_md5.is_empty()) {
                let sym = compressed
                    .then(|| sym_report(work, p, &skey, &d.head))
                    .transpose()?;
                let file = FileReport {
                    key: skey,
                    member: p.entry.name.clone(),
                    size: p.entry.size,
                    stored_size: meta.size,
                    compressed,
                    md5,
                };
                return Ok(Outcome {
                    file,
                    skipped: true,
                    sym,
                });
            }
        }
    }

    let estimate = if compressed {
        p.entry.size / 3
    } else {
        p.entry.size
    };
    // The dedup pass above counted this member's bytes already.
    let count = !digested;
    let held = work.budget.acquire(estimate)?;
    let result = (|| {
        let capacity = estimate.min(64 << 20) as usize;
        let mut enc = Encoder::new(p.key.file(), work.level, HEAD_LEN, capacity);
        pump(work, p, &mut enc, count)?;
        let encoded = enc.finish()?;
        storage.put(&skey, &PutObject::from_encoded(&encoded))?;
        Ok::<_, Error>(encoded)
    })();
    work.budget.release(held);
    let encoded = result?;
    let sym = compressed
        .then(|| sym_report(work, p, &skey, &encoded.head))
        .transpose()?;
    let file = FileReport {
        key: skey,
        member: p.entry.name.clone(),
        size: encoded.original_size,
        stored_size: encoded.body.len() as u64,
        compressed,
        md5: encoded.original_md5,
    };
    Ok(Outcome {
        file,
        skipped: false,
        sym,
    })
}

/// Parses a `.sym` header, compares it with the key, and writes the code-id index entry.
fn sym_report(work: &Work<'_, '_>, p: &Planned, skey: &str, head: &[u8]) -> Result<SymFileReport> {
    let header = match parse_header(head) {
        Ok(h) => h,
        Err(e) => {
            return Ok(SymFileReport {
                key: skey.to_owned(),
                header: None,
                header_error: Some(e.to_string()),
                module_mismatch: None,
            })
        }
    };
    let mismatch = (header.debug_file != p.key.debug_file()
        || !header.debug_id.eq_ignore_ascii_case(p.key.debug_id()))
    .then(|| ModuleMismatch {
        key_debug_file: p.key.debug_file().to_owned(),
        key_debug_id: p.key.debug_id().to_owned(),
        module_debug_file: header.debug_file.clone(),
        module_debug_id: header.debug_id.clone(),
    });
    if mismatch.is_some() {
        // Found by syminfo under what the file says of itself, as Tecken does.
        work.store
            .put_module_alias(&p.key, &header, work.area == Area::Try)?;
    }
    if let Some(entry) = crate::store::code_id_entry_for(&p.key, &header, work.area == Area::Try) {
        let current = work
            .store
            .lookup_code_id(&entry.code_file, &entry.code_id)?;
        // Only replace an entry that says something else (a re-upload writes nothing),
        // and never a regular entry with a Try one: Try uploads need only a try-scoped
        // token, and must not re-point syminfo and the code-id redirect of a regular
        // module (as `rebuild_code_index` has it, regular entries win).
        let try_over_regular =
            entry.try_symbols && current.as_ref().is_some_and(|c| !c.try_symbols);
        if current.as_ref() != Some(&entry) && !try_over_regular {
            work.store.put_code_id(&entry)?;
        }
    }
    Ok(SymFileReport {
        key: skey.to_owned(),
        header: Some(header),
        header_error: None,
        module_mismatch: mismatch,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_want_larger_than_the_budget_takes_the_whole_budget() {
        let budget = Budget::new(100);
        assert_eq!(budget.acquire(1_000).unwrap(), 100);
        budget.release(100);
        assert_eq!(budget.acquire(0).unwrap(), 1);
        assert_eq!(Budget::new(0).acquire(5).unwrap(), 1);
    }

    #[test]
    fn a_worker_waits_until_bytes_are_released() {
        let budget = Arc::new(Budget::new(100));
        let held = budget.acquire(60).unwrap();
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || budget.acquire(60).unwrap())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "60 + 60 bytes fit in a budget of 100"
        );
        budget.release(held);
        assert_eq!(waiter.join().unwrap(), 60);
        assert_eq!(*budget.free.lock().unwrap(), 40);
    }
}
