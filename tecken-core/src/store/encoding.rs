//! How files are encoded in storage: Tecken's rules, plus where the local store keeps
//! its metadata.
//!
//! A `.sym` is stored gzip-compressed with `Content-Encoding: gzip`, `Content-Type:
//! text/plain` and two metadata entries, `original_size` (decimal) and
//! `original_md5_hash` (lower-case hex), exactly as Tecken writes them; other files are
//! stored as they are. Readers accept a `.sym` stored either way (old uploads and other
//! tools store them plain).
//!
//! A file system has no per-file metadata, so the local store keeps the two entries inside
//! the gzip header itself, in an `FEXTRA` subfield (RFC 1952 §2.3.1.1) with id `Tk`:
//!
//! ```text
//! 'T' 'k' LEN(u16 LE) "original_size=" 20 decimal digits ";original_md5_hash=" 32 hex digits
//! ```
//!
//! Every gzip reader skips `FEXTRA`, so the file is still a plain `.sym.gz` to `zcat`,
//! Python's `gzip` and a plain tree over `v1/` ([`super::PlainTreeStore`]), and the metadata can never
//! disagree with the data (one file, one atomic rename; a sidecar could). The width is
//! fixed so that the encoder can stream the data and patch the digest in afterwards.

use std::io::{Read, Write};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use md5::{Digest, Md5};

use crate::error::{Error, ErrorKind, Result};

/// The gzip magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const EXTRA_ID: [u8; 2] = *b"Tk";
const SIZE_FIELD: &str = "original_size=";
const MD5_FIELD: &str = ";original_md5_hash=";
const EXTRA_DATA_LEN: usize = SIZE_FIELD.len() + 20 + MD5_FIELD.len() + 32;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The MD5 of `bytes` as lower-case hex (what Tecken stores as `original_md5_hash`).
#[cfg(test)]
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// Whether `body` starts with the gzip magic.
pub fn is_gzip(body: &[u8]) -> bool {
    body.len() >= 2 && body[..2] == GZIP_MAGIC
}

/// A file ready to be stored: its stored bytes and what goes with them.
#[derive(Debug, Clone, Default)]
pub struct EncodedFile {
    /// The bytes to store (gzip for a `.sym`).
    pub body: Vec<u8>,
    /// `Some("gzip")` when `body` is gzip-compressed.
    pub content_encoding: Option<&'static str>,
    /// `Content-Type`, when Tecken sets one.
    pub content_type: Option<&'static str>,
    /// Size of the original (uncompressed) file.
    pub original_size: u64,
    /// MD5 of the original file, lower-case hex.
    pub original_md5: String,
    /// The first bytes of the original file (enough for a `.sym` header).
    pub head: Vec<u8>,
}

enum Sink {
    // Boxed: the encoder state is large next to a `Vec`.
    Gzip(Box<GzEncoder<Vec<u8>>>),
    Raw(Vec<u8>),
}

/// Streams one file into its stored form: counts, hashes, keeps the first `head_len`
/// bytes, and gzips (for a `.sym`) or copies it. Memory use is the stored size.
pub struct Encoder {
    sink: Sink,
    md5: Md5,
    size: u64,
    head: Vec<u8>,
    head_len: usize,
    content_type: Option<&'static str>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for the file `file_name` (its extension decides compression, see
    /// [`crate::keys::should_compress`]). `level` is the gzip level (0-9); `capacity` a hint
    /// of the stored size.
    pub fn new(file_name: &str, level: u32, head_len: usize, capacity: usize) -> Encoder {
        let sink = if crate::keys::should_compress(file_name) {
            let mut extra = Vec::with_capacity(4 + EXTRA_DATA_LEN);
            extra.extend_from_slice(&EXTRA_ID);
            extra.extend_from_slice(&(EXTRA_DATA_LEN as u16).to_le_bytes());
            extra.resize(4 + EXTRA_DATA_LEN, b'0');
            Sink::Gzip(Box::new(GzBuilder::new().extra(extra).write(
                Vec::with_capacity(capacity),
                Compression::new(level.min(9)),
            )))
        } else {
            Sink::Raw(Vec::with_capacity(capacity))
        };
        Encoder {
            sink,
            md5: Md5::new(),
            size: 0,
            head: Vec::new(),
            head_len,
            content_type: crate::keys::content_type(file_name),
        }
    }

