//! The on-disk layout of an index file, defined once: the constants, and one encode/decode
//! definition per record layout (header, section-table entry and every section's entry),
//! used by both the builder and the reader.
//!
//! # Layout
//!
//! All integers are little-endian. Sections start at 8-byte-aligned offsets; padding is zero.
//!
//! ```text
//! offset size  header (64 bytes)
//!  0      8    magic  "TECKNIDX"
//!  8      4    format version (u32), currently 3 (2: no unwind sections, no parameter
//!              sizes; 1: no TOP, no header checksum, 12-byte line entries; both rejected
//!              as too old)
//! 12      4    header size (u32) = 64
//! 16      8    file size (u64): the whole file; a truncated file fails this check
//! 24      4    section count N (u32)
//! 28      4    CRC-32 (IEEE) of every byte after the section table (checked by `verify`)
//! 32      8    interval count (u64), the number of entries in STARTS and OFFSETS
//! 40      4    header checksum: CRC-32 (IEEE) of bytes 0..40 and 44..64 of the header,
//!              then the section table
//! 44     20    reserved, zero
//! 64   24*N    section table, one entry per section, in file order:
//!                u32 id, u32 entry size, u64 offset, u64 length in bytes
//! ```
//!
//! The sections, in file order ([`section::ALL`]; an id names a section, its position in
//! the file is its index in that list, so sections can be added or reordered by a later
//! version without renumbering):
//!
//! | id | name | entry | contents |
//! |---|---|---|---|
//! | 1 | META | 1 | UTF-8 JSON [`IndexMeta`](super::IndexMeta): MODULE/INFO header, parse report, counts |
//! | 2 | TOP | 8 | `u64` start of intervals 0, 64, 128, ...: `ceil(n / 64)` entries |
//! | 3 | STARTS | 8 | `u64` start of each symbol interval, strictly ascending |
//! | 4 | OFFSETS | 4 | parallel to STARTS: `u32` position of the interval's record in RECORDS, in 4-byte units |
//! | 5 | RECORDS | 4 | one record per interval (below), each at a multiple of 4 bytes, in interval order |
//! | 9 | FILES | 16 | `u32 raw offset`, `u32 raw length`, `u32 cleaned offset`, `u32 cleaned length` into STRINGS |
//! | 10 | ORIGINS | 8 | `u32 offset`, `u32 length` into STRINGS |
//! | 13 | CFI_STARTS | 8 | `u64` start of each `STACK CFI INIT` range, strictly ascending |
//! | 14 | CFI_INITS | 12 | parallel to CFI_STARTS: `u32 size` (> 0), `u32 rules` (index into RULES), `u32 first delta` (into CFI_DELTAS; the range's deltas run to the next INIT's first delta, the last one's to the end of CFI_DELTAS) |
//! | 15 | CFI_DELTAS | 8 | `u32 offset` from the INIT's start (< its size), `u32 rules` (index into RULES); in application order within an INIT |
//! | 16 | WIN_FRAMEDATA | 40 | `STACK WIN 4` records: `u64 address`, `u32 size` (> 0), `u32 prologue size`, `u32 epilogue size`, `u32 parameter size`, `u32 saved register size`, `u32 local size`, `u32 max stack size`, `u32 program` (index into RULES); ascending, non-overlapping |
//! | 17 | WIN_FPO | 40 | `STACK WIN 0` records, as WIN_FRAMEDATA but the last field is `allocates_base_pointer` (0 or 1) |
//! | 18 | RULES | 8 | `u32 offset`, `u32 length` into STRINGS: each distinct CFI rule string and STACK WIN program string once |
//! | 11 | STRINGS | 1 | UTF-8 bytes of file paths, inline origin names and rule strings (paths and origins that were not UTF-8 are stored lossily converted) |
//!
//! # Interval records
//!
//! Everything a lookup reads about one interval, but for shared file paths and inline
//! origin names, lies in one contiguous record, so the line search and the inline searches
//! hit cache lines the first read of the record already fetched (or that were prefetched
//! together with it). A record is a 32-byte header, then variable parts, at these offsets
//! from its start (`P = 32 + N` rounded up to a multiple of 4):
//!
//! ```text
//! offset      size   record of one interval (FUNC or PUBLIC run)
//!  0          8      end (u64), exclusive; u64::MAX = to the end of the address space
//!  8          8      address (u64) of the FUNC or PUBLIC (a PUBLIC's run may start later)
//! 16          4      parameter size (u32) of the FUNC or PUBLIC
//! 20          4      name length N (u32)
//! 24          4      line entry count L (u32); 0 for a PUBLIC
//! 28          2      inline level count V (u16); 0 for a PUBLIC
//! 30          2      flags (u16): 1 = PUBLIC, 2 = `m`
//! 32          N      the symbol's name, UTF-8 (lossily converted if the input was not),
//!                    then zero padding to P
//! P           4L     u32 offset of each line entry from the FUNC's start, ascending
//! P+4L        8L     parallel to those: u32 line, u32 file index (0xFFFFFFFF no file,
//!                    0xFFFFFFFE gap marker: no line record covers the bytes from here)
//! P+12L       4V     per inline depth, outermost first: u32 end of its ranges, the number
//!                    of inline ranges of this depth and all shallower ones (so depth d's
//!                    ranges are those from depth d-1's end, or 0, to its own)
//! P+12L+4V    20I    inline ranges (I = the last depth's end): u32 start offset, u32 end
//!                    offset (from the FUNC's start), u32 origin index (0xFFFFFFFF none),
//!                    u32 call file index, u32 call line; ascending and non-overlapping
//!                    within a depth
//! P+12L+4V+20I       zero padding to a multiple of 4 (none: every part above is)
//! ```
//!
//! A lookup reads TOP (in cache), one 512-byte block of STARTS and the 256 bytes of
//! OFFSETS beside it (loaded together), then one record: its first lines hold the header
//! and the name, the rest the line and inline tables; then the FILES and ORIGINS entries
//! it names and their strings (shared, so often in cache).
//!
//! # Unwind sections
//!
//! The builder resolves overlaps once, as `breakpad-symbols` 0.27 does when it loads a
//! file (its `into_rangemap_safe`), so a search finds at most one record:
//!
//! - CFI: every `STACK CFI` delta belongs to the last `STACK CFI INIT` before it (FUNC,
//!   PUBLIC and other STACK records end an INIT's deltas, as they end a FUNC's line
//!   records; a delta after one of them is malformed). `breakpad-symbols` ends an INIT at
//!   any other record, and rejects the whole file for a delta after FILE, say; Breakpad's
//!   C++ keys deltas by address alone. The three agree on what `dump_syms` writes. An INIT of size 0,
//!   or whose end overflows, is dropped. INITs are sorted by (start, end) and one that
//!   overlaps the last kept one is dropped: of overlapping ranges the lowest start wins,
//!   then the shortest, then the first in the file (Breakpad's C++ keeps the first in file
//!   order instead; the two agree on every file `dump_syms` writes, whose INITs are
//!   disjoint). An INIT's deltas are sorted by (address, rule string), as
//!   `breakpad-symbols` sorts them; a delta at or past the INIT's end never applies and is
//!   dropped; one before its start applies everywhere in the range (as there) and is
//!   stored at offset 0.
//! - WIN: per type, in file order, a record that overlaps the previous one of its type and
//!   starts after it cuts the previous one short (MSVC writes nested records whose sizes
//!   run to the function's end); one that overlaps it otherwise, with another range, is
//!   dropped. Then the same (start, end) rule as for CFI. Types other than 4 and 0 are
//!   not stored. An unwinder tries FrameData before FPO at an address.
//! - Rule and program strings are stored once each (a CFI-heavy 61 MB file has ~1,600
//!   distinct ones), in order of first appearance.
//!
//! # Record definitions
//!
//! Each fixed-size record above is a `layout!` struct in this module: its size, the offset
//! of each field, `encode` (the entry's bytes, for the builder) and `decode` (for the
//! reader). Every field read is bounds-checked and reads zero out of bounds, so a corrupt
//! file gives wrong values, never a panic. The reader's hot path reads single fields at
//! the named offsets (`Entry::FIELD`) rather than decoding whole entries where it only
//! needs one, exactly as many loads as a hand-written reader. The tests check that every
//! layout's fields tile its size with no gap or overlap and that the sizes match the
//! section table.

