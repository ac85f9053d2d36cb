//! tecken-core's STACK CFI / STACK WIN evaluation against breakpad-symbols 0.27's, on
//! random-but-valid and hostile records over random register and memory states: every
//! register, CFA and return address each sets (and every register it clears, and what it
//! returns) must be the same.
//!
//! breakpad-symbols walks through `SymbolFile::walk_frame`, so each case is written as a
//! `.sym` and parsed; tecken-core evaluates what breakpad-symbols parsed, uncached and
//! through one `UnwindCache` for the whole run (rule strings repeat across cases). The generators
//! stay within tecken-core's limits (expression depth, registers, rule length), where the
//! two deliberately differ (tecken-core refuses, breakpad-symbols has none).

use breakpad_symbols::SymbolFile;
use tecken_benches::rng::Rng;
use tecken_benches::unwind::{cfi_case, win_case, Case, Outcome, MODULE_BASE};
use tecken_core::{walk_cfi_in_module, walk_win, UnwindCache};

/// How many walks each part makes and how many of them unwound, on each side.
#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    skipped: usize,
    unwound: usize,
}

fn theirs(case: &Case, sym: &SymbolFile) -> Outcome {
    let mut w = case.fresh_walker();
    w.out.result = sym.walk_frame(&Case::module(), &mut w);
    w.out
}

fn check(case: &Case, sym_text: &str, ours: Outcome, theirs: Outcome, tally: &mut Tally) {
    assert_eq!(
        ours, theirs,
        "tecken-core (left) and breakpad-symbols (right) differ on\n{sym_text}\nwalker: {:?}",
        case.walker
    );
    tally.cases += 1;
    tally.unwound += usize::from(ours.result.is_some());
}

#[test]
fn stack_cfi_matches_breakpad_symbols() {
    let mut rng = Rng::new(0x0cf1);
    let mut tally = Tally::default();
    let mut cache = UnwindCache::new();
    for _ in 0..40_000 {
        let case = cfi_case(&mut rng);
        let text = case.sym();
        let sym = SymbolFile::from_bytes(text.as_bytes()).unwrap();
        let Some(rules) = case.cfi_rules(&sym) else {
            tally.skipped += 1;
            continue;
        };
        let mut w = case.fresh_walker();
        w.out.result = walk_cfi_in_module(&rules, MODULE_BASE, &mut w);
        let mut c = case.fresh_walker();
        c.out.result = cache.walk_cfi_in_module(&rules, MODULE_BASE, &mut c);
        assert_eq!(w.out, c.out, "cached and uncached differ on\n{text}");
        check(&case, &text, w.out, theirs(&case, &sym), &mut tally);
    }
    println!("STACK CFI: {tally:?}");
    // The generator must reach both outcomes often, and breakpad-symbols' parser must
    // take nearly everything it writes.
    assert!(tally.unwound > tally.cases / 5, "{tally:?}");
    assert!(tally.unwound < tally.cases * 9 / 10, "{tally:?}");
    assert!(tally.skipped < tally.cases / 20, "{tally:?}");
}

#[test]
fn stack_win_matches_breakpad_symbols() {
    let mut rng = Rng::new(0x0514);
    let mut tally = Tally::default();
    let mut cache = UnwindCache::new();
    for _ in 0..40_000 {
        let case = win_case(&mut rng);
        let text = case.sym();
        let sym = SymbolFile::from_bytes(text.as_bytes()).unwrap();
        let Some(record) = case.win_record(&sym) else {
            tally.skipped += 1;
            continue;
        };
        let mut w = case.fresh_walker();
        w.out.result = walk_win(&record, &mut w);
        let mut c = case.fresh_walker();
        c.out.result = cache.walk_win(&record, &mut c);
        assert_eq!(w.out, c.out, "cached and uncached differ on\n{text}");
        check(&case, &text, w.out, theirs(&case, &sym), &mut tally);
    }
    println!("STACK WIN: {tally:?}");
    assert!(tally.unwound > tally.cases / 5, "{tally:?}");
    assert!(tally.unwound < tally.cases * 9 / 10, "{tally:?}");
    assert!(tally.skipped < tally.cases / 20, "{tally:?}");
}
