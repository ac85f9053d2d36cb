//! A valid index built from fuzzed `.sym` text, then corrupted: the corrupt index fails to
//! open, or opens and answers without panicking; and when `verify` passes on a changed file,
//! every answer is the same as the original's. The in-memory build (which writes its body in
//! place, by parts) gives the same bytes as the streamed one.
//!
//! Input layout: byte 0 = number of mutations (mod 16), then 5 bytes per mutation
//! (u32 little-endian position, modulo the index size; a byte to XOR in), then the `.sym`
//! body (a MODULE line is prepended).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tecken_core::{build_index, build_index_to_writer, BuildOptions};
use tecken_core::{sym_records, Record};
use tecken_core::{Index, LookupOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16);
    if rest.len() < n * 5 {
        return;
    }
    let (muts, body) = rest.split_at(n * 5);
    let sym = [&b"MODULE Linux x86_64 0123456789ABCDEF fuzz.so\n"[..], body].concat();
    let mut out = std::io::Cursor::new(Vec::new());
    if build_index_to_writer(&sym, &mut out, &BuildOptions::default()).is_err() {
        return;
    }
    let bytes = out.into_inner();
    let (in_memory, _) = build_index(&sym, &BuildOptions::default()).expect("builds in memory too");
    assert!(in_memory.as_bytes() == bytes.as_slice(), "in-memory and streamed builds differ");
    let original = Index::from_bytes(bytes.clone()).expect("a fresh index opens");

    let mut probes = vec![0u64, 1, u64::MAX];
    for (_, r) in sym_records(&sym) {
        match r {
            Record::Func { address, size, .. } => probes.extend([
                address.wrapping_sub(1),
                address,
                address.wrapping_add(size / 2),
                address.wrapping_add(size),
            ]),
            Record::Line { address, .. } | Record::Public { address, .. } => probes.push(address),
            Record::Inline(i) => probes.extend(i.ranges.iter().map(|r| r.0)),
            _ => {}
        }
    }
    probes.truncate(512);

    let mut corrupt = bytes.clone();
    for m in muts.chunks_exact(5) {
        let pos = u32::from_le_bytes([m[0], m[1], m[2], m[3]]) as usize % corrupt.len();
        corrupt[pos] ^= m[4];
    }
    let changed = corrupt != bytes;
    let Ok(index) = Index::from_bytes(corrupt) else {
        return;
    };
    let verified = index.verify().is_ok();
    for &a in &probes {
        for opts in [
            LookupOptions::default(),
            LookupOptions { strict_lines: true },
        ] {
            let got = index.lookup_with(a, &opts);
            if !changed || verified {
                // Unchanged, or changed only where no answer depends on it (the checksum
                // covers the body; the header and section table are checked at open).
                assert_eq!(got, original.lookup_with(a, &opts), "address {a:#x}");
            }
        }
    }
});
