//! Uploads of Tecken archives into the local store: Tecken's fixtures and messages, the
//! holes Tecken leaves open, hostile archives, failure and retry.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use tecken_core::ErrorKind;
use tecken_core::ObjectKey;
use tecken_core::{
    upload_archive, upload_archive_bytes, upload_archive_path, ArchiveSource, UploadLimits,
    UploadOptions,
};
use tecken_core::{Download, DownloadRequest, SymbolStore};
use tecken_core::{PlainTreeStore, Storage};
use tecken_testutil::make_zip;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// A Tecken fixture (`fixtures/tecken/...`).
fn fixture(name: &str) -> PathBuf {
    tecken_testutil::tecken_fixtures().join(name)
}

fn store() -> (tempfile::TempDir, SymbolStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    (dir, store)
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

fn err_of(r: tecken_core::Result<tecken_core::UploadResult>) -> (ErrorKind, String) {
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

    // Stored gzipped in Tecken's layout: `v1/` is a plain symbols tree the symbolicator reads.
    let raw = std::fs::read(dir.path().join(XPCSHELL_KEY)).unwrap();
    assert_eq!(&raw[..2], b"\x1f\x8b");
    let original = zip_member(
        &fixture("zips/sample.zip"),
        "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym",
    );
    let tree = PlainTreeStore::new(dir.path().join("v1")).unwrap();
    let stored = tree
        .get("v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym")
        .unwrap()
        .expect("the plain tree has the file");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&stored.body[..]),
        &mut plain,
    )
    .unwrap();
    assert_eq!(plain, original);
    // And through the store: decompressed, or as stored for a proxy.
    let okey = ObjectKey::parse("xpcshell.dbg/a7d6f1bb18cd4cb48/xpcshell.sym").unwrap();
    assert_eq!(store.get(&okey, false).unwrap().unwrap(), original);
    let meta = store.locate(&okey, false).unwrap().unwrap().1;
    assert_eq!(meta.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.original_size, Some(1156));
    assert_eq!(meta.original_md5.as_deref(), Some(sym.md5.as_str()));
    // No temporary files left behind; the MODULE line's own name and id (`xpcshell`,
    // not the path's `xpcshell.dbg`) point syminfo at the file.
    assert_eq!(
        files_under(dir.path()),
        [
            "moduleid/xpcshell/BBACA09FD1C13F6C84254BFD8732AF400",
            "v1/flag/DEADBEEF/flag.jpeg",
            XPCSHELL_KEY
        ]
    );
    let info = store
        .syminfo("xpcshell", "BBACA09FD1C13F6C84254BFD8732AF400")
        .unwrap()
        .unwrap();
    assert_eq!(info.storage_key(), XPCSHELL_KEY);
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

// ---- hardening: zip tricks, code-id scope, names, leftovers, symlinks ----

