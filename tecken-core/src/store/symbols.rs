//! [`SymbolStore`]: Tecken's rules over any [`Storage`].

use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::codeid::{entry_key, module_alias_key, CodeIdEntry, CODE_ID_PREFIX};
use super::encoding::{self, gunzip, gunzip_prefix, is_gzip};
use super::{LimitedReader, ObjectMeta, ObjectReader, PutObject, Storage, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{
    has_invalid_key_chars, is_ignored_download, parse_storage_key, sym_file_name, Area, ObjectKey,
};
use crate::missing::MissingSymbols;
use crate::sym::{parse_header, SymHeader};

/// How much of a `.sym` is read to parse its header (MODULE and INFO lines).
const HEADER_BYTES: usize = 64 * 1024;

/// Options of a [`SymbolStore`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The most bytes a stored object may decompress to; more is an error of kind
    /// [`ErrorKind::LimitExceeded`] (a hostile or corrupt bucket is not trusted). Default
    /// 8 GiB.
    pub max_object_size: u64,
    /// Whether the store, read by a [`crate::Symbolicator`], also searches the Try
    /// area (after the regular one). Default `true`, like Eliot reading Tecken's `/try/`.
    pub source_includes_try: bool,
    /// The gzip level of files written by [`SymbolStore::put_file`] and uploads (0-9).
    /// Default 6: level 9, Tecken's, is about 2.5x slower for a 1-2% smaller `.sym`.
    pub gzip_level: u32,
    /// Whether a key not found with its upper-case debug id is looked for with the id in
    /// lower case (in each area, before the next), and an upload updates such an object
    /// in place instead of writing an upper-case copy. A bucket Tecken wrote holds ids in
    /// the case its uploaders used. Default `true`; a miss then costs a second lookup when
    /// the id has a letter. Backends that cannot hold such keys (a Tecken download URL:
    /// [`Storage::may_hold_lower_case_ids`]) are never asked twice.
    pub lower_case_ids: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_object_size: 8 << 30,
            source_includes_try: true,
            gzip_level: 6,
            lower_case_ids: true,
        }
    }
}

/// Buffer of a streamed body: the first read also decides whether the bytes are gzip.
const STREAM_BUFFER: usize = 64 * 1024;

/// What to return of a found file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyMode {
    /// Nothing (a HEAD request). Misses are not recorded as missing symbols.
    None,
    /// The decompressed bytes.
    #[default]
    Decoded,
    /// The bytes as stored, with their `Content-Encoding` (for a proxy passing it on).
    Stored,
    /// A reader of the decompressed bytes ([`Found::stream`]), decompressed as it is read:
    /// memory does not grow with the file (a server sending a large `.sym` to a slow
    /// client). The limit `max_object_size` applies as the bytes come, as a read error.
    DecodedStream,
    /// A reader of the bytes as stored ([`Found::stream`]), with their `Content-Encoding`.
    StoredStream,
}

impl BodyMode {
    fn is_stream(self) -> bool {
        matches!(self, BodyMode::DecodedStream | BodyMode::StoredStream)
    }
}

/// Parses the modes that answer with a value: `"decoded"`, `"stored"` and `"none"` (the
/// bindings' `body` option). The stream modes hand back a reader to Rust code and have no
/// name: a caller that names its mode wants bytes. Anything else is an error of kind
/// [`ErrorKind::InvalidInput`] naming the accepted values.
impl FromStr for BodyMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<BodyMode> {
        match s {
            "decoded" => Ok(BodyMode::Decoded),
            "stored" => Ok(BodyMode::Stored),
            "none" => Ok(BodyMode::None),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "unknown body mode {other:?}: expected \"decoded\", \"stored\" or \"none\""
                ),
            )),
        }
    }
}

