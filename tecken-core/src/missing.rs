//! Missing symbols: which modules were asked for and not found.
//!
//! Tecken records every symbol download that ends in a 404 (with the `code_file` and
//! `code_id` query parameters that Socorro's stackwalker sends) and exports yesterday's as
//! `missingsymbols.csv` (`debug_file,debug_id,code_file,code_id`, only `.pdb` modules),
//! which Mozilla's tooling uses to fetch symbols from Microsoft's server. [`MissingSymbols`]
//! keeps the same records in memory: thread-safe, bounded (least recently seen entries are
//! dropped first), exported in the same CSV form.
//!
//! ```
//! use tecken_core::{CsvOptions, MissingSymbols};
//!
//! let missing = MissingSymbols::new(10_000);
//! missing.record("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.dll", "5D7BD8F4A0A000").unwrap();
//! missing.record("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.dll", "5D7BD8F4A0A000").unwrap();
//! assert_eq!(missing.snapshot().unwrap()[0].count, 2);
//! let csv = missing.to_csv(&CsvOptions::default()).unwrap();
//! assert_eq!(csv, "debug_file,debug_id,code_file,code_id\r\n\
//!                  xul.pdb,44E4EC8C2F41492B9369D6B9A059577C2,xul.dll,5D7BD8F4A0A000\r\n");
//! ```

use std::sync::Mutex;
use std::time::SystemTime;

use lru::LruCache;

use crate::error::{Error, ErrorKind, Result};

/// Longest name kept; longer values are cut (a hostile client cannot grow entries).
const MAX_FIELD: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ModuleId {
    debug_file: String,
    debug_id: String,
    code_file: String,
    code_id: String,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    count: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
}

/// One missing module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSymbol {
    /// Debug file (`xul.pdb`).
    pub debug_file: String,
    /// Debug id, upper-case.
    pub debug_id: String,
    /// Code file, empty when not given.
    pub code_file: String,
    /// Code id, empty when not given.
    pub code_id: String,
    /// How many times it was asked for.
    pub count: u64,
    /// When it was first asked for (since it was last evicted).
    pub first_seen: SystemTime,
    /// When it was last asked for.
    pub last_seen: SystemTime,
}

/// Options of [`MissingSymbols::to_csv`].
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Only modules asked for at or after this time (Tecken exports the last 24 hours).
    pub since: Option<SystemTime>,
    /// Only `.pdb` debug files, as Tecken's export (the ones Microsoft's server may have).
    pub pdb_only: bool,
    /// Add `count` and `last_seen` (RFC 3339, UTC) columns after Tecken's four.
    pub with_counts: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            since: None,
            pdb_only: true,
            with_counts: false,
        }
    }
}

