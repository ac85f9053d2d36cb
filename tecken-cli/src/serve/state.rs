//! What the server holds: the symbolicator, the download/upload store, the tokens, the
//! missing-symbols record, and how `--symbols` becomes both of the first two.
//!
//! One spec list is both the symbolicator's sources and the download store, in order. A
//! directory is a writable Tecken store (`DIR/v1/...`, `DIR/try/v1/...`) unless it already
//! holds a plain symbols tree (`DIR/{debug_file}/{debug_id}/{sym_file}`, no `v1/`), which
//! is served read-only: downloads map `v1/{key}` to `DIR/{key}`. Uploads go to the first
//! writable spec (a store directory or an S3 bucket; HTTP sources and plain trees are
//! read-only).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tecken_core::missing::MissingSymbols;
use tecken_core::store::{
    ChainStore, LocalStore, ObjectMeta, Storage, StoreSpec, StoredObject, SymbolStore,
};
use tecken_core::symbolicator::{LocalDir, SymbolSource};
use tecken_core::v5::V5Options;
use tecken_core::{Symbolicator, SymbolicatorConfig};

use super::hot::HotModules;
use super::tokens::Tokens;
use crate::CliError;

/// Everything a request handler needs; shared behind an `Arc`.
#[derive(Debug)]
pub struct State {
    /// Modules for `/symbolicate/*`.
    pub symbolicator: Symbolicator,
    /// Modules known to be open or missing, for the inline fast path.
    pub hot: HotModules,
    /// Downloads, syminfo and uploads.
    pub store: SymbolStore,
    /// Whether every store member is a local directory (then `HEAD` runs inline).
    pub store_is_local: bool,
    /// Whether some store member accepts writes (uploads).
    pub store_is_writable: bool,
    /// What the store is, for `/upload/` answers and logs.
    pub store_name: String,
    /// Download misses (`/missingsymbols.csv`).
    pub missing: Arc<MissingSymbols>,
    /// Upload tokens; `None` when `--tokens` was not given (uploads are refused).
    pub tokens: Option<Tokens>,
    /// `--redirect-base`, without a trailing `/`.
    pub redirect_base: Option<String>,
    /// v5/v4 limits without and with the debug block.
    pub v5: V5Options,
    /// The same with `debug` set.
    pub v5_debug: V5Options,
    /// Largest request body of any route (uploads).
    pub max_body: u64,
    /// Where upload bodies are spooled.
    pub spool_dir: PathBuf,
    /// Upload ids, counting from 1.
    pub next_upload_id: std::sync::atomic::AtomicU64,
}

/// A plain symbols tree served through the [`Storage`] interface, read-only: the regular
/// area `v1/{key}` is `{root}/{key}`; there is no Try area and no code-id index.
#[derive(Debug)]
struct PlainTree {
    inner: LocalStore,
}

impl PlainTree {
    fn map<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix("v1/")
    }
}

impl Storage for PlainTree {
    fn describe(&self) -> String {
        format!("tree:{}", self.inner.root().display())
    }

    fn head(&self, key: &str) -> tecken_core::Result<Option<ObjectMeta>> {
        match self.map(key) {
            Some(k) => self.inner.head(k),
            None => Ok(None),
        }
    }

    fn get(&self, key: &str) -> tecken_core::Result<Option<StoredObject>> {
        match self.map(key) {
            Some(k) => self.inner.get(k),
            None => Ok(None),
        }
    }

    fn get_prefix(&self, key: &str, len: usize) -> tecken_core::Result<Option<Vec<u8>>> {
        match self.map(key) {
            Some(k) => self.inner.get_prefix(k, len),
            None => Ok(None),
        }
    }
}

/// Whether `dir` is a plain symbols tree: it exists, has no `v1/`, and has entries.
fn is_plain_tree(dir: &Path) -> bool {
    if dir.join("v1").is_dir() {
        return false;
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => false,
    }
}

/// The pieces built from `--symbols`.
pub struct Stores {
    /// Symbolicator sources, in order.
    pub sources: Vec<Arc<dyn SymbolSource>>,
    /// The store over the same specs.
    pub store: SymbolStore,
    /// Every member local.
    pub local: bool,
    /// Some member writable.
    pub writable: bool,
    /// Description.
    pub name: String,
}

