//! The code-id index: `(code_file, code_id)` -> `(debug_file, debug_id)`.
//!
//! Windows tools (and Tecken's download API) ask for `xul.dll/{code id}/xul.sym`; the
//! `.sym` is stored under `xul.pdb/{debug id}/`. Tecken answers from its database of
//! uploads; we keep one small JSON object per pair in the storage itself, at
//! `codeid/{code_file}/{CODE_ID}`:
//!
//! ```json
//! {"code_file":"xul.dll","code_id":"5D7BD8F4A0A000","debug_file":"xul.pdb",
//!  "debug_id":"44E4EC8C2F41492B9369D6B9A059577C2","generator":"mozilla/dump_syms 2.3.7",
//!  "try_symbols":false}
//! ```
//!
//! Why objects in the store rather than a database or a file beside it: every process
//! that shares the bucket (gunicorn workers, several servers) sees the same index with no
//! coordination; each entry is written atomically by the backend; the latest upload wins,
//! as in Tecken; and a lost index is rebuilt by scanning the `.sym` headers
//! ([`super::SymbolStore::rebuild_code_index`]). Entries are written after the `.sym`
//! they point to, so an entry never points to nothing that was never uploaded.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::keys::{has_invalid_key_chars, is_safe_component};

/// The storage-key prefix of index entries.
pub const CODE_ID_PREFIX: &str = "codeid/";

/// The storage-key prefix of MODULE-line aliases: `moduleid/{debug_file}/{DEBUG_ID}` holds
/// an entry (the same JSON) for a `.sym` whose MODULE line names another debug file or id
/// than the key it was uploaded under, so that syminfo finds it by what the file says of
/// itself, as Tecken does. Its `code_file`/`code_id` are the `.sym`'s own (empty when it
/// has none); `debug_file`/`debug_id` are the key it is stored under.
pub const MODULE_ID_PREFIX: &str = "moduleid/";

/// One entry of the code-id index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeIdEntry {
    /// The code file (`xul.dll`).
    pub code_file: String,
    /// The code id, upper-case.
    pub code_id: String,
    /// The debug file the `.sym` is stored under (`xul.pdb`).
    pub debug_file: String,
    /// The debug id the `.sym` is stored under, upper-case.
    pub debug_id: String,
    /// `INFO GENERATOR` of the `.sym`, if any.
    #[serde(default)]
    pub generator: Option<String>,
    /// Whether the `.sym` was uploaded as a Try symbol.
    #[serde(default)]
    pub try_symbols: bool,
    /// The file name the `.sym` is stored under when it is not the debug file's own
    /// (`xpcshell.sym` for `xpcshell.dbg`); MODULE-line aliases record it. `None`: the
    /// debug file's `.sym` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// The storage key of the entry for `code_file`/`code_id`. Fails with
/// [`ErrorKind::InvalidInput`] for names that cannot be keys.
pub fn entry_key(code_file: &str, code_id: &str) -> Result<String> {
    key_under(CODE_ID_PREFIX, code_file, code_id)
}

/// The storage key of the MODULE-line alias for `debug_file`/`debug_id`.
pub fn module_alias_key(debug_file: &str, debug_id: &str) -> Result<String> {
    key_under(MODULE_ID_PREFIX, debug_file, debug_id)
}

fn key_under(prefix: &str, code_file: &str, code_id: &str) -> Result<String> {
    if !is_safe_component(code_file) || has_invalid_key_chars(code_file) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid code file name {code_file:?}"),
        ));
    }
    if code_id.is_empty()
        || code_id.len() > 255
        || !code_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid code id {code_id:?}"),
        ));
    }
    Ok(format!(
        "{prefix}{code_file}/{}",
        code_id.to_ascii_uppercase()
    ))
}

impl CodeIdEntry {
    /// The entry's storage key.
    pub fn key(&self) -> Result<String> {
        entry_key(&self.code_file, &self.code_id)
    }

    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("code-id entry: {e}")))
    }

    pub(crate) fn from_json(key: &str, bytes: &[u8]) -> Result<CodeIdEntry> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("corrupt code-id index entry {key}: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(entry_key("xul.dll", "5d7b").unwrap(), "codeid/xul.dll/5D7B");
        assert!(entry_key("../x", "1").is_err());
        assert!(entry_key("x.dll", "1/2").is_err());
        assert!(entry_key("x.dll", "").is_err());
        assert_eq!(
            module_alias_key("xul.pdb", "ab1").unwrap(),
            "moduleid/xul.pdb/AB1"
        );
    }
}
