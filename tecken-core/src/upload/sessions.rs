//! Tecken's upload API version 2, served from a [`SymbolStore`]: one resumable upload
//! session per file.
//!
//! Mozilla's `upload-symbols` client uses it when `/upload/auth_info/` announces version 2:
//!
//! 1. `POST /upload/v2/` with `{"files": [{"key", "size", "md5_hash"}, ...]}` (a batch of
//!    128 by default). The answer gives each file an action: `skip` (stored already with
//!    the same size and MD5, Tecken's dedup), `error` (the key breaks an upload rule: the
//!    message is the one an archive member with that name gets), or `upload` with a
//!    session URL. [`UploadSessions::start`].
//! 2. `PUT {session URL}` with `Content-Range: bytes FIRST-LAST/TOTAL`, once per chunk
//!    (16 MiB by default), without the token: the URL is the credential, as a Google Cloud
//!    Storage session URL is (Tecken hands those out). An incomplete upload is answered
//!    `308` with `Range: bytes=0-N` (what is stored so far), the last chunk `200` with the
//!    object. [`UploadSessions::begin`], [`ChunkWriter`].
//!
//! Unlike a bucket, the last chunk is where Tecken's rules run: the data must have the MD5
//! the client declared, and is then stored exactly as the same file inside an upload
//! archive would be (gzip and metadata for a `.sym`, the header report, the code-id entry,
//! dedup). A failure to store keeps the session, so the client's retry of the last chunk
//! finishes it; a retry after success answers the same object again.
//!
//! # The session directory
//!
//! A session is `{id}.json` (the file's key, size, MD5 and area, written atomically; its
//! modification time is the session's start) and `{id}.part` (the bytes so far); a
//! finished one leaves `{id}.done` (what was stored) until it expires. The id is 128 bits from the operating system's random
//! generator. Every chunk holds an exclusive lock on the `.part` file, so processes sharing
//! the directory (a Django app's workers) can serve one session's chunks; a chunk that
//! finds the lock taken is refused with a 503 (which the client retries) rather than
//! left waiting. Sessions and records older than [`SessionLimits::ttl`] are removed by
//! [`UploadSessions::sweep`], which [`UploadSessions::start`] runs at most once a minute.
//!
//! # Limits
//!
//! A file's declared size is at most [`UploadLimits::max_member_size`] (the limit of one
//! archive member), and no chunk writes past it; a request names at most
//! [`SessionLimits::max_files`] files; at most [`SessionLimits::max_open`] sessions are
//! open at once (then the answer is 429, which the client retries).
//!
//! [`UploadLimits::max_member_size`]: super::UploadLimits::max_member_size

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::options::UploadOptions;
use super::report::UploadResult;
use super::rules;
use super::writer;
use crate::error::{Error, ErrorKind, Result};
use crate::fsutil::write_file_atomic;
use crate::keys::{Area, ObjectKey};
use crate::store::encoding::hex;
use crate::store::SymbolStore;

/// The limits of an [`UploadSessions`] directory.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Files one [`UploadSessions::start`] may name (the upload client sends 128).
    /// Default 1,000.
    pub max_files: usize,
    /// Sessions open at once in the directory. Default 10,000.
    pub max_open: usize,
    /// How long a session, and the record of a finished one, is kept. Default 24 hours.
    pub ttl: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_files: 1000,
            max_open: 10_000,
            ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// One file of a `POST /upload/v2/` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// `{debug_file}/{debug_id}/{file}`, as in an upload archive.
    pub key: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The MD5 of its bytes, hex.
    pub md5_hash: String,
}

/// What the client is to do with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// Send it to the session with this id.
    Upload {
        /// The session id (32 lower-case hex digits), the last part of its URL.
        session: String,
    },
    /// Stored already with the same size and MD5.
    Skip,
    /// Refused, with Tecken's message for an archive member of that name.
    Error(String),
}

/// A file of the request and its action, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpload {
    /// The key as the client sent it.
    pub key: String,
    /// What to do with it.
    pub action: FileAction,
}

