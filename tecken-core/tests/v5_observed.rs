//! Replays every request Eliot was observed answering
//! (`fixtures/tecken/api-samples/eliot-symbolicate-observed.json`) and checks status,
//! parsed body and exact bytes; plus the v5 layer's own guarantees (one lookup per module,
//! limits, hostile input, non-ASCII output, the debug block).

mod v5_common;

use std::sync::Arc;
use std::time::Duration;

use tecken_core::Error;
use tecken_core::{build_index, BuildOptions};
use tecken_core::{
    parse_v5, symbolicate, symbolicate_jobs, symbolicate_v4, symbolicate_v5, ApiResponse, FrameRef,
    ModuleRef, V5Options,
};
use tecken_core::{FetchStats, Module, ModuleProvider, ModuleStatus};
use v5_common::{dumps, fixtures, parse, same_shape, Py, SymProvider};

/// The provider behind the observation: the `eliot/` fixtures served under their MODULE
/// debug file and id, a malformed file as `junk.so`, a file whose MODULE id differs as
/// `wrongid.so`.
fn eliot_provider() -> SymProvider {
    let mut p = SymProvider::new();
    for entry in std::fs::read_dir(fixtures().join("eliot")).unwrap() {
        let sym = std::fs::read(entry.unwrap().path()).unwrap();
        let (index, _) = build_index(&sym, &BuildOptions::default()).unwrap();
        let h = index.header();
        p.add(&h.debug_file, &h.debug_id, sym.clone());
    }
    p.add(
        "junk.so",
        "D48F191186D67E69DF025AD71FB91E1F0",
        b"this is not a sym file\n".to_vec(),
    );
    let testproj =
        std::fs::read(fixtures().join("eliot/testproj.D48F191186D67E69DF025AD71FB91E1F0.sym"))
            .unwrap();
    p.add("wrongid.so", "000000000000000000000000000000000", testproj);
    p
}

#[test]
fn observed_eliot_cases() {
    let text =
        std::fs::read_to_string(fixtures().join("api-samples/eliot-symbolicate-observed.json"))
            .unwrap();
    let doc = parse(&text);
    let Some(Py::List(cases)) = doc.get("cases") else {
        panic!("no cases")
    };
    // One provider for all cases, in order: like the observed Eliot, whose cache was warm.
    let provider = eliot_provider();
    let (mut checked, mut skipped, mut different) = (0, 0, 0);
    for case in cases {
        let name = case.get("name").and_then(Py::as_str).unwrap();
        let method = case.get("method").and_then(Py::as_str).unwrap();
        let path = case.get("path").and_then(Py::as_str).unwrap();
        if method != "POST" || !matches!(path, "/symbolicate/v5" | "/symbolicate/v4") {
            // 405 for GET and 404 for unknown paths belong to the HTTP layer.
            skipped += 1;
            continue;
        }
        let body = match case.get("request_body").unwrap() {
            Py::Str(raw) => raw.clone().into_bytes(),
            json => dumps(json).into_bytes(),
        };
        let debug = case
            .get("request_headers")
            .and_then(|h| h.get("Debug"))
            .and_then(Py::as_str);
        let opts = V5Options::default().with_debug(debug.is_some_and(|v| !v.is_empty()));
        let resp = if path.ends_with("v5") {
            symbolicate_v5(&provider, &body, &opts)
        } else {
            symbolicate_v4(&provider, &body, &opts)
        };
        let got_text = String::from_utf8(resp.body.clone()).unwrap();
        let (want_status, want_text) = match tecken_testutil::eliot_deliberate_difference(name) {
            Some((status, body)) => {
                different += 1;
                (status, body)
            }
            None => {
                let status = match case.get("status").unwrap() {
                    Py::Num(n) => n.parse::<u16>().unwrap(),
                    other => panic!("{other:?}"),
                };
                (status, dumps(case.get("response").unwrap()))
            }
        };
        assert_eq!(resp.status, want_status, "{name}: {got_text}");
        let got_value: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let want_value: serde_json::Value = serde_json::from_str(&want_text).unwrap();
        if debug.is_some() {
            // Timings differ run to run: same keys, order and integer values; results
            // byte for byte.
            same_shape(&parse(&got_text), &parse(&want_text), name).unwrap();
            let results = |t: &str| dumps(parse(t).get("results").unwrap());
            assert_eq!(results(&got_text), results(&want_text), "{name}");
        } else {
            assert_eq!(got_value, want_value, "{name}");
            assert_eq!(got_text, want_text, "{name}: bytes");
        }
        checked += 1;
    }
    eprintln!("{checked} observed cases matched ({different} of them deliberately different), {skipped} skipped");
    assert_eq!((checked, skipped, different), (48, 2, 4));
}

