//! The HTTP backend against a real HTTP server on 127.0.0.1, started in the test: a small
//! std::net server serving a Tecken download layout with 302 redirects, 404s, 500s, 429s,
//! and slow answers.
#![cfg(feature = "http")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tecken_core::ErrorKind;
use tecken_core::ObjectKey;
use tecken_core::{
    BodyMode, ChainStore, Download, DownloadRequest, HttpConfig, HttpLayout, HttpStore, LocalStore,
    Storage, SymbolStore,
};

/// What the server answers for a path.
#[derive(Clone)]
enum Reply {
    Ok {
        body: Vec<u8>,
        gzip: bool,
    },
    Redirect(String),
    Status(u16),
    /// Fail with this status `n` times, then answer the inner reply.
    Flaky(u16, usize, Box<Reply>),
    Slow(Duration, Box<Reply>),
}

struct Server {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

fn serve(routes: HashMap<String, Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let routes = Arc::new(Mutex::new(routes));
    let counters: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (routes, counters, hits) = (routes.clone(), counters.clone(), h.clone());
            std::thread::spawn(move || handle(stream, &routes, &counters, &hits));
        }
    });
    Server { base, hits }
}

fn handle(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    counters: &Mutex<HashMap<String, usize>>,
    hits: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut range: Option<usize> = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=0-") {
                range = v.trim().parse::<usize>().ok().map(|n| n + 1);
            }
        }
        hits.lock().unwrap().push(format!("{method} {path}"));
        let mut reply = routes
            .lock()
            .unwrap()
            .get(&path)
            .cloned()
            .unwrap_or(Reply::Status(404));
        loop {
            match reply {
                Reply::Flaky(status, n, inner) => {
                    let mut c = counters.lock().unwrap();
                    let seen = c.entry(path.clone()).or_insert(0);
                    *seen += 1;
                    reply = if *seen <= n {
                        Reply::Status(status)
                    } else {
                        *inner
                    };
                }
                Reply::Slow(d, inner) => {
                    std::thread::sleep(d);
                    reply = *inner;
                }
                _ => break,
            }
        }
        let (status, headers, body): (u16, Vec<String>, Vec<u8>) = match reply {
            Reply::Ok { body, gzip } => {
                let mut headers = vec![];
                if gzip {
                    headers.push("Content-Encoding: gzip".to_owned());
                }
                match range {
                    Some(n) if n < body.len() => (206, headers, body[..n].to_vec()),
                    _ => (200, headers, body),
                }
            }
            Reply::Redirect(to) => (302, vec![format!("Location: {to}")], Vec::new()),
            Reply::Status(s) => (s, vec![], format!("status {s}").into_bytes()),
            _ => unreachable!(),
        };
        let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for h in headers {
            out.push_str(&h);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if method != "HEAD" {
            bytes.extend_from_slice(&body);
        }
        if stream.write_all(&bytes).is_err() {
            return;
        }
    }
}

const SYM: &[u8] = b"MODULE windows x86_64 0185139C8F04FFC94C4C44205044422E1 xul.pdb\nINFO CODE_ID 60533C886EFD000 xul.dll\nFUNC 0 10 0 f\n";

fn tecken_routes() -> HashMap<String, Reply> {
    let gz = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(SYM).unwrap();
        enc.finish().unwrap()
    };
    let mut r = HashMap::new();
    // Tecken answers downloads with a redirect to the bucket, which serves gzip.
    r.insert(
        "/xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym".into(),
        Reply::Redirect("/bucket/v1/xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym".into()),
    );
    r.insert(
        "/bucket/v1/xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym".into(),
        Reply::Ok {
            body: gz,
            gzip: true,
        },
    );
    // A code-id URL redirects to the debug-id URL.
    r.insert(
        "/xul.dll/60533C886EFD000/xul.sym".into(),
        Reply::Redirect("/xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym".into()),
    );
    // A plain .sym, and one only in Try.
    r.insert(
        "/plain.pdb/AB/plain.sym".into(),
        Reply::Ok {
            body: b"MODULE windows x86 AB plain.pdb\n".to_vec(),
            gzip: false,
        },
    );
    r.insert(
        "/try/tryonly.pdb/CD/tryonly.sym".into(),
        Reply::Ok {
            body: b"MODULE windows x86 CD tryonly.pdb\n".to_vec(),
            gzip: false,
        },
    );
    r.insert("/broken.pdb/AB/broken.sym".into(), Reply::Status(500));
    r.insert("/forbidden.pdb/AB/forbidden.sym".into(), Reply::Status(403));
    r.insert(
        "/flaky.pdb/AB/flaky.sym".into(),
        Reply::Flaky(
            503,
            2,
            Box::new(Reply::Ok {
                body: b"MODULE w x86 AB flaky.pdb\n".to_vec(),
                gzip: false,
            }),
        ),
    );
    r.insert(
        "/limited.pdb/AB/limited.sym".into(),
        Reply::Flaky(
            429,
            1,
            Box::new(Reply::Ok {
                body: b"MODULE w x86 AB limited.pdb\n".to_vec(),
                gzip: false,
            }),
        ),
    );
    r.insert(
        "/slow.pdb/AB/slow.sym".into(),
        Reply::Slow(
            Duration::from_secs(3),
            Box::new(Reply::Ok {
                body: b"late".to_vec(),
                gzip: false,
            }),
        ),
    );
    r.insert(
        "/loop.pdb/AB/loop.sym".into(),
        Reply::Redirect("/loop.pdb/AB/loop.sym".into()),
    );
    r
}