/// The body of a found file as a reader (see [`BodyMode::DecodedStream`]).
pub struct BodyStream {
    /// The exact number of bytes `reader` yields, when known (a stored body of a backend
    /// that knows its length); `None` for decompressed bodies.
    pub len: Option<u64>,
    /// The bytes. A read error (the backend failed, corrupt gzip data, more than
    /// `max_object_size` decompressed) ends the body: a server must abort the answer,
    /// not end it as if complete.
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A download request in Tecken's terms (`GET /{debug_file}/{debug_id}/{file}`).
#[derive(Debug, Clone, Default)]
pub struct DownloadRequest {
    /// Debug file (`xul.pdb`), or a code file (`xul.dll`) for a code-id lookup.
    pub debug_file: String,
    /// Debug id, or a code id; any case.
    pub debug_id: String,
    /// File name (`xul.sym`).
    pub file: String,
    /// Search the Try area too (`/try/...` or `?try`).
    pub try_symbols: bool,
    /// `?code_file=` (recorded with a miss).
    pub code_file: Option<String>,
    /// `?code_id=` (recorded with a miss).
    pub code_id: Option<String>,
    /// What to return.
    pub body: BodyMode,
}

impl DownloadRequest {
    /// A GET of `debug_file/debug_id/file` returning the decompressed bytes.
    pub fn new(debug_file: &str, debug_id: &str, file: &str) -> DownloadRequest {
        DownloadRequest {
            debug_file: debug_file.to_owned(),
            debug_id: debug_id.to_owned(),
            file: file.to_owned(),
            ..DownloadRequest::default()
        }
    }
}

/// A file found by [`SymbolStore::download`].
#[derive(Debug)]
pub struct Found {
    /// Its key (debug id upper-case).
    pub key: ObjectKey,
    /// The area it was found in.
    pub area: Area,
    /// The full storage key it was found under: `key` in `area`, or the same with the debug
    /// id in lower case (see [`StoreOptions::lower_case_ids`]). A redirect points here.
    pub storage_key: String,
    /// Its stored metadata.
    pub meta: ObjectMeta,
    /// The body, per [`BodyMode`] (`Decoded` and `Stored`).
    pub body: Option<Vec<u8>>,
    /// The body as a reader, per [`BodyMode`] (`DecodedStream` and `StoredStream`).
    pub stream: Option<BodyStream>,
    /// The `Content-Encoding` of `body` or `stream` (`Some("gzip")` only with
    /// [`BodyMode::Stored`] or [`BodyMode::StoredStream`]).
    pub content_encoding: Option<String>,
}

/// The answer to a download request.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per request, matched at once: boxing `Found` would cost an \
              allocation per download and change every caller's patterns, to save a few \
              hundred bytes of stack"
)]
#[derive(Debug)]
pub enum Download {
    /// The file exists.
    Found(Found),
    /// Not found under this key, but the debug file and id are a code file and code id
    /// whose `.sym` is stored under this key (Tecken answers 302 to it).
    Redirect(ObjectKey),
    /// Tecken's short-cut: `file.ptr`, the all-zero debug id, or an extension outside the
    /// allow-list. 404 "Symbol Not Found (and ignored)", not recorded as missing.
    Ignored,
    /// Not found. 404 "Symbol Not Found".
    NotFound,
}

impl Download {
    /// `"found"`, `"redirect"`, `"ignored"` or `"not_found"`.
    pub fn status(&self) -> &'static str {
        match self {
            Download::Found(_) => "found",
            Download::Redirect(_) => "redirect",
            Download::Ignored => "ignored",
            Download::NotFound => "not_found",
        }
    }

    /// The answer without its body, as the bindings return it.
    pub fn summary(&self) -> DownloadSummary {
        let found = match self {
            Download::Found(f) => Some(f),
            _ => None,
        };
        DownloadSummary {
            status: self.status(),
            key: match self {
                Download::Found(f) => Some(f.storage_key.clone()),
                Download::Redirect(to) => Some(to.path()),
                Download::Ignored | Download::NotFound => None,
            },
            try_symbols: found.is_some_and(|f| f.area == Area::Try),
            size: found.map(|f| f.meta.size),
            content_type: found.and_then(|f| f.meta.content_type.clone()),
            content_encoding: found.and_then(|f| f.content_encoding.clone()),
        }
    }
}

