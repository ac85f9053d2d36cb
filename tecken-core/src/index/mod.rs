//! The index: a compact, memory-mappable, read-only form of a `.sym` file for lookups.
//!
//! # Why our own format
//!
//! A libxul-scale `.sym` file has ~300 k functions and ~16 M line records. A lookup that
//! binary-searches all line starts touches ~24 cache lines; we search a small array of every
//! 64th function start (TOP, ~40 KB, stays in cache), then one 512-byte block of the
//! function starts, then only that function's line offsets and its inline levels. Nothing
//! is parsed when a file is opened: the reader checks the header and section table (the
//! first page only) and then reads the mapped bytes in place, each read bounds-checked.
//! Index files are mapped with `MADV_RANDOM`, so a cold lookup reads the ~10 pages it
//! touches and not a readahead window around each.
//!
//! # Layout
//!
//! A 64-byte header, a section table, then eleven 8-byte-aligned sections (TOP, STARTS,
//! SYMS, line and inline tables, files, origins, strings), all little-endian. The byte-by-byte
//! layout, and the one definition of every record that the builder and the reader share,
//! are in [`format`](mod@format).
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
//! 2. In that FUNC's line offsets, find the last `<= addr - address`. A gap
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
//! wrong answer, never a panic or undefined behaviour; strings are returned without a UTF-8
//! check only from 4 KB blocks of STRINGS found to be all ASCII (checked once per block per
//! open index), others are checked per string. [`Index::verify`] checks the CRC of the
//! whole body for callers that want to detect silent corruption.

mod builder;
#[cfg(test)]
mod corruption_tests;
pub(crate) mod format;
mod reader;

pub use builder::{build, build_to_file, build_to_writer, BuildOptions, BuildReport};
pub use reader::{Index, IndexMeta};

#[cfg(test)]
mod golden_tests {
    //! The format is pinned: the size and CRC-32 of the index that format version 2's
    //! builder writes for two fixtures (lines, inlines, files, origins, PUBLICs, INFO). A
    //! failure means the index bytes changed; if that is intended, the format changed:
    //! bump [`format::VERSION`] and update the values.

    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/generated")
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
        let (len, crc) = pinned("cdemo.sym");
        assert_eq!((len, format!("{crc:08x}").as_str()), (13384, "32bf9d8d"));
    }

    #[test]
    fn the_index_of_cppdemo_sym_is_pinned() {
        let (len, crc) = pinned("cppdemo.sym");
        assert_eq!((len, format!("{crc:08x}").as_str()), (336192, "46819f4b"));
    }
}
