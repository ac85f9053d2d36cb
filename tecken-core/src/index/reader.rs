//! Opens an index and answers lookups from its bytes in place.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::format::*;
use crate::error::{Error, ErrorKind, Result};
use crate::lookup::{
    Frame, FrameDetails, InlineFrame, LookupOptions, OwnedFrame, SourceFile, SymbolKind,
};
use crate::mmap::{prefetch, prefetch_lines, Bytes, IndexBytes};
use crate::sym::{ParseReport, SymHeader};

mod stack;

/// The metadata stored in an index's META section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexMeta {
    /// The `.sym` file's MODULE and INFO records.
    pub header: SymHeader,
    /// Record counts and skipped lines from the build.
    pub report: ParseReport,
    /// Size of the `.sym` input.
    pub input_bytes: u64,
}

/// An open index: a read-only, memory-mapped (or in-memory) view of an index file.
///
/// `Index` is `Send + Sync`; lookups take `&self` and never allocate except for the
/// returned inline chain (use [`Index::lookup_into`] to reuse one).
#[derive(Debug)]
pub struct Index {
    data: IndexBytes,
    meta: IndexMeta,
    n: usize,
    top: Range<usize>,
    starts: Range<usize>,
    offsets: Range<usize>,
    records: Range<usize>,
    files: Range<usize>,
    origins: Range<usize>,
    cfi_starts: Range<usize>,
    cfi_inits: Range<usize>,
    cfi_deltas: Range<usize>,
    win_framedata: Range<usize>,
    win_fpo: Range<usize>,
    rules: Range<usize>,
    crc: u32,
}

/// A block of STARTS found by the first stage of a lookup: its first interval and length.
#[derive(Debug, Clone, Copy)]
pub(super) struct Block {
    lo: usize,
    len: usize,
}

/// Where an interval's record lies, found by [`Index::locate`].
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordPos {
    at: usize,
    /// Its size as OFFSETS tell it (a prefetch hint).
    size: usize,
}

/// An interval's record: its file position and header.
pub(super) struct Record {
    at: usize,
    h: RecordHeader,
    /// Its size as OFFSETS tell it (only a prefetch hint: every read is checked anyway).
    size: usize,
}

/// Cache lines of a record loaded at once (512 bytes: the header, the name and the line
/// offsets of most FUNCs). 16 lines (the whole record of most FUNCs) was slower on the
/// libxul-scale file, one lookup at a time and pipelined (2026-12-04, `prof lookup-ours`,
/// alternating: 507-541 against 546-689 ns, and 308-330 against 344-442): the prefetches
/// of lines a lookup never reads held up the ones it needs.
const RECORD_PREFETCH: usize = 8;

/// Where a FUNC record's tables lie (file positions), every part but the inline ranges
/// checked to lie inside RECORDS.
pub(super) struct Tables {
    /// The line offsets.
    lines: usize,
    /// The line entries, parallel to them.
    entries: usize,
    /// The number of line entries.
    count: usize,
    /// The depth ends.
    levels: usize,
    /// The number of depths.
    depth: usize,
    /// The inline ranges.
    inlines: usize,
}

/// The number of leading indexes in `0..len` for which `le` holds (`le` must be true on a
/// prefix): a branch-free binary search (the loop runs log2(len) times, the comparison
/// becomes a conditional move).
#[inline(always)]
fn upper_bound(len: usize, le: impl Fn(usize) -> bool) -> usize {
    if len == 0 {
        return 0;
    }
    let (mut base, mut size) = (0usize, len);
    while size > 1 {
        let half = size / 2;
        if le(base + half) {
            base += half;
        }
        size -= half;
    }
    base + usize::from(le(base))
}

/// The `count` entries of `W` bytes at `b[at..]`, as a view checked once (empty when they
/// do not all lie inside `b`), so that a search reads each probe with one comparison.
#[inline(always)]
fn entries<const W: usize>(b: &[u8], at: usize, count: usize) -> &[[u8; W]] {
    count
        .checked_mul(W)
        .and_then(|len| b.get(at..at.checked_add(len)?))
        .map_or(&[], |s| s.as_chunks::<W>().0)
}