    /// Finishes the stored form.
    pub fn finish(self) -> Result<EncodedFile> {
        let original_md5 = hex(&self.md5.finalize());
        let (body, content_encoding) = match self.sink {
            Sink::Raw(v) => (v, None),
            Sink::Gzip(gz) => {
                let mut body = gz
                    .finish()
                    .map_err(|e| Error::new(ErrorKind::Internal, format!("gzip failed: {e}")))?;
                patch_extra(&mut body, self.size, &original_md5)?;
                (body, Some("gzip"))
            }
        };
        Ok(EncodedFile {
            body,
            content_encoding,
            content_type: self.content_type,
            original_size: self.size,
            original_md5,
            head: self.head,
        })
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match &mut self.sink {
            Sink::Gzip(gz) => gz.write(buf)?,
            Sink::Raw(v) => {
                v.extend_from_slice(buf);
                buf.len()
            }
        };
        let done = &buf[..n];
        self.md5.update(done);
        self.size += n as u64;
        if self.head.len() < self.head_len {
            let take = (self.head_len - self.head.len()).min(done.len());
            self.head.extend_from_slice(&done[..take]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes a whole file held in memory (see [`Encoder`]).
pub fn encode(file_name: &str, data: &[u8], level: u32) -> Result<EncodedFile> {
    let mut enc = Encoder::new(file_name, level, 64 * 1024, data.len() / 4 + 64);
    enc.write_all(data)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("encoding failed: {e}")))?;
    enc.finish()
}

fn patch_extra(body: &mut [u8], size: u64, md5: &str) -> Result<()> {
    // Header: magic(2) CM FLG MTIME(4) XFL OS, then XLEN(2) and our subfield.
    let start = 10 + 2 + 4;
    let data = format!("{SIZE_FIELD}{size:020}{MD5_FIELD}{md5}");
    if body.len() < start + EXTRA_DATA_LEN
        || data.len() != EXTRA_DATA_LEN
        || body[12..14] != EXTRA_ID
    {
        return Err(Error::new(
            ErrorKind::Internal,
            "gzip header is not the one written",
        ));
    }
    body[start..start + EXTRA_DATA_LEN].copy_from_slice(data.as_bytes());
    Ok(())
}

/// The `(original_size, original_md5_hash)` kept in a gzip header by [`Encoder`], read from
/// the first bytes of a file. `None` when the bytes are not gzip or carry no such field.
pub fn read_gzip_metadata(head: &[u8]) -> Option<(u64, String)> {
    const FEXTRA: u8 = 0x04;
    if head.len() < 12 || !is_gzip(head) || head[3] & FEXTRA == 0 {
        return None;
    }
    let xlen = u16::from_le_bytes([head[10], head[11]]) as usize;
    let mut extra = head.get(12..12 + xlen)?;
    while extra.len() >= 4 {
        let len = u16::from_le_bytes([extra[2], extra[3]]) as usize;
        let data = extra.get(4..4 + len)?;
        if extra[..2] == EXTRA_ID {
            let text = std::str::from_utf8(data).ok()?;
            let rest = text.strip_prefix(SIZE_FIELD)?;
            let (size, md5) = rest.split_once(MD5_FIELD)?;
            return Some((size.parse().ok()?, md5.to_owned()));
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Decompresses a gzip body, refusing to produce more than `limit` bytes (a stored object
/// is not trusted more than an upload).
pub fn gunzip(body: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit as usize));
    flate2::read::MultiGzDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::new(ErrorKind::MalformedSym, format!("bad gzip data: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("stored object decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// Decompresses the first bytes of a gzip stream as far as they go (for reading a `.sym`
/// header from a ranged read). Returns at most `max` bytes.
pub fn gunzip_prefix(body: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(body);
    let mut buf = [0u8; 16 * 1024];
    while out.len() < max {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sym_is_gzipped_with_metadata_in_header() {
        let data = b"MODULE Linux x86_64 ABC a\nFUNC 0 1 0 f\n";
        let enc = encode("a.sym", data, 6).unwrap();
        assert_eq!(enc.content_encoding, Some("gzip"));
        assert_eq!(enc.content_type, Some("text/plain"));
        assert_eq!(enc.original_md5, md5_hex(data));
        let (size, md5) = read_gzip_metadata(&enc.body).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(md5, enc.original_md5);
        assert_eq!(gunzip(&enc.body, 1 << 20).unwrap(), data);
        assert_eq!(gunzip_prefix(&enc.body, 6), b"MODULE");
        assert!(gunzip(&enc.body, 4).is_err());
    }

    #[test]
    fn other_files_are_raw() {
        let enc = encode("a.pd_", b"\x1f\x8bnot really", 6).unwrap();
        assert_eq!(enc.content_encoding, None);
        assert_eq!(enc.body, b"\x1f\x8bnot really");
        assert_eq!(read_gzip_metadata(&enc.body), None);
    }

    #[test]
    fn md5_matches_known_value() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
