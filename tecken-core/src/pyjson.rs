//! JSON written exactly as CPython's `json.dumps` writes it with its default arguments.
//!
//! Two Python services set the bytes tecken reproduces: Eliot answers successful
//! symbolication requests with `resp.text = json.dumps(response)`, and Tecken's Django views
//! answer with `JsonResponse`, which also calls `json.dumps` with the defaults. Those are
//! separators `", "` and `": "`, `ensure_ascii=True` (every character outside printable ASCII
//! escaped as `\uXXXX` with lower-case hex, a surrogate pair above U+FFFF), `\"`, `\\`,
//! `\n`, `\r`, `\t`, `\b`, `\f` as short escapes, `/` not escaped, integers in decimal and
//! floats as `repr(float)`.
//!
//! Error bodies of the v5 API are written by Falcon 4's default error serializer:
//! `HTTPError.to_json` with the default `JSONHandler`, i.e. `json.dumps(obj,
//! ensure_ascii=False)`: the same separators, but non-ASCII characters (and DEL) are written
//! as raw UTF-8.
//!
//! [`dumps`] writes a whole [`serde_json::Value`]; the `push_*` writers, private to the
//! crate, let the v5 response writer stream a large answer into one buffer without building
//! a value first.

/// `json.dumps(v)` with Python's default arguments (separators `", "` and `": "`,
/// `ensure_ascii=True`, floats as `repr`): the bytes of Eliot's answers and of Django's
/// `JsonResponse`, for HTTP layers that answer other routes the same way. Object keys keep
/// their order in `v`.
///
/// ```
/// let v = serde_json::json!({"error": "caf\u{e9}", "n": [1, 2.5, null]});
/// assert_eq!(
///     tecken_core::python_json(&v),
///     br#"{"error": "caf\u00e9", "n": [1, 2.5, null]}"#
/// );
/// ```
pub fn dumps(v: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    push_value(&mut out, v);
    out
}

/// Appends `s` as a JSON string, `ensure_ascii=True` style.
pub(crate) fn push_str_ascii(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_str_body(out, s, true);
    out.push(b'"');
}

/// Appends `s` as a JSON string, `ensure_ascii=False` style (Falcon's error bodies).
pub(crate) fn push_str_utf8(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_str_body(out, s, false);
    out.push(b'"');
}

/// Appends the escaped contents of `s` without the quotes (for strings built from parts).
pub(crate) fn push_str_body(out: &mut Vec<u8>, s: &str, ensure_ascii: bool) {
    let bytes = s.as_bytes();
    // Most names and paths need no escape: check all bytes without branches (SIMD), copy.
    let clean = if ensure_ascii {
        bytes.iter().fold(0u8, |bad, &b| bad | u8::from(!plain(b))) == 0
    } else {
        bytes
            .iter()
            .fold(0u8, |bad, &b| bad | u8::from(!plain(b) & (b < 0x7f)))
            == 0
    };
    if clean {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Printable ASCII other than `"` and `\` is copied as is, in runs; so is non-ASCII
        // without `ensure_ascii`.
        if plain(b) || (!ensure_ascii && b >= 0x7f) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => push_u_escape(out, u32::from(b)),
            }
            i += 1;
        } else {
            // A multi-byte character (`s` is valid UTF-8, so the slice has one).
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            let cp = u32::from(c);
            if cp < 0x1_0000 {
                push_u_escape(out, cp);
            } else {
                let v = cp - 0x1_0000;
                push_u_escape(out, 0xd800 | (v >> 10));
                push_u_escape(out, 0xdc00 | (v & 0x3ff));
            }
            i += c.len_utf8();
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Printable ASCII other than `"` and `\\`: copied as is.
#[inline(always)]
fn plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) & (b != b'"') & (b != b'\\')
}

fn push_u_escape(out: &mut Vec<u8>, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(unit >> 12 & 0xf) as usize],
        HEX[(unit >> 8 & 0xf) as usize],
        HEX[(unit >> 4 & 0xf) as usize],
        HEX[(unit & 0xf) as usize],
    ]);
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends Python's `hex(n)` (`0x5380`), or `-0x1` for `None` (Eliot's "unknown offset").
pub(crate) fn push_hex(out: &mut Vec<u8>, n: Option<u64>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let Some(mut n) = n else {
        out.extend_from_slice(b"-0x1");
        return;
    };
    let mut buf = [0u8; 18];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    i -= 2;
    buf[i] = b'0';
    buf[i + 1] = b'x';
    out.extend_from_slice(&buf[i..]);
}

