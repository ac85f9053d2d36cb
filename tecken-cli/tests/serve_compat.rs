//! `tecken serve` against current Tecken's behaviour: `~` in names, token labels, upload by
//! download URL (from a local HTTP server on 127.0.0.1: allow-list, redirects, size
//! limits, remote failures), the auth-info route, upload v2, the answers' details
//! (`skipped_keys`, syminfo's `url`, refused characters, `Debug`, `Vary`), and `--api`.
//! Each test names the upstream behaviour it follows (mozilla-services/tecken).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use common::*;

const SAMPLE: &str = "sample.zip";

fn json(g: &Got) -> serde_json::Value {
    serde_json::from_slice(&g.body).unwrap_or_else(|_| panic!("not JSON: {}", g.text()))
}

fn get_with(url: &str, headers: &[(&str, &str)]) -> Got {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    got(req.call().unwrap())
}

/// `application/x-www-form-urlencoded`, as `curl -d url=...` and `requests.post(data=)`.
fn post_form(server: &Server, token: &str, fields: &str) -> Got {
    post(
        &server.url("/upload/"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Auth-Token", token),
        ],
        fields.as_bytes(),
    )
}

// --- a local origin for uploads by URL ----------------------------------------------------

/// One canned answer of the origin: status, headers, body (for a GET; a HEAD gets the
/// headers only).
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether a HEAD answer declares the body's length.
    head_length: bool,
}

fn ok_zip(body: Vec<u8>) -> Canned {
    Canned {
        status: 200,
        headers: vec![("Content-Type".into(), "application/zip".into())],
        body,
        head_length: true,
    }
}

fn status(code: u16) -> Canned {
    Canned {
        status: code,
        headers: Vec::new(),
        body: Vec::new(),
        head_length: true,
    }
}

fn redirect(to: &str) -> Canned {
    Canned {
        status: 302,
        headers: vec![("Location".into(), to.into())],
        body: Vec::new(),
        head_length: true,
    }
}

/// A minimal HTTP/1.1 origin on 127.0.0.1 (one thread per connection, `Connection:
/// close`) answering paths from a table. The test's own, so no network is needed.
struct Origin {
    port: u16,
}

impl Origin {
    fn start(routes: Vec<(&'static str, Canned)>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let routes = routes.clone();
                std::thread::spawn(move || answer(conn, &routes));
            }
        });
        Origin { port }
    }

    /// `http://127.0.0.1:PORT{path}`.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The same origin by another name, `localhost`, for a host the allow-list lacks.
    fn url_as_localhost(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }
}

