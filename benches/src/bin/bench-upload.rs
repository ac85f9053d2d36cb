//! `bench-upload`: upload throughput, a ~200 MB archive of `.sym` files into the local store
//! and into S3, against the same work done the way Tecken does it (Python: `zipfile` extract,
//! `hashlib.md5`, `gzip` level 9, `put_object`), in the same run, with ratios.
//!
//! ```text
//! benches/run.sh store                          # builds, starts the S3 server, runs this
//! cargo run --release -p tecken-benches --features s3 --bin bench-upload -- \
//!     [--size-mb 200] [--threads 4] [--dir bench-out/upload] [--python .venv/bin/python]
//! ```
//!
//! The S3 part ends with cold against warm symbolication of one 120 MB module stored in S3
//! (download + gunzip + index build + lookup, then the same lookup on the open module, then
//! on a new symbolicator that finds the index in its disk cache).
//!
//! S3 runs only when `TECKEN_TEST_S3_ENDPOINT` is set (and the `s3` feature is on); the
//! Python side (`benches/store/tecken_upload.py`) needs `boto3` for S3 (moto's server
//! installs it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tecken_core::SymbolStore;
use tecken_core::{upload_archive_path, UploadOptions};

struct Args {
    size_mb: u64,
    threads: usize,
    dir: PathBuf,
    python: PathBuf,
}

