//! What an upload reports: the files stored, skipped and ignored, and what each `.sym`
//! header says about itself. Every type serializes (the CLI prints it as JSON).

use serde::Serialize;

use crate::sym::SymHeader;

/// A member stored or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The storage key (`v1/xul.pdb/ID/xul.sym`).
    pub key: String,
    /// The member's name in the archive.
    pub member: String,
    /// Uncompressed size.
    pub size: u64,
    /// Stored size (gzipped for a `.sym`); for a skipped file, the size already stored.
    pub stored_size: u64,
    /// Whether it is stored gzip-compressed.
    pub compressed: bool,
    /// MD5 of the uncompressed file, lower-case hex.
    pub md5: String,
}

/// A member ignored by rule (`*-symbols.txt`, `.DS_Store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredFile {
    /// The member's name.
    pub member: String,
    /// Its uncompressed size.
    pub size: u64,
}

/// A MODULE line that disagrees with the key the `.sym` is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleMismatch {
    /// Debug file of the key.
    pub key_debug_file: String,
    /// Debug id of the key.
    pub key_debug_id: String,
    /// Debug file of the MODULE line.
    pub module_debug_file: String,
    /// Debug id of the MODULE line (upper-case).
    pub module_debug_id: String,
}

/// What an uploaded (or skipped) `.sym` says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymFileReport {
    /// The storage key.
    pub key: String,
    /// MODULE and INFO data (debug file and id, code file and id, generator), when the
    /// header parses.
    pub header: Option<SymHeader>,
    /// Why the header did not parse (the file is stored anyway, as Tecken does).
    pub header_error: Option<String>,
    /// Set when the MODULE line's debug file or id differs from the key's.
    pub module_mismatch: Option<ModuleMismatch>,
}

/// The result of an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UploadResult {
    /// Whether the files went to the Try area.
    pub try_symbols: bool,
    /// Size of the archive in bytes.
    pub archive_size: u64,
    /// Tecken's `content_hash`: the first 30 hex digits of the MD5 of the sorted
    /// `name:size` lines of every file in the archive.
    pub content_hash: String,
    /// Files written, sorted by key.
    pub uploaded: Vec<FileReport>,
    /// Files already stored with the same size and MD5, sorted by key.
    pub skipped: Vec<FileReport>,
    /// Files ignored by rule, in archive order.
    pub ignored: Vec<IgnoredFile>,
    /// One report per `.sym` uploaded or skipped, sorted by key.
    pub symbols: Vec<SymFileReport>,
}
