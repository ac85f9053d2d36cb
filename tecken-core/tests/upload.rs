//! Uploads of Tecken archives into the local store: Tecken's fixtures and messages, the
//! holes Tecken leaves open, hostile archives, failure and retry.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use tecken_core::keys::ObjectKey;
use tecken_core::store::{Download, DownloadRequest, SymbolStore};
use tecken_core::symbolicator::{LocalDir, SymData, SymKey, SymbolSource};
use tecken_core::upload::{
    upload_archive, upload_archive_bytes, upload_archive_path, ArchiveSource, UploadLimits,
    UploadOptions,
};
use tecken_core::ErrorKind;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/tecken")
        .join(name)
}

fn store() -> (tempfile::TempDir, SymbolStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    (dir, store)
}

/// A zip of `(name, bytes)` members, deflated.
fn make_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}

fn err_of(r: tecken_core::Result<tecken_core::upload::UploadResult>) -> (ErrorKind, String) {
    let e = r.unwrap_err();
    (e.kind(), e.to_string())
}

const XPCSHELL_KEY: &str = "v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym";

#[test]
fn sample_zip_matches_tecken_and_reports_the_module_mismatch() {
    let (dir, store) = store();
    let r = upload_archive_path(
        &store,
        &fixture("zips/sample.zip"),
        &UploadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.content_hash, "984270ef458d9d1e27e8d844ad52a9"); // Tecken's Upload.content_hash
    assert_eq!(r.archive_size, 70398);
    let keys: Vec<&str> = r.uploaded.iter().map(|f| f.key.as_str()).collect();
    // The debug id `deadbeef` is stored upper-case (Tecken keeps it lower-case).
    assert_eq!(keys, ["v1/flag/DEADBEEF/flag.jpeg", XPCSHELL_KEY]);
    assert!(r.skipped.is_empty());
    assert_eq!(
        r.ignored
            .iter()
            .map(|i| i.member.as_str())
            .collect::<Vec<_>>(),
        ["build-symbols.txt"]
    );
    let jpeg = &r.uploaded[0];
    assert_eq!(
        (jpeg.size, jpeg.stored_size, jpeg.compressed),
        (69183, 69183, false)
    );
    let sym = &r.uploaded[1];
    assert!(
        sym.compressed && sym.size == 1156 && sym.stored_size < 1156,
        "{sym:?}"
    );

    // Header data and the MODULE/key mismatch, reported and accepted.
    assert_eq!(r.symbols.len(), 1);
    let h = r.symbols[0].header.as_ref().unwrap();
    assert_eq!(
        (h.debug_file.as_str(), h.debug_id.as_str()),
        ("xpcshell", "BBACA09FD1C13F6C84254BFD8732AF400")
    );
    let m = r.symbols[0].module_mismatch.as_ref().unwrap();
    assert_eq!(
        (m.key_debug_file.as_str(), m.module_debug_file.as_str()),
        ("xpcshell.dbg", "xpcshell")
    );

    // Stored gzipped in Tecken's layout, readable by the symbolicator's LocalDir.
    let raw = std::fs::read(dir.path().join(XPCSHELL_KEY)).unwrap();
    assert_eq!(&raw[..2], b"\x1f\x8b");
    let original = zip_member(
        &fixture("zips/sample.zip"),
        "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym",
    );
    let local = LocalDir::new(dir.path().join("v1"));
    let key = SymKey {
        debug_file: "xpcshell.dbg".into(),
        debug_id: "A7D6F1BB18CD4CB48".into(),
        sym_file: "xpcshell.sym".into(),
    };
    match local.fetch(&key).unwrap().unwrap() {
        SymData::Bytes(b) => assert_eq!(b, original),
        other => panic!("expected decompressed bytes, got {other:?}"),
    }
    // And through the store: decompressed, or as stored for a proxy.
    let okey = ObjectKey::parse("xpcshell.dbg/a7d6f1bb18cd4cb48/xpcshell.sym").unwrap();
    assert_eq!(store.get(&okey, false).unwrap().unwrap(), original);
    let meta = store.locate(&okey, false).unwrap().unwrap().1;
    assert_eq!(meta.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.original_size, Some(1156));
    assert_eq!(meta.original_md5.as_deref(), Some(sym.md5.as_str()));
    // No temporary files left behind.
    assert_eq!(
        files_under(dir.path()),
        ["v1/flag/DEADBEEF/flag.jpeg", XPCSHELL_KEY]
    );
}

fn zip_member(zip_path: &Path, name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut f = z.by_name(name).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut out).unwrap();
    out
}

