//! The inline fast path of `/symbolicate/*`: answer on the async worker when every module
//! of the request is already open (or known missing), and move to the blocking pool
//! otherwise.
//!
//! A warm v5 request costs tens of microseconds; a cold one can take seconds (the `.sym` is
//! downloaded and its index built). Running everything on `spawn_blocking` costs a thread
//! hand-off per request (two context switches, a few microseconds and a cache-cold thread);
//! running cold requests on the async workers would stall every connection on that worker.
//! [`Symbolicator`] has no "only if already open" call, so the server keeps its own map of
//! what it has seen: `Found` entries hold a `Weak` of the module the symbolicator returned,
//! so they never keep a module alive past the symbolicator's LRU (a failed upgrade is a
//! miss), and `Missing` entries expire with the symbolicator's negative TTL.
//!
//! A request first runs against [`HotProvider`], which never blocks; if any module was not
//! in the map, that answer is thrown away and the request runs again on the blocking pool
//! against [`Recording`], which asks the symbolicator and fills the map. Transient failures
//! are never recorded.
//!
//! Trade-off: modules answered inline do not refresh their place in the symbolicator's LRU,
//! so under memory pressure (`max_open_bytes`) a hot module can be closed before a colder
//! one; it is then reopened from the index cache (`--cache`) on the next request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use tecken_core::symbolicator::provider::{FetchStats, Module, ModuleProvider, ModuleStatus};
use tecken_core::Symbolicator;

/// Entries kept before the map is pruned.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
enum Entry {
    Found(Weak<Module>),
    Missing(Instant),
}

/// What the server knows about modules (see the module docs).
#[derive(Debug)]
pub struct HotModules {
    map: RwLock<HashMap<(String, String), Entry>>,
    negative_ttl: Duration,
}

fn key(debug_file: &str, debug_id: &str) -> (String, String) {
    (debug_file.to_owned(), debug_id.to_ascii_uppercase())
}

impl HotModules {
    /// An empty map whose `Missing` entries last `negative_ttl`.
    pub fn new(negative_ttl: Duration) -> HotModules {
        HotModules {
            map: RwLock::new(HashMap::new()),
            negative_ttl,
        }
    }

    /// The module if it is known and still open, `Some(None)` if known missing, `None` if
    /// unknown (or the lock is poisoned: then everything goes the slow, safe way).
    fn get(&self, debug_file: &str, debug_id: &str) -> Option<Option<Arc<Module>>> {
        let map = self.map.read().ok()?;
        // Look up without allocating when the id is already upper-case (the usual case).
        let entry = if debug_id.bytes().any(|b| b.is_ascii_lowercase()) {
            map.get(&key(debug_file, debug_id))
        } else {
            map.get(&(debug_file.to_owned(), debug_id.to_owned()))
        }?;
        match entry {
            // A module whose index file changed on disk is a miss: the slow path reopens it.
            Entry::Found(w) => w
                .upgrade()
                .filter(|m| m.index.check_file(Duration::from_secs(1)).is_ok())
                .map(Some),
            Entry::Missing(at) if at.elapsed() < self.negative_ttl => Some(None),
            Entry::Missing(_) => None,
        }
    }

    fn put(&self, debug_file: &str, debug_id: &str, entry: Entry) {
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() >= MAX_ENTRIES {
            let ttl = self.negative_ttl;
            map.retain(|_, e| match e {
                Entry::Found(w) => w.strong_count() > 0,
                Entry::Missing(at) => at.elapsed() < ttl,
            });
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key(debug_file, debug_id), entry);
    }

    /// Forgets a module (after an upload, so a former miss is looked for again).
    pub fn forget(&self, debug_file: &str, debug_id: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(&key(debug_file, debug_id));
        }
    }
}

/// Answers from [`HotModules`] only; records whether anything was unknown.
#[derive(Debug)]
pub struct HotProvider<'a> {
    hot: &'a HotModules,
    missed: AtomicBool,
}

impl<'a> HotProvider<'a> {
    /// A provider over `hot`.
    pub fn new(hot: &'a HotModules) -> Self {
        HotProvider {
            hot,
            missed: AtomicBool::new(false),
        }
    }

    /// Whether some module was unknown (the answer must be thrown away).
    pub fn missed(&self) -> bool {
        self.missed.load(Ordering::Relaxed)
    }
}

impl ModuleProvider for HotProvider<'_> {
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats) {
        let start = Instant::now();
        let status = match self.hot.get(debug_file, debug_id) {
            Some(Some(m)) => ModuleStatus::Found(m),
            Some(None) => ModuleStatus::NotFound,
            None => {
                self.missed.store(true, Ordering::Relaxed);
                ModuleStatus::NotFound
            }
        };
        let stats = FetchStats {
            cache_hit: true,
            lookup_time: start.elapsed(),
            ..FetchStats::default()
        };
        (status, stats)
    }
}

/// Asks the symbolicator (may block for seconds) and remembers the answers.
#[derive(Debug)]
pub struct Recording<'a> {
    /// The real provider.
    pub symbolicator: &'a Symbolicator,
    /// Where answers are remembered.
    pub hot: &'a HotModules,
}

impl ModuleProvider for Recording<'_> {
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats) {
        let (status, stats) = self.symbolicator.module(debug_file, debug_id);
        match &status {
            ModuleStatus::Found(m) => {
                self.hot
                    .put(debug_file, debug_id, Entry::Found(Arc::downgrade(m)))
            }
            ModuleStatus::NotFound => {
                self.hot
                    .put(debug_file, debug_id, Entry::Missing(Instant::now()))
            }
            ModuleStatus::Failed(_) => {}
        }
        (status, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_modules_are_misses_and_expired_negatives_too() {
        let hot = HotModules::new(Duration::from_millis(0));
        let p = HotProvider::new(&hot);
        assert!(matches!(p.module("a.pdb", "AB").0, ModuleStatus::NotFound));
        assert!(p.missed());
        hot.put("a.pdb", "ab", Entry::Missing(Instant::now()));
        let p = HotProvider::new(&hot);
        p.module("a.pdb", "AB");
        assert!(p.missed(), "a zero TTL means negatives are never trusted");
    }

    #[test]
    fn missing_entries_within_ttl_are_answers() {
        let hot = HotModules::new(Duration::from_secs(300));
        hot.put("a.pdb", "ab", Entry::Missing(Instant::now()));
        let p = HotProvider::new(&hot);
        assert!(matches!(p.module("a.pdb", "AB").0, ModuleStatus::NotFound));
        assert!(!p.missed());
        hot.forget("a.pdb", "AB");
        let p = HotProvider::new(&hot);
        p.module("a.pdb", "ab");
        assert!(p.missed());
    }

    #[test]
    fn a_dropped_module_is_a_miss() {
        let hot = HotModules::new(Duration::from_secs(300));
        hot.put("a.pdb", "AB", Entry::Found(Weak::new()));
        let p = HotProvider::new(&hot);
        p.module("a.pdb", "AB");
        assert!(p.missed());
    }
}
