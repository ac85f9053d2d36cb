//! Laying the index out: the string table, the section lengths and offsets, the header
//! and section table; everything a build resolves before the body is written.

use super::body::{self, Body, NameRef, PartStart, StrRef};
use super::chunk::{parse_chunks, Chunk};
use super::merge::{dedup_defs, header_and_report, resolve_intervals, Interval, Remap, Sym};
use super::stack::{self, Unwind};
use super::{BuildOptions, BuildReport};
use crate::error::{Error, ErrorKind, Result};
use crate::index::format::*;
use crate::index::IndexMeta;
use crate::path::clean_path;

/// The STRINGS section being built: file paths, then origin names, then rule strings.
struct Strings {
    buf: Vec<u8>,
}

impl Strings {
    fn push(&mut self, bytes: &[u8]) -> Result<(u32, u32)> {
        // Most names are valid UTF-8: check that fast before the lossy conversion.
        let s = match std::str::from_utf8(bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        self.push_utf8(s.as_bytes())
    }

    /// [`Strings::push`] for bytes already known to be UTF-8.
    fn push_utf8(&mut self, bytes: &[u8]) -> Result<(u32, u32)> {
        let off = u32::try_from(self.buf.len()).map_err(|_| {
            Error::new(ErrorKind::LimitExceeded, "index string table exceeds 4 GiB")
        })?;
        self.buf.extend_from_slice(bytes);
        Ok((off, bytes.len() as u32))
    }
}

/// Everything a build resolved before writing: the parsed chunks, the string table and the
/// file layout.
pub(super) struct Prepared<'s> {
    pub(super) sym: &'s [u8],
    pub(super) chunks: Vec<Chunk>,
    pub(super) intervals: Vec<Interval>,
    pub(super) name_refs: Vec<NameRef>,
    pub(super) lossy: Vec<u8>,
    pub(super) file_map: Remap,
    pub(super) origin_map: Remap,
    pub(super) file_refs: Vec<(StrRef, StrRef)>,
    pub(super) origin_refs: Vec<(u32, u32)>,
    pub(super) unwind: Unwind,
    pub(super) rule_refs: Vec<(u32, u32)>,
    pub(super) strings: Vec<u8>,
    pub(super) meta_json: Vec<u8>,
    pub(super) offsets: [u64; slot::COUNT],
    pub(super) lens: [u64; slot::COUNT],
    pub(super) parts: Vec<PartStart>,
    pub(super) report: BuildReport,
}

impl Prepared<'_> {
    pub(super) fn body(&self) -> Body<'_> {
        Body {
            chunks: &self.chunks,
            intervals: &self.intervals,
            sym: self.sym,
            lossy: &self.lossy,
            name_refs: &self.name_refs,
            file_map: &self.file_map,
            origin_map: &self.origin_map,
            file_refs: &self.file_refs,
            origin_refs: &self.origin_refs,
            unwind: &self.unwind,
            rule_refs: &self.rule_refs,
            strings: &self.strings,
            meta_json: &self.meta_json,
            offsets: self.offsets,
            lens: self.lens,
            parts: &self.parts,
        }
    }

    pub(super) fn file_size(&self) -> u64 {
        self.report.index_bytes
    }

    /// The header and section table (padded to the body), with the body's CRC.
    pub(super) fn head(&self, crc: u32) -> Vec<u8> {
        let mut table = Vec::with_capacity(SectionEntry::SIZE * section::ALL.len());
        for (i, &(id, esize)) in section::ALL.iter().enumerate() {
            let e = SectionEntry {
                id,
                entry_size: esize as u32,
                offset: self.offsets[i],
                len: self.lens[i],
            };
            table.extend_from_slice(&e.encode());
        }
        let mut h = Header {
            magic: MAGIC,
            version: VERSION,
            header_size: Header::SIZE as u32,
            file_size: self.file_size(),
            section_count: section::ALL.len() as u32,
            body_crc: crc,
            intervals: self.intervals.len() as u64,
            header_crc: 0,
            reserved: [0; 20],
        };
        h.header_crc = header_checksum(&h.encode(), &table);
        let mut head = h.encode().to_vec();
        head.extend_from_slice(&table);
        head.resize(BODY_START as usize, 0);
        head
    }
}

