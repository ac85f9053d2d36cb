//! Bad input never panics: broken `.sym` text builds (leniently) or fails with
//! `MalformedSym`, and a corrupt index file fails to open with `CorruptIndex` (or the
//! distinct `IndexTooOld` / `IndexTooNew`), or opens and then never panics, with
//! `verify()` reporting the corruption.

use std::path::Path;

use tecken_core::index::format::{section, HEADER_SIZE, MIN_VERSION, SECTION_ENTRY_SIZE, VERSION};
use tecken_core::index::{build, build_to_file, BuildOptions};
use tecken_core::sym::{parse_header, records, ParseOptions};
use tecken_core::{ErrorKind, Index, LookupOptions};

const MODULE: &str = "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 bad.so\n";

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(rel),
    )
    .unwrap()
}

/// splitmix64, for reproducible junk.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Looks up addresses all over the place, in both modes, touching every field of the
/// answer: whatever the index holds, this must not panic.
fn exercise(index: &Index, probes: &[u64]) -> usize {
    let mut found = 0;
    for &a in probes {
        for opts in [
            LookupOptions::default(),
            LookupOptions { strict_lines: true },
        ] {
            if let Some(f) = index.lookup_with(a, &opts) {
                found += 1;
                let mut n = f.function.len() + f.file.map_or(0, |s| s.path.len() + s.raw.len());
                for i in &f.inlines {
                    n += i.function.len()
                        + i.file.map_or(0, |s| s.raw.len())
                        + i.line.unwrap_or(0) as usize;
                }
                std::hint::black_box(n);
            }
        }
    }
    found
}

fn probes() -> Vec<u64> {
    let mut v: Vec<u64> = (0..0x40).map(|i| 0x1000 + i * 3).collect();
    v.extend([
        0,
        1,
        0xfff,
        0x2000,
        0x2001,
        0x3000,
        0x1_0000_0000,
        u64::MAX - 1,
        u64::MAX,
    ]);
    v
}

// ---------------------------------------------------------------------------------------
// .sym input

#[test]
fn garbage_bytes_empty_files_and_files_without_module_are_malformed_sym() {
    let cases: [&[u8]; 8] = [
        b"",
        b"\n\n\r\n",
        b"\x00\x01\x02\xff\xfe garbage",
        b"FUNC 1000 10 0 f\n1000 10 1 0\n",
        b"MODULE Linux\nFUNC 1000 10 0 f\n",
        b"module linux x86 ABC x\n",
        b"\xef\xbb\xbfMODULE-ish\n",
        b"MODULE Linux x86_64 NOT-HEX! x\n",
    ];
    for input in cases {
        let err = build(input, &BuildOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedSym, "{input:?}");
        assert_eq!(
            parse_header(input).unwrap_err().kind(),
            ErrorKind::MalformedSym,
            "{input:?}"
        );
        for (_, r) in records(input) {
            std::hint::black_box(r);
        }
    }
}

#[test]
fn binary_junk_never_panics_the_parser_or_the_builder() {
    let mut rng = Rng(1);
    for round in 0..200 {
        let len = rng.below(if round % 10 == 0 { 1 << 16 } else { 512 }) as usize;
        // Junk drawn from bytes that matter to the parser, so that it reaches deep paths.
        let alphabet = b"0123456789abcdefABCDEF m\n\r\t-FUNCPUBLIINEORGSTACKFILEMODULE\x00\xff";
        let mut junk: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
            .collect();
        if round % 2 == 0 {
            // With a valid MODULE line first, the junk reaches every record parser.
            let mut with_module = MODULE.as_bytes().to_vec();
            with_module.append(&mut junk);
            junk = with_module;
        }
        for (_, r) in records(&junk) {
            std::hint::black_box(r);
        }
        std::hint::black_box(parse_header(&junk).ok());
        match build(&junk, &BuildOptions::default()) {
            Ok((index, _)) => {
                index.verify().unwrap();
                exercise(&index, &probes());
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::MalformedSym, "round {round}: {e}"),
        }
    }
}

/// Builds the prefixes of `sym` of every length in `lens`: each builds (or fails with
/// `MalformedSym` while the MODULE line is incomplete) and answers lookups without panic.
fn check_prefixes(sym: &[u8], lens: impl Iterator<Item = usize>, probes: &[u64]) -> usize {
    let mut built = 0;
    for len in lens {
        let prefix = &sym[..len];
        match build(prefix, &BuildOptions::default()) {
            Ok((index, report)) => {
                built += 1;
                exercise(&index, probes);
                if len == sym.len() || sym[len - 1] == b'\n' {
                    // Cut at a line end: every line is whole, so none is malformed.
                    assert_eq!(
                        report.parse.skipped, 0,
                        "prefix of {len} bytes: {:?}",
                        report.parse.errors
                    );
                }
            }
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::MalformedSym,
                    "prefix of {len} bytes: {e}"
                );
                assert!(
                    !prefix.contains(&b'\n'),
                    "only a prefix without a whole MODULE line fails: {len}: {e}"
                );
            }
        }
    }
    built
}

