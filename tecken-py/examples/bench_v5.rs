//! The Rust side of `bench/bench_binding.py`: the same request through the same core call
//! the binding makes, without Python.
//!
//! `cargo run --release -p tecken-py --example bench_v5 -- SYMBOLS_DIR REQUEST.json SECONDS`
//! prints one JSON line: `{"calls": N, "frames": F, "seconds": S, "frames_per_sec": R}`.

use std::time::{Duration, Instant};

use tecken_core::Symbolicator;
use tecken_core::{symbolicate_v5, V5Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, request, seconds] = args.as_slice() else {
        return Err("usage: bench_v5 SYMBOLS_DIR REQUEST.json SECONDS".into());
    };
    let body = std::fs::read(request)?;
    let budget = Duration::from_secs_f64(seconds.parse()?);
    let sym = Symbolicator::local(dir, None)?;
    let opts = V5Options::default();
    // Warm: modules open, as in the Python run.
    let first = symbolicate_v5(&sym, &body, &opts);
    if first.status != 200 {
        return Err(format!("status {}", first.status).into());
    }
    let frames = frame_count(&first.body)?;
    let (mut calls, start) = (0u64, Instant::now());
    while start.elapsed() < budget {
        let resp = symbolicate_v5(&sym, &body, &opts);
        std::hint::black_box(&resp.body);
        calls += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"calls\": {calls}, \"frames\": {frames}, \"seconds\": {secs:.3}, \"frames_per_sec\": {:.1}}}",
        (calls * frames) as f64 / secs
    );
    Ok(())
}

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
