//! Symbol storage: one [`Storage`] trait, three backends, a chain, and the Tecken rules on
//! top ([`SymbolStore`]).
//!
//! ## Layers
//!
//! - [`Storage`] is a dumb object store addressed by full keys (`v1/xul.pdb/ID/xul.sym`):
//!   head, get, ranged get, streamed get ([`Storage::get_reader`]), put, list. Backends:
//!   [`LocalStore`] (a directory, the embedded default), `S3Store` (feature `s3`:
//!   `aws-sdk-s3` on a private, lazily started, fork-safe tokio runtime), [`HttpStore`]
//!   (feature `http`, read-only, any Tecken-style download URL, blocking `ureq`), and
//!   [`ChainStore`] (several of them in order: local cache, then S3, then HTTP).
//! - [`SymbolStore`] owns every Tecken rule: the `v1/` and `try/v1/` areas (Try searched
//!   after the regular one, when asked), the download allow-list, upper-case debug ids,
//!   gzip encoding with `original_size`/`original_md5_hash` metadata, the code-id index,
//!   missing-symbol recording. Uploads are in [`crate::upload`].
//!
//! ## Layout (identical in every backend)
//!
//! ```text
//! v1/{debug_file}/{DEBUG_ID}/{file}        regular uploads  (.sym gzipped, others raw)
//! try/v1/{debug_file}/{DEBUG_ID}/{file}    uploads of Try builds
//! codeid/{code_file}/{CODE_ID}             code-id index entries (small JSON, see CodeIdEntry)
//! ```
//!
//! An existing Tecken bucket is used as is: Tecken writes the first two, and ignores the
//! third. A plain symbols tree (`{debug_file}/{debug_id}/{file}`, no `v1/`) is read as the
//! regular area of a read-only store ([`PlainTreeStore`]).
//!
//! The symbolicator reads `.sym` files through a [`SymbolStore`] (regular area, then Try),
//! so every backend, and any [`Storage`] a user writes, is a symbol source.
//!
//! ## Errors
//!
//! "Not there" is `Ok(None)`, a final answer that may be cached. Everything else (timeout,
//! 5xx, connection refused, permission denied) is an [`crate::Error`] of kind
//! [`ErrorKind::Storage`] (remote) or [`ErrorKind::Io`] (local): transient, never cached,
//! never reported as "not found".

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, ErrorKind, Result};

mod chain;
mod codeid;
pub(crate) mod encoding;
mod fetch;
#[cfg(feature = "http")]
mod http;
mod local;
mod plain;
#[cfg(feature = "s3")]
mod s3;
mod spec;
mod symbols;

pub use chain::ChainStore;
pub use codeid::CodeIdEntry;
pub use encoding::EncodedFile;
#[cfg(feature = "http")]
pub use http::{HttpConfig, HttpLayout, HttpStore};
pub use local::{LocalStore, TempCleanup};
pub use plain::{is_plain_tree, PlainTreeStore};
#[cfg(feature = "s3")]
pub use s3::{S3Config, S3Store};
pub use spec::{open_store, symbol_stores, StoreSpec};
pub(crate) use symbols::code_id_entry as code_id_entry_for;
pub use symbols::{
    BodyMode, BodyStream, Download, DownloadRequest, DownloadSummary, Found, RebuildReport,
    StoreOptions, SymInfo, SymbolStore,
};

/// What a backend knows about a stored object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Stored size in bytes (`Content-Length`; the gzipped size for a `.sym`).
    pub size: u64,
    /// `Content-Encoding` (`gzip` for a `.sym` stored by Tecken or by us).
    pub content_encoding: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `original_size` metadata: the size before compression.
    pub original_size: Option<u64>,
    /// `original_md5_hash` metadata: the MD5 before compression, lower-case hex.
    pub original_md5: Option<String>,
    /// The MD5 of the stored bytes when the backend knows it (a single-part S3 ETag, a
    /// local file's digest), lower-case hex.
    pub stored_md5: Option<String>,
    /// Last modification time, when known.
    pub last_modified: Option<SystemTime>,
}