#[test]
fn uploading_the_same_archive_again_skips_everything() {
    let (dir, store) = store();
    let opts = UploadOptions::default();
    upload_archive_path(&store, &fixture("zips/sample.zip"), &opts).unwrap();
    let before = std::fs::metadata(dir.path().join(XPCSHELL_KEY))
        .unwrap()
        .modified()
        .unwrap();
    let r = upload_archive_path(&store, &fixture("zips/sample.zip"), &opts).unwrap();
    assert!(r.uploaded.is_empty(), "{:?}", r.uploaded);
    assert_eq!(r.skipped.len(), 2);
    assert_eq!(
        r.symbols.len(),
        1,
        "skipped .sym files still report their header"
    );
    let after = std::fs::metadata(dir.path().join(XPCSHELL_KEY))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn ignorable_files_are_listed() {
    let (_dir, store) = store();
    let r = upload_archive_path(
        &store,
        &fixture("zips/sample-with-ignorable-files.zip"),
        &UploadOptions::default(),
    )
    .unwrap();
    let mut ignored: Vec<&str> = r.ignored.iter().map(|i| i.member.as_str()).collect();
    ignored.sort();
    assert_eq!(
        ignored,
        [
            "build-symbols.txt",
            "flag/.DS_Store",
            "xpcshell.dbg/A7D6F1BB18CD4CB48/.DS_Store"
        ]
    );
    assert_eq!(r.uploaded.len(), 2);
}

#[test]
fn tecken_error_messages() {
    let (dir, store) = store();
    let o = UploadOptions::default();
    let cases = [
        (
            "zips/invalid.zip",
            "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was 'xpcshell.sym')",
        ),
        (
            "zips/invalid-characters.zip",
            "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was 'xpcfoo.dbg/A7D6F1BB18CD4CB48/p%eter.sym')",
        ),
        ("zips/notazipdespiteitsname.zip", "File is not a zip file"),
        (
            "zips/duplicated-different-size.zip",
            "The zipfile buffer contains two files both called foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym and they have difference sizes (24 != 39)",
        ),
    ];
    for (zip, message) in cases {
        let (kind, text) = err_of(upload_archive_path(&store, &fixture(zip), &o));
        assert_eq!(
            (kind, text.as_str()),
            (ErrorKind::InvalidInput, message),
            "{zip}"
        );
    }
    assert_eq!(
        err_of(upload_archive_bytes(&store, b"", &o)).1,
        "File is not a zip file"
    );
    let snippet = UploadOptions {
        disallowed_snippets: vec!["xpcshell.sym".into()],
        ..UploadOptions::default()
    };
    assert_eq!(
        err_of(upload_archive_path(
            &store,
            &fixture("zips/sample.zip"),
            &snippet
        ))
        .1,
        "Content of archive file contains the snippet 'xpcshell.sym' which is not allowed"
    );
    let rar = UploadOptions {
        archive_name: Some("myfile.rar".into()),
        ..UploadOptions::default()
    };
    assert_eq!(
        err_of(upload_archive_path(
            &store,
            &fixture("zips/sample.zip"),
            &rar
        ))
        .1,
        "Unrecognized archive file extension \".rar\""
    );
    // Nothing was stored by any of them.
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn duplicates_of_the_same_size_are_stored_once() {
    let (_dir, store) = store();
    let r = upload_archive_path(
        &store,
        &fixture("zips/duplicated-same-size.zip"),
        &UploadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.uploaded.len(), 1);
    assert_eq!(
        r.uploaded[0].key,
        "v1/foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym"
    );
    // Not a real .sym: stored anyway, the header error reported.
    assert!(r.symbols[0].header_error.is_some());
}

#[test]
fn try_uploads_go_to_the_try_area_and_are_found_only_when_asked() {
    let (dir, store) = store();
    let opts = UploadOptions {
        try_symbols: true,
        ..UploadOptions::default()
    };
    let r = upload_archive(
        &store,
        ArchiveSource::Reader(&mut std::fs::File::open(fixture("zips/sample.zip")).unwrap()),
        &opts,
    )
    .unwrap();
    assert!(r.try_symbols);
    assert!(r.uploaded.iter().all(|f| f.key.starts_with("try/v1/")));
    assert!(dir.path().join("try").join(XPCSHELL_KEY).is_file());
    let mut req = DownloadRequest::new("xpcshell.dbg", "A7D6F1BB18CD4CB48", "xpcshell.sym");
    assert!(matches!(store.download(&req).unwrap(), Download::NotFound));
    req.try_symbols = true;
    assert!(matches!(store.download(&req).unwrap(), Download::Found(_)));
}

fn pe_sym() -> Vec<u8> {
    std::fs::read(fixture(
        "eliot/xul-pe.0185139C8F04FFC94C4C44205044422E1.sym",
    ))
    .unwrap()
}

#[test]
fn code_id_index_is_filled_by_uploads_and_redirects() {
    let (_dir, store) = store();
    let sym = pe_sym();
    let zip = make_zip(&[("xul.pdb/0185139c8f04ffc94c4c44205044422e1/xul.sym", &sym)]);
    let r = upload_archive_bytes(&store, &zip, &UploadOptions::default()).unwrap();
    assert_eq!(
        r.uploaded[0].key,
        "v1/xul.pdb/0185139C8F04FFC94C4C44205044422E1/xul.sym"
    );
    let h = r.symbols[0].header.as_ref().unwrap();
    assert_eq!(h.code_id.as_ref().unwrap().file.as_deref(), Some("xul.dll"));
    assert!(r.symbols[0].module_mismatch.is_none());

    let e = store
        .lookup_code_id("xul.dll", "60533c886efd000")
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.debug_file.as_str(), e.debug_id.as_str()),
        ("xul.pdb", "0185139C8F04FFC94C4C44205044422E1")
    );
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
    let info = store
        .syminfo("xul.dll", "60533C886EFD000")
        .unwrap()
        .unwrap();
    assert_eq!(info.debug_filename, "xul.pdb");
    let info = store
        .syminfo("xul.pdb", "0185139C8F04FFC94C4C44205044422E1")
        .unwrap()
        .unwrap();
    assert_eq!(info.code_file.as_deref(), Some("xul.dll"));
    assert_eq!(info.code_id.as_deref(), Some("60533C886EFD000"));
}