fn config(base: &str) -> HttpConfig {
    HttpConfig {
        backoff: Duration::from_millis(10),
        timeout: Duration::from_millis(800),
        ..HttpConfig::new(base)
    }
}

fn key(s: &str) -> ObjectKey {
    ObjectKey::parse(s).unwrap()
}

#[test]
fn follows_redirects_and_decompresses() {
    let server = serve(tecken_routes());
    let store = SymbolStore::new(HttpStore::new(config(&server.base)).unwrap());
    let k = key("xul.pdb/0185139c8f04ffc94c4c44205044422e1/xul.sym");
    assert_eq!(store.get(&k, false).unwrap().unwrap(), SYM);
    // Stored form for a proxy: the gzip as the bucket sent it.
    let req = DownloadRequest {
        body: BodyMode::Stored,
        ..DownloadRequest::new("xul.pdb", "0185139C8F04FFC94C4C44205044422E1", "xul.sym")
    };
    match store.download(&req).unwrap() {
        Download::Found(f) => {
            assert_eq!(f.content_encoding.as_deref(), Some("gzip"));
            assert_eq!(&f.body.unwrap()[..2], b"\x1f\x8b");
        }
        other => panic!("{other:?}"),
    }
    // Streamed: the response body read in chunks, decompressed as it is read.
    for (mode, gzip) in [
        (BodyMode::DecodedStream, false),
        (BodyMode::StoredStream, true),
    ] {
        let req = DownloadRequest {
            body: mode,
            ..req.clone()
        };
        let Download::Found(f) = store.download(&req).unwrap() else {
            panic!("{mode:?}")
        };
        assert_eq!(f.content_encoding.is_some(), gzip);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut f.stream.unwrap().reader, &mut out).unwrap();
        if gzip {
            assert_eq!(&out[..2], b"\x1f\x8b");
        } else {
            assert_eq!(out, SYM);
        }
    }
    // A code-id URL works through Tecken's own redirect.
    assert_eq!(
        store
            .get(&key("xul.dll/60533C886EFD000/xul.sym"), false)
            .unwrap()
            .unwrap(),
        SYM
    );
    // Plain .sym files are fine too; the header is read with a ranged request.
    assert_eq!(
        store
            .get(&key("plain.pdb/AB/plain.sym"), false)
            .unwrap()
            .unwrap(),
        b"MODULE windows x86 AB plain.pdb\n"
    );
    let h = store
        .read_sym_header(&k, tecken_core::Area::Regular)
        .unwrap()
        .unwrap();
    assert_eq!(h.code_id.unwrap().file.as_deref(), Some("xul.dll"));
    // As a symbolicator source.
    let source = SymbolStore::new(HttpStore::new(config(&server.base)).unwrap());
    let s = tecken_core::Symbolicator::new(vec![source], Default::default());
    let m = s
        .get("xul.pdb", "0185139c8f04ffc94c4c44205044422e1")
        .unwrap()
        .expect("the module is found over HTTP");
    assert_eq!(m.index.lookup(0x5).unwrap().function, "f");
}

#[test]
fn not_found_is_final_and_try_is_searched_after_regular() {
    let server = serve(tecken_routes());
    let store = SymbolStore::new(HttpStore::new(config(&server.base)).unwrap());
    assert!(store
        .get(&key("missing.pdb/AB/missing.sym"), false)
        .unwrap()
        .is_none());
    let k = key("tryonly.pdb/CD/tryonly.sym");
    assert!(store.get(&k, false).unwrap().is_none());
    assert!(store.get(&k, true).unwrap().is_some());
    let hits = server.hits.lock().unwrap().clone();
    let order: Vec<&String> = hits.iter().filter(|h| h.contains("tryonly")).collect();
    assert_eq!(
        order,
        [
            "GET /tryonly.pdb/CD/tryonly.sym",
            "GET /tryonly.pdb/CD/tryonly.sym",
            "GET /try/tryonly.pdb/CD/tryonly.sym"
        ]
    );
    // A 404 is not retried.
    assert_eq!(hits.iter().filter(|h| h.contains("missing")).count(), 1);
}

