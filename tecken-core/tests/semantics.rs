//! The lookup contract, rule by rule.
//!
//! One test per row of the two tables in `shared/lookup-semantics.md` ("The contract" and
//! "The format's loose ends"), each named after its rule and run on a small hand-written
//! `.sym` that exercises exactly that rule. The last tests pin the parser's own API
//! (`sym::records`, `sym::parse_header`).

use tecken_core::{build_index, BuildOptions, BuildReport};
use tecken_core::{parse_sym_header, sym_records, ParseOptions, Record};
use tecken_core::{ErrorKind, Frame, Index, LookupOptions, SymbolKind};

const MODULE: &str = "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 test.so\n";

/// Builds an index from `body` (everything after the MODULE line).
fn index(body: &str) -> Index {
    index_report(body).0
}

fn index_report(body: &str) -> (Index, BuildReport) {
    build_index(
        format!("{MODULE}{body}").as_bytes(),
        &BuildOptions::default(),
    )
    .expect("build")
}

fn strict() -> LookupOptions {
    LookupOptions { strict_lines: true }
}

/// The function name at `addr`, or `None`.
fn name(index: &Index, addr: u64) -> Option<&str> {
    index.lookup(addr).map(|f| f.function)
}

/// `(cleaned path, line)` of the frame itself.
fn pos<'a>(f: &Frame<'a>) -> (Option<&'a str>, Option<u32>) {
    (f.file.map(|s| s.path), f.line)
}

