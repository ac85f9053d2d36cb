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

use tokio::sync::Semaphore;

use tecken_core::MissingSymbols;
use tecken_core::UrlUploadOptions;
use tecken_core::V5Options;
use tecken_core::{is_plain_tree, ChainStore, LocalStore, Storage, StoreSpec, SymbolStore};
use tecken_core::{SessionLimits, UploadSessions};
use tecken_core::{Symbolicator, SymbolicatorConfig};

use super::log::RequestLog;
use super::tokens::Tokens;

/// Everything a request handler needs; shared behind an `Arc`.
#[derive(Debug)]
pub struct State {
    /// Modules for `/symbolicate/*`.
    pub symbolicator: Symbolicator,
    /// Downloads, syminfo and uploads.
    pub store: SymbolStore,
    /// Whether every store member is a local directory (then `HEAD` runs inline).
    pub store_is_local: bool,
    /// Whether some store member accepts writes (uploads).
    pub store_is_writable: bool,
    /// What the store is, for logs (server paths included).
    pub store_name: String,
    /// Where uploads go, for `/upload/` answers: `s3://bucket/prefix`, or `local` for a
    /// directory (never a server path).
    pub store_public_name: String,
    /// Server paths that answers must not show, and what they show instead.
    pub private_paths: Redactor,
    /// The request log.
    pub log: Arc<RequestLog>,
    /// `--public-url` (or `http://{bound address}`), without a trailing `/`: the base of
    /// the URLs in answers (syminfo), never taken from the request's `Host`.
    pub public_url: String,
    /// Uploads in progress (`--max-uploads` permits).
    pub uploads: Arc<Semaphore>,
    /// `--max-uploads`, for messages.
    pub max_uploads: usize,
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
    /// Uploads by download URL: the allowed hosts and limits.
    pub url_upload: UrlUploadOptions,
    /// Whose API the server answers as (`--api`).
    pub api: crate::Api,
    /// Upload API v2 sessions (`--cache DIR/upload-sessions`, else in the temp dir);
    /// `None` when uploads are off (no `--tokens`).
    pub sessions: Option<UploadSessions>,
    /// What `/upload/auth_info/` announces (`--upload-api-version`).
    pub upload_api_version: u32,
}

/// Server paths and their stand-ins: every message sent to a client goes through
/// [`Redactor::redact`] (belt and braces: answers of 5xx carry no error text at all).
#[derive(Debug, Default)]
pub struct Redactor {
    pairs: Vec<(String, &'static str)>,
}

impl Redactor {
    /// Adds `path` (as given and canonical) shown as `shown`.
    pub fn add(&mut self, path: &Path, shown: &'static str) {
        for p in [Some(path.to_path_buf()), std::fs::canonicalize(path).ok()]
            .into_iter()
            .flatten()
        {
            let text = p.to_string_lossy().trim_end_matches('/').to_owned();
            // `/` or `.` would match everywhere; only paths with a name are secrets.
            if text.len() > 1 && text != "." && !self.pairs.iter().any(|(t, _)| *t == text) {
                self.pairs.push((text, shown));
            }
        }
        // Longest first: a store inside the temp dir is shown as the store.
        self.pairs.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    }