fn parse_args() -> Args {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut a = Args {
        size_mb: 200,
        threads: 4,
        dir: root.join("bench-out/upload"),
        python: root.join(".venv/bin/python"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--size-mb" => a.size_mb = v.parse().expect("--size-mb N"),
            "--threads" => a.threads = v.parse().expect("--threads N"),
            "--dir" => a.dir = PathBuf::from(v),
            "--python" => a.python = PathBuf::from(v),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A deterministic, dump_syms-like `.sym` of about `size` bytes.
fn synthetic_sym(index: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 4096);
    let id = format!("{:032X}0", (index as u128 + 1) * 0x9E37_79B9_7F4A_7C15);
    writeln!(out, "MODULE windows x86_64 {id} lib{index}.pdb").unwrap();
    writeln!(
        out,
        "INFO CODE_ID {:X} lib{index}.dll",
        0x005D_7BD8_F4A0_A000u64 + index as u64
    )
    .unwrap();
    writeln!(out, "INFO GENERATOR mozilla/dump_syms 2.3.7").unwrap();
    for f in 0..400 {
        writeln!(out, "FILE {f} hg:hg.mozilla.org/mozilla-central:dom/module{index}/src/file_{f}.cpp:9cc4ba78daca").unwrap();
    }
    let mut state: u64 = 0x2545_F491_4F6C_DD1D ^ index as u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut addr: u64 = 0x1000;
    let mut n = 0u64;
    while out.len() < size {
        let len = 0x20 + rnd() % 0x400;
        writeln!(out, "FUNC {addr:x} {len:x} {} mozilla::dom::Class{}::Method{n}(int, nsTSubstring<char16_t> const&)", rnd() % 64, rnd() % 500).unwrap();
        let mut a = addr;
        while a < addr + len {
            let step = 1 + rnd() % 24;
            writeln!(out, "{a:x} {step:x} {} {}", 1 + rnd() % 3000, rnd() % 400).unwrap();
            a += step;
        }
        addr += len + rnd() % 16;
        n += 1;
    }
    out
}

fn make_archive(path: &Path, size_mb: u64) -> (u64, usize) {
    let files = (size_mb / 5).max(1) as usize;
    let each = (size_mb << 20) as usize / files;
    let mut w = zip::ZipWriter::new(std::io::BufWriter::new(
        std::fs::File::create(path).unwrap(),
    ));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    let mut total = 0u64;
    for i in 0..files {
        let body = synthetic_sym(i, each);
        let id = String::from_utf8_lossy(&body[22..55]).into_owned();
        w.start_file(format!("lib{i}.pdb/{id}/lib{i}.sym"), opts)
            .unwrap();
        w.write_all(&body).unwrap();
        total += body.len() as u64;
    }
    w.finish().unwrap();
    (total, files)
}

fn run_python(args: &Args, zip: &Path, mode: &str, dest: &str) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("store/tecken_upload.py");
    let out = Command::new(&args.python)
        .arg(&script)
        .args([zip.to_str()?, mode, dest, &args.threads.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python ({mode}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()?
        .parse()
        .ok()
}

fn report(name: &str, rust: f64, python: Option<f64>, mb: f64) {
    match python {
        Some(py) => println!(
            "{name:<6} rust {rust:7.2} s {:8.1} MB/s | tecken-python {py:7.2} s {:8.1} MB/s | speed-up x{:.2}",
            mb / rust,
            mb / py,
            py / rust
        ),
        None => println!("{name:<6} rust {rust:7.2} s {:8.1} MB/s | tecken-python n/a", mb / rust),
    }
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).unwrap();
    let zip = args.dir.join(format!("symbols-{}mb.zip", args.size_mb));
    let t = Instant::now();
    let (total, files) = make_archive(&zip, args.size_mb);
    let zip_len = std::fs::metadata(&zip).unwrap().len();
    let mb = total as f64 / 1e6;
    println!(
        "archive: {files} .sym files, {mb:.1} MB uncompressed, {:.1} MB zipped (generated in {:.1} s); {} threads each side",
        zip_len as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        args.threads
    );
    let opts = UploadOptions {
        threads: args.threads,
        ..UploadOptions::default()
    };

    // Local store.
    let local_dir = args.dir.join("local-rust");
    let _ = std::fs::remove_dir_all(&local_dir);
    let store = SymbolStore::local(&local_dir).unwrap();
    let t = Instant::now();
    let r = upload_archive_path(&store, &zip, &opts).unwrap();
    let rust_local = t.elapsed().as_secs_f64();
    assert_eq!(r.uploaded.len(), files);
    let stored: u64 = r.uploaded.iter().map(|f| f.stored_size).sum();
    let py_dir = args.dir.join("local-python");
    let _ = std::fs::remove_dir_all(&py_dir);
    let py_local = run_python(&args, &zip, "local", py_dir.to_str().unwrap_or_default());
    println!(
        "stored (gzip level {}): {:.1} MB",
        store.options().gzip_level,
        stored as f64 / 1e6
    );
    report("local", rust_local, py_local, mb);
    let t = Instant::now();
    let again = upload_archive_path(&store, &zip, &opts).unwrap();
    assert_eq!(again.skipped.len(), files);
    println!(
        "local re-upload (all skipped after MD5 check): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // S3.
    #[cfg(feature = "s3")]
    if let Ok(ep) = std::env::var("TECKEN_TEST_S3_ENDPOINT") {
        use tecken_core::{S3Config, S3Store};
        let mut c = S3Config::new(&format!("bench-{}", std::process::id()));
        c.endpoint_url = Some(ep.clone());
        c.region = Some("us-east-1".into());
        c.access_key_id = Some("testing".into());
        c.secret_access_key = Some("testing".into());
        let s3 = S3Store::new(c).unwrap();
        s3.create_bucket_if_missing().unwrap();
        let store = SymbolStore::new(s3);
        let t = Instant::now();
        let r = upload_archive_path(&store, &zip, &opts).unwrap();
        let rust_s3 = t.elapsed().as_secs_f64();
        assert_eq!(r.uploaded.len(), files);
        let py_s3 = run_python(
            &args,
            &zip,
            "s3",
            &format!("{ep},bench-py-{}", std::process::id()),
        );
        report("s3", rust_s3, py_s3, mb);
        cold_from_s3(&store, &args.dir);
    }
    #[cfg(not(feature = "s3"))]
    println!("s3: skipped (build with --features s3)");
}

/// Cold (download + build + lookup) against warm symbolication of a 120 MB module in S3.
#[cfg(feature = "s3")]
fn cold_from_s3(store: &SymbolStore, dir: &Path) {
    use tecken_core::{Area, ObjectKey};
    use tecken_core::{Symbolicator, SymbolicatorConfig};

    let sym = synthetic_sym(9999, 120 << 20);
    let id = String::from_utf8_lossy(&sym[22..55]).into_owned();
    let key = ObjectKey::new("big.pdb", &id, "big.sym").unwrap();
    let sym = {
        // Name the module as its key.
        let text = String::from_utf8(sym).unwrap();
        text.replacen("lib9999.pdb", "big.pdb", 1).into_bytes()
    };
    store.put_file(&key, Area::Regular, &sym).unwrap();
    let cache = dir.join("s3-cold-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let config = SymbolicatorConfig {
        cache_dir: Some(cache),
        ..SymbolicatorConfig::default()
    };
    let source = store.clone();
    let addr = 0x1000 + 0x10;

    let cold = Symbolicator::new(vec![source.clone()], config.clone());
    let t = Instant::now();
    let m = cold.get("big.pdb", &id).unwrap().expect("stored module");
    let f = m.index.lookup(addr).map(|f| f.function.to_owned());
    let cold_s = t.elapsed().as_secs_f64();
    assert!(f.is_some());

    let t = Instant::now();
    let reps = 1000;
    for _ in 0..reps {
        let m = cold.get("big.pdb", &id).unwrap().unwrap();
        std::hint::black_box(m.index.lookup(addr).map(|f| f.line));
    }
    let warm_s = t.elapsed().as_secs_f64() / f64::from(reps);

    let disk = Symbolicator::new(vec![source], config);
    let t = Instant::now();
    let m = disk.get("big.pdb", &id).unwrap().unwrap();
    std::hint::black_box(m.index.lookup(addr).map(|f| f.line));
    let disk_s = t.elapsed().as_secs_f64();
    println!(
        "s3 cold symbolication of a {:.0} MB module ({:.0} MB gzipped in S3): {:.2} s = {:.0} MB/s \
         (download + gunzip + build + lookup)",
        sym.len() as f64 / 1e6,
        store_size(store, &key) as f64 / 1e6,
        cold_s,
        sym.len() as f64 / 1e6 / cold_s
    );
    println!(
        "s3 warm: module open {:.2} us per get + lookup (cold/warm x{:.0}); index on local disk, \
         new process: {:.2} ms (cold/disk x{:.0})",
        warm_s * 1e6,
        cold_s / warm_s,
        disk_s * 1e3,
        cold_s / disk_s
    );
}

#[cfg(feature = "s3")]
fn store_size(store: &SymbolStore, key: &tecken_core::ObjectKey) -> u64 {
    store
        .locate(key, false)
        .ok()
        .flatten()
        .map_or(0, |(_, meta)| meta.size)
}
