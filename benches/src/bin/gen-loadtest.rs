//! `gen-loadtest --out DIR [--modules 40] [--xul-funcs 300000] [--requests 2000] [--seed 1]`:
//! the data set of the HTTP load tests (`benches/run.sh serve`, `benches/run.sh django`).
//!
//! Writes, deterministically for the same options:
//! - `DIR/symbols/v1/{debug_file}/{DEBUG_ID}/{sym_file}`: a Tecken store layout (plain `.sym`)
//!   with one libxul-scale module (`libxul.so`, the `gen-sym` generator: ~418 MB for 300,000
//!   functions) and `modules - 1` smaller ones (`libmodNN.so`, 200-3,000 functions each,
//!   0.3-4 MB);
//! - `DIR/requests.jsonl`: one distinct v5 request per line, each one job with a memory map
//!   of 5 modules (libxul always, and 4 others) and one stack of ~40 frames, ~45% of them in
//!   libxul; 90% of the addresses fall inside a FUNC, the rest anywhere in the module's
//!   range (gaps, PUBLIC-only code, past the end); 2% of frames have module index -1;
//! - `DIR/request.json`: the first request, pretty enough to read, for single-request tools;
//! - `DIR/manifest.json`: the options and the modules (name, debug id, functions, bytes).
//!
//! An existing `libxul.so.sym` of the same seed and size is reused (generating it takes a
//! few seconds and 418 MB of writes); everything else is rewritten.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use tecken_benches::gen::{generate, GenOptions};
use tecken_benches::rng::Rng;

const USAGE: &str =
    "usage: gen-loadtest --out DIR [--modules N] [--xul-funcs N] [--requests N] [--seed S]
  --out DIR         output directory (created)
  --modules N       modules in the store, libxul included (default 40, at least 5)
  --xul-funcs N     FUNC records of the libxul-scale module (default 300000: ~418 MB)
  --requests N      lines of requests.jsonl (default 2000)
  --seed S          PRNG seed (default 1); the same options always give the same files";

/// Modules in each request's memory map (libxul is always one of them).
const MODULES_PER_REQUEST: usize = 5;

