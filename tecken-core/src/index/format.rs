//! The on-disk layout of an index file: constants and entry sizes shared by the writer and
//! the reader. The byte-by-byte description is in the [module docs](super).

/// The first 8 bytes of every index file.
pub const MAGIC: [u8; 8] = *b"TECKNIDX";
/// The format version this library writes.
///
/// 2: header checksum; TOP section; line offsets apart from line numbers.
pub const VERSION: u32 = 2;
/// The oldest format version this library reads.
pub const MIN_VERSION: u32 = 2;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = 64;
/// Size of one section-table entry.
pub const SECTION_ENTRY_SIZE: usize = 24;

/// Section ids, in the order they are written.
pub mod section {
    /// UTF-8 JSON metadata ([`crate::index::IndexMeta`]).
    pub const META: u32 = 1;
    /// `u64` start of every [`TOP_STRIDE`](super::TOP_STRIDE)-th interval: the first
    /// level of the search, small enough to stay in cache.
    pub const TOP: u32 = 2;
    /// `u64` start address of each symbol interval, sorted ascending.
    pub const STARTS: u32 = 3;
    /// One [`SYM_SIZE`](super::SYM_SIZE)-byte entry per interval, parallel to `STARTS`.
    pub const SYMS: u32 = 4;
    /// `u32` offset of each line entry from its FUNC's start, grouped per FUNC.
    pub const LINE_OFFSETS: u32 = 5;
    /// Line entries (line, file), parallel to `LINE_OFFSETS`.
    pub const LINES: u32 = 6;
    /// Inline levels: `(start, count)` into `INLINES`, grouped per FUNC.
    pub const LEVELS: u32 = 7;
    /// Inline ranges.
    pub const INLINES: u32 = 8;
    /// Source files: raw and cleaned path.
    pub const FILES: u32 = 9;
    /// Inline origins: function names.
    pub const ORIGINS: u32 = 10;
    /// The string blob everything else points into.
    pub const STRINGS: u32 = 11;
    /// Every section, in file order, with its entry size.
    pub const ALL: [(u32, usize); 11] = [
        (META, 1),
        (TOP, 8),
        (STARTS, 8),
        (SYMS, super::SYM_SIZE),
        (LINE_OFFSETS, 4),
        (LINES, super::LINE_SIZE),
        (LEVELS, super::LEVEL_SIZE),
        (INLINES, super::INLINE_SIZE),
        (FILES, super::FILE_SIZE),
        (ORIGINS, super::ORIGIN_SIZE),
        (STRINGS, 1),
    ];
}

/// Size of a symbol entry.
pub const SYM_SIZE: usize = 40;
/// Size of a line entry (line number and file; the offsets are a section of their own).
pub const LINE_SIZE: usize = 8;
/// One `TOP` entry per this many intervals.
pub const TOP_STRIDE: usize = 64;
/// Header bytes that hold the header checksum (CRC-32 of the header without these bytes,
/// and of the section table).
pub const HEADER_CRC_AT: usize = 40;
/// Size of an inline level entry.
pub const LEVEL_SIZE: usize = 8;
/// Size of an inline range entry.
pub const INLINE_SIZE: usize = 20;
/// Size of a file entry.
pub const FILE_SIZE: usize = 16;
/// Size of an origin entry.
pub const ORIGIN_SIZE: usize = 8;

/// Symbol flag: the symbol is a PUBLIC (no size, no lines).
pub const FLAG_PUBLIC: u16 = 1;
/// Symbol flag: the record had the `m` ("multiple") marker.
pub const FLAG_MULTIPLE: u16 = 2;

/// `file` value of a line entry or call site that names no known FILE.
pub const NO_FILE: u32 = u32::MAX;
/// `file` value of a gap marker: no line record covers the bytes from here to the next entry.
pub const GAP: u32 = u32::MAX - 1;
/// Origin index that names no known INLINE_ORIGIN.
pub const NO_ORIGIN: u32 = u32::MAX;
/// `end` of an interval that runs to the end of the address space (a last PUBLIC).
pub const UNBOUNDED: u64 = u64::MAX;

/// Rounds `n` up to a multiple of 8 (sections are 8-byte aligned).
pub const fn align8(n: u64) -> u64 {
    (n + 7) & !7
}
