//! A small, defensive zip reader for upload archives.
//!
//! Why not a general zip crate: Tecken's rules need every central-directory entry in
//! order, duplicates included (a duplicate name with another size is an error), which
//! readers that index entries by name lose; and every limit must hold before anything is
//! decompressed. This reader parses the end-of-central-directory record (zip64 too), checks
//! the declared member count against the limit before reading the directory, lists the
//! directory without touching member data, and decompresses members (stored or deflate)
//! from any thread through positional reads, counting the bytes it produces and checking
//! sizes and CRC-32 as it goes.
//!
//! Overlapping members are refused when the directory is read, as Python's `zipfile`
//! does (3.12+): sorted by local-header offset, each member's header and data must end
//! before the next member's header starts, and the last one before the central directory.
//! Without this, many directory entries can point at one small deflate stream, each
//! passing the per-member limits, and a tiny archive writes any amount (a 14 KiB archive
//! wrote 200 MiB). With it, the compressed regions are disjoint, so the bytes an archive
//! can produce are bounded by its size times the ratio limit. The name in the local
//! header must also be the directory's (Python's `File name in directory ... differ`).
//!
//! Format: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.6 (local header), 4.3.12 (central
//! directory), 4.3.14-16 (zip64 and end records), 4.5.3 (zip64 extra field).

use std::fs::File;
use std::io::{self, Read};

use crate::error::{Error, ErrorKind, Result};
use crate::keys::py_repr;

const EOCD_SIG: [u8; 4] = *b"PK\x05\x06";
const ZIP64_LOCATOR_SIG: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EOCD_SIG: [u8; 4] = *b"PK\x06\x06";
const CENTRAL_SIG: [u8; 4] = *b"PK\x01\x02";
const LOCAL_SIG: [u8; 4] = *b"PK\x03\x04";
const EOCD_LEN: usize = 22;

/// Where archive bytes come from: memory or a file read with positional reads, so any
/// number of threads can read members at once.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Mem(&'a [u8]),
    File(&'a File, u64),
}

impl Source<'_> {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Mem(b) => b.len() as u64,
            Source::File(_, len) => *len,
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Mem(b) => {
                let start = (offset as usize).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                Ok(n)
            }
            Source::File(f, _) => read_at_file(f, offset, buf),
        }
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .read_at(offset + done as u64, &mut buf[done..])
                .map_err(Error::from)?;
            if n == 0 {
                return Err(bad_zip("unexpected end of file"));
            }
            done += n;
        }
        Ok(())
    }
}

#[cfg(unix)]
pub(super) fn read_at_file(f: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, offset)
}

#[cfg(windows)]
pub(super) fn read_at_file(f: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, offset)
}

fn bad_zip(what: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("Bad zip file: {what}"))
}

