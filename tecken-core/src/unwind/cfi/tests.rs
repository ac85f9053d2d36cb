use super::super::test_walker::{TestWalker, AMD64, ARM, ARM64, X86};
use super::*;

fn rules<'a>(init: &'a str, deltas: &[&'a str]) -> CfiRules<'a> {
    CfiRules {
        init_address: 0x100,
        init_size: 0x40,
        init_rules: init,
        deltas: deltas
            .iter()
            .enumerate()
            .map(|(i, d)| (0x101 + i as u64, *d))
            .collect(),
    }
}

fn walk(w: &mut TestWalker, init: &str, deltas: &[&str]) -> Option<()> {
    w.reset();
    walk_cfi(&rules(init, deltas), w)
}

#[test]
fn x86_push_ebp_mov_ebp_esp() {
    // gcc's `push %ebp; mov %esp,%ebp` prologue, as dump_syms writes it.
    let init = ".cfa: $esp 4 + .ra: .cfa -4 + ^";
    let d1 = ".cfa: $esp 8 + $ebp: .cfa -8 + ^";
    let d2 = ".cfa: $ebp 8 +";
    let mut w = TestWalker::new(4, X86)
        .reg("esp", 0x8100)
        .reg("ebp", 0x8200)
        .reg("eip", 0x1234)
        .mem(0x8100, 0xaaaa_0001) // return address at the entry
        .mem(0x8200, 0x8300) // saved ebp
        .mem(0x8204, 0xbbbb_0002); // return address after the prologue

    walk(&mut w, init, &[]).unwrap();
    assert_eq!((w.cfa, w.ra), (Some(0x8104), Some(0xaaaa_0001)));
    assert!(w.caller.is_empty());

    // After `push %ebp` (esp moved down by 4, so the CFA is esp + 8).
    w.callee.insert("esp", 0x80fc);
    w = w.mem(0x80fc, 0x8300);
    walk(&mut w, init, &[d1]).unwrap();
    assert_eq!(w.cfa, Some(0x8104));
    assert_eq!(w.ra, Some(0xaaaa_0001));
    assert_eq!(w.caller("ebp"), Some(0x8300));

    // In the body: the CFA follows ebp; the ebp rule of d1 still applies.
    walk(&mut w, init, &[d1, d2]).unwrap();
    assert_eq!(w.cfa, Some(0x8208));
    assert_eq!(w.ra, Some(0xbbbb_0002));
    assert_eq!(w.caller("ebp"), Some(0x8300));
}

#[test]
fn x86_64_saved_registers() {
    let init = ".cfa: $rsp 8 + .ra: .cfa -8 + ^";
    let deltas = [
        ".cfa: $rsp 16 + $rbp: .cfa -16 + ^",
        ".cfa: $rbp 16 +",
        "$rbx: .cfa -24 + ^ $r12: .cfa -32 + ^",
    ];
    let w = TestWalker::new(8, AMD64)
        .reg("rsp", 0x8000)
        .reg("rbp", 0x8100)
        .reg("rip", 0x1234)
        .reg("rbx", 7)
        .mem(0x8108, 0xffff_8000_dead_beef)
        .mem(0x8100, 0x8200)
        .mem(0x80f8, 0x1111)
        .mem(0x80f0, 0x2222);
    let mut w = w;
    walk(&mut w, init, &deltas).unwrap();
    assert_eq!(w.cfa, Some(0x8110));
    assert_eq!(w.ra, Some(0xffff_8000_dead_beef));
    assert_eq!(w.caller("rbp"), Some(0x8200));
    assert_eq!(w.caller("rbx"), Some(0x1111));
    assert_eq!(w.caller("r12"), Some(0x2222));
    // Registers without rules are the walker's business: untouched.
    assert_eq!(w.caller.len(), 3);
    assert!(w.cleared.is_empty());
}

#[test]
fn arm_registers_without_dollar() {
    // ARM: `sp`, `lr`, `r7` as dump_syms writes them, the return address in lr at entry.
    let init = ".cfa: sp 0 + .ra: lr";
    let d1 = ".cfa: sp 8 + .ra: .cfa -4 + ^ r7: .cfa -8 + ^";
    let mut w = TestWalker::new(4, ARM)
        .reg("sp", 0x8010)
        .reg("lr", 0x4321)
        .reg("pc", 0x1000)
        .mem(0x8014, 0x5555)
        .mem(0x8010, 0x8040);
    walk(&mut w, init, &[]).unwrap();
    assert_eq!((w.cfa, w.ra), (Some(0x8010), Some(0x4321)));
    walk(&mut w, init, &[d1]).unwrap();
    assert_eq!((w.cfa, w.ra), (Some(0x8018), Some(0x5555)));
    assert_eq!(w.caller("r7"), Some(0x8040));
}

#[test]
fn arm64_frame_record() {
    let init = ".cfa: sp 0 + .ra: x30";
    let deltas = [
        ".cfa: sp 32 + .ra: .cfa -24 + ^ x29: .cfa -32 + ^",
        ".cfa: x29 32 +",
        "x19: .cfa -16 + ^ x20: .cfa -8 + ^",
    ];
    let mut w = TestWalker::new(8, ARM64)
        .reg("sp", 0x8000)
        .reg("x29", 0x8000)
        .reg("x30", 0x9999)
        .reg("pc", 0x1000)
        .mem(0x8000, 0x8100)
        .mem(0x8008, 0x7777_0000_1234)
        .mem(0x8010, 19)
        .mem(0x8018, 20);
    walk(&mut w, init, &deltas).unwrap();
    assert_eq!((w.cfa, w.ra), (Some(0x8020), Some(0x7777_0000_1234)));
    assert_eq!(w.caller("x29"), Some(0x8100));
    assert_eq!(w.caller("x19"), Some(19));
    assert_eq!(w.caller("x20"), Some(20));
}

#[test]
fn operators_and_constants() {
    let mut w = TestWalker::new(8, AMD64).reg("rsp", 0x8000);
    for (cfa, want) in [
        ("1 2 +", 3u64),
        ("5 3 -", 2),
        ("3 5 -", u64::MAX - 1),
        ("5 3 *", 15),
        ("7 2 /", 3),
        ("-4 2 /", (-4i64 as u64) / 2),
        ("7 4 %", 3),
        ("161 8 @", 160),
        ("+5", 5),
        ("-9223372036854775808", 1 << 63),
        ("$rsp 8 + 16 @", 0x8000),
        ("rsp", 0x8000),
        ("a$rsp", 0x8000),
        ("  1\t2\n+ ", 3),
    ] {
        walk(&mut w, &format!(".cfa: {cfa} .ra: 0"), &[]).unwrap();
        assert_eq!(w.cfa, Some(want), "{cfa}");
    }
}

#[test]
fn cannot_unwind() {
    let mut w = TestWalker::new(8, AMD64).reg("rsp", 0x8000).reg("rip", 1);
    for init in [
        "",
        "   ",
        ".cfa: 8",                           // no .ra
        ".ra: 8",                            // no .cfa
        ".cfa 8 .ra: 8",                     // not starting with a rule
        "$rsp 8 + .cfa: 8 .ra: 8",           // an expression before any register
        ".cfa: .ra: 8",                      // an empty expression
        ".cfa: 8 .ra: 8 $rbx:",              // an empty trailing expression
        ".cfa: 8 12 .ra: 8",                 // two values left
        ".cfa: + .ra: 8",                    // missing operands
        ".cfa: 1 + .ra: 8",                  // missing operand
        ".cfa: ^ .ra: 8",                    // missing address
        ".cfa: 1 0 / .ra: 8",                // division by zero
        ".cfa: 1 0 % .ra: 8",                // remainder by zero
        ".cfa: 1 0 @ .ra: 8",                // alignment to zero
        ".cfa: 8 3 @ .ra: 8",                // alignment to a non-power of two
        ".cfa: .undef .ra: 8",               // unknown CFA
        ".cfa: 8 .ra: 1 .undef +",           // .undef anywhere
        ".cfa: .cfa .ra: 8",                 // the CFA from itself
        ".cfa: .ra .ra: 8",                  // .ra is not a value
        ".cfa: 8 .ra: .ra",                  // .ra is not a value
        ".cfa: 8 .ra: $kitties",             // an unknown register
        ".cfa: 8 .ra: $rbx",                 // a register the callee does not have
        ".cfa: 8 .ra: 0x10",                 // no hexadecimal
        ".cfa: 8 .ra: 99999999999999999999", // beyond i64: read as a register name
        ".cfa: 8 .ra: 4096 ^",               // unreadable memory
        ".cfa: 8 .ra: $rsp $rip =",          // no `=` in CFI
    ] {
        assert_eq!(walk(&mut w, init, &[]), None, "{init:?}");
        assert_eq!((w.cfa, w.ra), (None, None), "{init:?}");
    }
    // A malformed delta fails the walk even though the INIT rules are fine.
    let init = ".cfa: $rsp 8 + .ra: .cfa -8 + ^";
    assert_eq!(walk(&mut w, init, &[".cfa $rsp 16 +"]), None);
    assert_eq!(walk(&mut w, init, &[""]), None);
}

#[test]
fn other_registers_are_best_effort() {
    let mut w = TestWalker::new(8, AMD64).reg("rsp", 0x8000).reg("rbx", 3);
    w.caller.insert("rbx".into(), 3);

    // A failing rule clears the register; an unknown one is dropped; `.undef` as a
    // destination is a register name like any other.
    walk(
        &mut w,
        ".cfa: 8 .ra: 12 $rax: .undef $rbx: 1 0 / $kitties: 16 .undef: 1 $rcx: .ra",
        &[],
    )
    .unwrap();
    assert_eq!((w.cfa, w.ra), (Some(8), Some(12)));
    assert!(w.caller.is_empty());
    assert_eq!(w.cleared, ["rax", "rbx", "rcx"]);

    // `REG:REG:` is one odd register name, not two rules.
    walk(&mut w, ".cfa: 12 .ra: 8 $rax:$rbx: 8", &[]).unwrap();
    assert_eq!((w.cfa, w.ra), (Some(12), Some(8)));
    assert!(w.caller.is_empty() && w.cleared.is_empty());
}

#[test]
fn later_rules_replace_earlier_ones() {
    let mut w = TestWalker::new(8, AMD64);
    walk(&mut w, ".cfa: 1 .cfa: 2 .ra: 3 .ra: 4 $rax: 5 rax: 6", &[]).unwrap();
    assert_eq!((w.cfa, w.ra, w.caller("rax")), (Some(2), Some(4), Some(6)));
    walk(
        &mut w,
        ".cfa: 1 .ra: 3 $rax: 5",
        &[".ra: 9", "$rax: .cfa 1 +", ".cfa: 7"],
    )
    .unwrap();
    assert_eq!((w.cfa, w.ra, w.caller("rax")), (Some(7), Some(9), Some(8)));
}

#[test]
fn start_address_is_reported_and_reset() {
    let mut w = TestWalker::new(8, AMD64);
    let r = rules(".cfa: 8 .ra: 1", &[]);
    walk_cfi_in_module(&r, 0x7000_0000, &mut w).unwrap();
    let bad = rules(".cfa: 8", &[]);
    assert_eq!(walk_cfi_in_module(&bad, 0x7000_0000, &mut w), None);
    assert_eq!(
        w.start_addresses,
        [Some(0x7000_0100), None, Some(0x7000_0100), None]
    );
    // walk_cfi alone leaves it to the caller.
    walk_cfi(&r, &mut w).unwrap();
    assert_eq!(w.start_addresses.len(), 4);
}

#[test]
fn limits() {
    let mut w = TestWalker::new(8, AMD64);
    // 32 values deep is fine, 33 is not.
    let deep = |n: usize| {
        let mut e = String::from(".cfa:");
        for _ in 0..n {
            e.push_str(" 1");
        }
        for _ in 1..n {
            e.push_str(" +");
        }
        e + " .ra: 0"
    };
    walk(&mut w, &deep(32), &[]).unwrap();
    assert_eq!(w.cfa, Some(32));
    assert_eq!(walk(&mut w, &deep(33), &[]), None);

    // Rules for 64 registers are fine, 65 are not; repeating one does not count.
    let regs = |n: usize| {
        let mut e = String::from(".cfa: 8 .ra: 0");
        for i in 0..n {
            e.push_str(&format!(" q{i}: 1 q{i}: 2"));
        }
        e
    };
    walk(&mut w, &regs(64), &[]).unwrap();
    assert_eq!(w.cleared.len() + w.caller.len(), 0); // none known to the walker: dropped
    assert_eq!(walk(&mut w, &regs(65), &[]), None);

    // A rule string over 64 KiB.
    let long = format!(".cfa: 8 .ra: 0{}", " ".repeat(64 * 1024));
    assert_eq!(walk(&mut w, &long, &[]), None);
}

#[test]
fn hostile_strings_do_not_panic() {
    let mut w = TestWalker::new(8, AMD64).reg("rsp", u64::MAX).reg("rip", 0);
    for s in [
        ":",
        ": :",
        "::",
        ".cfa:: 1 .ra: 1",
        "$: 1 .cfa: $ .ra: $$",
        ".cfa: \u{e9} .ra: 1",
        ".cfa: $rsp 1 + .ra: $rsp ^",
        ".cfa: -1 -1 * .ra: 1 -1 /",
        "\u{0}\u{ff}",
    ] {
        let _ = walk(&mut w, s, &[s, s]);
    }
}
