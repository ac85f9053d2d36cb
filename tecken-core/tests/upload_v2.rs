//! Tecken's upload API v2 from the core: sessions handed out by `UploadSessions::start`,
//! files sent to them in chunks, and what ends up in the store.

use md5::{Digest, Md5};
use tecken_core::{
    ChunkOutcome, ErrorKind, FileAction, FileSpec, ObjectKey, SessionLimits, SymbolStore,
    UploadLimits, UploadOptions, UploadSessions,
};

const SYM_KEY: &str = "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym";

fn sym() -> Vec<u8> {
    tecken_testutil::sym_of_len(
        "MODULE Linux x86_64 A7D6F1BB18CD4CB48 xpcshell.dbg",
        300_000,
    )
}

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn spec(key: &str, data: &[u8]) -> FileSpec {
    FileSpec {
        key: key.to_owned(),
        size: data.len() as u64,
        md5_hash: md5_hex(data),
    }
}

struct Env {
    _dir: tempfile::TempDir,
    store: SymbolStore,
    sessions: UploadSessions,
}

fn env_with(limits: SessionLimits) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path().join("store")).unwrap();
    let sessions = UploadSessions::new(dir.path().join("sessions"), limits).unwrap();
    Env {
        _dir: dir,
        store,
        sessions,
    }
}

fn env() -> Env {
    env_with(SessionLimits::default())
}

fn session_of(action: &FileAction) -> String {
    match action {
        FileAction::Upload { session } => session.clone(),
        other => panic!("expected an upload, got {other:?}"),
    }
}

/// Sends `data[first..=last]` as one chunk.
fn put(e: &Env, id: &str, data: &[u8], first: usize, last: usize) -> ChunkOutcome {
    let range = format!("bytes {first}-{last}/{}", data.len());
    e.sessions
        .put_chunk(
            &e.store,
            id,
            &range,
            &mut &data[first..=last],
            &UploadOptions::default(),
        )
        .unwrap()
}

#[test]
fn files_sent_in_chunks_are_stored_as_an_archive_member_would_be() {
    let e = env();
    let sym = sym();
    let raw = b"MZ\x90\x00 not really a dll".repeat(100);
    let raw_key = "xpcshell.dll/5F2D3B4A12000/xpcshell.dl_";
    let opts = UploadOptions::default();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym), spec(raw_key, &raw)], &opts)
        .unwrap();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].key, SYM_KEY);
    assert_eq!(planned[1].key, raw_key);
    let (sym_session, raw_session) = (
        session_of(&planned[0].action),
        session_of(&planned[1].action),
    );
    assert_ne!(sym_session, raw_session);
    assert_eq!(e.sessions.open_count().unwrap(), 2);

    // Three chunks: the first two answer what is held so far.
    let third = sym.len() / 3;
    assert_eq!(
        put(&e, &sym_session, &sym, 0, third - 1),
        ChunkOutcome::Incomplete {
            received: third as u64
        }
    );
    assert_eq!(
        put(&e, &sym_session, &sym, third, 2 * third - 1),
        ChunkOutcome::Incomplete {
            received: 2 * third as u64
        }
    );
    // Nothing is stored before the last byte arrives.
    let key = ObjectKey::parse(SYM_KEY).unwrap();
    assert!(e.store.get(&key, false).unwrap().is_none());
    let ChunkOutcome::Complete { file, result } =
        put(&e, &sym_session, &sym, 2 * third, sym.len() - 1)
    else {
        panic!("the last chunk completes the file")
    };
    assert_eq!(file.key, SYM_KEY);
    assert_eq!(file.storage_key, format!("v1/{SYM_KEY}"));
    assert_eq!(file.size, sym.len() as u64);
    assert_eq!(file.md5, md5_hex(&sym));
    assert!(!file.skipped && !file.try_symbols);
    let result = result.unwrap();
    assert_eq!(result.uploaded.len(), 1);
    // A `.sym` is stored gzipped, with Tecken's metadata, and its header is read.
    assert!(result.uploaded[0].compressed);
    assert!(result.uploaded[0].stored_size < sym.len() as u64);
    let header = result.symbols[0].header.as_ref().unwrap();
    assert_eq!(header.debug_file, "xpcshell.dbg");
    assert_eq!(e.store.get(&key, false).unwrap().unwrap(), sym);

    // The raw file in one chunk.
    let ChunkOutcome::Complete { file, .. } = put(&e, &raw_session, &raw, 0, raw.len() - 1) else {
        panic!("one chunk holds the whole file")
    };
    assert_eq!(file.storage_key, format!("v1/{raw_key}"));
    let raw_stored = e
        .store
        .get(&ObjectKey::parse(raw_key).unwrap(), false)
        .unwrap()
        .unwrap();
    assert_eq!(raw_stored, raw);
    assert_eq!(e.sessions.open_count().unwrap(), 0);

    // The same files again: skipped, no session. Same size, other bytes: uploaded.
    let mut other = sym.clone();
    other[10] ^= 1;
    let again = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym), spec(raw_key, &raw)], &opts)
        .unwrap();
    assert!(
        again.iter().all(|p| p.action == FileAction::Skip),
        "{again:?}"
    );
    let changed = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &other)], &opts)
        .unwrap();
    session_of(&changed[0].action);
}