/// An archive whose central directory has `n` entries, named `m/{i:04X}/m.sym`, all
/// pointing at the one local header and data of a member of `data`: Python's zipfile
/// calls this "Overlapped entries (possible zip bomb)".
fn overlapping_zip(data: &[u8], n: usize) -> Vec<u8> {
    let one = make_zip(&[("m/0000/m.sym", data)]);
    let cd = one.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let eocd = one.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let entry = &one[cd..eocd];
    let mut out = one[..cd].to_vec();
    for i in 0..n {
        let mut e = entry.to_vec();
        e[46..46 + 12].copy_from_slice(format!("m/{i:04X}/m.sym").as_bytes());
        out.extend_from_slice(&e);
    }
    let mut end = one[eocd..].to_vec();
    end[8..10].copy_from_slice(&(n as u16).to_le_bytes());
    end[10..12].copy_from_slice(&(n as u16).to_le_bytes());
    end[12..16].copy_from_slice(&((out.len() - cd) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn overlapping_members_are_refused_before_anything_is_written() {
    let (dir, store) = store();
    // 1 MiB of zeros, once, behind 200 directory entries: 200 MiB from a few KiB.
    let zip = overlapping_zip(&vec![0u8; 1 << 20], 200);
    assert!(zip.len() < 20_000, "{}", zip.len());
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(msg.contains("Overlapped entries"), "{msg}");
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn a_member_whose_data_runs_into_the_central_directory_is_refused() {
    let (dir, store) = store();
    let sym = pe_sym();
    let mut zip = make_zip(&[("xul.pdb/ABC/xul.sym", &sym)]);
    // Declare a compressed size reaching into the central directory: the deflate stream
    // ends where it really ends, so only the overlap check can notice.
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let csize = u32::from_le_bytes(zip[cd + 20..cd + 24].try_into().unwrap());
    zip[cd + 20..cd + 24].copy_from_slice(&(csize + 40).to_le_bytes());
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(
        msg.contains("Overlapped entries: 'xul.pdb/ABC/xul.sym'"),
        "{msg}"
    );
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn members_of_exactly_one_mib_are_not_exempt_from_the_ratio_limit() {
    let (dir, store) = store();
    let zeros = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..20).map(|i| format!("m{i}.pdb/AB/m{i}.sym")).collect();
    let refs: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &zeros[..])).collect();
    let zip = make_zip(&refs);
    assert!(zip.len() < 100_000, "{}", zip.len());
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::LimitExceeded, "{msg}");
    assert!(msg.contains("compression ratio"), "{msg}");
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn many_small_compressible_members_hit_the_archive_wide_ratio_limit() {
    let (dir, store) = store();
    // Each member is below the per-member ratio threshold; together they are a bomb.
    let zeros = vec![0u8; 60_000];
    let names: Vec<String> = (0..400).map(|i| format!("m{i}.pdb/AB/m{i}.sym")).collect();
    let refs: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &zeros[..])).collect();
    let zip = make_zip(&refs);
    let total = 400 * 60_000u64;
    assert!(
        total > 200 * zip.len() as u64 + (1 << 20),
        "{} bytes of archive",
        zip.len()
    );
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::LimitExceeded, "{msg}");
    assert!(msg.contains("compression ratio limit of 200"), "{msg}");
    assert!(files_under(dir.path()).is_empty());
    // The same members, less compressible, are fine.
    let text: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            (0..6000u32)
                .flat_map(|j| format!("{:08x}\n", j.wrapping_mul(2654435761) ^ i).into_bytes())
                .collect()
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&text)
        .map(|(n, t)| (n.as_str(), t.as_slice()))
        .collect();
    let r = upload_archive_bytes(&store, &make_zip(&refs), &UploadOptions::default()).unwrap();
    assert_eq!(r.uploaded.len(), 40);
}

fn xul_sym(debug_id: &str) -> Vec<u8> {
    format!(
        "MODULE windows x86_64 {debug_id} xul.pdb\nINFO CODE_ID 5D7BD8F4A0A000 xul.dll\nFUNC 0 1 0 f\n"
    )
    .into_bytes()
}

fn code_id_target(store: &SymbolStore) -> (String, bool) {
    let e = store
        .lookup_code_id("xul.dll", "5D7BD8F4A0A000")
        .unwrap()
        .unwrap();
    (e.debug_id, e.try_symbols)
}