impl ObjectMeta {
    /// Whether the stored bytes are gzip-encoded.
    pub fn is_gzip(&self) -> bool {
        self.content_encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("gzip"))
    }
}

/// A stored object: its metadata and its stored bytes (still gzipped for a `.sym`).
#[derive(Debug, Clone, Default)]
pub struct StoredObject {
    /// What the backend said about it.
    pub meta: ObjectMeta,
    /// The bytes as stored.
    pub body: Vec<u8>,
}

/// A stored object being read: its metadata and a reader of its stored bytes (still
/// gzipped for a `.sym`), for answers that must not hold a whole file in memory.
pub struct ObjectReader {
    /// What the backend said about it.
    pub meta: ObjectMeta,
    /// The exact number of bytes `reader` yields, when the backend knows it (a local
    /// file's length, an S3 `Content-Length`); `None` otherwise.
    pub len: Option<u64>,
    /// The stored bytes. Read errors are [`std::io::Error`]s whose message names the key.
    pub reader: Box<dyn Read + Send>,
}

impl ObjectReader {
    /// A reader over bytes already in memory (backends that cannot stream).
    pub fn from_object(obj: StoredObject) -> ObjectReader {
        ObjectReader {
            meta: obj.meta,
            len: Some(obj.body.len() as u64),
            reader: Box::new(std::io::Cursor::new(obj.body)),
        }
    }
}

impl fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectReader")
            .field("meta", &self.meta)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Reads at most `limit` bytes of `inner`; one more is an error of kind
/// [`std::io::ErrorKind::InvalidData`] with `what` in its message (a hostile or corrupt
/// object is never read without bound).
pub(crate) struct LimitedReader<R> {
    inner: R,
    left: u64,
    limit: u64,
    what: String,
}

impl<R: Read> LimitedReader<R> {
    pub(crate) fn new(inner: R, limit: u64, what: String) -> LimitedReader<R> {
        LimitedReader {
            inner,
            left: limit,
            limit,
            what,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte more than is left, so the byte past the limit is seen.
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: more than {} bytes", self.what, self.limit),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An object to write: stored bytes plus the metadata Tecken writes with them.
#[derive(Debug, Clone, Copy)]
pub struct PutObject<'a> {
    /// The bytes to store.
    pub body: &'a [u8],
    /// `Content-Encoding` (`gzip` for a `.sym`).
    pub content_encoding: Option<&'a str>,
    /// `Content-Type` (`text/plain` for a `.sym`).
    pub content_type: Option<&'a str>,
    /// `original_size` and `original_md5_hash` metadata (set for compressed files).
    pub original: Option<(u64, &'a str)>,
}

impl<'a> PutObject<'a> {
    /// An object stored raw with no metadata.
    pub fn raw(body: &'a [u8]) -> PutObject<'a> {
        PutObject {
            body,
            content_encoding: None,
            content_type: None,
            original: None,
        }
    }

    /// The object for an encoded file.
    pub(crate) fn from_encoded(file: &'a EncodedFile) -> PutObject<'a> {
        PutObject {
            body: &file.body,
            content_encoding: file.content_encoding,
            content_type: file.content_type,
            original: file
                .content_encoding
                .map(|_| (file.original_size, file.original_md5.as_str())),
        }
    }
}

/// An object as [`Storage::get_data`] finds it.
#[derive(Debug)]
pub enum ObjectData {
    /// A file on local disk holding the stored bytes (gzip-compressed or not), read by the
    /// caller. It may change or vanish after the call, like any file.
    File(std::path::PathBuf),
    /// The stored bytes, read.
    Object(StoredObject),
}

/// An object store addressed by full keys (`v1/xul.pdb/ID/xul.sym`).
///
/// Implementations refuse keys that could leave their namespace (empty components, `.`,
/// `..`, backslashes, NUL) with [`ErrorKind::InvalidInput`] before using them. `Ok(None)` is "not found" (final); errors are transient.
pub trait Storage: Send + Sync + fmt::Debug {
    /// A short description for logs (`local:/srv/symbols`, `s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// The object's metadata, or `None` if it does not exist.
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>>;

    /// The object's stored bytes and metadata, or `None` if it does not exist.
    fn get(&self, key: &str) -> Result<Option<StoredObject>>;

    /// The object's metadata and a reader of its stored bytes, or `None` if it does not
    /// exist. Backends that can stream (a local file, an S3 or HTTP response body) read in
    /// chunks as the reader is read, so memory does not grow with the object's size; the
    /// default reads the whole object with [`Storage::get`].
    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        Ok(self.get(key)?.map(ObjectReader::from_object))
    }

    /// [`Storage::get`], except that a backend keeping the object as a plain file on local
    /// disk may answer with the file's path ([`ObjectData::File`]), which the caller reads
    /// or memory-maps itself (the symbolicator maps a plain `.sym` instead of copying it to
    /// the heap). The default reads the object with [`Storage::get`].
    fn get_data(&self, key: &str) -> Result<Option<ObjectData>> {
        Ok(self.get(key)?.map(ObjectData::Object))
    }

    /// At most the first `len` stored bytes of the object (a ranged read), or `None`.
    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key)?.map(|mut o| {
            o.body.truncate(len);
            o.body
        }))
    }

    /// Writes the object atomically: readers see the old object or the whole new one,
    /// never a part. Read-only backends fail with [`ErrorKind::InvalidInput`].
    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        let _ = object;
        Err(read_only(self, key))
    }