#[test]
fn the_last_chunk_sent_again_answers_the_same_object() {
    let e = env();
    let sym = sym();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &UploadOptions::default())
        .unwrap();
    let id = session_of(&planned[0].action);
    let ChunkOutcome::Complete { file: first, .. } = put(&e, &id, &sym, 0, sym.len() - 1) else {
        panic!()
    };
    let ChunkOutcome::Complete {
        file: again,
        result,
    } = put(&e, &id, &sym, 0, sym.len() - 1)
    else {
        panic!("a finished session answers its object again")
    };
    assert_eq!(again, first);
    assert!(result.is_none(), "nothing was stored the second time");
    assert_eq!(first.md5_base64().len(), 24);
}

#[test]
fn chunks_resume_where_the_stored_bytes_end() {
    let e = env();
    let sym = sym();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &UploadOptions::default())
        .unwrap();
    let id = session_of(&planned[0].action);
    assert_eq!(
        put(&e, &id, &sym, 0, 999),
        ChunkOutcome::Incomplete { received: 1000 }
    );
    // A chunk past the end of the stored bytes is not placed: the answer says where to
    // resume.
    assert_eq!(
        put(&e, &id, &sym, 5000, 5999),
        ChunkOutcome::Incomplete { received: 1000 }
    );
    // A status query.
    let status = e
        .sessions
        .put_chunk(
            &e.store,
            &id,
            &format!("bytes */{}", sym.len()),
            &mut &b""[..],
            &UploadOptions::default(),
        )
        .unwrap();
    assert_eq!(status, ChunkOutcome::Incomplete { received: 1000 });
    // A chunk sent again from an earlier offset replaces what followed it.
    assert_eq!(
        put(&e, &id, &sym, 500, 1499),
        ChunkOutcome::Incomplete { received: 1500 }
    );
    // A body cut short keeps what came.
    let range = format!("bytes 1500-2499/{}", sym.len());
    let short = e
        .sessions
        .put_chunk(
            &e.store,
            &id,
            &range,
            &mut &sym[1500..1800],
            &UploadOptions::default(),
        )
        .unwrap();
    assert_eq!(short, ChunkOutcome::Incomplete { received: 1800 });
    let ChunkOutcome::Complete { file, .. } = put(&e, &id, &sym, 1800, sym.len() - 1) else {
        panic!()
    };
    assert_eq!(file.md5, md5_hex(&sym));
    let key = ObjectKey::parse(SYM_KEY).unwrap();
    assert_eq!(e.store.get(&key, false).unwrap().unwrap(), sym);
}

