//! The [`Symbolicator`]: modules on demand from symbol sources, with an index cache on disk
//! and a byte-bounded LRU of open indexes in memory.
//!
//! # How a module is found
//!
//! 1. The in-memory LRU of open modules (keyed by debug file and upper-case debug id). A
//!    module whose index file was truncated or changed on disk under its mapping is
//!    dropped here and loaded again (see [`crate::index::Index::check`] and
//!    [`SymbolicatorConfig::file_check_interval`]).
//! 2. The negative cache: a module recently found missing is not looked for again until its
//!    entry expires ([`SymbolicatorConfig::negative_ttl`]); only "not found" is cached, never
//!    a transient error. An unusable `.sym` (does not parse, names another module, corrupt
//!    or truncated gzip, inflates past [`SymbolicatorConfig::max_sym_bytes`]) is "not
//!    found" too.
//! 3. The index cache directory: `{cache}/{debug_file}/{DEBUG_ID}/{sym_file}.tidx` (see
//!    [`cache`] for the layout), built by this or another process. A file that fails to
//!    open (corrupt, truncated, another format version) is removed and rebuilt, never
//!    trusted.
//! 4. The sources, in order; the first that has the `.sym` wins. The index is built, written
//!    atomically to the cache directory and memory-mapped. Nothing is written to the cache
//!    for a module that no source has. When the cache cannot take the index (disk full,
//!    read-only), it is built in memory instead: a cache never changes an answer.
//!
//! Concurrent requests for one module coalesce: within a process, one thread builds while
//! the others wait for its result; across processes sharing a cache directory, an advisory
//! lock (a file under `{cache}/.locks/` that exists only while a process loads the module)
//! makes the second process wait and then open the first one's index instead of fetching
//! and building its own. A module that no source has is answered without that lock when
//! every source is local ([`crate::Storage::is_local`]: a failed lookup is cheaper than a
//! lock file), as a crash processor asking for a dump's system libraries needs.

pub mod cache;
mod lock;
pub mod provider;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use lru::LruCache;

pub use provider::{FetchStats, Module, ModuleProvider, ModuleStatus};

use crate::error::{Error, ErrorKind, Result};
use crate::index::{build, build_to_file, BuildOptions, Index};
use crate::keys::{is_valid_debug_id, is_valid_name, ObjectKey};
use crate::mmap::Bytes;
use crate::store::{StoreSpec, SymbolStore};
use crate::sym::file::SymData;
use crate::upload::UploadResult;
use lock::ModuleLock;

/// Cached indexes up to this size are read into memory and checked whole on each open;
/// larger ones are mapped, and their check recorded once (`.tidx.ok`).
const READ_WHOLE_MAX: u64 = 64 * 1024;

/// Settings of a [`Symbolicator`].
#[derive(Debug, Clone)]
pub struct SymbolicatorConfig {
    /// Where built indexes are kept and shared between processes. `None` builds indexes in
    /// memory only (each process builds its own).
    pub cache_dir: Option<PathBuf>,
    /// Upper bound of the bytes of index files in `cache_dir`; the least recently used are
    /// removed after each build that goes over it (least recently used first). `None`: unbounded.
    pub max_cache_bytes: Option<u64>,
    /// Upper bound of the bytes of open indexes kept in memory (mapped or owned). The least
    /// recently used are closed first; one module is always kept, whatever its size.
    pub max_open_bytes: u64,
    /// How long "not found" is remembered. `Duration::ZERO` disables negative caching.
    pub negative_ttl: Duration,
    /// How many "not found" entries to remember at most.
    pub max_negative_entries: usize,
    /// How often, at most, an open module's index file is compared with the file that was
    /// opened (inode, size, modification time: one `stat`), to notice a file changed in
    /// place under the mapping; a changed one is dropped and opened again (rebuilt if it
    /// is bad). A file truncated under the mapping is noticed at once, whatever this says
    /// (see [`crate::index::Index::check`]).
    pub file_check_interval: Duration,
    /// Largest `.sym` a source may decompress (a gzip file in a store is not trusted more
    /// than an upload). A larger one is unusable, like a file that does not parse: the
    /// module is "not found", remembered for [`SymbolicatorConfig::negative_ttl`].
    pub max_sym_bytes: u64,
    /// How indexes are built.
    pub build: BuildOptions,
}