#[derive(Debug)]
struct Args {
    out: PathBuf,
    modules: usize,
    xul_funcs: u64,
    requests: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        out: PathBuf::new(),
        modules: 40,
        xul_funcs: 300_000,
        requests: 2000,
        seed: 1,
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            let v = args.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "--modules" => a.modules = num("--modules")? as usize,
            "--xul-funcs" => a.xul_funcs = num("--xul-funcs")?,
            "--requests" => a.requests = num("--requests")? as usize,
            "--seed" => a.seed = num("--seed")?,
            "--out" | "-o" => out = Some(PathBuf::from(args.next().ok_or("--out needs a path")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    a.out = out.ok_or("missing --out DIR")?;
    if a.modules < MODULES_PER_REQUEST {
        return Err(format!("--modules must be at least {MODULES_PER_REQUEST}"));
    }
    if a.xul_funcs == 0 {
        return Err("--xul-funcs must be at least 1".into());
    }
    Ok(a)
}

/// One generated module: what a request needs to aim at its functions.
#[derive(Debug)]
struct Module {
    debug_file: String,
    debug_id: String,
    bytes: u64,
    /// `(address, size)` of every FUNC, in address order.
    funcs: Vec<(u64, u64)>,
    /// One past the highest FUNC byte.
    end: u64,
}

/// The `(address, size)` of every `FUNC` record of a `.sym` text.
fn scan_funcs(sym: &[u8]) -> Vec<(u64, u64)> {
    let mut funcs = Vec::new();
    for line in sym.split(|&b| b == b'\n') {
        let Some(rest) = line.strip_prefix(b"FUNC ") else {
            continue;
        };
        let rest = rest.strip_prefix(b"m ").unwrap_or(rest);
        let mut it = rest.split(|&b| b == b' ');
        let hex = |f: Option<&[u8]>| {
            f.and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| u64::from_str_radix(s, 16).ok())
        };
        if let (Some(addr), Some(size)) = (hex(it.next()), hex(it.next())) {
            funcs.push((addr, size));
        }
    }
    funcs
}

/// The debug id on a `MODULE os arch ID name` line.
fn module_id(sym: &[u8]) -> Result<String, String> {
    let first = sym.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = std::str::from_utf8(first).map_err(|_| "MODULE line is not UTF-8")?;
    text.split(' ')
        .nth(3)
        .map(str::to_owned)
        .ok_or_else(|| format!("not a MODULE line: {text}"))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn sym_path(root: &Path, debug_file: &str, debug_id: &str) -> PathBuf {
    root.join("v1")
        .join(debug_file)
        .join(debug_id)
        .join(format!("{debug_file}.sym"))
}

/// The libxul-scale module, streamed to disk by the `gen-sym` generator (reused when present).
fn make_xul(root: &Path, a: &Args) -> Result<Module, String> {
    let opts = GenOptions {
        funcs: a.xul_funcs,
        seed: a.seed,
        files: None,
        origins: None,
    };
    // The debug id is derived from the seed: generate the first line only to learn it.
    let mut head = Vec::new();
    let probe = GenOptions {
        funcs: 0,
        ..opts.clone()
    };
    generate(&probe, &mut head).map_err(|e| format!("generator: {e}"))?;
    let debug_id = module_id(&head)?;
    let path = sym_path(root, "libxul.so", &debug_id);
    // A marker records the function count, so a different --xul-funcs regenerates.
    let marker = path.with_extension(format!("sym.{}f", a.xul_funcs));
    if !(path.is_file() && marker.is_file()) {
        let t = Instant::now();
        let dir = path.parent().ok_or("bad path")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&marker);
        let tmp = path.with_extension("partial");
        std::fs::File::create(&tmp)
            .and_then(|f| generate(&opts, f))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .and_then(|_| std::fs::write(&marker, b""))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!(
            "gen-loadtest: libxul.so.sym ({} funcs) in {:.1} s",
            a.xul_funcs,
            t.elapsed().as_secs_f64()
        );
    } else {
        eprintln!("gen-loadtest: reusing {}", path.display());
    }
    let sym = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let funcs = scan_funcs(&sym);
    let end = funcs.last().map_or(0x1000, |&(a, s)| a + s);
    Ok(Module {
        debug_file: "libxul.so".into(),
        debug_id,
        bytes: sym.len() as u64,
        funcs,
        end,
    })
}

/// A small module: the same generator with its own seed, renamed on its MODULE line.
fn make_small(root: &Path, i: usize, rng: &mut Rng, seed: u64) -> Result<Module, String> {
    let opts = GenOptions {
        funcs: rng.range(200, 3000),
        seed: seed.wrapping_mul(1000).wrapping_add(i as u64),
        files: None,
        origins: None,
    };
    let mut sym = Vec::new();
    generate(&opts, &mut sym).map_err(|e| format!("generator: {e}"))?;
    let debug_file = format!("libmod{i:02}.so");
    let debug_id = format!("{:016X}{:016X}0", rng.next_u64(), rng.next_u64());
    let nl = sym
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no MODULE line")?;
    let mut out = format!("MODULE Linux x86_64 {debug_id} {debug_file}").into_bytes();
    out.extend_from_slice(&sym[nl..]);
    let funcs = scan_funcs(&out);
    let end = funcs.last().map_or(0x1000, |&(a, s)| a + s);
    let path = sym_path(root, &debug_file, &debug_id);
    write_atomic(&path, &out).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Module {
        debug_file,
        debug_id,
        bytes: out.len() as u64,
        funcs,
        end,
    })
}