#[test]
fn data_that_is_not_what_was_declared_is_refused_and_nothing_is_stored() {
    let e = env();
    let sym = sym();
    let opts = UploadOptions::default();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &opts)
        .unwrap();
    let id = session_of(&planned[0].action);
    let mut other = sym.clone();
    other[100] ^= 0x20;
    let range = format!("bytes 0-{}/{}", sym.len() - 1, sym.len());
    let err = e
        .sessions
        .put_chunk(&e.store, &id, &range, &mut &other[..], &opts)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not the declared"), "{err}");
    let key = ObjectKey::parse(SYM_KEY).unwrap();
    assert!(e.store.get(&key, false).unwrap().is_none());
    // The session is gone.
    let err = e
        .sessions
        .put_chunk(&e.store, &id, &range, &mut &sym[..], &opts)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // A total other than the declared size, a body longer than its range.
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &opts)
        .unwrap();
    let id = session_of(&planned[0].action);
    let err = e
        .sessions
        .put_chunk(&e.store, &id, "bytes 0-9/10", &mut &sym[..10], &opts)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not the size declared"), "{err}");
    let range = format!("bytes 0-9/{}", sym.len());
    let err = e
        .sessions
        .put_chunk(&e.store, &id, &range, &mut &sym[..11], &opts)
        .unwrap_err();
    assert!(
        err.to_string().contains("longer than its Content-Range"),
        "{err}"
    );
    for bad in ["bytes 0-9", "bytes 9-0/100", ""] {
        let err = e
            .sessions
            .put_chunk(&e.store, &id, bad, &mut &b""[..], &opts)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
}

#[test]
fn unknown_sessions_are_not_found() {
    let e = env();
    let opts = UploadOptions::default();
    for id in [
        "00000000000000000000000000000000",
        "../../etc/passwd",
        "",
        "ABCDEF00000000000000000000000000",
    ] {
        let err = e
            .sessions
            .put_chunk(&e.store, id, "bytes 0-0/1", &mut &b"x"[..], &opts)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{id:?}");
    }
}

#[test]
fn each_file_gets_the_rule_an_archive_member_of_that_name_gets() {
    let e = env();
    let data = b"MODULE Linux x86_64 ABC xul.so\n";
    let opts = UploadOptions {
        limits: UploadLimits {
            max_member_size: 1000,
            ..UploadLimits::default()
        },
        ..UploadOptions::default()
    };
    let big = FileSpec {
        key: "xul.so/ABC/xul.so.sym".into(),
        size: 1001,
        md5_hash: md5_hex(b""),
    };
    let bad_md5 = FileSpec {
        md5_hash: "nothex".into(),
        ..spec("libc.so/DEF/libc.so.sym", data)
    };
    let files = [
        spec("xul.so/ABC/xul.so.sym", data),
        spec("xul.so/abc/xul.so.sym", data),
        spec("not-three-parts.sym", data),
        spec("qcom/proprietary/x.sym", data),
        spec("build-symbols.txt", data),
        big,
        bad_md5,
    ];
    let planned = e.sessions.start(&e.store, &files, &opts).unwrap();
    let keys: Vec<&str> = planned.iter().map(|p| p.key.as_str()).collect();
    let sent: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, sent, "answers come in request order, keys as sent");
    session_of(&planned[0].action);
    let msg = |i: usize| match &planned[i].action {
        FileAction::Error(m) => m.clone(),
        other => panic!("{}: expected an error, got {other:?}", planned[i].key),
    };
    assert!(msg(1).contains("already named"), "{}", msg(1));
    // Tecken's messages for archive members of those names.
    assert!(msg(2).contains("not-three-parts.sym"), "{}", msg(2));
    assert!(msg(3).contains("qcom/proprietary"), "{}", msg(3));
    assert_eq!(planned[4].action, FileAction::Skip);
    assert!(msg(5).contains("more than the limit of 1000"), "{}", msg(5));
    assert!(msg(6).contains("md5_hash"), "{}", msg(6));
    assert_eq!(e.sessions.open_count().unwrap(), 1);
}