/// A [`Download`] without its body ([`Download::summary`]): what the bindings' download
/// result says besides the bytes. Serializes with `try` for `try_symbols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadSummary {
    /// [`Download::status`].
    pub status: &'static str,
    /// Found: the storage key (`v1/xul.pdb/ID/xul.sym`, `try/v1/...`); redirect: the path
    /// to redirect to (`xul.pdb/ID/xul.sym`); else `None`.
    pub key: Option<String>,
    /// Whether the found file is in the Try area.
    #[serde(rename = "try")]
    pub try_symbols: bool,
    /// The found file's stored size (gzipped for a `.sym`).
    pub size: Option<u64>,
    /// The found file's stored `Content-Type`.
    pub content_type: Option<String>,
    /// The `Content-Encoding` of the body ([`Found::content_encoding`]).
    pub content_encoding: Option<String>,
}

/// What the syminfo API answers for a module.
///
/// Serializes as the bindings return it: the fields below, but `key` as the storage key
/// ([`SymInfo::storage_key`]) and `area` as `try` ([`SymInfo::is_try`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymInfo {
    /// Debug file (`xul.pdb`).
    pub debug_filename: String,
    /// Debug id, upper-case.
    pub debug_id: String,
    /// Code file (`xul.dll`), if known.
    pub code_file: Option<String>,
    /// Code id, if known.
    pub code_id: Option<String>,
    /// `INFO GENERATOR`, if known.
    pub generator: Option<String>,
    /// The key of the `.sym`.
    pub key: ObjectKey,
    /// The area the `.sym` is in.
    pub area: Area,
}

impl SymInfo {
    /// The storage key of the `.sym` (`v1/xul.pdb/ID/xul.sym`, `try/v1/...` in Try).
    pub fn storage_key(&self) -> String {
        self.key.storage_key(self.area)
    }

    /// Whether the `.sym` is in the Try area.
    pub fn is_try(&self) -> bool {
        self.area == Area::Try
    }
}

impl Serialize for SymInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            debug_filename: &'a str,
            debug_id: &'a str,
            code_file: Option<&'a str>,
            code_id: Option<&'a str>,
            generator: Option<&'a str>,
            key: String,
            #[serde(rename = "try")]
            try_symbols: bool,
        }
        Json {
            debug_filename: &self.debug_filename,
            debug_id: &self.debug_id,
            code_file: self.code_file.as_deref(),
            code_id: self.code_id.as_deref(),
            generator: self.generator.as_deref(),
            key: self.storage_key(),
            try_symbols: self.is_try(),
        }
        .serialize(serializer)
    }
}

/// What [`SymbolStore::rebuild_code_index`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// `.sym` files whose header was read.
    pub sym_files: u64,
    /// Index entries written.
    pub entries: u64,
    /// `.sym` files that could not be read or parsed (key and reason).
    pub failures: Vec<(String, String)>,
}

/// Tecken's symbol store over any [`Storage`]: the `v1/` and `try/v1/` areas, the download
/// allow-list, upper-case debug ids, gzip encoding with `original_size` /
/// `original_md5_hash` metadata, the code-id index, missing-symbol recording.
#[derive(Debug, Clone)]
pub struct SymbolStore {
    storage: Arc<dyn Storage>,
    options: StoreOptions,
    missing: Option<Arc<MissingSymbols>>,
}

impl SymbolStore {
    /// A store over `storage` with default options.
    pub fn new(storage: impl Storage + 'static) -> SymbolStore {
        SymbolStore::from_arc(Arc::new(storage))
    }

    /// A store over a shared backend.
    pub fn from_arc(storage: Arc<dyn Storage>) -> SymbolStore {
        SymbolStore {
            storage,
            options: StoreOptions::default(),
            missing: None,
        }
    }

    /// A store in the local directory `root` (created if missing).
    pub fn local(root: impl Into<std::path::PathBuf>) -> Result<SymbolStore> {
        Ok(SymbolStore::new(super::LocalStore::new(root)?))
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: StoreOptions) -> SymbolStore {
        self.options = options;
        self
    }

    /// Records downloads that found nothing into `missing`.
    pub fn with_missing_symbols(mut self, missing: Arc<MissingSymbols>) -> SymbolStore {
        self.missing = Some(missing);
        self
    }

    /// The backend.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The options.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The missing-symbols recorder, if any.
    pub fn missing_symbols(&self) -> Option<&Arc<MissingSymbols>> {
        self.missing.as_ref()
    }

