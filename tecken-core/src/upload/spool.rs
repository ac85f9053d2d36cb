//! Spool files: an archive read from a stream is copied to a temporary file first, so its
//! members can be read in parallel with positional reads.
//!
//! A spool file is named `tecken-upload-{pid}-{nanos}-{n}.zip` (see [`SPOOL_FILE_PREFIX`])
//! and removed when the upload ends. A process killed mid-upload (`kill -9`, OOM) leaves
//! its file behind; [`remove_stale_spool_files`] removes such files from a directory, e.g.
//! at start-up. A server that spools request bodies itself should name its files with the
//! same prefix and the `.zip` suffix, so that the same function finds them.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, Result};

/// The name prefix of spool files: `tecken-upload-`.
pub const SPOOL_FILE_PREFIX: &str = "tecken-upload-";
/// The name suffix of spool files: `.zip`.
pub const SPOOL_FILE_SUFFIX: &str = ".zip";

/// Whether `name` (a file name, no directory) is a spool file's.
pub fn is_spool_file_name(name: &str) -> bool {
    name.len() > SPOOL_FILE_PREFIX.len() + SPOOL_FILE_SUFFIX.len()
        && name.starts_with(SPOOL_FILE_PREFIX)
        && name.ends_with(SPOOL_FILE_SUFFIX)
        && !name.contains(['/', '\\'])
}

/// Removes the spool files (`tecken-upload-*.zip`) directly in `dir` that were last
/// modified at least `min_age` ago, and returns how many it removed.
///
/// Meant for start-up, to clear what a killed process left. `min_age` keeps the files of
/// other processes that share the directory and are uploading right now (an hour is
/// plenty: a spool file is written once, as fast as its body arrives). Files of any other
/// name, directories and symlinks are left alone; a file that cannot be removed (already
/// gone, permissions) is skipped. A missing `dir` removes nothing.
pub fn remove_stale_spool_files(dir: &Path, min_age: Duration) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot list the spool directory: {e}"),
            )
            .with_source(e))
        }
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_spool_file_name) {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks.
        let Ok(md) = entry.metadata() else { continue };
        let old_enough = md
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= min_age);
        if md.is_file() && old_enough && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// A temporary file holding an archive read from a stream; removed on drop.
pub(crate) struct Spool {
    path: PathBuf,
    pub(crate) file: File,
}

fn spool_error(what: &str, e: std::io::Error) -> Error {
    // No path in the message: it may reach a client.
    Error::new(ErrorKind::Io, format!("{what}: {e}")).with_source(e)
}

impl Spool {
    /// A new, empty spool file in the system's temporary directory.
    pub(crate) fn new() -> Result<Spool> {
        let dir = std::env::temp_dir();
        for attempt in 0..16u32 {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = dir.join(format!(
                "{SPOOL_FILE_PREFIX}{}-{nanos}-{attempt}{SPOOL_FILE_SUFFIX}",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok(Spool { path, file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(spool_error(
                        "cannot create a temporary file for the archive",
                        e,
                    ))
                }
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            "could not create a temporary file for the archive",
        ))
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Copies `r` into the file, failing with [`ErrorKind::LimitExceeded`] past `limit`
    /// bytes. Returns the length.
    pub(crate) fn fill(&self, r: &mut dyn Read, limit: u64) -> Result<u64> {
        let mut w = std::io::BufWriter::new(&self.file);
        let n = std::io::copy(&mut r.take(limit.saturating_add(1)), &mut w)
            .map_err(|e| spool_error("cannot spool the archive", e))?;
        w.flush()
            .map_err(|e| spool_error("cannot spool the archive", e))?;
        if n > limit {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("Archive is larger than the limit of {limit} bytes"),
            ));
        }
        Ok(n)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_file_names() {
        assert!(is_spool_file_name("tecken-upload-12-345-0.zip"));
        assert!(is_spool_file_name("tecken-upload-AbC123.zip"));
        for other in [
            "tecken-upload-.zip",
            "tecken-upload-1.zip.part",
            "upload-1.zip",
            "xul.sym",
        ] {
            assert!(!is_spool_file_name(other), "{other}");
        }
    }

    #[test]
    fn a_spool_file_is_recognised_and_removed_on_drop() {
        let spool = Spool::new().unwrap();
        let name = spool.path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(is_spool_file_name(&name), "{name}");
        let path = spool.path.clone();
        drop(spool);
        assert!(!path.exists());
    }
}