#[test]
fn try_uploads_go_to_the_try_area() {
    let e = env();
    let sym = sym();
    let opts = UploadOptions {
        try_symbols: true,
        ..UploadOptions::default()
    };
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &opts)
        .unwrap();
    let id = session_of(&planned[0].action);
    let ChunkOutcome::Complete { file, .. } = put(&e, &id, &sym, 0, sym.len() - 1) else {
        panic!()
    };
    assert!(file.try_symbols);
    assert_eq!(file.storage_key, format!("try/v1/{SYM_KEY}"));
    let key = ObjectKey::parse(SYM_KEY).unwrap();
    assert!(e.store.get(&key, false).unwrap().is_none());
    assert_eq!(e.store.get(&key, true).unwrap().unwrap(), sym);
}

#[test]
fn limits_on_files_per_request_and_open_sessions() {
    let e = env_with(SessionLimits {
        max_files: 3,
        max_open: 4,
        ..SessionLimits::default()
    });
    let opts = UploadOptions::default();
    let files: Vec<FileSpec> = (0..4)
        .map(|i| spec(&format!("m{i}.so/ABC/m{i}.so.sym"), b"data"))
        .collect();
    let err = e.sessions.start(&e.store, &files, &opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    e.sessions.start(&e.store, &files[..3], &opts).unwrap();
    e.sessions.start(&e.store, &files[3..], &opts).unwrap();
    let err = e.sessions.start(&e.store, &files[..1], &opts).unwrap_err();
    assert_eq!(
        (err.kind(), err.http_status()),
        (ErrorKind::LimitExceeded, 429)
    );
    assert_eq!(e.sessions.open_count().unwrap(), 4);
}

#[test]
fn expired_sessions_are_swept() {
    let e = env_with(SessionLimits {
        ttl: std::time::Duration::ZERO,
        ..SessionLimits::default()
    });
    let sym = sym();
    let opts = UploadOptions::default();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &opts)
        .unwrap();
    let id = session_of(&planned[0].action);
    put(&e, &id, &sym, 0, 99);
    assert!(e.sessions.sweep().unwrap() >= 1);
    assert_eq!(e.sessions.open_count().unwrap(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(e.sessions.dir())
        .unwrap()
        .flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let err = e
        .sessions
        .put_chunk(
            &e.store,
            &id,
            "bytes 100-199/300000",
            &mut &sym[100..200],
            &opts,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn a_session_takes_one_chunk_at_a_time() {
    let e = env();
    let sym = sym();
    let opts = UploadOptions::default();
    let planned = e
        .sessions
        .start(&e.store, &[spec(SYM_KEY, &sym)], &opts)
        .unwrap();
    let id = session_of(&planned[0].action);
    let range = format!("bytes 0-99/{}", sym.len());
    let mut first = e.sessions.begin(&id, &range).unwrap();
    first.write(&sym[..50]).unwrap();
    // A second chunk while the first is being received: refused at once, retryable.
    let busy = e.sessions.begin(&id, &range).unwrap_err();
    assert_eq!(busy.http_status(), 503, "{busy}");
    first.write(&sym[50..100]).unwrap();
    assert_eq!(
        first.finish(&e.store, &opts).unwrap(),
        ChunkOutcome::Incomplete { received: 100 }
    );
    // Released: the next chunk goes in.
    assert_eq!(
        put(&e, &id, &sym, 100, 199),
        ChunkOutcome::Incomplete { received: 200 }
    );
}

#[test]
fn a_read_only_store_opens_no_session() {
    let e = env();
    let tree = tempfile::tempdir().unwrap();
    let read_only = SymbolStore::new(tecken_core::PlainTreeStore::new(tree.path()).unwrap());
    let err = e
        .sessions
        .start(
            &read_only,
            &[spec(SYM_KEY, &sym())],
            &UploadOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(e.sessions.open_count().unwrap(), 0);
}