#[test]
fn a_try_upload_never_repoints_a_regular_code_id_entry() {
    const REGULAR: &str = "44E4EC8C2F41492B9369D6B9A059577C2";
    const TRY: &str = "0123456789ABCDEF0123456789ABCDEF1";
    let (_dir1, store1) = store();
    let regular = make_zip(&[(&format!("xul.pdb/{REGULAR}/xul.sym"), &xul_sym(REGULAR))]);
    let try_zip = make_zip(&[(&format!("xul.pdb/{TRY}/xul.sym"), &xul_sym(TRY))]);
    let try_opts = UploadOptions {
        try_symbols: true,
        ..UploadOptions::default()
    };
    upload_archive_bytes(&store1, &regular, &UploadOptions::default()).unwrap();
    let r = upload_archive_bytes(&store1, &try_zip, &try_opts).unwrap();
    assert_eq!(r.uploaded.len(), 1, "the Try file itself is stored");

    // The index, syminfo and the download's code-id redirect still give the regular one.
    assert_eq!(code_id_target(&store1), (REGULAR.to_owned(), false));
    let info = store1
        .syminfo("xul.dll", "5d7bd8f4a0a000")
        .unwrap()
        .unwrap();
    assert_eq!(info.debug_id, REGULAR);
    assert_eq!(info.area, tecken_core::Area::Regular);
    let mut req = DownloadRequest::new("xul.dll", "5D7BD8F4A0A000", "xul.sym");
    req.try_symbols = true;
    match store1.download(&req).unwrap() {
        Download::Redirect(k) => assert_eq!(k.path(), format!("xul.pdb/{REGULAR}/xul.sym")),
        other => panic!("{other:?}"),
    }

    // The other way round, a regular upload replaces a Try entry; a Try one replaces a Try
    // one (the latest wins, as in Tecken).
    let (_dir, store) = store();
    upload_archive_bytes(&store, &try_zip, &try_opts).unwrap();
    assert_eq!(code_id_target(&store), (TRY.to_owned(), true));
    const TRY2: &str = "FEDCBA9876543210FEDCBA98765432101";
    let try2 = make_zip(&[(&format!("xul.pdb/{TRY2}/xul.sym"), &xul_sym(TRY2))]);
    upload_archive_bytes(&store, &try2, &try_opts).unwrap();
    assert_eq!(code_id_target(&store), (TRY2.to_owned(), true));
    upload_archive_bytes(&store, &regular, &UploadOptions::default()).unwrap();
    assert_eq!(code_id_target(&store), (REGULAR.to_owned(), false));
}

#[test]
fn a_255_byte_file_name_is_stored_and_a_longer_one_is_refused_up_front() {
    let (dir, store) = store();
    let long = format!("{}.sym", "x".repeat(251));
    assert_eq!(long.len(), 255);
    let name = format!("x.pdb/ABC/{long}");
    let r = upload_archive_bytes(
        &store,
        &make_zip(&[(&name, b"MODULE Linux x86 ABC x.pdb\n")]),
        &UploadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.uploaded[0].key, format!("v1/{name}"));
    assert!(dir.path().join("v1").join(&name).is_file());
    assert!(!files_under(dir.path()).iter().any(|f| f.contains(".tmp.")));

    let (dir2, store2) = crate::store();
    let too_long = format!("x.pdb/ABC/{}.sym", "y".repeat(252));
    let (kind, msg) = err_of(upload_archive_bytes(
        &store2,
        &make_zip(&[
            ("a.pdb/ABC/a.sym", b"MODULE Linux x86 ABC a.pdb\n"),
            (&too_long, b"x"),
        ]),
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(
        msg.starts_with("File name too long in archive: 'x.pdb/ABC/yyy"),
        "{msg}"
    );
    assert!(files_under(dir2.path()).is_empty(), "nothing written");
}

#[test]
fn a_failed_store_write_names_the_key_not_the_store_path() {
    let (dir, store) = store();
    // `v1/a.pdb` is a file, so `v1/a.pdb/ABC/a.sym` cannot be written.
    std::fs::create_dir_all(dir.path().join("v1")).unwrap();
    std::fs::write(dir.path().join("v1/a.pdb"), b"in the way").unwrap();
    let zip = make_zip(&[("a.pdb/ABC/a.sym", b"MODULE Linux x86 ABC a.pdb\n")]);
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::Io, "{msg}");
    let root = dir.path().to_string_lossy().into_owned();
    assert!(!msg.contains(&root), "{msg}");
    assert!(msg.contains("v1/a.pdb"), "{msg}");
}

#[test]
fn ids_differing_only_in_case_with_different_content_are_refused() {
    let (dir, store) = store();
    // Same size, different bytes: before, one was silently dropped.
    let zip = make_zip(&[
        ("a.pdb/abc/a.sym", b"MODULE w x86 ABC a.pdb\nA\n"),
        ("a.pdb/ABC/a.sym", b"MODULE w x86 ABC a.pdb\nB\n"),
    ]);
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        msg.contains("'a.pdb/abc/a.sym' and 'a.pdb/ABC/a.sym' have different contents"),
        "{msg}"
    );
    assert!(files_under(dir.path()).is_empty());
    // Identical twins are one file.
    let zip = make_zip(&[
        ("a.pdb/abc/a.sym", b"MODULE w x86 ABC a.pdb\nA\n"),
        ("a.pdb/ABC/a.sym", b"MODULE w x86 ABC a.pdb\nA\n"),
    ]);
    let r = upload_archive_bytes(&store, &zip, &UploadOptions::default()).unwrap();
    assert_eq!(r.uploaded.len(), 1);
}