    /// Where `key` is and its metadata: the regular area first, then Try when
    /// `try_symbols`. `None` when in neither.
    pub fn locate(&self, key: &ObjectKey, try_symbols: bool) -> Result<Option<(Area, ObjectMeta)>> {
        Ok(self
            .find(key, Area::search_order(try_symbols), |k| {
                self.storage.head(k)
            })?
            .map(|(area, _, meta)| (area, meta)))
    }

    /// Looks `key` up with `f` in each of `areas` in turn: under its storage key, then
    /// (with [`StoreOptions::lower_case_ids`]) with the debug id in lower case. Returns the
    /// area, the storage key that answered, and the answer.
    pub(crate) fn find<T>(
        &self,
        key: &ObjectKey,
        areas: &[Area],
        mut f: impl FnMut(&str) -> Result<Option<T>>,
    ) -> Result<Option<(Area, String, T)>> {
        for &area in areas {
            let skey = key.storage_key(area);
            if let Some(v) = f(&skey)? {
                return Ok(Some((area, skey, v)));
            }
            if !self.options.lower_case_ids || !self.storage.may_hold_lower_case_ids() {
                continue;
            }
            if let Some(lower) = key.lower_case_storage_key(area) {
                if let Some(v) = f(&lower)? {
                    return Ok(Some((area, lower, v)));
                }
            }
        }
        Ok(None)
    }

    /// Whether `key` exists (see [`SymbolStore::locate`]).
    pub fn exists(&self, key: &ObjectKey, try_symbols: bool) -> Result<bool> {
        Ok(self.locate(key, try_symbols)?.is_some())
    }

    /// The stored object of `key` (still gzipped for a `.sym`) and its area.
    pub fn get_stored(
        &self,
        key: &ObjectKey,
        try_symbols: bool,
    ) -> Result<Option<(Area, StoredObject)>> {
        Ok(self
            .find(key, Area::search_order(try_symbols), |k| {
                self.storage.get(k)
            })?
            .map(|(area, _, obj)| (area, obj)))
    }

    /// A reader of the stored object of `key` (still gzipped for a `.sym`) and its area.
    pub fn get_reader(
        &self,
        key: &ObjectKey,
        try_symbols: bool,
    ) -> Result<Option<(Area, ObjectReader)>> {
        Ok(self
            .find(key, Area::search_order(try_symbols), |k| {
                self.storage.get_reader(k)
            })?
            .map(|(area, _, r)| (area, r)))
    }

    /// The body of a streamed download: the stored bytes, or a decompressing reader (with
    /// the rule of [`SymbolStore::decode`]), and its `Content-Encoding`.
    fn stream_body(
        &self,
        key: &ObjectKey,
        meta_says_gzip: bool,
        len: Option<u64>,
        reader: Box<dyn Read + Send>,
        mode: BodyMode,
    ) -> Result<(BodyStream, Option<String>)> {
        let mut buffered = BufReader::with_capacity(STREAM_BUFFER, reader);
        let gzip = meta_says_gzip || {
            // The first bytes say whether a `.sym` without metadata is gzipped.
            let head = buffered
                .fill_buf()
                .map_err(|e| Error::new(ErrorKind::Storage, format!("{key}: {e}")))?;
            key.is_compressed() && is_gzip(head)
        };
        Ok(match (mode, gzip) {
            (BodyMode::DecodedStream, true) => {
                let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
                let limited = LimitedReader::new(
                    decoder,
                    self.options.max_object_size,
                    format!("{key}: decompressed"),
                );
                (
                    BodyStream {
                        len: None,
                        reader: Box::new(limited),
                    },
                    None,
                )
            }
            (BodyMode::StoredStream, true) => (
                BodyStream {
                    len,
                    reader: Box::new(buffered),
                },
                Some("gzip".to_owned()),
            ),
            _ => (
                BodyStream {
                    len,
                    reader: Box::new(buffered),
                },
                None,
            ),
        })
    }

    /// The decompressed bytes of `key`.
    pub fn get(&self, key: &ObjectKey, try_symbols: bool) -> Result<Option<Vec<u8>>> {
        match self.get_stored(key, try_symbols)? {
            Some((_, obj)) => self.decode(key, obj).map(Some),
            None => Ok(None),
        }
    }

