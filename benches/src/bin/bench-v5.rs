//! `bench-v5`: the Rust baseline of the binding benchmarks (`benches/python/bench_binding.py`
//! and `benches/node/bench.mjs`). It symbolicates one v5 request in a loop through
//! `tecken_core::v5::symbolicate_v5`, the core call both bindings make (parse, then write),
//! on THREADS threads sharing one warm `Symbolicator` (default 1: Python, or Node with one
//! call in flight), and prints one JSON line:
//! `{"calls": N, "frames": F, "seconds": S, "bytes": B, "frames_per_sec": R}`
//! (`frames` per call, `bytes` of all responses together).
//!
//! ```text
//! bench-v5 SYMBOLS_DIR REQUEST.json SECONDS [THREADS]
//! ```
//!
//! The allocator is the system one: the baseline is what a Rust program gets by default,
//! not the Node addon's tuned mimalloc (see tecken-node/src/lib.rs).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tecken_core::{symbolicate_v5, Symbolicator, V5Options};

const USAGE: &str = "usage: bench-v5 SYMBOLS_DIR REQUEST.json SECONDS [THREADS]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, request, seconds, threads) = match args.as_slice() {
        [d, r, s] => (d, r, s, 1),
        [d, r, s, t] => (d, r, s, t.parse::<usize>()?.max(1)),
        _ => return Err(USAGE.into()),
    };
    let budget = Duration::from_secs_f64(seconds.parse()?);
    let body = std::fs::read(request)?;
    let sym = Symbolicator::local(dir, None)?;
    let opts = V5Options::default();
    // Warm up: indexes built and open, as in the binding's run.
    let first = symbolicate_v5(&sym, &body, &opts);
    if first.status != 200 {
        return Err(format!(
            "status {}: {}",
            first.status,
            String::from_utf8_lossy(&first.body)
        )
        .into());
    }
    let frames = frame_count(&first.body)?;
    let (calls, bytes) = (AtomicU64::new(0), AtomicUsize::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while start.elapsed() < budget {
                    let resp = symbolicate_v5(&sym, std::hint::black_box(&body), &opts);
                    bytes.fetch_add(std::hint::black_box(resp.body).len(), Ordering::Relaxed);
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let (calls, bytes) = (calls.into_inner(), bytes.into_inner());
    println!(
        "{{\"calls\": {calls}, \"frames\": {frames}, \"seconds\": {secs:.6}, \"bytes\": {bytes}, \
         \"frames_per_sec\": {:.1}}}",
        (calls * frames) as f64 / secs
    );
    Ok(())
}

/// Frames in a v5 response: every stack of every job.
fn frame_count(body: &[u8]) -> Result<u64, Box<dyn std::error::Error>> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    let mut n = 0;
    for job in v["results"].as_array().ok_or("no results")? {
        for stack in job["stacks"].as_array().ok_or("no stacks")? {
            n += stack.as_array().map_or(0, |s| s.len() as u64);
        }
    }
    Ok(n)
}
