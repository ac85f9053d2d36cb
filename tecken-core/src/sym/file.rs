//! Reading a `.sym` file from local disk, plain or gzip-compressed.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The default bound of a decompressed `.sym`: 4 GiB, four times the largest `.sym` files
/// of Firefox (libxul with inline records, ~1 GiB).
pub const DEFAULT_MAX_SYM_BYTES: u64 = 4 << 30;

/// The bytes of a `.sym` file: a local file to memory-map, or decompressed contents.
#[derive(Debug)]
pub(crate) enum SymData {
    /// A plain (uncompressed) `.sym` file on local disk: it is memory-mapped, not read.
    File(PathBuf),
    /// The decompressed contents.
    Bytes(Vec<u8>),
}

/// The contents of the `.sym` file at `path`, decompressed if it is gzip-compressed
/// (detected by its magic bytes, whatever its name), at most [`DEFAULT_MAX_SYM_BYTES`].
///
/// Errors: [`ErrorKind::NotFound`] or [`ErrorKind::Io`] when the file cannot be read,
/// [`ErrorKind::MalformedSym`] for corrupt gzip data, [`ErrorKind::LimitExceeded`] beyond
/// the bound. Messages name the path.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let named = |e: Error| Error::new(e.kind(), format!("{}: {e}", path.display()));
    match read_maybe_gzip(path, DEFAULT_MAX_SYM_BYTES).map_err(named)? {
        SymData::Bytes(b) => Ok(b),
        SymData::File(p) => std::fs::read(&p).map_err(|e| Error::io(&p, e)),
    }
}

/// Reads a possibly gzip-compressed local file: a plain file is returned as
/// [`SymData::File`] (not read); a gzip file is decompressed, failing with
/// [`ErrorKind::LimitExceeded`] after producing `max_bytes + 1` bytes (a decompression
/// bomb costs that much, not more). Corrupt or truncated gzip data is
/// [`ErrorKind::MalformedSym`] (a property of the file, final); a failure to read the file
/// is [`ErrorKind::NotFound`] or [`ErrorKind::Io`] (maybe transient). Errors do not name
/// the path (they may reach a client); the caller says what the file is.
pub(crate) fn read_maybe_gzip(path: &Path, max_bytes: u64) -> Result<SymData> {
    let io = |e: std::io::Error| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        Error::new(kind, e.to_string())
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let f = std::fs::File::open(path).map_err(io)?;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof => {
                    Error::new(ErrorKind::MalformedSym, format!("bad gzip data: {e}"))
                }
                _ => io(e),
            })?;
        if out.len() as u64 > max_bytes {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("decompresses to more than {max_bytes} bytes"),
            ));
        }
        return Ok(SymData::Bytes(out));
    }
    Ok(SymData::File(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_files_are_left_to_map_and_gzip_is_decoded_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.sym");
        std::fs::write(&plain, b"MODULE Linux x86_64 ABC a\n").unwrap();
        assert!(matches!(read_maybe_gzip(&plain, 1).unwrap(), SymData::File(p) if p == plain));
        assert_eq!(read_file(&plain).unwrap(), b"MODULE Linux x86_64 ABC a\n");

        let gz = dir.path().join("b.sym");
        std::fs::write(&gz, gzip(&[b'x'; 1000])).unwrap();
        assert_eq!(read_file(&gz).unwrap(), vec![b'x'; 1000]);
        match read_maybe_gzip(&gz, 1000).unwrap() {
            SymData::Bytes(b) => assert_eq!(b.len(), 1000),
            SymData::File(_) => panic!("gzip must be decoded"),
        }
        let err = read_maybe_gzip(&gz, 999).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LimitExceeded);

        let mut bad = gzip(&[b'x'; 1000]);
        bad.truncate(bad.len() / 2);
        std::fs::write(&gz, bad).unwrap();
        assert_eq!(read_file(&gz).unwrap_err().kind(), ErrorKind::MalformedSym);

        let missing = read_file(&dir.path().join("nope.sym")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert!(missing.to_string().contains("nope.sym"), "{missing}");
    }
}