/// The inline chain as `(function, file, line)`, innermost first.
fn chain<'a>(f: &Frame<'a>) -> Vec<(&'a str, Option<&'a str>, Option<u32>)> {
    f.inlines
        .iter()
        .map(|i| (i.function, i.file.map(|s| s.path), i.line))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The contract

#[test]
fn which_function_the_func_whose_range_covers_the_address() {
    let idx = index("FUNC 1000 10 0 f\nFUNC 1010 8 0 g\nFUNC 1020 4 0 h\n");
    assert_eq!(name(&idx, 0x1000), Some("f"));
    assert_eq!(name(&idx, 0x100f), Some("f"), "last byte");
    assert_eq!(name(&idx, 0x1010), Some("g"), "end is exclusive: next FUNC");
    assert_eq!(name(&idx, 0x1017), Some("g"));
    assert_eq!(name(&idx, 0x1018), None, "between FUNCs, no PUBLIC");
    assert_eq!(name(&idx, 0x101f), None);
    assert_eq!(name(&idx, 0x1020), Some("h"));
    assert_eq!(
        name(&idx, 0x1024),
        None,
        "one past the end of the last FUNC"
    );
    let f = idx.lookup(0x1012).unwrap();
    assert_eq!(f.kind, SymbolKind::Func);
    assert_eq!(f.function_address, 0x1010);
}

#[test]
fn which_function_size_0_funcs_are_ignored() {
    // A size-0 FUNC covers nothing, does not cut the FUNC it lies in, and does not count as
    // "the nearest FUNC below" for the PUBLIC rule.
    let idx = index(
        "FUNC 1000 0 0 empty_alone\n\
         FUNC 2000 20 0 outer\nFUNC 2008 0 0 empty_inside\n\
         PUBLIC 3000 0 pub\nFUNC 3010 0 0 empty_after_public\n",
    );
    assert_eq!(name(&idx, 0x1000), None);
    assert_eq!(name(&idx, 0x2008), Some("outer"));
    assert_eq!(name(&idx, 0x2010), Some("outer"));
    assert_eq!(
        name(&idx, 0x3010),
        Some("pub"),
        "a size-0 FUNC does not hide the PUBLIC below it"
    );
    assert_eq!(idx.lookup(0x3010).unwrap().function_offset, 0x10);
}

#[test]
fn no_func_covers_it_the_nearest_public_at_or_below() {
    let idx = index("PUBLIC 500 0 p\nFUNC 1000 10 0 f\nPUBLIC 2000 0 q\n");
    let f = idx.lookup(0x500).unwrap();
    assert_eq!(
        (f.function, f.kind, f.function_address, f.function_offset),
        ("p", SymbolKind::Public, 0x500, 0)
    );
    let f = idx.lookup(0xfff).unwrap();
    assert_eq!(
        (f.function, f.function_offset),
        ("p", 0xaff),
        "a PUBLIC runs to the next symbol"
    );
    assert_eq!(name(&idx, 0x1000), Some("f"));
    assert_eq!(name(&idx, 0x2000), Some("q"));
    // A PUBLIC has no size: the last one runs to the end of the address space.
    assert_eq!(name(&idx, 0x2000 + (1 << 40)), Some("q"));
    assert_eq!(name(&idx, u64::MAX - 1), Some("q"));
    assert_eq!(name(&idx, u64::MAX), Some("q"));
    assert_eq!(
        idx.lookup(0x2010).unwrap().file,
        None,
        "a PUBLIC has no file"
    );
    assert_eq!(idx.lookup(0x2010).unwrap().line, None);
}

#[test]
fn no_func_covers_it_the_public_must_lie_above_the_nearest_func_start() {
    // Breakpad's rule: after `f` ends, the nearest PUBLIC at or below is `p` (0x500), but it
    // lies below the start of `f`, the nearest FUNC below the address: nothing.
    let idx = index("PUBLIC 500 0 p\nFUNC 1000 10 0 f\nPUBLIC 1020 0 q\n");
    assert_eq!(name(&idx, 0xfff), Some("p"));
    assert_eq!(name(&idx, 0x1010), None);
    assert_eq!(name(&idx, 0x101f), None);
    assert_eq!(name(&idx, 0x1020), Some("q"));
}

#[test]
fn func_and_public_at_one_address_the_func() {
    let idx = index(
        "PUBLIC 1000 0 pub_first\nFUNC 1000 10 0 f\nFUNC 2000 10 0 g\nPUBLIC 2000 0 pub_after\n",
    );
    for a in [0x1000, 0x1008, 0x100f] {
        assert_eq!(idx.lookup(a).unwrap().kind, SymbolKind::Func);
        assert_eq!(name(&idx, a), Some("f"));
    }
    assert_eq!(name(&idx, 0x2000), Some("g"));
    // Past the FUNC's end, the PUBLIC at its start does not lie above the FUNC's start.
    assert_eq!(name(&idx, 0x1010), None);
    assert_eq!(name(&idx, 0x2010), None);
}

#[test]
fn public_inside_a_funcs_range_the_func_for_every_address_it_covers() {
    let idx = index(
        "FUNC 1000 20 0 f\n1000 20 7 0\nPUBLIC 1008 0 inner\nPUBLIC 100c 0 inner2\nFILE 0 a.c\n",
    );
    for a in 0x1000..0x1020 {
        let f = idx.lookup(a).unwrap();
        assert_eq!(
            (f.function, f.kind, f.line),
            ("f", SymbolKind::Func, Some(7)),
            "{a:#x}"
        );
    }
    // After the FUNC's end the PUBLIC answers (it lies above the FUNC's start); of the two
    // inside, the nearest below the address.
    let f = idx.lookup(0x1020).unwrap();
    assert_eq!(
        (f.function, f.kind, f.function_address, f.function_offset),
        ("inner2", SymbolKind::Public, 0x100c, 0x14)
    );
    assert_eq!(name(&idx, 0x9999_9999), Some("inner2"));
}

#[test]
fn past_the_end_of_the_last_func_no_public_after_it_nothing() {
    let idx = index("PUBLIC 100 0 early\nFUNC 1000 10 0 f\n");
    assert_eq!(name(&idx, 0x100f), Some("f"));
    for a in [0x1010, 0x1011, 0x2000, 1 << 32, u64::MAX] {
        assert_eq!(name(&idx, a), None, "{a:#x}");
    }
}

#[test]
fn before_the_first_symbol_nothing() {
    let idx = index("PUBLIC 1000 0 p\nFUNC 2000 10 0 f\n");
    for a in [0, 1, 0xfff] {
        assert_eq!(name(&idx, a), None, "{a:#x}");
    }
    assert_eq!(name(&idx, 0x1000), Some("p"));
    let only_func = index("FUNC 2000 10 0 f\n");
    assert_eq!(name(&only_func, 0x1fff), None);
    assert_eq!(name(&only_func, 0), None);
    let empty = index("FILE 0 a.c\n");
    assert_eq!(empty.intervals(), 0);
    assert_eq!(name(&empty, 0), None);
    assert_eq!(name(&empty, u64::MAX), None);
}

#[test]
fn function_offset_is_address_minus_the_func_or_public_start() {
    let idx = index("FUNC 1000 100 0 f\nPUBLIC 2000 0 p\n");
    let f = idx.lookup(0x10ab).unwrap();
    assert_eq!((f.function_address, f.function_offset), (0x1000, 0xab));
    let p = idx.lookup(0x2345).unwrap();
    assert_eq!((p.function_address, p.function_offset), (0x2000, 0x345));
}

#[test]
fn file_line_of_the_frame_inside_an_inlined_call_is_the_depth_0_call_site() {
    let idx = index(
        "FILE 0 outer.c\nFILE 1 inl.h\nFILE 2 deeper.h\n\
         INLINE_ORIGIN 0 inl\nINLINE_ORIGIN 1 deeper\n\
         FUNC 1000 40 0 f\n1000 10 5 0\n1010 10 50 1\n1020 10 500 2\n1030 10 6 0\n\
         INLINE 0 11 0 0 1010 20\nINLINE 1 55 1 1 1020 10\n",
    );
    // Outside any inline: the covering line record.
    assert_eq!(
        pos(&idx.lookup(0x1005).unwrap()),
        (Some("outer.c"), Some(5))
    );
    assert_eq!(
        pos(&idx.lookup(0x1035).unwrap()),
        (Some("outer.c"), Some(6))
    );
    // Inside the depth-0 inline (and inside depth 1 too): depth 0's call site.
    assert_eq!(
        pos(&idx.lookup(0x1015).unwrap()),
        (Some("outer.c"), Some(11))
    );
    assert_eq!(
        pos(&idx.lookup(0x1025).unwrap()),
        (Some("outer.c"), Some(11))
    );
}

#[test]
fn between_two_line_records_the_previous_line_by_default_none_with_strict_lines() {
    let idx = index("FILE 0 a.c\nFUNC 1000 40 0 f\n1008 8 1 0\n1020 8 2 0\n");
    let s = strict();
    // Before the first line record: no line in both modes (there is no previous one).
    assert_eq!(pos(&idx.lookup(0x1000).unwrap()), (None, None));
    assert_eq!(pos(&idx.lookup_with(0x1007, &s).unwrap()), (None, None));
    // Covered: both modes agree.
    assert_eq!(pos(&idx.lookup(0x1008).unwrap()), (Some("a.c"), Some(1)));
    assert_eq!(
        pos(&idx.lookup_with(0x100f, &s).unwrap()),
        (Some("a.c"), Some(1))
    );
    // The gap: the previous line extends by default, Breakpad's "no line" with strict_lines.
    for a in [0x1010, 0x1018, 0x101f] {
        assert_eq!(
            pos(&idx.lookup(a).unwrap()),
            (Some("a.c"), Some(1)),
            "{a:#x}"
        );
        let f = idx.lookup_with(a, &s).unwrap();
        assert_eq!((f.function, pos(&f)), ("f", (None, None)), "{a:#x}");
    }
    assert_eq!(
        pos(&idx.lookup_with(0x1020, &s).unwrap()),
        (Some("a.c"), Some(2))
    );
    // After the last line record, up to the FUNC's end: the same.
    assert_eq!(pos(&idx.lookup(0x103f).unwrap()), (Some("a.c"), Some(2)));
    assert_eq!(pos(&idx.lookup_with(0x1028, &s).unwrap()), (None, None));
    assert_eq!(name(&idx, 0x1040), None);
}

#[test]
fn inline_frames_innermost_first_each_at_its_position_inside_that_function() {
    let idx = index(
        "FILE 0 main.c\nFILE 1 a.h\nFILE 2 b.h\nFILE 3 c.h\n\
         INLINE_ORIGIN 0 a\nINLINE_ORIGIN 1 b\nINLINE_ORIGIN 2 c\n\
         FUNC 1000 100 0 main\n\
         INLINE 0 10 0 0 1010 40 1080 10\n\
         INLINE 1 20 1 1 1020 20\n\
         INLINE 2 30 2 2 1028 8\n\
         1000 100 99 3\n",
    );
    // Three levels: main calls a at main.c:10, a calls b at a.h:20, b calls c at b.h:30, and
    // the covering line record (c.h:99) is the position inside c.
    let f = idx.lookup(0x102a).unwrap();
    assert_eq!(f.function, "main");
    assert_eq!(pos(&f), (Some("main.c"), Some(10)));
    assert_eq!(
        chain(&f),
        vec![
            ("c", Some("c.h"), Some(99)),
            ("b", Some("b.h"), Some(30)),
            ("a", Some("a.h"), Some(20))
        ]
    );
    // Two levels.
    let f = idx.lookup(0x1021).unwrap();
    assert_eq!(
        chain(&f),
        vec![("b", Some("c.h"), Some(99)), ("a", Some("a.h"), Some(20))]
    );
    // One level, in the second range of the depth-0 INLINE.
    let f = idx.lookup(0x1085).unwrap();
    assert_eq!(chain(&f), vec![("a", Some("c.h"), Some(99))]);
    assert_eq!(pos(&f), (Some("main.c"), Some(10)));
    // Range ends are exclusive.
    assert_eq!(chain(&idx.lookup(0x1030).unwrap()).len(), 2);
    assert_eq!(chain(&idx.lookup(0x1050).unwrap()).len(), 0);
    assert_eq!(pos(&idx.lookup(0x1050).unwrap()), (Some("c.h"), Some(99)));
}

#[test]
fn line_0_and_empty_file_are_omitted() {
    let idx = index(
        "FILE 0 a.c\nFILE 1 \nINLINE_ORIGIN 0 inl\n\
         FUNC 1000 30 0 f\n1000 10 0 0\n1010 10 7 1\n1020 10 8 9\n\
         FUNC 2000 10 0 g\n2000 10 3 0\nINLINE 0 0 1 0 2000 10\n",
    );
    let f = idx.lookup(0x1005).unwrap();
    assert_eq!(f.line, None, "line 0");
    assert_eq!(f.file.map(|s| s.path), Some("a.c"));
    let f = idx.lookup(0x1015).unwrap();
    assert_eq!((f.file, f.line), (None, Some(7)), "empty FILE path");
    let f = idx.lookup(0x1025).unwrap();
    assert_eq!((f.file, f.line), (None, Some(8)), "undefined FILE id");
    // The same for an INLINE call site: call line 0, empty call file.
    let f = idx.lookup(0x2005).unwrap();
    assert_eq!((f.file, f.line), (None, None));
    assert_eq!(chain(&f), vec![("inl", Some("a.c"), Some(3))]);
}

#[test]
fn paths_are_cleaned_an_absolute_path_stays_absolute_and_the_raw_path_is_kept() {
    let idx = index(
        "FILE 0 /build/./src/../lib/x.c\nFILE 1 /a/../../../b.c\nFILE 2 c:\\src\\.\\x\\..\\y.cpp\n\
         FILE 3 hg:hg.mozilla.org/m-c:a/../b.cpp:abc\nFILE 4 src//dir///z.c\nFILE 5 ../rel/./w.c\n\
         FUNC 1000 60 0 f\n1000 10 1 0\n1010 10 1 1\n1020 10 1 2\n1030 10 1 3\n1040 10 1 4\n1050 10 1 5\n",
    );
    let want = [
        ("/build/./src/../lib/x.c", "/build/lib/x.c"),
        ("/a/../../../b.c", "/b.c"),
        ("c:\\src\\.\\x\\..\\y.cpp", "c:\\src\\y.cpp"),
        (
            "hg:hg.mozilla.org/m-c:a/../b.cpp:abc",
            "hg:hg.mozilla.org/m-c:a/../b.cpp:abc",
        ),
        ("src//dir///z.c", "src/dir/z.c"),
        ("../rel/./w.c", "../rel/w.c"),
    ];
    for (i, (raw, cleaned)) in want.iter().enumerate() {
        let f = idx.lookup(0x1000 + 0x10 * i as u64).unwrap();
        let file = f.file.unwrap();
        assert_eq!((file.raw, file.path), (*raw, *cleaned));
        assert!(
            !raw.starts_with('/') || file.path.starts_with('/'),
            "absolute stays absolute"
        );
    }
}

#[test]
fn func_m_and_public_m_are_exposed_as_multiple() {
    let idx = index("FUNC m 1000 10 0 folded\nFUNC 2000 10 0 single\nPUBLIC m 3000 0 pfolded\nPUBLIC 4000 0 psingle\n");
    let cases = [
        (0x1000, "folded", true),
        (0x2000, "single", false),
        (0x3000, "pfolded", true),
        (0x4000, "psingle", false),
    ];
    for (a, n, m) in cases {
        let f = idx.lookup(a).unwrap();
        assert_eq!((f.function, f.multiple), (n, m));
    }
}

#[test]
fn addresses_and_funcs_at_or_above_4_gib_are_resolved() {
    let idx = index(
        "FILE 0 hi.c\nINLINE_ORIGIN 0 inl\n\
         FUNC ffffff00 200 0 straddles_4gib\nffffff00 200 1 0\n\
         FUNC 100000100 20 0 at_4gib\n100000100 10 2 0\n100000110 10 3 0\nINLINE 0 9 0 0 100000110 8\n\
         FUNC 7fff00001000 10 0 high\n7fff00001000 10 4 0\n\
         PUBLIC fffffffff0000000 0 top_public\n",
    );
    let f = idx.lookup(0x1_0000_0000 - 1).unwrap();
    assert_eq!(
        (f.function, f.function_offset, f.line),
        ("straddles_4gib", 0xff, Some(1))
    );
    assert_eq!(name(&idx, 0x1_0000_00ff), Some("straddles_4gib"));
    let f = idx.lookup(0x1_0000_0100).unwrap();
    assert_eq!(
        (f.function, f.function_offset, f.line),
        ("at_4gib", 0, Some(2))
    );
    let f = idx.lookup(0x1_0000_0114).unwrap();
    assert_eq!(
        (f.line, chain(&f)),
        (Some(9), vec![("inl", Some("hi.c"), Some(3))])
    );
    assert_eq!(idx.lookup(0x7fff_0000_100f).unwrap().line, Some(4));
    assert_eq!(name(&idx, 0x7fff_0000_1010), None);
    let f = idx.lookup(0xffff_ffff_f000_0abc).unwrap();
    assert_eq!((f.function, f.function_offset), ("top_public", 0xabc));
}

#[test]
fn module_name_is_the_pe_name_of_a_first_info_code_id_with_a_name() {
    let with_pe = |info: &str| {
        let sym = format!("MODULE windows x86_64 ABCDEF12345 xul.pdb\n{info}FUNC 1000 10 0 f\n");
        let (idx, report) = build_index(sym.as_bytes(), &BuildOptions::default()).unwrap();
        assert_eq!(report.header.pe_name(), idx.header().pe_name());
        idx.header().pe_name().map(str::to_owned)
    };
    assert_eq!(
        with_pe("INFO CODE_ID 5E1C6F2A6B000 xul.dll\n").as_deref(),
        Some("xul.dll")
    );
    assert_eq!(
        with_pe("INFO CODE_ID 5E1C6F2A6B000\n"),
        None,
        "no name: the debug file is used"
    );
    assert_eq!(
        with_pe("INFO GENERATOR x\nINFO CODE_ID 5E1C6F2A6B000 xul.dll\n"),
        None,
        "not the first INFO"
    );
    assert_eq!(with_pe(""), None);
    assert_eq!(index("").header().debug_file, "test.so");
}

// ---------------------------------------------------------------------------------------
// The format's loose ends

#[test]
fn file_and_inline_origin_records_after_the_records_that_use_them() {
    let idx = index(
        "FUNC 1000 10 0 f\n1000 10 42 7\nINLINE 0 3 7 9 1000 8\n\
         PUBLIC 2000 0 p\nINLINE_ORIGIN 9 late_origin\nFILE 7 late.c\n",
    );
    let f = idx.lookup(0x1004).unwrap();
    assert_eq!(pos(&f), (Some("late.c"), Some(3)));
    assert_eq!(chain(&f), vec![("late_origin", Some("late.c"), Some(42))]);
}

#[test]
fn func_and_public_after_stack_records() {
    let idx = index(
        "FILE 0 a.c\nSTACK CFI INIT 1000 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK CFI 1001 .cfa: $rsp 16 +\n\
         STACK WIN 4 1000 10 0 0 0 0 0 0 1 $T0 .raSearch =\n\
         FUNC 1000 10 0 after_stack\n1000 10 5 0\nSTACK CFI INIT 2000 10 .cfa: $rsp 8 +\nPUBLIC 3000 0 late_public\n",
    );
    let f = idx.lookup(0x1001).unwrap();
    assert_eq!((f.function, f.line), ("after_stack", Some(5)));
    assert_eq!(name(&idx, 0x3001), Some("late_public"));
    let r = &idx.meta().report;
    assert_eq!(
        (r.stack_cfi_init, r.stack_cfi, r.stack_win, r.skipped),
        (2, 1, 1, 0)
    );
}

#[test]
fn unknown_module_arch_is_accepted() {
    let sym =
        "MODULE Linux riscv64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\nFUNC 1000 10 0 f\n";
    let (idx, report) = build_index(sym.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!(idx.header().arch, "riscv64");
    assert_eq!(report.header.arch, "riscv64");
    assert_eq!(name(&idx, 0x1000), Some("f"));
    assert_eq!(parse_sym_header(sym.as_bytes()).unwrap().arch, "riscv64");
}

#[test]
fn one_bad_line_is_skipped_and_counted_the_rest_is_kept() {
    // Line 4 has a negative line number, line 6 is garbage.
    let body = "FILE 0 a.c\nFUNC 1000 20 0 f\n1000 8 -3 0\n1008 8 9 0\n!!garbage!!\nFUNC 2000 10 0 g\n2000 10 4 0\n";
    let (idx, report) = index_report(body);
    assert_eq!(report.parse.skipped, 2);
    let lines: Vec<u64> = report.parse.errors.iter().map(|e| e.line).collect();
    assert_eq!(
        lines,
        vec![4, 6],
        "1-based line numbers, counting the MODULE line"
    );
    assert_eq!(
        idx.meta().report.skipped,
        2,
        "the report is kept in the index"
    );
    // The bad record is gone, its neighbours are intact.
    assert_eq!(pos(&idx.lookup(0x1000).unwrap()), (None, None));
    assert_eq!(idx.lookup(0x1008).unwrap().line, Some(9));
    assert_eq!(idx.lookup(0x2000).unwrap().line, Some(4));
}

#[test]
fn one_bad_line_fails_a_strict_build_with_its_line_number() {
    let sym = format!("{MODULE}FILE 0 a.c\nFUNC 1000 20 0 f\n1000 8 -3 0\n");
    let opts = BuildOptions {
        parse: ParseOptions {
            strict: true,
            ..ParseOptions::default()
        },
    };
    let err = build_index(sym.as_bytes(), &opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedSym);
    assert!(err.message().contains("line 4"), "{}", err.message());
    // The same file without the bad line builds in strict mode.
    let ok = format!("{MODULE}FILE 0 a.c\nFUNC 1000 20 0 f\n1000 8 3 0\n");
    assert!(build_index(ok.as_bytes(), &opts).is_ok());
}

#[test]
fn overlapping_funcs_the_first_in_file_order_wins() {
    // `inner` comes later and lies inside `outer`: dropped, `outer` keeps all its bytes.
    let idx = index("FUNC 1000 100 0 outer\nFUNC 1040 10 0 inner\nFUNC 1080 100 0 straddles\nFUNC 2000 10 0 next\n");
    for a in [
        0x1000, 0x103f, 0x1040, 0x1045, 0x104f, 0x1050, 0x1080, 0x10ff,
    ] {
        assert_eq!(name(&idx, a), Some("outer"), "{a:#x}");
    }
    // `straddles` overlaps `outer`: dropped as a whole (not trimmed).
    assert_eq!(name(&idx, 0x1100), None);
    assert_eq!(name(&idx, 0x2000), Some("next"));
    assert_eq!(idx.meta().report.overlapping_funcs, 2);

    // The other order: the inner one first, then a later enclosing one is dropped.
    let idx = index("FUNC 1040 10 0 inner\nFUNC 1000 100 0 outer\n");
    assert_eq!(name(&idx, 0x1000), None);
    assert_eq!(name(&idx, 0x1040), Some("inner"));
    assert_eq!(name(&idx, 0x1050), None);

    // Two FUNCs at one address: the first.
    let idx = index("FUNC 1000 10 0 first\nFUNC 1000 20 0 second\n");
    assert_eq!(name(&idx, 0x1000), Some("first"));
    assert_eq!(name(&idx, 0x1015), None);
}

#[test]
fn overlapping_funcs_a_later_inner_func_does_not_blank_the_outer_one() {
    // With lines, inlines and a PUBLIC around: the outer FUNC answers with its own line
    // records right across the dropped inner FUNC's range.
    let idx = index(
        "FILE 0 a.c\nFUNC 1000 30 0 outer\n1000 30 1 0\nFUNC 1010 10 0 inner\n1010 10 2 0\nPUBLIC 1040 0 p\n",
    );
    for a in 0x1000..0x1030 {
        let f = idx.lookup(a).unwrap();
        assert_eq!((f.function, f.line), ("outer", Some(1)), "{a:#x}");
    }
    assert_eq!(name(&idx, 0x1030), None);
    assert_eq!(name(&idx, 0x1040), Some("p"));
}

#[test]
fn inline_origin_that_is_never_defined_keeps_the_frame_with_an_empty_name() {
    let idx = index("FILE 0 a.c\nINLINE_ORIGIN 1 known\nFUNC 1000 10 0 f\n1000 10 3 0\nINLINE 0 5 0 77 1000 8\n");
    let f = idx.lookup(0x1002).unwrap();
    assert_eq!(chain(&f), vec![("", Some("a.c"), Some(3))]);
    assert_eq!(pos(&f), (Some("a.c"), Some(5)));
}

#[test]
fn crlf_line_ends_and_blank_lines() {
    let sym = "MODULE Linux x86_64 ABCDEF0123 crlf.so\r\n\r\nINFO CODE_ID 1234 crlf.dll\r\n\r\n\r\nFILE 0 a.c\r\n\
               FUNC 1000 10 0 f with spaces \r\n\r\n1000 10 7 0\r\n   \r\nPUBLIC 2000 0 p\r\n";
    let (idx, report) = build_index(sym.as_bytes(), &BuildOptions::default()).unwrap();
    assert_eq!(report.parse.skipped, 0, "{:?}", report.parse.errors);
    assert_eq!(idx.header().debug_file, "crlf.so");
    assert_eq!(idx.header().pe_name(), Some("crlf.dll"));
    let f = idx.lookup(0x1000).unwrap();
    assert_eq!(
        (f.function, pos(&f)),
        ("f with spaces", (Some("a.c"), Some(7)))
    );
    assert_eq!(f.file.unwrap().raw, "a.c", "no stray \\r");
    assert_eq!(name(&idx, 0x2000), Some("p"));
}

#[test]
fn lines_of_hundreds_of_kb_long_cpp_names() {
    let long = format!("ns::f<{}>(int)", "std::vector<int>, ".repeat(17_100));
    assert!(long.len() > 300 * 1024);
    let idx = index(&format!("FILE 0 a.c\nFUNC 1000 10 0 {long}\n1000 10 1 0\nPUBLIC 2000 0 {long}_pub\nFUNC 3000 10 0 short\n"));
    assert_eq!(name(&idx, 0x1005), Some(long.as_str()));
    assert_eq!(name(&idx, 0x2005).map(str::len), Some(long.len() + 4));
    assert_eq!(name(&idx, 0x3000), Some("short"));
}

#[test]
fn non_utf8_bytes_are_kept_lossily() {
    let mut sym = MODULE.as_bytes().to_vec();
    sym.extend_from_slice(
        b"FILE 0 /src/caf\xe9.c\nFUNC 1000 10 0 na\xefve\xff\n1000 10 1 0\nPUBLIC 2000 0 \x80p\n",
    );
    let (idx, report) = build_index(&sym, &BuildOptions::default()).unwrap();
    assert_eq!(report.parse.skipped, 0);
    let f = idx.lookup(0x1000).unwrap();
    assert_eq!(f.function, "na\u{fffd}ve\u{fffd}");
    assert_eq!(f.file.unwrap().path, "/src/caf\u{fffd}.c");
    assert_eq!(name(&idx, 0x2000), Some("\u{fffd}p"));
}

#[test]
fn line_records_that_start_before_their_func_are_clamped_to_it() {
    let idx = index(
        "FILE 0 a.c\nFUNC 1000 10 0 prev\n1000 10 1 0\n\
         FUNC 1010 10 0 f\n1008 10 2 0\n1018 20 3 0\n\
         FUNC 1020 10 0 next\n",
    );
    // `1008 10 2` starts in `prev`: clamped to f's start, `prev` keeps its own line.
    for a in 0x1000..0x1010 {
        assert_eq!(idx.lookup(a).unwrap().line, Some(1), "{a:#x}");
    }
    assert_eq!(idx.lookup(0x1010).unwrap().line, Some(2));
    assert_eq!(idx.lookup(0x1017).unwrap().line, Some(2));
    // `1018 20 3` runs past f's end: clamped, `next` (no lines) stays without a line.
    assert_eq!(idx.lookup(0x101f).unwrap().line, Some(3));
    for a in 0x1020..0x1030 {
        let f = idx.lookup(a).unwrap();
        assert_eq!((f.function, f.line, f.file), ("next", None, None), "{a:#x}");
    }
    // Also in strict mode.
    assert_eq!(idx.lookup_with(0x1020, &strict()).unwrap().line, None);
}

#[test]
fn line_records_that_overlap_each_other_are_resolved_and_never_leak() {
    // Overlaps: the first record in file order keeps the bytes it covers (Breakpad's rule for
    // its range maps, what Eliot answers); a later one keeps what is left.
    let idx = index(
        "FILE 0 a.c\nFUNC 1000 40 0 f\n1010 10 2 0\n1000 18 1 0\n1018 10 3 0\n1030 4 4 0\n1030 8 5 0\n\
         FUNC 1040 10 0 g\n1039 20 9 0\n",
    );
    let lines: Vec<Option<u32>> = (0x1000..0x1040)
        .map(|a| idx.lookup(a).unwrap().line)
        .collect();
    let mut want = vec![Some(1); 0x10];
    want.extend([Some(2); 0x10]);
    want.extend([Some(3); 0x8]);
    want.extend([Some(3); 0x8]); // 0x1028..0x1030: a gap, the previous line by default
    want.extend([Some(4); 0x4]);
    want.extend([Some(5); 0x4]);
    want.extend([Some(5); 0x8]); // after the last record
    assert_eq!(lines, want);
    assert_eq!(idx.lookup_with(0x102c, &strict()).unwrap().line, None);
    // `g`'s record starts inside `f`: f's bytes are not touched, g's start is covered.
    assert_eq!(idx.lookup(0x103f).unwrap().line, Some(5));
    assert_eq!(idx.lookup(0x1040).unwrap().line, Some(9));
}

#[test]
fn inline_ranges_are_clamped_to_their_func() {
    let idx = index(
        "FILE 0 a.c\nINLINE_ORIGIN 0 inl\nFUNC 1000 10 0 f\n1000 10 1 0\nINLINE 0 2 0 0 ff0 30\n\
         FUNC 1010 10 0 g\n1010 10 3 0\n",
    );
    assert_eq!(chain(&idx.lookup(0x1000).unwrap()).len(), 1);
    assert_eq!(chain(&idx.lookup(0x100f).unwrap()).len(), 1);
    let g = idx.lookup(0x1010).unwrap();
    assert_eq!((g.function, g.inlines.len(), g.line), ("g", 0, Some(3)));
}

// ---------------------------------------------------------------------------------------
// The parser's API

#[test]
fn records_iterator_yields_every_record_with_its_line_number() {
    let text = b"MODULE mac arm64 ABCDEF0123 lib.dylib\r\nINFO CODE_ID 12AB\n\nFILE 3 a.c\nINLINE_ORIGIN 4 inl\n\
FUNC m 1000 20 8 f(int)\n1000 10 7 3\nINLINE 1 9 3 4 1000 4 1008 2\nPUBLIC m 2000 0 p\n\
STACK CFI INIT 1000 20 .cfa: $rsp 8 +\nSTACK CFI 1004 .cfa: $rsp 16 +\nSTACK WIN 4 1000 20 0 0 0 0 0 0 1 x\n\
1000 10 -1 3\nFUNC zz 1 1 f\nbogus\n";
    let recs: Vec<(u64, Record<'_>)> = sym_records(text).collect();
    let nums: Vec<u64> = recs.iter().map(|r| r.0).collect();
    assert_eq!(
        nums,
        vec![1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        "blank line 3 skipped"
    );
    match &recs[0].1 {
        Record::Module(h) => assert_eq!(
            (h.os.as_str(), h.arch.as_str(), h.debug_file.as_str()),
            ("mac", "arm64", "lib.dylib")
        ),
        r => panic!("{r:?}"),
    }
    assert_eq!(recs[1].1, Record::Info(b"CODE_ID 12AB"));
    assert_eq!(
        recs[2].1,
        Record::File {
            id: 3,
            path: b"a.c"
        }
    );
    assert_eq!(
        recs[3].1,
        Record::InlineOrigin {
            id: 4,
            name: b"inl"
        }
    );
    assert_eq!(
        recs[4].1,
        Record::Func {
            multiple: true,
            address: 0x1000,
            size: 0x20,
            parameter_size: 8,
            name: b"f(int)"
        }
    );
    assert_eq!(
        recs[5].1,
        Record::Line {
            address: 0x1000,
            size: 0x10,
            line: 7,
            file: 3
        }
    );
    match &recs[6].1 {
        Record::Inline(i) => {
            assert_eq!((i.depth, i.call_line, i.call_file, i.origin), (1, 9, 3, 4));
            assert_eq!(i.ranges, vec![(0x1000, 4), (0x1008, 2)]);
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(
        recs[7].1,
        Record::Public {
            multiple: true,
            address: 0x2000,
            parameter_size: 0,
            name: b"p"
        }
    );
    assert_eq!(
        recs[8].1,
        Record::StackCfiInit {
            address: 0x1000,
            size: 0x20,
            rules: ".cfa: $rsp 8 +"
        }
    );
    assert_eq!(
        recs[9].1,
        Record::StackCfi {
            address: 0x1004,
            rules: ".cfa: $rsp 16 +"
        }
    );
    assert!(matches!(&recs[10].1, Record::StackWin(w) if w.program_string == Some("x")));
    for (n, r) in &recs[11..] {
        assert!(matches!(r, Record::Malformed { .. }), "line {n}: {r:?}");
    }
    assert!(sym_records(b"").next().is_none());
    assert!(sym_records(b"\n\r\n  \n").next().is_none());
}

#[test]
fn parse_header_reads_module_and_info_only() {
    let text = b"\nMODULE windows x86 0185139c8f04ffc94c4c44205044422e1 my lib.pdb\r\n\
INFO CODE_ID 60533C886EFD000 xul.dll\nINFO GENERATOR mozilla/dump_syms 2.3.7\nINFO RELEASECHANNEL nightly\n\
FILE 0 a.c\nINFO LATE ignored\n";
    let h = parse_sym_header(text).unwrap();
    assert_eq!((h.os.as_str(), h.arch.as_str()), ("windows", "x86"));
    assert_eq!(
        h.debug_id, "0185139C8F04FFC94C4C44205044422E1",
        "upper-cased"
    );
    assert_eq!(h.debug_file, "my lib.pdb");
    let code = h.code_id.as_ref().unwrap();
    assert_eq!(
        (code.id.as_str(), code.file.as_deref()),
        ("60533C886EFD000", Some("xul.dll"))
    );
    assert_eq!(h.pe_name(), Some("xul.dll"));
    assert_eq!(h.generator.as_deref(), Some("mozilla/dump_syms 2.3.7"));
    assert_eq!(
        h.info,
        vec![("RELEASECHANNEL".to_owned(), "nightly".to_owned())],
        "stops at the first other record"
    );
    for bad in [
        &b""[..],
        b"FILE 0 a.c\nMODULE Linux x86 AB x\n",
        b"MODULE Linux x86\n",
        b"MODULE a b c-d e\n",
        b"\xff\xfe",
    ] {
        assert_eq!(
            parse_sym_header(bad).unwrap_err().kind(),
            ErrorKind::MalformedSym,
            "{bad:?}"
        );
    }
}
