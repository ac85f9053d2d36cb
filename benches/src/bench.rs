//! Measures one input: builds, warm lookups, cold open + first lookup, sizes.
//!
//! Everything for one input runs in one process, with the implementations interleaved
//! (round-robin build samples, rotating lookup rounds), so a slow minute on a shared
//! machine hits all of them alike and the ratios stay meaningful even when absolute times
//! drift.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use symbolic_symcache::SymCache;
use tecken_core::Index;

use crate::addrs::{sample, scan};
use crate::alloc;
use crate::cold::{evict, resident_fraction};
use crate::peers::{self, Impl};

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where index and SymCache files go (git-ignored).
    pub out_dir: PathBuf,
    /// Addresses per lookup round.
    pub lookups: usize,
    /// Timed lookup rounds per implementation (after one warm-up round).
    pub rounds: usize,
    /// Multiplies the per-implementation build time budget.
    pub time_scale: f64,
    /// Cold open repetitions (ours and symbolic; breakpad-symbols does fewer, see below).
    pub cold_reps: usize,
    /// Seed of the lookup addresses.
    pub seed: u64,
    /// Addresses compared between implementations (function name and inline depth).
    pub agree: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            out_dir: PathBuf::from("bench-out"),
            lookups: 200_000,
            rounds: 7,
            time_scale: 1.0,
            cold_reps: 7,
            seed: 42,
            agree: 20_000,
        }
    }
}

/// Build measurements of one implementation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildStats {
    /// Timed samples.
    pub samples: usize,
    /// Builds per sample (more than one for small inputs, to get above timer noise).
    pub iters_per_sample: usize,
    /// Seconds per build: median, min, max over the samples.
    pub secs: [f64; 3],
    /// Input MB (10^6 bytes) per second, from the median.
    pub mb_per_s: f64,
    /// Highest heap growth during one build, in bytes.
    pub peak_heap_bytes: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Warm lookup measurements of one implementation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LookupStats {
    /// Nanoseconds per address: median, min, max over the rounds.
    pub ns: [f64; 3],
    /// Fraction of addresses that resolved to a symbol.
    pub hit_rate: f64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Cold open + first lookup of one implementation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColdStats {
    /// Repetitions, each with the file evicted first.
    pub reps: usize,
    /// Milliseconds to open (parse, for breakpad-symbols): median.
    pub open_ms: f64,
    /// Milliseconds for the first lookup: median.
    pub first_lookup_ms: f64,
    /// Open + first lookup, milliseconds: median, min, max.
    pub total_ms: [f64; 3],
    /// Major page faults (disk reads through a mapping) in the open and in the first
    /// lookup: medians. breakpad-symbols reads with `read`, so it shows none.
    pub major_faults: [f64; 2],
    /// MB read from the disk (readahead included) in the open and in the first lookup:
    /// medians.
    pub disk_mb: [f64; 2],
    /// Fraction of the file's pages still cached right after eviction (should be ~0).
    pub resident_after_evict: f64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// What parts of a warm lookup cost alone, on the same addresses and the same index file
/// (see `peers::floor_*`): the floor under any lookup of this layout, and of any layout.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Floors {
    /// Our interval search alone (TOP, one STARTS block).
    pub search: LookupStats,
    /// The search and the record's header: which function, nothing else.
    pub record: LookupStats,
    /// Two dependent reads of random cache lines of the index file's mapping.
    pub two_reads: LookupStats,
}

/// One value per build variant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Builds {
    /// `build_to_file` from the mapped input.
    pub ours_file: BuildStats,
    /// In-memory `build`.
    pub ours_mem: BuildStats,
    /// SymCache conversion.
    pub symbolic: BuildStats,
    /// `SymbolFile::from_bytes`.
    pub breakpad: BuildStats,
    /// Not a build: the index's bytes written to a new file, synced and renamed (MB/s of
    /// the `.sym` input, comparable with `ours_file`).
    pub write_floor: BuildStats,
}

/// One value per implementation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trio<T> {
    /// tecken-core (index file, memory-mapped).
    pub ours: T,
    /// symbolic SymCache (memory-mapped).
    pub symbolic: T,
    /// breakpad-symbols `SymbolFile` (in memory).
    pub breakpad: T,
}

