//! The symbolicator's caches under load: negative caching of "not found" only (with a TTL
//! and a bypass), transient errors never cached, one fetch and one build for many threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tecken_core::{Error, ErrorKind, Result, Symbolicator, SymbolicatorConfig};
use tecken_core::{ModuleProvider, ModuleStatus};
use tecken_core::{ObjectMeta, Storage, StoreOptions, StoredObject, SymbolStore};

const ID: &str = "D48F191186D67E69DF025AD71FB91E1F0";
const SYM: &[u8] = b"MODULE Linux x86_64 D48F191186D67E69DF025AD71FB91E1F0 testproj
FUNC 5380 10 0 testproj::main
5380 10 4 0
";

/// What the source answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Found,
    NotFound,
    Fail,
}

/// A source that counts its fetches and answers what it is told, slowly if asked.
#[derive(Debug)]
struct Counting {
    fetches: AtomicUsize,
    answer: std::sync::Mutex<Answer>,
    delay: Duration,
}

impl Counting {
    fn new(answer: Answer, delay: Duration) -> Arc<Counting> {
        Arc::new(Counting {
            fetches: AtomicUsize::new(0),
            answer: std::sync::Mutex::new(answer),
            delay,
        })
    }
    fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = a;
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Storage for Counting {
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        Ok(self.get(key)?.map(|o| o.meta))
    }
    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        assert_eq!(key, format!("v1/testproj/{ID}/testproj.sym"));
        match *self.answer.lock().unwrap() {
            Answer::Found => Ok(Some(StoredObject {
                meta: ObjectMeta::default(),
                body: SYM.to_vec(),
            })),
            Answer::NotFound => Ok(None),
            Answer::Fail => Err(Error::new(ErrorKind::Storage, "503 from the bucket")),
        }
    }
    fn describe(&self) -> String {
        "counting".into()
    }
}

/// The source as a store: the regular area only and upper-case ids only (no second look
/// under a lower-case id), so one lookup is one fetch.
fn source(src: &Arc<Counting>) -> SymbolStore {
    SymbolStore::from_arc(src.clone()).with_options(StoreOptions {
        source_includes_try: false,
        lower_case_ids: false,
        ..StoreOptions::default()
    })
}

fn symbolicator(src: &Arc<Counting>, config: SymbolicatorConfig) -> Symbolicator {
    Symbolicator::new(vec![source(src)], config)
}

fn status(s: &Symbolicator) -> &'static str {
    match s.module("testproj", ID).0 {
        ModuleStatus::Found(_) => "found",
        ModuleStatus::NotFound => "not found",
        ModuleStatus::Failed(_) => "failed",
    }
}

#[test]
fn not_found_is_remembered_until_forgotten() {
    let src = Counting::new(Answer::NotFound, Duration::ZERO);
    let s = symbolicator(&src, SymbolicatorConfig::default());
    assert_eq!(status(&s), "not found");
    assert_eq!(status(&s), "not found");
    assert_eq!(
        src.fetches(),
        1,
        "the second miss is answered from the negative cache"
    );
    // The module is uploaded meanwhile; the negative cache still answers until bypassed.
    src.set(Answer::Found);
    assert_eq!(status(&s), "not found");
    assert_eq!(src.fetches(), 1);
    s.forget_missing("testproj", &ID.to_lowercase());
    assert_eq!(status(&s), "found");
    assert_eq!(src.fetches(), 2);
}

#[test]
fn negative_entries_expire() {
    let src = Counting::new(Answer::NotFound, Duration::ZERO);
    let s = symbolicator(
        &src,
        SymbolicatorConfig {
            negative_ttl: Duration::from_millis(50),
            ..SymbolicatorConfig::default()
        },
    );
    assert_eq!(status(&s), "not found");
    std::thread::sleep(Duration::from_millis(120));
    src.set(Answer::Found);
    assert_eq!(status(&s), "found");
    assert_eq!(src.fetches(), 2);

    let src = Counting::new(Answer::NotFound, Duration::ZERO);
    let s = symbolicator(
        &src,
        SymbolicatorConfig {
            negative_ttl: Duration::ZERO,
            ..SymbolicatorConfig::default()
        },
    );
    for _ in 0..3 {
        assert_eq!(status(&s), "not found");
    }
    assert_eq!(src.fetches(), 3, "a zero TTL disables negative caching");
}

