//! The index cache under hostile requests and bad luck: nothing written for modules that
//! exist nowhere, long names, leftovers of killed processes, bad gzip files, and indexes
//! changed or truncated on disk while they are mapped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tecken_core::{ModuleProvider, ModuleStatus};
use tecken_core::{PlainTreeStore, SymbolStore};
use tecken_core::{Symbolicator, SymbolicatorConfig};

const ID: &str = "D48F191186D67E69DF025AD71FB91E1F0";

fn sym_text(name: &str) -> String {
    format!(
        "MODULE Linux x86_64 {ID} {name}\nFILE 0 /src/main.rs\nFUNC 5380 44 0 testproj::main\n5380 9 1 0\n5389 3b 2 0\n"
    )
}

/// Writes `{root}/{debug_file}/{ID}/{sym_file}` with `body`.
fn put(root: &Path, debug_file: &str, body: &[u8]) -> PathBuf {
    let key = tecken_core::ObjectKey::for_module(debug_file, ID).unwrap();
    let sym_file = key.file();
    let d = root.join(debug_file).join(ID);
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(sym_file);
    std::fs::write(&p, body).unwrap();
    p
}

fn symbolicator(
    symbols: &Path,
    cache: Option<&Path>,
    f: impl FnOnce(&mut SymbolicatorConfig),
) -> Symbolicator {
    let mut config = SymbolicatorConfig {
        cache_dir: cache.map(Path::to_owned),
        ..SymbolicatorConfig::default()
    };
    f(&mut config);
    let src = SymbolStore::new(PlainTreeStore::new(symbols).unwrap());
    Symbolicator::new(vec![src], config)
}

/// Every file and directory under `dir`, relative.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                go(base, &p, out);
            }
        }
    }
    go(dir, dir, &mut out);
    out.sort();
    out
}

fn function_at(s: &Symbolicator, debug_file: &str, addr: u64) -> Option<String> {
    let m = s.get(debug_file, ID).unwrap()?;
    m.index.lookup(addr).map(|f| f.function.to_owned())
}

#[test]
fn modules_that_exist_nowhere_leave_nothing_in_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    std::fs::create_dir_all(&symbols).unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    // No negative cache: every request goes down to the sources, as after a restart.
    let s = symbolicator(&symbols, Some(&cache), |c| c.negative_ttl = Duration::ZERO);
    for round in 0..3 {
        for i in 0..200 {
            let (st, _) = s.module(&format!("random{round}-{i}.pdb"), &format!("{i:033X}"));
            assert!(matches!(st, ModuleStatus::NotFound));
        }
    }
    // A .sym whose MODULE line names another id is unusable: nothing for it either.
    put(
        &symbols,
        "other.so",
        sym_text("other.so").replace(ID, "0123").as_bytes(),
    );
    assert!(s.get("other.so", ID).unwrap().is_none());
    // Only the cache's record of its last housekeeping and the (empty) lock directory,
    // nothing per module.
    assert_eq!(entries(&cache), [".locks", ".swept"]);

    // A module that exists gets its index and nothing else.
    put(&symbols, "testproj", sym_text("testproj").as_bytes());
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
    assert_eq!(
        entries(&cache),
        [
            ".locks".to_owned(),
            ".swept".to_owned(),
            "testproj".to_owned(),
            format!("testproj/{ID}"),
            format!("testproj/{ID}/testproj.sym.tidx"),
        ]
    );
}

/// A crash processor (one process per crash) asks for every module of a dump, most of
/// which (system libraries) no symbol directory has: with only local sources, a miss is
/// two failed lookups per source, without the cross-process lock (a lock file created and
/// unlinked, journaled, per module and process), and is still recorded as missing.
#[test]
fn a_module_no_local_source_has_takes_no_lock_and_is_recorded_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    put(&symbols, "testproj", sym_text("testproj").as_bytes());
    let store_dir = tmp.path().join("store");
    let cache = tmp.path().join("cache");
    let missing = std::sync::Arc::new(tecken_core::MissingSymbols::new(100));
    let sources = vec![
        SymbolStore::new(PlainTreeStore::new(&symbols).unwrap()),
        SymbolStore::local(&store_dir)
            .unwrap()
            .with_missing_symbols(missing.clone()),
    ];
    let config = SymbolicatorConfig {
        cache_dir: Some(cache.clone()),
        ..SymbolicatorConfig::default()
    };
    let s = Symbolicator::new(sources, config);
    assert!(matches!(
        s.module("ntdll.pdb", ID).0,
        ModuleStatus::NotFound
    ));
    let written = entries(&cache);
    assert!(
        written.iter().all(|e| e == ".swept"),
        "no lock was taken, nothing written: {written:?}"
    );
    let recorded = missing.snapshot().unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].debug_file, "ntdll.pdb");
    // A module a source has is still built under the lock (one build for all processes).
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
    assert!(cache.join(".locks").is_dir());
    assert!(cache
        .join("testproj")
        .join(ID)
        .join("testproj.sym.tidx")
        .is_file());
}

