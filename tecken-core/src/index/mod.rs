//! The index: a compact, memory-mappable, read-only form of a `.sym` file for lookups.
//!
//! # Why our own format
//!
//! A libxul-scale `.sym` file has ~300 k functions and ~16 M line records. A lookup that
//! binary-searches all line starts touches ~24 cache lines; we search a small array of every
//! 64th function start (TOP, ~40 KB, stays in cache), then one 512-byte block of the
//! function starts, then read one contiguous record that holds the function's name, line
//! table and inline tables, so the line and inline searches hit cache lines fetched
//! together with the record; only shared file paths and inline names lie elsewhere. Nothing
//! is parsed when a file is opened: the reader checks the header and section table (the
//! first page only) and then reads the mapped bytes in place, each read bounds-checked.
//! Index files are mapped with `MADV_RANDOM`, so a cold lookup reads the ~10 pages it
//! touches and not a readahead window around each.
//!
//! # Layout
//!
//! A 64-byte header, a section table, then fourteen 8-byte-aligned sections (TOP, STARTS,
//! the offsets of the interval records and the records themselves, files, origins, the
//! STACK CFI and STACK WIN records with their table of rule strings, strings), all
//! little-endian. The
//! byte-by-byte layout, and the one definition of every record that the builder and the
//! reader share, are in [`format`](mod@format).
//!
//! # Unwinding
//!
//! [`Index::cfi_rules`], [`Index::stack_win`] and [`Index::preferred_stack_win`] give the
//! STACK records covering an address, for a stack walker (see [`crate::FrameWalker`]);
//! [`Index::frame_details`] the parameter size and line / inline start addresses a crash
//! processor reports with a frame. Overlapping records are resolved at build time as
//! `breakpad-symbols` resolves them when it loads a file (the
//! [format docs](format#unwind-sections) have the rules).
//!
//! # Intervals
//!
//! The builder resolves the FUNC/PUBLIC rules of the lookup contract once, at build time,
//! into disjoint intervals, so a lookup is one search:
//!
//! - a FUNC covers `[address, address + size)`; FUNCs of size 0 are dropped; a FUNC that
//!   overlaps an earlier FUNC (in file order) is dropped (Breakpad's rule);
//! - a PUBLIC covers from its address (or from the end of the FUNC it lies inside) up to the
//!   next FUNC or PUBLIC; the last one runs to the end of the address space. A PUBLIC at the
//!   same address as a FUNC is dropped (the FUNC wins); of several PUBLICs at one address
//!   the first wins.
//!
//! # Lookup
//!
//! 1. Find the last interval whose start is `<= addr` (the last TOP entry `<= addr` names a
//!    block of 64 STARTS, searched next); miss if `addr >= end`.
//! 2. In that FUNC's line offsets (in its record), find the last `<= addr - address`. A gap
//!    marker means "no line record here": by default the previous line answers (Eliot's
//!    behaviour), [`LookupOptions::strict_lines`] answers no line (Breakpad's).
//! 3. For depth 0, 1, ...: find the inline range of that level that covers the offset; stop
//!    at the first level with none.
//!
//! # Robustness
//!
//! Opening checks the magic, version (distinct too-old / too-new errors), header size, file
//! size, the header checksum, and that every section lies inside the file, in order, with a
//! length that is a multiple of its entry size and counts that agree. It reads no section
//! but META. Every later read is bounds-checked, so a corrupt file yields an error or a
//! wrong answer, never a panic or undefined behaviour; strings of STRINGS are returned
//! without a UTF-8 check only from 4 KB blocks found to be all ASCII (checked once per block
//! per open index), others are checked per string, as is a symbol name in its record.
//! [`Index::verify`] checks the CRC of the whole body for callers that want to detect
//! silent corruption.

mod builder;
#[cfg(test)]
mod corruption_tests;
pub(crate) mod format;
mod reader;

pub use builder::{build, build_to_file, build_to_writer, BuildOptions, BuildReport};
pub(crate) use reader::lookup_pipelined;
pub use reader::{Index, IndexMeta};

#[cfg(test)]
mod golden_tests {
    //! The format is pinned: the size and CRC-32 of the index that format version 3's
    //! builder writes for three fixtures (lines, inlines, files, origins, PUBLICs, INFO,
    //! STACK CFI; STACK WIN and parameter sizes in the third). A
    //! failure means the index bytes changed; if that is intended, the format changed:
    //! bump [`format::VERSION`] and update the values.

    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn pinned(name: &str) -> (usize, u32) {
        let sym = fixture(name);
        let mut out = std::io::Cursor::new(Vec::new());
        build_to_writer(&sym, &mut out, &BuildOptions::default()).unwrap();
        let streamed = out.into_inner();
        let (mem, _) = build(&sym, &BuildOptions::default()).unwrap();
        assert!(mem.as_bytes() == streamed.as_slice(), "{name}");
        (streamed.len(), crc32fast::hash(&streamed))
    }

    #[test]
    fn the_index_of_cdemo_sym_is_pinned() {
        let (len, crc) = pinned("generated/cdemo.sym");
        assert_eq!((len, format!("{crc:08x}").as_str()), (16728, "68f70203"));
    }

    #[test]
    fn the_index_of_cppdemo_sym_is_pinned() {
        let (len, crc) = pinned("generated/cppdemo.sym");
        assert_eq!((len, format!("{crc:08x}").as_str()), (344776, "f9a85efe"));
    }

    #[test]
    fn the_index_of_show_sse_config_sym_is_pinned() {
        let (len, crc) = pinned("tecken/symbols/ShowSSEConfig.exe/6A4B9A365000/ShowSSEConfig.sym");
        assert_eq!((len, format!("{crc:08x}").as_str()), (20456, "71f6441e"));
    }

