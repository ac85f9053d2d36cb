//! Streamed downloads (`BodyMode::DecodedStream` / `StoredStream`): the same bytes as the
//! whole-body modes, read in chunks from the backend, decompressed as they are read, with
//! the decompression limit enforced as the bytes come.

use std::io::Read;
use std::sync::Arc;

use tecken_core::{Area, ObjectKey};
use tecken_core::{
    BodyMode, ChainStore, Download, DownloadRequest, Found, LocalStore, ObjectMeta, Storage,
    StoreOptions, StoredObject, SymbolStore,
};

const SYM: &[u8] = b"MODULE windows x86 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\nINFO CODE_ID 5D7BD8F4A0A000 xul.dll\nFUNC 0 1 0 f\n";

fn xul() -> ObjectKey {
    ObjectKey::new("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym").unwrap()
}

fn request(mode: BodyMode) -> DownloadRequest {
    DownloadRequest {
        body: mode,
        ..DownloadRequest::new("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.sym")
    }
}

fn found(store: &SymbolStore, mode: BodyMode) -> Found {
    match store.download(&request(mode)).unwrap() {
        Download::Found(f) => f,
        other => panic!("{other:?}"),
    }
}

fn read_all(f: Found) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    f.stream.expect("a stream").reader.read_to_end(&mut out)?;
    Ok(out)
}

/// A large `.sym`: many FUNC lines (compresses well, decompresses to `n` bytes or so).
fn big_sym(n: usize) -> Vec<u8> {
    tecken_testutil::sym_of_len(
        "MODULE windows x86 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb",
        n,
    )
}

#[test]
fn streamed_downloads_give_the_bytes_of_the_whole_body_modes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    let sym = big_sym(3 << 20);
    store.put_file(&xul(), Area::Regular, &sym).unwrap();

    let stored = found(&store, BodyMode::Stored);
    let s = found(&store, BodyMode::StoredStream);
    assert!(s.body.is_none());
    assert_eq!(s.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(s.stream.as_ref().unwrap().len, Some(s.meta.size));
    assert_eq!(read_all(s).unwrap(), stored.body.unwrap());

    let d = found(&store, BodyMode::DecodedStream);
    assert_eq!(d.content_encoding, None);
    assert_eq!(d.stream.as_ref().unwrap().len, None);
    assert_eq!(read_all(d).unwrap(), sym);

    // A plain (not gzipped) `.sym` dropped into the store streams as it is, both ways.
    let plain = ObjectKey::new("plain.pdb", "AB", "plain.sym").unwrap();
    let path = dir.path().join("v1/plain.pdb/AB/plain.sym");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, SYM).unwrap();
    for mode in [BodyMode::DecodedStream, BodyMode::StoredStream] {
        let req = DownloadRequest {
            body: mode,
            ..DownloadRequest::new(plain.debug_file(), plain.debug_id(), plain.file())
        };
        let Download::Found(f) = store.download(&req).unwrap() else {
            panic!()
        };
        assert_eq!(f.content_encoding, None);
        assert_eq!(f.stream.as_ref().unwrap().len, Some(SYM.len() as u64));
        assert_eq!(read_all(f).unwrap(), SYM);
    }

    // Misses are misses (and the Try area is searched when asked).
    let req = DownloadRequest {
        body: BodyMode::DecodedStream,
        ..DownloadRequest::new("nope.pdb", "AB", "nope.sym")
    };
    assert!(matches!(store.download(&req).unwrap(), Download::NotFound));
    store.put_file(&plain, Area::Try, SYM).unwrap();
    std::fs::remove_file(&path).unwrap();
    let req = DownloadRequest {
        body: BodyMode::DecodedStream,
        try_symbols: true,
        ..DownloadRequest::new(plain.debug_file(), plain.debug_id(), plain.file())
    };
    let Download::Found(f) = store.download(&req).unwrap() else {
        panic!()
    };
    assert_eq!(f.area, Area::Try);
    assert_eq!(read_all(f).unwrap(), SYM);
}

#[test]
fn a_streamed_gzip_bomb_stops_at_max_object_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path())
        .unwrap()
        .with_options(StoreOptions {
            max_object_size: 1 << 20,
            ..StoreOptions::default()
        });
    store
        .put_file(&xul(), Area::Regular, &big_sym(4 << 20))
        .unwrap();
    let err = read_all(found(&store, BodyMode::DecodedStream)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("more than 1048576 bytes"), "{err}");
    // As stored, it is what it is (the limit is about decompression).
    assert!(read_all(found(&store, BodyMode::StoredStream)).is_ok());
}

#[test]
fn a_corrupt_gzip_is_a_read_error_not_a_short_body() {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    store
        .put_file(&xul(), Area::Regular, &big_sym(1 << 20))
        .unwrap();
    let path = dir
        .path()
        .join("v1/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym");
    let mut gz = std::fs::read(&path).unwrap();
    gz.truncate(gz.len() / 2);
    std::fs::write(&path, &gz).unwrap();
    assert!(read_all(found(&store, BodyMode::DecodedStream)).is_err());
}

/// A backend that cannot stream: the trait's default reads the whole object.
#[derive(Debug)]
struct Whole(LocalStore);

impl Storage for Whole {
    fn describe(&self) -> String {
        "whole".into()
    }
    fn head(&self, key: &str) -> tecken_core::Result<Option<ObjectMeta>> {
        self.0.head(key)
    }
    fn get(&self, key: &str) -> tecken_core::Result<Option<StoredObject>> {
        self.0.get(key)
    }
}

#[test]
fn backends_without_streaming_and_chains_still_stream() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let sym = big_sym(100_000);
    SymbolStore::local(b.path())
        .unwrap()
        .put_file(&xul(), Area::Regular, &sym)
        .unwrap();
    let whole = SymbolStore::new(Whole(LocalStore::new(b.path()).unwrap()));
    assert_eq!(
        read_all(found(&whole, BodyMode::DecodedStream)).unwrap(),
        sym
    );
    let chain = SymbolStore::new(ChainStore::new(vec![
        Arc::new(LocalStore::new(a.path()).unwrap()),
        Arc::new(Whole(LocalStore::new(b.path()).unwrap())),
    ]));
    assert_eq!(
        read_all(found(&chain, BodyMode::DecodedStream)).unwrap(),
        sym
    );
    let r = chain
        .storage()
        .get_reader("v1/nope.pdb/AB/nope.sym")
        .unwrap();
    assert!(r.is_none());
}

#[test]
fn a_local_reader_starts_at_the_first_byte_after_reading_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::new(dir.path()).unwrap();
    let key = "v1/xul.pdb/AB/xul.sym";
    std::fs::create_dir_all(dir.path().join("v1/xul.pdb/AB")).unwrap();
    std::fs::write(dir.path().join(key), SYM).unwrap();
    let r = local.get_reader(key).unwrap().unwrap();
    assert_eq!(r.len, Some(SYM.len() as u64));
    assert_eq!(r.meta.size, SYM.len() as u64);
    let mut out = Vec::new();
    let mut reader = r.reader;
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out, SYM);
}