/// Everything measured for one input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputResult {
    /// File name.
    pub name: String,
    /// Path as given.
    pub path: String,
    /// Whether the targets are evaluated on it.
    pub large: bool,
    /// `.sym` size in bytes.
    pub input_bytes: u64,
    /// FUNC records with a size, and PUBLIC records (from the benchmark's own scan).
    pub funcs: usize,
    /// PUBLIC records.
    pub publics: usize,
    /// Build throughput and peak heap.
    pub build: Builds,
    /// Warm lookups.
    pub lookup: Trio<LookupStats>,
    /// Addresses looked up per round.
    pub lookup_addrs: usize,
    /// Timed lookup rounds.
    pub lookup_rounds: usize,
    /// Of the compared addresses: fraction where symbolic / breakpad-symbols answer the
    /// same outer function (or both nothing) as ours.
    pub agree_function: [f64; 2],
    /// ...and the same number of inline frames.
    pub agree_inline_depth: [f64; 2],
    /// Ours pipelined: all addresses of a round in one `Index::lookup_each` call.
    pub lookup_each: LookupStats,
    /// The floors of a warm lookup, measured in the same rotation as the lookups.
    pub floors: Floors,
    /// Cold open + first lookup.
    pub cold: Trio<ColdStats>,
    /// Index size and SymCache size in bytes (breakpad-symbols has no serialized form).
    pub index_bytes: u64,
    /// SymCache size in bytes.
    pub symcache_bytes: u64,
}

