//! The index's unwind records (format 3): every STACK CFI and STACK WIN record of the
//! fixtures comes back from `Index::cfi_rules` / `Index::stack_win` as the text has it, and
//! the FUNC/PUBLIC parameter sizes from `Index::frame_details`.

use std::collections::BTreeMap;

use tecken_core::{
    build_index, sym_records, BuildOptions, Index, LookupOptions, ParseOptions, Record, StackWin,
    WinKind,
};

/// Every fixture with STACK records.
const FIXTURES: &[&str] = &[
    "generated/cdemo.sym",
    "generated/cppdemo.sym",
    "tecken/symbols/qipcap64.pdb/293A285ED25871934C4C44205044422E1/qipcap64.sym",
    "tecken/symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym",
    "tecken/symbols/ShowSSEConfig.exe/6A4B9A365000/ShowSSEConfig.sym",
    "tecken/symbols/c++filt/B2E65520F14FB5332E38A5A5189839AD0/c++filt.sym",
    "tecken/dump_syms/basic.full.inlines.sym",
    "tecken/dump_syms/dump_syms_regtest64.sym",
    "tecken/dump_syms/ntdll.sym",
    "tecken/dump_syms/basic.full.sym",
    "tecken/dump_syms/mozwer.sym",
];

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(tecken_testutil::fixture(rel)).unwrap()
}

fn index(sym: &[u8], threads: usize) -> Index {
    let opts = BuildOptions {
        parse: ParseOptions {
            threads,
            ..ParseOptions::default()
        },
    };
    build_index(sym, &opts).unwrap().0
}

