//! Every backend, the chain and [`SymbolStore`] as a symbolicator [`SymbolSource`].

use super::encoding::{gunzip, is_gzip};
use super::{ChainStore, LocalStore, Storage, SymbolStore};
use super::{SymData, SymKey, SymbolSource};
use crate::error::{Error, Result};
use crate::keys::{Area, ObjectKey};

/// Reads the `.sym` of `key` from `storage`: the regular area, then Try when `try_symbols`;
/// decompressed (gzipped and plain objects both accepted).
pub(crate) fn fetch_sym(
    storage: &dyn Storage,
    key: &SymKey,
    try_symbols: bool,
    limit: u64,
) -> Result<Option<SymData>> {
    let Ok(okey) = ObjectKey::new(&key.debug_file, &key.debug_id, &key.sym_file) else {
        return Ok(None);
    };
    for &area in Area::search_order(try_symbols) {
        if let Some(obj) = storage.get(&okey.storage_key(area))? {
            let body = if obj.meta.is_gzip() || is_gzip(&obj.body) {
                gunzip(&obj.body, limit)
                    .map_err(|e| Error::new(e.kind(), format!("{okey}: {e}")))?
            } else {
                obj.body
            };
            return Ok(Some(SymData::Bytes(body)));
        }
    }
    Ok(None)
}

const DEFAULT_LIMIT: u64 = 8 << 30;

impl SymbolSource for SymbolStore {
    /// Regular area, then Try unless [`super::StoreOptions::source_includes_try`] is off.
    /// A miss is recorded in the missing-symbols recorder, if one is attached.
    fn fetch(&self, key: &SymKey) -> Result<Option<SymData>> {
        self.fetch_limited(key, u64::MAX)
    }

    /// As [`SymbolSource::fetch`], decompressing at most `max_bytes` (or the store's
    /// `max_object_size`, whichever is smaller).
    fn fetch_limited(&self, key: &SymKey, max_bytes: u64) -> Result<Option<SymData>> {
        let found = fetch_sym(
            self.storage().as_ref(),
            key,
            self.options().source_includes_try,
            self.options().max_object_size.min(max_bytes),
        )?;
        if found.is_none() {
            if let Some(m) = self.missing_symbols() {
                m.record(&key.debug_file, &key.debug_id, "", "")?;
            }
        }
        Ok(found)
    }

    fn describe(&self) -> String {
        Storage::describe(self.storage().as_ref())
    }
}

impl SymbolSource for LocalStore {
    /// Regular area, then Try. A plain `.sym` is handed over as a path (memory-mapped by
    /// the symbolicator, not read).
    fn fetch(&self, key: &SymKey) -> Result<Option<SymData>> {
        self.fetch_limited(key, super::DEFAULT_MAX_SYM_BYTES)
    }

    /// As [`SymbolSource::fetch`], stopping a gzipped `.sym` at `max_bytes`.
    fn fetch_limited(&self, key: &SymKey, max_bytes: u64) -> Result<Option<SymData>> {
        let Ok(okey) = ObjectKey::new(&key.debug_file, &key.debug_id, &key.sym_file) else {
            return Ok(None);
        };
        for &area in Area::search_order(true) {
            let path = self.path_of(&okey.storage_key(area))?;
            if path.is_file() {
                return super::read_maybe_gzip_limited(&path, max_bytes).map(Some);
            }
        }
        Ok(None)
    }

    fn describe(&self) -> String {
        Storage::describe(self)
    }
}

/// A backend as a source: regular area, then Try, decompressed up to the smaller of the
/// symbolicator's limit and [`DEFAULT_LIMIT`].
macro_rules! storage_source {
    ($($(#[$attr:meta])* $ty:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl SymbolSource for $ty {
            fn fetch(&self, key: &SymKey) -> Result<Option<SymData>> {
                fetch_sym(self, key, true, DEFAULT_LIMIT)
            }

            fn fetch_limited(&self, key: &SymKey, max_bytes: u64) -> Result<Option<SymData>> {
                fetch_sym(self, key, true, DEFAULT_LIMIT.min(max_bytes))
            }

            fn describe(&self) -> String {
                Storage::describe(self)
            }
        }
    )*};
}

storage_source!(
    ChainStore,
    #[cfg(feature = "http")]
    super::HttpStore,
    #[cfg(feature = "s3")]
    super::S3Store,
);