impl Default for SymbolicatorConfig {
    fn default() -> Self {
        SymbolicatorConfig {
            cache_dir: None,
            max_cache_bytes: Some(10 << 30),
            max_open_bytes: 4 << 30,
            negative_ttl: Duration::from_secs(300),
            max_negative_entries: 100_000,
            file_check_interval: Duration::from_secs(1),
            max_sym_bytes: crate::sym::DEFAULT_MAX_SYM_BYTES,
            build: BuildOptions::default(),
        }
    }
}

type ModKey = (String, String);

#[derive(Debug, Clone)]
enum Outcome {
    Found(Arc<Module>),
    NotFound,
    Failed(Arc<Error>),
}

#[derive(Debug, Default)]
struct Inflight {
    result: OnceLock<(Outcome, FetchStats)>,
}

#[derive(Debug)]
struct State {
    open: LruCache<ModKey, Arc<Module>>,
    open_bytes: u64,
    missing: LruCache<ModKey, Instant>,
}

/// Answers lookups for many modules from symbol sources; `Send + Sync`, share it with an
/// `Arc` between threads.
#[derive(Debug)]
pub struct Symbolicator {
    sources: Vec<SymbolStore>,
    config: SymbolicatorConfig,
    state: Mutex<State>,
    inflight: Mutex<HashMap<ModKey, Arc<Inflight>>>,
    swept: Once,
}

fn poisoned() -> Error {
    Error::new(
        ErrorKind::Internal,
        "symbolicator state lock poisoned by a panic in another thread",
    )
}

impl Symbolicator {
    /// A symbolicator over `sources`, searched in order: the first that has a module's
    /// `.sym` answers. A source that fails (storage down) does not hide a later source's
    /// file; when none has it and one failed, the failure is the answer (never cached).
    pub fn new(sources: Vec<SymbolStore>, config: SymbolicatorConfig) -> Symbolicator {
        Symbolicator {
            sources,
            state: Mutex::new(State {
                open: LruCache::unbounded(),
                open_bytes: 0,
                missing: LruCache::unbounded(),
            }),
            inflight: Mutex::new(HashMap::new()),
            swept: Once::new(),
            config,
        }
    }

    /// A symbolicator over one local directory (a plain symbols tree or a store, as
    /// [`StoreSpec::symbol_store`] reads it), with an optional cache directory for built
    /// indexes. A missing directory is an error.
    pub fn local(
        symbols_dir: impl Into<PathBuf>,
        cache_dir: Option<PathBuf>,
    ) -> Result<Symbolicator> {
        let config = SymbolicatorConfig {
            cache_dir,
            ..SymbolicatorConfig::default()
        };
        let store = StoreSpec::Dir(symbols_dir.into()).symbol_store()?;
        Ok(Symbolicator::new(vec![store], config))
    }

    /// The settings.
    pub fn config(&self) -> &SymbolicatorConfig {
        &self.config
    }

    /// Bytes of open indexes currently held.
    pub fn open_bytes(&self) -> u64 {
        self.state.lock().map(|s| s.open_bytes).unwrap_or(0)
    }

    /// Number of modules currently open.
    pub fn open_modules(&self) -> usize {
        self.state.lock().map(|s| s.open.len()).unwrap_or(0)
    }

