//! Benchmarks of tecken-core against its peers, `symbolic` (SymCache, what Eliot uses) and
//! `breakpad-symbols` (rust-minidump), side by side in one run. See `benches/README.md`.
//!
//! - [`gen`]: the deterministic libxul-scale `.sym` generator behind `gen-sym`;
//! - [`bench`]: what `compare` measures for one input, [`report`]: how it prints it;
//! - [`peers`]: the three implementations behind one interface;
//! - [`addrs`]: the lookup workload, [`cold`]: page-cache eviction;
//! - [`alloc`]: the counting global allocator for peak-heap numbers;
//! - [`rng`]: the seeded PRNG the generator and the workload share;
//! - [`unwind`]: tecken-core's unwind evaluators next to breakpad-symbols' walker.

#![deny(missing_docs)]

pub mod addrs;
pub mod alloc;
pub mod bench;
pub mod cold;
pub mod gen;
pub mod peers;
pub mod report;
pub mod rng;
pub mod unwind;
