use super::super::test_walker::{TestWalker, X86};
use super::*;

fn record(kind: WinKind, program: Option<&str>) -> StackWin<'_> {
    StackWin {
        kind,
        address: 0x1000,
        size: 0x80,
        prologue_size: 6,
        epilogue_size: 1,
        parameter_size: 8,
        saved_register_size: 8,
        local_size: 0x10,
        max_stack_size: 0,
        program_string: program,
        allocates_base_pointer: false,
    }
}

fn frame_data(program: &str) -> StackWin<'_> {
    record(WinKind::FrameData, Some(program))
}

fn walker() -> TestWalker {
    let mut w = TestWalker::new(4, X86)
        .reg("esp", 0x8000)
        .reg("ebp", 0x8100);
    w.grand_callee_parameter_size = 4;
    w
}

fn run(w: &mut TestWalker, program: &str) -> Option<()> {
    w.reset();
    walk_win(&frame_data(program), w)
}

#[test]
fn standard_ebp_frame() {
    // MSVC's program for `push ebp; mov ebp, esp`.
    let mut w = walker()
        .reg("ebx", 5)
        .mem(0x8100, 0x8200)
        .mem(0x8104, 0x40_1234);
    run(
        &mut w,
        "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
    )
    .unwrap();
    assert_eq!(w.caller("eip"), Some(0x40_1234));
    assert_eq!(w.caller("esp"), Some(0x8108));
    assert_eq!(w.caller("ebp"), Some(0x8200));
    // ebx starts as the callee's and nothing changed it; esi and edi were never defined.
    assert_eq!(w.caller("ebx"), Some(5));
    assert_eq!(w.caller.len(), 4);
    // Nothing is cleared (see the module docs).
    assert!(w.cleared.is_empty());
}

#[test]
fn ra_search_frame() {
    // Without a frame pointer: the return address is at esp + locals + saved registers +
    // the grand-callee's parameters (0x10 + 8 + 4).
    let mut w = walker().mem(0x801c, 0x40_2000);
    run(&mut w, "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =").unwrap();
    assert_eq!(w.caller("eip"), Some(0x40_2000));
    assert_eq!(w.caller("esp"), Some(0x8020));
    assert_eq!(w.caller("ebp"), Some(0x8100));
    // `.raSearchStart` is the same place; the sizes are variables too.
    w = w.mem(0x8004, 0x77);
    run(
        &mut w,
        "$T0 .raSearchStart = $eip $T0 ^ = $esi $esp .cbLocals + .cbCalleeParams - .cbParams - ^ = \
         $edi .cbSavedRegs =",
    )
    .unwrap();
    assert_eq!(w.caller("eip"), Some(0x40_2000));
    assert_eq!(w.caller("esi"), Some(0x77));
    assert_eq!(w.caller("edi"), Some(8));
}

#[test]
fn aligned_frame_searches_from_ebp() {
    // `@` anywhere: the return address is searched from ebp + 4, not from esp.
    let program = "$T1 .raSearch = $T0 $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = \
                   $esp $T1 4 + = $ebx $T0 28 - ^ = $esi $T0 24 - ^ = $edi $T0 20 - ^ =";
    let mut w = walker()
        .reg("ebp", 0x8104)
        .mem(0x8104, 0x8300)
        .mem(0x8108, 0x40_3000)
        .mem(0x80e4, 0xb)
        .mem(0x80e8, 0x5)
        .mem(0x80ec, 0xd);
    run(&mut w, program).unwrap();
    assert_eq!(w.caller("eip"), Some(0x40_3000));
    assert_eq!(w.caller("esp"), Some(0x810c));
    assert_eq!(w.caller("ebp"), Some(0x8300));
    assert_eq!(
        (w.caller("ebx"), w.caller("esi"), w.caller("edi")),
        (Some(0xb), Some(0x5), Some(0xd))
    );
}

#[test]
fn equals_glued_to_the_next_token() {
    let mut w = walker().mem(0x8100, 0x8200).mem(0x8104, 0x40_1234);
    run(
        &mut w,
        "$T0 $ebp = $eip $T0 4 + ^ =$ebp $T0 ^ =$esp $T0 8 + =",
    )
    .unwrap();
    assert_eq!(w.caller("ebp"), Some(0x8200));
    assert_eq!(w.caller("esp"), Some(0x8108));
}

#[test]
fn variables_and_undef() {
    let mut w = walker();
    // An empty program gives back esp and ebp.
    run(&mut w, "").unwrap();
    assert_eq!(
        (w.caller("esp"), w.caller("ebp")),
        (Some(0x8000), Some(0x8100))
    );
    // `.undef` deletes.
    run(&mut w, "$esp .undef = $ebp .undef =").unwrap();
    assert!(w.caller.is_empty());
    // Temporaries are not registers; values left on the stack are ignored.
    run(&mut w, "$t0 1 = $esp $t0 5 + = $ebp 2 = 3 4 $eax").unwrap();
    assert_eq!((w.caller("esp"), w.caller("ebp")), (Some(6), Some(2)));
    assert_eq!(w.caller.len(), 2);
    // A variable is read when used, not when pushed.
    run(&mut w, "$esp $T0 $T0 2 = = $ebp 3 =").unwrap();
    assert_eq!((w.caller("esp"), w.caller("ebp")), (Some(2), Some(3)));
    // 32-bit arithmetic, unsigned division.
    run(&mut w, "$esp 0 1 - = $ebp -4 2 / =").unwrap();
    assert_eq!(
        (w.caller("esp"), w.caller("ebp")),
        (Some(0xffff_ffff), Some(0x7fff_fffe))
    );
    // Callee registers are truncated to 32 bits.
    w.callee.insert("esp", 0x1_0000_8000);
    run(&mut w, "").unwrap();
    assert_eq!(w.caller("esp"), Some(0x8000));
}

