//! Planning: the `rules` applied to an archive's listing in Tecken's order,
//! before any member is decompressed, and the list of files to store.

use std::collections::HashMap;

use super::archive::{Archive, Entry};
use super::options::UploadOptions;
use super::report::IgnoredFile;
use super::rules::{self, TotalLimit};
use crate::error::Result;
use crate::keys::ObjectKey;

/// A file to store.
#[derive(Debug)]
pub(super) struct Planned {
    pub(super) entry: Entry,
    pub(super) key: ObjectKey,
}

/// What the listing says to do.
#[derive(Debug)]
pub(super) struct Plan {
    /// The files to store, in archive order, one per key.
    pub(super) files: Vec<Planned>,
    /// The members ignored by rule, in archive order.
    pub(super) ignored: Vec<IgnoredFile>,
    /// Tecken's content hash over every file.
    pub(super) content_hash: String,
}

/// Checks the listing and decides what to store.
///
/// The order is Tecken's (its first error is the one reported): member safety on every
/// entry, directories too; duplicate names; the size limits on the declared sizes; the
/// listing rules in archive order; then the keys, where two members that differ only in
/// the case of their debug id must hold the same bytes.
pub(super) fn plan(
    archive: &Archive<'_>,
    options: &UploadOptions,
    max_total: &TotalLimit,
) -> Result<Plan> {
    for e in &archive.entries {
        rules::check_member_safety(e)?;
    }
    // Duplicates (Tecken's rule), keeping the first of equal-size twins.
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    let mut files: Vec<&Entry> = Vec::new();
    for e in &archive.entries {
        match sizes.get(e.name.as_str()) {
            Some(&prev) if prev != e.size => return Err(rules::duplicate_name(e, prev)),
            Some(_) => {}
            None => {
                sizes.insert(&e.name, e.size);
                if !e.is_dir() {
                    files.push(e);
                }
            }
        }
    }
    let mut total: u64 = 0;
    for e in &files {
        rules::check_member_size(e, &options.limits)?;
        total = total.saturating_add(e.size);
    }
    max_total.check_declared(total)?;
    for e in &files {
        rules::check_listing(&e.name, &options.disallowed_snippets)?;
    }
    let content_hash = rules::content_hash(&files);

    let mut planned = Vec::new();
    let mut ignored = Vec::new();
    let mut by_key: HashMap<ObjectKey, &Entry> = HashMap::new();
    for e in files {
        if rules::is_ignored_member(&e.name) {
            ignored.push(IgnoredFile {
                member: e.name.clone(),
                size: e.size,
            });
            continue;
        }
        let key = ObjectKey::parse(&e.name)?;
        // `a/abc/x` and `a/ABC/x` are one key once ids are upper-cased: one is stored,
        // so both must hold the same bytes. Size and CRC-32 (checked against the bytes as
        // they are decompressed) are the comparison; an uploader who forges a CRC-32
        // collision between two of its own files gets one of them stored.
        if let Some(other) = by_key.get(&key) {
            if other.size == e.size && other.crc32 == e.crc32 {
                continue;
            }
            return Err(rules::case_collision(&key, other, e));
        }
        by_key.insert(key.clone(), e);
        planned.push(Planned {
            entry: e.clone(),
            key,
        });
    }
    Ok(Plan {
        files: planned,
        ignored,
        content_hash,
    })
}