fn not_a_zip() -> Error {
    // Python's zipfile.BadZipFile text, which Tecken returns as is.
    Error::new(ErrorKind::InvalidInput, "File is not a zip file")
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64le(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// One central-directory entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name, as UTF-8 (non-UTF-8 names are replaced lossily and fail the pattern rules).
    pub name: String,
    pub size: u64,
    pub compressed_size: u64,
    pub crc32: u32,
    pub method: u16,
    pub flags: u16,
    pub unix_mode: Option<u32>,
    local_offset: u64,
    /// The name's bytes as stored (compared with the local header's).
    raw_name: Vec<u8>,
    /// Absolute offset the member's local header and data must end by: the next member's
    /// header, or the central directory.
    end_bound: u64,
}

impl Entry {
    /// The entry of a plain file of `size` bytes named `name` (not a zip member: read
    /// through [`super::writer::Members::File`]).
    pub fn plain(name: String, size: u64) -> Entry {
        Entry {
            raw_name: name.as_bytes().to_vec(),
            name,
            size,
            compressed_size: size,
            crc32: 0,
            method: 0,
            flags: 0,
            unix_mode: None,
            local_offset: 0,
            end_bound: size,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
    pub fn is_encrypted(&self) -> bool {
        self.flags & 1 != 0
    }
    pub fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & 0o170000 == 0o120000)
    }
}

/// The central directory's location and size, from the end records.
struct Directory {
    entries: u64,
    offset: u64,
    size: u64,
    /// Bytes before the archive proper (self-extracting stubs): added to every offset.
    prefix: u64,
}

fn find_directory(src: Source<'_>) -> Result<Directory> {
    let len = src.len();
    if len < EOCD_LEN as u64 {
        return Err(not_a_zip());
    }
    let tail_len = len.min((EOCD_LEN + u16::MAX as usize) as u64) as usize;
    let tail_start = len - tail_len as u64;
    let mut tail = vec![0u8; tail_len];
    src.read_exact_at(tail_start, &mut tail)?;
    // The last EOCD signature whose comment length reaches exactly the end (or before).
    let pos = (0..=tail_len - EOCD_LEN)
        .rev()
        .find(|&i| {
            tail[i..i + 4] == EOCD_SIG && i + EOCD_LEN + u16le(&tail, i + 20) as usize <= tail_len
        })
        .ok_or_else(not_a_zip)?;
    let e = &tail[pos..pos + EOCD_LEN];
    let eocd_at = tail_start + pos as u64;
    let (mut entries, mut size, mut offset) = (
        u64::from(u16le(e, 10)),
        u64::from(u32le(e, 12)),
        u64::from(u32le(e, 16)),
    );
    let mut dir_end = eocd_at;
    let zip64 = entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF;
    if zip64 && eocd_at >= 20 {
        {
            let mut loc = [0u8; 20];
            src.read_exact_at(eocd_at - 20, &mut loc)?;
            if loc[..4] == ZIP64_LOCATOR_SIG {
                let z_at = u64le(&loc, 8);
                let mut z = [0u8; 56];
                // Self-extracting prefixes shift every offset; find the record by position
                // first, then by its recorded offset.
                let guess = eocd_at
                    .checked_sub(20 + 56)
                    .ok_or_else(|| bad_zip("truncated zip64 end record"))?;
                src.read_exact_at(guess, &mut z)?;
                if z[..4] != ZIP64_EOCD_SIG {
                    src.read_exact_at(z_at, &mut z)?;
                }
                if z[..4] != ZIP64_EOCD_SIG {
                    return Err(bad_zip("missing zip64 end of central directory record"));
                }
                entries = u64le(&z, 32);
                size = u64le(&z, 40);
                offset = u64le(&z, 48);
                dir_end = guess;
            }
        }
    }
    // Like Python's zipfile: the directory ends where the end records start; anything
    // before the recorded offset is a prefix (self-extracting archives) to skip.
    let actual = dir_end
        .checked_sub(size)
        .ok_or_else(|| bad_zip("central directory larger than the file"))?;
    let prefix = actual
        .checked_sub(offset)
        .ok_or_else(|| bad_zip("central directory offset past its end"))?;
    Ok(Directory {
        entries,
        offset: actual,
        size,
        prefix,
    })
}

/// A parsed archive: the entries in central-directory order, duplicates included.
#[derive(Debug)]
pub(crate) struct Archive<'a> {
    src: Source<'a>,
    prefix: u64,
    pub entries: Vec<Entry>,
}