#[test]
fn cannot_unwind() {
    let mut w = walker();
    for program in [
        "$esp 4096 ^ =",   // unreadable memory
        "$esp $kitties =", // an undefined variable
        "$esp .undef = $ebp $esp =",
        "0 2 =", // assigning to a number
        "0 $esp =",
        "esp 2 =", // variables start with `$` or `.`
        "$esp 1 0 / =",
        "$esp 1 0 % =",
        "$esp 1 0 @ =",
        "$esp 1 3 @ =",
        "1 +",
        "^",
        "=",
        "$esp 4294967296 =", // beyond i32
        "$esp .undef 1 + =",
        "$esp ==1", // `=` then `=1`, which is not a token
    ] {
        assert_eq!(run(&mut w, program), None, "{program:?}");
    }
    // esp and ebp must be known.
    let mut no_ebp = TestWalker::new(4, X86).reg("esp", 0x8000);
    assert_eq!(walk_win(&frame_data(""), &mut no_ebp), None);
    // A kind and a program that disagree.
    assert_eq!(walk_win(&record(WinKind::FrameData, None), &mut w), None);
    assert_eq!(walk_win(&record(WinKind::Fpo, Some("")), &mut w), None);
    // The search start overflowing 32 bits.
    w.callee.insert("esp", 0xffff_fff0);
    assert_eq!(run(&mut w, ""), None);
    w.callee.insert("ebp", 0xffff_fffe);
    assert_eq!(run(&mut w, "@"), None);
}

#[test]
fn limits() {
    // With ebx, the program starts with nine variables.
    let mut w = walker().reg("ebx", 1);
    let deep = |n: usize| {
        let mut p = String::from("$esp");
        for _ in 0..n - 1 {
            p.push_str(" 1");
        }
        for _ in 1..n - 1 {
            p.push_str(" +");
        }
        p + " ="
    };
    run(&mut w, &deep(32)).unwrap();
    assert_eq!(w.caller("esp"), Some(31));
    assert_eq!(run(&mut w, &deep(33)), None);
    let vars = |n: usize| (0..n).map(|i| format!("$v{i} {i} = ")).collect::<String>();
    // Nine defined at the start, 76 at most.
    run(&mut w, &vars(67)).unwrap();
    assert_eq!(run(&mut w, &vars(68)), None);
    assert_eq!(run(&mut w, &" ".repeat(64 * 1024 + 1)), None);
}

#[test]
fn fpo() {
    let mut info = record(WinKind::Fpo, None);
    info.saved_register_size = 0xc;
    // Frame size 0x10 + 0xc + 4: the return address at esp + 0x20.
    let mut w = walker().reg("ebx", 3).mem(0x8020, 0x40_5000);
    walk_win(&info, &mut w).unwrap();
    assert_eq!(w.caller("eip"), Some(0x40_5000));
    assert_eq!(w.caller("esp"), Some(0x8024));
    assert_eq!(w.caller("ebp"), Some(0x8100));
    assert_eq!(w.caller("ebx"), Some(3));

    // ebp saved in the frame, at esp + grand-callee parameters + saved registers - 8.
    info.allocates_base_pointer = true;
    let mut w = walker()
        .reg("ebx", 3)
        .mem(0x8020, 0x40_5000)
        .mem(0x8008, 0x8800);
    walk_win(&info, &mut w).unwrap();
    assert_eq!(w.caller("ebp"), Some(0x8800));
    assert_eq!(w.caller("ebx"), None);

    // Unreadable return address.
    let mut w = walker().reg("esp", 0x9000);
    assert_eq!(walk_win(&info, &mut w), None);
}

#[test]
fn fpo_leftover_return_address() {
    // In the context frame, a return address equal to eip is skipped.
    let info = StackWin {
        local_size: 0,
        saved_register_size: 0,
        ..record(WinKind::Fpo, None)
    };
    let mut w = TestWalker::new(4, X86)
        .reg("esp", 0x8000)
        .reg("ebp", 17)
        .reg("eip", 0xabcd_1234)
        .mem(0x8000, 0xabcd_1234)
        .mem(0x8004, 0xabcd_5678);
    w.has_grand_callee = false;
    walk_win(&info, &mut w).unwrap();
    assert_eq!(w.caller("eip"), Some(0xabcd_5678));
    assert_eq!(w.caller("esp"), Some(0x8008));
    assert_eq!(w.caller("ebp"), Some(17));
    // With a grand-callee, it is the return address.
    w.has_grand_callee = true;
    w.reset();
    walk_win(&info, &mut w).unwrap();
    assert_eq!(w.caller("eip"), Some(0xabcd_1234));
    // The context frame needs the callee's eip to check.
    w.has_grand_callee = false;
    w.callee.remove("eip");
    assert_eq!(walk_win(&info, &mut w), None);
}