#[test]
fn each_module_is_fetched_once_per_request() {
    let provider = eliot_provider();
    let body = br#"{"jobs": [
        {"stacks": [[[0, 21376], [1, 4104], [0, 21377]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"], ["ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1"]]},
        {"stacks": [[[1, 21376]], [[0, 5]]], "memoryMap": [["nothere.so", "AB"], ["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]},
        {"stacks": [[[0, 1]]], "memoryMap": [["ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1"], ["", "AB"], ["x", ""]]}
    ]}"#;
    let resp = symbolicate_v5(&provider, body, &V5Options::default());
    assert_eq!(resp.status, 200);
    // Sorted by (debug_file, debug_id), as Eliot asks; empty files and ids are never asked.
    assert_eq!(
        provider.take_calls(),
        vec![
            ("nothere.so".to_owned(), "AB".to_owned()),
            (
                "ntdll.pdb".to_owned(),
                "F86EB934B42FBB79B2595AA25907695C1".to_owned()
            ),
            (
                "testproj".to_owned(),
                "D48F191186D67E69DF025AD71FB91E1F0".to_owned()
            ),
        ]
    );
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        v["results"][2]["found_modules"],
        serde_json::json!({"ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1": true, "/AB": null, "x/": null})
    );
}

#[test]
fn found_modules_are_shared_between_jobs() {
    // Job 0 lists testproj without using it; job 1 uses it: Eliot shows `true` in both.
    let provider = eliot_provider();
    let body = br#"{"jobs": [
        {"stacks": [[[-1, 1]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]},
        {"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}
    ]}"#;
    let resp = symbolicate_v5(&provider, body, &V5Options::default());
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        v["results"][0]["found_modules"]["testproj/D48F191186D67E69DF025AD71FB91E1F0"],
        true
    );
}

#[test]
fn typed_api_matches_json_api() {
    let provider = eliot_provider();
    let body = br#"{"stacks": [[[0, 21376], [1, 4104], [-1, 5], [0, -1], [2, 31354]], [[3, 1]]],
        "memoryMap": [["xul.pdb", "0185139C8F04FFC94C4C44205044422E1"], ["ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1"],
        ["testproj", "0905AE80CEE75A33E3CAB61C274274DE0"], ["nothere.so", "AB"], ["unused.so", "AB"]]}"#;
    let json = symbolicate_v5(&provider, body, &V5Options::default());
    let req = parse_v5(body, &V5Options::default()).unwrap();
    let typed = symbolicate_jobs(&provider, &req.jobs).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), want);
    let one = symbolicate(&provider, &req.jobs[0].memory_map, &req.jobs[0].stacks).unwrap();
    assert_eq!(serde_json::to_value(&one).unwrap(), want);
    assert_eq!(one.results[0].stacks[0][4].inlines.len(), 2);
    assert_eq!(typed.lookups.len(), 4);
    assert!(typed
        .lookups
        .iter()
        .any(|l| l.debug_file == "nothere.so" && !l.found));
    // Typed callers get the same validation.
    let bad = symbolicate(
        &provider,
        &[ModuleRef::new("a", "A")],
        &[vec![FrameRef::new(1, 0)]],
    )
    .unwrap_err();
    assert_eq!(bad.http_status(), 400);
    assert_eq!(
        bad.message(),
        "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules"
    );
}