#[test]
fn server_errors_are_retried_then_reported_never_not_found() {
    let server = serve(tecken_routes());
    let store = SymbolStore::new(HttpStore::new(config(&server.base)).unwrap());
    let e = store
        .get(&key("broken.pdb/AB/broken.sym"), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    let tries = server
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.contains("broken"))
        .count();
    assert_eq!(tries, 4, "the first attempt and 3 retries");
    // 403 is an error at once.
    assert_eq!(
        store
            .get(&key("forbidden.pdb/AB/forbidden.sym"), false)
            .unwrap_err()
            .kind(),
        ErrorKind::Storage
    );
    // 503 twice then 200, and 429 once then 200: retried with backoff until it works.
    assert!(store
        .get(&key("flaky.pdb/AB/flaky.sym"), false)
        .unwrap()
        .is_some());
    assert!(store
        .get(&key("limited.pdb/AB/limited.sym"), false)
        .unwrap()
        .is_some());
    // Redirect loops end.
    assert_eq!(
        store
            .get(&key("loop.pdb/AB/loop.sym"), false)
            .unwrap_err()
            .kind(),
        ErrorKind::Storage
    );
    // Through download(): an error, not Download::NotFound.
    assert!(store
        .download(&DownloadRequest::new("broken.pdb", "AB", "broken.sym"))
        .is_err());
}

#[test]
fn timeouts_are_errors() {
    let server = serve(tecken_routes());
    let cfg = HttpConfig {
        retries: 1,
        timeout: Duration::from_millis(300),
        backoff: Duration::from_millis(10),
        ..HttpConfig::new(&server.base)
    };
    let store = HttpStore::new(cfg).unwrap();
    let started = Instant::now();
    let e = store.get("v1/slow.pdb/AB/slow.sym").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn connection_refused_is_retried_then_an_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed again
    let store = HttpStore::new(config(&format!("http://127.0.0.1:{port}"))).unwrap();
    assert_eq!(
        store.head("v1/a/AB/a.sym").unwrap_err().kind(),
        ErrorKind::Storage
    );
}

#[test]
fn read_only_and_chained_behind_a_local_cache() {
    let server = serve(tecken_routes());
    let http = HttpStore::new(config(&server.base)).unwrap();
    assert_eq!(
        http.put("v1/a/AB/a.sym", &tecken_core::PutObject::raw(b"x"))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::new(dir.path()).unwrap();
    let chain = ChainStore::new(vec![Arc::new(local), Arc::new(http)]);
    let store = SymbolStore::new(chain);
    // The local copy answers first...
    store
        .put_file(
            &key("plain.pdb/AB/plain.sym"),
            tecken_core::Area::Regular,
            b"MODULE local copy\n",
        )
        .unwrap();
    assert_eq!(
        store
            .get(&key("plain.pdb/AB/plain.sym"), false)
            .unwrap()
            .unwrap(),
        b"MODULE local copy\n"
    );
    // ...then HTTP.
    assert_eq!(
        store
            .get(
                &key("xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym"),
                false
            )
            .unwrap()
            .unwrap(),
        SYM
    );
    assert!(!server
        .hits
        .lock()
        .unwrap()
        .iter()
        .any(|h| h.contains("plain")));
    // A failing member with no answer elsewhere is an error, not "not found".
    assert_eq!(
        store
            .get(&key("broken.pdb/AB/broken.sym"), false)
            .unwrap_err()
            .kind(),
        ErrorKind::Storage
    );
}

#[test]
fn bucket_layout() {
    let mut routes = HashMap::new();
    routes.insert(
        "/bucket/v1/a.pdb/AB/a.sym".to_owned(),
        Reply::Ok {
            body: b"MODULE w x86 AB a.pdb\n".to_vec(),
            gzip: false,
        },
    );
    let server = serve(routes);
    let store = HttpStore::new(HttpConfig {
        layout: HttpLayout::Bucket,
        ..config(&format!("{}/bucket/", server.base))
    })
    .unwrap();
    assert!(store.get("v1/a.pdb/AB/a.sym").unwrap().is_some());
}