    /// Forgets the negative-cache entry of a module, so the next request looks again
    /// (Tecken's `?_refresh`).
    pub fn forget_missing(&self, debug_file: &str, debug_id: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.missing
                .pop(&(debug_file.to_owned(), debug_id.to_ascii_uppercase()));
        }
    }

    /// Gets a module, as [`ModuleProvider::module`] does, but with errors as a `Result`:
    /// `Ok(None)` when not found.
    pub fn get(&self, debug_file: &str, debug_id: &str) -> Result<Option<Arc<Module>>> {
        match self.module(debug_file, debug_id).0 {
            ModuleStatus::Found(m) => Ok(Some(m)),
            ModuleStatus::NotFound => Ok(None),
            ModuleStatus::Failed(e) => Err(Error::new(e.kind(), e.to_string())),
        }
    }

    /// Answers from memory only, never blocking on a download or a build: the module if it
    /// is open (and its file unchanged), [`ModuleStatus::NotFound`] if it was looked for
    /// and not found within the negative TTL (or its name is invalid), `None` when
    /// answering needs the index cache or the sources. A server answers requests whose
    /// modules all return `Some` on its async workers and sends the rest to a thread that
    /// may block ([`Symbolicator::cached_only`] does this for a whole v5 request).
    pub fn try_cached(&self, debug_file: &str, debug_id: &str) -> Option<ModuleStatus> {
        // `ObjectKey::for_module`'s rules, without building the key (this runs for every
        // module of every warm request).
        if !is_valid_name(debug_file) || !is_valid_debug_id(debug_id) {
            return Some(ModuleStatus::NotFound);
        }
        let key: ModKey = (debug_file.to_owned(), debug_id.to_ascii_uppercase());
        match self.cached(&key) {
            Ok(Some(Outcome::Found(m))) => Some(ModuleStatus::Found(m)),
            Ok(Some(Outcome::NotFound)) => Some(ModuleStatus::NotFound),
            Ok(Some(Outcome::Failed(_)) | None) | Err(_) => None,
        }
    }

    /// Whether asking for the module would be answered without its sources: it is in
    /// memory (found or known missing) or its index is in the cache directory. Cheap (a
    /// `stat` at most); a crash processor loads such modules on its own thread and starts
    /// threads only for the others.
    #[cfg(feature = "minidump-unwind")]
    pub(crate) fn is_local(&self, debug_file: &str, debug_id: &str) -> bool {
        if self.try_cached(debug_file, debug_id).is_some() {
            return true;
        }
        let (Some(root), Ok(key)) = (
            self.config.cache_dir.as_deref(),
            ObjectKey::for_module(debug_file, debug_id),
        ) else {
            return false;
        };
        cache::index_path(root, &key).is_file()
    }

    /// A [`ModuleProvider`] over this symbolicator's memory only (see
    /// [`Symbolicator::try_cached`]): run a request against it, and if
    /// [`CachedOnly::missed`] says some module was not in memory, throw that answer away
    /// and run the request again against the symbolicator itself, where blocking is fine.
    pub fn cached_only(&self) -> CachedOnly<'_> {
        CachedOnly {
            symbolicator: self,
            missed: AtomicBool::new(false),
        }
    }

    /// Forgets the negative-cache entries of every module an upload stored (uploaded or
    /// already there), so that requests made before the upload, which found them missing,
    /// do not hide them until the TTL runs out. Call it after every successful upload into
    /// a store this symbolicator reads.
    pub fn forget_uploaded(&self, result: &UploadResult) {
        self.forget_uploaded_keys(result.symbols.iter().map(|s| s.key.as_str()));
    }

    /// [`Symbolicator::forget_uploaded`] given the storage keys of the uploaded `.sym`
    /// files (`v1/xul.pdb/{ID}/xul.sym`, `try/v1/...`), as a binding holds them; keys that
    /// are not a module's are ignored.
    pub fn forget_uploaded_keys<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        for k in keys {
            if let Some((_, key)) = crate::keys::parse_storage_key(k) {
                self.forget_missing(key.debug_file(), key.debug_id());
            }
        }
    }

    fn cached(&self, key: &ModKey) -> Result<Option<Outcome>> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        let open = s.open.get(key).map(|m| {
            let sound = m.index.check_file(self.config.file_check_interval).is_ok();
            (m.clone(), sound)
        });
        match open {
            Some((m, true)) => return Ok(Some(Outcome::Found(m))),
            Some((_, false)) => {
                // Its file was truncated or changed under the mapping: drop it (requests
                // that hold it finish with it) and open the file again, or rebuild it.
                if let Some(old) = s.open.pop(key) {
                    s.open_bytes -= old.index.size_bytes() as u64;
                }
                return Ok(None);
            }
            None => {}
        }
        if let Some(&at) = s.missing.get(key) {
            if at.elapsed() < self.config.negative_ttl {
                return Ok(Some(Outcome::NotFound));
            }
            s.missing.pop(key);
        }
        Ok(None)
    }

    fn remember(&self, key: &ModKey, outcome: &Outcome) -> Result<()> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        match outcome {
            Outcome::Found(m) => {
                let size = m.index.size_bytes() as u64;
                if let Some(old) = s.open.put(key.clone(), m.clone()) {
                    s.open_bytes -= old.index.size_bytes() as u64;
                }
                s.open_bytes += size;
                while s.open_bytes > self.config.max_open_bytes && s.open.len() > 1 {
                    match s.open.pop_lru() {
                        Some((_, old)) => s.open_bytes -= old.index.size_bytes() as u64,
                        None => break,
                    }
                }
                s.missing.pop(key);
            }
            Outcome::NotFound if !self.config.negative_ttl.is_zero() => {
                let cap = self.config.max_negative_entries;
                crate::missing::put_bounded(&mut s.missing, cap, key.clone(), Instant::now());
            }
            _ => {}
        }
        Ok(())
    }

    fn resolve(&self, debug_file: &str, debug_id: &str) -> (Outcome, FetchStats) {
        let start = Instant::now();
        let mut stats = FetchStats::default();
        let Ok(key) = ObjectKey::for_module(debug_file, debug_id) else {
            return (Outcome::NotFound, stats);
        };
        let mkey: ModKey = (key.debug_file().to_owned(), key.debug_id().to_owned());
        match self.cached(&mkey) {
            Ok(Some(o)) => {
                stats.cache_hit = true;
                stats.lookup_time = start.elapsed();
                return (o, stats);
            }
            Ok(None) => {}
            Err(e) => return (Outcome::Failed(Arc::new(e)), stats),
        }

        // Coalesce with other threads asking for the same module.
        let (flight, leader) = {
            let Ok(mut map) = self.inflight.lock() else {
                return (Outcome::Failed(Arc::new(poisoned())), stats);
            };
            match map.get(&mkey) {
                Some(f) => (f.clone(), false),
                None => {
                    let f = Arc::new(Inflight::default());
                    map.insert(mkey.clone(), f.clone());
                    (f, true)
                }
            }
        };
        let (outcome, mut stats) = flight
            .result
            .get_or_init(|| {
                let r = self.load(&key);
                let outcome = match r {
                    Ok((Some(m), st)) => (Outcome::Found(m), st),
                    Ok((None, st)) => (Outcome::NotFound, st),
                    Err(e) => (Outcome::Failed(Arc::new(e)), FetchStats::default()),
                };
                if let Err(e) = self.remember(&mkey, &outcome.0) {
                    return (Outcome::Failed(Arc::new(e)), outcome.1);
                }
                outcome
            })
            .clone();
        if leader {
            if let Ok(mut map) = self.inflight.lock() {
                map.remove(&mkey);
            }
        } else {
            // A follower did none of the work.
            stats = FetchStats {
                cache_hit: true,
                ..FetchStats::default()
            };
        }
        stats.lookup_time = start.elapsed();
        (outcome, stats)
    }

    /// Opens a cached index if it is sound and for the right module; removes it otherwise.
    ///
    /// The index was written by another process or an earlier run, so its body CRC is
    /// checked before it is used: flipped bytes (a bad disk, a stray write) would otherwise
    /// give wrong frames silently. The first process to check a file records that it
    /// passed and later ones skip the pass (see [`cache`]); an index this process builds
    /// is not checked.
    fn open_cached(path: &Path, key: &ObjectKey) -> Option<Index> {
        // A small index is read and its CRC checked whole on every open (a few µs for
        // 64 KB), which costs less than mapping it and reading its `.ok` record: 11
        // system calls per module before, 5 after, for the small modules a crash's
        // module list is mostly made of (a 6-frame dump's walk in a fresh process spent
        // a quarter of its time opening its two cached indexes).
        match Index::open_or_read(path, READ_WHOLE_MAX) {
            Ok(ix) if ix.header().debug_id == key.debug_id() => {
                let token = ix.verification_token();
                let checked = token
                    .as_deref()
                    .is_some_and(|t| cache::was_verified(path, t));
                if !checked {
                    if ix.verify().is_err() {
                        cache::remove_index(path);
                        return None;
                    }
                    if let Some(t) = &token {
                        cache::record_verified(path, t);
                    }
                }
                cache::touch(path);
                Some(ix)
            }
            Ok(_) => {
                cache::remove_index(path);
                None
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(_) => {
                // Corrupt or another format version: never trusted, rebuilt below.
                cache::remove_index(path);
                None
            }
        }
    }

    /// Runs the cache directory's housekeeping once per symbolicator (on its first miss, so
    /// that creating one stays cheap).
    fn sweep_once(&self, root: &Path) {
        self.swept.call_once(|| {
            if cache::sweep_due(root, cache::SWEEP_INTERVAL) {
                cache::sweep(root, cache::STALE_TEMP_AGE);
            }
        });
    }

    /// Whether every source tells with a local lookup that it lacks `key`'s `.sym` (then
    /// each records the miss, as a fetch that found nothing would). False when a source is
    /// remote, has the file, or cannot be read (the fetch then says what is wrong).
    fn sources_lack(&self, key: &ObjectKey) -> bool {
        if !self.sources.iter().all(|s| s.storage().is_local()) {
            return false;
        }
        for src in &self.sources {
            if !matches!(src.probe_sym(key), Ok(Some(false))) {
                return false;
            }
        }
        for src in &self.sources {
            let _ = src.record_missing_sym(key);
        }
        true
    }

    fn load(&self, key: &ObjectKey) -> Result<(Option<Arc<Module>>, FetchStats)> {
        let mut stats = FetchStats::default();
        let root = self.config.cache_dir.as_deref();
        let index_path = root.map(|r| cache::index_path(r, key));
        if let Some(p) = &index_path {
            if let Some(index) = Self::open_cached(p, key) {
                stats.cache_hit = true;
                return Ok((Some(Arc::new(Module { index })), stats));
            }
        }
        // A module no source has, when every source can tell with a local lookup (a crash
        // processor's symbol directories): not found, without the cross-process lock
        // below (a lock file created and removed, journaled, per missing module and
        // process: most of what such a module cost).
        if let Some(r) = root {
            self.sweep_once(r);
        }
        if self.sources_lack(key) {
            return Ok((None, stats));
        }
        // Across processes: hold the module's lock while fetching and building (one fetch
        // and one build for all), then look again in case another process built the index
        // while we waited. The lock's file is removed when it is released, whatever the
        // outcome (see `lock`). A cache directory we cannot lock in is not used at all: the
        // index is built in memory, the answer is the same.
        let mut lock = None;
        if let (Some(r), Some(p)) = (root, &index_path) {
            if let Ok(l) = ModuleLock::acquire(r, key) {
                if let Some(index) = Self::open_cached(p, key) {
                    stats.cache_hit = true;
                    return Ok((Some(Arc::new(Module { index })), stats));
                }
                lock = Some(l);
            }
        }

        let t = Instant::now();
        let mut last_err: Option<Error> = None;
        let mut data = None;
        for src in &self.sources {
            match src.fetch_sym(key, self.config.max_sym_bytes) {
                Ok(Some(d)) => {
                    data = Some(d);
                    break;
                }
                Ok(None) => {}
                // The source has the file but it is unusable (corrupt or truncated gzip, a
                // decompression bomb): final, like a `.sym` that does not parse, so "not
                // found" and negatively cached, not decompressed again on every request.
                // A transient error of an earlier source still wins (below).
                Err(e)
                    if matches!(e.kind(), ErrorKind::MalformedSym | ErrorKind::LimitExceeded) =>
                {
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        stats.download_time = t.elapsed();
        let data = match (data, last_err) {
            (Some(d), _) => d,
            (None, Some(e)) => return Err(e),
            (None, None) => return Ok((None, stats)),
        };
        let bytes = match data {
            SymData::File(path) => Bytes::map_file(&path)?,
            SymData::Bytes(b) => Bytes::Owned(b),
        };
        let sym = bytes.as_slice();
        stats.download_bytes = sym.len() as u64;

        // The MODULE line must name the module asked for (Eliot: a mismatch is "not found").
        match crate::sym::parse_header(sym) {
            Ok(h) if h.debug_id == key.debug_id() => {}
            Ok(_) | Err(_) => return Ok((None, stats)),
        }
        let t = Instant::now();
        let cached = match (root, &index_path, &lock) {
            (Some(r), Some(p), Some(_)) => match self.build_into_cache(sym, r, p) {
                Ok(ix) => ix,
                Err(e) if e.kind() == ErrorKind::MalformedSym => return Ok((None, stats)),
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let index = match cached {
            Some(ix) => {
                stats.parse_time = t.elapsed();
                ix
            }
            None => match build(sym, &self.config.build) {
                Ok((ix, _)) => {
                    stats.parse_time = t.elapsed();
                    ix
                }
                Err(e) if e.kind() == ErrorKind::MalformedSym => return Ok((None, stats)),
                Err(e) => return Err(e),
            },
        };
        drop(lock);
        Ok((Some(Arc::new(Module { index })), stats))
    }

    /// Builds the index of `sym` into the cache at `path` and opens it. `Ok(None)` when the
    /// cache cannot take it (disk full, read-only, a name the file system refuses): the
    /// caller builds it in memory instead, so that a cache never changes an answer.
    fn build_into_cache(&self, sym: &[u8], root: &Path, path: &Path) -> Result<Option<Index>> {
        let mut attempts = 0;
        let written = loop {
            attempts += 1;
            match build_to_file(sym, path, &self.config.build) {
                // The directories were removed under us by another process's eviction
                // (they were empty a moment ago): create them again.
                Err(e) if e.kind() == ErrorKind::NotFound && attempts < 3 => continue,
                r => break r,
            }
        };
        match written {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::Io | ErrorKind::NotFound) => {
                cache::remove_empty_parents(root, path);
                return Ok(None);
            }
            Err(e) => {
                cache::remove_empty_parents(root, path);
                return Err(e);
            }
        }
        let ix = match Index::open(path) {
            Ok(ix) => ix,
            // Evicted by another process between our rename and this open (a cache bound
            // far below the working set): serve from memory.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(max) = self.config.max_cache_bytes {
            cache::evict(root, max, Some(path));
        }
        Ok(Some(ix))
    }
}

/// A [`ModuleProvider`] that answers from a [`Symbolicator`]'s memory only and records
/// whether any module needed more (see [`Symbolicator::cached_only`]).
#[derive(Debug)]
pub struct CachedOnly<'a> {
    symbolicator: &'a Symbolicator,
    missed: AtomicBool,
}

impl CachedOnly<'_> {
    /// Whether some module was not in memory: the answer given for it was a placeholder
    /// ("not found") and must be thrown away.
    pub fn missed(&self) -> bool {
        self.missed.load(Ordering::Relaxed)
    }
}

impl ModuleProvider for CachedOnly<'_> {
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats) {
        let start = Instant::now();
        let status = self
            .symbolicator
            .try_cached(debug_file, debug_id)
            .unwrap_or_else(|| {
                self.missed.store(true, Ordering::Relaxed);
                ModuleStatus::NotFound
            });
        let stats = FetchStats {
            cache_hit: true,
            lookup_time: start.elapsed(),
            ..FetchStats::default()
        };
        (status, stats)
    }
}

