//! End-to-end tests of the `tecken` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tecken(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(args)
        .output()
        .expect("run tecken")
}

fn root() -> PathBuf {
    tecken_testutil::repo_root()
}

fn testproj_inlines() -> String {
    root()
        .join("fixtures/tecken/eliot/testproj-inlines.0905AE80CEE75A33E3CAB61C274274DE0.sym")
        .display()
        .to_string()
}

fn stdout_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn lookup_prints_one_json_object_per_address() {
    let o = tecken(&[
        "lookup",
        &testproj_inlines(),
        "0x7a7a",
        "31296",
        "ffff",
        "0x1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = stdout_lines(&o);
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        serde_json::json!({"addr": "0x7a7a", "function": "testproj::main", "function_offset": "0x3a",
            "file": "/home/willkg/projects/testproj/src/main.rs", "line": 4,
            "inlines": [
                {"function": "testproj::helper::inner", "file": "/home/willkg/projects/testproj/src/helper.rs", "line": 7},
                {"function": "testproj::helper::middle", "file": "/home/willkg/projects/testproj/src/helper.rs", "line": 2}]})
    );
    // 31296 is decimal for 0x7a40.
    assert_eq!(lines[1]["addr"], "0x7a40");
    assert_eq!(lines[1]["function_offset"], "0x0");
    // "ffff" has no 0x but is not all digits: hex; beyond the last FUNC, so nothing.
    assert_eq!(
        lines[2],
        serde_json::json!({"addr": "0xffff", "function": null, "function_offset": null, "file": null, "line": null, "inlines": []})
    );
    assert_eq!(lines[3]["function"], serde_json::Value::Null);
}

#[test]
fn index_then_lookup_and_info_on_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("t.idx");
    let o = tecken(&["index", &testproj_inlines(), "-o", idx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("1 FUNC, 7 line, 4 INLINE"), "{text}");
    let from_sym = tecken(&["lookup", &testproj_inlines(), "7a82", "7a47"]);
    let from_idx = tecken(&["lookup", idx.to_str().unwrap(), "7a82", "7a47"]);
    assert_eq!(from_sym.stdout, from_idx.stdout);
    let o = tecken(&["info", "--json", "--verify", idx.to_str().unwrap()]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["header"]["debug_id"], "0905AE80CEE75A33E3CAB61C274274DE0");
    assert_eq!(v["records"]["inlines"], 4);
    assert_eq!(v["verified"], true);
}

#[test]
fn addrs_file_and_gzipped_sym() {
    let dir = tempfile::tempdir().unwrap();
    let addrs = dir.path().join("addrs");
    std::fs::write(&addrs, "0x7a40\n\n7a89\n").unwrap();
    let gz = root().join("examples/symbols/cppdemo/FDD23AFA0DDD7B5AE474BC0754AE06FE0/cppdemo.sym");
    let o = tecken(&["lookup", gz.to_str().unwrap(), "0x34ba"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout_lines(&o)[0]["function"],
        "expr::(anonymous namespace)::Bin::show() const"
    );
    let o = tecken(&[
        "lookup",
        &testproj_inlines(),
        "--addrs-file",
        addrs.to_str().unwrap(),
    ]);
    assert_eq!(stdout_lines(&o).len(), 2);
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let o = tecken(&["lookup", &testproj_inlines()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no addresses"));
    let o = tecken(&["lookup", &testproj_inlines(), "0xzz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an address"));
    let o = tecken(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = tecken(&["index", "x.sym"]);
    assert_eq!(o.status.code(), Some(2), "missing -o");
}

#[test]
fn bad_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sym");
    std::fs::write(&junk, b"\x00\x01\x02 not a sym").unwrap();
    let o = tecken(&["lookup", junk.to_str().unwrap(), "0x1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a breakpad .sym file"));
    let o = tecken(&["info", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let bad_idx = dir.path().join("bad.idx");
    std::fs::write(&bad_idx, b"TECKNIDX\x01\x00\x00\x00").unwrap();
    let o = tecken(&["info", bad_idx.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("corrupt")
            || String::from_utf8_lossy(&o.stderr).contains("bad")
    );
}

fn observed_case(name: &str) -> serde_json::Value {
    let path = root().join("fixtures/tecken/api-samples/eliot-symbolicate-observed.json");
    let all: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn symbolicate(extra: &[&str], body: &[u8]) -> Output {
    use std::io::Write;
    let symbols = root().join("examples/symbols");
    let mut args = vec!["symbolicate", "--symbols", symbols.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn symbolicate_answers_like_eliot() {
    // Eliot's documented report example, observed against Eliot itself; our examples/symbols
    // holds the same xul.pdb and ntdll.pdb files.
    let case = observed_case("v5 report example (section 1.2)");
    let body = serde_json::to_vec(&case["request_body"]).unwrap();
    let o = symbolicate(&[], &body);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got, case["response"]);
}

#[test]
fn symbolicate_main_job_with_cache_dir_twice() {
    let cache = tempfile::tempdir().unwrap();
    let req = root().join("examples/crash.v5.json");
    let run = || {
        tecken(&[
            "symbolicate",
            "--symbols",
            root().join("examples/symbols").to_str().unwrap(),
            "--cache",
            cache.path().to_str().unwrap(),
            req.to_str().unwrap(),
        ])
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let found = &v["results"][0]["found_modules"];
    assert_eq!(
        found["cppdemo/FDD23AFA0DDD7B5AE474BC0754AE06FE0"], true,
        "gzipped .sym is read"
    );
    assert_eq!(
        found["libmissing.so/0123456789ABCDEF0123456789ABCDEF0"],
        false
    );
    // The second run opens the indexes the first one built.
    let idx = cache
        .path()
        .join("cppdemo/FDD23AFA0DDD7B5AE474BC0754AE06FE0/cppdemo.sym.tidx");
    assert!(idx.is_file());
    assert_eq!(run().stdout, first.stdout);
}

#[test]
fn symbolicate_v4_and_errors() {
    let case = observed_case("v4 happy");
    let o = symbolicate(
        &["--v4"],
        &serde_json::to_vec(&case["request_body"]).unwrap(),
    );
    assert!(o.status.success());
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // examples/symbols has no `testproj` with that id: the frames stay unsymbolicated.
    assert_eq!(got["knownModules"], serde_json::json!([false, false, null]));
    let o = symbolicate(&[], b"{nope");
    assert_eq!(o.status.code(), Some(1));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"title": "Payload is not valid JSON"})
    );
    let o = tecken(&["symbolicate", "--symbols", "/nonexistent-dir"]);
    assert_eq!(o.status.code(), Some(2));
}