/// A thread-safe, bounded record of missing modules (see the crate docs).
#[derive(Debug)]
pub struct MissingSymbols {
    entries: Mutex<LruCache<ModuleId, Seen>>,
    capacity: usize,
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_FIELD);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl MissingSymbols {
    /// The capacity of the bindings' recorders when none is given. An entry is about 300
    /// bytes with typical names (four names, two times and a count, the LRU's node and hash
    /// slot), at most about 1.3 KiB since names are cut at 255 bytes: a full recorder is
    /// some 30 MB, never more than about 130 MB.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A recorder keeping at most `capacity` modules (at least 1).
    pub fn new(capacity: usize) -> MissingSymbols {
        MissingSymbols {
            entries: Mutex::new(LruCache::unbounded()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, LruCache<ModuleId, Seen>>> {
        self.entries
            .lock()
            .map_err(|_| Error::new(ErrorKind::Internal, "missing-symbols lock poisoned"))
    }

    /// Records one request for a module that was not found. The debug id is upper-cased;
    /// code file and id may be empty.
    pub fn record(
        &self,
        debug_file: &str,
        debug_id: &str,
        code_file: &str,
        code_id: &str,
    ) -> Result<()> {
        self.record_at(debug_file, debug_id, code_file, code_id, SystemTime::now())
    }

    /// [`MissingSymbols::record`] at a given time (for tests and replays).
    pub fn record_at(
        &self,
        debug_file: &str,
        debug_id: &str,
        code_file: &str,
        code_id: &str,
        at: SystemTime,
    ) -> Result<()> {
        let id = ModuleId {
            debug_file: clip(debug_file),
            debug_id: clip(debug_id).to_ascii_uppercase(),
            code_file: clip(code_file),
            code_id: clip(code_id),
        };
        let mut entries = self.lock()?;
        match entries.get_mut(&id) {
            Some(seen) => {
                seen.count += 1;
                seen.last_seen = seen.last_seen.max(at);
            }
            None => {
                put_bounded(
                    &mut entries,
                    self.capacity,
                    id,
                    Seen {
                        count: 1,
                        first_seen: at,
                        last_seen: at,
                    },
                );
            }
        }
        Ok(())
    }

    /// How many modules are recorded.
    pub fn len(&self) -> Result<usize> {
        Ok(self.lock()?.len())
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.lock()?.is_empty())
    }

    /// Forgets everything.
    pub fn clear(&self) -> Result<()> {
        self.lock()?.clear();
        Ok(())
    }

    /// Every recorded module, most recently asked for first.
    pub fn snapshot(&self) -> Result<Vec<MissingSymbol>> {
        let entries = self.lock()?;
        Ok(entries
            .iter()
            .map(|(id, seen)| MissingSymbol {
                debug_file: id.debug_file.clone(),
                debug_id: id.debug_id.clone(),
                code_file: id.code_file.clone(),
                code_id: id.code_id.clone(),
                count: seen.count,
                first_seen: seen.first_seen,
                last_seen: seen.last_seen,
            })
            .collect())
    }

    /// The CSV export: Tecken's header `debug_file,debug_id,code_file,code_id` (plus
    /// `count,last_seen` with [`CsvOptions::with_counts`]), CRLF line ends as Python's `csv`
    /// writes them, rows sorted by debug file and id.
    pub fn to_csv(&self, opts: &CsvOptions) -> Result<String> {
        let mut rows: Vec<MissingSymbol> = self
            .snapshot()?
            .into_iter()
            .filter(|m| opts.since.is_none_or(|t| m.last_seen >= t))
            .filter(|m| !opts.pdb_only || m.debug_file.to_ascii_lowercase().ends_with(".pdb"))
            .collect();
        rows.sort_by(|a, b| {
            (&a.debug_file, &a.debug_id, &a.code_file, &a.code_id).cmp(&(
                &b.debug_file,
                &b.debug_id,
                &b.code_file,
                &b.code_id,
            ))
        });
        let mut out = String::from("debug_file,debug_id,code_file,code_id");
        if opts.with_counts {
            out.push_str(",count,last_seen");
        }
        out.push_str("\r\n");
        for m in rows {
            let mut fields = vec![
                csv_field(&m.debug_file),
                csv_field(&m.debug_id),
                csv_field(&m.code_file),
                csv_field(&m.code_id),
            ];
            if opts.with_counts {
                fields.push(m.count.to_string());
                fields.push(crate::date::rfc3339(m.last_seen));
            }
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }
}

/// Quotes a CSV field when needed (RFC 4180, as Python's `csv` module does).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `lru.put(key, value)` keeping at most `capacity` entries (the least recently used
/// goes). The caches are made `unbounded` and bounded here because `LruCache::new`
/// allocates its whole capacity up front: megabytes for the default capacities, paid by
/// every process that makes a symbolicator (one per crash, for a crash processor).
pub(crate) fn put_bounded<K: std::hash::Hash + Eq, V>(
    lru: &mut LruCache<K, V>,
    capacity: usize,
    key: K,
    value: V,
) {
    if !lru.contains(&key) {
        while lru.len() >= capacity.max(1) {
            if lru.pop_lru().is_none() {
                break;
            }
        }
    }
    lru.put(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn bounded_lru() {
        let m = MissingSymbols::new(2);
        m.record("a.pdb", "1", "", "").unwrap();
        m.record("b.pdb", "2", "", "").unwrap();
        m.record("a.pdb", "1", "", "").unwrap(); // a is now the most recent
        m.record("c.pdb", "3", "", "").unwrap(); // evicts b
        let names: Vec<String> = m
            .snapshot()
            .unwrap()
            .into_iter()
            .map(|s| s.debug_file)
            .collect();
        assert_eq!(names, ["c.pdb", "a.pdb"]);
    }

    #[test]
    fn default_capacity_keeps_that_many_modules() {
        let m = MissingSymbols::new(MissingSymbols::DEFAULT_CAPACITY);
        for i in 0..=MissingSymbols::DEFAULT_CAPACITY {
            m.record("m.pdb", &format!("{i:X}"), "", "").unwrap();
        }
        let kept = m.snapshot().unwrap();
        assert_eq!(kept.len(), MissingSymbols::DEFAULT_CAPACITY);
        // The first one recorded went first.
        assert!(kept.iter().all(|s| s.debug_id != "0"));
    }

    #[test]
    fn csv_filters_and_quotes() {
        let m = MissingSymbols::new(10);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        m.record_at("old.pdb", "1", "", "", t0).unwrap();
        m.record_at("libxul.so", "2", "", "", t0 + Duration::from_secs(100))
            .unwrap();
        m.record_at(
            "we,ird.pdb",
            "3",
            "x.dll",
            "AB",
            t0 + Duration::from_secs(100),
        )
        .unwrap();
        let csv = m
            .to_csv(&CsvOptions {
                since: Some(t0 + Duration::from_secs(50)),
                ..CsvOptions::default()
            })
            .unwrap();
        assert_eq!(
            csv,
            "debug_file,debug_id,code_file,code_id\r\n\"we,ird.pdb\",3,x.dll,AB\r\n"
        );
        let all = m
            .to_csv(&CsvOptions {
                pdb_only: false,
                with_counts: true,
                since: None,
            })
            .unwrap();
        assert!(
            all.contains("libxul.so,2,,,1,2023-11-14T22:15:00Z\r\n"),
            "{all}"
        );
    }

    #[test]
    fn threads_count_every_record() {
        let m = std::sync::Arc::new(MissingSymbols::new(100));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    (0..1000).for_each(|_| m.record("x.pdb", "ab", "", "").unwrap())
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(m.snapshot().unwrap()[0].count, 4000);
    }
}