/// Appends `repr(x)` of a Python float: the shortest digits that round-trip, in fixed
/// notation when the decimal exponent is in `-4 <= e < 16` (with `.0` for integral values)
/// and as `d.ddde±XX` otherwise; `NaN`, `Infinity`, `-Infinity` as `json.dumps` writes them.
pub(crate) fn push_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr: `d.ddde-N`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    // Python's `decpt`: the value is 0.DIGITS * 10^decpt.
    let decpt = exp + 1;
    if x < 0.0 {
        out.push(b'-');
    }
    let n = digits.len() as i32;
    if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.extend_from_slice(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        out.push(b'e');
        let e = decpt - 1;
        out.push(if e < 0 { b'-' } else { b'+' });
        if e.abs() < 10 {
            out.push(b'0');
        }
        push_u64(out, u64::from(e.unsigned_abs()));
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-decpt) as usize, b'0');
        out.extend_from_slice(&digits);
    } else if decpt >= n {
        out.extend_from_slice(&digits);
        out.resize(out.len() + (decpt - n) as usize, b'0');
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(&digits[..decpt as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[decpt as usize..]);
    }
}

/// Appends `json.dumps(v)` with the default arguments (`ensure_ascii=True`): the bytes
/// Django's `JsonResponse` and Eliot's successful answers are made of. Object keys keep
/// their order in `v`.
pub(crate) fn push_value(out: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value as V;
    match v {
        V::Null => out.extend_from_slice(b"null"),
        V::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        V::Number(n) => {
            if let Some(u) = n.as_u64() {
                push_u64(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(b'-');
                push_u64(out, i.unsigned_abs());
            } else {
                push_f64(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        V::String(s) => push_str_ascii(out, s),
        V::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                push_value(out, item);
            }
            out.push(b']');
        }
        V::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                push_str_ascii(out, k);
                out.extend_from_slice(b": ");
                push_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// `{"title": "..."}` as Falcon writes an `HTTPError` without a description.
pub(crate) fn error_body(title: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(title.len() + 14);
    out.extend_from_slice(b"{\"title\": ");
    push_str_utf8(&mut out, title);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_escape_like_python_ensure_ascii() {
        // Expected values from CPython 3.12 `json.dumps(...)`.
        assert_eq!(s(|o| push_str_ascii(o, "a\"b\\c/d")), r#""a\"b\\c/d""#);
        assert_eq!(
            s(|o| push_str_ascii(o, "\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}")),
            r#""\n\r\t\b\f\u0001\u001f\u007f""#
        );
        assert_eq!(
            s(|o| push_str_ascii(o, "caf\u{e9} \u{20ac} \u{1F600}")),
            r#""caf\u00e9 \u20ac \ud83d\ude00""#
        );
        assert_eq!(
            s(|o| push_str_ascii(o, "\u{FFFF}\u{10000}")),
            r#""\uffff\ud800\udc00""#
        );
        assert_eq!(s(|o| push_str_ascii(o, "")), r#""""#);
    }

    #[test]
    fn strings_escape_like_python_without_ensure_ascii() {
        assert_eq!(
            s(|o| push_str_utf8(o, "caf\u{e9}\u{7f}\n\"")),
            "\"caf\u{e9}\u{7f}\\n\\\"\""
        );
    }

    #[test]
    fn integers_and_hex() {
        assert_eq!(s(|o| push_u64(o, 0)), "0");
        assert_eq!(s(|o| push_u64(o, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|o| push_hex(o, Some(0))), "0x0");
        assert_eq!(s(|o| push_hex(o, Some(0x5380))), "0x5380");
        assert_eq!(s(|o| push_hex(o, Some(u64::MAX))), "0xffffffffffffffff");
        assert_eq!(s(|o| push_hex(o, None)), "-0x1");
    }

    #[test]
    fn floats_match_python_repr() {
        // (value, CPython 3.12 repr(value))
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0002949830000034126, "0.0002949830000034126"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000015, "1.5e-05"),
            (1.2345e-7, "1.2345e-07"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for &(x, want) in cases {
            assert_eq!(s(|o| push_f64(o, x)), want, "{x:e}");
        }
    }

    #[test]
    fn error_body_is_falcon_shaped() {
        assert_eq!(
            error_body("job 0 is invalid"),
            br#"{"title": "job 0 is invalid"}"#
        );
    }

    #[test]
    fn values_as_python_dumps_them() {
        let v = serde_json::json!({
            "error": "caf\u{e9} \"x\" \u{1f600}",
            "n": [1, -2, null, true, 0.5, 1e16, 18446744073709551615u64],
        });
        let mut out = Vec::new();
        push_value(&mut out, &v);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"error": "caf\u00e9 \"x\" \ud83d\ude00", "n": [1, -2, null, true, 0.5, 1e+16, 18446744073709551615]}"#
        );
    }
}
