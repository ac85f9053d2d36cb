//! What the symbolicator reads `.sym` files through: the [`SymbolSource`] trait (which
//! every backend, the chain and [`super::SymbolStore`] implement), the key and data types,
//! and the plain-tree source [`LocalDir`].

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The storage key of a symbol file in Tecken's layout: `{debug_file}/{debug_id}/{file}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SymKey {
    /// Debug file name as requested (`xul.pdb`, `libxul.so`).
    pub debug_file: String,
    /// Debug id, upper-cased.
    pub debug_id: String,
    /// The symbol file name: `debug_file` with a trailing `.pdb` replaced by `.sym`,
    /// otherwise `.sym` appended (`xul.sym`, `libxul.so.sym`).
    pub sym_file: String,
}

impl SymKey {
    /// The key for a module's `.sym` file. Fails with [`ErrorKind::InvalidInput`] when the
    /// debug file or id could escape the layout (empty, `/`, `\`, `..`, NUL) or the id is
    /// not alphanumeric.
    pub fn for_module(debug_file: &str, debug_id: &str) -> Result<SymKey> {
        if !is_valid_debug_file(debug_file) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("invalid debug file name {debug_file:?}"),
            ));
        }
        if !is_valid_debug_id(debug_id) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("invalid debug id {debug_id:?}"),
            ));
        }
        Ok(SymKey {
            debug_file: debug_file.to_owned(),
            debug_id: debug_id.to_ascii_uppercase(),
            sym_file: sym_file_name(debug_file),
        })
    }

    /// `{debug_file}/{debug_id}/{sym_file}`.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.debug_file, self.debug_id, self.sym_file)
    }
}

use crate::keys::{is_safe_component, sym_file_name};

/// Whether a module's debug file name can be part of a key ([`SymKey::for_module`]).
pub(crate) fn is_valid_debug_file(debug_file: &str) -> bool {
    is_safe_component(debug_file)
}

/// Whether a module's debug id can be part of a key: ASCII letters and digits only.
pub(crate) fn is_valid_debug_id(debug_id: &str) -> bool {
    !debug_id.is_empty() && debug_id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The bytes of a `.sym` file, as a source delivers them.
#[derive(Debug)]
pub enum SymData {
    /// A plain (uncompressed) `.sym` file on local disk: it is memory-mapped, not read.
    File(PathBuf),
    /// The decompressed contents.
    Bytes(Vec<u8>),
}

/// A place `.sym` files come from: a local directory, S3, a Tecken HTTP server, a chain.
pub trait SymbolSource: Send + Sync + std::fmt::Debug {
    /// Fetches the `.sym` file for `key`, decompressed. `Ok(None)` means not found (a final
    /// answer, which the symbolicator may cache); `Err` means a transient failure (never
    /// cached).
    fn fetch(&self, key: &SymKey) -> Result<Option<SymData>>;

    /// [`SymbolSource::fetch`], refusing a `.sym` that decompresses to more than
    /// `max_bytes` with [`ErrorKind::LimitExceeded`]. Sources that decompress should
    /// override it to stop at the limit; this default checks the size of what `fetch`
    /// returned.
    fn fetch_limited(&self, key: &SymKey, max_bytes: u64) -> Result<Option<SymData>> {
        let data = self.fetch(key)?;
        if let Some(SymData::Bytes(b)) = &data {
            if b.len() as u64 > max_bytes {
                return Err(too_large(&key.path(), max_bytes));
            }
        }
        Ok(data)
    }

    /// A short description for logs (`local:/srv/symbols`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
}

/// A local directory in Tecken's layout `{debug_file}/{debug_id}/{sym_file}`.
///
/// Debug ids are matched case-insensitively (the canonical upper-case directory first, then
/// a scan of the debug file's directory). A `.sym` may be stored gzip-compressed (detected
/// by its magic bytes, whatever its name).
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// A source reading `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalDir {
        LocalDir { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn find(&self, key: &SymKey) -> Option<PathBuf> {
        let dir = self.root.join(&key.debug_file);
        let exact = dir.join(&key.debug_id).join(&key.sym_file);
        if exact.is_file() {
            return Some(exact);
        }
        // Case-insensitive match of the id directory (uploads by older tools kept the case
        // they were given).
        let entries = std::fs::read_dir(&dir).ok()?;
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().eq_ignore_ascii_case(&key.debug_id) {
                let p = e.path().join(&key.sym_file);
                if p.is_file() {
                    return Some(p);
                }
            }
        }
        None
    }
}

/// The default bound of a decompressed `.sym`: 4 GiB, four times the largest `.sym` files
/// of Firefox (libxul with inline records, ~1 GiB).
pub const DEFAULT_MAX_SYM_BYTES: u64 = 4 << 30;

fn too_large(what: &str, max_bytes: u64) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("{what}: decompresses to more than {max_bytes} bytes"),
    )
}

/// Reads a possibly gzip-compressed file: plain files are returned as [`SymData::File`].
/// A gzip file may decompress to at most [`DEFAULT_MAX_SYM_BYTES`].
pub fn read_maybe_gzip(path: &Path) -> Result<SymData> {
    read_maybe_gzip_limited(path, DEFAULT_MAX_SYM_BYTES)
}

/// [`read_maybe_gzip`] with a bound on the decompressed size: a gzip file that inflates to
/// more than `max_bytes` fails with [`ErrorKind::LimitExceeded`] after producing
/// `max_bytes + 1` bytes (a decompression bomb costs that much, not more). Corrupt or
/// truncated gzip data is [`ErrorKind::MalformedSym`] (a property of the file, final); a
/// failure to read the file is [`ErrorKind::Io`] (maybe transient).
pub fn read_maybe_gzip_limited(path: &Path, max_bytes: u64) -> Result<SymData> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof => Error::new(
                    ErrorKind::MalformedSym,
                    format!("{}: bad gzip data: {e}", path.display()),
                ),
                _ => Error::io(path, e),
            })?;
        if out.len() as u64 > max_bytes {
            return Err(too_large(&path.display().to_string(), max_bytes));
        }
        return Ok(SymData::Bytes(out));
    }
    Ok(SymData::File(path.to_owned()))
}

impl SymbolSource for LocalDir {
    fn fetch(&self, key: &SymKey) -> Result<Option<SymData>> {
        self.fetch_limited(key, DEFAULT_MAX_SYM_BYTES)
    }

    fn fetch_limited(&self, key: &SymKey, max_bytes: u64) -> Result<Option<SymData>> {
        match self.find(key) {
            Some(path) => read_maybe_gzip_limited(&path, max_bytes).map(Some),
            None => Ok(None),
        }
    }

    fn describe(&self) -> String {
        format!("local:{}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sym_file_rule() {
        assert_eq!(sym_file_name("xul.pdb"), "xul.sym");
        assert_eq!(sym_file_name("libxul.so"), "libxul.so.sym");
        assert_eq!(sym_file_name("XUL"), "XUL.sym");
        assert_eq!(sym_file_name("a.PDB"), "a.PDB.sym");
    }

    #[test]
    fn unsafe_keys_rejected() {
        for f in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
            assert!(SymKey::for_module(f, "ABC").is_err(), "{f:?}");
        }
        assert!(SymKey::for_module("x.so", "AB-C").is_err());
        assert_eq!(
            SymKey::for_module("x.so", "abc").unwrap().path(),
            "x.so/ABC/x.so.sym"
        );
    }
}