/// A file whose upload finished: what [`ChunkWriter::finish`] answers for the last chunk
/// (and again for a repeat of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedUpload {
    /// The key as the client sent it.
    pub key: String,
    /// Where it is stored (`v1/...` or `try/v1/...`).
    pub storage_key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The MD5 of its bytes, lower-case hex.
    pub md5: String,
    /// Whether it was stored already with the same size and MD5 (nothing was written).
    pub skipped: bool,
    /// Whether it went to the Try area.
    pub try_symbols: bool,
}

impl CompletedUpload {
    /// The MD5 as Google Cloud Storage reports an object's (`md5Hash`: base64 of the 16
    /// bytes).
    pub fn md5_base64(&self) -> String {
        let bytes: Vec<u8> = (0..self.md5.len() / 2)
            .filter_map(|i| u8::from_str_radix(self.md5.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        base64(&bytes)
    }
}

/// What a chunk did.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkOutcome {
    /// More is expected; `received` bytes (from the start) are stored. Answer `308` with
    /// `Range: bytes=0-{received - 1}` (no `Range` when 0).
    Incomplete {
        /// Bytes stored so far.
        received: u64,
    },
    /// The file is complete and stored. `result` is the upload's report (`None` when this
    /// repeats a finished session's last chunk).
    Complete {
        /// The file.
        file: CompletedUpload,
        /// The report, as [`upload_archive`](super::upload_archive) gives for an archive.
        result: Option<Box<UploadResult>>,
    },
}

/// A `Content-Range` header of a chunk: `bytes FIRST-LAST/TOTAL`, `bytes */TOTAL` (a
/// status query, no data) or `bytes FIRST-LAST/*` (total not known yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first and last byte of the chunk, inclusive; `None` for `*`.
    pub range: Option<(u64, u64)>,
    /// The whole file's size; `None` for `*`.
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parses the header's value.
    pub fn parse(value: &str) -> Result<ContentRange> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidInput,
                format!("bad Content-Range {value:?}: expected \"bytes FIRST-LAST/TOTAL\""),
            )
        };
        let rest = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
        let (range, total) = rest.split_once('/').ok_or_else(bad)?;
        let num = |s: &str| -> Result<u64> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let total = match total.trim() {
            "*" => None,
            t => Some(num(t)?),
        };
        let range = match range.trim() {
            "*" => None,
            r => {
                let (a, b) = r.split_once('-').ok_or_else(bad)?;
                let (a, b) = (num(a)?, num(b)?);
                if b < a || total.is_some_and(|t| b >= t) {
                    return Err(bad());
                }
                Some((a, b))
            }
        };
        if range.is_none() && total.is_none() {
            return Err(bad());
        }
        Ok(ContentRange { range, total })
    }
}

/// A session's record, `{id}.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionMeta {
    key: String,
    size: u64,
    md5: String,
    try_symbols: bool,
}

/// A directory of upload sessions. Cheap to create; processes may share the directory.
#[derive(Debug)]
pub struct UploadSessions {
    dir: PathBuf,
    limits: SessionLimits,
}

/// How often [`UploadSessions::start`] sweeps expired sessions.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Session files end with these.
const META: &str = ".json";
const PART: &str = ".part";
const DONE: &str = ".done";