/// Builds the sources and the store from `--symbols` values (see the module docs).
pub fn open_stores(specs: &[String]) -> Result<Stores, CliError> {
    let specs =
        StoreSpec::parse_list(specs).map_err(|e| CliError::Usage(format!("--symbols: {e}")))?;
    let mut sources: Vec<Arc<dyn SymbolSource>> = Vec::new();
    let mut members: Vec<Arc<dyn Storage>> = Vec::new();
    let mut local = true;
    for spec in &specs {
        let failed = |e: tecken_core::Error| CliError::Usage(format!("--symbols {spec}: {e}"));
        match spec {
            StoreSpec::Dir(dir) if is_plain_tree(dir) => {
                sources.push(Arc::new(LocalDir::new(dir)));
                members.push(Arc::new(PlainTree {
                    inner: LocalStore::new(dir).map_err(failed)?,
                }));
            }
            StoreSpec::Dir(dir) => {
                // A store, possibly new: create `v1/` so the source reads it as one.
                std::fs::create_dir_all(dir.join("v1"))
                    .map_err(|e| CliError::Usage(format!("--symbols {}: {e}", dir.display())))?;
                sources.push(spec.symbol_source().map_err(failed)?);
                members.push(spec.storage().map_err(failed)?);
            }
            _ => {
                local = false;
                sources.push(spec.symbol_source().map_err(failed)?);
                members.push(spec.storage().map_err(failed)?);
            }
        }
    }
    let writable = members.iter().any(|m| m.is_writable());
    let name = members
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join(",");
    let storage: Arc<dyn Storage> = if members.len() == 1 {
        members.remove(0)
    } else {
        Arc::new(ChainStore::new(members))
    };
    Ok(Stores {
        sources,
        store: SymbolStore::from_arc(storage),
        local,
        writable,
        name,
    })
}

/// Settings of [`State::new`] that come from the command line.
#[derive(Debug)]
pub struct Settings {
    /// `--symbols`.
    pub symbols: Vec<String>,
    /// `--cache`.
    pub cache: Option<PathBuf>,
    /// `--tokens`.
    pub tokens: Option<PathBuf>,
    /// `--redirect-base`.
    pub redirect_base: Option<String>,
    /// `--max-body`.
    pub max_body: u64,
    /// `--negative-ttl` seconds.
    pub negative_ttl: u64,
}

impl State {
    /// Opens the stores and reads the tokens file.
    pub fn new(s: Settings) -> Result<State, CliError> {
        let stores = open_stores(&s.symbols)?;
        let tokens = match &s.tokens {
            Some(p) => Some(Tokens::load(p)?),
            None => None,
        };
        let missing = Arc::new(MissingSymbols::new(100_000));
        let config = SymbolicatorConfig {
            cache_dir: s.cache.clone(),
            negative_ttl: Duration::from_secs(s.negative_ttl),
            ..SymbolicatorConfig::default()
        };
        let spool_dir = match &s.cache {
            Some(c) => {
                let d = c.join("uploads");
                std::fs::create_dir_all(&d)
                    .map_err(|e| CliError::Usage(format!("--cache {}: {e}", c.display())))?;
                d
            }
            None => std::env::temp_dir(),
        };
        let redirect_base = match s.redirect_base {
            Some(b) if b.starts_with("http://") || b.starts_with("https://") => {
                Some(b.trim_end_matches('/').to_owned())
            }
            Some(b) => {
                return Err(CliError::Usage(format!(
                    "--redirect-base {b:?}: expected an http:// or https:// URL"
                )))
            }
            None => None,
        };
        let v5 = V5Options {
            max_body_bytes: V5Options::default()
                .max_body_bytes
                .min(usize::try_from(s.max_body).unwrap_or(usize::MAX)),
            ..V5Options::default()
        };
        Ok(State {
            hot: HotModules::new(config.negative_ttl),
            symbolicator: Symbolicator::new(stores.sources, config),
            store: stores.store.with_missing_symbols(missing.clone()),
            store_is_local: stores.local,
            store_is_writable: stores.writable,
            store_name: stores.name,
            missing,
            tokens,
            redirect_base,
            v5_debug: v5.clone().with_debug(true),
            v5,
            max_body: s.max_body,
            spool_dir,
            next_upload_id: std::sync::atomic::AtomicU64::new(1),
        })
    }
}