/// The first 8 bytes of every index file.
pub const MAGIC: [u8; 8] = *b"TECKNIDX";
/// The format version this library writes.
///
/// 2: header checksum; TOP section; line offsets apart from line numbers.
/// 3: one record per interval (symbol, parameter size, name, line and inline tables
///    together); STACK CFI and STACK WIN sections with their RULES table.
pub const VERSION: u32 = 3;
/// The oldest format version this library reads.
pub const MIN_VERSION: u32 = 3;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = Header::SIZE;
/// Size of one section-table entry.
pub const SECTION_ENTRY_SIZE: usize = SectionEntry::SIZE;

/// Section ids, in the order they are written.
pub mod section {
    /// UTF-8 JSON metadata ([`crate::index::IndexMeta`]).
    pub const META: u32 = 1;
    /// `u64` start of every [`TOP_STRIDE`](super::TOP_STRIDE)-th interval: the first
    /// level of the search, small enough to stay in cache.
    pub const TOP: u32 = 2;
    /// `u64` start address of each symbol interval, sorted ascending.
    pub const STARTS: u32 = 3;
    /// `u32` position of each interval's record in `RECORDS` (4-byte units), parallel to
    /// `STARTS`.
    pub const OFFSETS: u32 = 4;
    /// One record per interval: symbol, parameter size, name, line and inline tables.
    pub const RECORDS: u32 = 5;
    /// Source files: raw and cleaned path.
    pub const FILES: u32 = 9;
    /// Inline origins: function names.
    pub const ORIGINS: u32 = 10;
    /// The string blob everything else points into.
    pub const STRINGS: u32 = 11;
    /// `u64` start address of each `STACK CFI INIT` range, sorted ascending.
    pub const CFI_STARTS: u32 = 13;
    /// One entry per CFI range, parallel to `CFI_STARTS`.
    pub const CFI_INITS: u32 = 14;
    /// `STACK CFI` delta rows, grouped per INIT.
    pub const CFI_DELTAS: u32 = 15;
    /// `STACK WIN 4` (FrameData) records, sorted by address.
    pub const WIN_FRAMEDATA: u32 = 16;
    /// `STACK WIN 0` (FPO) records, sorted by address.
    pub const WIN_FPO: u32 = 17;
    /// The distinct CFI rule and STACK WIN program strings.
    pub const RULES: u32 = 18;
    /// Every section, in file order, with its entry size.
    pub const ALL: [(u32, usize); 14] = [
        (META, 1),
        (TOP, super::ADDR_SIZE),
        (STARTS, super::ADDR_SIZE),
        (OFFSETS, super::RECORD_OFFSET_SIZE),
        (RECORDS, super::RECORD_ALIGN),
        (FILES, super::FILE_SIZE),
        (ORIGINS, super::ORIGIN_SIZE),
        (CFI_STARTS, super::ADDR_SIZE),
        (CFI_INITS, super::CfiInitEntry::SIZE),
        (CFI_DELTAS, super::CfiDeltaEntry::SIZE),
        (WIN_FRAMEDATA, super::WinEntry::SIZE),
        (WIN_FPO, super::WinEntry::SIZE),
        (RULES, super::RuleEntry::SIZE),
        (STRINGS, 1),
    ];
}