/// Parses `sym` and lays the index out, for a body written in up to `parts` parts.
pub(super) fn prepare<'s>(
    sym: &'s [u8],
    opts: &BuildOptions,
    parts: usize,
) -> Result<Prepared<'s>> {
    let popts = &opts.parse;
    let chunks = parse_chunks(sym, popts)?;

    let (header, mut report) = header_and_report(sym, &chunks, popts)?;

    let intervals = resolve_intervals(&chunks, &mut report);

    let files = dedup_defs(&chunks, |c| &c.files);
    let origins = dedup_defs(&chunks, |c| &c.origins);
    let file_ids: Vec<u32> = files.iter().map(|f| f.0).collect();
    let origin_ids: Vec<u32> = origins.iter().map(|o| o.0).collect();
    let file_map = Remap::new(&file_ids);
    let origin_map = Remap::new(&origin_ids);

    // Names go into the records, as they are in the input when they are UTF-8 (checked
    // by the parser threads), converted otherwise.
    let mut lossy = Vec::new();
    let mut name_refs = Vec::with_capacity(intervals.len());
    for iv in &intervals {
        let (off, len, utf8) = match iv.sym {
            Sym::Func { chunk, idx } => {
                let f = &chunks[chunk as usize].funcs[idx as usize];
                (f.name_off, f.name_len, f.name_utf8)
            }
            Sym::Public { chunk, idx } => {
                let p = &chunks[chunk as usize].publics[idx as usize];
                (p.name_off, p.name_len, p.name_utf8)
            }
        };
        let bytes = &sym[off..off + len as usize];
        name_refs.push(if utf8 || std::str::from_utf8(bytes).is_ok() {
            NameRef::Input(off, len)
        } else {
            let s = String::from_utf8_lossy(bytes);
            let at = lossy.len();
            lossy.extend_from_slice(s.as_bytes());
            let len = u32::try_from(s.len()).map_err(|_| {
                Error::new(ErrorKind::LimitExceeded, "symbol name longer than 4 GiB")
            })?;
            NameRef::Lossy(at, len)
        });
    }
    // Strings: files (raw, cleaned), then origins, then rule strings.
    let mut strings = Strings { buf: Vec::new() };
    let mut file_refs = Vec::with_capacity(files.len());
    for &(_, off, len) in &files {
        let raw_bytes = &sym[off..off + len as usize];
        let raw = strings.push(raw_bytes)?;
        let raw_str = String::from_utf8_lossy(raw_bytes);
        let cleaned = clean_path(&raw_str);
        let clean = if cleaned == raw_str {
            raw
        } else {
            strings.push(cleaned.as_bytes())?
        };
        file_refs.push((raw, clean));
    }
    let mut origin_refs = Vec::with_capacity(origins.len());
    for &(_, off, len) in &origins {
        origin_refs.push(strings.push(&sym[off..off + len as usize])?);
    }
    let unwind = stack::resolve(sym, &chunks)?;
    let mut rule_refs = Vec::with_capacity(unwind.rules.len());
    for &(off, len) in &unwind.rules {
        // The parser checked that rule strings are UTF-8.
        rule_refs.push(strings.push_utf8(&sym[off..off + len as usize])?);
    }

    let Some(parts) = body::plan(&chunks, &intervals, &name_refs, parts) else {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "too many line or inline records for one index",
        ));
    };
    let records_len = parts[parts.len() - 1].rec;

    let meta = IndexMeta {
        header: header.clone(),
        report: report.clone(),
        input_bytes: sym.len() as u64,
    };
    let meta_json =
        serde_json::to_vec(&meta).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    let n = intervals.len() as u64;
    let n_top = n.div_ceil(TOP_STRIDE as u64);
    let mut lens = [0u64; slot::COUNT];
    lens[slot::META] = meta_json.len() as u64;
    lens[slot::TOP] = n_top * ADDR_SIZE as u64;
    lens[slot::STARTS] = n * ADDR_SIZE as u64;
    lens[slot::OFFSETS] = n * RECORD_OFFSET_SIZE as u64;
    lens[slot::RECORDS] = records_len;
    lens[slot::FILES] = files.len() as u64 * FileEntry::SIZE as u64;
    lens[slot::ORIGINS] = origins.len() as u64 * OriginEntry::SIZE as u64;
    let count = |n: usize, size: usize| n as u64 * size as u64;
    lens[slot::CFI_STARTS] = count(unwind.cfi_starts.len(), ADDR_SIZE);
    lens[slot::CFI_INITS] = count(unwind.cfi_inits.len(), CfiInitEntry::SIZE);
    lens[slot::CFI_DELTAS] = count(unwind.cfi_deltas.len(), CfiDeltaEntry::SIZE);
    lens[slot::WIN_FRAMEDATA] = count(unwind.framedata.len(), WinEntry::SIZE);
    lens[slot::WIN_FPO] = count(unwind.fpo.len(), WinEntry::SIZE);
    lens[slot::RULES] = count(rule_refs.len(), RuleEntry::SIZE);
    lens[slot::STRINGS] = strings.buf.len() as u64;
    let (offsets, pos) = section_offsets(&lens);
    Ok(Prepared {
        sym,
        chunks,
        intervals,
        name_refs,
        lossy,
        file_map,
        origin_map,
        file_refs,
        origin_refs,
        unwind,
        rule_refs,
        strings: strings.buf,
        meta_json,
        offsets,
        lens,
        parts,
        report: BuildReport {
            header,
            parse: report,
            input_bytes: sym.len() as u64,
            index_bytes: pos,
            intervals: n,
        },
    })
}