#[test]
fn long_debug_file_name_is_found_with_and_without_a_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    let name = format!("{}.so", "l".repeat(247));
    assert_eq!(name.len(), 250);
    put(&symbols, &name, sym_text(&name).as_bytes());
    let cache = tmp.path().join("cache");
    let without = symbolicator(&symbols, None, |_| {});
    let with = symbolicator(&symbols, Some(&cache), |_| {});
    assert_eq!(
        function_at(&without, &name, 0x5381).as_deref(),
        Some("testproj::main")
    );
    assert_eq!(
        function_at(&with, &name, 0x5381).as_deref(),
        Some("testproj::main")
    );
    // ... and from the cache, in a fresh process.
    let again = symbolicator(&tmp.path().join("nothing"), Some(&cache), |_| {});
    let (st, stats) = again.module(&name, ID);
    assert!(matches!(st, ModuleStatus::Found(_)));
    assert!(stats.cache_hit, "the index was cached under a shorter name");
}

fn set_age(p: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    let t = SystemTime::now() - age;
    f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

#[test]
fn temp_files_and_locks_left_by_killed_processes_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    put(&symbols, "testproj", sym_text("testproj").as_bytes());
    let cache = tmp.path().join("cache");
    let d = cache.join("xul.pdb").join(ID);
    std::fs::create_dir_all(&d).unwrap();
    // What `kill -9` during a build leaves: a temporary index and the module's lock.
    let stale = d.join(".xul.sym.tidx.tmp.4242.0");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    set_age(&stale, Duration::from_secs(2 * 3600));
    // A build in progress in another process right now: left alone.
    let live = d.join(".xul.sym.tidx.tmp.4343.7");
    std::fs::write(&live, vec![0u8; 4096]).unwrap();
    // Not ours (no index temp name): left alone whatever its age.
    let foreign = d.join("notes.txt");
    std::fs::write(&foreign, b"x").unwrap();
    set_age(&foreign, Duration::from_secs(2 * 3600));
    let locks = cache.join(".locks");
    std::fs::create_dir_all(&locks).unwrap();
    let stale_lock = locks.join("0123456789abcdef0123456789abcdef.lock");
    std::fs::write(&stale_lock, b"").unwrap();

    let s = symbolicator(&symbols, Some(&cache), |_| {});
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(live.exists(), "a recent one may be another process's build");
    assert!(foreign.exists());
    assert!(!stale_lock.exists(), "the stale lock is removed");
    let left: Vec<_> = std::fs::read_dir(&locks).unwrap().flatten().collect();
    assert!(
        left.is_empty(),
        "no lock is left once the load is done: {left:?}"
    );

    // Another process sharing the cache within the sweep interval does not walk it again
    // (one process per crash would otherwise walk it per crash); after it, one does.
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    set_age(&stale, Duration::from_secs(2 * 3600));
    let s = symbolicator(&symbols, Some(&cache), |_| {});
    assert!(function_at(&s, "nothere", 0x5381).is_none(), "a miss");
    assert!(stale.exists(), "swept less than the interval ago");
    set_age(&cache.join(".swept"), Duration::from_secs(3600));
    let s = symbolicator(&symbols, Some(&cache), |_| {});
    assert!(function_at(&s, "nothere", 0x5381).is_none());
    assert!(!stale.exists(), "the next sweep removes it");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A valid `.sym` of about `funcs * 30` bytes.
fn big_sym(name: &str, funcs: usize) -> String {
    let mut s = sym_text(name);
    for i in 0..funcs {
        s.push_str(&format!("FUNC {:x} 10 0 f{i}\n", 0x10_0000 + i * 0x10));
    }
    s
}

#[test]
fn gzip_sym_inflating_past_the_bound_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    let text = big_sym("testproj", 20_000);
    put(&symbols, "testproj", &gzip(text.as_bytes()));
    let max = 64 << 10;
    assert!(text.len() > 4 * max);
    // The symbolicator treats it as unusable (inflating no more than the bound): not found.
    let s = symbolicator(&symbols, None, |c| c.max_sym_bytes = max as u64);
    assert!(s.get("testproj", ID).unwrap().is_none());
    // Within the bound it is served.
    let s = symbolicator(&symbols, None, |_| {});
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
}

