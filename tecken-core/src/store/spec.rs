//! Symbol source specs as a command line, a settings file or a binding writes them:
//! `DIR`, `file://DIR`, `s3://bucket/prefix`, `http://...` or `https://...`.
//!
//! One parser for the CLI (`--symbols`, `--store`), the server and both bindings, so a
//! spec means the same thing everywhere.
//!
//! ```
//! use tecken_core::StoreSpec;
//!
//! let spec: StoreSpec = "s3://symbols/prod".parse().unwrap();
//! assert_eq!(spec, StoreSpec::S3 { bucket: "symbols".into(), prefix: "prod".into() });
//! assert!(matches!("./symbols".parse().unwrap(), StoreSpec::Dir(_)));
//! assert!("s3://".parse::<StoreSpec>().is_err());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::{ChainStore, LocalStore, PlainTreeStore, Storage, SymbolStore};
use crate::error::{Error, ErrorKind, Result};

/// Where symbols live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A local directory: a store (`DIR/v1/...`, `DIR/try/v1/...`) or, read-only, a plain
    /// symbols tree (`DIR/{debug_file}/{debug_id}/{sym_file}`).
    Dir(PathBuf),
    /// An S3 bucket and key prefix. Endpoint, region and credentials come from the AWS
    /// environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...) unless a
    /// caller configures them (see `S3Config`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// A Tecken-style download URL (`https://symbols.mozilla.org/`), read-only.
    Http(String),
}

impl FromStr for StoreSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<StoreSpec> {
        StoreSpec::parse(spec)
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Dir(p) => write!(f, "{}", p.display()),
            StoreSpec::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreSpec::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreSpec::Http(url) => f.write_str(url),
        }
    }
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

impl StoreSpec {
    /// Parses one spec: `s3://bucket[/prefix]`, `http(s)://...` (scheme in any case),
    /// `file://DIR`, anything else a directory. An empty spec, an empty or malformed bucket
    /// name, and an unknown `scheme://` are errors of kind [`ErrorKind::InvalidInput`].
    pub fn parse(spec: &str) -> Result<StoreSpec> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(invalid("empty symbol source".into()));
        }
        let lower = spec.to_ascii_lowercase();
        if lower.starts_with("s3://") {
            let rest = &spec[5..];
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !is_bucket_name(bucket) {
                return Err(invalid(format!(
                    "{spec:?}: {bucket:?} is not an S3 bucket name (3-63 of a-z 0-9 . -)"
                )));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|c| c == "." || c == "..") {
                return Err(invalid(format!(
                    "{spec:?}: the key prefix may not contain . or .."
                )));
            }
            return Ok(StoreSpec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let host = spec.split_once("://").map_or("", |(_, r)| r);
            if host.is_empty() || host.starts_with('/') {
                return Err(invalid(format!("{spec:?}: the URL has no host")));
            }
            return Ok(StoreSpec::Http(spec.to_owned()));
        }
        if let Some(dir) = spec.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(invalid(format!("{spec:?}: no directory")));
            }
            return Ok(StoreSpec::Dir(PathBuf::from(dir)));
        }
        if let Some((scheme, _)) = spec.split_once("://") {
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid(format!(
                    "{spec:?}: unknown scheme {scheme:?} (use a directory, s3://, http:// or https://)"
                )));
            }
        }
        Ok(StoreSpec::Dir(PathBuf::from(spec)))
    }

    /// Parses a list of specs, in order; a comma-separated string is split too
    /// (`/var/cache/syms,s3://b/p`). At least one is needed.
    pub fn parse_list<S: AsRef<str>>(specs: &[S]) -> Result<Vec<StoreSpec>> {
        let mut out = Vec::new();
        for s in specs {
            for part in s.as_ref().split(',') {
                if !part.trim().is_empty() {
                    out.push(StoreSpec::parse(part)?);
                }
            }
        }
        if out.is_empty() {
            return Err(invalid("no symbol source given".into()));
        }
        Ok(out)
    }

    /// Whether the spec names a remote store (S3 or HTTP).
    pub fn is_remote(&self) -> bool {
        !matches!(self, StoreSpec::Dir(_))
    }

    /// The backend with default settings. A directory is read as a plain symbols tree
    /// `{debug_file}/{debug_id}/{sym_file}` ([`PlainTreeStore`], read-only: how `.sym`
    /// files lie after unzipping an upload archive) when [`super::is_plain_tree`] says so,
    /// and otherwise as a [`LocalStore`] (the regular area `v1/`, then `try/v1/`; created
    /// if missing, and an empty directory is a store that uploads may fill). `s3://` is an
    /// `S3Store` (feature `s3`), `http(s)://` an [`super::HttpStore`] (feature `http`).
    pub fn storage(&self) -> Result<Arc<dyn Storage>> {
        match self {
            StoreSpec::Dir(root) if super::is_plain_tree(root) => {
                Ok(Arc::new(PlainTreeStore::new(root)?))
            }
            StoreSpec::Dir(root) => Ok(Arc::new(LocalStore::new(root)?)),
            StoreSpec::S3 { bucket, prefix } => s3_storage(bucket, prefix),
            StoreSpec::Http(url) => http_storage(url),
        }
    }

    /// The spec as a place to read symbols from: a [`SymbolStore`] over
    /// [`StoreSpec::storage`], except that a missing directory is an error (a typo must not
    /// read as "every module missing").
    pub fn symbol_store(&self) -> Result<SymbolStore> {
        if let StoreSpec::Dir(root) = self {
            match std::fs::metadata(root) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(invalid(format!(
                        "symbols source {} is not a directory",
                        root.display()
                    )))
                }
                Err(e) => return Err(Error::io(root, e)),
            }
        }
        Ok(SymbolStore::from_arc(self.storage()?))
    }
}