#[test]
fn every_prefix_of_a_real_fixture_builds_without_panic() {
    // dump_syms --inlines output with every kind of record: every length. (Every length of
    // the 21 KB cdemo.sym takes ~25 s in a debug build: its prefixes are sampled.)
    let sym = fixture("tecken/dump_syms/basic.full.inlines.sym");
    let probes: Vec<u64> = (0x1000..0x1400).step_by(7).collect();
    let built = check_prefixes(&sym, 0..=sym.len(), &probes);
    assert!(built > sym.len() - 70, "{built}");
    let sym = fixture("generated/cdemo.sym");
    let step = sym.len() / 600;
    let probes: Vec<u64> = (0x1000..0x9000).step_by(0x35).collect();
    // Sampled lengths, plus cuts just before, at and after a hundred line ends.
    let mut lens: Vec<usize> = (0..=sym.len()).step_by(step).collect();
    let ends: Vec<usize> = sym
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    for &e in ends.iter().step_by(ends.len() / 100) {
        lens.extend([e - 1, e, e + 1]);
    }
    lens.push(sym.len());
    check_prefixes(&sym, lens.into_iter(), &probes);
}

#[test]
fn records_without_a_name_or_path_do_not_panic_the_builder() {
    // Regression: `FILE 0` (no path), `FUNC 1000 10 0` (no name) and the like used to end
    // in an empty slice that did not point into the input, which the builder turned into an
    // offset far out of bounds and panicked on. Every prefix of a real file cut right after
    // a FILE id reaches this.
    let sym = format!("{MODULE}FILE 0\nINLINE_ORIGIN 1\nFUNC 1000 10 0\n1000 10 5 0\nINLINE 0 3 0 1 1000 4\nPUBLIC 2000 0\n");
    let (idx, report) = build(sym.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!(report.parse.skipped, 0);
    let f = idx.lookup(0x1000).unwrap();
    assert_eq!((f.function, f.line, f.inlines.len()), ("", Some(3), 1));
    assert_eq!((f.inlines[0].function, f.inlines[0].line), ("", Some(5)));
    assert_eq!(f.file, None, "an empty path is omitted");
    assert_eq!(idx.lookup(0x2000).unwrap().function, "");
}

#[test]
fn huge_line_numbers_ids_sizes_and_depths() {
    let body = "FILE 4294967295 /max/id.c\nFILE 4294967296 /overflow/id.c\nINLINE_ORIGIN 4000000000 sparse_origin\n\
         FUNC 1000 10 0 f\n1000 4 4294967295 4294967295\n1004 4 4294967296 0\n1008 4 1 -1\n\
         INLINE 0 4294967295 4294967295 4000000000 1000 8\n\
         INLINE 1025 1 0 0 1000 2\n\
         FUNC 2000 100000000 0 size_above_4gib\n\
         FUNC ffffffffffffff00 100 0 end_overflows\n\
         FUNC 10000000000000000 10 0 address_overflows\n\
         FUNC 00000000000000003000 10 0 leading_zeros\n";
    let (idx, report) = build(
        format!("{MODULE}{body}").as_bytes(),
        &BuildOptions::default(),
    )
    .unwrap();
    let f = idx.lookup(0x1000).unwrap();
    assert_eq!(f.inlines.len(), 1);
    assert_eq!(f.inlines[0].function, "sparse_origin");
    assert_eq!(
        (f.inlines[0].line, f.inlines[0].file.map(|s| s.path)),
        (Some(u32::MAX), Some("/max/id.c"))
    );
    assert_eq!(
        (f.line, f.file.map(|s| s.path)),
        (Some(u32::MAX), Some("/max/id.c"))
    );
    // 0x1008..0x1010 (outside the INLINE): the bad records are gone, the previous line
    // extends, or no line with strict_lines.
    let f = idx.lookup(0x100c).unwrap();
    assert_eq!((f.line, f.inlines.len()), (Some(u32::MAX), 0));
    assert_eq!(
        idx.lookup_with(0x100c, &LookupOptions { strict_lines: true })
            .unwrap()
            .line,
        None
    );
    assert_eq!(idx.lookup(0x2000), None);
    assert_eq!(idx.lookup(0xffff_ffff_ffff_ff80), None);
    assert_eq!(idx.lookup(0x3000).unwrap().function, "leading_zeros");
    // FILE overflow, line overflow, line -1, INLINE depth 1025, size > 4 GiB, end > 2^64,
    // address > 2^64.
    assert_eq!(report.parse.skipped, 7, "{:?}", report.parse.errors);
}

#[test]
fn huge_line_counts() {
    // 300,000 line records in one FUNC, then 200,000 blank lines and a PUBLIC.
    let mut s = String::from(MODULE);
    s.push_str("FILE 0 a.c\nFUNC 100000 493e0 0 big\n");
    for i in 0..300_000u64 {
        s.push_str(&format!("{:x} 1 {} 0\n", 0x10_0000 + i, i + 1));
    }
    s.push_str(&"\n".repeat(200_000));
    s.push_str("PUBLIC 200000 0 after_blanks\n!bad line at the end\n");
    let (idx, report) = build(s.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!(report.parse.line_records, 300_000);
    assert_eq!(report.parse.lines, 1 + 2 + 300_000 + 200_000 + 2);
    assert_eq!(report.parse.errors[0].line, 1 + 2 + 300_000 + 200_000 + 2);
    for i in [0u64, 1, 12_345, 299_999] {
        assert_eq!(idx.lookup(0x10_0000 + i).unwrap().line, Some(i as u32 + 1));
    }
    assert_eq!(idx.lookup(0x20_0000).unwrap().function, "after_blanks");
}

#[test]
fn strict_mode_fails_on_junk_with_a_line_number_and_lenient_mode_counts_it() {
    let sym = format!("{MODULE}FUNC 1000 10 0 f\n\x00\x01\x02\n1000 10 1 0\n");
    let strict = BuildOptions {
        parse: ParseOptions {
            strict: true,
            ..ParseOptions::default()
        },
    };
    let err = build(sym.as_bytes(), &strict).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedSym);
    assert!(err.message().contains("line 3"), "{}", err.message());
    let (_, report) = build(sym.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!((report.parse.skipped, report.parse.errors[0].line), (1, 3));
}

// ---------------------------------------------------------------------------------------
// Index files

/// A small index with every section non-empty.
fn small_index_bytes() -> Vec<u8> {
    let sym = format!(
        "{MODULE}INFO CODE_ID 1234 bad.dll\nFILE 0 /src/a.c\nFILE 1 /src/../b.h\nINLINE_ORIGIN 0 inl\n\
         FUNC 1000 40 0 f\n1000 10 1 0\n1010 10 2 1\n1030 10 3 0\nINLINE 0 7 0 0 1010 20\nINLINE 1 8 1 0 1018 8\n\
         FUNC m 1040 20 0 g\n1040 20 4 1\nPUBLIC 1030 0 inside\nPUBLIC 2000 0 p\nPUBLIC m 3000 0 q\n"
    );
    let mut out = std::io::Cursor::new(Vec::new());
    tecken_core::index::build_to_writer(sym.as_bytes(), &mut out, &BuildOptions::default())
        .unwrap();
    out.into_inner()
}

const TABLE_END: usize = HEADER_SIZE + SECTION_ENTRY_SIZE * section::ALL.len();

#[test]
fn the_small_index_is_valid() {
    let bytes = small_index_bytes();
    let idx = Index::from_bytes(bytes).unwrap();
    idx.verify().unwrap();
    let f = idx.lookup(0x101a).unwrap();
    assert_eq!((f.function, f.line, f.inlines.len()), ("f", Some(7), 2));
    let names: Vec<Option<&str>> = [
        0xfff,
        0x1000,
        0x103f,
        0x1040,
        0x105f,
        0x1060,
        0x2000,
        u64::MAX,
    ]
    .iter()
    .map(|&a| idx.lookup(a).map(|f| f.function))
    .collect();
    assert_eq!(
        names,
        [
            None,
            Some("f"),
            Some("f"),
            Some("g"),
            Some("g"),
            None,
            Some("p"),
            Some("q")
        ]
    );
    assert!(exercise(&idx, &probes()) > 0);
}

#[test]
fn every_truncation_of_an_index_is_an_error() {
    let bytes = small_index_bytes();
    for len in 0..bytes.len() {
        let err = Index::from_bytes(bytes[..len].to_vec()).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::CorruptIndex,
            "truncated to {len}: {err}"
        );
    }
    // Also longer than it says.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 8]);
    assert_eq!(
        Index::from_bytes(longer).unwrap_err().kind(),
        ErrorKind::CorruptIndex
    );
    // And through a mapped file, including an empty one.
    let dir = tempfile::tempdir().unwrap();
    for len in [0, 8, HEADER_SIZE, TABLE_END, bytes.len() - 1] {
        let path = dir.path().join(format!("t{len}.idx"));
        std::fs::write(&path, &bytes[..len]).unwrap();
        assert_eq!(
            Index::open(&path).unwrap_err().kind(),
            ErrorKind::CorruptIndex,
            "{len}"
        );
    }
    assert_eq!(
        Index::open(dir.path().join("missing.idx"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn every_byte_flip_in_the_header_or_section_table_is_an_error() {
    let bytes = small_index_bytes();
    let original = Index::from_bytes(bytes.clone()).unwrap();
    let probes = probes();
    let crc = 28..32;
    let strings_len = {
        let at = HEADER_SIZE + SECTION_ENTRY_SIZE * (section::ALL.len() - 1) + 16;
        at..at + 8
    };
    for pos in 0..TABLE_END {
        for mask in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            match Index::from_bytes(b) {
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::CorruptIndex | ErrorKind::IndexTooOld | ErrorKind::IndexTooNew
                    ),
                    "{pos} ^ {mask:#x}: {e}"
                ),
                // The checksum itself is only read by `verify`, which then fails.
                Ok(idx) if crc.contains(&pos) => {
                    assert_eq!(idx.verify().unwrap_err().kind(), ErrorKind::CorruptIndex);
                }
                // The one flip that cannot be told from a valid file: the length of the last
                // section (STRINGS, 1-byte entries) grown into its zero alignment padding.
                // Nothing points at those bytes, so every answer stays the same.
                Ok(idx) if strings_len.contains(&pos) => {
                    assert!(idx.size_bytes() == bytes.len());
                    for &a in &probes {
                        assert_eq!(
                            idx.lookup(a),
                            original.lookup(a),
                            "{pos} ^ {mask:#x} at {a:#x}"
                        );
                    }
                }
                Ok(_) => panic!("byte {pos} ^ {mask:#x} opened without an error"),
            }
        }
    }
}

#[test]
fn every_byte_flip_in_the_body_is_caught_by_verify_and_never_panics() {
    let bytes = small_index_bytes();
    let probes = probes();
    let mut opened = 0;
    for pos in TABLE_END..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            match Index::from_bytes(b) {
                // The META section is JSON: most flips there fail to parse.
                Err(e) => assert_eq!(e.kind(), ErrorKind::CorruptIndex, "{pos} ^ {mask:#x}: {e}"),
                Ok(idx) => {
                    opened += 1;
                    exercise(&idx, &probes);
                    assert_eq!(
                        idx.verify().unwrap_err().kind(),
                        ErrorKind::CorruptIndex,
                        "{pos} ^ {mask:#x}"
                    );
                }
            }
        }
    }
    assert!(opened > bytes.len(), "most body flips open: {opened}");
}