/// One v5 request as a single JSON line.
fn make_request(mods: &[Module], rng: &mut Rng) -> String {
    // libxul (index 0) plus 4 distinct others, in a random order in the memory map.
    let mut chosen = vec![0usize];
    while chosen.len() < MODULES_PER_REQUEST {
        let m = 1 + rng.below(mods.len() as u64 - 1) as usize;
        if !chosen.contains(&m) {
            chosen.push(m);
        }
    }
    for i in (1..chosen.len()).rev() {
        chosen.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let xul_slot = chosen.iter().position(|&m| m == 0).unwrap_or(0);

    let mut s = String::with_capacity(2048);
    s.push_str(r#"{"jobs":[{"memoryMap":["#);
    for (k, &m) in chosen.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        let _ = write!(s, r#"["{}","{}"]"#, mods[m].debug_file, mods[m].debug_id);
    }
    s.push_str(r#"],"stacks":[["#);
    let frames = rng.range(35, 45);
    for f in 0..frames {
        if f > 0 {
            s.push(',');
        }
        if rng.chance(20) {
            let _ = write!(s, "[-1,{}]", rng.range(0x1000, 0xffff_ffff));
            continue;
        }
        // Stacks are deep in libxul: ~45% of frames there, the rest spread over the others.
        let slot = if rng.chance(450) {
            xul_slot
        } else {
            rng.below(chosen.len() as u64) as usize
        };
        let m = &mods[chosen[slot]];
        let addr = if rng.chance(900) && !m.funcs.is_empty() {
            let &(a, size) = rng.pick(&m.funcs);
            a + rng.below(size.max(1))
        } else {
            rng.range(0x1000, m.end + 0x100)
        };
        let _ = write!(s, "[{slot},{addr}]");
    }
    s.push_str("]]}]}");
    s
}

fn run(a: &Args) -> Result<(), String> {
    let t = Instant::now();
    let root = a.out.join("symbols");
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut rng = Rng::new(a.seed ^ 0x10AD_7E57);
    let mut mods = vec![make_xul(&root, a)?];
    for i in 1..a.modules {
        mods.push(make_small(&root, i, &mut rng, a.seed)?);
    }

    let mut jsonl = Vec::with_capacity(a.requests * 1200);
    let mut seen = std::collections::HashSet::new();
    let mut first = None;
    while seen.len() < a.requests {
        let req = make_request(&mods, &mut rng);
        if seen.insert(req.clone()) {
            first.get_or_insert_with(|| req.clone());
            jsonl.extend_from_slice(req.as_bytes());
            jsonl.push(b'\n');
        }
    }
    let path = a.out.join("requests.jsonl");
    write_atomic(&path, &jsonl).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(first) = first {
        let v: serde_json::Value =
            serde_json::from_str(&first).map_err(|e| format!("request: {e}"))?;
        let pretty = serde_json::to_vec_pretty(&v).map_err(|e| format!("request: {e}"))?;
        let path = a.out.join("request.json");
        write_atomic(&path, &pretty).map_err(|e| format!("{}: {e}", path.display()))?;
    }

    let manifest = serde_json::json!({
        "seed": a.seed,
        "xul_funcs": a.xul_funcs,
        "requests": a.requests,
        "modules": mods.iter().map(|m| serde_json::json!({
            "debug_file": m.debug_file,
            "debug_id": m.debug_id,
            "funcs": m.funcs.len(),
            "bytes": m.bytes,
        })).collect::<Vec<_>>(),
    });
    let path = a.out.join("manifest.json");
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| format!("manifest: {e}"))?;
    write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;

    let total: u64 = mods.iter().map(|m| m.bytes).sum();
    eprintln!(
        "gen-loadtest: {} modules ({:.0} MB) under {}, {} requests in {:.1} s",
        mods.len(),
        total as f64 / 1e6,
        root.display(),
        a.requests,
        t.elapsed().as_secs_f64()
    );
    std::io::stderr().flush().ok();
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen-loadtest: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}