    /// Decompresses a stored object: gzip when its `Content-Encoding` says so, or when it
    /// is a `.sym` starting with the gzip magic (so plain and gzipped `.sym` both read);
    /// any other file as stored (a `.dbg.gz` is served as the gzip file it is).
    pub fn decode(&self, key: &ObjectKey, obj: StoredObject) -> Result<Vec<u8>> {
        if obj.meta.is_gzip() || (key.is_compressed() && is_gzip(&obj.body)) {
            gunzip(&obj.body, self.options.max_object_size)
                .map_err(|e| Error::new(e.kind(), format!("{key}: {e}")))
        } else {
            Ok(obj.body)
        }
    }

    /// Stores one file under `key` in `area`, encoded as Tecken does (a `.sym` gzipped,
    /// with its original size and MD5). Returns the encoded form's details.
    pub fn put_file(
        &self,
        key: &ObjectKey,
        area: Area,
        data: &[u8],
    ) -> Result<encoding::EncodedFile> {
        let mut enc = encoding::encode(key.file(), data, self.options.gzip_level)?;
        self.storage
            .put(&key.storage_key(area), &PutObject::from_encoded(&enc))?;
        enc.body = Vec::new();
        Ok(enc)
    }

    /// Answers a download request with Tecken's rules, in Tecken's order: the ignore
    /// short-cut; a name with a character Tecken refuses (not found, without a lookup and
    /// not recorded as missing);
    /// the regular area, then Try if asked; then the code-id index (a redirect); else not
    /// found, recorded as a missing symbol (for GETs, when a recorder is attached).
    ///
    /// With [`BodyMode::DecodedStream`] and [`BodyMode::StoredStream`] the body is a
    /// reader ([`Found::stream`]) over the backend's [`Storage::get_reader`]: a server
    /// sends a file of any size with memory bounded by its buffers.
    pub fn download(&self, req: &DownloadRequest) -> Result<Download> {
        if is_ignored_download(&req.debug_file, &req.debug_id, &req.file) {
            return Ok(Download::Ignored);
        }
        if has_invalid_key_chars(&req.debug_file) || has_invalid_key_chars(&req.file) {
            // Such a name can never be stored: current Tecken answers 404 without a lookup
            // (it used to answer 400), and it is not a missing symbol.
            return Ok(Download::NotFound);
        }
        let key = ObjectKey::new(&req.debug_file, &req.debug_id, &req.file)?;
        let areas = Area::search_order(req.try_symbols);
        if req.body.is_stream() {
            if let Some((area, storage_key, obj)) =
                self.find(&key, areas, |k| self.storage.get_reader(k))?
            {
                let (stream, content_encoding) =
                    self.stream_body(&key, obj.meta.is_gzip(), obj.len, obj.reader, req.body)?;
                return Ok(Download::Found(Found {
                    key,
                    area,
                    storage_key,
                    meta: obj.meta,
                    body: None,
                    stream: Some(stream),
                    content_encoding,
                }));
            }
        }
        let found = match req.body {
            BodyMode::None => self
                .find(&key, areas, |k| self.storage.head(k))?
                .map(|(area, skey, meta)| (area, skey, meta, None)),
            BodyMode::Decoded | BodyMode::Stored => self
                .find(&key, areas, |k| self.storage.get(k))?
                .map(|(area, skey, obj)| (area, skey, obj.meta, Some(obj.body))),
            // Answered above when found.
            BodyMode::DecodedStream | BodyMode::StoredStream => None,
        };
        if let Some((area, storage_key, meta, body)) = found {
            let (body, content_encoding) = match (req.body, body) {
                (BodyMode::Stored, Some(b)) => {
                    let enc = if meta.is_gzip() || (key.is_compressed() && is_gzip(&b)) {
                        Some("gzip".to_owned())
                    } else {
                        None
                    };
                    (Some(b), enc)
                }
                (BodyMode::Decoded, Some(b)) => (
                    Some(self.decode(
                        &key,
                        StoredObject {
                            meta: meta.clone(),
                            body: b,
                        },
                    )?),
                    None,
                ),
                _ => (None, None),
            };
            return Ok(Download::Found(Found {
                key,
                area,
                storage_key,
                meta,
                body,
                stream: None,
                content_encoding,
            }));
        }
        if let Some(entry) = self.lookup_code_id(&req.debug_file, &req.debug_id)? {
            return Ok(Download::Redirect(
                key.with_module(&entry.debug_file, &entry.debug_id)?,
            ));
        }
        if req.body != BodyMode::None {
            if let Some(missing) = &self.missing {
                missing.record(
                    &req.debug_file,
                    key.debug_id(),
                    req.code_file.as_deref().unwrap_or(""),
                    req.code_id.as_deref().unwrap_or(""),
                )?;
            }
        }
        Ok(Download::NotFound)
    }

