//! Many `tecken` processes sharing one index cache directory at once, as gunicorn workers
//! do: one build per module across processes, and the byte bound holds.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn root() -> PathBuf {
    tecken_testutil::repo_root()
}

/// The modules of `examples/symbols`, with an address inside a function of each.
const MODULES: &[(&str, &str, u64)] = &[
    ("cppdemo", "FDD23AFA0DDD7B5AE474BC0754AE06FE0", 13498),
    ("ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1", 4104),
    ("qipcap64.pdb", "293A285ED25871934C4C44205044422E1", 4200),
    ("ssltunnel", "8A07C88A3DA44E20A3490D88791183060", 20400),
    ("testproj", "0905AE80CEE75A33E3CAB61C274274DE0", 31354),
    ("xul.pdb", "0185139C8F04FFC94C4C44205044422E1", 21376),
];

fn request(dir: &Path, m: &(&str, &str, u64)) -> PathBuf {
    let p = dir.join(format!("{}.json", m.0));
    std::fs::write(
        &p,
        format!(
            r#"{{"memoryMap": [["{}", "{}"]], "stacks": [[[0, {}]]]}}"#,
            m.0, m.1, m.2
        ),
    )
    .unwrap();
    p
}

fn spawn(req: &Path, cache: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(["symbolicate", "--debug", "--symbols"])
        .arg(root().join("examples/symbols"))
        .arg("--cache")
        .arg(cache)
        .args(extra)
        .arg(req)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tecken")
}

fn finish(c: Child) -> serde_json::Value {
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn index_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            total += index_bytes(&p);
        } else if p.to_string_lossy().ends_with(".tidx") {
            total += e.metadata().unwrap().len();
        }
    }
    total
}

fn largest_index(dir: &Path) -> u64 {
    let mut max = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            max = max.max(largest_index(&p));
        } else if p.to_string_lossy().ends_with(".tidx") {
            max = max.max(e.metadata().unwrap().len());
        }
    }
    max
}

#[test]
fn processes_asking_for_one_module_build_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let req = request(tmp.path(), &MODULES[0]);
    let children: Vec<Child> = (0..8).map(|_| spawn(&req, &cache, &[])).collect();
    let answers: Vec<serde_json::Value> = children.into_iter().map(finish).collect();
    let mut builds = 0;
    for a in &answers {
        let frame = &a["results"][0]["stacks"][0][0];
        assert_eq!(frame, &answers[0]["results"][0]["stacks"][0][0]);
        assert!(frame["function"].as_str().is_some(), "{frame}");
        let lookups = &a["debug"]["cache_lookups"];
        assert_eq!(lookups["count"], 1);
        builds += 1 - lookups["hits"].as_u64().unwrap();
    }
    assert_eq!(
        builds, 1,
        "one process built the index, the others reused it"
    );
}

#[test]
fn the_cache_bound_holds_with_many_processes_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let reqs: Vec<PathBuf> = MODULES.iter().map(|m| request(tmp.path(), m)).collect();

    // The size of every index, built once without a bound.
    let unbounded = tmp.path().join("unbounded");
    let expected: Vec<serde_json::Value> = reqs
        .iter()
        .map(|r| finish(spawn(r, &unbounded, &[])))
        .collect();
    let total = index_bytes(&unbounded);
    let largest = largest_index(&unbounded);
    // The newest index is always kept, so a bound below the largest one cannot hold.
    let bound = largest + (total - largest) / 2;
    let bound_s = bound.to_string();

    // Twelve processes at once, each module twice, into a cache that holds the largest
    // index and about half of the others.
    let cache = tmp.path().join("cache");
    let children: Vec<(usize, Child)> = (0..12)
        .map(|i| {
            let m = i % MODULES.len();
            (m, spawn(&reqs[m], &cache, &["--cache-max-bytes", &bound_s]))
        })
        .collect();
    for (m, c) in children {
        let a = finish(c);
        assert_eq!(
            a["results"], expected[m]["results"],
            "{}: the answer does not depend on eviction",
            MODULES[m].0
        );
    }
    // The last eviction saw every file (each process renames its index before it evicts).
    let left = index_bytes(&cache);
    assert!(
        left <= bound,
        "{left} bytes of indexes left, bound {bound} (all: {total})"
    );
    assert!(left > 0, "the newest index is kept");
    assert!(left < total, "something was evicted");
}
