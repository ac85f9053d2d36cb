//! The printed tables, the target checks and the JSON summary.
//!
//! Every ratio is "how many times better ours is": peer / ours for times, heap and sizes,
//! ours / peer for throughput. Above 1 ours wins, below 1 the peer wins.

use std::fmt::Write as _;

use serde::Serialize;

use crate::bench::{BuildStats, ColdStats, InputResult, LookupStats};

const MB: f64 = 1e6;

fn num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn ratio(r: f64) -> String {
    if r.is_finite() && r > 0.0 {
        format!("{}x", num(r))
    } else {
        "-".into()
    }
}

fn ok<T>(s: &T, err: &Option<String>, f: impl Fn(&T) -> f64) -> f64 {
    if err.is_some() {
        f64::NAN
    } else {
        f(s)
    }
}

fn mbps(b: &BuildStats) -> f64 {
    ok(b, &b.error, |b| b.mb_per_s)
}
fn heap(b: &BuildStats) -> f64 {
    ok(b, &b.error, |b| b.peak_heap_bytes as f64 / MB)
}
fn ns(l: &LookupStats) -> f64 {
    ok(l, &l.error, |l| l.ns[0])
}
fn cold_total(c: &ColdStats) -> f64 {
    ok(c, &c.error, |c| c.total_ms[0])
}

/// A row: label, three values, and whether higher is better (for the ratios).
fn row(out: &mut String, label: &str, v: [f64; 3], higher_better: bool) {
    let r = |peer: f64| {
        if higher_better {
            v[0] / peer
        } else {
            peer / v[0]
        }
    };
    let _ = writeln!(
        out,
        "  {label:<34} {:>10} {:>10} {:>10}   {:>10} {:>10}",
        num(v[0]),
        num(v[1]),
        num(v[2]),
        ratio(r(v[1])),
        ratio(r(v[2]))
    );
}

fn errors(r: &InputResult) -> Vec<String> {
    let b = &r.build;
    let mut out = Vec::new();
    for (what, e) in [
        ("ours build to file", &b.ours_file.error),
        ("ours build in memory", &b.ours_mem.error),
        ("symbolic build", &b.symbolic.error),
        ("breakpad-symbols parse", &b.breakpad.error),
        ("cold ours", &r.cold.ours.error),
        ("cold symbolic", &r.cold.symbolic.error),
        ("cold breakpad-symbols", &r.cold.breakpad.error),
    ] {
        if let Some(e) = e {
            out.push(format!("{what}: {e}"));
        }
    }
    out
}