/// The CFI records of a file: INIT (address, size, rules) with its deltas in file order.
type Cfi<'a> = Vec<((u64, u32, &'a str), Vec<(u64, &'a str)>)>;

fn stack_records(sym: &[u8]) -> (Cfi<'_>, Vec<StackWin<'_>>) {
    let (mut cfi, mut win): (Cfi<'_>, _) = (Vec::new(), Vec::new());
    for (n, r) in sym_records(sym) {
        match r {
            Record::StackCfiInit {
                address,
                size,
                rules,
            } => cfi.push(((address, size, rules), Vec::new())),
            Record::StackCfi { address, rules } => {
                cfi.last_mut().unwrap().1.push((address, rules));
            }
            Record::StackWin(w) => win.push(w),
            Record::Malformed { reason, .. } if reason.starts_with("STACK") => {
                panic!("line {n}: {reason}")
            }
            _ => {}
        }
    }
    (cfi, win)
}

#[test]
fn every_cfi_record_of_the_fixtures_comes_back_as_written() {
    let mut checked = 0;
    for rel in FIXTURES {
        let sym = read(rel);
        let idx = index(&sym, 0);
        let (cfi, _) = stack_records(&sym);
        for ((address, size, rules), mut deltas) in cfi {
            let end = address + u64::from(size);
            deltas.sort();
            // At the start, at every delta and at the last byte: the INIT and the deltas
            // up to there.
            let probes = std::iter::once(address)
                .chain(
                    deltas
                        .iter()
                        .map(|d| d.0)
                        .filter(|&a| a >= address && a < end),
                )
                .chain([end - 1]);
            for a in probes {
                let got = idx
                    .cfi_rules(a)
                    .unwrap_or_else(|| panic!("{rel}: no CFI at {a:#x}"));
                assert_eq!(
                    (got.init_address, got.init_size, got.init_rules),
                    (address, u64::from(size), rules),
                    "{rel} at {a:#x}"
                );
                let want: Vec<(u64, &str)> = deltas.iter().copied().filter(|d| d.0 <= a).collect();
                assert_eq!(got.deltas, want, "{rel} at {a:#x}");
                checked += 1;
            }
            assert_ne!(
                idx.cfi_rules(end).map(|r| r.init_address),
                Some(address),
                "{rel}: the range ends at {end:#x}"
            );
        }
    }
    assert!(checked > 10_000, "{checked}");
}

/// The STACK WIN records as `breakpad-symbols` loads them: per type, in file order, a
/// record overlapping the previous one of its type and starting after it cuts that one
/// short (MSVC writes nested records that each run to the function's end).
fn resolved_win<'a>(win: &[StackWin<'a>], kind: WinKind) -> Vec<StackWin<'a>> {
    let mut out: Vec<StackWin<'a>> = Vec::new();
    for w in win.iter().filter(|w| w.kind == kind && w.size > 0) {
        if let Some(last) = out.last_mut() {
            let last_end = last.address + u64::from(last.size);
            if w.address < last_end && w.address + u64::from(w.size) > last.address {
                assert!(w.address > last.address, "not in the fixtures: {w:?}");
                last.size = (w.address - last.address) as u32;
            }
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn every_stack_win_record_of_the_fixtures_comes_back_as_loaded() {
    let sym = read("tecken/symbols/ShowSSEConfig.exe/6A4B9A365000/ShowSSEConfig.sym");
    let idx = index(&sym, 0);
    let (_, win) = stack_records(&sym);
    let mut cut = 0;
    for kind in [WinKind::FrameData, WinKind::Fpo] {
        let want = resolved_win(&win, kind);
        for w in &want {
            cut += usize::from(!win.contains(w));
            let last = w.address + u64::from(w.size) - 1;
            for a in [w.address, last] {
                assert_eq!(idx.stack_win(a, kind).as_ref(), Some(w), "{a:#x}");
            }
            let preferred = idx.preferred_stack_win(w.address).unwrap();
            // FrameData first; FPO where no FrameData record covers the address.
            if kind == WinKind::FrameData || idx.stack_win(w.address, WinKind::FrameData).is_none()
            {
                assert_eq!(&preferred, w);
            }
        }
    }
    assert!(
        win.len() > 50 && cut > 0,
        "{} records, {cut} cut short",
        win.len()
    );
}

#[test]
fn parameter_sizes_come_back_from_frame_details() {
    let sym = read("tecken/symbols/ShowSSEConfig.exe/6A4B9A365000/ShowSSEConfig.sym");
    let idx = index(&sym, 0);
    let opts = LookupOptions::default();
    let mut by_addr: BTreeMap<u64, u32> = BTreeMap::new();
    for (_, r) in sym_records(&sym) {
        match r {
            Record::Func {
                address,
                size,
                parameter_size,
                ..
            } if size > 0 => {
                by_addr.entry(address).or_insert(parameter_size);
            }
            _ => {}
        }
    }
    let nonzero = by_addr.values().filter(|&&p| p != 0).count();
    assert!(nonzero >= 3, "{nonzero}");
    for (&a, &p) in &by_addr {
        let f = idx.lookup(a).unwrap();
        if f.function_address != a {
            continue; // an overlapping FUNC, dropped
        }
        let d = idx.frame_details(a, &opts).unwrap();
        assert_eq!(d.parameter_size, p, "{a:#x}");
    }
}

#[test]
fn line_and_inline_starts_come_back_from_frame_details() {
    let sym = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\nFILE 0 a.c\n\
INLINE_ORIGIN 0 inl\nFUNC 1000 40 8 f\n1000 10 1 0\n1010 20 2 0\nINLINE 0 7 0 0 1014 8 1020 10\n\
PUBLIC 2000 c p\n";
    let idx = index(sym, 1);
    let opts = LookupOptions::default();
    let d = |a| idx.frame_details(a, &opts);
    assert_eq!(d(0xfff), None);
    let want = |line, inline| {
        Some(tecken_core::FrameDetails {
            parameter_size: 8,
            line_address: line,
            inline_address: inline,
        })
    };
    assert_eq!(d(0x1004), want(Some(0x1000), None));
    assert_eq!(d(0x1012), want(Some(0x1010), None));
    assert_eq!(d(0x1016), want(Some(0x1010), Some(0x1014)));
    assert_eq!(d(0x1024), want(Some(0x1010), Some(0x1020)));
    // Past the last line record: the previous line answers by default, none when strict.
    assert_eq!(d(0x1034), want(Some(0x1010), None));
    let strict = LookupOptions { strict_lines: true };
    assert_eq!(
        idx.frame_details(0x1034, &strict).unwrap().line_address,
        None
    );
    let p = d(0x2004).unwrap();
    assert_eq!(
        (p.parameter_size, p.line_address, p.inline_address),
        (0xc, None, None)
    );
}

#[test]
fn the_index_is_the_same_however_many_threads_build_it() {
    // Large enough to be cut into chunks, some starting in the STACK section.
    let mut sym = read("tecken/dump_syms/ntdll.sym");
    while sym.len() < 5 << 20 {
        let again = read("tecken/dump_syms/ntdll.sym");
        let body = again.iter().position(|&b| b == b'\n').unwrap() + 1;
        sym.extend_from_slice(&again[body..]);
    }
    let one = index(&sym, 1);
    for threads in [2, 3, 8] {
        assert!(
            one.as_bytes() == index(&sym, threads).as_bytes(),
            "{threads} threads"
        );
    }
    assert!(one.cfi_rules(0x14600).is_some());
}

#[test]
fn stack_lines_that_cannot_unwind_are_counted_or_fail_a_strict_build() {
    let sym = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n\
STACK CFI 1000 .cfa: $rsp 8 +\nSTACK CFI INIT 1000 10\nSTACK CFI INIT 1000 10 .cfa: $rsp 8 +\n\
STACK CFI zz .cfa: $rsp 16 +\nSTACK CFI 1004 .cfa: $rsp 16 +\nSTACK WIN 0 1000 1 0 0 0 0 0 0 1 1\n\
STACK WIN 3 1000 1 0 0 0 0 0 0 0 0\nSTACK WHAT\nFUNC 1000 10 0 f\nSTACK CFI 1008 .cfa: $rsp 24 +\n";
    let (idx, report) = build_index(sym, &BuildOptions::default()).unwrap();
    let lines: Vec<u64> = report.parse.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 5, 7, 9, 11]);
    assert_eq!(
        (
            report.parse.stack_cfi_init,
            report.parse.stack_cfi,
            report.parse.stack_win
        ),
        (2, 4, 2)
    );
    let r = idx.cfi_rules(0x100f).unwrap();
    assert_eq!(
        r.deltas,
        [(0x1004, ".cfa: $rsp 16 +")],
        "the bad delta is skipped"
    );
    assert!(idx.preferred_stack_win(0x1000).is_none());
    let strict = BuildOptions {
        parse: ParseOptions {
            strict: true,
            ..ParseOptions::default()
        },
    };
    let err = build_index(sym, &strict).unwrap_err();
    assert_eq!(err.kind(), tecken_core::ErrorKind::MalformedSym);
    assert!(err.message().contains("line 2"), "{err}");
}