/// The position of each section in the file and in the section table (its index in
/// [`section::ALL`]), derived from that list.
pub(crate) mod slot {
    use super::section;

    /// The index of section `id` in [`section::ALL`] (its length if missing, which the
    /// assertion below turns into a compile error).
    const fn of(id: u32) -> usize {
        let mut i = 0;
        while i < section::ALL.len() {
            if section::ALL[i].0 == id {
                return i;
            }
            i += 1;
        }
        section::ALL.len()
    }

    pub(crate) const META: usize = of(section::META);
    pub(crate) const TOP: usize = of(section::TOP);
    pub(crate) const STARTS: usize = of(section::STARTS);
    pub(crate) const OFFSETS: usize = of(section::OFFSETS);
    pub(crate) const RECORDS: usize = of(section::RECORDS);
    pub(crate) const FILES: usize = of(section::FILES);
    pub(crate) const ORIGINS: usize = of(section::ORIGINS);
    pub(crate) const CFI_STARTS: usize = of(section::CFI_STARTS);
    pub(crate) const CFI_INITS: usize = of(section::CFI_INITS);
    pub(crate) const CFI_DELTAS: usize = of(section::CFI_DELTAS);
    pub(crate) const WIN_FRAMEDATA: usize = of(section::WIN_FRAMEDATA);
    pub(crate) const WIN_FPO: usize = of(section::WIN_FPO);
    pub(crate) const RULES: usize = of(section::RULES);
    pub(crate) const STRINGS: usize = of(section::STRINGS);
    /// Number of sections.
    pub(crate) const COUNT: usize = section::ALL.len();

