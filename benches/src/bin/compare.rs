//! `compare`: tecken-core vs symbolic vs breakpad-symbols, side by side in one run.
//! Run it through `benches/run.sh`; see `benches/README.md` for what each number means.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;
use tecken_benches::alloc::CountingAlloc;
use tecken_benches::bench::{bench_input, Config, InputResult};
use tecken_benches::report::{input_block, summary_table, targets, targets_block, Target};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: compare [options] [--large FILE]... [--fixtures DIR]... [FILE]...
  --large FILE      a large input; the performance targets are checked on it
  --fixtures DIR    every *.sym under DIR (recursively), sorted
  FILE              any other .sym input
  --out DIR         index/SymCache files and the JSON go here (default bench-out)
  --json FILE       JSON summary path (default OUT/compare.json)
  --lookups N       addresses per lookup round (default 200000)
  --rounds N        timed lookup rounds (default 7)
  --cold-reps N     cold open repetitions (default 7)
  --time-scale X    scale the build time budget (default 1.0; 0.2 for a quick look)
  --seed S          seed of the lookup addresses (default 42)";

#[derive(Serialize)]
struct Summary<'a> {
    /// Seconds since the Unix epoch.
    unix_time: u64,
    cpus: usize,
    lookups: usize,
    rounds: usize,
    cold_reps: usize,
    time_scale: f64,
    seed: u64,
    inputs: &'a [InputResult],
    targets: &'a [Target],
}

fn collect_syms(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if e.file_type()?.is_dir() {
            collect_syms(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "sym") {
            out.push(p);
        }
    }
    Ok(())
}

struct Args {
    cfg: Config,
    json: Option<PathBuf>,
    inputs: Vec<(PathBuf, bool)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        cfg: Config::default(),
        json: None,
        inputs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        fn n<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("{name}: bad value {v}"))
        }
        match arg.as_str() {
            "--large" => a.inputs.push((PathBuf::from(val("--large")?), true)),
            "--fixtures" => {
                let dir = PathBuf::from(val("--fixtures")?);
                let mut found = Vec::new();
                collect_syms(&dir, &mut found).map_err(|e| format!("{}: {e}", dir.display()))?;
                a.inputs.extend(found.into_iter().map(|p| (p, false)));
            }
            "--out" => a.cfg.out_dir = PathBuf::from(val("--out")?),
            "--json" => a.json = Some(PathBuf::from(val("--json")?)),
            "--lookups" => a.cfg.lookups = n("--lookups", val("--lookups")?)?,
            "--rounds" => a.cfg.rounds = n("--rounds", val("--rounds")?)?,
            "--cold-reps" => a.cfg.cold_reps = n("--cold-reps", val("--cold-reps")?)?,
            "--time-scale" => a.cfg.time_scale = n("--time-scale", val("--time-scale")?)?,
            "--seed" => a.cfg.seed = n("--seed", val("--seed")?)?,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ => a.inputs.push((PathBuf::from(arg), false)),
        }
    }
    if a.inputs.is_empty() {
        return Err("no inputs".into());
    }
    if a.cfg.lookups == 0 || a.cfg.rounds == 0 {
        return Err("--lookups and --rounds must be at least 1".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("compare: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.cfg.out_dir) {
        eprintln!("compare: {}: {e}", args.cfg.out_dir.display());
        return ExitCode::FAILURE;
    }
    let start = Instant::now();
    let mut results = Vec::new();
    let total = args.inputs.len();
    for (i, (path, large)) in args.inputs.iter().enumerate() {
        eprintln!(
            "[{}/{total}] {} ({:.0} s so far)",
            i + 1,
            path.display(),
            start.elapsed().as_secs_f64()
        );
        let r = bench_input(path, *large, &args.cfg);
        println!("{}", input_block(&r));
        results.push(r);
    }
    let all_targets: Vec<Target> = results
        .iter()
        .filter(|r| r.large)
        .flat_map(targets)
        .collect();

    println!("== summary: ratios are how many times better ours is (>1: ours wins) ==");
    println!("   build = build_to_file from a mapped .sym; o/s/b = ours/symbolic/breakpad-symbols");
    println!("{}", summary_table(&results));
    if !all_targets.is_empty() {
        println!("== the performance targets ==");
        println!("{}", targets_block(&all_targets));
    }

    let summary = Summary {
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        lookups: args.cfg.lookups,
        rounds: args.cfg.rounds,
        cold_reps: args.cfg.cold_reps,
        time_scale: args.cfg.time_scale,
        seed: args.cfg.seed,
        inputs: &results,
        targets: &all_targets,
    };
    let json_path = args
        .json
        .clone()
        .unwrap_or_else(|| args.cfg.out_dir.join("compare.json"));
    let written = serde_json::to_vec_pretty(&summary)
        .map_err(|e| e.to_string())
        .and_then(|j| std::fs::write(&json_path, j).map_err(|e| e.to_string()));
    match written {
        Ok(()) => eprintln!(
            "compare: JSON summary in {} ({:.0} s total)",
            json_path.display(),
            start.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("compare: {}: {e}", json_path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