    /// The index entry for `code_file`/`code_id` (any case), or `None`. Names that can
    /// never be keys are simply not found.
    pub fn lookup_code_id(&self, code_file: &str, code_id: &str) -> Result<Option<CodeIdEntry>> {
        let Ok(key) = entry_key(code_file, code_id) else {
            return Ok(None);
        };
        match self.storage.get(&key)? {
            Some(obj) => CodeIdEntry::from_json(&key, &obj.body).map(Some),
            None => Ok(None),
        }
    }

    /// The MODULE-line alias of `debug_file`/`debug_id` (see
    /// [`super::codeid::MODULE_ID_PREFIX`]), or `None`.
    pub(crate) fn lookup_module_alias(
        &self,
        debug_file: &str,
        debug_id: &str,
    ) -> Result<Option<CodeIdEntry>> {
        let Ok(key) = module_alias_key(debug_file, debug_id) else {
            return Ok(None);
        };
        match self.storage.get(&key)? {
            Some(obj) => CodeIdEntry::from_json(&key, &obj.body).map(Some),
            None => Ok(None),
        }
    }

    /// Writes the MODULE-line alias of a `.sym` stored under `key` whose MODULE line says
    /// `header`'s debug file and id, unless the same alias is there or it would re-point a
    /// regular upload's alias at a Try one. Names that can never be keys write nothing.
    pub(crate) fn put_module_alias(
        &self,
        key: &ObjectKey,
        header: &SymHeader,
        try_symbols: bool,
    ) -> Result<()> {
        let Ok(alias_key) = module_alias_key(&header.debug_file, &header.debug_id) else {
            return Ok(());
        };
        let (code_file, code_id) = match &header.code_id {
            Some(c) => (
                c.file.clone().unwrap_or_default(),
                c.id.to_ascii_uppercase(),
            ),
            None => (String::new(), String::new()),
        };
        let entry = CodeIdEntry {
            code_file,
            code_id,
            debug_file: key.debug_file().to_owned(),
            debug_id: key.debug_id().to_owned(),
            generator: header.generator.clone(),
            try_symbols,
            file: (key.file() != sym_file_name(key.debug_file())).then(|| key.file().to_owned()),
        };
        let current = self.lookup_module_alias(&header.debug_file, &header.debug_id)?;
        let try_over_regular = try_symbols && current.as_ref().is_some_and(|c| !c.try_symbols);
        if current.as_ref() == Some(&entry) || try_over_regular {
            return Ok(());
        }
        let json = entry.to_json()?;
        self.storage.put(
            &alias_key,
            &PutObject {
                content_type: Some("application/json"),
                ..PutObject::raw(&json)
            },
        )
    }

    /// Writes (or replaces) a code-id index entry.
    pub fn put_code_id(&self, entry: &CodeIdEntry) -> Result<()> {
        let json = entry.to_json()?;
        self.storage.put(
            &entry.key()?,
            &PutObject {
                content_type: Some("application/json"),
                ..PutObject::raw(&json)
            },
        )
    }

    /// The header of the `.sym` at `key` in `area` (reads its first 64 KiB), or `None` if
    /// absent.
    pub fn read_sym_header(&self, key: &ObjectKey, area: Area) -> Result<Option<SymHeader>> {
        let Some((_, _, head)) =
            self.find(key, &[area], |k| self.storage.get_prefix(k, HEADER_BYTES))?
        else {
            return Ok(None);
        };
        let text = if is_gzip(&head) {
            gunzip_prefix(&head, HEADER_BYTES * 4)
        } else {
            head
        };
        parse_header(&text)
            .map(Some)
            .map_err(|e| Error::new(e.kind(), format!("{key}: {e}")))
    }

