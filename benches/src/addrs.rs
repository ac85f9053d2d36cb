//! The lookup workload: random module-relative addresses drawn from a `.sym` file's own
//! FUNC and PUBLIC records, the same list for every implementation.
//!
//! The file is scanned here, independently of tecken-core, so the workload does not depend
//! on the code under test: `memmem` finds the `FUNC ` and `PUBLIC ` lines (a few hundred ms
//! for 420 MB) and only their address fields are parsed.

use crate::rng::Rng;

/// FUNC ranges and PUBLIC addresses of a `.sym` file.
#[derive(Debug, Clone, Default)]
pub struct SymShape {
    /// `(address, size)` of every FUNC with a non-zero size, sorted by address.
    pub funcs: Vec<(u64, u64)>,
    /// Every PUBLIC address, sorted.
    pub publics: Vec<u64>,
}

fn hex(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
}

/// The fields after a keyword, with an optional `m` skipped.
fn fields(rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    let mut it = line
        .split(|&b| b == b' ' || b == b'\r')
        .filter(|f| !f.is_empty())
        .peekable();
    if it.peek() == Some(&&b"m"[..]) {
        it.next();
    }
    it
}

/// Finds every line that starts with `keyword` and calls `f` with the rest of the file.
fn each_record<'a>(bytes: &'a [u8], keyword: &[u8], mut f: impl FnMut(&'a [u8])) {
    if bytes.starts_with(keyword) {
        f(&bytes[keyword.len()..]);
    }
    let mut needle = Vec::with_capacity(keyword.len() + 1);
    needle.push(b'\n');
    needle.extend_from_slice(keyword);
    for at in memchr::memmem::find_iter(bytes, &needle) {
        f(&bytes[at + needle.len()..]);
    }
}

/// Scans a `.sym` file for its FUNC ranges and PUBLIC addresses.
pub fn scan(bytes: &[u8]) -> SymShape {
    let mut shape = SymShape::default();
    each_record(bytes, b"FUNC ", |rest| {
        let mut it = fields(rest);
        if let (Some(a), Some(s)) = (it.next().and_then(hex), it.next().and_then(hex)) {
            if s > 0 {
                shape.funcs.push((a, s));
            }
        }
    });
    each_record(bytes, b"PUBLIC ", |rest| {
        if let Some(a) = fields(rest).next().and_then(hex) {
            shape.publics.push(a);
        }
    });
    shape.funcs.sort_unstable();
    shape.publics.sort_unstable();
    shape
}

/// `n` addresses from `seed`: 80% inside a random FUNC, the rest in a random gap between
/// FUNCs (including past the last one) or just after a random PUBLIC. Files without FUNCs
/// get only gap/PUBLIC addresses, files without PUBLICs or gaps only FUNC addresses.
pub fn sample(shape: &SymShape, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut gaps: Vec<(u64, u64)> = Vec::new();
    let mut prev_end = 0u64;
    for &(a, s) in &shape.funcs {
        if a > prev_end {
            gaps.push((prev_end, a));
        }
        prev_end = prev_end.max(a.saturating_add(s));
    }
    if !shape.funcs.is_empty() {
        gaps.push((prev_end, prev_end.saturating_add(0x1000)));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let in_func = !shape.funcs.is_empty()
            && (rng.chance(800) || (gaps.is_empty() && shape.publics.is_empty()));
        let addr = if in_func {
            let &(a, s) = rng.pick(&shape.funcs);
            a + rng.below(s)
        } else if !shape.publics.is_empty() && (gaps.is_empty() || rng.chance(500)) {
            rng.pick(&shape.publics) + rng.below(0x40)
        } else if !gaps.is_empty() {
            let &(s, e) = rng.pick(&gaps);
            s + rng.below(e - s)
        } else {
            rng.below(0x10000)
        };
        out.push(addr);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_funcs_and_publics() {
        let sym = b"MODULE Linux x86_64 A b\nPUBLIC m 10 0 p\nFUNC m 100 20 0 f\n100 20 1 0\r\nFUNC 200 0 0 empty\nFUNC 300 8 0 g\nPUBLIC 400 0 q\n";
        let s = scan(sym);
        assert_eq!(s.funcs, vec![(0x100, 0x20), (0x300, 8)]);
        assert_eq!(s.publics, vec![0x10, 0x400]);
    }

    #[test]
    fn samples_mostly_inside_funcs() {
        let shape = SymShape {
            funcs: (0..100).map(|i| (i * 0x100, 0x80)).collect(),
            publics: vec![0x7000],
        };
        let addrs = sample(&shape, 10_000, 1);
        let inside = addrs
            .iter()
            .filter(|&&a| a < 0x6400 && a % 0x100 < 0x80)
            .count();
        assert!((7_500..8_800).contains(&inside), "{inside}");
        assert_eq!(addrs, sample(&shape, 10_000, 1));
    }
}
