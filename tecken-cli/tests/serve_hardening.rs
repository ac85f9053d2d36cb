//! `tecken serve` against hostile or broken clients: each test pins one way a client could
//! hurt the server or other clients (memory held by stalled readers, dripped bodies,
//! connection floods, stalled uploads, odd request targets, lying headers), or one way an
//! answer could say too much (server paths), or a leftover of a killed server.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use tecken_core::{Area, ObjectKey};
use tecken_core::{StoreOptions, SymbolStore};

const XUL_PE: &str = "eliot/xul-pe.0185139C8F04FFC94C4C44205044422E1.sym";
const XUL_ID: &str = "0185139C8F04FFC94C4C44205044422E1";
const XUL_KEY: &str = "xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym";

fn xul_sym() -> Vec<u8> {
    std::fs::read(fixtures().join(XUL_PE)).unwrap()
}

/// A store directory holding `xul.sym` (gzipped, as uploads store it).
fn xul_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    SymbolStore::local(dir.path())
        .unwrap()
        .put_file(
            &ObjectKey::new("xul.pdb", XUL_ID, "xul.sym").unwrap(),
            Area::Regular,
            &xul_sym(),
        )
        .unwrap();
    dir
}

/// Reads from `s` until the end of the response headers; returns them.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed before the headers");
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads until the connection ends; `Ok(bytes)` for an end (EOF or reset), `Err` when the
/// read timeout passed first (the server kept the connection).
fn read_until_closed(s: &mut TcpStream) -> Result<usize, std::io::Error> {
    let mut total = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(total),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// File descriptors of process `pid` open on `path`.
fn fds_on(pid: u32, path: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == path))
        .count()
}

/// A `.sym` of about `n` bytes (many FUNC lines).
fn big_sym(n: usize) -> Vec<u8> {
    tecken_testutil::sym_of_len(&format!("MODULE windows x86_64 {XUL_ID} big.pdb"), n)
}

