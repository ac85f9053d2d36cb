//! `prof MODE ...`: runs one implementation in a loop, for `perf record` / `heaptrack`.
//!
//! ```text
//! prof build-file SYM OUT.idx [N]      tecken-core build_to_file, N times (default 3)
//! prof build-mem SYM [N]               tecken-core in-memory build
//! prof build-symbolic SYM [N]          symbolic SymCache conversion
//! prof build-breakpad SYM [N]          breakpad-symbols parse
//! prof lookup-ours SYM IDX [SECS]      warm lookups (addresses drawn from SYM), default 10 s,
//!                                      one at a time, then pipelined (`lookup_each`)
//! prof lookup-ours-anon SYM IDX [SECS] the same on a copy in anonymous memory: 4 KB pages,
//!                                      or 2 MB pages with HUGE=1 (MADV_HUGEPAGE)
//! prof lookup-symbolic SYM SYMC [SECS]
//! prof lookup-breakpad SYM [SECS]
//! prof cold-ours SYM IDX [REPS]         evict IDX, open + first lookup, REPS times (default 5)
//! prof cold-symbolic SYM SYMC [REPS]
//! prof v5 SYMBOLS CACHE REQUESTS.jsonl [SECS]
//!                                      replay v5 requests (one JSON body per line, as
//!                                      `gen-loadtest` writes) through one Symbolicator on
//!                                      one thread, warm: the core's cost of a request
//!                                      without HTTP
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use symbolic_symcache::SymCache;
use tecken_benches::addrs::{sample, scan};
use tecken_benches::alloc::{self, CountingAlloc};
use tecken_benches::cold::evict;
use tecken_benches::peers;
use tecken_core::Index;
use tecken_core::{symbol_stores, StoreSpec};
use tecken_core::{symbolicate_v5, V5Options};
use tecken_core::{Symbolicator, SymbolicatorConfig};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn map(path: &str) -> Result<memmap2::Mmap, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: benchmark inputs are not modified while mapped.
    unsafe { memmap2::Mmap::map(&f) }.map_err(|e| format!("{path}: {e}"))
}

fn builds(
    n: usize,
    sym: &[u8],
    mut before: impl FnMut(),
    mut f: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    for i in 0..n {
        before();
        let base = alloc::reset_peak();
        let t = Instant::now();
        f(sym)?;
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "build {i}: {secs:.3} s, {:.0} MB/s, peak heap {:.0} MB",
            sym.len() as f64 / 1e6 / secs,
            (alloc::peak() - base) as f64 / 1e6
        );
    }
    Ok(())
}

/// This thread's CPU time: on a machine shared with builds, wall time also counts the
/// time the thread waits for a core.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one `timespec` into the struct we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` over `addrs` for `secs` of wall time; prints ns per lookup by wall time and by
/// this thread's CPU time (the median and best pass over `addrs`).
fn lookups(secs: f64, addrs: &[u64], mut f: impl FnMut(&[u64]) -> u64) {
    let t = Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    let mut passes = Vec::new();
    while t.elapsed() < Duration::from_secs_f64(secs) {
        let c = cpu_time();
        hits += f(addrs);
        passes.push((cpu_time() - c).as_nanos() as f64 / addrs.len() as f64);
        n += addrs.len() as u64;
    }
    passes.sort_by(f64::total_cmp);
    eprintln!(
        "{n} lookups, {:.1} ns each, CPU {:.1} ns median, {:.1} ns best, {hits} hits",
        t.elapsed().as_secs_f64() * 1e9 / n as f64,
        passes[passes.len() / 2],
        passes[0]
    );
}

