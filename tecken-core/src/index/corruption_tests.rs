//! Corrupt index files (truncated, flipped, wrong magic or version) fail to open with
//! `CorruptIndex` (or the distinct `IndexTooOld` / `IndexTooNew`), or open and then never
//! panic, with `verify()` reporting the corruption. Here rather than in `tests/` because
//! the cases are crafted with the layout's constants, which are not public.

use super::format::{section, HEADER_SIZE, MIN_VERSION, SECTION_ENTRY_SIZE, VERSION};
use super::{build_to_file, BuildOptions, Index};
use crate::{ErrorKind, LookupOptions};

const MODULE: &str = "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 bad.so\n";

/// Looks up addresses all over the place, in both modes, touching every field of the
/// answer, and the unwind records there: whatever the index holds, this must not panic.
fn exercise(index: &Index, probes: &[u64]) -> usize {
    let mut found = 0;
    for &a in probes {
        if let Some(r) = index.cfi_rules(a) {
            found += 1;
            let n: usize = r.deltas.iter().map(|d| d.1.len()).sum();
            std::hint::black_box(n + r.init_rules.len());
        }
        for kind in [crate::WinKind::FrameData, crate::WinKind::Fpo] {
            if let Some(w) = index.stack_win(a, kind) {
                found += 1;
                std::hint::black_box(w.program_string.map_or(0, str::len));
            }
        }
        std::hint::black_box(index.preferred_stack_win(a));
        std::hint::black_box(index.frame_details(a, &LookupOptions::default()));
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

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(tecken_testutil::fixture(rel)).unwrap()
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

// ---------------------------------------------------------------------------------------
// Index files

/// A small index with every section non-empty.
fn small_index_bytes() -> Vec<u8> {
    let sym = format!(
        "{MODULE}INFO CODE_ID 1234 bad.dll\nFILE 0 /src/a.c\nFILE 1 /src/../b.h\nINLINE_ORIGIN 0 inl\n\
         FUNC 1000 40 0 f\n1000 10 1 0\n1010 10 2 1\n1030 10 3 0\nINLINE 0 7 0 0 1010 20\nINLINE 1 8 1 0 1018 8\n\
         FUNC m 1040 20 0 g\n1040 20 4 1\nPUBLIC 1030 0 inside\nPUBLIC 2000 0 p\nPUBLIC m 3000 0 q\n\
         STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK CFI 1001 .cfa: $rsp 16 +\n\
         STACK CFI 1010 .cfa: $rsp 24 + $rbx: .cfa -24 + ^\nSTACK CFI INIT 1040 20 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n\
         STACK WIN 4 1000 30 4 0 8 0 10 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =\n\
         STACK WIN 0 1020 30 4 0 8 4 10 0 0 1\n"
    );
    let mut out = std::io::Cursor::new(Vec::new());
    super::build_to_writer(sym.as_bytes(), &mut out, &BuildOptions::default()).unwrap();
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
    assert_eq!(idx.cfi_rules(0x1010).unwrap().deltas.len(), 2);
    assert_eq!(idx.cfi_rules(0x1041).unwrap().init_address, 0x1040);
    assert!(idx.stack_win(0x1000, crate::WinKind::FrameData).is_some());
    assert!(idx.stack_win(0x1030, crate::WinKind::Fpo).is_some());
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

/// The byte range of section `id` in an index file.
fn section_range(b: &[u8], id: u32) -> std::ops::Range<usize> {
    let i = section::ALL.iter().position(|s| s.0 == id).unwrap();
    let e = super::format::SectionEntry::decode(b, HEADER_SIZE + i * SECTION_ENTRY_SIZE);
    e.offset as usize..(e.offset + e.len) as usize
}

#[test]
fn hostile_record_offsets_and_fields_never_panic() {
    let bytes = small_index_bytes();
    let original = Index::from_bytes(bytes.clone()).unwrap();
    let offsets = section_range(&bytes, section::OFFSETS);
    let records = section_range(&bytes, section::RECORDS);
    assert!(!offsets.is_empty() && records.len() > 100);
    let probes = probes();
    let words = (records.len() / 4) as u32;
    // Every 4-byte word of OFFSETS and RECORDS (record headers with their u16 pairs,
    // names, line offsets and entries, depth ends, inline ranges) set to values that point
    // nowhere, at the end of the section, or make a count or length overflow.
    let values = [
        0,
        1,
        words - 1,
        words,
        words + 1,
        0x7fff_ffff,
        0xffff_fffe,
        0xffff_ffff,
    ];
    let mut changed = 0;
    for at in offsets.clone().chain(records.clone()).step_by(4) {
        for v in values {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            if b == bytes {
                continue;
            }
            // The structure checks at open time read no record: the index opens, and
            // `verify` finds the change.
            let idx = Index::from_bytes(b).unwrap();
            exercise(&idx, &probes);
            assert_eq!(idx.verify().unwrap_err().kind(), ErrorKind::CorruptIndex);
            if probes.iter().any(|&a| idx.lookup(a) != original.lookup(a)) {
                changed += 1;
            }
        }
    }
    // Most of these change some answer: the fields are the ones lookups read.
    assert!(changed > (offsets.len() + records.len()) / 4, "{changed}");
}

#[test]
fn a_record_running_past_its_section_answers_without_its_tables() {
    let bytes = small_index_bytes();
    let offsets = section_range(&bytes, section::OFFSETS);
    let records = section_range(&bytes, section::RECORDS);
    // The first interval is FUNC f: give it more line entries than RECORDS holds.
    let count_at = records.start + super::format::RecordHeader::LINE_COUNT;
    let mut b = bytes.clone();
    b[count_at..count_at + 4].copy_from_slice(&(records.len() as u32).to_le_bytes());
    let idx = Index::from_bytes(b).unwrap();
    let f = idx.lookup(0x101a).unwrap();
    assert_eq!((f.function, f.line, f.inlines.len()), ("f", None, 0));
    // Its record placed at the very end of RECORDS: no header fits, no symbol.
    let mut b = bytes.clone();
    let last = ((records.len() - 4) / 4) as u32;
    b[offsets.start..offsets.start + 4].copy_from_slice(&last.to_le_bytes());
    let idx = Index::from_bytes(b).unwrap();
    assert_eq!(idx.lookup(0x101a), None);
    assert_eq!(idx.frame_details(0x101a, &LookupOptions::default()), None);
}
