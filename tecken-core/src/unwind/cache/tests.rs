use super::super::test_walker::{TestWalker, AMD64, X86};
use super::super::{walk_cfi, walk_win};
use super::*;

/// Everything a walk did to the walker.
fn outcome(w: &TestWalker) -> impl PartialEq + std::fmt::Debug {
    (
        w.caller.clone(),
        w.cleared.clone(),
        w.cfa,
        w.ra,
        w.start_addresses.clone(),
    )
}

fn cfi_same(cache: &mut UnwindCache, w: &TestWalker, init: &str, deltas: &[&str]) {
    let rules = CfiRules {
        init_address: 0x100,
        init_size: 0x40,
        init_rules: init,
        deltas: deltas.iter().map(|d| (0x101, *d)).collect(),
    };
    let (mut a, mut b) = (w.clone(), w.clone());
    let ra = walk_cfi(&rules, &mut a);
    let rb = cache.walk_cfi(&rules, &mut b);
    assert_eq!((ra, outcome(&a)), (rb, outcome(&b)), "{init:?} {deltas:?}");
}

fn win_same(cache: &mut UnwindCache, w: &TestWalker, program: &str) {
    let info = StackWin {
        kind: WinKind::FrameData,
        address: 0,
        size: 0x10,
        prologue_size: 0,
        epilogue_size: 0,
        parameter_size: 8,
        saved_register_size: 4,
        local_size: 0x10,
        max_stack_size: 0,
        program_string: Some(program),
        allocates_base_pointer: false,
    };
    let (mut a, mut b) = (w.clone(), w.clone());
    let ra = walk_win(&info, &mut a);
    let rb = cache.walk_win(&info, &mut b);
    assert_eq!((ra, outcome(&a)), (rb, outcome(&b)), "{program:?}");
}

/// A tiny deterministic generator (the tests must not depend on the run).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn cfi_cached_equals_uncached() {
    let mut w = TestWalker::new(8, AMD64)
        .reg("rsp", 0x8010)
        .reg("rbp", 0x8100)
        .reg("rbx", 9);
    w = w
        .mem(0x8018, 0x1234)
        .mem(0x8010, 0x8200)
        .mem(0x8100, 0x8300);
    let vocab = [
        ".cfa:",
        ".ra:",
        "$rbp:",
        "rbx:",
        "$r12:",
        ".undef:",
        "$rsp",
        "rbp",
        "$rbx",
        ".cfa",
        ".ra",
        ".undef",
        "8",
        "-8",
        "16",
        "+4",
        "0",
        "3",
        "+",
        "-",
        "*",
        "/",
        "%",
        "@",
        "^",
        "kitties",
        "a$rsp",
        ":",
        "=",
        "99999999999999999999",
        "0x8",
    ];
    let mut cache = UnwindCache::new();
    let mut rng = Lcg(7);
    let mut lines = Vec::new();
    for _ in 0..300 {
        let n = 1 + rng.below(12);
        let mut s = String::from(".cfa: $rsp 8 + .ra: .cfa -8 + ^");
        if rng.below(4) == 0 {
            s.clear();
        }
        for _ in 0..n {
            s.push(' ');
            s.push_str(vocab[rng.below(vocab.len())]);
        }
        lines.push(s);
    }
    for i in 0..3000 {
        let init = &lines[rng.below(lines.len())];
        let deltas: Vec<&str> = (0..rng.below(4))
            .map(|_| lines[rng.below(lines.len())].as_str())
            .collect();
        cfi_same(&mut cache, &w, init, &deltas);
        if i == 1500 {
            cache.clear();
        }
    }
    // The usual shapes take the fast paths; they agree too.
    for init in [
        ".cfa: $rsp 8 + .ra: .cfa -8 + ^",
        ".cfa: $rsp 8 - .ra: .cfa 8 * ^",
        ".cfa: rsp .ra: .cfa 0 / ^ $rbx: $rbp 0 %",
        ".cfa: $rsp .ra: .cfa 3 @ ^",
    ] {
        cfi_same(&mut cache, &w, init, &[]);
        cfi_same(
            &mut cache,
            &w,
            init,
            &["$rbp: .cfa -8 + ^", ".cfa: $rbp 16 +"],
        );
    }
}