impl<'a> Archive<'a> {
    /// Parses the end records and the central directory. Fails with
    /// [`ErrorKind::LimitExceeded`] before reading the directory when it declares more than
    /// `max_members` entries.
    pub fn open(src: Source<'a>, max_members: usize) -> Result<Archive<'a>> {
        let dir = find_directory(src)?;
        if dir.entries > max_members as u64 {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Archive has {} members, more than the limit of {max_members}",
                    dir.entries
                ),
            ));
        }
        // Each entry takes at least 46 bytes: a count the directory cannot hold is a lie.
        if dir.entries.saturating_mul(46) > dir.size || dir.size > src.len() {
            return Err(bad_zip("central directory too small for its entry count"));
        }
        let mut cd = vec![0u8; dir.size as usize];
        src.read_exact_at(dir.offset, &mut cd)?;
        let mut entries = Vec::with_capacity(dir.entries as usize);
        let mut at = 0usize;
        for _ in 0..dir.entries {
            let h = cd
                .get(at..at + 46)
                .ok_or_else(|| bad_zip("truncated central directory"))?;
            if h[..4] != CENTRAL_SIG {
                return Err(bad_zip("bad magic number for central directory"));
            }
            let (name_len, extra_len, comment_len) = (
                u16le(h, 28) as usize,
                u16le(h, 30) as usize,
                u16le(h, 32) as usize,
            );
            let made_by_unix = h[5] == 3;
            let external = u32le(h, 38);
            let mut e = Entry {
                name: String::new(),
                flags: u16le(h, 8),
                method: u16le(h, 10),
                crc32: u32le(h, 16),
                compressed_size: u64::from(u32le(h, 20)),
                size: u64::from(u32le(h, 24)),
                unix_mode: made_by_unix.then_some(external >> 16),
                local_offset: u64::from(u32le(h, 42)),
                raw_name: Vec::new(),
                end_bound: 0,
            };
            let rest = cd
                .get(at + 46..at + 46 + name_len + extra_len + comment_len)
                .ok_or_else(|| bad_zip("truncated central directory"))?;
            e.raw_name = rest[..name_len].to_vec();
            e.name = String::from_utf8_lossy(&e.raw_name).into_owned();
            apply_zip64_extra(
                &mut e,
                &rest[name_len..name_len + extra_len],
                u32le(h, 20),
                u32le(h, 24),
                u32le(h, 42),
            );
            entries.push(e);
            at += 46 + name_len + extra_len + comment_len;
        }
        set_end_bounds(&mut entries, dir.prefix, dir.offset)?;
        Ok(Archive {
            src,
            prefix: dir.prefix,
            entries,
        })
    }

    /// A reader of the decompressed bytes of `entry`, producing at most its declared size
    /// (more, less, or a CRC-32 mismatch is an error at the end).
    pub fn open_member(&self, entry: &Entry) -> Result<MemberReader<'a>> {
        let mut h = [0u8; 30];
        let at = entry.local_offset + self.prefix;
        self.src.read_exact_at(at, &mut h)?;
        if h[..4] != LOCAL_SIG {
            return Err(bad_zip(&format!(
                "bad magic number for file header of {:?}",
                entry.name
            )));
        }
        let name_len = u16le(&h, 26) as usize;
        let mut local_name = vec![0u8; name_len];
        self.src.read_exact_at(at + 30, &mut local_name)?;
        if local_name != entry.raw_name {
            return Err(bad_zip(&format!(
                "File name in directory {} and header {} differ.",
                py_repr(&entry.name),
                py_repr(&String::from_utf8_lossy(&local_name))
            )));
        }
        let data_start = at + 30 + name_len as u64 + u64::from(u16le(&h, 28));
        let data_end = data_start
            .checked_add(entry.compressed_size)
            .filter(|&end| end <= self.src.len());
        let Some(data_end) = data_end else {
            return Err(bad_zip(&format!(
                "member {:?} extends past the end of the archive",
                entry.name
            )));
        };
        // The exact check (the one at open used the directory's name length and no extra
        // field): the data may not run into the next member or the central directory.
        if data_end > entry.end_bound {
            return Err(overlapped(&entry.name));
        }
        let raw = RangeReader {
            src: self.src,
            pos: data_start,
            end: data_end,
        };
        let inner: Box<dyn Read + Send + 'a> = match entry.method {
            0 => Box::new(raw),
            8 => Box::new(flate2::read::DeflateDecoder::new(
                io::BufReader::with_capacity(64 * 1024, raw),
            )),
            m => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "Unsupported compression method {m} for {:?} (only stored and deflate)",
                        entry.name
                    ),
                ))
            }
        };
        Ok(MemberReader {
            inner,
            name: entry.name.clone(),
            declared: entry.size,
            crc_expected: entry.crc32,
            crc: crc32fast::Hasher::new(),
            produced: 0,
        })
    }
}

fn overlapped(name: &str) -> Error {
    bad_zip(&format!(
        "Overlapped entries: {} (possible zip bomb)",
        py_repr(name)
    ))
}