    // Every section is in `section::ALL`.
    const _: () = {
        let all = [
            META,
            TOP,
            STARTS,
            OFFSETS,
            RECORDS,
            FILES,
            ORIGINS,
            CFI_STARTS,
            CFI_INITS,
            CFI_DELTAS,
            WIN_FRAMEDATA,
            WIN_FPO,
            RULES,
            STRINGS,
        ];
        let mut i = 0;
        while i < all.len() {
            assert!(all[i] < COUNT, "a section is missing from section::ALL");
            i += 1;
        }
    };
}

/// One `TOP` entry per this many intervals.
pub const TOP_STRIDE: usize = 64;
/// Header bytes that hold the header checksum (CRC-32 of the header without these bytes,
/// and of the section table).
pub const HEADER_CRC_AT: usize = Header::HEADER_CRC;
/// Size of a file entry.
pub const FILE_SIZE: usize = FileEntry::SIZE;
/// Size of an origin entry.
pub const ORIGIN_SIZE: usize = OriginEntry::SIZE;
/// Size of a TOP or STARTS entry: a `u64` address.
pub(crate) const ADDR_SIZE: usize = 8;
/// Size of an OFFSETS entry: a `u32` position in RECORDS.
pub(crate) const RECORD_OFFSET_SIZE: usize = 4;
/// Records start at multiples of this many bytes; OFFSETS count in these units.
pub(crate) const RECORD_ALIGN: usize = 4;
/// Size of a line offset in a record: a `u32` offset from the FUNC's start.
pub(crate) const LINE_OFFSET_SIZE: usize = 4;
/// Size of an inline depth's entry in a record: the `u32` end of its ranges.
pub(crate) const LEVEL_SIZE: usize = 4;

/// The offset of a record's line offsets from its start, for a name of `name_len` bytes.
#[inline(always)]
pub(crate) const fn record_tables_at(name_len: usize) -> usize {
    RecordHeader::SIZE + align4(name_len)
}

/// Rounds `n` up to a multiple of 4.
#[inline(always)]
pub(crate) const fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

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

/// File offset of the first section: the header and section table, padded to 8 bytes.
pub(crate) const BODY_START: u64 = align8((HEADER_SIZE + SECTION_ENTRY_SIZE * slot::COUNT) as u64);

/// The file offset of each section, given their lengths: each at the next 8-byte boundary
/// after the one before, from [`BODY_START`]. Also returns the file size (the end of the
/// last section, padded).
pub(crate) fn section_offsets(lens: &[u64; slot::COUNT]) -> ([u64; slot::COUNT], u64) {
    let mut offsets = [0u64; slot::COUNT];
    let mut pos = BODY_START;
    for (off, len) in offsets.iter_mut().zip(lens) {
        *off = pos;
        pos = align8(pos + len);
    }
    (offsets, pos)
}

