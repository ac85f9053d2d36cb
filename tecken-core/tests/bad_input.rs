//! Bad input never panics: broken `.sym` text builds (leniently) or fails with
//! `MalformedSym`, and a corrupt index file fails to open with `CorruptIndex` (or the
//! distinct `IndexTooOld` / `IndexTooNew`), or opens and then never panics, with
//! `verify()` reporting the corruption (those cases craft bytes with the layout's
//! constants, so they live beside it, in `src/index/corruption_tests.rs`).

use std::path::Path;

use tecken_core::{build_index, BuildOptions};
use tecken_core::{parse_sym_header, sym_records, ParseOptions};
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
        let err = build_index(input, &BuildOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedSym, "{input:?}");
        assert_eq!(
            parse_sym_header(input).unwrap_err().kind(),
            ErrorKind::MalformedSym,
            "{input:?}"
        );
        for (_, r) in sym_records(input) {
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
        for (_, r) in sym_records(&junk) {
            std::hint::black_box(r);
        }
        std::hint::black_box(parse_sym_header(&junk).ok());
        match build_index(&junk, &BuildOptions::default()) {
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
        match build_index(prefix, &BuildOptions::default()) {
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
    let (idx, report) = build_index(sym.as_bytes(), &BuildOptions::default()).unwrap();
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
    let (idx, report) = build_index(
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
    let (idx, report) = build_index(s.as_bytes(), &BuildOptions::default()).unwrap();
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
    let err = build_index(sym.as_bytes(), &strict).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedSym);
    assert!(err.message().contains("line 3"), "{}", err.message());
    let (_, report) = build_index(sym.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!((report.parse.skipped, report.parse.errors[0].line), (1, 3));
}