#[test]
fn random_multi_byte_corruption_of_a_real_index_never_panics() {
    let sym = fixture("generated/cppdemo.sym");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cppdemo.idx");
    build_to_file(&sym, &path, &BuildOptions::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let probes: Vec<u64> = (0..200)
        .map(|i| 0x3000 + i * 0x61)
        .chain([0, u64::MAX])
        .collect();
    let mut rng = Rng(42);
    for _ in 0..400 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(16) {
            // Mostly the body, where corruption survives opening.
            let pos = TABLE_END + rng.below((b.len() - TABLE_END) as u64) as usize;
            b[pos] = rng.next() as u8;
        }
        if let Ok(idx) = Index::from_bytes(b) {
            exercise(&idx, &probes);
        }
    }
}

#[test]
fn wrong_magic_is_corrupt_index() {
    let bytes = small_index_bytes();
    for (pos, v) in [(0, b'X'), (7, b'Y')] {
        let mut b = bytes.clone();
        b[pos] = v;
        assert_eq!(
            Index::from_bytes(b).unwrap_err().kind(),
            ErrorKind::CorruptIndex
        );
    }
    // A .sym file is not an index.
    let sym = fixture("generated/cdemo.sym");
    assert_eq!(
        Index::from_bytes(sym).unwrap_err().kind(),
        ErrorKind::CorruptIndex
    );
}

#[test]
fn a_version_too_old_or_too_new_has_its_own_error_kind() {
    let bytes = small_index_bytes();
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        VERSION
    );
    let with_version = |v: u32| {
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        Index::from_bytes(b)
    };
    for v in [0, MIN_VERSION - 1] {
        assert_eq!(
            with_version(v).unwrap_err().kind(),
            ErrorKind::IndexTooOld,
            "{v}"
        );
    }
    for v in [VERSION + 1, VERSION + 100, u32::MAX] {
        assert_eq!(
            with_version(v).unwrap_err().kind(),
            ErrorKind::IndexTooNew,
            "{v}"
        );
    }
    assert!(with_version(VERSION).is_ok());
    assert_ne!(
        ErrorKind::IndexTooOld.as_str(),
        ErrorKind::IndexTooNew.as_str()
    );
}