/// CRC-32 of the header (without the header checksum's own 4 bytes) and the section table.
pub(crate) fn header_checksum(header: &[u8], table: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header.get(..HEADER_CRC_AT).unwrap_or(&[]));
    h.update(header.get(HEADER_CRC_AT + 4..HEADER_SIZE).unwrap_or(&[]));
    h.update(table);
    h.finalize()
}

/// A little-endian field of a record.
pub(crate) trait Field: Copy {
    /// Width in bytes.
    const WIDTH: usize;
    /// Reads the field at `b[at..]`; zero when it does not lie inside `b`.
    fn read_le(b: &[u8], at: usize) -> Self;
    /// Writes the field at `out[at..]`; nothing when it does not lie inside `out`.
    fn write_le(self, out: &mut [u8], at: usize);
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();

            #[inline(always)]
            fn read_le(b: &[u8], at: usize) -> Self {
                match b.get(at..at + Self::WIDTH) {
                    Some(s) => {
                        let mut a = [0u8; std::mem::size_of::<$t>()];
                        a.copy_from_slice(s);
                        <$t>::from_le_bytes(a)
                    }
                    None => 0,
                }
            }

            #[inline(always)]
            fn write_le(self, out: &mut [u8], at: usize) {
                if let Some(d) = out.get_mut(at..at + Self::WIDTH) {
                    d.copy_from_slice(&self.to_le_bytes());
                }
            }
        }
    )*};
}
int_field!(u16, u32, u64);

/// Raw bytes (the magic, reserved space).
impl<const N: usize> Field for [u8; N] {
    const WIDTH: usize = N;

    #[inline(always)]
    fn read_le(b: &[u8], at: usize) -> Self {
        let mut a = [0u8; N];
        if let Some(s) = b.get(at..at + N) {
            a.copy_from_slice(s);
        }
        a
    }

    #[inline(always)]
    fn write_le(self, out: &mut [u8], at: usize) {
        if let Some(d) = out.get_mut(at..at + N) {
            d.copy_from_slice(&self);
        }
    }
}

/// Defines a fixed-size record: a struct with its fields, `SIZE`, a named offset per field,
/// `decode` and `encode`.
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub(crate) struct $name:ident: $size:literal {
            $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $off_name:ident @ $off:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub(crate) struct $name {
            $( $(#[$fmeta])* pub(crate) $field: $ty, )*
        }

        #[allow(
            dead_code,
            reason = "not every field is read on its own, so not every offset is used outside `decode`"
        )]
        impl $name {
            /// Size of one record in bytes.
            pub(crate) const SIZE: usize = $size;
            $(
                #[doc = concat!("Offset of `", stringify!($field), "` in the record.")]
                pub(crate) const $off_name: usize = $off;
            )*
            /// `(offset, width)` of every field, in order.
            pub(crate) const FIELDS: &'static [(usize, usize)] =
                &[$( ($off, <$ty as Field>::WIDTH) ),*];

            /// Reads the record at `b[at..]` (each field bounds-checked, zero out of bounds).
            #[inline(always)]
            pub(crate) fn decode(b: &[u8], at: usize) -> Self {
                $name { $( $field: <$ty as Field>::read_le(b, at + $off), )* }
            }

            /// The record's bytes.
            #[inline(always)]
            pub(crate) fn encode(&self) -> [u8; $size] {
                let mut e = [0u8; $size];
                $( Field::write_le(self.$field, &mut e, $off); )*
                e
            }
        }
    };
}