    /// Tecken's syminfo: `file`/`id` as a code file and id (from the index), else as a
    /// debug file and id (from the `.sym` header), else as the debug file and id a `.sym`'s
    /// MODULE line says when it was uploaded under another key (its alias). `None` when
    /// none is known.
    pub fn syminfo(&self, file: &str, id: &str) -> Result<Option<SymInfo>> {
        if let Some(e) = self.lookup_code_id(file, id)? {
            let name = e
                .file
                .clone()
                .unwrap_or_else(|| sym_file_name(&e.debug_file));
            let key = ObjectKey::new(&e.debug_file, &e.debug_id, &name)?;
            let area = Area::for_upload(e.try_symbols);
            return Ok(Some(SymInfo {
                debug_filename: e.debug_file,
                debug_id: e.debug_id,
                code_file: Some(e.code_file),
                code_id: Some(e.code_id),
                generator: e.generator,
                key,
                area,
            }));
        }
        let Ok(key) = ObjectKey::for_module(file, id) else {
            return Ok(None);
        };
        let Some((area, _)) = self.locate(&key, true)? else {
            return self.syminfo_by_module_line(file, id);
        };
        let header = self.read_sym_header(&key, area)?;
        let (code_file, code_id, generator) = match header {
            Some(h) => {
                let (f, i) = match h.code_id {
                    Some(c) => (c.file, Some(c.id)),
                    None => (None, None),
                };
                (f, i, h.generator)
            }
            None => (None, None, None),
        };
        Ok(Some(SymInfo {
            debug_filename: key.debug_file().to_owned(),
            debug_id: key.debug_id().to_owned(),
            code_file,
            code_id,
            generator,
            key,
            area,
        }))
    }

    /// Syminfo through a MODULE-line alias: the `.sym` stored under another key.
    fn syminfo_by_module_line(&self, file: &str, id: &str) -> Result<Option<SymInfo>> {
        let Some(e) = self.lookup_module_alias(file, id)? else {
            return Ok(None);
        };
        let file_name = e
            .file
            .clone()
            .unwrap_or_else(|| sym_file_name(&e.debug_file));
        let stored = ObjectKey::new(&e.debug_file, &e.debug_id, &file_name)?;
        // Only answered while the file the alias names is there.
        let Some((area, _)) = self.locate(&stored, true)? else {
            return Ok(None);
        };
        let some = |s: String| (!s.is_empty()).then_some(s);
        Ok(Some(SymInfo {
            debug_filename: file.to_owned(),
            debug_id: id.to_ascii_uppercase(),
            code_file: some(e.code_file),
            code_id: some(e.code_id),
            generator: e.generator,
            key: stored,
            area,
        }))
    }

    /// Rebuilds the code-id index by reading the header of every `.sym` in both areas
    /// (regular entries win over Try ones). Needs a backend that can list.
    pub fn rebuild_code_index(&self) -> Result<RebuildReport> {
        let mut report = RebuildReport::default();
        let mut keys: Vec<(Area, ObjectKey)> = Vec::new();
        for area in [Area::Try, Area::Regular] {
            self.storage.list(area.prefix(), &mut |k, _| {
                if let Some((a, key)) = parse_storage_key(k) {
                    if a == area && key.is_sym() {
                        keys.push((a, key));
                    }
                }
                Ok(())
            })?;
        }
        for (area, key) in keys {
            report.sym_files += 1;
            let header = match self.read_sym_header(&key, area) {
                Ok(Some(h)) => h,
                Ok(None) => continue,
                Err(e) => {
                    report.failures.push((key.storage_key(area), e.to_string()));
                    continue;
                }
            };
            if let Some(entry) = code_id_entry(&key, &header, area == Area::Try) {
                self.put_code_id(&entry)?;
                report.entries += 1;
            }
            if header.debug_file != key.debug_file()
                || !header.debug_id.eq_ignore_ascii_case(key.debug_id())
            {
                self.put_module_alias(&key, &header, area == Area::Try)?;
            }
        }
        Ok(report)
    }

    /// Lists the code-id index entries' keys (for tests and tools).
    pub fn list_code_ids(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.storage.list(CODE_ID_PREFIX, &mut |k, _| {
            out.push(k.to_owned());
            Ok(())
        })?;
        out.sort();
        Ok(out)
    }
}