impl UploadSessions {
    /// Sessions in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>, limits: SessionLimits) -> Result<UploadSessions> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(UploadSessions { dir, limits })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The limits.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    fn path(&self, id: &str, suffix: &str) -> PathBuf {
        session_path(&self.dir, id, suffix)
    }

    /// Decides each file's action and opens a session for each file to upload: the body
    /// of `POST /upload/v2/`. The rules are an archive member's (`options`: its
    /// disallowed snippets, `limits.max_member_size`, `try_symbols` for the area).
    ///
    /// Fails for a read-only store ([`ErrorKind::InvalidInput`], before any session is
    /// opened), for a request naming more than [`SessionLimits::max_files`] files
    /// ([`ErrorKind::LimitExceeded`]), with [`ErrorKind::LimitExceeded`] and status 429
    /// when the directory holds [`SessionLimits::max_open`] open sessions, and for
    /// storage errors; a bad file gets its own [`FileAction::Error`].
    pub fn start(
        &self,
        store: &SymbolStore,
        files: &[FileSpec],
        options: &UploadOptions,
    ) -> Result<Vec<PlannedUpload>> {
        if files.len() > self.limits.max_files {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Too many files in one request: {} (at most {})",
                    files.len(),
                    self.limits.max_files
                ),
            ));
        }
        if !store.storage().is_writable() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is read-only: uploads need a writable store",
                    store.storage().describe()
                ),
            ));
        }
        if self.sweep_due() {
            self.sweep()?;
        }
        let area = Area::for_upload(options.try_symbols);
        let mut seen: HashSet<ObjectKey> = HashSet::new();
        let mut planned = Vec::with_capacity(files.len());
        let mut to_open = Vec::new();
        for spec in files {
            let action = match self.check(store, spec, area, options, &mut seen)? {
                Some(action) => action,
                None => {
                    to_open.push(planned.len());
                    FileAction::Skip // replaced below once the session exists
                }
            };
            planned.push(PlannedUpload {
                key: spec.key.clone(),
                action,
            });
        }
        if !to_open.is_empty() {
            let open = self.open_count()?;
            if open + to_open.len() > self.limits.max_open {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "Too many upload sessions open ({open}, at most {}); try again later",
                        self.limits.max_open
                    ),
                )
                .with_status(429));
            }
        }
        for i in to_open {
            let spec = &files[i];
            let id = new_session_id()?;
            let meta = SessionMeta {
                key: spec.key.clone(),
                size: spec.size,
                md5: spec.md5_hash.to_ascii_lowercase(),
                try_symbols: options.try_symbols,
            };
            let part = self.path(&id, PART);
            File::create(&part).map_err(|e| Error::io(&part, e))?;
            let json = serde_json::to_vec(&meta)
                .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
            write_file_atomic(&self.path(&id, META), &json)?;
            planned[i].action = FileAction::Upload { session: id };
        }
        Ok(planned)
    }

    /// One file's action when it is not an upload (`None`: open a session).
    fn check(
        &self,
        store: &SymbolStore,
        spec: &FileSpec,
        area: Area,
        options: &UploadOptions,
        seen: &mut HashSet<ObjectKey>,
    ) -> Result<Option<FileAction>> {
        let refuse = |msg: String| Ok(Some(FileAction::Error(msg)));
        if let Err(e) = rules::check_listing(&spec.key, &options.disallowed_snippets) {
            return refuse(e.message().to_owned());
        }
        if rules::is_ignored_member(&spec.key) {
            return Ok(Some(FileAction::Skip));
        }
        let key = match ObjectKey::parse(&spec.key) {
            Ok(k) => k,
            Err(e) => return refuse(e.message().to_owned()),
        };
        if spec.md5_hash.len() != 32 || !spec.md5_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return refuse(format!("md5_hash of {:?} is not 32 hex digits", spec.key));
        }
        if spec.size > options.limits.max_member_size {
            return refuse(format!(
                "File {:?} is {} bytes, more than the limit of {}",
                spec.key, spec.size, options.limits.max_member_size
            ));
        }
        if !seen.insert(key.clone()) {
            return refuse(format!(
                "{:?} names a file already named in this request",
                spec.key
            ));
        }
        let storage = store.storage();
        if let Some((_, skey, meta)) = store.find(&key, &[area], |k| storage.head(k))? {
            let stored = writer::md5_to_compare(
                storage.as_ref(),
                &skey,
                &meta,
                key.is_compressed(),
                spec.size,
            )?;
            // A raw file whose digest the backend cannot tell: sizes decide, as in Tecken.
            if stored.is_some_and(|m| m.is_empty() || m.eq_ignore_ascii_case(&spec.md5_hash)) {
                return Ok(Some(FileAction::Skip));
            }
        }
        Ok(None)
    }

    /// Opens session `id` for one `PUT` with the `Content-Range` header value `range`:
    /// the returned writer takes the body ([`ChunkWriter::write`]) and then stores the
    /// file if it is complete ([`ChunkWriter::finish`]). It holds the session's lock until
    /// dropped.
    ///
    /// Fails with [`ErrorKind::NotFound`] for an unknown or expired session,
    /// [`ErrorKind::InvalidInput`] for a bad range or one whose total is not the declared
    /// size, and with status 503 while another writer holds the session.
    pub fn begin(&self, id: &str, range: &str) -> Result<ChunkWriter> {
        if !is_session_id(id) {
            return Err(no_session());
        }
        let range = ContentRange::parse(range)?;
        let part_path = self.path(id, PART);
        let locked = loop {
            let file = match File::options().read(true).write(true).open(&part_path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break None,
                Err(e) => return Err(Error::io(&part_path, e)),
            };
            // Another request is writing this session (its client sent two chunks at
            // once, or a retry overtook a slow chunk): refused at once, not waited for, so
            // a slow body cannot pin a second thread. 503, which the client retries.
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        "The upload session is receiving another chunk; try again",
                    )
                    .with_status(503))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&part_path, e)),
            }
            // Finished or swept before we locked it: the name is gone (or is another file).
            if crate::fsutil::still_names(&part_path, &file) {
                break Some(file);
            }
        };
        let Some(file) = locked else {
            return match self.done_record(id)? {
                Some(done) => Ok(ChunkWriter {
                    dir: self.dir.clone(),
                    id: id.to_owned(),
                    state: WriterState::Done(done),
                }),
                None => Err(no_session()),
            };
        };
        let meta = self.meta(id)?.ok_or_else(no_session)?;
        if range.total.is_some_and(|t| t != meta.size) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "Content-Range total {} is not the size declared for {:?} ({})",
                    range.total.unwrap_or(0),
                    meta.key,
                    meta.size
                ),
            ));
        }
        let have = file.metadata().map_err(|e| Error::io(&part_path, e))?.len();
        let (pos, end) = match range.range {
            // Data that starts past what we hold cannot be placed: nothing is written and
            // the answer says where to resume, as a resumable-upload server does.
            Some((first, _)) if first > have => (have, have),
            Some((first, last)) => {
                if last >= meta.size {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "Content-Range ends past the declared size of {:?} ({})",
                            meta.key, meta.size
                        ),
                    ));
                }
                (first, last + 1)
            }
            None => (have, have),
        };
        let discard = range.range.is_none_or(|(first, _)| first > have);
        let mut file = file;
        if !discard {
            // A chunk sent again (its answer was lost) replaces what followed its start.
            file.set_len(pos).map_err(|e| Error::io(&part_path, e))?;
            file.seek(SeekFrom::Start(pos))
                .map_err(|e| Error::io(&part_path, e))?;
        }
        Ok(ChunkWriter {
            dir: self.dir.clone(),
            id: id.to_owned(),
            state: WriterState::Open {
                file,
                meta,
                pos,
                end,
                discard,
            },
        })
    }

    /// [`UploadSessions::begin`], the whole body from `body`, then
    /// [`ChunkWriter::finish`].
    pub fn put_chunk(
        &self,
        store: &SymbolStore,
        id: &str,
        range: &str,
        body: &mut dyn Read,
        options: &UploadOptions,
    ) -> Result<ChunkOutcome> {
        let mut w = self.begin(id, range)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = body.read(&mut buf).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot read the chunk: {e}"),
                )
            })?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n])?;
        }
        w.finish(store, options)
    }

    fn meta(&self, id: &str) -> Result<Option<SessionMeta>> {
        let path = self.path(id, META);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn done_record(&self, id: &str) -> Result<Option<CompletedUpload>> {
        let path = self.path(id, DONE);
        match std::fs::read(&path) {
            Ok(b) => Ok(serde_json::from_slice(&b).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// The number of open sessions.
    pub fn open_count(&self) -> Result<usize> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        Ok(entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(META))
                    .is_some_and(is_session_id)
            })
            .count())
    }

    fn sweep_due(&self) -> bool {
        crate::fsutil::marker_due(&self.dir.join(".swept"), SWEEP_EVERY)
    }

    /// Removes sessions and finished-session records older than [`SessionLimits::ttl`]
    /// (a session in use by a chunk is left alone), and temporary files of interrupted
    /// writes. Returns the number of sessions and records removed.
    pub fn sweep(&self) -> Result<usize> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(md) = entry.metadata() else { continue };
            let old = md
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= self.limits.ttl);
            if !old {
                continue;
            }
            if let Some(id) = name.strip_suffix(META).filter(|id| is_session_id(id)) {
                let part = self.path(id, PART);
                // Not while a chunk holds it; the lock is dropped with the file.
                let file = match File::options().write(true).open(&part) {
                    Ok(f) => Some(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(_) => continue,
                };
                if let Some(f) = &file {
                    if f.try_lock().is_err() {
                        continue;
                    }
                }
                let _ = std::fs::remove_file(&part);
                let _ = std::fs::remove_file(entry.path());
                removed += 1;
            } else if name.strip_suffix(DONE).is_some_and(is_session_id)
                || crate::fsutil::temp_target(name).is_some()
            {
                let _ = std::fs::remove_file(entry.path());
                removed += 1;
            } else if let Some(id) = name.strip_suffix(PART).filter(|id| is_session_id(id)) {
                // A `.part` without its record (a start interrupted between the two).
                if !self.path(id, META).exists() {
                    let _ = std::fs::remove_file(entry.path());
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// The state of a [`ChunkWriter`].
#[derive(Debug)]
enum WriterState {
    Open {
        file: File,
        meta: SessionMeta,
        /// Where the next byte goes.
        pos: u64,
        /// The end of the chunk (exclusive).
        end: u64,
        /// The chunk cannot be placed (or is a status query): its bytes are not written.
        discard: bool,
    },
    /// The session finished earlier: the chunk repeats its last one.
    Done(CompletedUpload),
}

/// One chunk of a session being received; holds the session's lock until dropped.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    id: String,
    state: WriterState,
}

fn session_path(dir: &Path, id: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{id}{suffix}"))
}

impl ChunkWriter {
    /// Appends the next piece of the chunk's body. Fails with [`ErrorKind::InvalidInput`]
    /// when the body runs past the chunk's `Content-Range`.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let WriterState::Open {
            file,
            pos,
            end,
            discard,
            ..
        } = &mut self.state
        else {
            return Ok(());
        };
        if *discard {
            return Ok(());
        }
        if data.len() as u64 > *end - *pos {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the chunk's body is longer than its Content-Range",
            ));
        }
        file.write_all(data)
            .map_err(|e| Error::io(session_path(&self.dir, &self.id, PART), e))?;
        *pos += data.len() as u64;
        Ok(())
    }

    /// Ends the chunk: [`ChunkOutcome::Incomplete`] while bytes are missing; once all are
    /// there, checks the MD5 the client declared and stores the file (a mismatch removes
    /// the session and fails with [`ErrorKind::InvalidInput`]; a storage failure keeps it,
    /// so the client's retry of the last chunk finishes it).
    pub fn finish(self, store: &SymbolStore, options: &UploadOptions) -> Result<ChunkOutcome> {
        let dir = self.dir;
        let id = self.id;
        let path = |suffix: &str| session_path(&dir, &id, suffix);
        let (file, meta) = match self.state {
            WriterState::Done(done) => {
                return Ok(ChunkOutcome::Complete {
                    file: done,
                    result: None,
                })
            }
            WriterState::Open { file, meta, .. } => (file, meta),
        };
        let part = path(PART);
        let received = file.metadata().map_err(|e| Error::io(&part, e))?.len();
        if received < meta.size {
            return Ok(ChunkOutcome::Incomplete { received });
        }
        let md5 = file_md5(&file, meta.size).map_err(|e| Error::io(&part, e))?;
        if md5 != meta.md5 {
            let _ = std::fs::remove_file(path(META));
            let _ = std::fs::remove_file(&part);
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "The data of {:?} has MD5 {md5}, not the declared {}; upload it again",
                    meta.key, meta.md5
                ),
            ));
        }
        let key = ObjectKey::parse(&meta.key)?;
        let area = Area::for_upload(meta.try_symbols);
        let outcome = writer::store_file(store, &file, &meta.key, key, meta.size, area, options)?;
        let done = CompletedUpload {
            key: meta.key.clone(),
            storage_key: outcome.file.key.clone(),
            size: meta.size,
            md5,
            skipped: outcome.skipped,
            try_symbols: meta.try_symbols,
        };
        let record = serde_json::to_vec(&done)
            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        write_file_atomic(&path(DONE), &record)?;
        // The record first, then the session: a chunk waiting on the lock finds the record.
        let _ = std::fs::remove_file(path(META));
        let _ = std::fs::remove_file(&part);
        drop(file);
        let mut result = UploadResult {
            try_symbols: meta.try_symbols,
            archive_size: meta.size,
            ..UploadResult::default()
        };
        if outcome.skipped {
            result.skipped.push(outcome.file);
        } else {
            result.uploaded.push(outcome.file);
        }
        result.symbols.extend(outcome.sym);
        Ok(ChunkOutcome::Complete {
            file: done,
            result: Some(Box::new(result)),
        })
    }
}

