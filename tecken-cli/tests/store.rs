//! End-to-end tests of `tecken upload`, `tecken get`, `tecken syminfo`, and `tecken
//! symbolicate` over a store made by `tecken upload`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tecken(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(args)
        .output()
        .expect("run tecken")
}

fn root() -> PathBuf {
    tecken_testutil::repo_root()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

const XUL_ID: &str = "0185139C8F04FFC94C4C44205044422E1";
const CPPDEMO_ID: &str = "FDD23AFA0DDD7B5AE474BC0754AE06FE0";

fn xul_sym() -> Vec<u8> {
    std::fs::read(root().join(format!("fixtures/tecken/eliot/xul-pe.{XUL_ID}.sym"))).unwrap()
}

fn cppdemo_sym() -> Vec<u8> {
    std::fs::read(root().join("fixtures/generated/cppdemo.sym")).unwrap()
}

/// A Tecken upload archive: two `.sym` files (one with a lower-case debug id, as old
/// upload tools wrote them) and a `*-symbols.txt` that Tecken ignores.
fn archive(dir: &Path) -> PathBuf {
    let path = dir.join("symbols.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file(format!("xul.pdb/{}/xul.sym", XUL_ID.to_lowercase()), opts)
        .unwrap();
    z.write_all(&xul_sym()).unwrap();
    z.start_file(format!("cppdemo/{CPPDEMO_ID}/cppdemo.sym"), opts)
        .unwrap();
    z.write_all(&cppdemo_sym()).unwrap();
    z.start_file("firefox-symbols.txt", opts).unwrap();
    z.write_all(b"xul.pdb\n").unwrap();
    z.finish().unwrap();
    path
}

#[test]
fn upload_get_syminfo_and_symbolicate_over_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = archive(tmp.path());
    let store = tmp.path().join("store");
    let store_s = store.to_str().unwrap();

    // Upload: two files stored (debug ids upper-cased), the list file ignored.
    let o = tecken(&["upload", zip.to_str().unwrap(), "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&o);
    let keys: Vec<&str> = r["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            format!("v1/cppdemo/{CPPDEMO_ID}/cppdemo.sym"),
            format!("v1/xul.pdb/{XUL_ID}/xul.sym")
        ]
    );
    assert_eq!(r["ignored"][0]["member"], "firefox-symbols.txt");
    assert!(stderr(&o).contains("2 uploaded"), "{}", stderr(&o));
    // Stored gzipped, as Tecken stores a .sym.
    let stored = std::fs::read(store.join(format!("v1/xul.pdb/{XUL_ID}/xul.sym"))).unwrap();
    assert_eq!(&stored[..2], &[0x1f, 0x8b]);

    // The same archive again: nothing written, both skipped (Tecken's dedup).
    let o = tecken(&["upload", zip.to_str().unwrap(), "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["uploaded"].as_array().unwrap().len(), 0);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 2);

    // Get, with the debug id in any case: the original bytes.
    let key = format!("xul.pdb/{}/xul.sym", XUL_ID.to_lowercase());
    let o = tecken(&["get", &key, "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, xul_sym());
    let out = tmp.path().join("out.sym");
    let o = tecken(&[
        "get",
        &format!("cppdemo/{CPPDEMO_ID}/cppdemo.sym"),
        "--store",
        store_s,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), cppdemo_sym());

    // The code file and code id resolve like Tecken's redirect.
    let o = tecken(&["get", "xul.dll/60533C886EFD000/xul.sym", "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, xul_sym());
    assert!(stderr(&o).contains(&format!("xul.pdb/{XUL_ID}/xul.sym")));

    // --exists: exit status only.
    let o = tecken(&["get", &key, "--store", store_s, "--exists"]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty());

    // Syminfo by code file and id, and by debug file and id.
    let o = tecken(&["syminfo", "xul.dll", "60533c886efd000", "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["debug_filename"], "xul.pdb");
    assert_eq!(v["debug_id"], XUL_ID);
    assert_eq!(v["code_file"], "xul.dll");
    assert_eq!(v["code_id"], "60533C886EFD000");
    assert_eq!(v["url"], format!("xul.pdb/{XUL_ID}/xul.sym"));
    let o = tecken(&["syminfo", "cppdemo", CPPDEMO_ID, "--store", store_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["code_id"], "FA3AD2FDDD0D5A7BE474BC0754AE06FEDFEBF61B");
    assert_eq!(v["generator"], "mozilla/dump_syms 2.3.9");

    // The store is a symbolicator source as it is (its v1/ area, gzipped files).
    let req = tmp.path().join("req.json");
    std::fs::write(
        &req,
        format!(
            r#"{{"memoryMap": [["cppdemo", "{CPPDEMO_ID}"], ["nothere.pdb", "{XUL_ID}"]], "stacks": [[[0, 13498], [1, 16]]]}}"#
        ),
    )
    .unwrap();
    let o = tecken(&["symbolicate", "--symbols", store_s, req.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let job = &v["results"][0];
    assert_eq!(job["found_modules"][format!("cppdemo/{CPPDEMO_ID}")], true);
    assert_eq!(job["found_modules"][format!("nothere.pdb/{XUL_ID}")], false);
    assert!(job["stacks"][0][0]["function"].as_str().is_some());
}

#[test]
fn try_uploads_are_only_found_when_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = archive(tmp.path());
    let store = tmp.path().join("store");
    let store_s = store.to_str().unwrap();
    let o = tecken(&["upload", zip.to_str().unwrap(), "--store", store_s, "--try"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["try_symbols"], true);
    assert!(store
        .join(format!("try/v1/xul.pdb/{XUL_ID}/xul.sym"))
        .is_file());
    let key = format!("xul.pdb/{XUL_ID}/xul.sym");
    let o = tecken(&["get", &key, "--store", store_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    let o = tecken(&["get", &key, "--store", store_s, "--try"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, xul_sym());
}

#[test]
fn a_chain_of_stores_is_read_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = archive(tmp.path());
    let second = tmp.path().join("second");
    let first = tmp.path().join("first");
    std::fs::create_dir(&first).unwrap();
    let o = tecken(&[
        "upload",
        zip.to_str().unwrap(),
        "--store",
        second.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let chain = format!("{},{}", first.display(), second.display());
    let o = tecken(&[
        "get",
        &format!("xul.pdb/{XUL_ID}/xul.sym"),
        "--store",
        &chain,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, xul_sym());
}

#[test]
fn bad_archives_and_bad_arguments_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store_s = store.to_str().unwrap();
    let zips = root().join("fixtures/tecken/zips");

    // Not a zip, despite its name: Tecken's message, exit 1, nothing stored.
    let o = tecken(&[
        "upload",
        zips.join("notazipdespiteitsname.zip").to_str().unwrap(),
        "--store",
        store_s,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("zip"), "{}", stderr(&o));
    // Duplicate names with different sizes.
    let o = tecken(&[
        "upload",
        zips.join("duplicated-different-size.zip").to_str().unwrap(),
        "--store",
        store_s,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("ntdll.sym"), "{}", stderr(&o));
    assert!(
        !store.join("v1").exists() || std::fs::read_dir(store.join("v1")).unwrap().count() == 0
    );

    // Usage errors: exit 2.
    let zip = archive(tmp.path());
    for args in [
        vec![
            "upload",
            zip.to_str().unwrap(),
            "--store",
            "https://symbols.example/",
        ],
        vec!["upload", zip.to_str().unwrap(), "--store", "s3://"],
        vec!["upload", "/nonexistent.zip", "--store", store_s],
        vec!["get", "only/two", "--store", store_s],
        vec!["get", "a/b/c.sym", "--store", "ftp://x/"],
        vec!["symbolicate", "--symbols", "s3://A"],
    ] {
        let o = tecken(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }

    // Path traversal in a key never leaves the store.
    let o = tecken(&["get", "../../etc/passwd/x.sym", "--store", store_s]);
    assert_ne!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());

    // Not found: exit 1 with a message.
    let o = tecken(&["syminfo", "xul.dll", "ABC", "--store", store_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}