fn med_min_max(v: &mut [f64]) -> [f64; 3] {
    if v.is_empty() {
        return [f64::NAN; 3];
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    [med, v[0], v[n - 1]]
}

fn progress(msg: &str) {
    eprintln!("  .. {msg}");
}

/// Per-implementation state of the build rounds.
struct Sampler {
    imp: Impl,
    iters: usize,
    target: usize,
    secs: Vec<f64>,
    peak: u64,
    error: Option<String>,
}

struct Paths {
    index: PathBuf,
    symcache: PathBuf,
}

/// What the builds of one input leave behind.
#[derive(Default)]
struct Outputs {
    /// Size of our index file.
    index_bytes: u64,
    /// Size of the SymCache.
    symcache_bytes: u64,
    /// The index's bytes, read once from the first build's file: what the write floor
    /// writes (every build gives the same bytes).
    index_copy: Option<Vec<u8>>,
}

/// Runs one build of `imp`; returns seconds and heap growth. Results are dropped after
/// the clock stops (freeing millions of small allocations is not part of a build).
fn build_once(
    imp: Impl,
    sym: &[u8],
    paths: &Paths,
    outs: &mut Outputs,
) -> Result<(f64, u64), String> {
    let floor_out = paths.index.with_extension("floor");
    if imp == Impl::WriteFloor {
        let _ = std::fs::remove_file(&floor_out);
        if outs.index_copy.is_none() {
            let bytes = std::fs::read(&paths.index)
                .map_err(|e| format!("{}: {e}", paths.index.display()))?;
            outs.index_copy = Some(bytes);
        }
    }
    if imp == Impl::OursFile {
        // A cache writes a new file: the previous build's output is removed before the
        // clock starts. Renaming over a 266 MB file makes the kernel free its pages inside
        // `rename` (0.15-0.4 s measured), a cost of the old file, not of this build.
        let _ = std::fs::remove_file(&paths.index);
    }
    let base = alloc::reset_peak();
    let t = Instant::now();
    let peak = |secs: f64| (secs, alloc::peak().saturating_sub(base) as u64);
    match imp {
        Impl::OursFile => {
            let n = peers::build_ours_file(sym, &paths.index)?;
            let r = peak(t.elapsed().as_secs_f64());
            outs.index_bytes = n;
            Ok(r)
        }
        Impl::OursMem => {
            let index = peers::build_ours_mem(sym)?;
            let r = peak(t.elapsed().as_secs_f64());
            drop(index);
            Ok(r)
        }
        Impl::Symbolic => {
            let bytes = peers::build_symbolic(sym)?;
            let r = peak(t.elapsed().as_secs_f64());
            if outs.symcache_bytes != bytes.len() as u64 {
                std::fs::write(&paths.symcache, &bytes)
                    .map_err(|e| format!("{}: {e}", paths.symcache.display()))?;
                outs.symcache_bytes = bytes.len() as u64;
            }
            Ok(r)
        }
        Impl::Breakpad => {
            let file = peers::build_breakpad(sym)?;
            let r = peak(t.elapsed().as_secs_f64());
            drop(file);
            Ok(r)
        }
        Impl::WriteFloor => {
            peers::write_floor(outs.index_copy.as_deref().unwrap_or_default(), &floor_out)?;
            let r = peak(t.elapsed().as_secs_f64());
            let _ = std::fs::remove_file(&floor_out);
            Ok(r)
        }
    }
}

/// One sample: `iters` builds; returns seconds per build and the highest heap growth.
fn sample_builds(
    s: &Sampler,
    sym: &[u8],
    paths: &Paths,
    outs: &mut Outputs,
) -> Result<(f64, u64), String> {
    let (mut total, mut peak) = (0.0, 0u64);
    for _ in 0..s.iters {
        let (secs, p) = build_once(s.imp, sym, paths, outs)?;
        total += secs;
        peak = peak.max(p);
    }
    Ok((total / s.iters as f64, peak))
}

fn run_builds(sym: &[u8], paths: &Paths, cfg: &Config, outs: &mut Outputs) -> Builds {
    // Time budget per implementation: 0.5 s for small files, up to 12 s for libxul-scale.
    let budget = cfg.time_scale * (sym.len() as f64 / 40e6).clamp(0.5, 12.0);
    const MIN_SAMPLE_SECS: f64 = 0.05;
    let mut samplers: Vec<Sampler> = [
        Impl::OursFile,
        Impl::OursMem,
        Impl::Symbolic,
        Impl::Breakpad,
        Impl::WriteFloor,
    ]
    .into_iter()
    .map(|imp| Sampler {
        imp,
        iters: 1,
        target: 0,
        secs: Vec::new(),
        peak: 0,
        error: None,
    })
    .collect();
    // Round 0 calibrates: how many builds make one sample, how many samples fit the budget.
    for s in &mut samplers {
        progress(&format!("build {} (calibrating)", s.imp.label()));
        match build_once(s.imp, sym, paths, outs) {
            Ok((secs, peak)) => {
                s.peak = peak;
                if secs >= MIN_SAMPLE_SECS {
                    s.secs.push(secs);
                } else {
                    s.iters =
                        ((MIN_SAMPLE_SECS / secs.max(1e-7)).ceil() as usize).clamp(1, 100_000);
                }
                let per_sample = secs * s.iters as f64;
                let min_samples = if per_sample > 5.0 { 2 } else { 3 };
                s.target = ((budget / per_sample).ceil() as usize).clamp(min_samples, 15);
            }
            Err(e) => s.error = Some(e),
        }
    }
    let total: usize = samplers
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| s.target)
        .sum();
    progress(&format!("build: {total} samples, round-robin"));
    loop {
        let mut ran = false;
        for s in &mut samplers {
            if s.error.is_some() || s.secs.len() >= s.target {
                continue;
            }
            ran = true;
            match sample_builds(s, sym, paths, outs) {
                Ok((secs, peak)) => {
                    s.secs.push(secs);
                    s.peak = s.peak.max(peak);
                }
                Err(e) => s.error = Some(e),
            }
        }
        if !ran {
            break;
        }
    }
    let stats = |s: &mut Sampler| {
        let secs = med_min_max(&mut s.secs);
        BuildStats {
            samples: s.secs.len(),
            iters_per_sample: s.iters,
            secs,
            mb_per_s: sym.len() as f64 / 1e6 / secs[0],
            peak_heap_bytes: s.peak,
            error: s.error.clone(),
        }
    };
    let mut it = samplers.iter_mut();
    let mut next = || it.next().map(stats).unwrap_or_default();
    Builds {
        ours_file: next(),
        ours_mem: next(),
        symbolic: next(),
        breakpad: next(),
        write_floor: next(),
    }
}

