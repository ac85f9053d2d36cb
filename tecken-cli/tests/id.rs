//! `tecken id`: a binary's ids and store key, and `--fetch` of its `.sym` file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tecken(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(args)
        .output()
        .expect("run tecken")
}

fn fixture(rel: &str) -> String {
    tecken_testutil::fixture(rel).display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CDEMO_ID: &str = "9B20C1922082E26C7610452F338E86710";

#[test]
fn text_output_names_module_code_id_and_key() {
    let o = tecken(&["id", &fixture("generated/cdemo.elf"), "--name", "cdemo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "module       Linux x86_64 {CDEMO_ID} cdemo\n\
             code id      92C1209B82206CE27610452F338E8671DE8E54D3\n\
             key          cdemo/{CDEMO_ID}/cdemo.sym\n"
        )
    );
}

#[test]
fn json_output_has_every_field() {
    let o = tecken(&["id", "--json", &fixture("binaries/tiny64.dll")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "os": "windows", "arch": "x86_64",
            "debug_id": "B1EF22ADB043FF764C4C44205044422E1", "debug_file": "tiny64.pdb",
            "code_id": "18C8E99ED000", "code_file": "tiny64.dll",
            "key": "tiny64.pdb/B1EF22ADB043FF764C4C44205044422E1/tiny64.sym",
        })
    );
}

#[test]
fn the_name_defaults_to_the_file_name() {
    let o = tecken(&["id", "--json", &fixture("generated/cdemo.elf")]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["debug_file"], "cdemo.elf");
}

#[test]
fn universal_file_needs_an_arch() {
    let fat = fixture("binaries/libtiny_fat.dylib");
    let o = tecken(&["id", &fat]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("x86_64, arm64"), "{}", stderr(&o));
    let o = tecken(&["id", "--json", "--arch", "arm64", &fat]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["debug_id"], "4C4C447455553144A156208E8F08E9500");
    assert_eq!(v["code_file"], serde_json::Value::Null);
}

#[test]
fn failures_exit_1_and_usage_errors_exit_2() {
    let o = tecken(&["id", &fixture("generated/cdemo.sym")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not an ELF, Mach-O or PE file"));
    let o = tecken(&["id", "/nonexistent/binary"]);
    assert_eq!(o.status.code(), Some(1));
    // --fetch without --symbols, --symbols without --fetch, -o without --fetch.
    let elf = fixture("generated/cdemo.elf");
    for args in [
        vec!["id", &elf, "--fetch"],
        vec!["id", &elf, "--symbols", "/tmp"],
        vec!["id", &elf, "-o", "x.sym"],
        vec!["id"],
    ] {
        let o = tecken(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

/// A plain symbols tree holding cdemo's `.sym` under its key.
fn tree_with_cdemo(root: &Path) -> PathBuf {
    let dir = root.join("symbols").join("cdemo").join(CDEMO_ID);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        tecken_testutil::fixture("generated/cdemo.sym"),
        dir.join("cdemo.sym"),
    )
    .unwrap();
    root.join("symbols")
}

#[test]
fn fetch_writes_the_sym_file_of_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tree_with_cdemo(tmp.path());
    let out = tmp.path().join("out.sym");
    let o = tecken(&[
        "id",
        &fixture("generated/cdemo.elf"),
        "--name",
        "cdemo",
        "--fetch",
        "--symbols",
        symbols.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(tecken_testutil::fixture("generated/cdemo.sym")).unwrap()
    );
}

#[test]
fn fetch_defaults_to_the_key_file_name_in_the_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tree_with_cdemo(tmp.path());
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args([
            "id",
            &fixture("generated/cdemo.elf"),
            "--name",
            "cdemo",
            "--fetch",
            "--symbols",
            symbols.to_str().unwrap(),
        ])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(work.join("cdemo.sym").is_file());
}

#[test]
fn fetch_of_a_missing_module_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tree_with_cdemo(tmp.path());
    let o = tecken(&[
        "id",
        &fixture("binaries/tiny64.dll"),
        "--fetch",
        "--symbols",
        symbols.to_str().unwrap(),
        "-o",
        tmp.path().join("x.sym").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    assert!(!tmp.path().join("x.sym").exists());
}