impl Index {
    /// Whether `prefix` (a file's first bytes) starts with the index magic: the file is an
    /// index of some format version (it may still be corrupt, too old or too new: see
    /// [`Index::open`]), not a `.sym` file.
    pub fn has_magic(prefix: &[u8]) -> bool {
        prefix.starts_with(&MAGIC)
    }

    /// Opens the index file at `path` by memory-mapping it.
    ///
    /// Fails with [`ErrorKind::CorruptIndex`] for a truncated, corrupt or foreign file,
    /// [`ErrorKind::IndexTooOld`] / [`ErrorKind::IndexTooNew`] for another format version,
    /// and [`ErrorKind::Io`] / [`ErrorKind::NotFound`] when it cannot be read.
    pub fn open(path: impl AsRef<Path>) -> Result<Index> {
        Index::open_or_read(path.as_ref(), 0)
    }

    /// [`Index::open`], except that a file of at most `read_max` bytes is read into memory
    /// instead of mapped (an index of a few KB costs less to read and check whole than to
    /// map).
    pub(crate) fn open_or_read(path: &Path, read_max: u64) -> Result<Index> {
        let data = Bytes::map_index_or_read(path, read_max)?;
        Index::from_backing(data)
            .map_err(|e| Error::new(e.kind(), format!("{}: {}", path.display(), e.message())))
    }