impl ModuleProvider for Symbolicator {
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats) {
        let (outcome, stats) = self.resolve(debug_file, debug_id);
        let status = match outcome {
            Outcome::Found(m) => ModuleStatus::Found(m),
            Outcome::NotFound => ModuleStatus::NotFound,
            Outcome::Failed(e) => ModuleStatus::Failed(e),
        };
        (status, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYM: &str = "MODULE Linux x86_64 D48F191186D67E69DF025AD71FB91E1F0 testproj\nFILE 0 /src/main.rs\nFUNC 5380 44 0 testproj::main\n5380 9 1 0\n";

    fn layout(root: &Path) {
        let d = root.join("testproj/D48F191186D67E69DF025AD71FB91E1F0");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("testproj.sym"), SYM).unwrap();
    }

    #[test]
    fn finds_builds_caches_and_reopens() {
        let tmp = tempfile::tempdir().unwrap();
        layout(&tmp.path().join("syms"));
        let cache = tmp.path().join("cache");
        let s = Symbolicator::local(tmp.path().join("syms"), Some(cache.clone())).unwrap();
        let m = s
            .get("testproj", "d48f191186d67e69df025ad71fb91e1f0")
            .unwrap()
            .unwrap();
        assert_eq!(m.index.lookup(0x5380).unwrap().function, "testproj::main");
        assert!(m.index.is_mapped());
        let idx = cache.join("testproj/D48F191186D67E69DF025AD71FB91E1F0/testproj.sym.tidx");
        assert!(idx.is_file());
        // A second symbolicator (another process) reuses the built index.
        let missing = Symbolicator::local(tmp.path().join("nothing-here"), None).unwrap_err();
        assert_eq!(
            missing.kind(),
            ErrorKind::NotFound,
            "a typo is not an empty source"
        );
        std::fs::create_dir(tmp.path().join("nothing-here")).unwrap();
        let s2 = Symbolicator::local(tmp.path().join("nothing-here"), Some(cache.clone())).unwrap();
        let (st, stats) = s2.module("testproj", "D48F191186D67E69DF025AD71FB91E1F0");
        assert!(matches!(st, ModuleStatus::Found(_)));
        assert!(stats.cache_hit);
    }

    #[test]
    fn corrupt_cached_index_is_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        layout(&tmp.path().join("syms"));
        let cache = tmp.path().join("cache");
        let idx = cache.join("testproj/D48F191186D67E69DF025AD71FB91E1F0/testproj.sym.tidx");
        std::fs::create_dir_all(idx.parent().unwrap()).unwrap();
        std::fs::write(&idx, b"TECKNIDX garbage").unwrap();
        let s = Symbolicator::local(tmp.path().join("syms"), Some(cache)).unwrap();
        let m = s
            .get("testproj", "D48F191186D67E69DF025AD71FB91E1F0")
            .unwrap()
            .unwrap();
        assert_eq!(m.index.lookup(0x5381).unwrap().function_offset, 1);
        Index::open(&idx).unwrap().verify().unwrap();
    }

    /// A process (a fresh symbolicator) that opens the cached index `idx` of `layout`'s
    /// module: whether it found it in the cache, and the function at 0x5380.
    fn open_in_new_process(tmp: &Path) -> (bool, String) {
        let s = Symbolicator::local(tmp.join("syms"), Some(tmp.join("cache"))).unwrap();
        let (st, stats) = s.module("testproj", "D48F191186D67E69DF025AD71FB91E1F0");
        let ModuleStatus::Found(m) = st else {
            panic!("not found")
        };
        (
            stats.cache_hit,
            m.index.lookup(0x5380).unwrap().function.to_string(),
        )
    }

    /// [`layout`] with enough functions after `testproj::main` for an index larger than
    /// [`READ_WHOLE_MAX`] (mapped, its check recorded).
    fn layout_large(root: &Path) {
        let d = root.join("testproj/D48F191186D67E69DF025AD71FB91E1F0");
        std::fs::create_dir_all(&d).unwrap();
        let mut sym = SYM.to_owned();
        for i in 0..8000u64 {
            let a = 0x10000 + i * 0x20;
            sym += &format!("FUNC {a:x} 20 0 f{i}\n{a:x} 20 {} 0\n", i + 1);
        }
        std::fs::write(d.join("testproj.sym"), sym).unwrap();
    }

    #[test]
    fn a_small_cached_index_is_read_and_checked_whole_on_each_open() {
        let tmp = tempfile::tempdir().unwrap();
        layout(&tmp.path().join("syms"));
        let idx = tmp
            .path()
            .join("cache/testproj/D48F191186D67E69DF025AD71FB91E1F0/testproj.sym.tidx");
        assert!(!open_in_new_process(tmp.path()).0);
        assert!(std::fs::metadata(&idx).unwrap().len() <= READ_WHOLE_MAX);
        let s =
            Symbolicator::local(tmp.path().join("syms"), Some(tmp.path().join("cache"))).unwrap();
        let m = s
            .get("testproj", "D48F191186D67E69DF025AD71FB91E1F0")
            .unwrap()
            .unwrap();
        assert!(!m.index.is_mapped(), "read, not mapped");
        assert_eq!(m.index.lookup(0x5380).unwrap().function, "testproj::main");
        // Checked whole each time, so nothing is recorded...
        assert!(!cache::verified_path(&idx).exists());
        // ...and a byte flipped in place, its modification time put back, is found: the
        // index is removed and rebuilt from the source.
        flip_name_in_place(&idx);
        assert_eq!(
            open_in_new_process(tmp.path()),
            (false, "testproj::main".into())
        );
        Index::open(&idx).unwrap().verify().unwrap();
    }

    /// Flips the first letter of `testproj::main` in the index file, in place, and puts
    /// the file's modification time back; returns that time.
    fn flip_name_in_place(idx: &Path) -> std::time::SystemTime {
        let mut bytes = std::fs::read(idx).unwrap();
        let at = bytes
            .windows(14)
            .rposition(|w| w == b"testproj::main")
            .unwrap();
        bytes[at] = b'T';
        let mtime = std::fs::metadata(idx).unwrap().modified().unwrap();
        let f = std::fs::File::options().write(true).open(idx).unwrap();
        std::io::Write::write_all(&mut &f, &bytes).unwrap();
        f.set_times(std::fs::FileTimes::new().set_modified(mtime))
            .unwrap();
        mtime
    }

    #[test]
    fn a_passed_crc_check_is_recorded_per_file_version() {
        let tmp = tempfile::tempdir().unwrap();
        layout_large(&tmp.path().join("syms"));
        let idx = tmp
            .path()
            .join("cache/testproj/D48F191186D67E69DF025AD71FB91E1F0/testproj.sym.tidx");
        let record = cache::verified_path(&idx);
        // The process that builds the index does not check it, so records nothing.
        assert!(!open_in_new_process(tmp.path()).0);
        assert!(!record.exists());
        // The next one checks it and records the pass: this file's version and its CRC.
        assert_eq!(
            open_in_new_process(tmp.path()),
            (true, "testproj::main".into())
        );
        let token = Index::open(&idx).unwrap().verification_token().unwrap();
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            format!("{token}\n")
        );

        // The name in the body flipped in place, and the modification time put back: the
        // record still names the file, so the bytes are trusted unchecked (the documented
        // limit: rot under an unchanged file is not seen)...
        let flip_in_place = || flip_name_in_place(&idx);
        let mtime = flip_in_place();
        assert_eq!(
            open_in_new_process(tmp.path()),
            (true, "Testproj::main".into())
        );
        // ...while any write that moves the modification time gets the file checked again:
        // the flipped byte is found, the index removed and rebuilt from the source.
        std::fs::File::options()
            .write(true)
            .open(&idx)
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(mtime + Duration::from_secs(1)))
            .unwrap();
        assert_eq!(
            open_in_new_process(tmp.path()),
            (false, "testproj::main".into())
        );
        Index::open(&idx).unwrap().verify().unwrap();
        // A record that does not name this file's version is not trusted either.
        let current = Index::open(&idx).unwrap().verification_token().unwrap();
        flip_in_place();
        assert_eq!(
            Index::open(&idx).unwrap().verification_token().unwrap(),
            current
        );
        // This very file, but another CRC.
        let (file, _crc) = current.rsplit_once(' ').unwrap();
        std::fs::write(&record, format!("{file} 00000000\n")).unwrap();
        assert_eq!(
            open_in_new_process(tmp.path()),
            (false, "testproj::main".into())
        );
    }

    #[test]
    fn missing_and_mismatched_are_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("syms");
        layout(&root);
        let d = root.join("wrongid.so/000000000000000000000000000000000");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("wrongid.so.sym"), SYM).unwrap();
        let s = Symbolicator::local(root, None).unwrap();
        assert!(s.get("nothere.so", "ABC").unwrap().is_none());
        assert!(s
            .get("wrongid.so", "000000000000000000000000000000000")
            .unwrap()
            .is_none());
        assert!(s.get("../etc", "ABC").unwrap().is_none());
    }

    #[test]
    fn lru_is_bounded_by_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("syms");
        for i in 0..5 {
            let id = format!("{i:033X}");
            let d = root.join(format!("m{i}.so")).join(&id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join(format!("m{i}.so.sym")),
                format!("MODULE Linux x86_64 {id} m{i}.so\nFUNC 0 10 0 f\n"),
            )
            .unwrap();
        }
        let config = SymbolicatorConfig {
            max_open_bytes: 1,
            ..SymbolicatorConfig::default()
        };
        let store = StoreSpec::Dir(root).symbol_store().unwrap();
        let s = Symbolicator::new(vec![store], config);
        for i in 0..5 {
            assert!(s
                .get(&format!("m{i}.so"), &format!("{i:033X}"))
                .unwrap()
                .is_some());
        }
        assert_eq!(
            s.open_modules(),
            1,
            "only the most recent module stays open"
        );
    }

    #[test]
    fn the_negative_cache_keeps_the_most_recent_misses() {
        let tmp = tempfile::tempdir().unwrap();
        let config = SymbolicatorConfig {
            max_negative_entries: 2,
            ..SymbolicatorConfig::default()
        };
        let store = StoreSpec::Dir(tmp.path().to_owned())
            .symbol_store()
            .unwrap();
        let s = Symbolicator::new(vec![store], config);
        for m in ["a.pdb", "b.pdb", "c.pdb", "b.pdb", "d.pdb"] {
            assert!(s.get(m, "ABC").unwrap().is_none());
        }
        let remembered = |m: &str| matches!(s.try_cached(m, "ABC"), Some(ModuleStatus::NotFound));
        assert!(remembered("d.pdb") && remembered("b.pdb"));
        assert!(!remembered("a.pdb") && !remembered("c.pdb"));
    }

    #[test]
    fn threads_share_one_build() {
        let tmp = tempfile::tempdir().unwrap();
        layout(&tmp.path().join("syms"));
        let s = Arc::new(
            Symbolicator::local(tmp.path().join("syms"), Some(tmp.path().join("cache"))).unwrap(),
        );
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.get("testproj", "D48F191186D67E69DF025AD71FB91E1F0")
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        let mods: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for m in &mods[1..] {
            assert!(
                Arc::ptr_eq(m, &mods[0]),
                "every thread got the one module built"
            );
        }
    }
}