/// Replays `requests` (one v5 body per line) round-robin for `secs` after one warm-up pass.
fn v5_replay(symbols: &str, cache: &str, requests: &str, secs: f64) -> Result<(), String> {
    let text = std::fs::read_to_string(requests).map_err(|e| format!("{requests}: {e}"))?;
    let bodies: Vec<&[u8]> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::as_bytes)
        .collect();
    if bodies.is_empty() {
        return Err(format!("{requests}: no requests"));
    }
    let frames: usize = bodies
        .iter()
        .map(|b| {
            let v: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
            let stacks = |job: &serde_json::Value| -> usize {
                job["stacks"].as_array().map_or(0, |s| {
                    s.iter().filter_map(|st| st.as_array()).map(Vec::len).sum()
                })
            };
            match v["jobs"].as_array() {
                Some(jobs) => jobs.iter().map(stacks).sum(),
                None => stacks(&v),
            }
        })
        .sum();
    // The symbols directory means what it means everywhere (a store with `v1/`, or a
    // plain tree): the core's spec rules, not a plain tree always.
    let sources = StoreSpec::parse_list(&[symbols])
        .and_then(|specs| symbol_stores(&specs))
        .map_err(|e| e.to_string())?;
    let config = SymbolicatorConfig {
        cache_dir: Some(cache.into()),
        ..SymbolicatorConfig::default()
    };
    let sym = Symbolicator::new(sources, config);
    let opts = V5Options::default();
    let t = Instant::now();
    for b in &bodies {
        let r = symbolicate_v5(&sym, b, &opts);
        if r.status != 200 {
            return Err(format!(
                "status {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ));
        }
    }
    eprintln!(
        "warm-up: {} requests in {:.2} s ({} modules open)",
        bodies.len(),
        t.elapsed().as_secs_f64(),
        sym.open_modules()
    );
    let t = Instant::now();
    let (mut n, mut out_bytes) = (0usize, 0usize);
    while t.elapsed() < Duration::from_secs_f64(secs) {
        for b in &bodies {
            out_bytes += symbolicate_v5(&sym, b, &opts).body.len();
        }
        n += 1;
    }
    let total = t.elapsed().as_secs_f64();
    let reqs = n * bodies.len();
    eprintln!(
        "{reqs} requests, {:.1} us each, {:.0} frames/s, {:.0} bytes out each",
        total * 1e6 / reqs as f64,
        (n * frames) as f64 / total,
        out_bytes as f64 / reqs as f64
    );
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| "missing argument".to_string())
    };
    let num = |i: usize, d: f64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    if arg(0)? == "v5" {
        return v5_replay(arg(1)?, arg(2)?, arg(3)?, num(4, 10.0));
    }
    let sym = map(arg(1)?)?;
    let addrs = || sample(&scan(&sym), 200_000, 42);
    match arg(0)? {
        "build-file" => {
            let out = arg(2)?.to_string();
            // A cache writes a new file: the previous build's output is removed before the
            // clock starts (renaming over it would charge its freeing to this build).
            let remove = || drop(std::fs::remove_file(&out));
            builds(num(3, 3.0) as usize, &sym, remove, |s| {
                peers::build_ours_file(s, Path::new(&out)).map(drop)
            })
        }
        "build-mem" => builds(
            num(2, 3.0) as usize,
            &sym,
            || (),
            |s| peers::build_ours_mem(s).map(drop),
        ),
        "build-symbolic" => builds(
            num(2, 1.0) as usize,
            &sym,
            || (),
            |s| peers::build_symbolic(s).map(drop),
        ),
        "build-breakpad" => builds(
            num(2, 3.0) as usize,
            &sym,
            || (),
            |s| peers::build_breakpad(s).map(drop),
        ),
        "lookup-ours" => {
            let index = Index::open(arg(2)?).map_err(|e| e.to_string())?;
            let a = addrs();
            let one = peers::lookup_ours(&index, &a);
            if one != peers::lookup_ours_each(&index, &a) {
                return Err("lookup_each answered differently from lookup_into".into());
            }
            eprint!("one at a time (lookup_into): ");
            lookups(num(3, 10.0), &a, |a| peers::lookup_ours(&index, a).hits);
            eprint!("pipelined (lookup_each):     ");
            lookups(num(3, 10.0), &a, |a| {
                peers::lookup_ours_each(&index, a).hits
            });
            Ok(())
        }
        "lookup-ours-anon" => {
            // The index copied into anonymous memory: 4 KB pages, or with HUGE=1 advised
            // MADV_HUGEPAGE (2 MB pages where the kernel gives them): what page size costs
            // a warm lookup, whatever state the file's page cache is in.
            let bytes = std::fs::read(arg(2)?).map_err(|e| e.to_string())?;
            let mut v: Vec<u8> = Vec::with_capacity(bytes.len());
            let huge = std::env::var_os("HUGE").is_some_and(|h| h == "1");
            let p = v.as_mut_ptr() as usize;
            let (start, end) = (
                (p + (2 << 20) - 1) & !((2 << 20) - 1),
                (p + bytes.len()) & !((2 << 20) - 1),
            );
            if huge && end > start {
                // SAFETY: advice on memory this Vec owns, before it is written.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE)
                };
            }
            v.extend_from_slice(&bytes);
            drop(bytes);
            let index = Index::from_bytes(v).map_err(|e| e.to_string())?;
            let a = addrs();
            lookups(num(3, 10.0), &a, |a| peers::lookup_ours(&index, a).hits);
            let smaps = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
            if let Some(l) = smaps.lines().find(|l| l.starts_with("AnonHugePages")) {
                eprintln!("{l}");
            }
            Ok(())
        }
        "lookup-symbolic" => {
            let m = map(arg(2)?)?;
            let cache = SymCache::parse(&m).map_err(|e| e.to_string())?;
            let a = addrs();
            lookups(num(3, 10.0), &a, |a| peers::lookup_symbolic(&cache, a).hits);
            Ok(())
        }
        "lookup-breakpad" => {
            let file = peers::build_breakpad(&sym)?;
            let a = addrs();
            lookups(num(2, 10.0), &a, |a| peers::lookup_breakpad(&file, a).hits);
            Ok(())
        }
        mode @ ("cold-ours" | "cold-symbolic") => {
            let path = Path::new(arg(2)?);
            let a = addrs();
            drop(sym);
            for (rep, &addr) in a.iter().enumerate().take(num(3, 5.0) as usize) {
                evict(path).map_err(|e| e.to_string())?;
                let t = if mode == "cold-ours" {
                    peers::cold_ours(path, addr)?
                } else {
                    peers::cold_symbolic(path, addr)?
                };
                eprintln!(
                    "rep {rep}: open {:.2} ms ({} major faults, {:.1} MB read), \
                     first lookup {:.2} ms ({} major faults, {:.1} MB read), hit {}",
                    t.open.as_secs_f64() * 1e3,
                    t.major_faults.0,
                    t.disk_bytes.0 as f64 / 1e6,
                    t.first_lookup.as_secs_f64() * 1e3,
                    t.major_faults.1,
                    t.disk_bytes.1 as f64 / 1e6,
                    t.hit
                );
            }
            Ok(())
        }
        m => Err(format!("unknown mode {m}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prof: {e}\nsee the doc comment of benches/src/bin/prof.rs for usage");
            ExitCode::from(2)
        }
    }
}
