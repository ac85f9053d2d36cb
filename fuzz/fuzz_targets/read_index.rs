//! Arbitrary bytes as an index file: opening fails with an error or succeeds, and an open
//! index answers lookups and `verify` without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tecken_core::{Index, LookupOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(index) = Index::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = index.verify();
    // Addresses from the data itself (the STARTS section holds real ones), and edges.
    let mut probes = vec![0u64, 1, 0x1000, u64::MAX];
    probes.extend(
        data.chunks_exact(8)
            .take(256)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
    );
    for a in probes {
        for opts in [
            LookupOptions::default(),
            LookupOptions { strict_lines: true },
        ] {
            if let Some(f) = index.lookup_with(a, &opts) {
                std::hint::black_box((f.function.len(), f.file, f.line, f.inlines.len()));
            }
        }
    }
});
