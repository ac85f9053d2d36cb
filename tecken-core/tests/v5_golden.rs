//! The golden suite end to end: for each `fixtures/tecken/golden/*.v5.json`, serve its
//! `sym_fixture` under the request's memory map entry, POST the request to
//! `symbolicate_v5`, and require the expected response: equal as JSON, and equal byte for
//! byte to what CPython's `json.dumps` (as Eliot calls it) makes of the expected response.

mod v5_common;

use tecken_core::{parse_v5, symbolicate_jobs, symbolicate_v5, V5Options};
use v5_common::{dumps, fixtures, parse, Py, SymProvider};

#[test]
fn golden_v5_responses() {
    let files = tecken_testutil::golden_files();
    let (mut frames, mut bad) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let golden = parse(&std::fs::read_to_string(path).unwrap());
        let sym =
            std::fs::read(fixtures().join(golden.get("sym_fixture").and_then(Py::as_str).unwrap()))
                .unwrap();
        let request = golden.get("request").unwrap();
        let expected = golden.get("expected_response").unwrap();

        let mut provider = SymProvider::new();
        for (file, id) in tecken_testutil::pyjson::memory_map(request) {
            provider.add(file, id, sym.clone());
        }

        let body = dumps(request);
        let resp = symbolicate_v5(&provider, body.as_bytes(), &V5Options::default());
        assert_eq!(
            resp.status,
            200,
            "{name}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        let got: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let want: serde_json::Value = serde_json::from_str(&dumps(expected)).unwrap();

        // Count and show differing frames before the whole-body checks.
        let got_frames = got["results"][0]["stacks"][0].as_array().unwrap();
        let want_frames = want["results"][0]["stacks"][0].as_array().unwrap();
        assert_eq!(got_frames.len(), want_frames.len(), "{name}");
        for (g, w) in got_frames.iter().zip(want_frames) {
            frames += 1;
            if g != w {
                bad += 1;
                if bad < 20 {
                    eprintln!("{name}\n  want {w}\n  got  {g}");
                }
            }
        }
        assert_eq!(got, want, "{name}: JSON differs");
        assert_eq!(
            String::from_utf8(resp.body).unwrap(),
            dumps(expected),
            "{name}: bytes differ"
        );

        // The typed API gives the same answer.
        let req = parse_v5(body.as_bytes(), &V5Options::default()).unwrap();
        let typed = symbolicate_jobs(&provider, &req.jobs).unwrap();
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            want,
            "{name}: typed API differs"
        );
    }
    eprintln!(
        "{} golden files, {} of {frames} frames differ",
        files.len(),
        bad
    );
    assert_eq!(files.len(), 13);
    assert_eq!(bad, 0);
    assert!(frames > 2000, "{frames}");
}