#[test]
fn truncated_gzip_sym_is_negatively_cached_not_inflated_again() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    let good = gzip(big_sym("testproj", 2_000).as_bytes());
    let path = put(&symbols, "testproj", &good[..good.len() / 2]);
    let s = symbolicator(&symbols, None, |_| {});
    assert!(
        s.get("testproj", ID).unwrap().is_none(),
        "a truncated gzip file is unusable: not found, not an error"
    );
    // The file is repaired, but the answer is remembered (and the file not read again)
    // until the entry expires or is forgotten, as for any "not found".
    std::fs::write(&path, &good).unwrap();
    assert!(s.get("testproj", ID).unwrap().is_none());
    s.forget_missing("testproj", ID);
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );

    // With a TTL, it expires.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let s = symbolicator(&symbols, None, |c| {
        c.negative_ttl = Duration::from_millis(50)
    });
    assert!(s.get("testproj", ID).unwrap().is_none());
    std::fs::write(&path, &good).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
}

const FUNCS: usize = 50_000;
const LAST: u64 = 0x10_0000 + (FUNCS as u64 - 1) * 0x10;

/// A symbols dir with one large module, and the path its index gets in `cache`.
fn big_module(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let symbols = tmp.join("syms");
    put(&symbols, "testproj", big_sym("testproj", FUNCS).as_bytes());
    let cache = tmp.join("cache");
    let index = cache.join("testproj").join(ID).join("testproj.sym.tidx");
    (symbols, cache, index)
}

fn v5_functions(s: &Symbolicator) -> Vec<String> {
    let body = format!(
        r#"{{"memoryMap": [["testproj", "{ID}"]], "stacks": [[[0, 21377], [0, {LAST}]]]}}"#
    );
    let r = tecken_core::symbolicate_v5(s, body.as_bytes(), &Default::default());
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["results"][0]["stacks"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("<none>").to_owned())
        .collect()
}

#[test]
fn truncating_a_mapped_index_in_place_is_survived_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let (symbols, cache, index) = big_module(tmp.path());
    // Changes are noticed by the reads that hit them, not by the periodic stat.
    let s = symbolicator(&symbols, Some(&cache), |c| {
        c.file_check_interval = Duration::from_secs(3600)
    });
    let expected = ["testproj::main".to_owned(), format!("f{}", FUNCS - 1)];
    assert_eq!(v5_functions(&s), expected);
    let m = s.get("testproj", ID).unwrap().unwrap();
    assert!(m.index.is_mapped());

    // Someone truncates the mapped file in place: the pages past the new end are gone, and
    // reading them would raise SIGBUS.
    let f = std::fs::File::options().write(true).open(&index).unwrap();
    f.set_len(4096).unwrap();
    drop(f);
    assert!(m.index.lookup(LAST).is_none(), "no frame made of zeros");
    let err = m.index.check().unwrap_err();
    assert_eq!(err.kind(), tecken_core::ErrorKind::CorruptIndex);
    let mut frame = tecken_core::Frame::empty();
    assert!(m
        .index
        .try_lookup_into(LAST, &Default::default(), &mut frame)
        .is_err());

    // The process lives on, and the next request gets the right answer from a rebuilt
    // index.
    assert_eq!(v5_functions(&s), expected);
    let rebuilt = tecken_core::Index::open(&index).unwrap();
    rebuilt.verify().unwrap();

    // Same again, this time noticed in the middle of a v5 request (the module is open and
    // looks sound until a lookup reads a missing page): the request is answered again.
    let f = std::fs::File::options().write(true).open(&index).unwrap();
    f.set_len(4096).unwrap();
    drop(f);
    assert_eq!(v5_functions(&s), expected);
}

#[test]
fn overwriting_a_mapped_index_in_place_is_noticed_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let (symbols, cache, index) = big_module(tmp.path());
    let expected = ["testproj::main".to_owned(), format!("f{}", FUNCS - 1)];
    assert_eq!(
        v5_functions(&symbolicator(&symbols, Some(&cache), |_| {})),
        expected
    );
    // Opened from the disk cache by a fresh process, with a modification time in the past
    // (file times have a granularity of a few milliseconds).
    set_age(&index, Duration::from_secs(600));
    let s = symbolicator(&symbols, Some(&cache), |c| {
        c.file_check_interval = Duration::ZERO
    });
    assert_eq!(v5_functions(&s), expected);
    let m = s.get("testproj", ID).unwrap().unwrap();

    // Garbage written over the whole file, in place, same size: no fault, just other bytes.
    let len = std::fs::metadata(&index).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    {
        use std::io::Write;
        let mut f = std::fs::File::options().write(true).open(&index).unwrap();
        f.write_all(&garbage).unwrap();
    }
    assert_eq!(v5_functions(&s), expected);
    assert!(
        m.index.check().is_err(),
        "the old mapping knows it is damaged"
    );
    tecken_core::Index::open(&index).unwrap().verify().unwrap();
}

