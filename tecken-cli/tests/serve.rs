//! `tecken serve` end to end: the real binary on 127.0.0.1 (a free port it picks and
//! prints), real HTTP, every route; Eliot's observed cases and the golden suite byte for
//! byte; Tecken's upload expectations; a client that is not ours (`curl`); graceful
//! shutdown on SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use tecken_testutil::pyjson::{dumps, parse, same_shape, Py};

/// Eliot's fixtures under their MODULE names, plus `junk.so` (not a `.sym`) and
/// `wrongid.so` (a MODULE id that differs), as the observed Eliot had them.
fn eliot_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("eliot")).unwrap() {
        let sym = std::fs::read(entry.unwrap().path()).unwrap();
        let (file, id) = module_of(&sym);
        put_plain(dir.path(), &file, &id, &sym);
    }
    put_plain(
        dir.path(),
        "junk.so",
        "D48F191186D67E69DF025AD71FB91E1F0",
        b"this is not a sym file\n",
    );
    let testproj =
        std::fs::read(fixtures().join("eliot/testproj.D48F191186D67E69DF025AD71FB91E1F0.sym"))
            .unwrap();
    put_plain(
        dir.path(),
        "wrongid.so",
        "000000000000000000000000000000000",
        &testproj,
    );
    dir
}

fn eliot_server() -> Server {
    let tree = eliot_tree();
    let path = tree.path().to_str().unwrap().to_owned();
    Server::start_with(&["--symbols", &path, "--quiet"], vec![tree])
}

#[test]
fn observed_eliot_cases_over_http() {
    let server = eliot_server();
    let text =
        std::fs::read_to_string(fixtures().join("api-samples/eliot-symbolicate-observed.json"))
            .unwrap();
    let Some(Py::List(cases)) = parse(&text).get("cases").cloned() else {
        panic!("no cases")
    };
    let (mut checked, mut different) = (0, 0);
    for case in &cases {
        let name = case.get("name").and_then(Py::as_str).unwrap();
        let method = case.get("method").and_then(Py::as_str).unwrap();
        let path = case.get("path").and_then(Py::as_str).unwrap();
        let body = match case.get("request_body").unwrap() {
            Py::Null => Vec::new(),
            Py::Str(raw) => raw.clone().into_bytes(),
            json => dumps(json).into_bytes(),
        };
        let mut headers = Vec::new();
        if let Some(Py::Obj(h)) = case.get("request_headers") {
            for (k, v) in h {
                headers.push((k.as_str(), v.as_str().unwrap()));
            }
        }
        let resp = match method {
            "POST" => post(&server.url(path), &headers, &body),
            "GET" => get(&server.url(path)),
            other => panic!("{name}: method {other}"),
        };
        let got_text = resp.text();
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "{name}"
        );
        let (want_status, want_text) = match tecken_testutil::eliot_deliberate_difference(name) {
            Some((status, body)) => {
                different += 1;
                (status, body)
            }
            None => {
                let Py::Num(n) = case.get("status").unwrap() else {
                    panic!("{name}: status")
                };
                (
                    n.parse::<u16>().unwrap(),
                    dumps(case.get("response").unwrap()),
                )
            }
        };
        assert_eq!(resp.status, want_status, "{name}: {got_text}");
        if headers.iter().any(|(k, _)| *k == "Debug") {
            same_shape(&parse(&got_text), &parse(&want_text), name).unwrap();
            let results = |t: &str| dumps(parse(t).get("results").unwrap());
            assert_eq!(results(&got_text), results(&want_text), "{name}");
        } else {
            assert_eq!(got_text, want_text, "{name}: bytes");
        }
        checked += 1;
    }
    // Over HTTP the two cases the core test skips (405, unknown path) are checked too.
    assert_eq!((checked, different), (50, 4));
}

