//! Symbol source specs, as a command line or a settings file writes them:
//! `DIR | s3://bucket/prefix | http(s)://host/path/`.
//!
//! Both bindings (and the CLI's `--symbols`) need this; it lives here until it moves into
//! the core.

use std::path::PathBuf;
use std::sync::Arc;

use tecken_core::store::{HttpStore, SymbolStore};
use tecken_core::symbolicator::{LocalDir, SymbolSource};
use tecken_core::Result;

/// A parsed spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 bucket and key prefix; endpoint, region and credentials from the AWS
    /// environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).
    S3 { bucket: String, prefix: String },
    /// A Tecken-style download URL (`https://symbols.mozilla.org/`).
    Http(String),
}

impl Spec {
    /// `s3://bucket[/prefix]`, `http://...`, `https://...`, else a directory.
    pub fn parse(spec: &str) -> Spec {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            return Spec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            };
        }
        let lower = spec.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Spec::Http(spec.to_owned());
        }
        Spec::Dir(PathBuf::from(spec))
    }

    /// The store: a local directory in the store layout (`DIR/v1/...`), S3 or HTTP.
    pub fn store(self) -> Result<SymbolStore> {
        match self {
            Spec::Dir(root) => SymbolStore::local(root),
            Spec::Http(url) => Ok(SymbolStore::new(HttpStore::tecken(&url)?)),
            Spec::S3 { bucket, prefix } => s3_store(&bucket, &prefix),
        }
    }

    /// A symbolicator source: a local directory is read in the plain symbols layout
    /// (`DIR/{debug_file}/{debug_id}/{sym_file}`, as `tecken symbolicate --symbols DIR`),
    /// remote specs as stores.
    pub fn source(self) -> Result<Arc<dyn SymbolSource>> {
        match self {
            Spec::Dir(root) => Ok(Arc::new(LocalDir::new(root))),
            remote => Ok(Arc::new(remote.store()?)),
        }
    }
}

#[cfg(feature = "s3")]
fn s3_store(bucket: &str, prefix: &str) -> Result<SymbolStore> {
    use tecken_core::store::{S3Config, S3Store};
    let mut config = S3Config::new(bucket);
    config.prefix = prefix.to_owned();
    Ok(SymbolStore::new(S3Store::new(config)?))
}

#[cfg(not(feature = "s3"))]
fn s3_store(bucket: &str, _prefix: &str) -> Result<SymbolStore> {
    Err(crate::errors::invalid(format!(
        "s3://{bucket}: this build of tecken_core has no S3 support"
    )))
}
