//! The local-directory backend: the embedded default.
//!
//! Keys map to paths under the root (`{root}/v1/xul.pdb/ID/xul.sym`), every key checked so
//! none can leave the root. Writes go to a temporary file in the target directory, are
//! synced and renamed over the target, so readers see the old file or the whole new one;
//! they never follow a symlink below the root (see `write.rs`). A crash leaves at most a
//! `.tecken.tmp.{pid}.{n}` file, which listing skips and
//! [`LocalStore::remove_stale_temp_files`] removes ([`LocalStore::open_for_writing`] does
//! it when the store is opened).
//!
//! Error messages name storage keys, never the root: they may reach a client.
//!
//! Metadata: `Content-Encoding` is `gzip` for a `.sym` whose bytes start with the gzip
//! magic; `Content-Type` follows Tecken's rule from the extension; `original_size` and
//! `original_md5_hash` live in the gzip header (see [`super::encoding`]). Nothing else is
//! written beside the files, so `{root}/v1` is a plain symbols directory in Tecken's layout.

mod write;

use std::fs::File;
use std::io::{ErrorKind as IoKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use super::encoding::{hex, is_gzip, read_gzip_metadata};
use super::{ObjectData, ObjectMeta, ObjectReader, PutObject, Storage, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{check_storage_key, content_type, should_compress};

pub use self::write::TempCleanup;

/// How many bytes of a file [`LocalStore`] reads to learn its encoding and metadata.
const HEAD_BYTES: usize = 512;

/// A directory in Tecken's bucket layout: `{root}/v1/{debug_file}/{DEBUG_ID}/{file}` for
/// regular uploads, `{root}/try/v1/...` for Try builds, `{root}/codeid/...` for the code-id
/// index; `.sym` files gzipped, with their original size and MD5 in the gzip header. Writes
/// are atomic (a temporary file, synced and renamed).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root`, which is created if missing.
    pub fn new(root: impl Into<PathBuf>) -> Result<LocalStore> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(LocalStore { root })
    }

    /// How old a temporary file must be for [`LocalStore::open_for_writing`] to remove it:
    /// an hour. A write's temporary file is filled at once, so any file that old was left
    /// by a writer that died; a younger one may belong to a write in progress in another
    /// process.
    pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

    /// A store rooted at `root` (created if missing) that this process will write to:
    /// also removes the temporary files of interrupted writes older than
    /// [`LocalStore::STALE_TEMP_AGE`] (a writer killed mid-write leaves one). That walks
    /// the whole store, which is why [`LocalStore::new`], also used by readers, does not.
    pub fn open_for_writing(root: impl Into<PathBuf>) -> Result<LocalStore> {
        let store = LocalStore::new(root)?;
        store.remove_stale_temp_files(Self::STALE_TEMP_AGE)?;
        Ok(store)
    }

    /// Removes the temporary files of interrupted writes (`.tecken.tmp.{pid}.{n}`, and the
    /// `.{name}.tmp.{pid}.{n}` of earlier versions) anywhere under the root that were last
    /// modified at least `min_age` ago, without following symlinks. Files that cannot be
    /// removed are counted in [`TempCleanup::failed`] and left; failing to list the root
    /// is an error.
    pub fn remove_stale_temp_files(&self, min_age: Duration) -> Result<TempCleanup> {
        write::remove_stale_temp_files(&self.root, min_age)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of regular uploads, `{root}/v1`: a plain symbols tree
    /// ([`super::PlainTreeStore`] reads it, as do tools that know nothing of stores).
    pub fn symbols_dir(&self) -> PathBuf {
        self.root.join("v1")
    }

    /// The path of `key`, after checking that the key cannot leave the root.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_storage_key(key)?;
        Ok(self.root.join(key))
    }

    fn meta_of(
        key: &str,
        file_len: u64,
        modified: Option<std::time::SystemTime>,
        head: &[u8],
    ) -> ObjectMeta {
        let name = key.rsplit('/').next().unwrap_or(key);
        let gzip = should_compress(name) && is_gzip(head);
        let (original_size, original_md5) = match gzip.then(|| read_gzip_metadata(head)).flatten() {
            Some((s, m)) => (Some(s), Some(m)),
            None => (None, None),
        };
        ObjectMeta {
            size: file_len,
            content_encoding: gzip.then(|| "gzip".to_owned()),
            content_type: content_type(name).map(str::to_owned),
            original_size,
            original_md5,
            stored_md5: None,
            last_modified: modified,
        }
    }

    fn open(&self, key: &str) -> Result<Option<(PathBuf, File, std::fs::Metadata)>> {
        let path = self.path_of(key)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(key_error(key, e)),
        };
        let md = file.metadata().map_err(|e| key_error(key, e))?;
        if !md.is_file() {
            return Ok(None);
        }
        Ok(Some((path, file, md)))
    }

    /// The MD5 of the stored bytes of `key` (reads the whole file), or `None` if absent.
    pub fn stored_md5(&self, key: &str) -> Result<Option<String>> {
        let Some((_, mut file, _)) = self.open(key)? else {
            return Ok(None);
        };
        let mut md5 = Md5::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(|e| key_error(key, e))?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
        }
        Ok(Some(hex(&md5.finalize())))
    }
}

