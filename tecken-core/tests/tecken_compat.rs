//! Current Tecken's rules where they changed after the first port: `~` in names, download
//! keys with refused characters, and debug ids a Tecken bucket holds in lower case. Each
//! test names the upstream behaviour it follows (mozilla-services/tecken).

#[cfg(feature = "s3")]
use tecken_core::PutObject;
use tecken_core::{symbolicate_v5, V5Options};
use tecken_core::{upload_archive_bytes, UploadOptions};
use tecken_core::{Download, DownloadRequest, ObjectKey, Storage, SymbolStore};
use tecken_core::{Symbolicator, SymbolicatorConfig};
use tecken_testutil::make_zip;

/// Debian's Mesa driver as Raspberry Pi OS ships it: a `~` in the version.
const GALLIUM: &str = "libgallium-24.2.8-1~bpo12+rpt1.so";
const GALLIUM_ID: &str = "0F3C1A2B4D5E6F708192A3B4C5D6E7F80";

fn gallium_sym() -> Vec<u8> {
    format!(
        "MODULE Linux arm64 {GALLIUM_ID} {GALLIUM}\n\
         INFO CODE_ID 2B1A3C0F5E4D706F8192A3B4C5D6E7F8\n\
         FILE 0 src/gallium/frontends/dri/dri_screen.c\n\
         FUNC 1000 40 0 dri_init_screen\n\
         1000 40 120 0\n"
    )
    .into_bytes()
}

fn store() -> (tempfile::TempDir, SymbolStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    (dir, store)
}

/// `~` is a valid character of debug file and file names: upload, download, syminfo and
/// v5 lookup all accept it (Tecken accepts it since 2025: mozilla-services/tecken
/// `tecken/base/utils.py` `invalid_key_name_characters` no longer lists `~`, and the
/// upload tests store such a file).
#[test]
fn tilde_names_upload_download_and_symbolicate() {
    let (_dir, store) = store();
    let sym_name = format!("{GALLIUM}.sym");
    let member = format!("{GALLIUM}/{GALLIUM_ID}/{sym_name}");
    let zip = make_zip(&[(member.as_str(), gallium_sym().as_slice())]);
    let res = upload_archive_bytes(&store, &zip, &UploadOptions::default()).unwrap();
    assert_eq!(res.uploaded.len(), 1, "{res:?}");
    assert_eq!(res.uploaded[0].key, format!("v1/{member}"));

    let got = store
        .download(&DownloadRequest::new(GALLIUM, GALLIUM_ID, &sym_name))
        .unwrap();
    let Download::Found(found) = got else {
        panic!("not found: {got:?}")
    };
    assert_eq!(found.body.unwrap(), gallium_sym());

    let info = store.syminfo(GALLIUM, GALLIUM_ID).unwrap().unwrap();
    assert_eq!(info.debug_filename, GALLIUM);

    let symbolicator = Symbolicator::new(vec![store], SymbolicatorConfig::default());
    let body = format!(
        r#"{{"jobs": [{{"memoryMap": [["{GALLIUM}", "{GALLIUM_ID}"]], "stacks": [[[0, 4106]]]}}]}}"#
    );
    let answer = symbolicate_v5(&symbolicator, body.as_bytes(), &V5Options::default());
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).unwrap();
    assert!(text.contains("\"function\": \"dri_init_screen\""), "{text}");
    let found = format!("\"found_modules\": {{\"{GALLIUM}/{GALLIUM_ID}\": true}}");
    assert!(text.contains(&found), "{text}");
}

/// The characters Tecken still refuses are refused in keys, `~` is not.
#[test]
fn refused_characters_are_the_rest_of_s3s_list() {
    assert!(ObjectKey::new(GALLIUM, GALLIUM_ID, "a.sym").is_ok());
    for bad in [
        "x%l.pdb",
        "xul#.pdb",
        "x\u{fc}l.pdb",
        "a|b.pdb",
        "a^b.pdb",
        "a\u{7}.pdb",
    ] {
        assert!(ObjectKey::new(bad, GALLIUM_ID, "a.sym").is_err(), "{bad:?}");
    }
}

/// Writes `sym` under `key` as Tecken does: gzipped, `Content-Encoding: gzip`,
/// `text/plain`, with its original size and MD5 as metadata.
#[cfg(feature = "s3")]
fn put_as_tecken(storage: &dyn Storage, key: &str, sym: &[u8]) {
    use md5::Digest;
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(sym).unwrap();
    let body = gz.finish().unwrap();
    let md5: String = md5::Md5::digest(sym)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let put = PutObject {
        content_encoding: Some("gzip"),
        content_type: Some("text/plain"),
        original: Some((sym.len() as u64, &md5)),
        ..PutObject::raw(&body)
    };
    storage.put(key, &put).unwrap();
}

