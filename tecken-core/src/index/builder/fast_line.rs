//! The fast path for line records, the bulk of every `.sym` file: the exact form Breakpad
//! writes, parsed in one pass that also finds the line end.

use crate::sym::LineFields;

/// Hex digit values; 0xFF for bytes that are not hex digits.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses the line record starting at `pos` if it has the exact form Breakpad writes:
/// `<hex> <hex> <dec> <dec>` with single spaces, 1-16 hex digits, 1-10 decimal digits
/// within `u32`, ended by LF, CRLF or the end of `b`. Returns the fields and the position
/// after the line end, or `None` for anything else (including malformed lines), which the
/// general parser then handles: for every line accepted here it gives the same fields.
#[inline(always)]
pub(super) fn fast_line_record(b: &[u8], pos: usize) -> Option<(LineFields, usize)> {
    #[inline(always)]
    fn hex(w: &[u8; 64], p: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        let start = *p;
        loop {
            let d = HEX[w[*p & 63] as usize];
            if d > 15 {
                break;
            }
            v = (v << 4) | u64::from(d);
            *p += 1;
            if *p - start > 16 {
                return None;
            }
        }
        if *p == start || w[*p & 63] != b' ' {
            return None;
        }
        *p += 1;
        Some(v)
    }
    #[inline(always)]
    fn dec(w: &[u8; 64], p: &mut usize) -> Option<u32> {
        let mut v = 0u64;
        let start = *p;
        loop {
            let d = w[*p & 63].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + u64::from(d);
            *p += 1;
            if *p - start > 10 {
                return None;
            }
        }
        if *p == start {
            return None;
        }
        u32::try_from(v).ok()
    }
    // The general path only reads lines starting with a digit or `a`-`f` as line records.
    if !matches!(b.get(pos), Some(b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    // The longest accepted line is 16+1+16+1+10+1+10+2 = 57 bytes: parse from a fixed
    // 64-byte window so that indexing needs no bounds checks (`p & 63`); the last bytes of
    // the input go through a copy padded with NULs.
    let mut padded = [0u8; 64];
    let w: &[u8; 64] = match b.get(pos..pos + 64).and_then(|w| w.try_into().ok()) {
        Some(w) => w,
        None => {
            let tail = b.get(pos..).unwrap_or(&[]);
            padded[..tail.len()].copy_from_slice(tail);
            &padded
        }
    };
    let mut p = 0usize;
    let address = hex(w, &mut p)?;
    let size = hex(w, &mut p)?;
    let line = dec(w, &mut p)?;
    if w[p & 63] != b' ' {
        return None;
    }
    p += 1;
    let file = dec(w, &mut p)?;
    // `p` is at most 57 here. A NUL inside the input is not a line end; past its end it is.
    let end_of_input = |q: usize| pos + q >= b.len();
    let next = match w[p & 63] {
        b'\n' => p + 1,
        b'\r' if w[(p + 1) & 63] == b'\n' => p + 2,
        b'\r' if end_of_input(p + 1) => p + 1,
        _ if end_of_input(p) => p,
        _ => return None,
    };
    Some((
        LineFields {
            address,
            size,
            line,
            file,
        },
        pos + next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::parse_line_record;

    #[test]
    fn fast_line_records_agree_with_the_general_parser() {
        let cases: &[&[u8]] = &[
            b"1a2b 10 42 3\n",
            b"1a2b 10 42 3",
            b"1a2b 10 42 3\r\n",
            b"1a2b 10 42 3\r",
            b"1a2b 10 42 3\r\r\n",
            b"1a2b 10 42 3 \n",
            b"1a2b  10 42 3\n",
            b"1a2b\t10 42 3\n",
            b"ffffffffffffffff FFFFFFFFFFFFFFFF 4294967295 4294967295\n",
            b"00000000000000001 1 1 1\n",
            b"1 1 4294967296 1\n",
            b"1 1 -1 1\n",
            b"1 1 1 00000000001\n",
            b"1 1 1 1 1\n",
            b"1 1 1\n",
            b"1 1 1 1\x00\n",
            b"g 1 1 1\n",
            b"FFFF 1 1 1\n",
            b"1 1 1 \n",
            b"1 1 1 1x\n",
            b"0 0 0 0\n",
        ];
        for &case in cases {
            let fast = fast_line_record(case, 0);
            let nl = case.iter().position(|&b| b == b'\n').unwrap_or(case.len());
            let mut line = &case[..nl];
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if let Some((fields, next)) = fast {
                assert_eq!(Ok(fields), parse_line_record(line), "{case:?}");
                assert_eq!(next, (nl + 1).min(case.len()), "{case:?}");
            }
            // Also at the end of a longer buffer and in the middle of one.
            let mut long = vec![b'#'; 100];
            long.extend_from_slice(case);
            assert_eq!(fast_line_record(&long, 100).map(|f| f.0), fast.map(|f| f.0));
            long.extend_from_slice(&[b'#'; 100]);
            if case.ends_with(b"\n") {
                assert_eq!(fast_line_record(&long, 100).map(|f| f.0), fast.map(|f| f.0));
            }
        }
        assert!(fast_line_record(b"1a2b 10 42 3\n", 0).is_some());
    }
}