/// A [`SymbolStore`] over the specs in order (one backend, or a [`ChainStore`] reading
/// each in turn and writing to the first writable one).
pub fn open_store(specs: &[StoreSpec]) -> Result<SymbolStore> {
    let mut members = specs
        .iter()
        .map(StoreSpec::storage)
        .collect::<Result<Vec<_>>>()?;
    let storage: Arc<dyn Storage> = match members.len() {
        0 => return Err(invalid("no symbol store given".into())),
        1 => members.remove(0),
        _ => Arc::new(ChainStore::new(members)),
    };
    Ok(SymbolStore::from_arc(storage))
}

/// The specs as places to read symbols from, in order (see [`StoreSpec::symbol_store`]).
pub fn symbol_stores(specs: &[StoreSpec]) -> Result<Vec<SymbolStore>> {
    specs.iter().map(StoreSpec::symbol_store).collect()
}

/// S3 bucket naming rules (the subset that matters for a path-style URL and a key).
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.as_bytes()[0].is_ascii_alphanumeric()
        && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric()
}

#[cfg(feature = "s3")]
fn s3_storage(bucket: &str, prefix: &str) -> Result<Arc<dyn Storage>> {
    let mut config = super::S3Config::new(bucket);
    config.prefix = prefix.to_owned();
    Ok(Arc::new(super::S3Store::new(config)?))
}

#[cfg(not(feature = "s3"))]
fn s3_storage(bucket: &str, _prefix: &str) -> Result<Arc<dyn Storage>> {
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!("s3://{bucket}: this build has no S3 support (cargo feature `s3` of tecken-core)"),
    ))
}

#[cfg(feature = "http")]
fn http_storage(url: &str) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(super::HttpStore::tecken(url)?))
}

#[cfg(not(feature = "http"))]
fn http_storage(url: &str) -> Result<Arc<dyn Storage>> {
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!("{url}: this build has no HTTP support (cargo feature `http` of tecken-core)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            StoreSpec::parse("s3://b-1.x/a/b/").unwrap(),
            StoreSpec::S3 {
                bucket: "b-1.x".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            StoreSpec::parse("S3://bkt").unwrap(),
            StoreSpec::S3 {
                bucket: "bkt".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StoreSpec::parse("HTTPS://symbols.example/try/").unwrap(),
            StoreSpec::Http("HTTPS://symbols.example/try/".into())
        );
        assert_eq!(
            StoreSpec::parse("file:///srv/syms").unwrap(),
            StoreSpec::Dir("/srv/syms".into())
        );
        assert_eq!(
            StoreSpec::parse("C:\\syms").unwrap(),
            StoreSpec::Dir("C:\\syms".into())
        );
        assert_eq!(
            StoreSpec::parse("s3://bkt/p").unwrap().to_string(),
            "s3://bkt/p"
        );
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "",
            "  ",
            "s3://",
            "s3://UPPER",
            "s3://ab",
            "s3://-bad",
            "s3://bkt/../x",
            "https://",
            "http:///path",
            "ftp://host/x",
            "file://",
        ] {
            let e = StoreSpec::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}: {e}");
        }
    }

    #[test]
    fn lists_split_on_commas() {
        let l = StoreSpec::parse_list(&["a,s3://bkt/p", "https://h/"]).unwrap();
        assert_eq!(l.len(), 3);
        assert!(StoreSpec::parse_list::<&str>(&[]).is_err());
        assert!(StoreSpec::parse_list(&[","]).is_err());
    }

    #[test]
    fn a_directory_is_a_plain_tree_or_a_store() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = StoreSpec::Dir(tmp.path().to_owned())
            .symbol_store()
            .unwrap();
        assert!(
            empty.storage().is_writable(),
            "an empty directory is a store"
        );
        std::fs::create_dir_all(tmp.path().join("a.pdb/ABC")).unwrap();
        let plain = StoreSpec::Dir(tmp.path().to_owned()).storage().unwrap();
        assert!(
            plain.describe().starts_with("tree:"),
            "{}",
            plain.describe()
        );
        assert!(!plain.is_writable(), "a plain tree is read-only");
        std::fs::create_dir(tmp.path().join("v1")).unwrap();
        let store = StoreSpec::Dir(tmp.path().to_owned())
            .symbol_store()
            .unwrap();
        assert!(store.storage().is_writable());
        let missing = StoreSpec::Dir(tmp.path().join("nope")).symbol_store();
        assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
        assert!(!tmp.path().join("nope").exists(), "reading creates nothing");
    }
}