/// Every key under `v1/` and `try/v1/`, sorted.
fn keys_in(storage: &dyn Storage) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["v1/", "try/v1/"] {
        storage
            .list(prefix, &mut |k, _| {
                out.push(k.to_owned());
                Ok(())
            })
            .unwrap();
    }
    out.sort();
    out
}

const LOWER_ID: &str = "a7d6f1bb18cd4cb48";
const UPPER_ID: &str = "A7D6F1BB18CD4CB48";

fn xpc_sym(text: &str) -> Vec<u8> {
    format!("MODULE windows x86_64 {UPPER_ID} xul.pdb\nINFO CODE_ID 00AA\nFUNC 10 10 0 {text}\n")
        .into_bytes()
}

/// A bucket Tecken wrote holds `v1/xul.pdb/a7d6f1bb18cd4cb48/xul.sym` (Tecken
/// stores the id in the uploader's case: mozilla-services/tecken
/// `tecken/upload/views.py` `upload_archive` keys members by `member.name` unchanged). Reading
/// (download GET and HEAD, streamed or not, syminfo, the symbolicator), skipping and
/// updating all find that object; nothing is ever written under the upper-case id beside
/// it.
fn lower_case_ids_are_found_and_updated(store: &SymbolStore, put_lower: &dyn Fn(&[u8])) {
    let storage = store.storage().as_ref();
    let lower_key = format!("v1/xul.pdb/{LOWER_ID}/xul.sym");
    let first = xpc_sym("first");
    put_lower(&first);
    assert_eq!(keys_in(storage), vec![lower_key.clone()]);

    // Downloads, by the upper-case id as every client asks, in every body mode.
    for body in [
        tecken_core::BodyMode::None,
        tecken_core::BodyMode::Decoded,
        tecken_core::BodyMode::Stored,
        tecken_core::BodyMode::DecodedStream,
    ] {
        let req = DownloadRequest {
            body,
            ..DownloadRequest::new("xul.pdb", UPPER_ID, "xul.sym")
        };
        match store.download(&req).unwrap() {
            Download::Found(f) => {
                assert_eq!(f.storage_key, lower_key, "{body:?}");
                if body == tecken_core::BodyMode::Decoded {
                    assert_eq!(f.body.unwrap(), first);
                }
                if let Some(mut s) = f.stream {
                    let mut got = Vec::new();
                    std::io::Read::read_to_end(&mut s.reader, &mut got).unwrap();
                    assert_eq!(got, first);
                }
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let info = store.syminfo("xul.pdb", UPPER_ID).unwrap().unwrap();
    assert_eq!(info.code_id.as_deref(), Some("00AA"));
    let symbolicator = Symbolicator::new(vec![store.clone()], SymbolicatorConfig::default());
    let module = symbolicator.get("xul.pdb", UPPER_ID).unwrap().unwrap();
    assert_eq!(module.index.lookup(0x12).unwrap().function, "first");

    // Uploading the same file skips it; the answer names the object that is there.
    let member = format!("xul.pdb/{UPPER_ID}/xul.sym");
    let zip = make_zip(&[(member.as_str(), first.as_slice())]);
    let res = upload_archive_bytes(store, &zip, &UploadOptions::default()).unwrap();
    assert!(res.uploaded.is_empty(), "{res:?}");
    assert_eq!(res.skipped.len(), 1);
    assert_eq!(res.skipped[0].key, lower_key);
    assert_eq!(keys_in(storage), vec![lower_key.clone()]);

    // A changed file replaces the object where it is.
    let second = xpc_sym("second");
    let zip = make_zip(&[(member.as_str(), second.as_slice())]);
    let res = upload_archive_bytes(store, &zip, &UploadOptions::default()).unwrap();
    assert_eq!(res.uploaded.len(), 1, "{res:?}");
    assert_eq!(res.uploaded[0].key, lower_key);
    assert_eq!(keys_in(storage), vec![lower_key.clone()]);
    let got = store
        .download(&DownloadRequest::new("xul.pdb", UPPER_ID, "xul.sym"))
        .unwrap();
    let Download::Found(f) = got else {
        panic!("{got:?}")
    };
    assert_eq!(f.body.unwrap(), second);

    // A new file goes under the upper-case id, as before.
    let other = format!("other.dbg/{UPPER_ID}/other.sym");
    let zip = make_zip(&[(other.as_str(), second.as_slice())]);
    upload_archive_bytes(store, &zip, &UploadOptions::default()).unwrap();
    assert_eq!(keys_in(storage), [format!("v1/{other}"), lower_key.clone()]);

    // Without the option, the lower-case object is not looked for.
    let strict = store.clone().with_options(tecken_core::StoreOptions {
        lower_case_ids: false,
        ..tecken_core::StoreOptions::default()
    });
    let got = strict
        .download(&DownloadRequest::new("xul.pdb", UPPER_ID, "xul.sym"))
        .unwrap();
    assert!(matches!(got, Download::NotFound), "{got:?}");
}

#[test]
fn lower_case_ids_in_a_local_store() {
    let (dir, store) = store();
    // The local store's own form of the file, in a directory named with the lower-case id
    // (as a copy of a Tecken bucket on disk has it).
    let put_lower = |sym: &[u8]| {
        let key = ObjectKey::new("xul.pdb", UPPER_ID, "xul.sym").unwrap();
        store
            .put_file(&key, tecken_core::Area::Regular, sym)
            .unwrap();
        let ids = dir.path().join("v1/xul.pdb");
        std::fs::rename(ids.join(UPPER_ID), ids.join(LOWER_ID)).unwrap();
    };
    lower_case_ids_are_found_and_updated(&store, &put_lower);
}

/// The same against a real S3-compatible server (`scripts/s3-server.sh start` sets
/// `TECKEN_TEST_S3_ENDPOINT`; without it the test says it was skipped).
#[cfg(feature = "s3")]
#[test]
fn lower_case_ids_in_an_s3_bucket() {
    let Some(endpoint) = std::env::var("TECKEN_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    else {
        eprintln!("skipped: TECKEN_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)");
        return;
    };
    let mut config = tecken_core::S3Config::new(&format!("tecken-compat-{}", std::process::id()));
    config.endpoint_url = Some(endpoint);
    config.region = Some("us-east-1".to_owned());
    config.access_key_id = Some("testing".to_owned());
    config.secret_access_key = Some("testing".to_owned());
    let s3 = tecken_core::S3Store::new(config).unwrap();
    s3.create_bucket_if_missing().unwrap();
    let store = SymbolStore::new(s3);
    let put_lower = |sym: &[u8]| {
        let key = format!("v1/xul.pdb/{LOWER_ID}/xul.sym");
        put_as_tecken(store.storage().as_ref(), &key, sym);
    };
    lower_case_ids_are_found_and_updated(&store, &put_lower);
}

/// syminfo finds a `.sym` by the debug file and id of its MODULE line when it was uploaded
/// under another path (Tecken's syminfo answers from what each uploaded file says of
/// itself: mozilla-services/tecken `tecken/libsym.py` `extract_sym_header_data`, kept per
/// upload). The alias is written by the upload, rebuilt by `rebuild_code_index`, and only
/// answers while the file is there.
#[test]
fn syminfo_finds_a_file_by_its_module_line() {
    let (dir, store) = store();
    // The path says uploaded.so/ABC, the MODULE line libmodule.so/0123...
    let sym = "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libmodule.so\n\
               INFO CODE_ID 89674523AB01EFCD\n\
               INFO GENERATOR mozilla/dump_syms 2.3.4\n\
               FUNC 10 10 0 f\n";
    let zip = make_zip(&[("uploaded.so/ABC/uploaded.sym", sym.as_bytes())]);
    let res = upload_archive_bytes(&store, &zip, &UploadOptions::default()).unwrap();
    assert!(res.symbols[0].module_mismatch.is_some());
    let info = store
        .syminfo("libmodule.so", "0123456789abcdef0123456789abcdef0")
        .unwrap()
        .unwrap();
    assert_eq!(info.debug_filename, "libmodule.so");
    assert_eq!(info.debug_id, "0123456789ABCDEF0123456789ABCDEF0");
    assert_eq!(info.code_id.as_deref(), Some("89674523AB01EFCD"));
    assert_eq!(info.code_file, None);
    assert_eq!(info.generator.as_deref(), Some("mozilla/dump_syms 2.3.4"));
    assert_eq!(info.storage_key(), "v1/uploaded.so/ABC/uploaded.sym");
    // Rebuilt from the headers when lost.
    std::fs::remove_dir_all(dir.path().join("moduleid")).unwrap();
    assert!(store
        .syminfo("libmodule.so", "0123456789ABCDEF0123456789ABCDEF0")
        .unwrap()
        .is_none());
    store.rebuild_code_index().unwrap();
    assert!(store
        .syminfo("libmodule.so", "0123456789ABCDEF0123456789ABCDEF0")
        .unwrap()
        .is_some());
    // Gone with the file.
    std::fs::remove_dir_all(dir.path().join("v1/uploaded.so")).unwrap();
    assert!(store
        .syminfo("libmodule.so", "0123456789ABCDEF0123456789ABCDEF0")
        .unwrap()
        .is_none());
}