// ---- hostile archives ----

#[test]
fn zip_bomb_is_refused_before_decompression() {
    let (dir, store) = store();
    let zeros = vec![0u8; 64 << 20];
    let zip = make_zip(&[("bomb.pdb/ABC/bomb.sym", &zeros)]);
    assert!(
        zip.len() < 200_000,
        "deflate packs 64 MiB of zeros into {} bytes",
        zip.len()
    );
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::LimitExceeded, "{msg}");
    assert!(msg.contains("compression ratio"), "{msg}");
    // The total limit holds on declared sizes too.
    let small = UploadOptions {
        limits: UploadLimits {
            max_total_size: 1 << 20,
            max_ratio: u64::MAX,
            ..UploadLimits::default()
        },
        ..UploadOptions::default()
    };
    assert_eq!(
        err_of(upload_archive_bytes(&store, &zip, &small)).0,
        ErrorKind::LimitExceeded
    );
    assert!(files_under(dir.path()).is_empty());
}

/// Rewrites the declared uncompressed size of every entry (central directory and local
/// headers) to `size`: a bomb that lies about its size.
fn lie_about_sizes(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 4 <= zip.len() {
        match &zip[i..i + 4] {
            b"PK\x01\x02" => zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
            b"PK\x03\x04" => zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        i += 1;
    }
}

#[test]
fn a_member_larger_than_declared_is_caught_while_decompressing() {
    let (dir, store) = store();
    let mut zip = make_zip(&[("bomb.pdb/ABC/bomb.sym", &vec![b'A'; 8 << 20])]);
    lie_about_sizes(&mut zip, 1000);
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(msg.contains("more than its declared 1000 bytes"), "{msg}");
    assert!(files_under(dir.path()).is_empty(), "nothing half-written");
}

#[test]
fn traversal_absolute_and_backslash_members_are_refused() {
    let (dir, store) = store();
    let sym = pe_sym();
    for name in [
        "../ABC/x.sym",
        "/abc/def",
        "a/../x.sym",
        "x.pdb/ABC/..",
        "..\\ABC\\x.sym",
        "./ABC/x.sym",
    ] {
        let zip = make_zip(&[(name, &sym)]);
        let (kind, msg) = err_of(upload_archive_bytes(
            &store,
            &zip,
            &UploadOptions::default(),
        ));
        assert_eq!(kind, ErrorKind::InvalidInput, "{name}: {msg}");
        assert!(
            msg.starts_with("Unsafe file name in archive"),
            "{name}: {msg}"
        );
    }
    assert!(files_under(dir.path()).is_empty());
    assert!(!dir.path().parent().unwrap().join("ABC").exists());
}

#[test]
fn symlinks_are_refused() {
    let (dir, store) = store();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.add_symlink(
        "x.pdb/ABC/x.sym",
        "/etc/passwd",
        SimpleFileOptions::default(),
    )
    .unwrap();
    let zip = w.finish().unwrap().into_inner();
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        msg.starts_with("Symbolic link in archive: 'x.pdb/ABC/x.sym'"),
        "{msg}"
    );
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn encrypted_members_are_refused() {
    let (_dir, store) = store();
    let mut zip = make_zip(&[("x.pdb/ABC/x.sym", &pe_sym())]);
    // Set the "encrypted" general-purpose flag in both headers.
    for i in 0..zip.len() - 4 {
        match &zip[i..i + 4] {
            b"PK\x01\x02" => zip[i + 8] |= 1,
            b"PK\x03\x04" => zip[i + 6] |= 1,
            _ => {}
        }
    }
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(msg.starts_with("Encrypted file in archive"), "{msg}");
}

#[test]
fn a_hundred_thousand_members_are_refused_before_the_directory_is_read() {
    let (_dir, store) = store();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..100_000u32 {
        w.start_file(format!("m{i}.pdb/AB/m{i}.sym"), opts).unwrap();
    }
    let zip = w.finish().unwrap().into_inner();
    let started = std::time::Instant::now();
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::LimitExceeded);
    assert_eq!(
        msg,
        "Archive has 100000 members, more than the limit of 50000"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn ids_differing_only_in_case_are_one_key() {
    let (_dir, store) = store();
    let zip = make_zip(&[
        ("a.pdb/abc/a.sym", b"MODULE w x86 ABC a.pdb\n"),
        ("a.pdb/ABC/a.sym", b"MODULE w x86 ABC a.pdb\nX\n"),
    ]);
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(msg.contains("debug ids are stored upper-case"), "{msg}");
}

#[test]
fn a_corrupt_member_fails_the_upload_and_a_retry_resumes() {
    let (dir, store) = store();
    let good: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            format!("MODULE Linux x86_64 {i:032X}0 m{i}\nFUNC 0 10 0 f{i}\n")
                .repeat(2000)
                .into_bytes()
        })
        .collect();
    let mut members: Vec<(String, &[u8])> = good
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("m{i}/{i:032X}0/m{i}.sym"), b.as_slice()))
        .collect();
    let bad_data = vec![b'Z'; 1000]; // the smallest: stored last, after the good ones
    members.push(("bad/ABCDEF/bad.sym".to_owned(), &bad_data));
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let zip = make_zip(&refs);
    // Corrupt the CRC-32 of the last member in the central directory.
    let mut broken = zip.clone();
    let cd = broken.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    broken[cd + 16] ^= 0xff;
    let opts = UploadOptions {
        threads: 4,
        ..UploadOptions::default()
    };
    let (kind, msg) = err_of(upload_archive_bytes(&store, &broken, &opts));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        msg.contains("Bad CRC-32 for file \"bad/ABCDEF/bad.sym\""),
        "{msg}"
    );
    // Whatever was written is whole: every stored file decompresses to its original.
    let stored = files_under(dir.path());
    assert!(
        !stored.is_empty(),
        "the good members before the bad one were stored"
    );
    assert!(!stored.iter().any(|f| f.contains(".tmp.")), "{stored:?}");
    for f in &stored {
        let key = ObjectKey::parse(f.strip_prefix("v1/").unwrap()).unwrap();
        let i: usize = key.debug_file()[1..].parse().unwrap();
        assert_eq!(store.get(&key, false).unwrap().unwrap(), good[i]);
    }
    // The retry with the archive fixed skips what was stored and stores the rest.
    let r = upload_archive_bytes(&store, &zip, &opts).unwrap();
    assert_eq!(r.skipped.len(), stored.len());
    assert_eq!(r.uploaded.len() + r.skipped.len(), 21);
    assert_eq!(files_under(dir.path()).len(), 21);
}

#[test]
fn many_members_in_parallel() {
    let (_dir, store) = store();
    let bodies: Vec<Vec<u8>> = (0..300)
        .map(|i| {
            format!("MODULE Linux x86_64 {i:X}0 lib{i}.so\nINFO CODE_ID {i:X}\nFUNC 0 1 0 f\n")
                .into_bytes()
        })
        .collect();
    let names: Vec<String> = (0..300)
        .map(|i| format!("lib{i}.so/{i:X}0/lib{i}.so.sym"))
        .collect();
    let refs: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&bodies)
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let r = upload_archive_bytes(
        &store,
        &make_zip(&refs),
        &UploadOptions {
            threads: 8,
            ..UploadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.uploaded.len(), 300);
    assert!(r.symbols.iter().all(|s| s.module_mismatch.is_none()));
    for (i, b) in bodies.iter().enumerate().step_by(37) {
        assert_eq!(
            &store
                .get(&ObjectKey::parse(&names[i]).unwrap(), false)
                .unwrap()
                .unwrap(),
            b
        );
    }
}
