//! A plain symbols tree as a read-only store: `{root}/{debug_file}/{debug_id}/{file}`, the
//! way `.sym` files lie after unzipping an upload archive (or in Eliot's symbols
//! directory). The regular area `v1/{key}` is `{root}/{key}`; there is no Try area and no
//! code-id index. [`StoreSpec`](super::StoreSpec) reads a directory without `v1/` as one.

use std::path::Path;

use super::{LocalStore, ObjectMeta, ObjectReader, Storage, StoredObject};
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

    fn map(key: &str) -> Option<&str> {
        key.strip_prefix("v1/")
    }
}

/// Whether `dir` holds a plain symbols tree: it exists, has entries, and has no `v1/` (a
/// store's regular area). An empty or missing directory is not one: it becomes a store.
pub fn is_plain_tree(dir: &Path) -> bool {
    if dir.join("v1").is_dir() {
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

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        match Self::map(key) {
            Some(k) => self.inner.head(k),
            None => Ok(None),
        }
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        match Self::map(key) {
            Some(k) => self.inner.get(k),
            None => Ok(None),
        }
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        match Self::map(key) {
            Some(k) => self.inner.get_reader(k),
            None => Ok(None),
        }
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        match Self::map(key) {
            Some(k) => self.inner.get_prefix(k, len),
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
        std::fs::create_dir_all(dir.path().join("v1")).unwrap();
        assert!(!is_plain_tree(dir.path()), "a v1/ makes it a store");
    }
}