layout! {
    /// The fixed header at the start of the file.
    pub(crate) struct Header: 64 {
        /// [`MAGIC`].
        magic: [u8; 8] = MAGIC_AT @ 0,
        /// Format version.
        version: u32 = VERSION_AT @ 8,
        /// [`HEADER_SIZE`].
        header_size: u32 = HEADER_SIZE_AT @ 12,
        /// Size of the whole file.
        file_size: u64 = FILE_SIZE_AT @ 16,
        /// Number of section-table entries.
        section_count: u32 = SECTION_COUNT @ 24,
        /// CRC-32 of every byte after the section table.
        body_crc: u32 = BODY_CRC @ 28,
        /// Number of entries in STARTS and OFFSETS.
        intervals: u64 = INTERVALS @ 32,
        /// CRC-32 of the header without these bytes, then of the section table
        /// ([`header_checksum`]).
        header_crc: u32 = HEADER_CRC @ 40,
        /// Zero.
        reserved: [u8; 20] = RESERVED @ 44,
    }
}

layout! {
    /// One entry of the section table.
    pub(crate) struct SectionEntry: 24 {
        /// Section id ([`section`]).
        id: u32 = ID @ 0,
        /// Size of one entry of the section.
        entry_size: u32 = ENTRY_SIZE @ 4,
        /// File offset of the section.
        offset: u64 = OFFSET @ 8,
        /// Length in bytes, without padding.
        len: u64 = LEN @ 16,
    }
}

layout! {
    /// The header of an interval's record in RECORDS (its variable parts follow).
    pub(crate) struct RecordHeader: 32 {
        /// End of the interval, exclusive ([`UNBOUNDED`]: to the end of the address space).
        end: u64 = END @ 0,
        /// Address of the symbol.
        address: u64 = ADDRESS @ 8,
        /// Parameter size of the FUNC or PUBLIC.
        param_size: u32 = PARAM_SIZE_AT @ 16,
        /// Length of the name that follows the header.
        name_len: u32 = NAME_LEN @ 20,
        /// Number of line entries.
        line_count: u32 = LINE_COUNT @ 24,
        /// Number of inline depths.
        level_count: u16 = LEVEL_COUNT @ 28,
        /// [`FLAG_PUBLIC`], [`FLAG_MULTIPLE`].
        flags: u16 = FLAGS @ 30,
    }
}

impl RecordHeader {
    /// Whether the interval covers `addr`: `end` is exclusive, except [`UNBOUNDED`] (the
    /// last PUBLIC's run), which means "to the end of the address space" and so also covers
    /// `u64::MAX` itself.
    #[inline]
    pub(crate) fn covers(&self, addr: u64) -> bool {
        addr >= self.address && (addr < self.end || self.end == UNBOUNDED)
    }
}

layout! {
    /// A line entry of a record, parallel to its line offsets.
    pub(crate) struct LineEntry: 8 {
        /// Line number (0: none).
        line: u32 = LINE @ 0,
        /// File index, [`NO_FILE`], or [`GAP`].
        file: u32 = FILE @ 4,
    }
}

layout! {
    /// An inline range of a record.
    pub(crate) struct InlineEntry: 20 {
        /// Start, as an offset from the FUNC's start.
        start: u32 = START @ 0,
        /// End (exclusive), as an offset from the FUNC's start.
        end: u32 = END @ 4,
        /// Origin index or [`NO_ORIGIN`].
        origin: u32 = ORIGIN @ 8,
        /// Call site's file index or [`NO_FILE`].
        call_file: u32 = CALL_FILE @ 12,
        /// Call site's line (0: none).
        call_line: u32 = CALL_LINE @ 16,
    }
}

layout! {
    /// A FILES entry: a source file's raw and cleaned path in STRINGS.
    pub(crate) struct FileEntry: 16 {
        /// Raw path: offset.
        raw_off: u32 = RAW_OFF @ 0,
        /// Raw path: length.
        raw_len: u32 = RAW_LEN @ 4,
        /// Cleaned path: offset.
        cleaned_off: u32 = CLEANED_OFF @ 8,
        /// Cleaned path: length.
        cleaned_len: u32 = CLEANED_LEN @ 12,
    }
}

layout! {
    /// An ORIGINS entry: an inline origin's name in STRINGS.
    pub(crate) struct OriginEntry: 8 {
        /// Name: offset.
        off: u32 = OFF @ 0,
        /// Name: length.
        len: u32 = LEN @ 4,
    }
}