    /// The bytes of section `id` of an index.
    fn section(index: &[u8], id: u32) -> &[u8] {
        let n = format::section::ALL.len();
        (0..n)
            .map(|i| {
                format::SectionEntry::decode(
                    index,
                    format::HEADER_SIZE + i * format::SECTION_ENTRY_SIZE,
                )
            })
            .find(|e| e.id == id)
            .map(|e| &index[e.offset as usize..(e.offset + e.len) as usize])
            .unwrap()
    }

    #[test]
    fn a_func_record_is_the_documented_bytes() {
        let sym = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n\
FILE 0 a.c\nINLINE_ORIGIN 0 inl\nFUNC m 1000 20 4 fn\n1000 8 1 0\n1010 8 2 0\n\
INLINE 0 7 0 0 1004 8\nINLINE 1 9 0 0 1006 2\n";
        let (idx, _) = build(sym, &BuildOptions::default()).unwrap();
        let b = idx.as_bytes();
        let le32 = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let gap = format::GAP;
        let mut want = Vec::new();
        want.extend(0x1020u64.to_le_bytes());
        want.extend(0x1000u64.to_le_bytes());
        // Parameter size, name length, 4 line entries; 2 depths, flags `m`.
        want.extend(le32(&[4, 2, 4]));
        want.extend(2u16.to_le_bytes());
        want.extend(format::FLAG_MULTIPLE.to_le_bytes());
        want.extend(b"fn\0\0");
        // Line offsets (gap markers where no line record covers the bytes), then the
        // entries (line, file).
        want.extend(le32(&[0, 8, 0x10, 0x18]));
        want.extend(le32(&[1, 0, 0, gap, 2, 0, 0, gap]));
        // Depth ends, then the ranges: start, end, origin, call file, call line.
        want.extend(le32(&[1, 2]));
        want.extend(le32(&[4, 0xc, 0, 0, 7, 6, 8, 0, 0, 9]));
        assert_eq!(section(b, format::section::RECORDS), want);
        assert_eq!(section(b, format::section::OFFSETS), le32(&[0]));
        let f = idx.lookup(0x1007).unwrap();
        assert_eq!((f.function, f.line, f.inlines.len()), ("fn", Some(7), 2));
    }

    #[test]
    fn the_unwind_sections_are_the_documented_bytes() {
        use format::section::*;
        let sym = b"MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 a.pdb\n\
FUNC 1000 20 8 f\nPUBLIC 2000 c p\n\
STACK CFI INIT 1000 20 .cfa: $esp 4 + .ra: .cfa 4 - ^\nSTACK CFI 1002 .cfa: $esp 8 +\n\
STACK CFI INIT 1020 10 .cfa: $esp 8 +\n\
STACK WIN 4 1000 20 3 0 8 4 c 0 1 $T0 $ebp =\nSTACK WIN 0 1040 10 1 2 3 4 5 6 0 1\n";
        let (idx, _) = build(sym, &BuildOptions::default()).unwrap();
        let b = idx.as_bytes();
        let le32 = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 3);
        // Intervals: FUNC f, PUBLIC p; each record a 32-byte header and its name, padded.
        assert_eq!(section(b, OFFSETS), le32(&[0, 9]));
        let mut records = Vec::new();
        for (end, address, param, flags, name) in [
            (0x1020u64, 0x1000u64, 8u32, 0u16, b"f"),
            (u64::MAX, 0x2000, 0xc, 1, b"p"),
        ] {
            records.extend(end.to_le_bytes());
            records.extend(address.to_le_bytes());
            records.extend(le32(&[param, 1, 0]));
            records.extend(0u16.to_le_bytes());
            records.extend(flags.to_le_bytes());
            records.extend(name);
            records.extend([0, 0, 0]);
        }
        assert_eq!(section(b, RECORDS), records);
        assert_eq!(
            section(b, CFI_STARTS),
            [0x1000u64.to_le_bytes(), 0x1020u64.to_le_bytes()].concat()
        );
        // size, rules, first delta; rule strings once each, in order of first appearance:
        // the INIT's (0), the delta's and the second INIT's (1), the program string (2).
        assert_eq!(section(b, CFI_INITS), le32(&[0x20, 0, 0, 0x10, 1, 1]));
        assert_eq!(section(b, CFI_DELTAS), le32(&[2, 1]));
        let mut fd = 0x1000u64.to_le_bytes().to_vec();
        fd.extend(le32(&[0x20, 3, 0, 8, 4, 0xc, 0, 2]));
        assert_eq!(section(b, WIN_FRAMEDATA), fd);
        let mut fpo = 0x1040u64.to_le_bytes().to_vec();
        fpo.extend(le32(&[0x10, 1, 2, 3, 4, 5, 6, 1]));
        assert_eq!(section(b, WIN_FPO), fpo);
        let rules = section(b, RULES);
        let strings = section(b, STRINGS);
        let rule = |k: usize| {
            let e = format::RuleEntry::decode(rules, k * format::RuleEntry::SIZE);
            std::str::from_utf8(&strings[e.off as usize..(e.off + e.len) as usize]).unwrap()
        };
        assert_eq!(rules.len(), 3 * format::RuleEntry::SIZE);
        assert_eq!(
            [rule(0), rule(1), rule(2)],
            [
                ".cfa: $esp 4 + .ra: .cfa 4 - ^",
                ".cfa: $esp 8 +",
                "$T0 $ebp ="
            ]
        );
    }
}