/// The detailed block for one input.
pub fn input_block(r: &InputResult) -> String {
    let mut o = String::new();
    let b = &r.build;
    let _ = writeln!(
        o,
        "== {} ({:.1} MB, {} FUNCs, {} PUBLICs) ==",
        r.path,
        r.input_bytes as f64 / MB,
        r.funcs,
        r.publics
    );
    let _ = writeln!(
        o,
        "  {:<34} {:>10} {:>10} {:>10}   {:>10} {:>10}",
        "", "ours", "symbolic", "breakpad", "vs symbolic", "vs breakpad"
    );
    row(
        &mut o,
        "build to file, MB/s (mmap input)",
        [mbps(&b.ours_file), mbps(&b.symbolic), mbps(&b.breakpad)],
        true,
    );
    row(
        &mut o,
        "build in memory, MB/s",
        [mbps(&b.ours_mem), mbps(&b.symbolic), mbps(&b.breakpad)],
        true,
    );
    row(
        &mut o,
        "  floor: write+fsync+rename, MB/s",
        [mbps(&b.write_floor), mbps(&b.symbolic), mbps(&b.breakpad)],
        true,
    );
    row(
        &mut o,
        "peak heap, build to file, MB",
        [heap(&b.ours_file), heap(&b.symbolic), heap(&b.breakpad)],
        false,
    );
    row(
        &mut o,
        "peak heap, build in memory, MB",
        [heap(&b.ours_mem), heap(&b.symbolic), heap(&b.breakpad)],
        false,
    );
    let l = &r.lookup;
    row(
        &mut o,
        "warm lookup, ns/address",
        [ns(&l.ours), ns(&l.symbolic), ns(&l.breakpad)],
        false,
    );
    row(
        &mut o,
        "  pipelined (lookup_each), ns",
        [ns(&r.lookup_each), ns(&l.symbolic), ns(&l.breakpad)],
        false,
    );
    // The floors' ratio columns say how far ahead of the peers a lookup that did only
    // that part could be: the ceiling of the warm lookup's ratio.
    let f = &r.floors;
    for (label, s) in [
        ("  floor: interval search alone", &f.search),
        ("  floor: search + record header", &f.record),
        ("  floor: 2 dependent random reads", &f.two_reads),
    ] {
        row(
            &mut o,
            label,
            [ns(s), ns(&l.symbolic), ns(&l.breakpad)],
            false,
        );
    }
    let c = &r.cold;
    row(
        &mut o,
        "cold open + 1st lookup, ms (*)",
        [
            cold_total(&c.ours),
            cold_total(&c.symbolic),
            cold_total(&c.breakpad),
        ],
        false,
    );
    let part = |c: &ColdStats, f: fn(&ColdStats) -> f64| ok(c, &c.error, f);
    row(
        &mut o,
        "  of which open (* parse), ms",
        [
            part(&c.ours, |c| c.open_ms),
            part(&c.symbolic, |c| c.open_ms),
            part(&c.breakpad, |c| c.open_ms),
        ],
        false,
    );
    row(
        &mut o,
        "  of which first lookup, ms",
        [
            part(&c.ours, |c| c.first_lookup_ms),
            part(&c.symbolic, |c| c.first_lookup_ms),
            part(&c.breakpad, |c| c.first_lookup_ms),
        ],
        false,
    );
    row(
        &mut o,
        "  major page faults, open + lookup",
        [
            part(&c.ours, |c| c.major_faults[0] + c.major_faults[1]),
            part(&c.symbolic, |c| c.major_faults[0] + c.major_faults[1]),
            f64::NAN,
        ],
        false,
    );
    row(
        &mut o,
        "  MB read from disk, open + lookup",
        [
            part(&c.ours, |c| c.disk_mb[0] + c.disk_mb[1]),
            part(&c.symbolic, |c| c.disk_mb[0] + c.disk_mb[1]),
            part(&c.breakpad, |c| c.disk_mb[0] + c.disk_mb[1]),
        ],
        false,
    );
    let sc = if b.symbolic.error.is_some() {
        f64::NAN
    } else {
        r.symcache_bytes as f64 / MB
    };
    row(
        &mut o,
        "file size, MB (breakpad: the .sym)",
        [r.index_bytes as f64 / MB, sc, r.input_bytes as f64 / MB],
        false,
    );
    let _ = writeln!(
        o,
        "  (*) breakpad-symbols has no saved form: its cold open is a full parse of the evicted .sym ({} rep{})",
        c.breakpad.reps,
        if c.breakpad.reps == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        o,
        "  samples: build {}/{}/{}/{} (x{}/{}/{}/{} builds), lookup {} rounds x {} addresses, cold {}/{}/{} reps; \
         pages left after eviction {:.0}%/{:.0}%/{:.0}%",
        b.ours_file.samples,
        b.ours_mem.samples,
        b.symbolic.samples,
        b.breakpad.samples,
        b.ours_file.iters_per_sample,
        b.ours_mem.iters_per_sample,
        b.symbolic.iters_per_sample,
        b.breakpad.iters_per_sample,
        r.lookup_rounds,
        r.lookup_addrs,
        c.ours.reps,
        c.symbolic.reps,
        c.breakpad.reps,
        100.0 * c.ours.resident_after_evict,
        100.0 * c.symbolic.resident_after_evict,
        100.0 * c.breakpad.resident_after_evict,
    );
    let _ = writeln!(
        o,
        "  hit rate ours {:.1}%, symbolic {:.1}%, breakpad {:.1}%; same function as ours: symbolic {:.1}%, breakpad {:.1}%; \
         same function and inline depth: {:.1}%, {:.1}%",
        100.0 * l.ours.hit_rate,
        100.0 * l.symbolic.hit_rate,
        100.0 * l.breakpad.hit_rate,
        100.0 * r.agree_function[0],
        100.0 * r.agree_function[1],
        100.0 * r.agree_inline_depth[0],
        100.0 * r.agree_inline_depth[1],
    );
    for e in errors(r) {
        let _ = writeln!(o, "  error: {e}");
    }
    o
}

/// One line per input: the headline ratios.
pub fn summary_table(results: &[InputResult]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<44} {:>7} | {:>20} {:>7} {:>7} | {:>10} | {:>17} {:>7} {:>7} | {:>15} {:>7} | {:>8}",
        "input",
        "MB",
        "build MB/s o/s/b",
        "vs sym",
        "vs bp",
        "heap/input",
        "lookup ns o/s/b",
        "vs sym",
        "vs bp",
        "cold ms o/s",
        "vs sym",
        "idx/symc"
    );
    for r in results {
        let b = &r.build;
        let (o_, s_, b_) = (mbps(&b.ours_file), mbps(&b.symbolic), mbps(&b.breakpad));
        let (lo, ls, lb) = (
            ns(&r.lookup.ours),
            ns(&r.lookup.symbolic),
            ns(&r.lookup.breakpad),
        );
        let (co, cs) = (cold_total(&r.cold.ours), cold_total(&r.cold.symbolic));
        let sc = if b.symbolic.error.is_some() {
            f64::NAN
        } else {
            r.symcache_bytes as f64
        };
        let mut name = r.path.clone();
        if name.len() > 44 {
            name = format!("...{}", &name[name.len() - 41..]);
        }
        let _ = writeln!(
            o,
            "{:<44} {:>7} | {:>20} {:>7} {:>7} | {:>10} | {:>17} {:>7} {:>7} | {:>15} {:>7} | {:>8}",
            name,
            num(r.input_bytes as f64 / MB),
            format!("{}/{}/{}", num(o_), num(s_), num(b_)),
            ratio(o_ / s_),
            ratio(o_ / b_),
            num(heap(&b.ours_file) * MB / r.input_bytes as f64),
            format!("{}/{}/{}", num(lo), num(ls), num(lb)),
            ratio(ls / lo),
            ratio(lb / lo),
            format!("{}/{}", num(co), num(cs)),
            ratio(cs / co),
            num(r.index_bytes as f64 / sc),
        );
    }
    o
}

