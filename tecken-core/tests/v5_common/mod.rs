//! Shared by `v5_observed.rs` and `v5_golden.rs`: a `ModuleProvider` serving `.sym` bytes
//! with Eliot's found/not-found rules, and (from `tecken-testutil`, which the server's
//! tests use too) the order-preserving JSON model with CPython's `json.dumps` that gives
//! the exact bytes Eliot would send for an expected response.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses a different subset"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tecken_core::{build_index, BuildOptions};
use tecken_core::{FetchStats, Module, ModuleProvider, ModuleStatus};
pub use tecken_testutil::pyjson::{dumps, parse, same_shape, Py};

pub fn fixtures() -> PathBuf {
    tecken_testutil::tecken_fixtures()
}

/// Serves `.sym` bytes by `(debug_file, DEBUG_ID)`, building indexes in memory like Eliot:
/// not stored -> not found; not a `.sym` (build fails) -> not found; MODULE id differs from
/// the requested id -> not found. Found modules are cached (later requests are cache hits).
#[derive(Default)]
pub struct SymProvider {
    files: HashMap<(String, String), Vec<u8>>,
    cache: Mutex<HashMap<(String, String), Arc<Module>>>,
    /// Every call, as `(debug_file, debug_id)` exactly as requested.
    pub calls: Mutex<Vec<(String, String)>>,
}

impl SymProvider {
    pub fn new() -> Self {
        SymProvider::default()
    }

    pub fn add(&mut self, debug_file: &str, debug_id: &str, sym: Vec<u8>) {
        self.files
            .insert((debug_file.to_owned(), debug_id.to_ascii_uppercase()), sym);
    }

    pub fn take_calls(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl ModuleProvider for SymProvider {
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats) {
        let start = Instant::now();
        self.calls
            .lock()
            .unwrap()
            .push((debug_file.to_owned(), debug_id.to_owned()));
        let key = (debug_file.to_owned(), debug_id.to_ascii_uppercase());
        let mut stats = FetchStats::default();
        if let Some(m) = self.cache.lock().unwrap().get(&key) {
            stats.cache_hit = true;
            stats.lookup_time = start.elapsed();
            return (ModuleStatus::Found(m.clone()), stats);
        }
        let Some(sym) = self.files.get(&key) else {
            stats.lookup_time = start.elapsed();
            return (ModuleStatus::NotFound, stats);
        };
        stats.download_bytes = sym.len() as u64;
        stats.download_time = start.elapsed();
        let parse_start = Instant::now();
        let built = build_index(sym, &BuildOptions::default());
        stats.parse_time = parse_start.elapsed();
        stats.lookup_time = start.elapsed();
        let Ok((index, _)) = built else {
            return (ModuleStatus::NotFound, stats);
        };
        if !index.header().debug_id.eq_ignore_ascii_case(debug_id) {
            return (ModuleStatus::NotFound, stats);
        }
        let m = Arc::new(Module { index });
        self.cache.lock().unwrap().insert(key, m.clone());
        (ModuleStatus::Found(m), stats)
    }
}