fn map(path: &Path) -> Result<memmap2::Mmap, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: benchmark inputs and outputs are not modified while the benchmark runs.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| format!("{}: {e}", path.display()))
}

/// Warm lookups of all three, rounds rotating which goes first; plus the agreement check.
fn run_lookups(sym: &[u8], addrs: &[u64], paths: &Paths, cfg: &Config, r: &mut InputResult) {
    let ours = Index::open(&paths.index).map_err(|e| e.to_string());
    let sc_map = map(&paths.symcache);
    let symcache = sc_map
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|m| SymCache::parse(m).map_err(|e| e.to_string()));
    let bp = peers::build_breakpad(sym);
    let index_map = map(&paths.index);

    let n = addrs.len() as f64;
    let mut ns: [Vec<f64>; 7] = Default::default();
    let mut hits = [0u64; 7];
    let run = |k: usize| -> Option<(f64, u64)> {
        let t = Instant::now();
        let res = match k {
            0 => peers::lookup_ours(ours.as_ref().ok()?, addrs),
            1 => peers::lookup_symbolic(symcache.as_ref().ok()?, addrs),
            2 => peers::lookup_breakpad(bp.as_ref().ok()?, addrs),
            3 => peers::floor_search(ours.as_ref().ok()?, addrs),
            4 => peers::floor_record(ours.as_ref().ok()?, addrs),
            5 => peers::floor_two_reads(&index_map.as_ref().ok()?[..], addrs),
            _ => peers::lookup_ours_each(ours.as_ref().ok()?, addrs),
        };
        Some((t.elapsed().as_secs_f64() * 1e9 / n, res.hits))
    };
    progress("lookups: warm-up and agreement");
    for (k, hit) in hits.iter_mut().enumerate() {
        if let Some((_, h)) = run(k) {
            *hit = h;
        }
    }
    if let Ok(ours) = &ours {
        let m = cfg.agree.min(addrs.len());
        let mut same = [[0usize; 2]; 2];
        for &a in &addrs[..m] {
            let mine = peers::answer_ours(ours, a);
            let theirs = [
                symcache.as_ref().ok().map(|c| peers::answer_symbolic(c, a)),
                bp.as_ref().ok().map(|b| peers::answer_breakpad(b, a)),
            ];
            for (p, t) in theirs.iter().enumerate() {
                let Some(t) = t else { continue };
                let name_eq = mine.as_ref().map(|x| &x.0) == t.as_ref().map(|x| &x.0);
                same[p][0] += usize::from(name_eq);
                same[p][1] +=
                    usize::from(name_eq && mine.as_ref().map(|x| x.1) == t.as_ref().map(|x| x.1));
            }
        }
        let frac = |c: usize| c as f64 / m.max(1) as f64;
        r.agree_function = [frac(same[0][0]), frac(same[1][0])];
        r.agree_inline_depth = [frac(same[0][1]), frac(same[1][1])];
    }
    progress(&format!(
        "lookups: {} rounds x {} addresses",
        cfg.rounds,
        addrs.len()
    ));
    for round in 0..cfg.rounds {
        for j in 0..7 {
            let k = (round + j) % 7;
            if let Some((t, _)) = run(k) {
                ns[k].push(t);
            }
        }
    }
    let stats = |k: usize, err: Option<String>| LookupStats {
        ns: med_min_max(&mut ns[k].clone()),
        hit_rate: hits[k] as f64 / n,
        error: err,
    };
    r.lookup = Trio {
        ours: stats(0, ours.as_ref().err().cloned()),
        symbolic: stats(1, symcache.as_ref().err().cloned()),
        breakpad: stats(2, bp.as_ref().err().cloned()),
    };
    r.floors = Floors {
        search: stats(3, ours.as_ref().err().cloned()),
        record: stats(4, ours.as_ref().err().cloned()),
        two_reads: stats(5, index_map.as_ref().err().cloned()),
    };
    r.lookup_each = stats(6, ours.as_ref().err().cloned());
}