fn answer(mut conn: TcpStream, routes: &[(&'static str, Canned)]) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // The rest of the head.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let canned = routes
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| status(404));
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", canned.status);
    for (k, v) in &canned.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "HEAD" || canned.head_length {
        head.push_str(&format!("Content-Length: {}\r\n", canned.body.len()));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = conn.write_all(&canned.body);
    }
}

// --- 1. `~` -------------------------------------------------------------------------------

/// Tecken accepts `~` in debug file and file names since 2025
/// (mozilla-services/tecken `tecken/base/utils.py` `invalid_key_name_characters`):
/// upload, download and v5 all take `libgallium-24.2.8-1~bpo12+rpt1.so`.
#[test]
fn tilde_in_names_over_http() {
    let (server, root) = upload_server(&[]);
    let name = "libgallium-24.2.8-1~bpo12+rpt1.so";
    let id = "0F3C1A2B4D5E6F708192A3B4C5D6E7F80";
    let sym =
        format!("MODULE Linux arm64 {id} {name}\nFUNC 1000 40 0 dri_init_screen\n1000 40 120 0\n");
    let member = format!("{name}/{id}/{name}.sym");
    let zip = make_zip(&[(member.as_str(), sym.as_bytes())]);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("s.zip", Some("s.zip"), &zip)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(root.join("v1").join(&member).is_file());
    let got = get(&server.url(&format!("/{member}")));
    assert_eq!((got.status, got.text()), (200, sym.clone()));
    let body =
        format!(r#"{{"jobs": [{{"memoryMap": [["{name}", "{id}"]], "stacks": [[[0, 4100]]]}}]}}"#);
    let r = post(&server.url("/symbolicate/v5"), &[], body.as_bytes());
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("\"function\": \"dri_init_screen\""),
        "{}",
        r.text()
    );
}

// --- 2. token labels ----------------------------------------------------------------------

/// `TOKEN-label` authenticates as `TOKEN` (mozilla-services/tecken
/// `tecken/tests/test_tokens.py` `test_client_homepage_with_valid_token`: "Test with token
/// comment", `f"{token_key}-testtoken"`).
#[test]
fn token_labels_authenticate_as_the_token() {
    let (server, _root) = upload_server(&[]);
    let sample = zip_fixture(SAMPLE);
    let r = upload(
        &server,
        Some("uploader-token-1-ci-linux64"),
        &[("file.zip", Some("file.zip"), &sample)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(json(&r)["upload"]["user"], "ci@example.com");
    // A longer token is not a label.
    let r = upload(
        &server,
        Some("uploader-token-1x"),
        &[("f.zip", Some("f.zip"), &sample)],
    );
    assert_eq!(
        (r.status, error_of(&r)),
        (403, "API Token not matched".to_owned())
    );
    // The label does not widen the token's permissions.
    let r = upload(
        &server,
        Some("no-perms-token-1-x"),
        &[("f.zip", Some("f.zip"), &sample)],
    );
    assert_eq!((r.status, error_of(&r)), (403, "Forbidden".to_owned()));
}

// --- 3. upload by download URL ------------------------------------------------------------

/// Tecken's upload by URL (mozilla-services/tecken `tecken/tests/test_upload.py`
/// `test_upload_archive_by_url`, `test_upload_archive_by_url_remote_error`,
/// `test_UploadByDownloadForm_*`): the checks, their messages and statuses, the redirect
/// trail in the answer; plus the size limit and the redirect hosts this server checks.
#[test]
fn upload_by_download_url() {
    let sample = zip_fixture(SAMPLE);
    let mut big = sample.clone();
    big.resize(300_000, 0);
    let origin = Origin::start(vec![
        ("/symbols.zip", ok_zip(sample.clone())),
        ("/redirect.zip", redirect("/symbols.zip")),
        ("/loop.zip", redirect("/loop.zip")),
        ("/missing.zip", status(404)),
        ("/broken.zip", status(502)),
        ("/big.zip", ok_zip(big.clone())),
        (
            "/nolength.zip",
            Canned {
                head_length: false,
                ..ok_zip(big)
            },
        ),
        ("/symbols.rar", ok_zip(sample.clone())),
    ]);
    let offsite = origin.url_as_localhost("/symbols.zip");
    // Registered after the origin started: a path of its own that points off-site.
    let origin2 = Origin::start(vec![("/offsite.zip", redirect(&offsite))]);

    let tok = "uploader-token-1";
    // No host allowed (the default): refused, as an unlisted host is.
    let (plain, _r) = upload_server(&[]);
    let r = post_form(&plain, tok, &format!("url={}", origin.url("/symbols.zip")));
    assert_eq!(
        (r.status, error_of(&r)),
        (400, "Insecure URL".to_owned()),
        "https only without --upload-url-http"
    );
    let r = post_form(
        &plain,
        tok,
        "url=https://notallowed.example.com/symbols.zip",
    );
    assert_eq!(
        (r.status, error_of(&r)),
        (
            400,
            "Not an allowed domain ('notallowed.example.com') to download from.".to_owned()
        )
    );

    let (server, root) = upload_server(&[
        "--upload-url-host",
        "127.0.0.1",
        "--upload-url-http",
        "--max-body",
        "200000",
    ]);
    // The happy path, through a redirect: the answer has Tecken's download fields.
    let r = post_form(
        &server,
        tok,
        &format!("url={}", origin.url("/redirect.zip")),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let u = &json(&r)["upload"];
    assert_eq!(u["download_url"], origin.url("/redirect.zip"));
    assert_eq!(
        u["redirect_urls"],
        serde_json::json!([origin.url("/symbols.zip")])
    );
    assert_eq!(u["filename"], "redirect.zip");
    assert_eq!(u["size"], sample.len());
    assert!(root
        .join("v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym")
        .is_file());
    // The `url` field of a multipart form works the same (a file-less form).
    let r = upload(
        &server,
        Some(tok),
        &[("url", None, origin.url("/symbols.zip").as_bytes())],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        json(&r)["upload"]["skipped_keys"].as_array().unwrap().len(),
        2
    );

    let cases: Vec<(String, u16, String)> = vec![
        (
            origin.url("/missing.zip"),
            400,
            format!("{} can't be found (404)", origin.url("/missing.zip")),
        ),
        (
            origin.url("/broken.zip"),
            500,
            format!("{} errored (502)", origin.url("/broken.zip")),
        ),
        (
            origin.url("/loop.zip"),
            400,
            format!(
                "Too many redirects trying to open {}",
                origin.url("/loop.zip")
            ),
        ),
        // A redirect may not leave the allow-list.
        (
            origin2.url("/offsite.zip"),
            400,
            "Not an allowed domain ('localhost') to download from.".to_owned(),
        ),
        // Size: declared by the HEAD, or only found while downloading.
        (
            origin.url("/big.zip"),
            413,
            format!(
                "Upload too large: 300000 bytes at {} (the limit is 200000 bytes)",
                origin.url("/big.zip")
            ),
        ),
        (
            origin.url("/nolength.zip"),
            413,
            format!(
                "Upload too large: 200001 bytes at {} (the limit is 200000 bytes)",
                origin.url("/nolength.zip")
            ),
        ),
        (
            origin.url("/symbols.rar"),
            400,
            "Unrecognized archive file extension \".rar\"".to_owned(),
        ),
        ("not a url".to_owned(), 400, "Enter a valid URL.".to_owned()),
    ];
    for (url, want_status, want) in cases {
        let r = post_form(&server, tok, &format!("url={url}"));
        assert_eq!((r.status, error_of(&r)), (want_status, want), "{url}");
    }
    // Nothing listening: Tecken's 500, which upload clients retry.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/symbols.zip");
    let r = post_form(&server, tok, &format!("url={url}"));
    assert_eq!(
        (r.status, error_of(&r)),
        (500, format!("ConnectionError trying to open {url}"))
    );
    // Tecken's checks before the URL: the token.
    let r = post_form(
        &server,
        "wrong-token-1",
        &format!("url={}", origin.url("/symbols.zip")),
    );
    assert_eq!(r.status, 403);
}

// --- 4. auth info and upload v2 -----------------------------------------------------------

/// Tecken's `/api/_auth/` (its tests `test_client_homepage_with_valid_token` /
/// `..._with_invalid_token`), and `POST /upload/auth_info/`, the preflight request of
/// Mozilla's `upload-symbols` client (its `AuthInfo`: `email`, `try_symbols`,
/// `token_expires_at` in Unix seconds, `upload_api_version`, `opentelemetry`; 4xx errors
/// as `{"error": ...}`); both `Vary: Auth-Token`. The announced upload API is version 1;
/// upload v2 answers 501 after the token checks (its protocol is Google Cloud Storage's
/// own).
#[test]
fn auth_info_and_upload_v2() {
    let (server, _root) = upload_server(&[]);
    let path = "/api/_auth/";
    let r = get(&server.url(path));
    assert_eq!(r.status, 200);
    assert!(json(&r).get("sign_in_url").is_some(), "{}", r.text());
    assert_eq!(r.header("vary"), Some("Auth-Token"));
    let r = get_with(
        &server.url(path),
        &[("Auth-Token", "uploader-token-1-testtoken")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    assert_eq!(v["user"]["email"], "ci@example.com");
    assert!(v.get("sign_in_url").is_none());
    assert_eq!(
        v["user"]["permissions"],
        serde_json::json!(["upload.upload_symbols", "upload.upload_try_symbols"])
    );
    assert_eq!(
        r.header("vary").map(str::to_ascii_lowercase).as_deref(),
        Some("auth-token")
    );
    let r = get_with(&server.url(path), &[("Auth-Token", "junk")]);
    assert_eq!(
        (r.status, error_of(&r)),
        (403, "API Token not matched".to_owned())
    );

    // The upload client's preflight: a POST with the token (a label after it is fine).
    let path = "/upload/auth_info/";
    let r = post(
        &server.url(path),
        &[("Auth-Token", "uploader-token-1-ci")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json(&r),
        serde_json::json!({
            "email": "ci@example.com",
            "try_symbols": false,
            "token_expires_at": 253_402_300_799u64,
            "upload_api_version": 1,
            "opentelemetry": null,
        })
    );
    assert_eq!(r.header("vary"), Some("Auth-Token"));
    // A token that may upload only to Try says so.
    let r = post(
        &server.url(path),
        &[("Auth-Token", "try-only-token-1")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["try_symbols"], true);
    // No token, a wrong one: the 403 and message the client shows.
    let r = post(&server.url(path), &[], b"");
    assert_eq!(
        (r.status, error_of(&r)),
        (
            403,
            "This requires an Auth-Token to authenticate the request".to_owned()
        )
    );
    let r = post(&server.url(path), &[("Auth-Token", "junk")], b"");
    assert_eq!(
        (r.status, error_of(&r)),
        (403, "API Token not matched".to_owned())
    );

    let r = post(
        &server.url("/upload/v2/"),
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(r.status, 403);
}

/// A `PUT` of one chunk to an upload session URL, as the upload client sends it.
fn put_chunk(url: &str, data: &[u8], first: usize, last: usize) -> Got {
    let range = format!("bytes {first}-{last}/{}", data.len());
    got(agent()
        .put(url)
        .header("content-range", &range)
        .send(&data[first..=last])
        .unwrap())
}

/// Tecken's upload API v2 as Mozilla's upload-symbols client speaks it
/// (mozilla-services/upload-symbols `crates/upload-symbols/src/v2.rs`: the batch request,
/// the actions, the resumable-upload `PUT`s with `308` and `Range`, the final object; its
/// fake Tecken `crates/fake-tecken/src/v2.rs` answers the same shapes).
#[test]
fn upload_v2_sessions_as_the_upload_client_uses_them() {
    let cache = tempfile::tempdir().unwrap();
    let (server, _root) = upload_server(&[
        "--upload-api-version",
        "2",
        "--cache",
        cache.path().to_str().unwrap(),
    ]);
    let tok = ("Auth-Token", "uploader-token-1");
    let r = post(&server.url("/upload/auth_info/"), &[tok], b"");
    assert_eq!(json(&r)["upload_api_version"], 2);

    let sym = tecken_testutil::sym_of_len(
        "MODULE Linux x86_64 A7D6F1BB18CD4CB48 xpcshell.dbg",
        600_000,
    );
    let key = "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym";
    let md5 = |b: &[u8]| -> String {
        use md5::Digest;
        md5::Md5::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let files = serde_json::json!({"files": [
        {"key": key, "size": sym.len(), "md5_hash": md5(&sym)},
        {"key": "no-pattern.sym", "size": 3, "md5_hash": md5(b"abc")},
    ]});
    let body = serde_json::to_vec(&files).unwrap();
    let json_type = ("Content-Type", "application/json");
    let r = post(&server.url("/upload/v2/"), &[json_type, tok], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("vary"), Some("Auth-Token"));
    let v = json(&r);
    assert!(v["id"].as_u64().is_some(), "{v}");
    assert!(v["created_at"].as_u64().unwrap() > 1_700_000_000, "{v}");
    assert_eq!(v["user"], "ci@example.com");
    assert_eq!(v["try_symbols"], false);
    assert_eq!(v["upload_protocol"], "gcs-resumable");
    assert_eq!(v["files"][0]["key"], key);
    assert_eq!(v["files"][0]["action"]["type"], "upload");
    assert_eq!(
        v["files"][0]["action"]["content_encoding"],
        serde_json::Value::Null
    );
    let url = v["files"][0]["action"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&server.url("/upload/v2/session/")), "{url}");
    assert_eq!(v["files"][1]["key"], "no-pattern.sym");
    assert_eq!(v["files"][1]["action"]["type"], "error");
    assert!(v["files"][1]["action"]["msg"]
        .as_str()
        .unwrap()
        .contains("no-pattern.sym"));

    // The chunks: 308 with the bytes held so far, then the object.
    let half = sym.len() / 2;
    let r = put_chunk(&url, &sym, 0, half - 1);
    assert_eq!(r.status, 308, "{}", r.text());
    assert_eq!(
        r.header("range"),
        Some(format!("bytes=0-{}", half - 1).as_str())
    );
    // Nothing is downloadable before the last byte.
    assert_eq!(get(&server.url(&format!("/{key}"))).status, 404);
    let r = put_chunk(&url, &sym, half, sym.len() - 1);
    assert_eq!(r.status, 200, "{}", r.text());
    let object = json(&r);
    assert_eq!(object["name"], format!("v1/{key}"));
    assert_eq!(object["size"], sym.len().to_string());
    assert_eq!(object["md5Hash"].as_str().unwrap().len(), 24);
    let r = get(&server.url(&format!("/{key}")));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, sym);
    // The last chunk again (its answer lost): the same object.
    let r = put_chunk(&url, &sym, half, sym.len() - 1);
    assert_eq!((r.status, json(&r)), (200, object));

    // The same file again: skipped.
    let r = post(&server.url("/upload/v2/"), &[json_type, tok], &body);
    assert_eq!(
        json(&r)["files"][0]["action"],
        serde_json::json!({"type": "skip"})
    );

    // A Try-only token: the Try area.
    let try_body = serde_json::json!({"files": [{"key": "a.so/ABC/a.so.sym", "size": 3, "md5_hash": md5(b"abc")}]});
    let r = post(
        &server.url("/upload/v2/"),
        &[json_type, ("Auth-Token", "try-only-token-1")],
        &serde_json::to_vec(&try_body).unwrap(),
    );
    assert_eq!(json(&r)["try_symbols"], true, "{}", r.text());
    let url = json(&r)["files"][0]["action"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = put_chunk(&url, b"abc", 0, 2);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["name"], "try/v1/a.so/ABC/a.so.sym");

    // Bad requests.
    let r = post(
        &server.url("/upload/v2/"),
        &[json_type, tok],
        b"{\"files\": 3}",
    );
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r).starts_with("Invalid JSON body"),
        "{}",
        r.text()
    );
    let r = got(agent()
        .put(server.url("/upload/v2/session/00000000000000000000000000000000"))
        .header("content-range", "bytes 0-2/3")
        .send(&b"abc"[..])
        .unwrap());
    assert_eq!(r.status, 404, "{}", r.text());
    let r = got(agent()
        .put(server.url("/upload/v2/session/00000000000000000000000000000000"))
        .send(&b"abc"[..])
        .unwrap());
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(
        &server.url("/upload/v2/session/00000000000000000000000000000000"),
        &[],
        b"abc",
    );
    assert_eq!(r.status, 405);
    // Data that is not what was declared.
    let r = post(&server.url("/upload/v2/"), &[json_type, tok], &serde_json::to_vec(&serde_json::json!({"files": [{"key": "b.so/ABC/b.so.sym", "size": 3, "md5_hash": md5(b"abc")}]})).unwrap());
    let url = json(&r)["files"][0]["action"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = put_chunk(&url, b"abd", 0, 2);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(error_of(&r).contains("not the declared"), "{}", r.text());
    assert_eq!(get(&server.url("/b.so/ABC/b.so.sym")).status, 404);
}

// --- 5. the answers' details --------------------------------------------------------------

/// `skipped_keys` are archive member names (mozilla-services/tecken
/// `tecken/upload/views.py` `upload_archive`: `skipped_keys.append(member.name)`); upload
/// answers `Vary: Auth-Token`; syminfo's `url` is the server's own download URL even with
/// `--redirect-base`; a refused character is a 404 (current Tecken); `Debug: 0` asks for
/// no timing, and an ignored file's time is 0 (`tecken/base/decorators.py`
/// `set_request_debug`, `tecken/download/views.py` `download_symbol`).
#[test]
fn answer_details() {
    let (server, _root) = upload_server(&["--redirect-base", "https://cdn.example.com/bucket"]);
    let sample = zip_fixture(SAMPLE);
    let tok = Some("uploader-token-1");
    let r = upload(&server, tok, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!(r.status, 201);
    assert_eq!(r.header("vary"), Some("Auth-Token"));
    let r = upload(&server, tok, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!(
        json(&r)["upload"]["skipped_keys"],
        serde_json::json!([
            "flag/deadbeef/flag.jpeg",
            "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"
        ])
    );
    // Errors answer Vary too.
    let r = upload(&server, None, &[("file.zip", Some("file.zip"), &sample)]);
    assert_eq!((r.status, r.header("vary")), (403, Some("Auth-Token")));

    // syminfo: a URL of this server, not of the redirect base.
    let zip = make_zip(&[(
        "xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym",
        b"MODULE windows x86_64 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\nINFO CODE_ID 5F0E2B2A1A3000 xul.dll\n",
    )]);
    assert_eq!(
        upload(&server, tok, &[("x.zip", Some("x.zip"), &zip)]).status,
        201
    );
    let r = get(&server.url("/api/syminfo/xul.dll/5F0E2B2A1A3000"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json(&r)["url"],
        server.url("/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym")
    );

    // Refused characters: 404, no lookup.
    let r = get(&server.url("/x%25l.pdb/44E4EC8C2F41492B9369D6B9A059577C2/x%25l.sym"));
    assert_eq!((r.status, r.text().as_str()), (404, "Symbol Not Found"));

    // Debug: Tecken's true-ish values only.
    let missing = server.url("/nothere.pdb/44E4EC8C2F41492B9369D6B9A059577C2/nothere.sym");
    assert!(get_with(&missing, &[("Debug", "0")])
        .header("debug-time")
        .is_none());
    assert!(get_with(&missing, &[("Debug", "false")])
        .header("debug-time")
        .is_none());
    let t = get_with(&missing, &[("Debug", "yes")]);
    assert!(t.header("debug-time").unwrap().parse::<f64>().unwrap() >= 0.0);
    let ignored = get_with(
        &server.url("/cxinjime.pdb/342D9B0A3AE64812A2388C055C9F6C321/file.ptr"),
        &[("Debug", "1")],
    );
    assert_eq!(
        (ignored.status, ignored.header("debug-time")),
        (404, Some("0"))
    );
}

/// With `--redirect-base`, a file a Tecken bucket holds under a lower-case id is
/// redirected to where it is.
#[test]
fn redirects_point_at_lower_case_objects() {
    let (server, root) = upload_server(&["--redirect-base", "https://cdn.example.com/b"]);
    let sample = zip_fixture(SAMPLE);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("file.zip", Some("file.zip"), &sample)],
    );
    assert_eq!(r.status, 201);
    let ids = root.join("v1/xpcshell.dbg");
    std::fs::rename(ids.join("A7D6F1BB18CD4CB48"), ids.join("a7d6f1bb18cd4cb48")).unwrap();
    let r = get(&server.url("/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"));
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("https://cdn.example.com/b/v1/xpcshell.dbg/a7d6f1bb18cd4cb48/xpcshell.sym")
    );
}

// --- 7. --api ------------------------------------------------------------------------------

/// `--api`: Tecken's 404 is Django's JSON `{"error": "Not Found", "path": ...}`
/// (mozilla-services/tecken `tecken/views.py` `handler404`), Eliot's is Falcon's
/// `{"title": "404 Not Found"}`; with `eliot`, Tecken's routes are not served; `both` (the
/// default) keeps every route with Eliot's 404.
#[test]
fn api_flag_chooses_whose_answers() {
    let (tecken, _r1) = upload_server(&["--api", "tecken"]);
    let r = get(&tecken.url("/nope"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"error": "Not Found", "path": "/nope"}"#)
    );
    assert_eq!(get(&tecken.url("/__lbheartbeat__")).status, 200);
    let r = get(&tecken.url("/a.pdb/ABC/a.sym"));
    assert_eq!((r.status, r.text().as_str()), (404, "Symbol Not Found"));

    let (eliot, _r2) = upload_server(&["--api", "eliot"]);
    for path in [
        "/nope",
        "/a.pdb/ABC/a.sym",
        "/upload/",
        "/api/syminfo/a.dll/1",
    ] {
        let r = get(&eliot.url(path));
        assert_eq!(
            (r.status, r.text().as_str()),
            (404, r#"{"title": "404 Not Found"}"#),
            "{path}"
        );
    }
    let r = post(
        &eliot.url("/symbolicate/v5"),
        &[],
        br#"{"jobs": [{"memoryMap": [["a.pdb", "ABC"]], "stacks": [[[0, 1]]]}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let (both, _r3) = upload_server(&[]);
    let r = get(&both.url("/nope"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"title": "404 Not Found"}"#)
    );
    let r = get(&both.url("/a.pdb/ABC/a.sym"));
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "Symbol Not Found");
}
