//! The Rust side of `bench/bench.mjs`: symbolicates one v5 request in a loop through
//! `tecken_core::symbolicate_v5` (what `symbolicateV5` calls: parse, then write), on
//! THREADS threads sharing one warm `Symbolicator` (default 1, as Node with one call in
//! flight), and prints `{"calls": N, "seconds": S, "bytes": B}` as one JSON line.
//!
//!   cargo run --release -p tecken-node --example bench_v5 -- SYMBOLS_DIR REQUEST.json SECONDS [THREADS]
//!
//! The allocator is the system one: the baseline is what a Rust program gets by default,
//! not the addon's tuned mimalloc (see src/lib.rs).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tecken_core::Symbolicator;
use tecken_core::{symbolicate_v5, V5Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (dir, request, seconds, threads) = match args.as_slice() {
        [_, d, r, s] => (d, r, s, 1),
        [_, d, r, s, t] => (d, r, s, t.parse::<usize>()?.max(1)),
        _ => return Err("usage: bench_v5 SYMBOLS_DIR REQUEST.json SECONDS [THREADS]".into()),
    };
    let budget = Duration::from_secs_f64(seconds.parse()?);
    let body = std::fs::read(request)?;
    let sym = Symbolicator::local(dir, None)?;
    let opts = V5Options::default();
    // Warm up: indexes built and open, as in the Node run.
    let first = symbolicate_v5(&sym, &body, &opts);
    if first.status != 200 {
        return Err(format!(
            "status {}: {}",
            first.status,
            String::from_utf8_lossy(&first.body)
        )
        .into());
    }
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
    println!("{{\"calls\": {calls}, \"seconds\": {secs}, \"bytes\": {bytes}}}");
    Ok(())
}
