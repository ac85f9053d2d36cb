//! A JSON value that keeps object key order and number text, and CPython's
//! `json.dumps` (default arguments) over it: the v5 tests parse an expected response and
//! write it back with [`dumps`] to get the exact bytes Eliot would send.

/// A JSON value that keeps object key order and number text.
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    Null,
    Bool(bool),
    /// The number's text as written (Python writes ints and float reprs this way).
    Num(String),
    Str(String),
    List(Vec<Py>),
    Obj(Vec<(String, Py)>),
}

impl Py {
    pub fn get(&self, key: &str) -> Option<&Py> {
        match self {
            Py::Obj(kv) => kv.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Py::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_float(&self) -> bool {
        matches!(self, Py::Num(n) if n.contains(['.', 'e', 'E']))
    }
}

/// Parses JSON (test input only; panics on malformed input).
pub fn parse(text: &str) -> Py {
    let b = text.as_bytes();
    let mut pos = 0;
    let v = value(b, &mut pos);
    ws(b, &mut pos);
    assert_eq!(pos, b.len(), "trailing data");
    v
}

fn ws(b: &[u8], pos: &mut usize) {
    while *pos < b.len() && b" \t\r\n".contains(&b[*pos]) {
        *pos += 1;
    }
}

fn value(b: &[u8], pos: &mut usize) -> Py {
    ws(b, pos);
    match b[*pos] {
        b'{' => {
            *pos += 1;
            let mut kv = Vec::new();
            ws(b, pos);
            if b[*pos] == b'}' {
                *pos += 1;
                return Py::Obj(kv);
            }
            loop {
                ws(b, pos);
                let k = string(b, pos);
                ws(b, pos);
                assert_eq!(b[*pos], b':');
                *pos += 1;
                kv.push((k, value(b, pos)));
                ws(b, pos);
                *pos += 1;
                if b[*pos - 1] == b'}' {
                    return Py::Obj(kv);
                }
            }
        }
        b'[' => {
            *pos += 1;
            let mut items = Vec::new();
            ws(b, pos);
            if b[*pos] == b']' {
                *pos += 1;
                return Py::List(items);
            }
            loop {
                items.push(value(b, pos));
                ws(b, pos);
                *pos += 1;
                if b[*pos - 1] == b']' {
                    return Py::List(items);
                }
            }
        }
        b'"' => Py::Str(string(b, pos)),
        b't' => {
            *pos += 4;
            Py::Bool(true)
        }
        b'f' => {
            *pos += 5;
            Py::Bool(false)
        }
        b'n' => {
            *pos += 4;
            Py::Null
        }
        _ => {
            let start = *pos;
            while *pos < b.len() && b"+-.eE0123456789".contains(&b[*pos]) {
                *pos += 1;
            }
            Py::Num(String::from_utf8(b[start..*pos].to_vec()).unwrap())
        }
    }
}

fn string(b: &[u8], pos: &mut usize) -> String {
    assert_eq!(b[*pos], b'"');
    let start = *pos;
    *pos += 1;
    while b[*pos] != b'"' {
        *pos += if b[*pos] == b'\\' { 2 } else { 1 };
    }
    *pos += 1;
    serde_json::from_slice(&b[start..*pos]).unwrap()
}

/// CPython's `json.dumps(v)` with default arguments.
pub fn dumps(v: &Py) -> String {
    let mut out = String::new();
    dump(v, &mut out);
    out
}

fn dump(v: &Py, out: &mut String) {
    match v {
        Py::Null => out.push_str("null"),
        Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Py::Num(n) => out.push_str(n),
        Py::Str(s) => dump_str(s, out),
        Py::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out);
            }
            out.push(']');
        }
        Py::Obj(kv) => {
            out.push('{');
            for (i, (k, item)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump(item, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Same keys in the same order and the same kinds of values, recursively; numbers must be
/// equal unless both are floats (timings).
pub fn same_shape(a: &Py, b: &Py, path: &str) -> Result<(), String> {
    match (a, b) {
        (Py::Obj(x), Py::Obj(y)) => {
            let kx: Vec<&str> = x.iter().map(|(k, _)| k.as_str()).collect();
            let ky: Vec<&str> = y.iter().map(|(k, _)| k.as_str()).collect();
            if kx != ky {
                return Err(format!("{path}: keys {kx:?} != {ky:?}"));
            }
            for ((k, va), (_, vb)) in x.iter().zip(y) {
                same_shape(va, vb, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Py::Num(_), Py::Num(_)) if a.is_float() && b.is_float() => Ok(()),
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {} != {}", dumps(a), dumps(b))),
    }
}

/// The `(debug_file, debug_id)` pairs of every job's `memoryMap` in a v5 request, in order
/// (repeats kept).
pub fn memory_map(request: &Py) -> Vec<(&str, &str)> {
    let Some(Py::List(jobs)) = request.get("jobs") else {
        panic!("a v5 request without jobs")
    };
    let mut out = Vec::new();
    for job in jobs {
        let Some(Py::List(map)) = job.get("memoryMap") else {
            panic!("a job without a memoryMap")
        };
        for entry in map {
            let Py::List(pair) = entry else {
                panic!("a memoryMap entry that is not a list")
            };
            out.push((pair[0].as_str().unwrap(), pair[1].as_str().unwrap()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_writes_what_python_writes() {
        let v = parse(r#"{"a":[1,2.5e3,"\u00e9\n€"],"b" : null,"c":{}}"#);
        assert_eq!(
            dumps(&v),
            r#"{"a": [1, 2.5e3, "\u00e9\n\u20ac"], "b": null, "c": {}}"#
        );
    }

    #[test]
    fn shapes_ignore_float_values_only() {
        let a = parse(r#"{"t": 0.5, "n": 1}"#);
        assert!(same_shape(&a, &parse(r#"{"t": 1.25, "n": 1}"#), "$").is_ok());
        assert!(same_shape(&a, &parse(r#"{"t": 0.5, "n": 2}"#), "$").is_err());
        assert!(same_shape(&a, &parse(r#"{"n": 1, "t": 0.5}"#), "$").is_err());
    }
}