    /// Opens an index held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Index> {
        Index::from_backing(Bytes::Owned(bytes))
    }

    fn from_backing(data: Bytes) -> Result<Index> {
        let mut data = IndexBytes::new(data);
        let b = data.as_slice();
        let h = Header::decode(b, 0);
        if b.len() < HEADER_SIZE || h.magic != MAGIC {
            return Err(Error::corrupt("not a tecken index (bad magic)"));
        }
        let version = h.version;
        if version < MIN_VERSION {
            return Err(Error::new(ErrorKind::IndexTooOld, format!("index format version {version} is too old (this library reads {MIN_VERSION}..={VERSION}); rebuild it")));
        }
        if version > VERSION {
            return Err(Error::new(ErrorKind::IndexTooNew, format!("index format version {version} is newer than this library reads ({MIN_VERSION}..={VERSION}); upgrade tecken-core or rebuild it")));
        }
        if h.header_size as usize != HEADER_SIZE {
            return Err(Error::corrupt("bad header size"));
        }
        let file_size = h.file_size;
        if file_size != b.len() as u64 {
            return Err(Error::corrupt(format!(
                "index is {} bytes, header says {file_size}: truncated or padded",
                b.len()
            )));
        }
        let nsec = h.section_count as usize;
        if nsec != section::ALL.len() {
            return Err(Error::corrupt("unexpected section count"));
        }
        let crc = h.body_crc;
        let n =
            usize::try_from(h.intervals).map_err(|_| Error::corrupt("interval count too large"))?;
        let table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * nsec;
        let table = b
            .get(HEADER_SIZE..table_end)
            .ok_or_else(|| Error::corrupt("truncated section table"))?;
        // The body CRC covers only the body, so the header and section table carry their
        // own: a flipped reserved byte or a shrunk section length would otherwise open
        // silently (with names cut short) and pass `verify`. Checking it reads only the
        // first page; nothing here reads the sections themselves.
        if header_checksum(&b[..HEADER_SIZE], table) != h.header_crc {
            return Err(Error::corrupt("header checksum mismatch"));
        }
        if h.reserved.iter().any(|&x| x != 0) {
            return Err(Error::corrupt("reserved header bytes are not zero"));
        }
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(nsec);
        let mut prev_end = table_end;
        for (i, &(id, esize)) in section::ALL.iter().enumerate() {
            let e = SectionEntry::decode(table, i * SectionEntry::SIZE);
            if e.id != id || e.entry_size as usize != esize {
                return Err(Error::corrupt(format!(
                    "section {i} has the wrong id or entry size"
                )));
            }
            let (off, len) = (e.offset, e.len);
            let end = off
                .checked_add(len)
                .ok_or_else(|| Error::corrupt("section overflows"))?;
            // Sections follow each other in order, each at the next 8-byte boundary, as the
            // builder writes them: no gaps, no overlaps.
            if off != align8(prev_end as u64)
                || end > b.len() as u64
                || !len.is_multiple_of(esize as u64)
            {
                return Err(Error::corrupt(format!(
                    "section {id} lies outside the file or is misaligned"
                )));
            }
            ranges.push(off as usize..end as usize);
            prev_end = end as usize;
        }
        if align8(prev_end as u64) != b.len() as u64 {
            return Err(Error::corrupt("the last section does not end the file"));
        }
        let count = |r: &Range<usize>, esize: usize| r.len() / esize;
        if count(&ranges[slot::TOP], ADDR_SIZE) != n.div_ceil(TOP_STRIDE)
            || count(&ranges[slot::STARTS], ADDR_SIZE) != n
            || count(&ranges[slot::OFFSETS], RECORD_OFFSET_SIZE) != n
        {
            return Err(Error::corrupt(
                "interval count does not match the TOP/STARTS/OFFSETS sections",
            ));
        }
        if count(&ranges[slot::CFI_STARTS], ADDR_SIZE)
            != count(&ranges[slot::CFI_INITS], CfiInitEntry::SIZE)
        {
            return Err(Error::corrupt(
                "CFI_STARTS and CFI_INITS have different lengths",
            ));
        }
        if ranges[slot::STRINGS].len() > u32::MAX as usize + 1 {
            return Err(Error::corrupt("string table too large"));
        }
        let meta: IndexMeta = serde_json::from_slice(&b[ranges[slot::META].clone()])
            .map_err(|e| Error::corrupt(format!("bad metadata: {e}")))?;
        let section = |s: usize| ranges.get(s).cloned().unwrap_or(0..0);
        data.set_strings(section(slot::STRINGS));
        if data.bytes().is_damaged() {
            return Err(Error::corrupt("index file truncated while being opened"));
        }
        Ok(Index {
            data,
            meta,
            n,
            top: section(slot::TOP),
            starts: section(slot::STARTS),
            offsets: section(slot::OFFSETS),
            records: section(slot::RECORDS),
            files: section(slot::FILES),
            origins: section(slot::ORIGINS),
            cfi_starts: section(slot::CFI_STARTS),
            cfi_inits: section(slot::CFI_INITS),
            cfi_deltas: section(slot::CFI_DELTAS),
            win_framedata: section(slot::WIN_FRAMEDATA),
            win_fpo: section(slot::WIN_FPO),
            rules: section(slot::RULES),
            crc,
        })
    }

    /// The `.sym` file's header and the build's parse report.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// The MODULE/INFO header of the `.sym` this index was built from.
    pub fn header(&self) -> &SymHeader {
        &self.meta.header
    }

    /// Size of the index in bytes.
    pub fn size_bytes(&self) -> usize {
        self.data.as_slice().len()
    }

    /// Number of symbol intervals (FUNCs plus PUBLIC runs).
    pub fn intervals(&self) -> usize {
        self.n
    }

    /// The bytes of the index file (of an in-memory index: what [`super::build_to_file`]
    /// would have written), e.g. to store it.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    /// Whether the index is memory-mapped (as opposed to held in memory).
    pub fn is_mapped(&self) -> bool {
        matches!(self.data.bytes(), Bytes::Mapped(_))
    }

    /// Whether the index is still the one that was opened: fails with
    /// [`ErrorKind::CorruptIndex`] once its file was found truncated under the mapping (a
    /// read faulted; lookups have read zeros since) or changed in place (see
    /// [`Index::check_file`]). One atomic load; an in-memory index is always fine. Drop a
    /// damaged index and open the file again (which fails if the file is bad).
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.data.bytes().is_damaged() {
            return Err(Error::corrupt(
                "index file changed on disk while mapped; open it again",
            ));
        }
        Ok(())
    }

    /// [`Index::check`], after comparing the file's inode, size and modification time with
    /// those at open time when the last comparison is older than `max_age` (a `stat` of
    /// the path; a file replaced by another under the same name leaves this one intact).
    pub fn check_file(&self, max_age: std::time::Duration) -> Result<()> {
        self.data.bytes().recheck(max_age);
        self.check()
    }

    /// Checks the CRC-32 of the whole body: detects silent corruption that the structural
    /// checks at open time cannot see. Reads every byte, so it costs a pass over the file;
    /// the pages it reads are handed back to the kernel as it goes, so that the pass does
    /// not stay in the process's resident memory (lookups fault in the few they need).
    pub fn verify(&self) -> Result<()> {
        /// Bytes hashed between two releases of the pages read.
        const CHUNK: usize = 8 << 20;
        let b = self.data.as_slice();
        let start = BODY_START as usize;
        let body = b.get(start..).ok_or_else(|| Error::corrupt("truncated"))?;
        let bytes = self.data.bytes();
        // Read ahead while hashing: the mapping is advised for random lookups otherwise.
        bytes.advise(true);
        let mut hasher = crc32fast::Hasher::new();
        for (i, chunk) in body.chunks(CHUNK).enumerate() {
            hasher.update(chunk);
            let at = start + i * CHUNK;
            bytes.release(at..at + chunk.len());
        }
        let got = hasher.finalize();
        bytes.advise(false);
        if got != self.crc {
            return Err(Error::corrupt(format!(
                "checksum mismatch (stored {:08x}, computed {got:08x})",
                self.crc
            )));
        }
        self.check()
    }

    /// What names this index's bytes in the cache's record of a passed [`Index::verify`]:
    /// the file's device, inode, size and modification time, and the body CRC the header
    /// states. `None` for an index in memory.
    pub(crate) fn verification_token(&self) -> Option<String> {
        let file = self.data.bytes().file_stamp()?.describe()?;
        Some(format!("{file} {:08x}", self.crc))
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    #[inline]
    fn str_at(&self, off: u32, len: u32) -> &str {
        self.data.str_at(off, len)
    }

    /// Index of the last interval whose start is `<= addr`: a search of TOP (every 64th
    /// start, ~40 KB for a libxul-sized file, stays in cache), then of one 64-entry block
    /// of STARTS (512 bytes), whose 256 bytes of OFFSETS are loaded at the same time.
    #[inline]
    fn find_interval(&self, addr: u64) -> Option<usize> {
        self.search_block(addr, self.find_block(addr)?)
    }

    /// The first stage of a lookup: the search of TOP, which stays in cache, for the block
    /// of STARTS that holds `addr`'s interval; that block and its OFFSETS start loading.
    /// `None` when `addr` lies before the first interval.
    #[inline(always)]
    fn find_block(&self, addr: u64) -> Option<Block> {
        let b = self.bytes();
        let top = entries::<ADDR_SIZE>(b, self.top.start, self.top.len() / ADDR_SIZE);
        let block = upper_bound(top.len(), |i| u64::from_le_bytes(top[i]) <= addr);
        let lo = block.checked_sub(1)? * TOP_STRIDE;
        let len = TOP_STRIDE.min(self.n.saturating_sub(lo));
        prefetch(b, self.starts.start + lo * ADDR_SIZE, len * ADDR_SIZE);
        prefetch(
            b,
            self.offsets.start + lo * RECORD_OFFSET_SIZE,
            len * RECORD_OFFSET_SIZE,
        );
        Some(Block { lo, len })
    }

    /// The second stage: the search of the block for `addr`'s interval.
    #[inline(always)]
    fn search_block(&self, addr: u64, block: Block) -> Option<usize> {
        let b = self.bytes();
        let starts = entries::<ADDR_SIZE>(b, self.starts.start + block.lo * ADDR_SIZE, block.len);
        let j = upper_bound(starts.len(), |i| u64::from_le_bytes(starts[i]) <= addr);
        (block.lo + j).checked_sub(1)
    }

    /// Where the record of interval `i` (`< n`) lies, if its header lies inside RECORDS.
    /// The whole record (up to [`RECORD_PREFETCH`] lines; the next interval's offset, in
    /// the same cache line as this one's, gives its size) starts loading before its header
    /// is read, so the line and inline searches find their lines on the way.
    #[inline(always)]
    fn locate(&self, i: usize) -> Option<RecordPos> {
        let b = self.bytes();
        let word = |i: usize| u32::read_le(b, self.offsets.start + i * RECORD_OFFSET_SIZE) as usize;
        let w = word(i);
        let at = self
            .records
            .start
            .checked_add(w.checked_mul(RECORD_ALIGN)?)?;
        if at.checked_add(RecordHeader::SIZE)? > self.records.end {
            return None;
        }
        let next = if i + 1 < self.n {
            self.records
                .start
                .saturating_add(word(i + 1).saturating_mul(RECORD_ALIGN))
        } else {
            self.records.end
        };
        let size = next.saturating_sub(at).max(RecordHeader::SIZE);
        prefetch_lines::<RECORD_PREFETCH>(b, at, size);
        Some(RecordPos { at, size })
    }

    /// The record at `pos` (from [`Index::locate`]), its header read.
    #[inline(always)]
    fn record(&self, pos: RecordPos) -> Record {
        let h = RecordHeader::decode(self.bytes(), pos.at);
        Record {
            at: pos.at,
            h,
            size: pos.size,
        }
    }

    /// The name of the record at `r`; `""` when it does not lie inside RECORDS or is not
    /// UTF-8.
    #[inline]
    fn record_name(&self, r: &Record) -> &str {
        let start = r.at + RecordHeader::SIZE;
        let Some(end) = start.checked_add(r.h.name_len as usize) else {
            return "";
        };
        if end > self.records.end {
            return "";
        }
        self.bytes()
            .get(start..end)
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("")
    }

    /// Where the line and inline tables of a FUNC record lie; `None` when the line
    /// offsets, line entries and depth ends do not lie inside RECORDS.
    #[inline]
    fn tables(&self, r: &Record) -> Option<Tables> {
        let lines = r.at.checked_add(record_tables_at(r.h.name_len as usize))?;
        let count = r.h.line_count as usize;
        let entries = lines.checked_add(count.checked_mul(LINE_OFFSET_SIZE)?)?;
        let levels = entries.checked_add(count.checked_mul(LineEntry::SIZE)?)?;
        let depth = r.h.level_count as usize;
        let inlines = levels + depth * LEVEL_SIZE;
        if inlines > self.records.end {
            return None;
        }
        Some(Tables {
            lines,
            entries,
            count,
            levels,
            depth,
            inlines,
        })
    }

    fn file(&self, idx: u32) -> Option<SourceFile<'_>> {
        if idx == NO_FILE || idx == GAP {
            return None;
        }
        let at = self
            .files
            .start
            .checked_add((idx as usize).checked_mul(FileEntry::SIZE)?)?;
        if at + FileEntry::SIZE > self.files.end {
            return None;
        }
        let e = FileEntry::decode(self.bytes(), at);
        let raw = self.str_at(e.raw_off, e.raw_len);
        let path = self.str_at(e.cleaned_off, e.cleaned_len);
        if raw.is_empty() && path.is_empty() {
            return None;
        }
        Some(SourceFile { path, raw })
    }

    fn origin(&self, idx: u32) -> &str {
        if idx == NO_ORIGIN {
            return "";
        }
        let at = self.origins.start + (idx as usize) * OriginEntry::SIZE;
        if at + OriginEntry::SIZE > self.origins.end {
            return "";
        }
        let e = OriginEntry::decode(self.bytes(), at);
        self.str_at(e.off, e.len)
    }

    /// The line entry covering `rel` in a record's line table: `(line, file, entry
    /// index)`.
    fn line_for(&self, t: &Tables, rel: u32, opts: &LookupOptions) -> Option<(u32, u32, usize)> {
        let b = self.bytes();
        let offsets = entries::<LINE_OFFSET_SIZE>(b, t.lines, t.count);
        let mut i =
            upper_bound(offsets.len(), |k| u32::from_le_bytes(offsets[k]) <= rel).checked_sub(1)?;
        // Only the entry's file is read first: most lookups need the line of this entry,
        // but a gap marker sends the lookup one entry back.
        let mut file = u32::read_le(b, t.entries + i * LineEntry::SIZE + LineEntry::FILE);
        if file == GAP {
            if opts.strict_lines {
                return None;
            }
            i = i.checked_sub(1)?;
            file = u32::read_le(b, t.entries + i * LineEntry::SIZE + LineEntry::FILE);
            if file == GAP {
                return None;
            }
        }
        Some((
            u32::read_le(b, t.entries + i * LineEntry::SIZE + LineEntry::LINE),
            file,
            i,
        ))
    }

    /// The file position of the inline range covering `rel` at depth `d`.
    fn inline_pos(&self, t: &Tables, d: usize, rel: u32) -> Option<usize> {
        if d >= t.depth {
            return None;
        }
        let b = self.bytes();
        let end_at = |d: usize| u32::read_le(b, t.levels + d * LEVEL_SIZE) as usize;
        let lo = if d == 0 { 0 } else { end_at(d - 1) };
        let hi = end_at(d);
        let count = hi.checked_sub(lo)?;
        let first = t.inlines.checked_add(lo.checked_mul(InlineEntry::SIZE)?)?;
        let end = first.checked_add(count.checked_mul(InlineEntry::SIZE)?)?;
        if end > self.records.end || count == 0 {
            return None;
        }
        let ranges = entries::<{ InlineEntry::SIZE }>(b, first, count);
        let k = upper_bound(ranges.len(), |k| {
            u32::read_le(&ranges[k], InlineEntry::START) <= rel
        });
        let at = first + k.checked_sub(1)? * InlineEntry::SIZE;
        // The end first: the call site is read only when the range covers `rel`.
        if rel >= u32::read_le(b, at + InlineEntry::END) {
            return None;
        }
        Some(at)
    }

    /// Benchmark floor, not API: only the search for the interval covering `addr` (TOP,
    /// then one block of STARTS), answering its index. What any lookup costs before it
    /// reads a record.
    #[doc(hidden)]
    pub fn floor_search(&self, addr: u64) -> Option<usize> {
        self.find_interval(addr)
    }

    /// Benchmark floor, not API: the search and the record's header, answering the
    /// covering symbol's start address (no name, line or inline frame). What a lookup
    /// that tells only which function covers `addr` costs.
    #[doc(hidden)]
    pub fn floor_record(&self, addr: u64) -> Option<u64> {
        let h = self.record(self.locate(self.find_interval(addr)?)?).h;
        h.covers(addr).then_some(h.address)
    }

    /// Looks up each of `addrs` with `opts`, in order, calling `f(k, frame)` with the
    /// answer for `addrs[k]` (`None` when [`Index::lookup_into`] would find nothing).
    ///
    /// The answers are exactly those of [`Index::lookup_into`], one address at a time, but
    /// faster for many addresses: the lookups are pipelined, so the memory reads of the next
    /// addresses' searches overlap this one's instead of waiting behind it (on a
    /// libxul-sized index in the page cache, most of a lookup's time is those reads). One
    /// `frame` is reused: no allocation once its inline vector has grown to the deepest
    /// chain.
    pub fn lookup_each<'a>(
        &'a self,
        addrs: &[u64],
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
        mut f: impl FnMut(usize, Option<&Frame<'a>>),
    ) {
        lookup_pipelined(
            addrs.len(),
            |k| addrs.get(k).map(|&a| (self, a)),
            opts,
            frame,
            |k, found, frame| f(k, found.then_some(frame)),
        );
    }

    /// [`Index::lookup_each`] into owned answers, one per address in order: what a
    /// binding hands over to another language.
    pub fn lookup_many(&self, addrs: &[u64], opts: &LookupOptions) -> Vec<Option<OwnedFrame>> {
        let mut out = Vec::with_capacity(addrs.len());
        let mut frame = Frame::empty();
        self.lookup_each(addrs, opts, &mut frame, |_, found| {
            out.push(found.map(OwnedFrame::from));
        });
        out
    }

    /// Looks up a module-relative address with the default (Eliot-compatible) options.
    pub fn lookup(&self, addr: u64) -> Option<Frame<'_>> {
        let mut f = Frame::empty();
        self.lookup_into(addr, &LookupOptions::default(), &mut f)
            .then_some(f)
    }

    /// Looks up `addr` with `opts`.
    pub fn lookup_with(&self, addr: u64, opts: &LookupOptions) -> Option<Frame<'_>> {
        let mut f = Frame::empty();
        self.lookup_into(addr, opts, &mut f).then_some(f)
    }

    /// Looks up `addr` into `frame`, reusing its inline vector: no allocation once the
    /// vector has grown to the deepest inline chain. Returns whether a symbol was found
    /// (`frame` is unspecified otherwise). A damaged index (see [`Index::check`]) finds
    /// nothing; [`Index::try_lookup_into`] tells that case apart.
    pub fn lookup_into<'a>(
        &'a self,
        addr: u64,
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
    ) -> bool {
        // Checked after the lookup: a truncation noticed during it (the handler made the
        // faulting read return zeros) must not give a frame built from zeros.
        self.lookup_unchecked(addr, opts, frame, None) && self.check().is_ok()
    }

    /// [`Index::lookup_into`] and [`Index::frame_details`] in one search: what a crash
    /// processor's `fill_symbol` reads for each frame.
    pub(crate) fn lookup_with_details<'a>(
        &'a self,
        addr: u64,
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
        details: &mut FrameDetails,
    ) -> bool {
        self.lookup_unchecked(addr, opts, frame, Some(details)) && self.check().is_ok()
    }

    /// [`Index::lookup_into`], failing with [`ErrorKind::CorruptIndex`] rather than
    /// answering from a damaged index.
    pub fn try_lookup_into<'a>(
        &'a self,
        addr: u64,
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
    ) -> Result<bool> {
        let found = self.lookup_unchecked(addr, opts, frame, None);
        self.check()?;
        Ok(found)
    }

    #[inline(always)]
    fn lookup_unchecked<'a>(
        &'a self,
        addr: u64,
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
        details: Option<&mut FrameDetails>,
    ) -> bool {
        let pos = self.find_interval(addr).and_then(|i| self.locate(i));
        self.lookup_in(addr, pos, opts, frame, details)
    }

    /// The last stage of a lookup: `addr` in the record at `pos` (the one of the interval
    /// [`Index::find_interval`] answers for it).
    #[inline(always)]
    fn lookup_in<'a>(
        &'a self,
        addr: u64,
        pos: Option<RecordPos>,
        opts: &LookupOptions,
        frame: &mut Frame<'a>,
        mut details: Option<&mut FrameDetails>,
    ) -> bool {
        frame.inlines.clear();
        let Some(pos) = pos else {
            return false;
        };
        let r = self.record(pos);
        let s = r.h;
        if !s.covers(addr) {
            return false;
        }
        // Everything below depends only on the header: start loading the rest of the
        // FUNC's line table and its inline tables now, so the misses overlap instead of
        // queueing behind the line search.
        let tables = if s.flags & FLAG_PUBLIC == 0 {
            self.tables(&r)
        } else {
            None
        };
        // A record too large to have been loaded whole: its line offsets and inline tables
        // now (the line entries are found by the search).
        if let Some(t) = tables.as_ref().filter(|_| r.size > RECORD_PREFETCH * 64) {
            let b = self.bytes();
            prefetch(b, t.lines, t.count * LINE_OFFSET_SIZE);
            if t.depth > 0 {
                prefetch(b, t.levels, t.depth * LEVEL_SIZE + 8 * InlineEntry::SIZE);
            }
        }
        frame.function = self.record_name(&r);
        frame.function_address = s.address;
        frame.function_offset = addr - s.address;
        frame.multiple = s.flags & FLAG_MULTIPLE != 0;
        frame.file = None;
        frame.line = None;
        if let Some(d) = details.as_deref_mut() {
            *d = FrameDetails {
                parameter_size: s.param_size,
                line_address: None,
                inline_address: None,
            };
        }
        if s.flags & FLAG_PUBLIC != 0 {
            frame.kind = SymbolKind::Public;
            return true;
        }
        frame.kind = SymbolKind::Func;
        let Ok(rel) = u32::try_from(addr - s.address) else {
            return true;
        };
        let Some(t) = tables else {
            return true;
        };
        let found_line = self.line_for(&t, rel, opts);
        let (line, file, _) = found_line.unwrap_or((0, NO_FILE, 0));
        let b = self.bytes();
        if let (Some(d), Some((_, _, k))) = (details.as_deref_mut(), found_line) {
            let off = u32::read_le(b, t.lines + k * LINE_OFFSET_SIZE);
            d.line_address = s.address.checked_add(u64::from(off));
        }
        // Walk the inline levels outermost first, collecting each level's call site.
        for d in 0..t.depth {
            let Some(at) = self.inline_pos(&t, d, rel) else {
                break;
            };
            let (origin, call_file, call_line) = (
                u32::read_le(b, at + InlineEntry::ORIGIN),
                u32::read_le(b, at + InlineEntry::CALL_FILE),
                u32::read_le(b, at + InlineEntry::CALL_LINE),
            );
            if d == 0 {
                if let Some(det) = details.as_deref_mut() {
                    let off = u32::read_le(b, at + InlineEntry::START);
                    det.inline_address = s.address.checked_add(u64::from(off));
                }
            }
            frame.inlines.push(InlineFrame {
                function: self.origin(origin),
                file: self.file(call_file),
                line: (call_line != 0).then_some(call_line),
            });
        }
        let (line_file, line_no) = (self.file(file), (line != 0).then_some(line));
        let n = frame.inlines.len();
        if n == 0 {
            frame.file = line_file;
            frame.line = line_no;
            return true;
        }
        // Shift the call sites by one: the outer frame is at depth 0's call site, inline
        // frame k (outermost first) at the call site of depth k + 1, and the innermost at
        // the line record. Then reverse to innermost first.
        frame.file = frame.inlines[0].file;
        frame.line = frame.inlines[0].line;
        for k in 0..n - 1 {
            frame.inlines[k].file = frame.inlines[k + 1].file;
            frame.inlines[k].line = frame.inlines[k + 1].line;
        }
        frame.inlines[n - 1].file = line_file;
        frame.inlines[n - 1].line = line_no;
        frame.inlines.reverse();
        true
    }
}

