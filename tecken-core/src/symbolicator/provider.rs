//! The interface between the v5/v4 API and whatever supplies modules.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::index::Index;

/// A module ready for lookups.
#[derive(Debug)]
pub struct Module {
    /// The open index.
    pub index: Index,
}

impl Module {
    /// The name Eliot shows for the module in v5 frames: the PE name of `INFO CODE_ID`
    /// when the `.sym` has one (see [`crate::sym::SymHeader::pe_name`]), else `None`.
    pub fn pe_name(&self) -> Option<&str> {
        self.index.header().pe_name()
    }
}

/// What became of a request for a module.
#[derive(Debug, Clone)]
pub enum ModuleStatus {
    /// Found and usable.
    Found(Arc<Module>),
    /// No `.sym` for this debug file and id, or the file is unusable (not a `.sym`, MODULE
    /// id differs from the one requested). Eliot reports these as `false`.
    NotFound,
    /// A transient failure (storage down, disk full). Reported as `false` too, but never
    /// cached: the next request tries again.
    Failed(Arc<Error>),
}

/// What it cost to get a module (for the v5 `debug` block and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FetchStats {
    /// The module was already open in memory or its index already built on disk.
    pub cache_hit: bool,
    /// Bytes downloaded (or read) to get the `.sym`, 0 on a cache hit.
    pub download_bytes: u64,
    /// Time spent downloading (or reading) the `.sym`.
    pub download_time: Duration,
    /// Time spent parsing the `.sym` into an index.
    pub parse_time: Duration,
    /// Time spent saving the index to the cache.
    pub save_time: Duration,
    /// Total time of the cache lookup (including the above).
    pub lookup_time: Duration,
}

/// Anything that can supply modules by debug file and debug id.
///
/// [`crate::Symbolicator`] is the production implementation; tests can supply their own.
pub trait ModuleProvider: Send + Sync {
    /// Gets the module `debug_file`/`debug_id` (the id as requested; match it
    /// case-insensitively). Never panics; failures are [`ModuleStatus::Failed`].
    fn module(&self, debug_file: &str, debug_id: &str) -> (ModuleStatus, FetchStats);
}
