//! The Rust side of `bench/bench.mjs`: symbolicates one v5 request in a loop, on one
//! thread, through `tecken_core::v5::symbolicate_v5` (what `symbolicateV5` calls), and
//! prints `{"calls": N, "seconds": S, "bytes": B}` as one JSON line.
//!
//!   cargo run --release -p tecken-node --example bench_v5 -- SYMBOLS_DIR REQUEST.json SECONDS

use std::sync::Arc;
use std::time::{Duration, Instant};

use tecken_core::symbolicator::LocalDir;
use tecken_core::v5::{symbolicate_v5, V5Options};
use tecken_core::{Symbolicator, SymbolicatorConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, request, seconds] = args.as_slice() else {
        return Err("usage: bench_v5 SYMBOLS_DIR REQUEST.json SECONDS".into());
    };
    let budget = Duration::from_secs_f64(seconds.parse()?);
    let body = std::fs::read(request)?;
    let sym = Symbolicator::new(
        vec![Arc::new(LocalDir::new(dir))],
        SymbolicatorConfig::default(),
    );
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
    let (mut calls, mut bytes) = (0u64, 0usize);
    let start = Instant::now();
    while start.elapsed() < budget {
        let resp = symbolicate_v5(&sym, std::hint::black_box(&body), &opts);
        bytes += std::hint::black_box(resp.body).len();
        calls += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{{\"calls\": {calls}, \"seconds\": {secs}, \"bytes\": {bytes}}}");
    Ok(())
}