#[test]
fn stalled_downloads_of_a_large_file_hold_bounded_memory_and_are_closed_after_the_write_timeout() {
    const SIZE: usize = 32 << 20;
    const STALLED: usize = 8;
    let store = tempfile::tempdir().unwrap();
    SymbolStore::local(store.path())
        .unwrap()
        .with_options(StoreOptions {
            gzip_level: 1,
            ..StoreOptions::default()
        })
        .put_file(
            &ObjectKey::new("big.pdb", XUL_ID, "big.sym").unwrap(),
            Area::Regular,
            &big_sym(SIZE),
        )
        .unwrap();
    let file =
        std::fs::canonicalize(store.path().join(format!("v1/big.pdb/{XUL_ID}/big.sym"))).unwrap();
    let root = store.path().to_str().unwrap().to_owned();
    let server = Server::start_with(
        &["--symbols", &root, "--timeout", "3", "--quiet"],
        vec![store],
    );
    // Warm up (the first requests map code and grow the runtime), then the baseline.
    for _ in 0..3 {
        assert_eq!(get(&server.url("/__lbheartbeat__")).status, 200);
    }
    assert_eq!(
        head(&server.url(&format!("/big.pdb/{XUL_ID}/big.sym"))).status,
        200
    );
    let base = server.status_kib("VmRSS");

    // Clients that ask for the whole decompressed file and read only the headers.
    let mut clients: Vec<TcpStream> = (0..STALLED)
        .map(|_| {
            let mut s = TcpStream::connect(server.host()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            write!(
                s,
                "GET /big.pdb/{XUL_ID}/big.sym HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            .unwrap();
            s
        })
        .collect();
    for s in &mut clients {
        let head = read_head(s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    // Let the server fill what it will (socket buffers, its own buffers).
    std::thread::sleep(Duration::from_millis(500));
    let held = server.status_kib("VmRSS").saturating_sub(base);
    let files_open = fds_on(server.pid(), &file);
    eprintln!(
        "{STALLED} stalled GETs of a {} MiB file: server RSS +{held} KiB, {files_open} open",
        SIZE >> 20
    );
    // A whole decompressed copy per client would be STALLED x 32 MiB = 256 MiB.
    assert!(
        held < 64 << 10,
        "{STALLED} stalled GETs of a {} MiB file hold {} MiB",
        SIZE >> 20,
        held >> 10
    );

    // The write timeout closes each connection and releases the file (the clients still
    // read nothing)...
    assert!(files_open > 0, "the downloads did not stream from the file");
    let start = Instant::now();
    while fds_on(server.pid(), &file) > 0 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        fds_on(server.pid(), &file),
        0,
        "the file stays open past the write timeout"
    );
    // ...so each client sees the end of what the sockets held, then EOF or a reset (not
    // its own read timeout), short of the whole file.
    for s in &mut clients {
        let got = read_until_closed(s).expect("the server kept a stalled connection");
        assert!(
            got < SIZE,
            "the whole file was sent to a client that read nothing"
        );
    }
    // And the server still serves.
    assert_eq!(get(&server.url("/__lbheartbeat__")).status, 200);
}

#[test]
fn a_body_dripped_a_byte_at_a_time_is_cut_off_by_the_request_deadline() {
    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(
        &[
            "--symbols",
            &root,
            "--timeout",
            "5",
            "--request-timeout",
            "2",
            "--quiet",
        ],
        vec![tree],
    );
    let mut s = TcpStream::connect(server.host()).unwrap();
    s.write_all(b"POST /symbolicate/v5 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
        .unwrap();
    // One byte every 100 ms: never idle for the 5 s piece timeout, done after 10,000 s.
    let mut dripper = s.try_clone().unwrap();
    std::thread::spawn(move || {
        while dripper.write_all(b" ").is_ok() {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    while !resp.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => resp.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer to a dripped body: {e}"),
        }
    }
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
}

#[test]
fn beyond_max_connections_a_new_connection_gets_a_503_and_is_served_once_others_close() {
    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(
        &["--symbols", &root, "--max-connections", "4", "--quiet"],
        vec![tree],
    );
    // Four keep-alive connections, each answered once (so each is surely accepted).
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(server.host()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s.write_all(b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let head = read_head(&mut s);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            s
        })
        .collect();
    let r = raw(
        server.host(),
        "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    let lower = r.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: "), "{r}");
    assert!(lower.contains("\r\nconnection: close"), "{r}");
    assert!(
        r.ends_with("Too many connections; try again soon.\n"),
        "{r}"
    );

    // One closes; a new connection is served (once the server saw the close).
    drop(held.pop());
    let start = Instant::now();
    loop {
        let r = raw(
            server.host(),
            "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if r.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(r.starts_with("HTTP/1.1 503"), "{r}");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a slot never came back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stalled_uploads_do_not_starve_heartbeat_downloads_or_cold_symbolication() {
    let (server, _root) = upload_server_in(
        xul_store(),
        &["--blocking-threads", "4", "--max-uploads", "2"],
        false,
    );
    // More stalled uploads than blocking threads.
    let mut stalled: Vec<TcpStream> = (0..6).map(|_| stalled_upload(server.host())).collect();
    std::thread::sleep(Duration::from_millis(300));

    // Everything else still answers, within the client's own timeout.
    let client = agent_with_timeout(5);
    let r = got(client.get(&server.url("/__heartbeat__")).call().unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    let r = got(client
        .head(&server.url(&format!("/{XUL_KEY}")))
        .call()
        .unwrap());
    assert_eq!(r.status, 200);
    let r = got(client
        .get(&server.url(&format!("/{XUL_KEY}")))
        .call()
        .unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(r.body, xul_sym());
    let v5 = format!(r#"{{"stacks": [[[0, 21376]]], "memoryMap": [["xul.pdb", "{XUL_ID}"]]}}"#);
    let r = got(client
        .post(&server.url("/symbolicate/v5"))
        .send(v5.as_bytes())
        .unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains(&format!(r#""xul.pdb/{XUL_ID}": true"#)),
        "{}",
        r.text()
    );

    // The uploads beyond --max-uploads were told to come back later.
    let mut busy = 0;
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = s.read(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            if text.starts_with("http/1.1 503") {
                assert!(text.contains("retry-after: "), "{text}");
                busy += 1;
            }
        }
    }
    assert_eq!(busy, 4);
}

#[test]
fn connect_and_odd_request_targets_are_answered_without_a_panic() {
    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_logged(&["--symbols", &root], vec![tree]);
    let r = raw(
        server.host(),
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    let r = raw(
        server.host(),
        "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // Absolute form: served as its path.
    let r = raw(
        server.host(),
        &format!("GET http://evil.example/{XUL_KEY} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    for method in ["TRACE", "PATCH", "BREW", "DELETE"] {
        let r = raw(
            server.host(),
            &format!("{method} /{XUL_KEY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(r.starts_with("HTTP/1.1 405"), "{method}: {r}");
        let r = raw(
            server.host(),
            &format!("{method} /api/syminfo/xul.pdb/{XUL_ID} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(r.starts_with("HTTP/1.1 405"), "{method}: {r}");
    }
    let log = server.log();
    assert!(!log.contains("event=panic"), "{log}");
    assert!(!log.contains("status=500"), "{log}");
}

#[test]
fn accept_encoding_gzip_with_quality_zero_gets_the_plain_file() {
    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(&["--symbols", &root, "--quiet"], vec![tree]);
    let url = server.url(&format!("/{XUL_KEY}"));
    for (ae, gzip) in [
        ("gzip;q=0", false),
        ("*, gzip;q=0", false),
        ("identity, gzip;q=0.0", false),
        ("gzip", true),
        ("br;q=1.0, gzip;q=0.5", true),
    ] {
        let r = got(agent()
            .get(&url)
            .header("Accept-Encoding", ae)
            .call()
            .unwrap());
        assert_eq!(r.status, 200, "{ae}");
        if gzip {
            assert_eq!(r.header("content-encoding"), Some("gzip"), "{ae}");
            assert_eq!(&r.body[..2], b"\x1f\x8b", "{ae}");
        } else {
            assert_eq!(r.header("content-encoding"), None, "{ae}");
            assert_eq!(r.body, xul_sym(), "{ae}");
        }
    }
}

#[test]
fn syminfo_urls_never_come_from_a_hostile_host_header() {
    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(&["--symbols", &root, "--quiet"], vec![tree]);
    let request = format!(
        "GET /api/syminfo/xul.pdb/{XUL_ID} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    );
    let r = raw(server.host(), &request);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(!r.contains("evil.example"), "{r}");
    assert!(
        r.contains(&format!(r#""url": "{}/{XUL_KEY}""#, server.addr)),
        "{r}"
    );

    let tree = xul_store();
    let root = tree.path().to_str().unwrap().to_owned();
    let server = Server::start_with(
        &[
            "--symbols",
            &root,
            "--public-url",
            "https://symbols.example.com/",
            "--quiet",
        ],
        vec![tree],
    );
    let r = raw(server.host(), &request);
    assert!(
        r.contains(&format!(
            r#""url": "https://symbols.example.com/{XUL_KEY}""#
        )),
        "{r}"
    );
    assert!(!r.contains("evil.example"), "{r}");

    // Only an http(s) base is a public URL.
    let out = std::process::Command::new(tecken_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--symbols", &root])
        .args(["--public-url", "javascript:alert(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The store's path as given and as the kernel names it.
fn paths_of(dir: &Path) -> [String; 2] {
    [
        dir.to_str().unwrap().to_owned(),
        std::fs::canonicalize(dir)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned(),
    ]
}

#[test]
fn answers_never_show_server_paths() {
    let store = tempfile::tempdir().unwrap();
    let secret = paths_of(store.path());
    let (server, root) = upload_server_in(store, &[], true);
    let shows = |body: &str| secret.iter().any(|p| body.contains(p.as_str()));

    // A successful upload names the store without its path.
    let zip = make_zip(&[(XUL_KEY, &xul_sym())]);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("x.zip", Some("x.zip"), &zip)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(!shows(&r.text()), "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["upload"]["bucket"], "local");

    // A member whose file name is 255 bytes (longer than some file systems allow with the
    // store's temporary-name suffix): whatever the answer, no path in it.
    let long = format!("{}.pdb", "a".repeat(251));
    let member = format!("{long}/{XUL_ID}/{}", "b".repeat(251) + ".sym");
    let sym = xul_sym();
    let zip = make_zip(&[(member.as_str(), &sym)]);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("x.zip", Some("x.zip"), &zip)],
    );
    assert!(!shows(&r.text()), "{}: {}", r.status, r.text());

    // A forced storage error: a directory of the key is a symbolic link loop.
    let loop_dir = root.join("v1/loop.pdb");
    std::os::unix::fs::symlink(&loop_dir, &loop_dir).unwrap();
    let r = get(&server.url("/loop.pdb/ABCDEF0123456789ABCDEF0123456789A/loop.sym"));
    assert!(r.status >= 500, "{}: {}", r.status, r.text());
    assert!(!shows(&r.text()), "{}", r.text());
    assert_eq!(r.text(), "Storage error");
    let r = get(&server.url("/api/syminfo/loop.pdb/ABCDEF0123456789ABCDEF0123456789A"));
    assert!(r.status >= 500, "{}: {}", r.status, r.text());
    assert!(!shows(&r.text()), "{}", r.text());
    let zip = make_zip(&[("loop.pdb/ABCDEF0123456789ABCDEF0123456789A/loop.sym", &sym)]);
    let r = upload(
        &server,
        Some("uploader-token-1"),
        &[("x.zip", Some("x.zip"), &zip)],
    );
    assert!(!shows(&r.text()), "{}: {}", r.status, r.text());

    // The log has the whole story (the store names the key, and the OS error).
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("path=/loop.pdb/")
            && l.contains("error=")
            && l.contains("v1/loop.pdb/ABCDEF0123456789ABCDEF0123456789A/loop.sym")
            && l.contains("symbolic links")),
        "{log}"
    );
}

#[test]
fn spool_files_left_by_a_killed_server_are_removed_at_start_up() {
    let cache = tempfile::tempdir().unwrap();
    let spool_dir = cache.path().join("uploads");
    let cache_arg = cache.path().to_str().unwrap().to_owned();
    let (server, _root) = upload_server(&["--cache", &cache_arg]);
    let _stalled = stalled_upload(server.host());
    let start = Instant::now();
    let spooled = loop {
        let files: Vec<_> = std::fs::read_dir(&spool_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if let Some(f) = files
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "zip"))
        {
            break f;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no spool file");
        std::thread::sleep(Duration::from_millis(20));
    };
    // kill -9: the server cannot clean up.
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(spooled.exists());
    // A spool file of another live server sharing the cache (held under its lock) and a
    // file that is not a spool file.
    let live = spool_dir.join("tecken-spool-0000000000000000.zip");
    let live_file = std::fs::File::create(&live).unwrap();
    live_file.lock().unwrap();
    let other = spool_dir.join("notes.txt");
    std::fs::write(&other, b"mine").unwrap();

    let (_server, _root) = upload_server(&["--cache", &cache_arg]);
    assert!(!spooled.exists(), "{} is still there", spooled.display());
    assert!(live.exists(), "a live spool file was removed");
    assert!(other.exists());
    drop(live_file);
}