/// How many addresses ahead each stage of [`lookup_pipelined`] runs: the first (the TOP
/// search, which starts loading a block of STARTS) runs `2 * PIPELINE_DISTANCE` addresses
/// ahead of the answer, the second (the block search, which starts loading the record)
/// `PIPELINE_DISTANCE` ahead.
const PIPELINE_DISTANCE: usize = 2;

/// Looks up `n` items in order, each `item(k)` an index and an address (`None`: nothing
/// to look up, answered as not found), calling `f(k, found, frame)` for each: the lookups
/// of [`Index::lookup_into`], in three stages run on different items, so that the memory
/// reads of the items ahead overlap the one being answered. The items may be in different
/// indexes.
pub(crate) fn lookup_pipelined<'a>(
    n: usize,
    item: impl Fn(usize) -> Option<(&'a Index, u64)>,
    opts: &LookupOptions,
    frame: &mut Frame<'a>,
    mut f: impl FnMut(usize, bool, &Frame<'a>),
) {
    const D: usize = PIPELINE_DISTANCE;
    const RING: usize = 2 * D + 1;
    // What the first two stages found for the items in flight, by `k % RING`.
    let mut blocks: [Option<Block>; RING] = [None; RING];
    let mut records: [Option<RecordPos>; RING] = [None; RING];
    for k in 0..n + 2 * D {
        if k < n {
            blocks[k % RING] = item(k).and_then(|(index, addr)| index.find_block(addr));
        }
        if let Some(j) = k.checked_sub(D).filter(|&j| j < n) {
            // The record starts loading; the answer reads it D items later.
            records[j % RING] = match (item(j), blocks[j % RING].take()) {
                (Some((index, addr)), Some(block)) => index
                    .search_block(addr, block)
                    .and_then(|i| index.locate(i)),
                _ => None,
            };
        }
        if let Some(j) = k.checked_sub(2 * D) {
            let found = match item(j) {
                Some((index, addr)) => {
                    let pos = records[j % RING].take();
                    index.lookup_in(addr, pos, opts, frame, None) && index.check().is_ok()
                }
                None => {
                    frame.inlines.clear();
                    false
                }
            };
            f(j, found, frame);
        }
    }
}
