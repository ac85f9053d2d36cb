//! Arbitrary bytes as a `.sym` file: the record iterator, the header parser and the index
//! builder never panic; a built index verifies, answers lookups, and a strict build fails
//! exactly when the lenient one skipped a line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tecken_core::{build_index, BuildOptions};
use tecken_core::{parse_sym_header, sym_records, ParseOptions, Record};
use tecken_core::{ErrorKind, LookupOptions};

fuzz_target!(|data: &[u8]| {
    let mut probes = vec![0u64, 1, u64::MAX];
    for (_, r) in sym_records(data) {
        match r {
            Record::Func { address, size, .. } => {
                probes.extend([address.wrapping_sub(1), address, address.wrapping_add(size)])
            }
            Record::Line { address, .. } | Record::Public { address, .. } => probes.push(address),
            _ => {}
        }
    }
    let _ = parse_sym_header(data);

    // Half of the inputs get a valid MODULE line, so that the junk reaches every record
    // parser of the builder instead of failing on the header.
    let with_module;
    let input = match data.split_first() {
        Some((&b, rest)) if b & 1 == 1 => {
            with_module = [&b"MODULE Linux x86_64 0123456789ABCDEF fuzz.so\n"[..], rest].concat();
            &with_module[..]
        }
        _ => data,
    };
    let lenient = build_index(input, &BuildOptions::default());
    let strict_opts = BuildOptions {
        parse: ParseOptions {
            strict: true,
            ..ParseOptions::default()
        },
    };
    let strict = build_index(input, &strict_opts);
    match lenient {
        Ok((index, report)) => {
            index.verify().expect("a fresh index verifies");
            assert_eq!(
                strict.is_ok(),
                report.parse.skipped == 0,
                "strict fails iff a line was skipped"
            );
            for &a in &probes {
                for opts in [
                    LookupOptions::default(),
                    LookupOptions { strict_lines: true },
                ] {
                    if let Some(f) = index.lookup_with(a, &opts) {
                        assert_eq!(f.function_address.wrapping_add(f.function_offset), a);
                    }
                }
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::MalformedSym, "{e}");
            assert!(strict.is_err());
        }
    }
});
