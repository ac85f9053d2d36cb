//! How the symbolicator reads a module's `.sym` from a [`SymbolStore`]: the regular area,
//! then Try, decompressed within a bound; a plain `.sym` on local disk is handed over by
//! its path, to be memory-mapped rather than read.

use super::encoding::{gunzip, is_gzip};
use super::{ObjectData, SymbolStore};
use crate::error::{Error, Result};
use crate::keys::{Area, ObjectKey};
use crate::sym::file::{read_maybe_gzip, SymData};

impl SymbolStore {
    /// The `.sym` of `key`: the regular area, then Try unless
    /// [`super::StoreOptions::source_includes_try`] is off; decompressed, at most the
    /// smaller of `max_bytes` and the store's `max_object_size`. `Ok(None)` is "not found"
    /// (final, and recorded by the missing-symbols recorder if one is attached); a stored
    /// file that is corrupt gzip is [`ErrorKind::MalformedSym`], one that decompresses
    /// beyond the bound [`ErrorKind::LimitExceeded`]; other errors are transient.
    /// Whether `key`'s `.sym` is here, when a local lookup can tell (`None` for a network
    /// backend, which [`SymbolStore::fetch_sym`] must ask anyway). Records nothing: see
    /// [`SymbolStore::record_missing_sym`].
    pub(crate) fn probe_sym(&self, key: &ObjectKey) -> Result<Option<bool>> {
        let storage = self.storage();
        if !storage.is_local() {
            return Ok(None);
        }
        let areas = Area::search_order(self.options().source_includes_try);
        Ok(Some(self.find(key, areas, |k| storage.head(k))?.is_some()))
    }

    /// Records `key` as missing here, as [`SymbolStore::fetch_sym`] does when it finds
    /// nothing.
    pub(crate) fn record_missing_sym(&self, key: &ObjectKey) -> Result<()> {
        if let Some(m) = self.missing_symbols() {
            m.record(key.debug_file(), key.debug_id(), "", "")?;
        }
        Ok(())
    }

    pub(crate) fn fetch_sym(&self, key: &ObjectKey, max_bytes: u64) -> Result<Option<SymData>> {
        let limit = self.options().max_object_size.min(max_bytes);
        let storage = self.storage();
        let found = self.find(
            key,
            Area::search_order(self.options().source_includes_try),
            |k| storage.get_data(k),
        )?;
        if let Some((_, _, data)) = found {
            match data {
                ObjectData::File(path) => {
                    return read_maybe_gzip(&path, limit)
                        .map(Some)
                        .map_err(|e| Error::new(e.kind(), format!("{key}: {e}")));
                }
                ObjectData::Object(obj) => {
                    let body = if obj.meta.is_gzip() || is_gzip(&obj.body) {
                        gunzip(&obj.body, limit)
                            .map_err(|e| Error::new(e.kind(), format!("{key}: {e}")))?
                    } else {
                        obj.body
                    };
                    return Ok(Some(SymData::Bytes(body)));
                }
            }
        }
        self.record_missing_sym(key)?;
        Ok(None)
    }
}