/// Runs this test binary's test `name` alone in a child process with `TECKEN_CHILD=name`.
fn run_child(name: &str) -> std::process::ExitStatus {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("TECKEN_CHILD", name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

fn in_child(name: &str) -> bool {
    std::env::var("TECKEN_CHILD").is_ok_and(|v| v == name)
}

/// Maps a page of a file with plain `mmap` (not through tecken), truncates the file and
/// reads the page: a SIGBUS that is none of tecken's business.
fn foreign_sigbus(dir: &Path) -> u8 {
    use std::os::fd::AsRawFd;
    let p = dir.join("foreign");
    std::fs::write(&p, vec![1u8; 8192]).unwrap();
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    // SAFETY: (test) a fresh private mapping of our own file, read once after truncation.
    unsafe {
        let ptr = libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(ptr, libc::MAP_FAILED);
        f.set_len(0).unwrap();
        std::ptr::read_volatile(ptr.cast::<u8>().add(4096))
    }
}

/// Makes this process install tecken's SIGBUS handler (on its first mapping).
fn map_an_index(tmp: &Path) -> tecken_core::Index {
    let s = symbolicator(&tmp.join("syms"), Some(&tmp.join("cache")), |_| {});
    put(
        &tmp.join("syms"),
        "testproj",
        sym_text("testproj").as_bytes(),
    );
    s.get("testproj", ID).unwrap().unwrap();
    let index = tecken_core::Index::open(
        tmp.join("cache/testproj")
            .join(ID)
            .join("testproj.sym.tidx"),
    )
    .unwrap();
    assert!(index.is_mapped());
    index
}

#[test]
fn sigbus_outside_our_mappings_still_kills() {
    const NAME: &str = "sigbus_outside_our_mappings_still_kills";
    if in_child(NAME) {
        let tmp = tempfile::tempdir().unwrap();
        let _index = map_an_index(tmp.path());
        let b = foreign_sigbus(tmp.path());
        // Not reached: the read above must kill the process.
        std::process::exit(i32::from(b) + 100);
    }
    use std::os::unix::process::ExitStatusExt;
    let status = run_child(NAME);
    assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}");
}

extern "C" fn exit_42(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(42) }
}

#[test]
fn sigbus_outside_our_mappings_goes_to_the_previous_handler() {
    const NAME: &str = "sigbus_outside_our_mappings_goes_to_the_previous_handler";
    if in_child(NAME) {
        // A handler of the embedding program (Python's faulthandler, say), installed first.
        // SAFETY: (test) a valid SA_SIGINFO action.
        unsafe {
            let mut a: libc::sigaction = std::mem::zeroed();
            a.sa_sigaction = exit_42 as *const () as libc::sighandler_t;
            a.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut a.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGBUS, &a, std::ptr::null_mut()), 0);
        }
        let tmp = tempfile::tempdir().unwrap();
        let _index = map_an_index(tmp.path());
        let b = foreign_sigbus(tmp.path());
        std::process::exit(i32::from(b) + 100);
    }
    assert_eq!(run_child(NAME).code(), Some(42));
}

#[test]
fn flipped_bytes_in_a_cached_index_body_are_noticed_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let symbols = tmp.path().join("syms");
    put(&symbols, "testproj", sym_text("testproj").as_bytes());
    let cache = tmp.path().join("cache");
    let s = symbolicator(&symbols, Some(&cache), |_| {});
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
    drop(s);
    // One byte of the function's name flips on disk: the structure is intact, so the file
    // opens, and only the body checksum can tell.
    let index = cache.join("testproj").join(ID).join("testproj.sym.tidx");
    let mut bytes = std::fs::read(&index).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"testproj::main")
        .unwrap();
    bytes[at + 10] = b'n';
    std::fs::write(&index, &bytes).unwrap();
    assert!(tecken_core::Index::open(&index).is_ok());

    let s = symbolicator(&symbols, Some(&cache), |_| {});
    assert_eq!(
        function_at(&s, "testproj", 0x5381).as_deref(),
        Some("testproj::main")
    );
    tecken_core::Index::open(&index).unwrap().verify().unwrap();
}