#[test]
fn rule_strings_that_are_not_utf8_are_refused_each_time_they_appear() {
    // The builder checks a rule string once, when it first sees it: a string that failed
    // must fail again (it never enters the table), in an INIT, a delta or a WIN program,
    // and a valid string seen before or after is unaffected. `\x01` stands for a byte that
    // is not UTF-8 (0xff), put in after formatting.
    let mut text = String::from("MODULE windows x86 0123456789ABCDEF0123456789ABCDEF0 a.pdb\n");
    for i in 0..4u64 {
        let a = 0x1000 + i * 0x100;
        text += &format!("STACK CFI INIT {a:x} 20 .cfa: $esp 4 + .ra: .cfa -4 + ^\n");
        text += &format!("STACK CFI {:x} .cfa: $esp \x01 8 +\n", a + 4);
        text += &format!("STACK CFI {:x} .cfa: $esp 12 +\n", a + 8);
        text += &format!("STACK CFI INIT {:x} 10 .cfa: \x01\n", a + 0x80);
        text += &format!("STACK CFI {:x} .cfa: $esp 16 +\n", a + 0x84);
        text += &format!("STACK WIN 4 {:x} 10 0 0 0 0 0 0 1 $eip \x01 =\n", a + 0xc0);
    }
    let sym: Vec<u8> = text
        .bytes()
        .map(|b| if b == 1 { 0xff } else { b })
        .collect();
    let (idx, report) = build_index(&sym, &BuildOptions::default()).unwrap();
    // Per block: the bad delta, the bad INIT, the delta after it (no INIT open), the bad
    // WIN program.
    assert_eq!(report.parse.skipped, 16);
    let reasons: Vec<(u64, &str)> = report
        .parse
        .errors
        .iter()
        .map(|e| (e.line, e.reason.as_str()))
        .collect();
    assert_eq!(
        reasons.get(..4),
        Some(
            &[
                (3, "STACK: rules are not UTF-8"),
                (5, "STACK: rules are not UTF-8"),
                (6, "STACK CFI outside a STACK CFI INIT"),
                (7, "STACK WIN: program string is not UTF-8"),
            ][..]
        )
    );
    for i in 0..4u64 {
        let a = 0x1000 + i * 0x100;
        let r = idx.cfi_rules(a + 0x10).unwrap();
        assert_eq!(r.init_rules, ".cfa: $esp 4 + .ra: .cfa -4 + ^");
        assert_eq!(r.deltas, [(a + 8, ".cfa: $esp 12 +")]);
        assert!(idx.cfi_rules(a + 0x84).is_none());
        assert!(idx.preferred_stack_win(a + 0xc0).is_none());
    }
}

#[test]
fn overlapping_cfi_ranges_keep_the_lowest_start_then_the_shortest() {
    let sym = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n\
STACK CFI INIT 1010 10 b\nSTACK CFI INIT 1000 20 a\nSTACK CFI INIT 1000 8 c\nSTACK CFI 1004 c4\n\
STACK CFI INIT 1008 8 d\nSTACK CFI INIT 1020 0 e\nSTACK CFI INIT 1030 10 f\nSTACK CFI 1040 f40\n\
STACK CFI 1020 f20\nSTACK CFI 1034 f34b\nSTACK CFI 1034 f34a\n";
    let idx = index(sym, 1);
    let at = |a| idx.cfi_rules(a).map(|r| (r.init_rules, r.deltas));
    assert_eq!(at(0x1000), Some(("c", vec![])));
    assert_eq!(at(0x1007), Some(("c", vec![(0x1004, "c4")])));
    // [1000, 20) overlaps the kept [1000, 8) and is dropped; [1008, 8) and [1010, 10)
    // follow it without overlapping.
    assert_eq!(at(0x1008), Some(("d", vec![])));
    assert_eq!(at(0x1010), Some(("b", vec![])));
    assert_eq!(at(0x1020), None, "size 0");
    // Deltas in (address, rules) order; one before the INIT applies throughout, reported
    // at the INIT's start; one past the end is dropped.
    assert_eq!(at(0x1030), Some(("f", vec![(0x1030, "f20")])));
    assert_eq!(
        at(0x103f),
        Some((
            "f",
            vec![(0x1030, "f20"), (0x1034, "f34a"), (0x1034, "f34b")]
        ))
    );
}