    /// `msg` with every known server path replaced.
    pub fn redact(&self, msg: &str) -> String {
        let mut out = msg.to_owned();
        for (path, shown) in &self.pairs {
            if out.contains(path.as_str()) {
                out = out.replace(path.as_str(), shown);
            }
        }
        out
    }
}

/// The pieces built from `--symbols`.
pub struct Stores {
    /// Symbolicator sources, one per spec, in order.
    pub sources: Vec<SymbolStore>,
    /// The store over the same specs.
    pub store: SymbolStore,
    /// Every member local.
    pub local: bool,
    /// Some member writable.
    pub writable: bool,
    /// Description.
    pub name: String,
    /// Where uploads go, without server paths (see [`State::store_public_name`]).
    pub public_name: String,
    /// The local directories among the specs.
    pub dirs: Vec<PathBuf>,
    /// The writable local stores among them (not plain trees).
    pub store_dirs: Vec<PathBuf>,
}

/// Builds the sources and the store from `--symbols` values (see the module docs).
pub fn open_stores(specs: &[String]) -> tecken_core::Result<Stores> {
    let specs =
        StoreSpec::parse_list(specs).map_err(|e| crate::bad_setting(format!("--symbols: {e}")))?;
    let mut sources: Vec<SymbolStore> = Vec::new();
    let mut local = true;
    let mut public_name: Option<String> = None;
    let mut dirs = Vec::new();
    let mut store_dirs = Vec::new();
    for spec in &specs {
        match spec {
            StoreSpec::Dir(dir) if is_plain_tree(dir) => dirs.push(dir.clone()),
            StoreSpec::Dir(dir) => {
                // A store, possibly new: create `v1/` so that it is read as one.
                std::fs::create_dir_all(dir.join("v1"))
                    .map_err(|e| crate::bad_setting(format!("--symbols {}: {e}", dir.display())))?;
                dirs.push(dir.clone());
                store_dirs.push(dir.clone());
                public_name.get_or_insert_with(|| "local".to_owned());
            }
            _ => {
                local = false;
                public_name.get_or_insert_with(|| spec.to_string());
            }
        }
        let store = spec
            .symbol_store()
            .map_err(|e| crate::bad_setting(format!("--symbols {spec}: {e}")))?;
        sources.push(store);
    }
    let mut members: Vec<Arc<dyn Storage>> = sources.iter().map(|s| s.storage().clone()).collect();
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
        public_name: public_name.unwrap_or_else(|| "none".to_owned()),
        dirs,
        store_dirs,
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
    /// `--negative-ttl`.
    pub negative_ttl: Duration,
    /// `--public-url`, or the default from the bound address.
    pub public_url: String,
    /// `--max-uploads`.
    pub max_uploads: usize,
    /// `--upload-url-host`.
    pub upload_url_hosts: Vec<String>,
    /// `--upload-url-http`.
    pub upload_url_http: bool,
    /// `--api`.
    pub api: crate::Api,
    /// `--upload-api-version`.
    pub upload_api_version: u32,
    /// The request log.
    pub log: Arc<RequestLog>,
}

impl State {
    /// Opens the stores and reads the tokens file.
    pub fn new(s: Settings) -> tecken_core::Result<State> {
        // Checked before `open_stores`, which may create directories.
        let public_url = match s.public_url.trim_end_matches('/') {
            u if (u.starts_with("http://") || u.starts_with("https://"))
                && u.split_once("://")
                    .is_some_and(|(_, rest)| !rest.is_empty()) =>
            {
                u.to_owned()
            }
            _ => {
                return Err(crate::bad_setting(format!(
                    "--public-url {:?}: expected an http:// or https:// URL",
                    s.public_url
                )))
            }
        };
        let stores = open_stores(&s.symbols)?;
        let tokens = match &s.tokens {
            Some(p) => Some(Tokens::load(p)?),
            None => None,
        };
        let missing = Arc::new(MissingSymbols::new(MissingSymbols::DEFAULT_CAPACITY));
        let config = SymbolicatorConfig {
            cache_dir: s.cache.clone(),
            negative_ttl: s.negative_ttl,
            ..SymbolicatorConfig::default()
        };
        let spool_dir = match &s.cache {
            Some(c) => {
                let d = c.join("uploads");
                std::fs::create_dir_all(&d)
                    .map_err(|e| crate::bad_setting(format!("--cache {}: {e}", c.display())))?;
                d
            }
            None => std::env::temp_dir(),
        };
        // What a killed server left (see `spool`); `--cache DIR/uploads` is only ours.
        let cleaned = super::spool::clean(&spool_dir, s.cache.is_some());
        if cleaned.removed > 0 {
            s.log.event(
                "spool_cleanup",
                &format!(
                    "removed {} dead upload spool file(s) from {}",
                    cleaned.removed,
                    spool_dir.display()
                ),
            );
        }
        // Temporary files of store writes a killed process left (an upload's member
        // half-written). Finding them walks the whole store, which can take minutes for a
        // large one: a background thread does it while the server serves; live writes of
        // other processes are younger than `STALE_TEMP_AGE` and kept.
        for dir in &stores.store_dirs {
            let (dir, log) = (dir.clone(), s.log.clone());
            let _ = std::thread::Builder::new()
                .name("tecken-temp-sweep".into())
                .spawn(move || {
                    let swept = LocalStore::new(&dir)
                        .and_then(|st| st.remove_stale_temp_files(LocalStore::STALE_TEMP_AGE));
                    match swept {
                        Ok(c) if c.removed > 0 || c.failed > 0 => log.event(
                            "temp_cleanup",
                            &format!(
                                "removed {} stale temporary file(s) ({} bytes) from {}; {} left",
                                c.removed,
                                c.bytes,
                                dir.display(),
                                c.failed
                            ),
                        ),
                        Ok(_) => {}
                        Err(e) => log.event("temp_cleanup_error", &e.to_string()),
                    }
                });
        }
        // Core uploads of streamed archives spool to the temp dir (`upload::Spool`).
        let _ = tecken_core::remove_stale_spool_files(
            &std::env::temp_dir(),
            LocalStore::STALE_TEMP_AGE,
        );
        // Upload API v2 sessions: only where uploads can happen.
        let sessions = match &s.tokens {
            Some(_) => {
                let dir = match &s.cache {
                    Some(c) => c.join("upload-sessions"),
                    None => std::env::temp_dir().join("tecken-upload-sessions"),
                };
                Some(UploadSessions::new(dir, SessionLimits::default())?)
            }
            None => None,
        };
        let mut private_paths = Redactor::default();
        if let Some(sessions) = &sessions {
            private_paths.add(sessions.dir(), "<sessions>");
        }
        for d in &stores.dirs {
            private_paths.add(d, "<store>");
        }
        if let Some(c) = &s.cache {
            private_paths.add(c, "<cache>");
        }
        private_paths.add(&spool_dir, "<spool>");
        private_paths.add(&std::env::temp_dir(), "<tmp>");
        if let Some(t) = &s.tokens {
            private_paths.add(t, "<tokens>");
        }
        let redirect_base = match s.redirect_base {
            Some(b) if b.starts_with("http://") || b.starts_with("https://") => {
                Some(b.trim_end_matches('/').to_owned())
            }
            Some(b) => {
                return Err(crate::bad_setting(format!(
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
            symbolicator: Symbolicator::new(stores.sources, config),
            store: stores.store.with_missing_symbols(missing.clone()),
            store_is_local: stores.local,
            store_is_writable: stores.writable,
            store_name: stores.name,
            store_public_name: stores.public_name,
            private_paths,
            log: s.log,
            public_url,
            uploads: Arc::new(Semaphore::new(s.max_uploads)),
            max_uploads: s.max_uploads,
            missing,
            tokens,
            redirect_base,
            v5_debug: v5.clone().with_debug(true),
            v5,
            max_body: s.max_body,
            spool_dir,
            next_upload_id: std::sync::atomic::AtomicU64::new(1),
            url_upload: UrlUploadOptions {
                allowed_hosts: s.upload_url_hosts,
                allow_http: s.upload_url_http,
                max_size: s.max_body,
                ..UrlUploadOptions::default()
            },
            api: s.api,
            sessions,
            upload_api_version: s.upload_api_version,
        })
    }
}