#[test]
fn non_ascii_names_are_escaped_like_python() {
    let sym = "MODULE Linux x86_64 AB12 caf\u{e9}\nFILE 0 /src/\u{e9}t\u{e9}.rs\nFUNC 1000 10 0 f\u{fc}r<\u{1F600}>\"q\"\\\n1000 10 7 0\nPUBLIC 2000 0 \u{7f}tab\there\n";
    let mut provider = SymProvider::new();
    provider.add("m.so", "AB12", sym.as_bytes().to_vec());
    let body = br#"{"stacks": [[[0, 4097], [0, 8192]]], "memoryMap": [["m.so", "ab12"]]}"#;
    let resp = symbolicate_v5(&provider, body, &V5Options::default());
    let text = String::from_utf8(resp.body).unwrap();
    assert!(text.is_ascii());
    assert!(text.contains(r#""function": "f\u00fcr<\ud83d\ude00>\"q\"\\", "function_offset": "0x1", "file": "/src/\u00e9t\u00e9.rs", "line": 7"#), "{text}");
    assert!(text.contains(r#""function": "\u007ftab\there""#), "{text}");
    let v4 = symbolicate_v4(&provider, body, &V5Options::default());
    assert_eq!(
        String::from_utf8(v4.body).unwrap(),
        r#"{"symbolicatedStacks": [["f\u00fcr<\ud83d\ude00>\"q\"\\ (in m.so)", "\u007ftab\there (in m.so)"]], "knownModules": [true]}"#
    );
}

fn status_title(resp: &ApiResponse) -> (u16, String) {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    (
        resp.status,
        v["title"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let provider = SymProvider::new();
    // 100 MB of garbage: refused by size, not parsed (it is not JSON at all).
    let huge = vec![b'x'; 100 << 20];
    let resp = symbolicate_v5(&provider, &huge, &V5Options::default());
    assert_eq!(
        status_title(&resp),
        (
            413,
            "please limit the size of a request to <= 10485760 bytes".to_owned()
        )
    );
}

#[test]
fn a_million_frames_is_413() {
    let provider = SymProvider::new();
    let mut body = String::from(r#"{"memoryMap": [["a", "AB"]], "stacks": [["#);
    for i in 0..1_000_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str("[0,1]");
    }
    body.push_str("]]}");
    let opts = V5Options {
        max_body_bytes: 100 << 20,
        ..V5Options::default()
    };
    let resp = symbolicate_v5(&provider, body.as_bytes(), &opts);
    assert_eq!(
        status_title(&resp),
        (
            413,
            "please limit number of frames in a single request to <= 250000".to_owned()
        )
    );
    assert!(provider.take_calls().is_empty());
}

#[test]
fn hostile_json_never_panics() {
    let provider = eliot_provider();
    let opts = V5Options::default();
    for body in [
        "[".repeat(1_000_000),
        "{\"a\":".repeat(1_000_000),
        format!(
            r#"{{"stacks": [[[0, {}]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}}"#,
            "9".repeat(10_000)
        ),
        format!(
            r#"{{"stacks": [[[{}, 1]]], "memoryMap": []}}"#,
            "9".repeat(10_000)
        ),
        format!(
            r#"{{"stacks": [[[-{}, 1]]], "memoryMap": []}}"#,
            "9".repeat(10_000)
        ),
        r#"{"stacks": [[[0, 1e999999]]], "memoryMap": [["a", "A"]]}"#.to_owned(),
        r#"{"stacks": [[[4294967295, 1], [4294967296, 1]]], "memoryMap": [["a", "A"]]}"#.to_owned(),
        r#"{"stacks": [[[0, -9223372036854775809]]], "memoryMap": [["a", "A"]]}"#.to_owned(),
        "\"\\ud800\\udc00\\ud800\"".to_owned(),
    ] {
        let resp = symbolicate_v5(&provider, body.as_bytes(), &opts);
        assert!(
            matches!(resp.status, 400 | 413),
            "{}",
            String::from_utf8_lossy(&resp.body)
        );
    }
    // Every prefix and every single-byte corruption of a real request answers, never panics.
    let good = br#"{"jobs": [{"stacks": [[[0, 21376], [-1, 5], [0, -1]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"], ["x\u0062", "AB"]]}]}"#;
    for cut in 0..good.len() {
        let resp = symbolicate_v5(&provider, &good[..cut], &opts);
        assert_eq!(
            resp.status,
            400,
            "{}",
            String::from_utf8_lossy(&good[..cut])
        );
        let _ = symbolicate_v4(&provider, &good[..cut], &opts);
    }
    for at in 0..good.len() {
        for byte in [
            b'[', b']', b'{', b'}', b'"', b',', b'-', b'9', b'\\', 0xff, b'\n',
        ] {
            let mut bad = good.to_vec();
            bad[at] = byte;
            let resp = symbolicate_v5(&provider, &bad, &opts);
            assert!(
                matches!(resp.status, 200 | 400),
                "{}",
                String::from_utf8_lossy(&bad)
            );
            let _ = symbolicate_v4(&provider, &bad, &opts);
        }
    }
}

/// A provider that answers with made-up stats, to pin the debug block for misses.
struct Scripted;

impl ModuleProvider for Scripted {
    fn module(&self, debug_file: &str, _: &str) -> (ModuleStatus, FetchStats) {
        let ms = Duration::from_millis;
        let miss = FetchStats {
            cache_hit: false,
            lookup_time: ms(4),
            ..FetchStats::default()
        };
        match debug_file {
            "good.so" => {
                let sym = b"MODULE Linux x86_64 AB good.so\nFUNC 0 10 0 f\n";
                let (index, _) = build_index(sym, &BuildOptions::default()).unwrap();
                let stats = FetchStats {
                    download_bytes: 40,
                    download_time: ms(1),
                    parse_time: ms(1),
                    save_time: ms(1),
                    ..miss
                };
                (ModuleStatus::Found(Arc::new(Module { index })), stats)
            }
            "junk.so" => (
                ModuleStatus::NotFound,
                FetchStats {
                    download_bytes: 5,
                    download_time: ms(1),
                    ..miss
                },
            ),
            "down.so" => (
                ModuleStatus::Failed(Arc::new(Error::bad_request(503, "storage down"))),
                miss,
            ),
            _ => (ModuleStatus::NotFound, miss),
        }
    }
}

#[test]
fn debug_block_for_downloads_and_failures() {
    let body = br#"{"jobs": [
        {"stacks": [[[0, 1], [1, 1], [2, 1], [3, 1]]], "memoryMap": [["good.so", "AB"], ["junk.so", "AB"], ["nothere.so", "AB"], ["down.so", "AB"], ["unused.so", "AB"]]},
        {"stacks": [[[0, 2]]], "memoryMap": [["good.so", "AB"], ["good.so", "AB"]]}
    ]}"#;
    let resp = symbolicate_v5(&Scripted, body, &V5Options::default().with_debug(true));
    assert_eq!(resp.status, 200);
    let text = String::from_utf8(resp.body).unwrap();
    let debug = parse(&text).get("debug").unwrap().clone();
    // The order in which Eliot's DebugStats creates the keys for this request (lookups
    // sorted: down.so, good.so, junk.so, nothere.so); floats are timings.
    let want = parse(
        r#"{"cache_lookups": {"count": 4, "hits": 0, "time": 0.1},
            "downloads": {"count": 4,
                "fail_time_per_module": {"down.so/AB": 0.1, "nothere.so/AB": 0.1},
                "size_per_module": {"good.so/AB": 40, "junk.so/AB": 5},
                "time_per_module": {"good.so/AB": 0.1, "junk.so/AB": 0.1},
                "size": 45, "time": 0.1},
            "parse_sym": {"time_per_module": {"good.so/AB": 0.1}, "fail_time_per_module": {"junk.so/AB": 0.1}, "time": 0.1},
            "save_symcache": {"time_per_module": {"good.so/AB": 0.1}, "time": 0.1},
            "time": 0.1,
            "modules": {"count": 5, "stacks_per_module": {"good.so/AB": 2, "junk.so/AB": 1, "nothere.so/AB": 1, "down.so/AB": 1}}}"#,
    );
    same_shape(&debug, &want, "debug").unwrap();
    let Some(Py::Num(t)) = debug.get("cache_lookups").and_then(|c| c.get("time")) else {
        panic!()
    };
    // Lookups of 4 ms each, minus the download/parse/save time: 4 + 1 + 3 + 4 ms.
    assert!((t.parse::<f64>().unwrap() - 0.012).abs() < 1e-9, "{t}");
}

mod random {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn shared_provider() -> &'static SymProvider {
        static P: OnceLock<SymProvider> = OnceLock::new();
        P.get_or_init(eliot_provider)
    }

    /// Bodies made of JSON-ish tokens: mostly almost-valid requests, never a panic.
    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\"jobs\"",
            "\"stacks\"",
            "\"memoryMap\"",
            "\"testproj\"",
            "\"D48F191186D67E69DF025AD71FB91E1F0\"",
            "\"\"",
            "0",
            "-1",
            "-2",
            "21376",
            "1.5",
            "1e3",
            "true",
            "null",
            "NaN",
            "-",
            "\"\\u00e9\"",
            "\"\\ud800\"",
            "\"a\\",
            "18446744073709551616",
            "[0, 21376]",
            "[[[0, 21376]]]",
            "[[\"testproj\", \"D48F191186D67E69DF025AD71FB91E1F0\"]]",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..40)) {
            let provider = shared_provider();
            let body = tokens.concat();
            let opts = V5Options { max_frames: 8, max_modules: 4, ..V5Options::default() }.with_debug(true);
            for resp in [symbolicate_v5(provider, body.as_bytes(), &opts), symbolicate_v4(provider, body.as_bytes(), &opts)] {
                prop_assert!(matches!(resp.status, 200 | 400 | 413), "{body}");
                let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
                prop_assert!(v.is_object());
            }
        }

        #[test]
        fn json_and_typed_answers_agree(
            map in prop::collection::vec((0usize..4, 0usize..3), 0..6),
            stacks in prop::collection::vec(prop::collection::vec((-1i64..6, -1i64..40000), 0..6), 1..4),
        ) {
            let provider = shared_provider();
            let files = ["testproj", "nothere.so", "", "xul.pdb"];
            let ids = ["D48F191186D67E69DF025AD71FB91E1F0", "0185139C8F04FFC94C4C44205044422E1", ""];
            let map_json: Vec<String> = map.iter().map(|&(f, i)| format!("[\"{}\", \"{}\"]", files[f], ids[i])).collect();
            let stacks_json: Vec<String> = stacks
                .iter()
                .map(|s| {
                    let frames: Vec<String> = s.iter().map(|&(i, o)| format!("[{}, {}]", i.min(map.len() as i64 - 1), o)).collect();
                    format!("[{}]", frames.join(", "))
                })
                .collect();
            let body = format!("{{\"stacks\": [{}], \"memoryMap\": [{}]}}", stacks_json.join(", "), map_json.join(", "));
            let resp = symbolicate_v5(provider, body.as_bytes(), &V5Options::default());
            prop_assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
            let req = parse_v5(body.as_bytes(), &V5Options::default()).unwrap();
            let typed = symbolicate_jobs(provider, &req.jobs).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
            prop_assert_eq!(serde_json::to_value(&typed).unwrap(), json);
            // Bytes are what CPython's json.dumps makes of the same value.
            let text = String::from_utf8(resp.body).unwrap();
            prop_assert_eq!(dumps(&parse(&text)), text);
        }
    }
}
