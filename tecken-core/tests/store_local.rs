//! The local store and Tecken's download rules over it.

use std::path::Path;
use std::sync::Arc;

use tecken_core::ErrorKind;
use tecken_core::{Area, ObjectKey};
use tecken_core::{
    ChainStore, CodeIdEntry, Download, DownloadRequest, LocalStore, PutObject, Storage, SymbolStore,
};
use tecken_core::{CsvOptions, MissingSymbols};
use tecken_core::{ObjectData, PlainTreeStore};
use tecken_core::{Symbolicator, SymbolicatorConfig};

fn store() -> (tempfile::TempDir, SymbolStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    (dir, store)
}

const SYM: &[u8] = b"MODULE windows x86 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\nINFO CODE_ID 5D7BD8F4A0A000 xul.dll\nINFO GENERATOR mozilla/dump_syms 2.3.7\nFUNC 0 1 0 f\n";

fn xul() -> ObjectKey {
    ObjectKey::new("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym").unwrap()
}

#[test]
fn keys_with_path_traversal_are_refused() {
    let (dir, store) = store();
    let local = LocalStore::new(dir.path()).unwrap();
    let outside = dir.path().parent().unwrap().join("escaped");
    for key in [
        "../escaped",
        "v1/../../escaped",
        "/etc/passwd",
        "v1/a//b",
        "v1/a/./b",
        "v1\\..\\x",
        "",
        "v1/a\0/b",
    ] {
        for r in [
            local.head(key).map(|_| ()),
            local.get(key).map(|_| ()),
            local.put(key, &PutObject::raw(b"x")),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidInput, "{key:?}");
        }
    }
    assert!(!outside.exists());
    for (f, i, n) in [
        ("..", "AB", "x.sym"),
        ("a", "..", "x.sym"),
        ("a", "AB", ".."),
        ("a/b", "AB", "c"),
        ("a", "A/B", "c"),
    ] {
        assert_eq!(
            ObjectKey::new(f, i, n).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    // Through the download API too: refused, nothing looked up outside.
    assert!(store
        .download(&DownloadRequest::new("..", "AB", "x.sym"))
        .is_err());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn layout_metadata_and_symbolicator_compatibility() {
    let (dir, store) = store();
    let enc = store.put_file(&xul(), Area::Regular, SYM).unwrap();
    let path = dir
        .path()
        .join("v1/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym");
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(&raw[..2], b"\x1f\x8b", "stored gzipped");
    let meta = store.locate(&xul(), false).unwrap().unwrap().1;
    assert_eq!(meta.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(meta.original_size, Some(SYM.len() as u64));
    assert_eq!(
        meta.original_md5.as_deref(),
        Some(enc.original_md5.as_str())
    );
    // Any gzip reader reads it; {root}/v1 is a plain tree the symbolicator reads.
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut plain).unwrap();
    assert_eq!(plain, SYM);
    // Every backend is a symbolicator source, the plain tree over `v1/` among them.
    for source in [
        store.clone(),
        SymbolStore::new(PlainTreeStore::new(dir.path().join("v1")).unwrap()),
        SymbolStore::new(LocalStore::new(dir.path()).unwrap()),
        SymbolStore::new(ChainStore::new(vec![Arc::new(
            LocalStore::new(dir.path()).unwrap(),
        )])),
    ] {
        let s = Symbolicator::new(vec![source], SymbolicatorConfig::default());
        let m = s
            .get("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2")
            .unwrap()
            .expect("found");
        assert_eq!(m.index.lookup(0).unwrap().function, "f");
    }
    // A plain .sym is handed over as a path (memory-mapped).
    store
        .storage()
        .put(
            "v1/plain.pdb/AB/plain.sym",
            &PutObject::raw(b"MODULE w x86 AB plain.pdb\n"),
        )
        .unwrap();
    assert!(matches!(
        LocalStore::new(dir.path())
            .unwrap()
            .get_data("v1/plain.pdb/AB/plain.sym")
            .unwrap(),
        Some(ObjectData::File(_))
    ));
}

#[test]
fn tecken_download_rules() {
    let (_dir, store) = store();
    store.put_file(&xul(), Area::Regular, SYM).unwrap();
    store
        .put_file(
            &ObjectKey::parse("xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.pd_").unwrap(),
            Area::Regular,
            b"MSCF",
        )
        .unwrap();
    let get = |f: &str, i: &str, n: &str| store.download(&DownloadRequest::new(f, i, n));
    // Found, with any case of debug id.
    match get("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym").unwrap() {
        Download::Found(f) => {
            assert_eq!(f.body.unwrap(), SYM);
            assert_eq!(f.key.debug_id(), "44E4EC8C2F41492B9369D6B9A059577C2");
            assert_eq!(f.area, Area::Regular);
        }
        other => panic!("{other:?}"),
    }
    // Raw files are served as stored.
    match get("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.pd_").unwrap() {
        Download::Found(f) => assert_eq!(f.body.unwrap(), b"MSCF"),
        other => panic!("{other:?}"),
    }
    // Ignored: file.ptr, the all-zero id, extensions outside the allow-list.
    assert!(matches!(
        get(
            "cxinjime.pdb",
            "342D9B0A3AE64812A2388C055C9F6C321",
            "file.ptr"
        )
        .unwrap(),
        Download::Ignored
    ));
    assert!(matches!(
        get("xul.pdb", "000000000000000000000000000000000", "xul.sym").unwrap(),
        Download::Ignored
    ));
    assert!(matches!(
        get("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.xxx").unwrap(),
        Download::Ignored
    ));
    // Characters Tecken refuses: not found without a lookup (current Tecken's 404).
    for (f, n) in [
        ("x\u{fc}l.pdb", "xul.sym"),
        ("x%l.pdb", "xul.sym"),
        ("xul.pdb", "xul#.sym"),
        ("xul\u{7}.pdb", "xul.sym"),
    ] {
        let d = get(f, "44E4EC8C2F41492B9369D6B9A059577C2", n).unwrap();
        assert!(matches!(d, Download::NotFound), "{f}/{n}: {d:?}");
    }
    // Valid unusual names are simply not found.
    for f in ["\u{6c49}.pdb", "space in the filename.pdb"] {
        assert!(matches!(
            get(f, "44E4EC8C2F41492B9369D6B9A059577C2", "xul.sym").unwrap(),
            Download::NotFound
        ));
    }
    // HEAD: no body.
    let head = DownloadRequest {
        body: tecken_core::BodyMode::None,
        ..DownloadRequest::new("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.sym")
    };
    match store.download(&head).unwrap() {
        Download::Found(f) => assert!(f.body.is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn code_id_lookup_syminfo_and_rebuild() {
    let (dir, store) = store();
    store.put_file(&xul(), Area::Regular, SYM).unwrap();
    // Nothing indexed yet: put_file stores a file only.
    assert!(store
        .lookup_code_id("xul.dll", "5D7BD8F4A0A000")
        .unwrap()
        .is_none());
    let report = store.rebuild_code_index().unwrap();
    assert_eq!((report.sym_files, report.entries), (1, 1));
    let e = store
        .lookup_code_id("xul.dll", "5d7bd8f4a0a000")
        .unwrap()
        .unwrap();
    assert_eq!(
        e,
        CodeIdEntry {
            code_file: "xul.dll".into(),
            code_id: "5D7BD8F4A0A000".into(),
            debug_file: "xul.pdb".into(),
            debug_id: "44E4EC8C2F41492B9369D6B9A059577C2".into(),
            generator: Some("mozilla/dump_syms 2.3.7".into()),
            try_symbols: false,
            file: None,
        }
    );
    assert!(dir.path().join("codeid/xul.dll/5D7BD8F4A0A000").is_file());
    // Tecken's redirect keeps the requested file name.
    match store
        .download(&DownloadRequest::new(
            "xul.dll",
            "5D7BD8F4A0A000",
            "xul.sym",
        ))
        .unwrap()
    {
        Download::Redirect(k) => assert_eq!(
            k.path(),
            "xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym"
        ),
        other => panic!("{other:?}"),
    }
    let info = store.syminfo("xul.dll", "5D7BD8F4A0A000").unwrap().unwrap();
    assert_eq!(
        (info.debug_filename.as_str(), info.generator.as_deref()),
        ("xul.pdb", Some("mozilla/dump_syms 2.3.7"))
    );
    assert!(store.syminfo("nope.dll", "AB").unwrap().is_none());
    // Lookups with names that can never be keys are simply not found.
    assert!(store.lookup_code_id("../x", "AB").unwrap().is_none());
}

#[test]
fn missing_symbols_are_recorded_on_get_misses_only() {
    let (_dir, store) = store();
    let missing = Arc::new(MissingSymbols::new(100));
    let store = store.with_missing_symbols(missing.clone());
    let mut req = DownloadRequest::new("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym");
    req.code_file = Some("xul.dll".into());
    req.code_id = Some("5D7BD8F4A0A000".into());
    assert!(matches!(store.download(&req).unwrap(), Download::NotFound));
    assert!(matches!(store.download(&req).unwrap(), Download::NotFound));
    // Ignored requests and HEADs are not recorded.
    store
        .download(&DownloadRequest::new("a.pdb", "AB", "file.ptr"))
        .unwrap();
    store
        .download(&DownloadRequest {
            body: tecken_core::BodyMode::None,
            ..DownloadRequest::new("b.pdb", "AB", "b.sym")
        })
        .unwrap();
    // The symbolicator's misses are.
    let s = Symbolicator::new(vec![store.clone()], SymbolicatorConfig::default());
    assert!(s.get("libc.so", "ab").unwrap().is_none());
    let snap = missing.snapshot().unwrap();
    assert_eq!(snap.len(), 2);
    let xul = snap.iter().find(|m| m.debug_file == "xul.pdb").unwrap();
    assert_eq!(
        (xul.count, xul.debug_id.as_str()),
        (2, "44E4EC8C2F41492B9369D6B9A059577C2")
    );
    assert_eq!(
        missing.to_csv(&CsvOptions::default()).unwrap(),
        "debug_file,debug_id,code_file,code_id\r\nxul.pdb,44E4EC8C2F41492B9369D6B9A059577C2,xul.dll,5D7BD8F4A0A000\r\n"
    );
}

#[test]
fn try_area_is_searched_after_the_regular_one() {
    let (_dir, store) = store();
    let k = ObjectKey::parse("a.pdb/AB/a.sym").unwrap();
    store.put_file(&k, Area::Try, b"MODULE try\n").unwrap();
    assert!(store.get(&k, false).unwrap().is_none());
    assert_eq!(store.get(&k, true).unwrap().unwrap(), b"MODULE try\n");
    store
        .put_file(&k, Area::Regular, b"MODULE regular\n")
        .unwrap();
    assert_eq!(store.get(&k, true).unwrap().unwrap(), b"MODULE regular\n");
}

#[test]
fn listing_skips_interrupted_writes() {
    let (dir, store) = store();
    store.put_file(&xul(), Area::Regular, SYM).unwrap();
    // A crash mid-write leaves a temporary file; it is not an object.
    let d = dir
        .path()
        .join("v1/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2");
    std::fs::write(d.join(".xul.sym.tmp.123.0"), b"half").unwrap();
    let mut keys = Vec::new();
    store
        .storage()
        .list("v1/", &mut |k, _| {
            keys.push(k.to_owned());
            Ok(())
        })
        .unwrap();
    assert_eq!(
        keys,
        ["v1/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym"]
    );
    assert!(Path::new(&d).join("xul.sym").is_file());
}

#[test]
fn stale_temp_files_are_removed_when_the_store_is_opened_for_writing() {
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("v1/xul.pdb/ABC");
    std::fs::create_dir_all(&d).unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    let make = |name: &str, old: bool| {
        std::fs::write(d.join(name), b"partial").unwrap();
        if old {
            std::fs::File::options()
                .write(true)
                .open(d.join(name))
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
    };
    make(".tecken.tmp.4242.7", true); // left by kill -9
    make(".xul.sym.tmp.4242.8", true); // the same, by an earlier version
    make(".tecken.tmp.4243.0", false); // a write in progress in another process
    make("xul.sym", true);
    make(".hidden.tmp.file", true);
    let local = LocalStore::open_for_writing(dir.path()).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [".hidden.tmp.file", ".tecken.tmp.4243.0", "xul.sym"]);
    // Explicitly, with another age.
    let r = local.remove_stale_temp_files(Duration::ZERO).unwrap();
    assert_eq!((r.removed, r.bytes, r.failed), (1, 7, 0));
    // A key can never be a temporary file's name.
    assert_eq!(
        local
            .put("v1/xul.pdb/ABC/.tecken.tmp.1.2", &PutObject::raw(b"x"))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[cfg(unix)]
#[test]
fn writes_never_follow_a_symlink_below_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let local = LocalStore::new(dir.path()).unwrap();
    std::fs::create_dir_all(dir.path().join("v1")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("v1/foo.pdb")).unwrap();
    let err = local
        .put("v1/foo.pdb/AB/foo.sym", &PutObject::raw(b"x"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().contains("v1/foo.pdb is a symbolic link"),
        "{err}"
    );
    assert!(
        !err.to_string().contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());

    // A symlink as the file itself is replaced, not written through.
    let target = outside.path().join("victim");
    std::fs::write(&target, b"precious").unwrap();
    std::fs::create_dir_all(dir.path().join("v1/bar.pdb/AB")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("v1/bar.pdb/AB/bar.sym")).unwrap();
    local
        .put("v1/bar.pdb/AB/bar.sym", &PutObject::raw(b"new"))
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(
        std::fs::read(dir.path().join("v1/bar.pdb/AB/bar.sym")).unwrap(),
        b"new"
    );

    // The root itself may be a link: the operator chose it.
    let link_root = outside.path().join("store-link");
    std::os::unix::fs::symlink(dir.path(), &link_root).unwrap();
    LocalStore::new(&link_root)
        .unwrap()
        .put("v1/baz.pdb/AB/baz.sym", &PutObject::raw(b"ok"))
        .unwrap();
    assert!(dir.path().join("v1/baz.pdb/AB/baz.sym").is_file());
}