/// Sets each entry's [`Entry::end_bound`] and refuses overlapping entries: sorted by
/// local-header offset, an entry's smallest possible record (30-byte header, its name, its
/// compressed data) must end by the next entry's header, the last by the central directory
/// at `cd_start` (absolute). Two entries at one offset always fail.
fn set_end_bounds(entries: &mut [Entry], prefix: u64, cd_start: u64) -> Result<()> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].local_offset);
    let mut end = cd_start;
    for &i in order.iter().rev() {
        let e = &mut entries[i];
        let start = e.local_offset.saturating_add(prefix);
        let min_end = start
            .saturating_add(30)
            .saturating_add(e.raw_name.len() as u64)
            .saturating_add(e.compressed_size);
        if min_end > end {
            return Err(overlapped(&e.name));
        }
        e.end_bound = end;
        end = start;
    }
    Ok(())
}

fn apply_zip64_extra(
    e: &mut Entry,
    mut extra: &[u8],
    raw_csize: u32,
    raw_size: u32,
    raw_offset: u32,
) {
    while extra.len() >= 4 {
        let (id, len) = (u16le(extra, 0), u16le(extra, 2) as usize);
        let Some(data) = extra.get(4..4 + len) else {
            return;
        };
        if id == 0x0001 {
            let mut at = 0;
            let mut next = || {
                let v = data.get(at..at + 8).map(|b| u64le(b, 0));
                at += 8;
                v
            };
            if raw_size == u32::MAX {
                if let Some(v) = next() {
                    e.size = v;
                }
            }
            if raw_csize == u32::MAX {
                if let Some(v) = next() {
                    e.compressed_size = v;
                }
            }
            if raw_offset == u32::MAX {
                if let Some(v) = next() {
                    e.local_offset = v;
                }
            }
            return;
        }
        extra = &extra[4 + len..];
    }
}

struct RangeReader<'a> {
    src: Source<'a>,
    pos: u64,
    end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = (self.end - self.pos).min(buf.len() as u64) as usize;
        if left == 0 {
            return Ok(0);
        }
        let n = self
            .src
            .read_at(self.pos, &mut buf[..left])
            .map_err(|e| io::Error::new(e.kind(), ArchiveReadError(e)))?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// An error reading the archive's own bytes (the disk), as opposed to an error in what
/// they contain: the decoder passes it through, and [`is_archive_read_error`] tells it
/// apart from a corrupt stream.
#[derive(Debug)]
struct ArchiveReadError(io::Error);

impl std::fmt::Display for ArchiveReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read the archive: {}", self.0)
    }
}

impl std::error::Error for ArchiveReadError {}

/// Whether `e`, from a [`MemberReader`], is a failure to read the archive (an I/O
/// problem) rather than bad member data (the uploader's problem).
pub(crate) fn is_archive_read_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<ArchiveReadError>())
}

/// The decompressed bytes of one member, checked against its declared size and CRC-32.
pub(crate) struct MemberReader<'a> {
    inner: Box<dyn Read + Send + 'a>,
    name: String,
    declared: u64,
    crc_expected: u32,
    crc: crc32fast::Hasher,
    produced: u64,
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte more than may remain, to notice a member larger than declared
        // without ever producing more than declared + 1 bytes.
        let room = (self.declared - self.produced.min(self.declared)).saturating_add(1);
        let want = buf.len().min(room.min(usize::MAX as u64) as usize);
        // Anything the decoder says that is not a read failure is bad data (flate2 says
        // "corrupt deflate stream" with kind InvalidInput, "incomplete deflate stream"
        // with UnexpectedEof): the uploader's problem, named after the member.
        let n = self.inner.read(&mut buf[..want]).map_err(|e| {
            if is_archive_read_error(&e) {
                e
            } else {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("member {:?} cannot be decompressed: {e}", self.name),
                )
            }
        })?;
        self.produced += n as u64;
        if self.produced > self.declared {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "member {:?} decompresses to more than its declared {} bytes",
                    self.name, self.declared
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        if n == 0 && want > 0 {
            if self.produced != self.declared {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "member {:?} is truncated: {} of {} bytes",
                        self.name, self.produced, self.declared
                    ),
                ));
            }
            if self.crc.clone().finalize() != self.crc_expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("Bad CRC-32 for file {:?}", self.name),
                ));
            }
        }
        Ok(n)
    }
}