#[test]
fn golden_suite_over_http() {
    let files = tecken_testutil::golden_files();
    assert!(files.len() >= 10);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let golden = parse(&std::fs::read_to_string(path).unwrap());
        let sym =
            std::fs::read(fixtures().join(golden.get("sym_fixture").and_then(Py::as_str).unwrap()))
                .unwrap();
        let request = golden.get("request").unwrap();
        // Each golden file gets its own tree: two of them serve different files under
        // one debug file and id.
        let tree = tempfile::tempdir().unwrap();
        for (file, id) in tecken_testutil::pyjson::memory_map(request) {
            put_plain(tree.path(), file, id, &sym);
        }
        let dir = tree.path().to_str().unwrap().to_owned();
        let server = Server::start_with(&["--symbols", &dir, "--quiet"], vec![tree]);
        let resp = post(
            &server.url("/symbolicate/v5"),
            &[],
            dumps(request).as_bytes(),
        );
        assert_eq!(resp.status, 200, "{name}");
        assert_eq!(
            resp.text(),
            dumps(golden.get("expected_response").unwrap()),
            "{name}: bytes differ"
        );
    }
}

#[test]
fn cors_preflight_and_methods_as_eliot() {
    let server = eliot_server();
    let r = raw(
        server.host(),
        "OPTIONS /symbolicate/v5 HTTP/1.1\r\nHost: x\r\nOrigin: https://profiler.firefox.com\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
         Connection: close\r\n\r\n",
    )
    .to_ascii_lowercase();
    assert!(r.starts_with("http/1.1 200"), "{r}");
    assert!(r.contains("access-control-allow-origin: *"), "{r}");
    assert!(r.contains("access-control-allow-methods: post"), "{r}");
    assert!(
        r.contains("access-control-allow-headers: content-type"),
        "{r}"
    );
    assert!(r.contains("access-control-max-age: 86400"), "{r}");
    assert!(!r.contains("\r\nallow:"), "{r}");

    let resp = post(
        &server.url("/symbolicate/v5"),
        &[("Origin", "https://profiler.firefox.com")],
        br#"{"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}"#,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    assert!(resp
        .header("access-control-expose-headers")
        .unwrap()
        .contains("content-type"));
    // Without an Origin, no CORS headers (Falcon's middleware).
    let resp = post(&server.url("/symbolicate/v5"), &[], b"{}");
    assert_eq!(resp.header("access-control-allow-origin"), None);

    let r = raw(
        server.host(),
        "PUT /symbolicate/v4 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    assert!(
        r.to_ascii_lowercase().contains("allow: post, options"),
        "{r}"
    );
    assert!(r.ends_with(r#"{"title": "405 Method Not Allowed"}"#), "{r}");
}

#[test]
fn v5_limits_and_bad_bodies() {
    let server = eliot_server();
    let big = vec![b' '; (10 << 20) + 10];
    let resp = post(&server.url("/symbolicate/v5"), &[], &big);
    assert_eq!(resp.status, 413);
    assert_eq!(
        resp.text(),
        r#"{"title": "please limit the size of a request to <= 10485760 bytes"}"#
    );
    let resp = post(&server.url("/symbolicate/v5"), &[], b"\xff\xfe{");
    assert_eq!(resp.status, 400);
    assert_eq!(resp.text(), r#"{"title": "Payload is not valid JSON"}"#);
    // A panic in a handler is a 500 for that request only (Eliot's `/__broken__`).
    let resp = get(&server.url("/__broken__"));
    assert_eq!(resp.status, 500);
    assert_eq!(get(&server.url("/__lbheartbeat__")).status, 200);
}

#[test]
fn health_routes() {
    let server = eliot_server();
    let r = get(&server.url("/__lbheartbeat__"));
    assert_eq!((r.status, r.body.len()), (200, 0));
    let r = get(&server.url("/__heartbeat__"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["status"], "ok");
    let r = get(&server.url("/__version__"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let r = get(&server.url("/nothing/here"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"title": "404 Not Found"}"#)
    );
}

#[test]
fn upload_as_tecken_expects() {
    let (server, root) = upload_server(&[]);
    let sample = zip_fixture("sample.zip");

    let r = get(&server.url("/upload/"));
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (405, "Method Not Allowed (GET): /upload/")
    );
    assert_eq!(
        r.text(),
        r#"{"error": "Method Not Allowed (GET): /upload/"}"#
    );
    let r = upload(&server, None, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (
            403,
            "This requires an Auth-Token to authenticate the request"
        )
    );
    let r = upload(
        &server,
        Some("not-a-token"),
        &[("file.zip", Some("file.zip"), &sample)],
    );
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (403, "API Token not matched")
    );
    let r = upload(
        &server,
        Some("no-perms-token-1"),
        &[("file.zip", Some("file.zip"), &sample)],
    );
    assert_eq!((r.status, error_of(&r).as_str()), (403, "Forbidden"));
    let tok = Some("uploader-token-1");
    let r = upload(&server, tok, &[("try", None, b"")]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "Must be multipart form data with at least one file")
    );
    let r = upload(&server, tok, &[("myfile.zip", Some("myfile.zip"), b"")]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "File is not a zip file")
    );
    let r = upload(&server, tok, &[("myfile.rar", Some("sample.zip"), &sample)]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "Unrecognized archive file extension \".rar\"")
    );
    for (zip, want) in [
        ("invalid.zip", "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was 'xpcshell.sym')"),
        ("notazipdespiteitsname.zip", "File is not a zip file"),
        ("invalid-characters.zip", "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was 'xpcfoo.dbg/A7D6F1BB18CD4CB48/p%eter.sym')"),
        ("duplicated-different-size.zip", "The zipfile buffer contains two files both called foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym and they have difference sizes (24 != 39)"),
    ] {
        let r = upload(&server, tok, &[("file.zip", Some("file.zip"), &zip_fixture(zip))]);
        assert_eq!((r.status, error_of(&r)), (400, want.to_owned()), "{zip}");
    }
    // Nothing was stored by the failures.
    assert!(!root.join("v1/xpcshell.dbg").exists());

    let r = upload(&server, tok, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!(r.status, 201, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let u = &v["upload"];
    assert_eq!(u["size"], 70398);
    assert_eq!(u["filename"], "file.zip");
    assert_eq!(u["try_symbols"], false);
    assert_eq!(u["download_url"], serde_json::Value::Null);
    assert_eq!(u["redirect_urls"], serde_json::json!([]));
    assert_eq!(u["user"], "ci@example.com");
    assert_eq!(u["skipped_keys"], serde_json::json!([]));
    assert_eq!(u["ignored_keys"], serde_json::json!(["build-symbols.txt"]));
    assert_eq!(u["content_hash"], "984270ef458d9d1e27e8d844ad52a9");
    assert_eq!(
        u["uploaded_keys"],
        serde_json::json!([
            "v1/flag/DEADBEEF/flag.jpeg",
            "v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"
        ])
    );
    // Downloadable right away, decompressed, and the upload is a plain Tecken store.
    let sym = get(&server.url("/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"));
    assert_eq!(sym.status, 200);
    assert!(sym.body.starts_with(b"MODULE "), "{}", sym.text());
    assert!(root
        .join("v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym")
        .is_file());
    let r = head(&server.url("/flag/deadbeef/flag.jpeg"));
    assert_eq!(r.status, 404, "extension outside Tecken's allow-list");

    // Again: everything is skipped.
    let r = upload(&server, tok, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!(r.status, 201);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["upload"]["skipped_keys"].as_array().unwrap().len(), 2);
    assert_eq!(v["upload"]["uploaded_keys"], serde_json::json!([]));

    let r = upload(
        &server,
        tok,
        &[(
            "file.zip",
            Some("file.zip"),
            &zip_fixture("sample-with-ignorable-files.zip"),
        )],
    );
    assert_eq!(r.status, 201);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut ignored: Vec<String> = v["upload"]["ignored_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    ignored.sort();
    assert_eq!(
        ignored,
        [
            "build-symbols.txt",
            "flag/.DS_Store",
            "xpcshell.dbg/A7D6F1BB18CD4CB48/.DS_Store"
        ]
    );
    let r = upload(
        &server,
        tok,
        &[(
            "file.zip",
            Some("file.zip"),
            &zip_fixture("duplicated-same-size.zip"),
        )],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // curl's `-F file=@x.zip`: a field name without an extension uses the file name.
    let r = upload(&server, tok, &[("file", Some("sample.zip"), &sample)]);
    assert_eq!(r.status, 201, "{}", r.text());
}

const XUL_PE: &str = "eliot/xul-pe.0185139C8F04FFC94C4C44205044422E1.sym";
const XUL_KEY: &str = "xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym";

#[test]
fn try_uploads_downloads_code_ids_syminfo_and_symbolication_after_upload() {
    let (server, _root) = upload_server(&[]);
    let sym = std::fs::read(fixtures().join(XUL_PE)).unwrap();
    let zip = make_zip(&[(XUL_KEY, &sym)]);

    // Not there yet: v5 says false (and remembers it), download 404.
    let req = br#"{"stacks": [[[0, 21376]]], "memoryMap": [["xul.pdb", "0185139C8F04FFC94C4C44205044422E1"]]}"#;
    let r = post(&server.url("/symbolicate/v5"), &[], req);
    assert!(r
        .text()
        .contains(r#""xul.pdb/0185139C8F04FFC94C4C44205044422E1": false"#));
    assert_eq!(get(&server.url(&format!("/{XUL_KEY}"))).status, 404);

    // A try-only token uploads to the Try area whatever the form says.
    let r = upload(
        &server,
        Some("try-only-token-1"),
        &[("xul.zip", Some("xul.zip"), &zip)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["upload"]["try_symbols"], true);
    assert_eq!(
        v["upload"]["uploaded_keys"],
        serde_json::json!([format!("try/v1/{XUL_KEY}")])
    );
    let plain = get(&server.url(&format!("/{XUL_KEY}")));
    assert_eq!(plain.status, 404);
    assert_eq!(plain.text(), "Symbol Not Found");
    assert_eq!(get(&server.url(&format!("/try/{XUL_KEY}"))).body, sym);
    assert_eq!(get(&server.url(&format!("/{XUL_KEY}?try=1"))).body, sym);
    let h = head(&server.url(&format!("/try/{XUL_KEY}")));
    assert_eq!((h.status, h.body.len()), (200, 0));
    assert_eq!(h.header("access-control-allow-origin"), Some("*"));

    // The upload made the module available to symbolication (the miss was forgotten):
    // the store reads the Try area after the regular one, as Eliot reads Tecken's /try/.
    let r = post(&server.url("/symbolicate/v5"), &[], req);
    assert!(
        r.text()
            .contains(r#""xul.pdb/0185139C8F04FFC94C4C44205044422E1": true"#),
        "{}",
        r.text()
    );

    // Regular upload; then the code-id redirect (Windows modules get an index entry).
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("xul.zip", Some("xul.zip"), &zip)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = get(&server.url("/xul.dll/60533C886EFD000/xul.sym?code_file=xul.dll"));
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("/{XUL_KEY}?code_file=xul.dll").as_str())
    );
    assert_eq!(
        head(&server.url("/xul.dll/60533C886EFD000/xul.sym")).status,
        302
    );
    let r = get(&server.url("/api/syminfo/xul.dll/60533C886EFD000"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["debug_filename"], "xul.pdb");
    assert_eq!(v["debug_id"], "0185139C8F04FFC94C4C44205044422E1");
    assert_eq!(v["code_file"], "xul.dll");
    assert_eq!(v["url"], format!("{}/{XUL_KEY}", server.addr));
    let r = get(&server.url("/api/syminfo/xul.pdb/0185139c8f04ffc94c4c44205044422e1"));
    assert_eq!(r.status, 200);
    let r = get(&server.url("/api/syminfo/nope.dll/1234"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, "Code file / id Not Found")
    );

    // Tecken's download rules.
    let r = get(&server.url("/cxinjime.pdb/342D9B0A3AE64812A2388C055C9F6C321/file.ptr"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, "Symbol Not Found (and ignored)")
    );
    let r = raw(
        server.host(),
        "GET /xul.pdb/ID/x%zz.sym HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = raw(
        server.host(),
        &format!("PUT /try/{XUL_KEY} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    let r = raw(
        server.host(),
        &format!("GET /{XUL_KEY} HTTP/1.1\r\nHost: x\r\nDebug: true\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.to_ascii_lowercase().contains("\r\ndebug-time: "), "{r}");
}

#[test]
fn redirects_and_missing_symbols() {
    let tree = tempfile::tempdir().unwrap();
    let sym = std::fs::read(fixtures().join(XUL_PE)).unwrap();
    put_plain(
        tree.path(),
        "xul.pdb",
        "0185139C8F04FFC94C4C44205044422E1",
        &sym,
    );
    let dir = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(
        &[
            "--symbols",
            &dir,
            "--redirect-base",
            "https://cdn.example.com/bucket/",
            "--quiet",
        ],
        vec![tree],
    );
    let r = get(&server.url(&format!("/{XUL_KEY}")));
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("https://cdn.example.com/bucket/v1/{XUL_KEY}").as_str())
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(head(&server.url(&format!("/{XUL_KEY}"))).status, 200);
    let r = get(&server.url(
        "/nothere.pdb/44E4EC8C2F41492B9369D6B9A059577C2/nothere.sym?code_file=nothere.dll&code_id=5D7BD8F4A0A000",
    ));
    assert_eq!((r.status, r.text().as_str()), (404, "Symbol Not Found"));
    // A HEAD miss is not recorded, as in Tecken; non-pdb modules only with ?all=1.
    head(&server.url("/other.pdb/0123/other.sym"));
    get(&server.url("/libfoo.so/0123/libfoo.so.sym"));
    let csv = get(&server.url("/missingsymbols.csv"));
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.text(),
        "debug_file,debug_id,code_file,code_id\r\n\
         nothere.pdb,44E4EC8C2F41492B9369D6B9A059577C2,nothere.dll,5D7BD8F4A0A000\r\n"
    );
    let all = get(&server.url("/missingsymbols.csv?all=1")).text();
    assert!(all.contains("libfoo.so,0123,,"), "{all}");
}

#[test]
fn upload_size_limit() {
    let (server, _) = upload_server(&["--max-body", "1000"]);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("file.zip", Some("file.zip"), &zip_fixture("sample.zip"))],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(error_of(&r).contains("too large"));
    // A malformed form is a 400, not a hang or a 500.
    let r = post(
        &server.url("/upload/"),
        &[
            ("Auth-Token", "uploader-token-1"),
            ("Content-Type", "multipart/form-data; boundary=zzz"),
        ],
        b"--zzz\r\nno-disposition: x\r\n\r\nabc\r\n--zzz--\r\n",
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn curl_is_served_like_any_client() {
    // A client that is not ours. curl is part of every CI image we use; the test fails
    // (rather than passing silently) when it is missing.
    let curl = Command::new("curl").arg("--version").output();
    assert!(
        curl.map(|o| o.status.success()).unwrap_or(false),
        "curl is needed for this test (apt-get install -y curl)"
    );
    let server = eliot_server();
    let crash =
        std::fs::read(fixtures().join("golden/xul-pe.0185139C8F04FFC94C4C44205044422E1.v5.json"))
            .unwrap();
    let golden = parse(std::str::from_utf8(&crash).unwrap());
    let body = dumps(golden.get("request").unwrap());
    let out = Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ])
        .arg(server.url("/symbolicate/v5"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(body.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        dumps(golden.get("expected_response").unwrap())
    );

    let url = server.url(&format!("/{XUL_KEY}"));
    let out = Command::new("curl")
        .args(["-sS", "--fail"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(fixtures().join(XUL_PE)).unwrap());
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
        .arg(&url)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "200");
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(server.url("/xul.pdb/00000000000000000000000000000000A/xul.sym"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "404");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let server = eliot_server();
    let body = br#"{"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}"#;
    // Headers and half the body, then SIGTERM, then the rest.
    let mut s = TcpStream::connect(server.host()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /symbolicate/v5 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body[..20]).unwrap();
    s.flush().unwrap();
    // Make sure the server is reading this request before the signal.
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(200));
    // New connections are refused once shutdown began.
    assert!(
        TcpStream::connect(server.host()).is_err(),
        "still accepting after SIGTERM"
    );
    s.write_all(&body[20..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.ends_with(
            r#""found_modules": {"testproj/D48F191186D67E69DF025AD71FB91E1F0": true}}]}"#
        ),
        "{resp}"
    );
    // And the process exits cleanly on its own.
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn one_log_line_per_request() {
    let tree = eliot_tree();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(["serve", "--bind", "127.0.0.1:0", "--symbols"])
        .arg(tree.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    post(&format!("{addr}/symbolicate/v5"), &[], b"{}");
    get(&format!("{addr}/__lbheartbeat__"));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8(out.stderr).unwrap();
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" method=")).collect();
    assert_eq!(requests.len(), 2, "{log}");
    assert!(
        requests[0].contains("method=POST path=/symbolicate/v5 status=400"),
        "{log}"
    );
    assert!(
        requests[1].contains("method=GET path=/__lbheartbeat__ status=200"),
        "{log}"
    );
    assert!(log.contains("event=stop"), "{log}");
}