layout! {
    /// A CFI_INITS entry: one `STACK CFI INIT` range (its start is in CFI_STARTS).
    pub(crate) struct CfiInitEntry: 12 {
        /// Size of the range in bytes.
        size: u32 = SIZE_AT @ 0,
        /// The initial rules: index into RULES.
        rules: u32 = RULES_AT @ 4,
        /// First entry of CFI_DELTAS.
        first_delta: u32 = FIRST_DELTA @ 8,
    }
}

layout! {
    /// A CFI_DELTAS entry: one `STACK CFI` row of an INIT.
    pub(crate) struct CfiDeltaEntry: 8 {
        /// Address, as an offset from the INIT's start.
        offset: u32 = OFFSET @ 0,
        /// The rules: index into RULES.
        rules: u32 = RULES_AT @ 4,
    }
}

layout! {
    /// A WIN_FRAMEDATA or WIN_FPO entry: one `STACK WIN` record.
    pub(crate) struct WinEntry: 40 {
        /// Start address.
        address: u64 = ADDRESS @ 0,
        /// Size of the code covered.
        size: u32 = SIZE_AT @ 8,
        /// Prologue size.
        prologue_size: u32 = PROLOGUE @ 12,
        /// Epilogue size.
        epilogue_size: u32 = EPILOGUE @ 16,
        /// Parameter size.
        parameter_size: u32 = PARAMETER @ 20,
        /// Saved register size.
        saved_register_size: u32 = SAVED_REGISTERS @ 24,
        /// Local size.
        local_size: u32 = LOCALS @ 28,
        /// Maximum stack size.
        max_stack_size: u32 = MAX_STACK @ 32,
        /// FrameData: the program string's index into RULES; FPO: `allocates_base_pointer`.
        program: u32 = PROGRAM @ 36,
    }
}