fn is_absent(e: &std::io::Error) -> bool {
    // ENOTDIR: a key component exists as a file (`v1/a` is a file, `v1/a/b` asked).
    e.kind() == IoKind::NotFound || e.raw_os_error() == Some(20)
}

/// An I/O error on `key`, named by the key rather than its path: the message may reach a
/// client, and the store's root is the server's business.
fn key_error(key: &str, err: std::io::Error) -> Error {
    let kind = if err.kind() == IoKind::NotFound {
        ErrorKind::NotFound
    } else {
        ErrorKind::Io
    };
    Error::new(kind, format!("local store: {key}: {err}")).with_source(err)
}

/// A file whose read errors name the key, not the file's path (the path is the server's
/// business; the key is what the client asked for).
struct KeyedReader {
    inner: File,
    key: String,
}

impl Read for KeyedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.key)))
    }
}

fn read_up_to(file: &mut File, key: &str, len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(1 << 20));
    file.take(len as u64)
        .read_to_end(&mut out)
        .map_err(|e| key_error(key, e))?;
    Ok(out)
}

impl Storage for LocalStore {
    fn describe(&self) -> String {
        format!("local:{}", self.root.display())
    }

    fn is_local(&self) -> bool {
        true
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let Some((_, mut file, md)) = self.open(key)? else {
            return Ok(None);
        };
        let head = read_up_to(&mut file, key, HEAD_BYTES)?;
        Ok(Some(Self::meta_of(
            key,
            md.len(),
            md.modified().ok(),
            &head,
        )))
    }

    /// The file's path, not its bytes (a local `.sym` is memory-mapped, not read).
    fn get_data(&self, key: &str) -> Result<Option<ObjectData>> {
        Ok(self.open(key)?.map(|(path, _, _)| ObjectData::File(path)))
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        let Some((_, mut file, md)) = self.open(key)? else {
            return Ok(None);
        };
        let mut body = Vec::with_capacity(md.len() as usize);
        file.read_to_end(&mut body).map_err(|e| key_error(key, e))?;
        let meta = Self::meta_of(
            key,
            body.len() as u64,
            md.modified().ok(),
            &body[..body.len().min(HEAD_BYTES)],
        );
        Ok(Some(StoredObject { meta, body }))
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        let Some((_, mut file, md)) = self.open(key)? else {
            return Ok(None);
        };
        // The metadata comes from the first bytes; then the reader starts over. The open
        // file is what is read: a concurrent replacement (a rename over the key) does not
        // change what this reader yields, and `len` is that file's length.
        let head = read_up_to(&mut file, key, HEAD_BYTES)?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| key_error(key, e))?;
        let meta = Self::meta_of(key, md.len(), md.modified().ok(), &head);
        Ok(Some(ObjectReader {
            meta,
            len: Some(md.len()),
            reader: Box::new(KeyedReader {
                inner: file,
                key: key.to_owned(),
            }),
        }))
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        let Some((_, mut file, _)) = self.open(key)? else {
            return Ok(None);
        };
        read_up_to(&mut file, key, len).map(Some)
    }

    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        check_storage_key(key)?;
        // The metadata of a compressed file is in its gzip header (written by
        // `encoding::Encoder`); refuse a compressed body that does not carry it rather than
        // store something `head` would misreport.
        if let Some((size, md5)) = object.original {
            if read_gzip_metadata(object.body).map(|(s, m)| s == size && m == md5) != Some(true) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{key}: compressed body lacks the gzip-header metadata the local store keeps"),
                ));
            }
        }
        write::write_below(&self.root, key, object.body)
    }

    fn is_writable(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        // List from the deepest whole directory named by the prefix, then filter.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        if !dir_part.is_empty() {
            check_storage_key(dir_part)?;
        }
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir_part)
        };
        let mut stack = vec![(start, dir_part.to_owned())];
        while let Some((dir, rel)) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(key_error(&rel, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| key_error(&rel, e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') && name.contains(".tmp.") {
                    continue; // an interrupted atomic write
                }
                let key = if rel.is_empty() {
                    name.to_owned()
                } else {
                    format!("{rel}/{name}")
                };
                // Never follow symlinks out of the store while listing.
                let ft = entry.file_type().map_err(|e| key_error(&key, e))?;
                if ft.is_dir() {
                    if prefix.starts_with(&format!("{key}/"))
                        || key.starts_with(prefix)
                        || prefix.is_empty()
                    {
                        stack.push((entry.path(), key));
                    }
                } else if ft.is_file() && key.starts_with(prefix) {
                    let len = entry.metadata().map_err(|e| key_error(&key, e))?.len();
                    visit(&key, len)?;
                }
            }
        }
        Ok(())
    }

    fn content_md5(&self, key: &str) -> Result<Option<String>> {
        self.stored_md5(key)
    }
}
