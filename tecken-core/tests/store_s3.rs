//! The S3 backend against a real S3-compatible server (moto's, on 127.0.0.1).
//!
//! Start it with `eval "$(scripts/s3-server.sh start)"`, which sets
//! `TECKEN_TEST_S3_ENDPOINT`. Without that variable every test here says it was skipped and
//! passes. The fault test starts a second, private server through the same script so that
//! killing it does not disturb the others.
#![cfg(feature = "s3")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tecken_core::ErrorKind;
use tecken_core::{upload_archive_bytes, upload_archive_path, UploadOptions};
use tecken_core::{Area, ObjectKey};
use tecken_core::{Download, DownloadRequest, PutObject, S3Config, S3Store, Storage, SymbolStore};

fn endpoint() -> Option<String> {
    match std::env::var("TECKEN_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            eprintln!(
                "skipped: TECKEN_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"
            );
            None
        }
    }
}

static N: AtomicU32 = AtomicU32::new(0);

fn config(endpoint: &str, prefix: &str) -> S3Config {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut c = S3Config::new(&format!(
        "tecken-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    c.prefix = prefix.to_owned();
    c.endpoint_url = Some(endpoint.to_owned());
    c.region = Some("us-east-1".to_owned());
    c.access_key_id = Some("testing".to_owned());
    c.secret_access_key = Some("testing".to_owned());
    c.timeout = Duration::from_secs(20);
    c
}

fn s3(endpoint: &str) -> S3Store {
    let s = S3Store::new(config(endpoint, "")).unwrap();
    s.create_bucket_if_missing().unwrap();
    s
}

fn fixture(name: &str) -> PathBuf {
    tecken_testutil::tecken_fixtures().join(name)
}

/// A zip of owned `(name, bytes)` members.
fn make_zip(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let members: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect();
    tecken_testutil::make_zip(&members)
}

#[test]
fn objects_round_trip_with_tecken_metadata() {
    let Some(ep) = endpoint() else { return };
    let s3 = s3(&ep);
    assert_eq!(s3.head("v1/a.pdb/AB/a.sym").unwrap(), None);
    assert!(s3.get("v1/a.pdb/AB/a.sym").unwrap().is_none());
    let store = SymbolStore::new(s3);
    let key = ObjectKey::new("a.pdb", "ab", "a.sym").unwrap();
    let sym = b"MODULE windows x86 AB a.pdb\nINFO CODE_ID 5F a.dll\nFUNC 0 1 0 f\n".repeat(50);
    let enc = store.put_file(&key, Area::Regular, &sym).unwrap();
    let meta = store.storage().head("v1/a.pdb/AB/a.sym").unwrap().unwrap();
    assert_eq!(meta.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.original_size, Some(sym.len() as u64));
    assert_eq!(
        meta.original_md5.as_deref(),
        Some(enc.original_md5.as_str())
    );
    assert!(meta.size < sym.len() as u64);
    assert_eq!(store.get(&key, false).unwrap().unwrap(), sym);
    // A stored gzip for a proxy, and a ranged read.
    match store
        .download(&DownloadRequest {
            body: tecken_core::BodyMode::Stored,
            ..DownloadRequest::new("a.pdb", "AB", "a.sym")
        })
        .unwrap()
    {
        Download::Found(f) => {
            assert_eq!(f.content_encoding.as_deref(), Some("gzip"));
            assert_eq!(&f.body.unwrap()[..2], b"\x1f\x8b");
        }
        other => panic!("{other:?}"),
    }
    // Streamed: the body read chunk by chunk on the store's runtime.
    match store
        .download(&DownloadRequest {
            body: tecken_core::BodyMode::DecodedStream,
            ..DownloadRequest::new("a.pdb", "AB", "a.sym")
        })
        .unwrap()
    {
        Download::Found(f) => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut f.stream.unwrap().reader, &mut out).unwrap();
            assert_eq!(out, sym);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .storage()
            .get_prefix("v1/a.pdb/AB/a.sym", 2)
            .unwrap()
            .unwrap(),
        b"\x1f\x8b"
    );

    // A plain .sym stored by another tool reads too; raw files are served as stored.
    store
        .storage()
        .put(
            "v1/b.pdb/CD/b.sym",
            &PutObject::raw(b"MODULE windows x86 CD b.pdb\n"),
        )
        .unwrap();
    assert_eq!(
        store
            .get(&ObjectKey::parse("b.pdb/CD/b.sym").unwrap(), false)
            .unwrap()
            .unwrap(),
        b"MODULE windows x86 CD b.pdb\n"
    );
    store
        .storage()
        .put("v1/s/AB/s.dbg.gz", &PutObject::raw(b"\x1f\x8bnot decoded"))
        .unwrap();
    assert_eq!(
        store
            .get(&ObjectKey::parse("s/AB/s.dbg.gz").unwrap(), false)
            .unwrap()
            .unwrap(),
        b"\x1f\x8bnot decoded"
    );
    // Raw objects expose their ETag MD5.
    assert_eq!(
        store
            .storage()
            .content_md5("v1/s/AB/s.dbg.gz")
            .unwrap()
            .unwrap()
            .len(),
        32
    );

    let mut keys = Vec::new();
    store
        .storage()
        .list("v1/", &mut |k, _| {
            keys.push(k.to_owned());
            Ok(())
        })
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        ["v1/a.pdb/AB/a.sym", "v1/b.pdb/CD/b.sym", "v1/s/AB/s.dbg.gz"]
    );
    // Traversal never reaches the server.
    assert_eq!(
        store.storage().get("v1/../../x").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn upload_dedup_code_ids_and_symbol_source() {
    let Some(ep) = endpoint() else { return };
    let store = SymbolStore::new(s3(&ep));
    let r = upload_archive_path(
        &store,
        &fixture("zips/sample.zip"),
        &UploadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.uploaded.len(), 2);
    assert!(r.symbols[0].module_mismatch.is_some());
    let again = upload_archive_path(
        &store,
        &fixture("zips/sample.zip"),
        &UploadOptions::default(),
    )
    .unwrap();
    assert_eq!((again.uploaded.len(), again.skipped.len()), (0, 2));

    let pe = std::fs::read(fixture(
        "eliot/xul-pe.0185139C8F04FFC94C4C44205044422E1.sym",
    ))
    .unwrap();
    let zip = make_zip(&[(
        "xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym".to_owned(),
        pe.clone(),
    )]);
    upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions {
            try_symbols: true,
            ..UploadOptions::default()
        },
    )
    .unwrap();
    match store
        .download(&DownloadRequest::new(
            "xul.dll",
            "60533C886EFD000",
            "xul.sym",
        ))
        .unwrap()
    {
        Download::Redirect(k) => assert_eq!(
            k.path(),
            "xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym"
        ),
        other => panic!("{other:?}"),
    }
    // As a symbolicator source: Try is searched after the regular area.
    let s = tecken_core::Symbolicator::new(vec![store.clone()], Default::default());
    let m = s
        .get("xul.pdb", "0185139c8f04ffc94c4c44205044422e1")
        .unwrap()
        .expect("the module is found in the Try area");
    assert_eq!(
        m.index.header().debug_id,
        "0185139C8F04FFC94C4C44205044422E1"
    );
    // Rebuilding the index from the bucket finds the same entry.
    let report = store.rebuild_code_index().unwrap();
    assert_eq!((report.sym_files, report.entries), (2, 1));
    assert_eq!(
        store.list_code_ids().unwrap(),
        ["codeid/xul.dll/60533C886EFD000"]
    );
}

#[test]
fn prefix_inside_the_bucket() {
    let Some(ep) = endpoint() else { return };
    let s = S3Store::new(config(&ep, "some/prefix")).unwrap();
    s.create_bucket_if_missing().unwrap();
    s.put("v1/a/B/c.pd_", &PutObject::raw(b"x")).unwrap();
    assert!(s.head("v1/a/B/c.pd_").unwrap().is_some());
    let mut keys = Vec::new();
    s.list("", &mut |k, _| {
        keys.push(k.to_owned());
        Ok(())
    })
    .unwrap();
    assert_eq!(keys, ["v1/a/B/c.pd_"]);
    // Seen from the bucket root, it is under the prefix.
    let root = S3Store::new(S3Config {
        prefix: String::new(),
        ..s.config().clone()
    })
    .unwrap();
    assert!(root.head("some/prefix/v1/a/B/c.pd_").unwrap().is_some());
}

#[test]
fn configuration_from_the_aws_environment() {
    let Some(ep) = endpoint() else { return };
    let explicit = s3(&ep);
    // Everything from the usual variables; nothing explicit.
    std::env::set_var("AWS_ENDPOINT_URL_S3", &ep);
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    let from_env = S3Store::new(S3Config::new(&explicit.config().bucket)).unwrap();
    explicit
        .put("v1/e/AB/e.pd_", &PutObject::raw(b"env"))
        .unwrap();
    assert_eq!(from_env.get("v1/e/AB/e.pd_").unwrap().unwrap().body, b"env");
}

#[cfg(unix)]
#[test]
fn the_client_works_after_fork() {
    let Some(ep) = endpoint() else { return };
    let s = s3(&ep);
    s.put("v1/f/AB/f.pd_", &PutObject::raw(b"before fork"))
        .unwrap(); // runtime started
                   // SAFETY: the child only uses the store (which rebuilds its runtime) and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.put("v1/f/AB/g.pd_", &PutObject::raw(b"from child"))
                .is_ok()
                && s.get("v1/f/AB/f.pd_").ok().flatten().map(|o| o.body)
                    == Some(b"before fork".to_vec())
        }))
        .unwrap_or(false);
        // SAFETY: terminating the forked child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child hung after fork");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status}"
    );
    assert_eq!(s.get("v1/f/AB/g.pd_").unwrap().unwrap().body, b"from child");
    // And the parent's own runtime still works.
    assert!(s.head("v1/f/AB/f.pd_").unwrap().is_some());
}

fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/s3-server.sh")
}

fn server(cmd: &str, port: u16) -> bool {
    Command::new("bash")
        .arg(server_script())
        .args([cmd, "--port", &port.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn server_killed_during_an_upload_then_restarted_and_retried() {
    let Some(_) = endpoint() else { return };
    let port = 20000 + (std::process::id() % 20000) as u16;
    assert!(
        server("start", port),
        "could not start a private S3 server on port {port}"
    );
    let ep = format!("http://127.0.0.1:{port}");
    let mut cfg = config(&ep, "");
    cfg.max_attempts = 2;
    cfg.timeout = Duration::from_secs(5);
    cfg.connect_timeout = Duration::from_secs(1);
    let s = S3Store::new(cfg).unwrap();
    s.create_bucket_if_missing().unwrap();
    let store = SymbolStore::new(s);

    let members: Vec<(String, Vec<u8>)> = (0..120)
        .map(|i| {
            let body = format!("MODULE Linux x86_64 {i:X}0 lib{i}.so\n")
                + &format!("FUNC {i:x} 10 0 function_{i}\n").repeat(6000);
            (format!("lib{i}.so/{i:X}0/lib{i}.so.sym"), body.into_bytes())
        })
        .collect();
    let zip = make_zip(&members);
    let opts = UploadOptions {
        threads: 4,
        ..UploadOptions::default()
    };

    let killed = std::thread::scope(|scope| {
        let killer = scope.spawn(|| {
            // Kill the server once a few objects are in.
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                let mut n = 0;
                let _ = store.storage().list("v1/", &mut |_, _| {
                    n += 1;
                    Ok(())
                });
                if n >= 5 {
                    return server("kill", port);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        });
        let result = upload_archive_bytes(&store, &zip, &opts);
        let killed = killer.join().unwrap();
        if killed {
            let err = result.expect_err("the upload cannot succeed once the server is gone");
            assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
            // A dead server is an error, never "not found".
            let e = store
                .exists(&ObjectKey::parse(&members[0].0).unwrap(), false)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Storage);
        }
        killed
    });
    assert!(
        killed,
        "the upload finished before the server could be killed"
    );

    // Restart (moto keeps objects in memory: the bucket must be made again) and retry.
    assert!(server("start", port));
    let mut c = config(&ep, "");
    c.bucket = bucket_of(&store);
    S3Store::new(c).unwrap().create_bucket_if_missing().unwrap();
    let r = upload_archive_bytes(&store, &zip, &opts).unwrap();
    assert_eq!(r.uploaded.len() + r.skipped.len(), 120);
    // Every object is whole and matches its metadata.
    for (name, body) in &members {
        let key = ObjectKey::parse(name).unwrap();
        let meta = store.locate(&key, false).unwrap().unwrap().1;
        assert_eq!(meta.original_size, Some(body.len() as u64));
        assert_eq!(&store.get(&key, false).unwrap().unwrap(), body);
    }
    server("stop", port);
}

fn bucket_of(store: &SymbolStore) -> String {
    // "s3://bucket at http://..."
    let d = store.storage().describe();
    d.trim_start_matches("s3://")
        .split([' ', '/'])
        .next()
        .unwrap()
        .to_owned()
}