fn no_session() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "No such upload session (unknown, finished long ago, or expired)",
    )
}

/// Whether `s` is a session id: 32 lower-case hex digits (anything else never names a
/// file here).
fn is_session_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn new_session_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("no random numbers for a session id: {e}"),
        )
    })?;
    Ok(hex(&b))
}

/// The MD5 of the first `len` bytes of `f`, lower-case hex.
fn file_md5(f: &File, len: u64) -> std::io::Result<String> {
    let mut md5 = Md5::new();
    let mut reader: &File = f;
    reader.seek(SeekFrom::Start(0))?;
    let mut limited = reader.take(len);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(hex(&md5.finalize()))
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        let r = |s: &str| ContentRange::parse(s).map_err(|e| e.kind());
        assert_eq!(
            r("bytes 0-9/100"),
            Ok(ContentRange {
                range: Some((0, 9)),
                total: Some(100)
            })
        );
        assert_eq!(
            r("bytes */100"),
            Ok(ContentRange {
                range: None,
                total: Some(100)
            })
        );
        assert_eq!(
            r("bytes 5-5/*"),
            Ok(ContentRange {
                range: Some((5, 5)),
                total: None
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes */*",
            "bytes 9-0/100",
            "bytes 0-100/100",
            "bytes -1-5/10",
            "bytes 0-5",
            "items 0-5/10",
            "bytes 0-99999999999999999999/10",
            "bytes +1-5/10",
        ] {
            assert_eq!(r(bad), Err(ErrorKind::InvalidInput), "{bad:?}");
        }
    }

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        // GCS's md5Hash of the empty object.
        let done = CompletedUpload {
            key: String::new(),
            storage_key: String::new(),
            size: 0,
            md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
            skipped: false,
            try_symbols: false,
        };
        assert_eq!(done.md5_base64(), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn session_ids_are_32_lower_case_hex_digits() {
        let a = new_session_id().unwrap();
        let b = new_session_id().unwrap();
        assert!(is_session_id(&a) && is_session_id(&b));
        assert_ne!(a, b);
        for bad in [
            "",
            "../etc/passwd",
            &a.to_uppercase(),
            &a[1..],
            &format!("{a}0"),
        ] {
            assert!(!is_session_id(bad), "{bad:?}");
        }
    }
}