#[test]
fn transient_errors_are_never_cached() {
    let src = Counting::new(Answer::Fail, Duration::ZERO);
    let s = symbolicator(&src, SymbolicatorConfig::default());
    assert_eq!(status(&s), "failed");
    assert_eq!(status(&s), "failed");
    assert_eq!(src.fetches(), 2, "every request tries again after an error");
    let err = s.get("testproj", ID).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("503"), "{err}");
    src.set(Answer::Found);
    assert_eq!(
        status(&s),
        "found",
        "the storage recovered: no stale failure"
    );
}

#[test]
fn many_threads_asking_at_once_fetch_and_build_once() {
    let src = Counting::new(Answer::Found, Duration::from_millis(200));
    let tmp = tempfile::tempdir().unwrap();
    let s = Arc::new(symbolicator(
        &src,
        SymbolicatorConfig {
            cache_dir: Some(tmp.path().to_owned()),
            ..SymbolicatorConfig::default()
        },
    ));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (s, barrier) = (s.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                s.get("testproj", ID).unwrap().unwrap()
            })
        })
        .collect();
    let mods: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(src.fetches(), 1);
    for m in &mods {
        assert!(Arc::ptr_eq(m, &mods[0]));
        assert_eq!(m.index.lookup(0x5385).unwrap().function, "testproj::main");
    }

    // Misses coalesce too: one fetch for 16 threads.
    let src = Counting::new(Answer::NotFound, Duration::from_millis(200));
    let s = Arc::new(symbolicator(&src, SymbolicatorConfig::default()));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (s, barrier) = (s.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                s.get("testproj", ID).unwrap().is_none()
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
    assert_eq!(src.fetches(), 1);
}

#[test]
fn memory_only_answers_never_fetch_and_say_when_they_missed() {
    let src = Counting::new(Answer::Found, Duration::ZERO);
    let s = symbolicator(&src, SymbolicatorConfig::default());
    // Nothing in memory yet: no answer, and the source is not asked.
    assert!(s.try_cached("testproj", ID).is_none());
    let warm = s.cached_only();
    assert!(matches!(
        warm.module("testproj", ID).0,
        ModuleStatus::NotFound
    ));
    assert!(warm.missed(), "an unknown module is a miss, not an answer");
    assert_eq!(src.fetches(), 0);
    // Once loaded, it is answered from memory (ids in any case).
    assert_eq!(status(&s), "found");
    let warm = s.cached_only();
    assert!(matches!(
        warm.module("testproj", &ID.to_lowercase()).0,
        ModuleStatus::Found(_)
    ));
    assert!(!warm.missed());
    // A module recently found missing is an answer too; an invalid name always is.
    src.set(Answer::NotFound);
    let other = symbolicator(&src, SymbolicatorConfig::default());
    assert!(matches!(
        other.module("testproj", ID).0,
        ModuleStatus::NotFound
    ));
    let warm = other.cached_only();
    assert!(matches!(
        warm.module("testproj", ID).0,
        ModuleStatus::NotFound
    ));
    assert!(matches!(
        warm.module("../etc", ID).0,
        ModuleStatus::NotFound
    ));
    assert!(!warm.missed());
    assert_eq!(src.fetches(), 2, "memory-only answers never fetch");
}

#[test]
fn an_upload_clears_the_negative_entries_of_what_it_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(tmp.path()).unwrap();
    let s = Symbolicator::new(vec![store.clone()], SymbolicatorConfig::default());
    assert!(s.get("testproj", ID).unwrap().is_none());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        format!("testproj/{ID}/testproj.sym"),
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, SYM).unwrap();
    let archive = zip.finish().unwrap().into_inner();
    let result =
        tecken_core::upload_archive_bytes(&store, &archive, &tecken_core::UploadOptions::default())
            .unwrap();
    assert!(
        s.get("testproj", ID).unwrap().is_none(),
        "the negative entry still answers"
    );
    s.forget_uploaded(&result);
    assert!(s.get("testproj", ID).unwrap().is_some());
}