#[test]
fn win_cached_equals_uncached() {
    let mut w = TestWalker::new(4, X86)
        .reg("esp", 0x8000)
        .reg("ebp", 0x8100)
        .reg("ebx", 3);
    w = w
        .mem(0x8100, 0x8200)
        .mem(0x8104, 0x40_1234)
        .mem(0x801c, 0x40_2000);
    w.grand_callee_parameter_size = 4;
    let vocab = [
        "$T0",
        "$T1",
        "$eip",
        "$esp",
        "$ebp",
        "$ebx",
        "$esi",
        "$edi",
        ".raSearch",
        ".raSearchStart",
        ".cbParams",
        ".cbLocals",
        ".cbSavedRegs",
        ".cbCalleeParams",
        "$L",
        ".undef",
        "=",
        "=$T0",
        "==",
        "4",
        "8",
        "-4",
        "0",
        "3",
        "+",
        "-",
        "*",
        "/",
        "%",
        "@",
        "^",
        "esp",
        "4294967296",
    ];
    let mut cache = UnwindCache::new();
    let mut rng = Lcg(11);
    for _ in 0..5000 {
        let mut p = String::new();
        if rng.below(3) == 0 {
            p.push_str("$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =");
        }
        for _ in 0..rng.below(14) {
            p.push(' ');
            p.push_str(vocab[rng.below(vocab.len())]);
        }
        win_same(&mut cache, &w, &p);
        win_same(&mut cache, &w, &p);
    }
    // A program naming more variables than compile runs as text, with the same limit.
    let vars = |n: usize| (0..n).map(|i| format!("$v{i} {i} = ")).collect::<String>();
    for n in [60, 64, 65, 67, 68, 80] {
        win_same(&mut cache, &w, &vars(n));
    }
    let deep = |n: usize| format!("$esp{} {} =", " 1".repeat(n), "+ ".repeat(n - 1));
    for n in [30, 31, 32, 33] {
        win_same(&mut cache, &w, &deep(n));
    }
}

#[test]
fn cache_is_bounded_and_reused() {
    let w = TestWalker::new(8, AMD64).reg("rsp", 0x8010);
    let mut cache = UnwindCache::new();
    assert!(cache.is_empty());
    let init = ".cfa: $rsp 8 + .ra: 1";
    cfi_same(&mut cache, &w, init, &[]);
    cfi_same(&mut cache, &w, init, &[]);
    assert_eq!(cache.len(), 1);
    for i in 0..MAX_ENTRIES + 10 {
        cfi_same(&mut cache, &w, &format!(".cfa: $rsp {i} + .ra: 1"), &[]);
        assert!(cache.len() <= MAX_ENTRIES);
    }
    assert!(cache.len() < 100, "emptied once full: {}", cache.len());
    // Strings too long to cache are walked uncached, with the same answer.
    let long = format!(".cfa: $rsp 8 + .ra: 1{}", " ".repeat(MAX_RULE_LEN));
    cfi_same(&mut cache, &w, &long, &[]);
    let many: Vec<&str> = vec!["$rbx: 1"; MAX_ENTRIES + 1];
    cfi_same(&mut cache, &w, init, &many);
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn fold_hash_spreads() {
    let b = FoldBuild(1);
    let h = |s: &str| b.hash_one(s);
    assert_ne!(h(""), h("\0"));
    assert_ne!(h("abcdefgh"), h("abcdefgh\0"));
    assert_ne!(h(".cfa: $rsp 8 +"), h(".cfa: $rsp 16 +"));
    assert_ne!(FoldBuild(1).hash_one("x"), FoldBuild(3).hash_one("x"));
}

#[test]
fn tables_start_small_and_grow_with_the_work() {
    let w = TestWalker::new(8, AMD64).reg("rsp", 0x8010);
    let mut cache = UnwindCache::new();
    assert!(cache.cfi_seen.slots.is_empty() && cache.plans.slots.is_empty());
    // A few walks (a small dump): the first, smallest tables.
    let strings: Vec<String> = (0..3000)
        .map(|i| format!(".cfa: $rsp {i} + .ra: .cfa -8 + ^"))
        .collect();
    for s in &strings[..4] {
        cfi_same(&mut cache, &w, s, &[]);
    }
    assert_eq!(cache.cfi_seen.slots.len(), FIRST_SLOTS);
    assert_eq!(cache.plans.slots.len(), FIRST_SLOTS);
    // Many strings: the tables grow to their largest and stop there; every walk, cached
    // or not, answers as the uncached walk (checked by `cfi_same`), the strings walked
    // before the growth included.
    for round in 0..2 {
        for (i, s) in strings.iter().enumerate() {
            let delta = format!("$rbx: .cfa -{} + ^", 8 * (i % 5 + 1));
            cfi_same(&mut cache, &w, s, &[delta.as_str()]);
            if round == 1 && i < 50 {
                cfi_same(&mut cache, &w, &strings[i % 4], &[]);
            }
        }
    }
    assert_eq!(cache.cfi_seen.slots.len(), SEEN);
    assert_eq!(cache.plans.slots.len(), PLANS);
    // STACK WIN programs: the same.
    let x86 = TestWalker::new(4, X86)
        .reg("esp", 0x8010)
        .reg("ebp", 0x8020);
    for i in 0..2000 {
        win_same(
            &mut cache,
            &x86,
            &format!("$T0 $ebp = $eip $T0 {} + ^ =", 4 * (i % 7 + 1)),
        );
        if i == 3 {
            assert_eq!(cache.win_seen.slots.len(), FIRST_SLOTS);
        }
    }
    assert_eq!(cache.win_seen.slots.len(), SEEN);
    cache.clear();
    assert_eq!(cache.cfi_seen.slots.len(), SEEN, "cleared, not shrunk");
}