/// One performance target (the README's benchmark goals), checked on a large input.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The input it was checked on.
    pub input: String,
    /// What the target asks.
    pub goal: &'static str,
    /// Whether it is a stretch goal.
    pub stretch: bool,
    /// What was measured, in words.
    pub measured: String,
    /// Met or not (`None`: not measurable, e.g. a peer failed).
    pub met: Option<bool>,
}

/// Checks the performance targets on one (large) input.
pub fn targets(r: &InputResult) -> Vec<Target> {
    let b = &r.build;
    let (o, s, bp) = (mbps(&b.ours_file), mbps(&b.symbolic), mbps(&b.breakpad));
    let heap_ratio = heap(&b.ours_file) * MB / r.input_bytes as f64;
    let (lo, ls) = (ns(&r.lookup.ours), ns(&r.lookup.symbolic));
    let (fs, fr) = (ns(&r.floors.search), ns(&r.floors.record));
    let le = ns(&r.lookup_each);
    let cold = cold_total(&r.cold.ours);
    let sc = if b.symbolic.error.is_some() {
        f64::NAN
    } else {
        r.symcache_bytes as f64
    };
    let size_ratio = r.index_bytes as f64 / sc;
    let check = |v: f64, pass: bool| if v.is_finite() { Some(pass) } else { None };
    let t = |goal, stretch, measured: String, met| Target {
        input: r.name.clone(),
        goal,
        stretch,
        measured,
        met,
    };
    vec![
        t(
            "build throughput >= 20x symbolic",
            false,
            format!("{} ({} vs {} MB/s)", ratio(o / s), num(o), num(s)),
            check(o / s, o / s >= 20.0),
        ),
        t(
            "build throughput >= 4x breakpad-symbols",
            false,
            format!(
                "{} ({} vs {} MB/s; in memory {}, the write alone {} MB/s)",
                ratio(o / bp),
                num(o),
                num(bp),
                ratio(mbps(&b.ours_mem) / bp),
                num(mbps(&b.write_floor))
            ),
            check(o / bp, o / bp >= 4.0),
        ),
        t(
            "build throughput >= 1 GB/s",
            true,
            format!("{} MB/s", num(o)),
            check(o, o >= 1000.0),
        ),
        t(
            "peak build heap <= input size",
            false,
            format!(
                "{} MB = {} x input",
                num(heap(&b.ours_file)),
                num(heap_ratio)
            ),
            check(heap_ratio, heap_ratio <= 1.0),
        ),
        t(
            "warm lookup >= 5x SymCache, one at a time",
            false,
            format!(
                "{} ({} vs {} ns; search + record header alone {}, search alone {})",
                ratio(ls / lo),
                num(lo),
                num(ls),
                ratio(ls / fr),
                ratio(ls / fs)
            ),
            check(ls / lo, ls / lo >= 5.0),
        ),
        t(
            "warm lookup >= 5x SymCache, pipelined",
            false,
            format!(
                "{} ({} vs {} ns, lookup_each)",
                ratio(ls / le),
                num(le),
                num(ls)
            ),
            check(ls / le, ls / le >= 5.0),
        ),
        t(
            "warm lookup <= 0.4 us, one at a time",
            false,
            format!("{} ns", num(lo)),
            check(lo, lo <= 400.0),
        ),
        t(
            "warm lookup <= 0.4 us, pipelined",
            false,
            format!("{} ns (lookup_each)", num(le)),
            check(le, le <= 400.0),
        ),
        t(
            "cold open + first lookup < 5 ms",
            false,
            format!("{} ms (median)", num(cold)),
            check(cold, cold < 5.0),
        ),
        t(
            "index <= SymCache size",
            false,
            format!(
                "{} x ({} vs {} MB)",
                num(size_ratio),
                num(r.index_bytes as f64 / MB),
                num(sc / MB)
            ),
            check(size_ratio, size_ratio <= 1.0),
        ),
    ]
}

/// The target list as text.
pub fn targets_block(ts: &[Target]) -> String {
    let mut o = String::new();
    for t in ts {
        let status = match t.met {
            Some(true) => "MET    ",
            Some(false) => "NOT MET",
            None => "n/a    ",
        };
        let goal = if t.stretch {
            format!("(stretch) {}", t.goal)
        } else {
            t.goal.to_string()
        };
        let _ = writeln!(o, "  [{status}] {goal:<50} {}  ({})", t.measured, t.input);
    }
    o
}