layout! {
    /// A RULES entry: a rule or program string in STRINGS.
    pub(crate) struct RuleEntry: 8 {
        /// Offset.
        off: u32 = OFF @ 0,
        /// Length.
        len: u32 = LEN @ 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field lies inside the record, right after the one before, and the last ends it.
    fn tiles(name: &str, size: usize, fields: &[(usize, usize)]) {
        let mut at = 0;
        for &(off, width) in fields {
            assert_eq!(off, at, "{name}: field at {off} leaves a gap or overlaps");
            at += width;
        }
        assert_eq!(at, size, "{name}: fields do not fill the record");
    }

    #[test]
    fn every_layout_is_tiled_by_its_fields() {
        tiles("Header", Header::SIZE, Header::FIELDS);
        tiles("SectionEntry", SectionEntry::SIZE, SectionEntry::FIELDS);
        tiles("RecordHeader", RecordHeader::SIZE, RecordHeader::FIELDS);
        tiles("LineEntry", LineEntry::SIZE, LineEntry::FIELDS);
        tiles("InlineEntry", InlineEntry::SIZE, InlineEntry::FIELDS);
        tiles("FileEntry", FileEntry::SIZE, FileEntry::FIELDS);
        tiles("OriginEntry", OriginEntry::SIZE, OriginEntry::FIELDS);
        tiles("CfiInitEntry", CfiInitEntry::SIZE, CfiInitEntry::FIELDS);
        tiles("CfiDeltaEntry", CfiDeltaEntry::SIZE, CfiDeltaEntry::FIELDS);
        tiles("WinEntry", WinEntry::SIZE, WinEntry::FIELDS);
        tiles("RuleEntry", RuleEntry::SIZE, RuleEntry::FIELDS);
    }

    #[test]
    fn layout_sizes_are_the_documented_ones() {
        assert_eq!(Header::SIZE, 64);
        assert_eq!(Header::HEADER_CRC, 40);
        assert_eq!(SectionEntry::SIZE, 24);
        assert_eq!(RecordHeader::SIZE, 32);
        assert_eq!(LineEntry::SIZE, 8);
        assert_eq!(InlineEntry::SIZE, 20);
        assert_eq!(FileEntry::SIZE, 16);
        assert_eq!(OriginEntry::SIZE, 8);
        assert_eq!(CfiInitEntry::SIZE, 12);
        assert_eq!(CfiDeltaEntry::SIZE, 8);
        assert_eq!(WinEntry::SIZE, 40);
        assert_eq!(RuleEntry::SIZE, 8);
        assert_eq!(BODY_START, 64 + 24 * 14);
        // Each record's encoding is its size.
        assert_eq!(RecordHeader::default().encode().len(), RecordHeader::SIZE);
        assert_eq!(record_tables_at(0), 32);
        assert_eq!(record_tables_at(5), 40);
        assert_eq!(record_tables_at(8), 40);
        assert_eq!(Header::default().encode().len(), HEADER_SIZE);
    }

    #[test]
    fn slots_name_the_sections_in_file_order() {
        let slots = [
            (slot::META, section::META),
            (slot::TOP, section::TOP),
            (slot::STARTS, section::STARTS),
            (slot::OFFSETS, section::OFFSETS),
            (slot::RECORDS, section::RECORDS),
            (slot::FILES, section::FILES),
            (slot::ORIGINS, section::ORIGINS),
            (slot::CFI_STARTS, section::CFI_STARTS),
            (slot::CFI_INITS, section::CFI_INITS),
            (slot::CFI_DELTAS, section::CFI_DELTAS),
            (slot::WIN_FRAMEDATA, section::WIN_FRAMEDATA),
            (slot::WIN_FPO, section::WIN_FPO),
            (slot::RULES, section::RULES),
            (slot::STRINGS, section::STRINGS),
        ];
        for (i, &(s, id)) in slots.iter().enumerate() {
            assert_eq!((s, section::ALL[s].0), (i, id));
        }
        assert_eq!(slot::COUNT, slots.len());
        // Ids are unique.
        let mut ids: Vec<u32> = section::ALL.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), slot::COUNT);
    }

    #[test]
    fn records_round_trip_and_write_little_endian() {
        let s = RecordHeader {
            end: 0x0102_0304_0506_0708,
            address: 0x1112_1314_1516_1718,
            param_size: 0x2122_2324,
            name_len: 0x3132_3334,
            line_count: 0x4142_4344,
            level_count: 0x5152,
            flags: 0x6162,
        };
        let b = s.encode();
        assert_eq!(b[0..8], 0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(b[RecordHeader::FLAGS..], 0x6162u16.to_le_bytes());
        assert_eq!(RecordHeader::decode(&b, 0), s);
        // Out of bounds: zeros, no panic.
        assert_eq!(RecordHeader::decode(&b[..26], 0).line_count, 0);
        assert_eq!(RecordHeader::decode(&b[..26], 0).name_len, s.name_len);
        assert_eq!(RecordHeader::decode(&b, 1000), RecordHeader::default());
        let h = Header {
            magic: MAGIC,
            version: VERSION,
            header_size: HEADER_SIZE as u32,
            file_size: 1234,
            section_count: 14,
            body_crc: 0xdead_beef,
            intervals: 7,
            header_crc: 0x1234_5678,
            reserved: [0; 20],
        };
        let b = h.encode();
        assert_eq!(b[..8], *b"TECKNIDX");
        assert_eq!(
            b[HEADER_CRC_AT..HEADER_CRC_AT + 4],
            0x1234_5678u32.to_le_bytes()
        );
        assert_eq!(Header::decode(&b, 0), h);
    }

    #[test]
    fn section_offsets_are_aligned_and_follow_each_other() {
        let mut lens = [0u64; slot::COUNT];
        lens[slot::META] = 13;
        lens[slot::STRINGS] = 5;
        let (offsets, end) = section_offsets(&lens);
        assert_eq!(offsets[slot::META], BODY_START);
        assert_eq!(offsets[slot::TOP], BODY_START + 16);
        assert_eq!(offsets[slot::STRINGS], BODY_START + 16);
        assert_eq!(end, BODY_START + 24);
    }
}