#[test]
fn a_corrupt_deflate_stream_is_invalid_input_naming_the_member() {
    let (dir, store) = store();
    let mut zip = make_zip(&[("x.pdb/ABC/x.sym", &pe_sym())]);
    // The first byte of the deflate data: BTYPE 11 is reserved, an invalid block.
    let name_len = u16::from_le_bytes([zip[26], zip[27]]) as usize;
    let extra_len = u16::from_le_bytes([zip[28], zip[29]]) as usize;
    zip[30 + name_len + extra_len] = 0xff;
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(msg.contains("x.pdb/ABC/x.sym"), "{msg}");
    assert!(msg.contains("corrupt deflate stream"), "{msg}");
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn stale_spool_files_are_removed_by_name_and_age() {
    use std::time::{Duration, SystemTime};
    use tecken_core::remove_stale_spool_files;
    // The spool files' documented names: `tecken-upload-*.zip`.
    const SPOOL_FILE_PREFIX: &str = "tecken-upload-";
    let dir = tempfile::tempdir().unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    let make = |name: &str, old: bool| {
        let f = std::fs::File::create(dir.path().join(name)).unwrap();
        if old {
            f.set_modified(two_hours_ago).unwrap();
        }
    };
    let stale = format!("{SPOOL_FILE_PREFIX}123-456-0.zip");
    let fresh = format!("{SPOOL_FILE_PREFIX}AbCdEf.zip");
    make(&stale, true);
    make(&fresh, false);
    make("notes.zip", true);
    make("tecken-upload-1.zip.keep", true);
    let removed = remove_stale_spool_files(dir.path(), Duration::from_secs(3600)).unwrap();
    assert_eq!(removed, 1);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["notes.zip", "tecken-upload-1.zip.keep", fresh.as_str()]
    );
    assert_eq!(
        remove_stale_spool_files(&dir.path().join("missing"), Duration::ZERO).unwrap(),
        0
    );
}

#[cfg(unix)]
#[test]
fn uploads_never_write_through_a_symlink_in_the_store() {
    let (dir, store) = store();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("v1")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("v1/x.pdb")).unwrap();
    let zip = make_zip(&[("x.pdb/ABC/x.sym", b"MODULE Linux x86 ABC x.pdb\n")]);
    let (kind, msg) = err_of(upload_archive_bytes(
        &store,
        &zip,
        &UploadOptions::default(),
    ));
    assert_eq!(kind, ErrorKind::Io, "{msg}");
    assert!(msg.contains("v1/x.pdb is a symbolic link"), "{msg}");
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "nothing written outside the store"
    );
}

#[test]
fn a_missing_archive_file_is_not_found_not_an_io_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path().join("store")).unwrap();
    let err = upload_archive_path(
        &store,
        &dir.path().join("missing.zip"),
        &UploadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        !err.to_string().contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
}
