//! Several backends in order.

use std::sync::Arc;

use super::{ObjectData, ObjectMeta, ObjectReader, PutObject, Storage, StoredObject};
use crate::error::{Error, ErrorKind, Result};

/// Backends searched in order (e.g. a local cache, then S3, then a Tecken server).
///
/// - reads ask each member in turn and return the first answer; a member's error does not
///   hide a later member's object, but when no member has the object and one failed, the
///   failure is returned (so "not found" is only said when every member said it);
/// - writes go to the first writable member;
/// - listing merges every member that can list.
#[derive(Debug, Clone)]
pub struct ChainStore {
    members: Vec<Arc<dyn Storage>>,
}

impl ChainStore {
    /// A chain of `members`, searched first to last.
    pub fn new(members: Vec<Arc<dyn Storage>>) -> ChainStore {
        ChainStore { members }
    }

    /// The members, in order.
    pub fn members(&self) -> &[Arc<dyn Storage>] {
        &self.members
    }

    fn first<T>(&self, mut f: impl FnMut(&dyn Storage) -> Result<Option<T>>) -> Result<Option<T>> {
        let mut failure: Option<Error> = None;
        for m in &self.members {
            match f(m.as_ref()) {
                Ok(Some(v)) => return Ok(Some(v)),
                Ok(None) => {}
                Err(e) if e.kind() == ErrorKind::InvalidInput && failure.is_none() => {
                    return Err(e)
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn writer(&self) -> Option<&Arc<dyn Storage>> {
        self.members.iter().find(|m| m.is_writable())
    }
}

impl Storage for ChainStore {
    fn describe(&self) -> String {
        let parts: Vec<String> = self.members.iter().map(|m| m.describe()).collect();
        format!("chain[{}]", parts.join(", "))
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        self.first(|m| m.head(key))
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        self.first(|m| m.get(key))
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        self.first(|m| m.get_reader(key))
    }

    fn get_data(&self, key: &str) -> Result<Option<ObjectData>> {
        self.first(|m| m.get_data(key))
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        self.first(|m| m.get_prefix(key, len))
    }

    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        match self.writer() {
            Some(w) => w.put(key, object),
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{}: no writable member for {key:?}", self.describe()),
            )),
        }
    }

    fn is_writable(&self) -> bool {
        self.writer().is_some()
    }

    fn is_local(&self) -> bool {
        self.members.iter().all(|m| m.is_local())
    }

    fn may_hold_lower_case_ids(&self) -> bool {
        self.members.iter().any(|m| m.may_hold_lower_case_ids())
    }

    fn content_md5(&self, key: &str) -> Result<Option<String>> {
        // The digest of the copy a write would replace: the writable member's.
        match self.writer() {
            Some(w) => w.content_md5(key),
            None => Ok(None),
        }
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        let mut listed = false;
        for m in &self.members {
            match m.list(prefix, visit) {
                Ok(()) => listed = true,
                Err(e) if e.kind() == ErrorKind::InvalidInput => {}
                Err(e) => return Err(e),
            }
        }
        if listed {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{}: no member can list", self.describe()),
            ))
        }
    }
}