/// The index entry a `.sym` stored under `key` with `header` makes: only when its
/// `INFO CODE_ID` names a code file (Windows modules) that can be a key.
pub(crate) fn code_id_entry(
    key: &ObjectKey,
    header: &SymHeader,
    try_symbols: bool,
) -> Option<CodeIdEntry> {
    let code = header.code_id.as_ref()?;
    let code_file = code.file.as_deref()?;
    let entry = CodeIdEntry {
        code_file: code_file.to_owned(),
        code_id: code.id.to_ascii_uppercase(),
        debug_file: key.debug_file().to_owned(),
        debug_id: key.debug_id().to_owned(),
        generator: header.generator.clone(),
        try_symbols,
        file: (key.file() != sym_file_name(key.debug_file())).then(|| key.file().to_owned()),
    };
    entry.key().ok().map(|_| entry)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "44E4EC8C2F41492B9369D6B9A059577C2";

    #[test]
    fn body_mode_parses_the_value_modes_only() {
        assert_eq!("decoded".parse::<BodyMode>().unwrap(), BodyMode::Decoded);
        assert_eq!("stored".parse::<BodyMode>().unwrap(), BodyMode::Stored);
        assert_eq!("none".parse::<BodyMode>().unwrap(), BodyMode::None);
        for bad in ["Decoded", "", "decoded_stream", "stored_stream", "head"] {
            let e = bad.parse::<BodyMode>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.to_string().contains("\"stored\""), "{e}");
        }
    }

    #[test]
    fn download_summary_of_a_file_found_in_try_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = SymbolStore::local(dir.path()).unwrap();
        let key = ObjectKey::new("xul.pdb", ID, "xul.sym").unwrap();
        let sym = format!("MODULE windows x86_64 {ID} xul.pdb\n");
        store.put_file(&key, Area::Try, sym.as_bytes()).unwrap();
        let (_, meta) = store.locate(&key, true).unwrap().unwrap();
        let req = DownloadRequest {
            try_symbols: true,
            body: BodyMode::Stored,
            ..DownloadRequest::new("xul.pdb", ID, "xul.sym")
        };
        let d = store.download(&req).unwrap();
        let summary = d.summary();
        assert_eq!(summary.status, "found");
        assert_eq!(summary.key.as_deref(), Some(&*key.storage_key(Area::Try)));
        assert!(summary.try_symbols);
        assert_eq!(summary.size, Some(meta.size));
        assert_eq!(summary.content_type, meta.content_type);
        assert_eq!(summary.content_encoding.as_deref(), Some("gzip"));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["try"], true);
        assert_eq!(json["status"], "found");
    }

    #[test]
    fn download_summary_of_answers_without_a_file() {
        let to = ObjectKey::for_module("xul.pdb", ID).unwrap();
        let redirect = Download::Redirect(to.clone()).summary();
        assert_eq!(redirect.status, "redirect");
        assert_eq!(redirect.key, Some(to.path()));
        for (d, status) in [
            (Download::Ignored, "ignored"),
            (Download::NotFound, "not_found"),
        ] {
            assert_eq!(
                serde_json::to_value(d.summary()).unwrap(),
                json!({
                    "status": status,
                    "key": null,
                    "try": false,
                    "size": null,
                    "content_type": null,
                    "content_encoding": null,
                })
            );
        }
    }

    #[test]
    fn syminfo_serializes_its_storage_key_and_area_as_try() {
        let info = SymInfo {
            debug_filename: "xul.pdb".into(),
            debug_id: ID.into(),
            code_file: Some("xul.dll".into()),
            code_id: Some("5D7BD8F4A0A000".into()),
            generator: None,
            key: ObjectKey::for_module("xul.pdb", ID).unwrap(),
            area: Area::Try,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({
                "debug_filename": "xul.pdb",
                "debug_id": ID,
                "code_file": "xul.dll",
                "code_id": "5D7BD8F4A0A000",
                "generator": null,
                "key": format!("try/v1/xul.pdb/{ID}/xul.sym"),
                "try": true,
            })
        );
        let regular = SymInfo {
            area: Area::Regular,
            ..info
        };
        assert!(!regular.is_try());
        assert_eq!(regular.storage_key(), format!("v1/xul.pdb/{ID}/xul.sym"));
    }
}
