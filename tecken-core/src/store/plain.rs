//! A plain symbols tree as a read-only store: `{root}/{debug_file}/{debug_id}/{file}`, the
//! way `.sym` files lie after unzipping an upload archive (or in Eliot's symbols
//! directory). The regular area `v1/{key}` is `{root}/{key}`; there is no Try area and no
//! code-id index. [`StoreSpec`](super::StoreSpec) reads a directory without `v1/` as one.
//!
//! Debug ids are matched case-insensitively: the canonical upper-case directory first,
//! then a scan of the debug file's directory (trees unpacked by older tools keep the case
//! they were given).

use std::path::Path;

use super::{LocalStore, ObjectData, ObjectMeta, ObjectReader, Storage, StoredObject};
use crate::error::Result;

/// A plain symbols tree, read-only (see the module docs).
#[derive(Debug)]
pub struct PlainTreeStore {
    inner: LocalStore,
}

impl PlainTreeStore {
    /// The tree at `root`.
    pub fn new(root: impl Into<std::path::PathBuf>) -> Result<PlainTreeStore> {
        Ok(PlainTreeStore {
            inner: LocalStore::new(root)?,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.inner.root()
    }

    /// The tree's key for a store key: `v1/{key}` is `{key}`, with the debug id's directory
    /// matched case-insensitively. `None` outside the regular area.
    fn map(&self, key: &str) -> Result<Option<String>> {
        let Some(k) = key.strip_prefix("v1/") else {
            return Ok(None);
        };
        if self.inner.path_of(k)?.is_file() {
            return Ok(Some(k.to_owned()));
        }
        let mut parts = k.split('/');
        let (Some(debug_file), Some(id), Some(file), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Some(k.to_owned()));
        };
        let Ok(entries) = std::fs::read_dir(self.root().join(debug_file)) else {
            return Ok(Some(k.to_owned()));
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name != id && name.eq_ignore_ascii_case(id) {
                let other = format!("{debug_file}/{name}/{file}");
                if self.inner.path_of(&other)?.is_file() {
                    return Ok(Some(other));
                }
            }
        }
        Ok(Some(k.to_owned()))
    }
}

/// Whether `dir` holds a plain symbols tree: it exists, has entries, and has neither `v1/`
/// nor `try/` (a store's areas; a store may hold Try uploads only). An empty or missing
/// directory is not one: it becomes a store.
pub fn is_plain_tree(dir: &Path) -> bool {
    if dir.join("v1").is_dir() || dir.join("try").is_dir() {
        return false;
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => false,
    }
}

impl Storage for PlainTreeStore {
    fn describe(&self) -> String {
        format!("tree:{}", self.inner.root().display())
    }

    fn is_local(&self) -> bool {
        true
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        match self.map(key)? {
            Some(k) => self.inner.head(&k),
            None => Ok(None),
        }
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        match self.map(key)? {
            Some(k) => self.inner.get(&k),
            None => Ok(None),
        }
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        match self.map(key)? {
            Some(k) => self.inner.get_reader(&k),
            None => Ok(None),
        }
    }

    fn get_data(&self, key: &str) -> Result<Option<ObjectData>> {
        match self.map(key)? {
            Some(k) => self.inner.get_data(&k),
            None => Ok(None),
        }
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        match self.map(key)? {
            Some(k) => self.inner.get_prefix(&k, len),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regular_area_is_the_tree_and_nothing_else_exists() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            !is_plain_tree(dir.path()),
            "an empty directory becomes a store"
        );
        let d = dir.path().join("a.pdb/ABC");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.sym"), b"MODULE windows x86 ABC a.pdb\n").unwrap();
        assert!(is_plain_tree(dir.path()));
        let tree = PlainTreeStore::new(dir.path()).unwrap();
        assert!(!tree.is_writable());
        let got = tree.get("v1/a.pdb/ABC/a.sym").unwrap().unwrap();
        assert_eq!(got.body, b"MODULE windows x86 ABC a.pdb\n");
        let mut r = tree.get_reader("v1/a.pdb/ABC/a.sym").unwrap().unwrap();
        let mut streamed = Vec::new();
        std::io::Read::read_to_end(&mut r.reader, &mut streamed).unwrap();
        assert_eq!(streamed, got.body);
        assert!(tree.head("try/v1/a.pdb/ABC/a.sym").unwrap().is_none());
        assert!(tree.get("a.pdb/ABC/a.sym").unwrap().is_none());
        std::fs::create_dir_all(dir.path().join("try/v1")).unwrap();
        assert!(!is_plain_tree(dir.path()), "a try/ makes it a store");
        std::fs::remove_dir_all(dir.path().join("try")).unwrap();
        std::fs::create_dir_all(dir.path().join("v1")).unwrap();
        assert!(!is_plain_tree(dir.path()), "a v1/ makes it a store");
    }

    #[test]
    fn debug_ids_match_whatever_their_case() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a.pdb/abc1");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.sym"), b"MODULE windows x86 ABC1 a.pdb\n").unwrap();
        let tree = PlainTreeStore::new(dir.path()).unwrap();
        let got = tree.get("v1/a.pdb/ABC1/a.sym").unwrap().unwrap();
        assert_eq!(got.body, b"MODULE windows x86 ABC1 a.pdb\n");
        assert!(tree.head("v1/a.pdb/ABC1/a.sym").unwrap().is_some());
        match tree.get_data("v1/a.pdb/ABC1/a.sym").unwrap().unwrap() {
            ObjectData::File(p) => assert_eq!(p, d.join("a.sym")),
            ObjectData::Object(_) => panic!("a local file is given by its path"),
        }
        assert!(tree.get("v1/a.pdb/ABC2/a.sym").unwrap().is_none());
        assert!(tree.get("v1/a.pdb/ABC1/b.sym").unwrap().is_none());
        assert!(tree.get("v1/a.pdb/../a.pdb/ABC1/a.sym").is_err());
    }
}
