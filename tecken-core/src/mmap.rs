//! Read-only file mappings: the crate's only `unsafe` code.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes of an index: mapped from a file or owned in memory.
#[derive(Debug)]
pub(crate) enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    /// Maps `path` read-only.
    ///
    /// # Safety
    ///
    /// Mapping a file is unsafe in Rust because another process could change the file while
    /// it is mapped, and the bytes would change under a `&[u8]`. We only map files that are
    /// never modified in place: index files are written to a temporary name and renamed into
    /// place (see [`crate::fsutil::write_atomic`]); replacing or deleting them leaves an
    /// existing mapping on the old inode intact. Every read of the bytes is bounds-checked,
    /// so even a file truncated behind our back cannot cause an out-of-bounds read within
    /// Rust; a truncation of a mapped file by a foreign process (which this crate never
    /// does) would raise SIGBUS, as for every mmap user.
    pub(crate) fn map_file(path: &Path) -> Result<Bytes> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            // Mapping an empty file fails on some platforms; an empty index is corrupt anyway.
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: see the function docs: index files are immutable once renamed into place.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Bytes::Mapped(map))
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}
