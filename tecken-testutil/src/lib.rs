//! Helpers the workspace's test suites share (a dev-dependency, never published).
//!
//! What more than one crate's tests need lives here: the fixture paths, zip and `.sym`
//! builders, and [`pyjson`], the JSON model that the v5 tests use to get the bytes Python's
//! `json.dumps` writes. Helpers that one crate's test files share stay in that crate's
//! `tests/common/` (`tecken serve`'s running server, a provider of in-memory modules).
//!
//! Like all test code, these helpers panic on failure: a broken fixture should fail the
//! test that uses it, loudly.

pub mod pyjson;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

/// The workspace's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A path under `fixtures/`, e.g. `fixture("tecken/zips/sample.zip")`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("fixtures").join(rel)
}

/// The Tecken fixtures directory, `fixtures/tecken`.
pub fn tecken_fixtures() -> PathBuf {
    fixture("tecken")
}

/// A zip of `(name, bytes)` members, deflated, in the given order.
pub fn make_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A `.sym` of at least `min_len` bytes: `module_line` (a `MODULE ...` line without its
/// newline), then 16-byte functions `function_number_{i}` at `i * 0x10`.
pub fn sym_of_len(module_line: &str, min_len: usize) -> Vec<u8> {
    let mut v = format!("{module_line}\n").into_bytes();
    let mut i = 0u64;
    while v.len() < min_len {
        v.extend_from_slice(format!("FUNC {:x} 10 0 function_number_{i}\n", i * 16).as_bytes());
        i += 1;
    }
    v
}

/// Where the core answers an observed Eliot case differently from Eliot on purpose (see
/// `fixtures/bindings/eliot-deliberate.json`, which the Python and Django suites read too):
/// the case's name -> `(status, body)`.
pub fn eliot_deliberate_difference(name: &str) -> Option<(u16, String)> {
    let path = fixture("bindings/eliot-deliberate.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = v["cases"].get(name)?;
    let status = case[0].as_u64().unwrap();
    let body = case[1].as_str().unwrap();
    Some((u16::try_from(status).unwrap(), body.to_owned()))
}

/// The golden v5 cases, `fixtures/tecken/golden/*.v5.json`, sorted by name.
pub fn golden_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tecken_fixtures().join("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".v5.json"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_found() {
        assert!(
            tecken_fixtures().is_dir(),
            "{}",
            tecken_fixtures().display()
        );
    }

    #[test]
    fn zips_keep_member_order_and_bytes() {
        let bytes = make_zip(&[("b/AB/b.sym", b"two".as_slice()), ("a.txt", b"one")]);
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let names: Vec<String> = z.file_names().map(str::to_owned).collect();
        assert_eq!(names.len(), 2);
        let mut first = z.by_index(0).unwrap();
        assert_eq!(first.name(), "b/AB/b.sym");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut first, &mut text).unwrap();
        assert_eq!(text, "two");
    }

    #[test]
    fn syms_of_a_length() {
        let sym = sym_of_len("MODULE Linux x86_64 0123 a.so", 1000);
        assert!(sym.len() >= 1000);
        assert!(sym.starts_with(b"MODULE Linux x86_64 0123 a.so\nFUNC 0 10 0 function_number_0\n"));
    }
}
