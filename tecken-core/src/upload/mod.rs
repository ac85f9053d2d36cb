//! Uploading a Tecken symbols archive (a zip of `<module>/<hex>/<file>` members).
//!
//! [`upload_archive`] applies Tecken's rules with Tecken's error messages, closes the holes
//! Tecken leaves open, and stores the members in parallel:
//!
//! 1. The archive: not a zip -> `File is not a zip file`; a name not ending in `.zip` ->
//!    `Unrecognized archive file extension ".rar"`.
//! 2. Limits, checked on the declared sizes before anything is decompressed, and again on
//!    the bytes actually produced: member count (read from the end record before the
//!    directory is parsed), total uncompressed size, size of one member, compression ratio
//!    of every member of 64 KiB or more, and the compression ratio of the whole archive
//!    (so many small members cannot add up to a bomb). Errors of kind
//!    [`ErrorKind::LimitExceeded`]. Members whose data overlap (many directory entries
//!    pointing at one deflate stream) are refused when the directory is read.
//! 3. Member safety (Tecken relies on Python's `extractall` here): absolute paths, `.` and
//!    `..` components, backslashes, symlinks, encrypted members and name components longer
//!    than 255 bytes (no file system stores them) are rejected.
//! 4. Tecken's listing rules: duplicate names with different sizes, the disallowed snippets
//!    (`qcom/proprietary`), the `<module>/<hex>/<file>` or `<name>-symbols.txt` pattern
//!    (with S3's "characters to avoid" refused in names). `*-symbols.txt` and `.DS_Store`
//!    members are ignored.
//! 5. Storage: each member is read once, streaming, into its stored form (gzip plus
//!    `original_size`/`original_md5_hash` for a `.sym`; raw otherwise) by a bounded pool of
//!    threads, and written atomically. A member already stored with the same size and MD5
//!    is skipped (Tecken's dedup; for files stored raw the MD5 is checked too where the
//!    backend knows it, where Tecken compares sizes only). Debug ids are stored upper-case;
//!    two members whose ids differ only in case are one key, refused unless their contents
//!    are the same (size and CRC-32).
//! 6. Each `.sym` header is parsed; a MODULE line that disagrees with the key is reported
//!    ([`SymFileReport::module_mismatch`]), not refused (Tecken's own `sample.zip` has one).
//!    Windows modules get a code-id index entry; a Try upload never replaces an entry that
//!    points to a regular upload (a regular upload replaces a Try one).
//!
//! A failure stops the workers; every object already written is complete, so retrying the
//! same archive skips what was stored and finishes the rest. Bad archive data (a corrupt
//! deflate stream, a wrong CRC-32) is an [`ErrorKind::InvalidInput`] error naming the
//! member; error messages name members and storage keys, never a server's paths.
//!
//! Tecken's upload API version 2 (`POST /upload/v2/`, then one resumable session per
//! file) is [`UploadSessions`]: each finished file is stored by the same writer, with the
//! same rules, as an archive member.
//!
//! The code follows those steps: `rules` says what is accepted, with the messages;
//! `plan` applies the rules to the listing in Tecken's order and lists the files to
//! store; `writer` stores them in parallel (workers, byte budget, dedup, code-id entries);
//! `spool` holds an archive read from a stream; `archive` is the zip reader. The options
//! and the result types live in `options` and `report`.

mod archive;
#[cfg(feature = "http")]
mod by_url;
mod options;
mod plan;
mod report;
mod rules;
mod sessions;
mod spool;
mod writer;

use std::fs::File;
use std::path::Path;

use self::archive::{Archive, Source};
#[cfg(feature = "http")]
pub use self::by_url::{fetch_archive_url, FetchedArchive, UrlUploadOptions};
pub use self::options::{ArchiveSource, ProgressFn, UploadLimits, UploadOptions, UploadProgress};
use self::plan::plan;
pub use self::report::{FileReport, IgnoredFile, ModuleMismatch, SymFileReport, UploadResult};
use self::rules::TotalLimit;
pub use self::sessions::{
    ChunkOutcome, ChunkWriter, CompletedUpload, ContentRange, FileAction, FileSpec, PlannedUpload,
    SessionLimits, UploadSessions,
};
pub use self::spool::remove_stale_spool_files;
use self::spool::Spool;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::Area;
use crate::store::SymbolStore;

/// Uploads an archive into `store`, as Tecken's upload API does.
pub fn upload_archive(
    store: &SymbolStore,
    source: ArchiveSource<'_>,
    options: &UploadOptions,
) -> Result<UploadResult> {
    if let Some(name) = &options.archive_name {
        rules::check_archive_name(name)?;
    }
    match source {
        ArchiveSource::Bytes(b) => upload_from(store, Source::Mem(b), options),
        ArchiveSource::Path(p) => {
            // The file name only: a server passes its spool file, whose directory is its own
            // business, and the message may reach a client.
            let open_error = |e: std::io::Error| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                // A missing archive is the caller's "not found", as every other open is.
                let kind = if e.kind() == std::io::ErrorKind::NotFound {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::Io
                };
                Error::new(kind, format!("cannot read the archive {name:?}: {e}")).with_source(e)
            };
            let f = File::open(p).map_err(open_error)?;
            let len = f.metadata().map_err(open_error)?.len();
            upload_from(store, Source::File(&f, len), options)
        }
        ArchiveSource::Reader(r) => {
            let spool = Spool::new()?;
            let len = spool.fill(r, options.limits.max_archive_size)?;
            upload_from(store, Source::File(&spool.file, len), options)
        }
    }
}

/// Uploads the zip file at `path`.
pub fn upload_archive_path(
    store: &SymbolStore,
    path: &Path,
    options: &UploadOptions,
) -> Result<UploadResult> {
    upload_archive(store, ArchiveSource::Path(path), options)
}

/// Uploads a zip held in memory.
pub fn upload_archive_bytes(
    store: &SymbolStore,
    bytes: &[u8],
    options: &UploadOptions,
) -> Result<UploadResult> {
    upload_archive(store, ArchiveSource::Bytes(bytes), options)
}

fn upload_from(
    store: &SymbolStore,
    src: Source<'_>,
    options: &UploadOptions,
) -> Result<UploadResult> {
    let archive = Archive::open(src, options.limits.max_members)?;
    let max_total = TotalLimit::new(&options.limits, src.len());
    let plan = plan(&archive, options, &max_total)?;
    let area = Area::for_upload(options.try_symbols);
    let members = writer::Members::Archive(&archive);
    let outcomes = writer::store_members(store, members, plan.files, area, options, max_total)?;
    let mut result = UploadResult {
        try_symbols: options.try_symbols,
        archive_size: src.len(),
        content_hash: plan.content_hash,
        ignored: plan.ignored,
        ..UploadResult::default()
    };
    for o in outcomes {
        if o.skipped {
            result.skipped.push(o.file);
        } else {
            result.uploaded.push(o.file);
        }
        result.symbols.extend(o.sym);
    }
    result.uploaded.sort_by(|a, b| a.key.cmp(&b.key));
    result.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    result.symbols.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(result)
}