    /// Whether [`Storage::put`] can work.
    fn is_writable(&self) -> bool {
        false
    }

    /// Whether [`Storage::head`] is a local file-system lookup (a `stat`), cheap enough to
    /// ask before work that needs a lock: a symbolicator then finds a module that no local
    /// source has without taking its cross-process lock. False (the default) for network
    /// backends.
    fn is_local(&self) -> bool {
        false
    }

    /// Whether a key with a lower-case debug id may name an object here that the
    /// upper-case key does not: true for buckets and directories (Tecken writes ids in the
    /// uploader's case), false for a Tecken download URL, whose server answers by its own
    /// rules. [`SymbolStore`] looks under a lower-case id only where this is true (see
    /// [`StoreOptions::lower_case_ids`]).
    fn may_hold_lower_case_ids(&self) -> bool {
        true
    }

    /// The MD5 of the stored bytes, lower-case hex, when the backend can tell (a local file
    /// is read; S3 answers with a single-part upload's ETag). `None` when absent or unknown.
    fn content_md5(&self, key: &str) -> Result<Option<String>> {
        Ok(self.head(key)?.and_then(|m| m.stored_md5))
    }

    /// Calls `visit(key, stored_size)` for every object whose key starts with `prefix`,
    /// in no particular order. Backends that cannot list fail with
    /// [`ErrorKind::InvalidInput`].
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        let _ = visit;
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{} cannot list objects (prefix {prefix:?})",
                self.describe()
            ),
        ))
    }
}

fn read_only(storage: &(impl Storage + ?Sized), key: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{} is read-only: cannot write {key:?}", storage.describe()),
    )
}

impl<T: Storage + ?Sized> Storage for Arc<T> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        (**self).head(key)
    }
    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        (**self).get(key)
    }
    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        (**self).get_reader(key)
    }
    fn get_data(&self, key: &str) -> Result<Option<ObjectData>> {
        (**self).get_data(key)
    }
    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        (**self).get_prefix(key, len)
    }
    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        (**self).put(key, object)
    }
    fn is_writable(&self) -> bool {
        (**self).is_writable()
    }
    fn may_hold_lower_case_ids(&self) -> bool {
        (**self).may_hold_lower_case_ids()
    }
    fn is_local(&self) -> bool {
        (**self).is_local()
    }
    fn content_md5(&self, key: &str) -> Result<Option<String>> {
        (**self).content_md5(key)
    }
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        (**self).list(prefix, visit)
    }
}