fn run_cold(
    reps: usize,
    path: &Path,
    addrs: &[u64],
    f: impl Fn(&Path, u64) -> Result<peers::ColdTimes, String>,
) -> ColdStats {
    let mut s = ColdStats {
        reps,
        ..ColdStats::default()
    };
    let (mut open, mut first, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let (mut faults_open, mut faults_lookup) = (Vec::new(), Vec::new());
    let (mut disk_open, mut disk_lookup) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        if let Err(e) = evict(path) {
            s.error = Some(format!("evict {}: {e}", path.display()));
            break;
        }
        if rep == 0 {
            s.resident_after_evict = resident_fraction(path).unwrap_or(f64::NAN);
        }
        match f(path, addrs[rep % addrs.len().max(1)]) {
            Ok(t) => {
                let (o, l) = (
                    t.open.as_secs_f64() * 1e3,
                    t.first_lookup.as_secs_f64() * 1e3,
                );
                open.push(o);
                first.push(l);
                total.push(o + l);
                faults_open.push(t.major_faults.0 as f64);
                faults_lookup.push(t.major_faults.1 as f64);
                disk_open.push(t.disk_bytes.0 as f64 / 1e6);
                disk_lookup.push(t.disk_bytes.1 as f64 / 1e6);
            }
            Err(e) => {
                s.error = Some(e);
                break;
            }
        }
    }
    s.reps = total.len();
    s.open_ms = med_min_max(&mut open)[0];
    s.first_lookup_ms = med_min_max(&mut first)[0];
    s.total_ms = med_min_max(&mut total);
    s.major_faults = [
        med_min_max(&mut faults_open)[0],
        med_min_max(&mut faults_lookup)[0],
    ];
    s.disk_mb = [
        med_min_max(&mut disk_open)[0],
        med_min_max(&mut disk_lookup)[0],
    ];
    s
}

/// Measures one `.sym` file.
pub fn bench_input(path: &Path, large: bool, cfg: &Config) -> InputResult {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut r = InputResult {
        name: name.clone(),
        path: path.display().to_string(),
        large,
        ..Default::default()
    };
    // Output names include the parent directory: fixtures share file names (ntdll.sym).
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let stem = format!("{}-{}", parent.unwrap_or_default(), name);
    let paths = Paths {
        index: cfg.out_dir.join(format!("{stem}.idx")),
        symcache: cfg.out_dir.join(format!("{stem}.symc")),
    };
    // Never measure a file a previous run left behind.
    let _ = std::fs::remove_file(&paths.index);
    let _ = std::fs::remove_file(&paths.symcache);
    let addrs;
    {
        let sym = match map(path) {
            Ok(m) => m,
            Err(e) => {
                r.build.ours_file.error = Some(e);
                return r;
            }
        };
        r.input_bytes = sym.len() as u64;
        // Warm the input: every build reads it from the page cache.
        let mut x = 0u8;
        for chunk in sym.chunks(4096) {
            x ^= chunk[0];
        }
        std::hint::black_box(x);
        let shape = scan(&sym);
        r.funcs = shape.funcs.len();
        r.publics = shape.publics.len();
        addrs = sample(&shape, cfg.lookups, cfg.seed);
        r.lookup_addrs = addrs.len();
        r.lookup_rounds = cfg.rounds;
        let mut outs = Outputs::default();
        r.build = run_builds(&sym, &paths, cfg, &mut outs);
        (r.index_bytes, r.symcache_bytes) = (outs.index_bytes, outs.symcache_bytes);
        run_lookups(&sym, &addrs, &paths, cfg, &mut r);
    }
    // Every mapping of the files is gone now, so eviction can drop their pages.
    progress("cold open + first lookup");
    r.cold.ours = run_cold(cfg.cold_reps, &paths.index, &addrs, peers::cold_ours);
    r.cold.symbolic = run_cold(cfg.cold_reps, &paths.symcache, &addrs, peers::cold_symbolic);
    let bp_reps = if r.input_bytes > 50_000_000 {
        1
    } else {
        cfg.cold_reps.min(3)
    };
    r.cold.breakpad = run_cold(bp_reps, path, &addrs, peers::cold_breakpad);
    r
}
