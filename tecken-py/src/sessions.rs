//! `UploadSessions` and `ChunkWriter`: Tecken's upload API v2 (one resumable upload session
//! per file) for a web app's views; the rules and the storing are the core's.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use tecken_core::{
    ChunkOutcome, ChunkWriter as CoreWriter, FileAction, FileSpec, SessionLimits, UploadOptions,
    UploadSessions as CoreSessions,
};

use crate::convert::{to_python, ByteArg};
use crate::errors::{invalid, run};
use crate::store::SymbolStore;

/// A directory of upload sessions (Tecken's upload API v2), shared by the processes of a
/// web app. `start` answers `POST /upload/v2/`; `begin` takes one `PUT` of a chunk.
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct UploadSessions {
    inner: CoreSessions,
}

fn options(try_: bool, max_file_size: Option<u64>) -> UploadOptions {
    let mut o = UploadOptions {
        try_symbols: try_,
        ..UploadOptions::default()
    };
    if let Some(max) = max_file_size {
        o.limits.max_member_size = max;
    }
    o
}

#[pymethods]
impl UploadSessions {
    /// Sessions in `directory` (created if missing): at most `max_files` files per
    /// `start`, `max_open` sessions open at once, each kept `ttl` seconds.
    #[new]
    #[pyo3(signature = (directory, *, max_files=1000, max_open=10_000, ttl=86_400.0))]
    fn new(
        py: Python<'_>,
        directory: PathBuf,
        max_files: usize,
        max_open: usize,
        ttl: f64,
    ) -> PyResult<UploadSessions> {
        run(py, move || {
            if !(ttl.is_finite() && ttl >= 0.0) {
                return Err(invalid(format!(
                    "ttl must be a number of seconds >= 0, not {ttl}"
                )));
            }
            let limits = SessionLimits {
                max_files,
                max_open,
                ttl: std::time::Duration::from_secs_f64(ttl),
            };
            CoreSessions::new(directory, limits)
        })
        .map(|inner| UploadSessions { inner })
    }

    /// The actions for the `files` of a `POST /upload/v2/` body (a list of dicts with
    /// `key`, `size`, `md5_hash`), in order: `{"key", "action": {"type": "upload",
    /// "session": ID}}`, `{"type": "skip"}` or `{"type": "error", "msg": ...}`. `try_`
    /// stores into the Try area; `max_file_size` caps a file's declared size (default:
    /// the core's member limit).
    #[pyo3(signature = (store, files, *, try_=false, max_file_size=None))]
    fn start<'py>(
        &self,
        py: Python<'py>,
        store: PyRef<'_, SymbolStore>,
        files: &Bound<'py, PyAny>,
        try_: bool,
        max_file_size: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut specs = Vec::new();
        for item in files.try_iter()? {
            let item = item?;
            let field = |name: &str| -> PyResult<Bound<'py, PyAny>> {
                item.get_item(name).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "each file needs \"key\", \"size\" and \"md5_hash\" (missing {name:?})"
                    ))
                })
            };
            specs.push(FileSpec {
                key: field("key")?.extract()?,
                size: field("size")?.extract()?,
                md5_hash: field("md5_hash")?.extract()?,
            });
        }
        let opts = options(try_, max_file_size);
        let store = &store.inner;
        let planned = run(py, || self.inner.start(store, &specs, &opts))?;
        let out: Vec<serde_json::Value> = planned
            .into_iter()
            .map(|p| {
                let action = match p.action {
                    FileAction::Upload { session } => {
                        serde_json::json!({"type": "upload", "session": session})
                    }
                    FileAction::Skip => serde_json::json!({"type": "skip"}),
                    FileAction::Error(msg) => serde_json::json!({"type": "error", "msg": msg}),
                };
                serde_json::json!({"key": p.key, "action": action})
            })
            .collect();
        to_python(py, &out)
    }

    /// Opens session `session` for one chunk with the `Content-Range` header value
    /// `content_range`; waits while another process writes to the same session. Unknown
    /// or expired sessions raise `NotFoundError`, a bad range `InvalidInputError`.
    fn begin(&self, py: Python<'_>, session: &str, content_range: &str) -> PyResult<ChunkWriter> {
        let w = run(py, || self.inner.begin(session, content_range))?;
        Ok(ChunkWriter {
            inner: Mutex::new(Some(w)),
        })
    }

    /// The number of open sessions.
    fn open_count(&self, py: Python<'_>) -> PyResult<usize> {
        run(py, || self.inner.open_count())
    }

    /// Removes expired sessions; returns how many.
    fn sweep(&self, py: Python<'_>) -> PyResult<usize> {
        run(py, || self.inner.sweep())
    }

    fn __repr__(&self) -> String {
        format!(
            "<tecken_core.UploadSessions {}>",
            self.inner.dir().display()
        )
    }
}

/// One chunk being received: `write` its body in pieces, then `finish`. Holds the
/// session's lock until finished or closed (also as a context manager).
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct ChunkWriter {
    inner: Mutex<Option<CoreWriter>>,
}

impl ChunkWriter {
    fn take(&self) -> PyResult<CoreWriter> {
        self.inner
            .lock()
            .ok()
            .and_then(|mut w| w.take())
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err("the chunk is finished or closed")
            })
    }
}

#[pymethods]
impl ChunkWriter {
    /// Appends the next piece of the body (`bytes`, `bytearray` or `memoryview`).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = ByteArg::extract(data, "data", false)?;
        let bytes = data.as_slice();
        let mut w = self.take()?;
        let r = run(py, || w.write(bytes));
        if r.is_ok() {
            if let Ok(mut slot) = self.inner.lock() {
                *slot = Some(w);
            }
        }
        r
    }

    /// Ends the chunk: `{"complete": False, "received": N}` while bytes are missing (answer
    /// 308 with `Range: bytes=0-{N-1}`), else `{"complete": True, "received": N, "file":
    /// {...}, "result": {...} | None}` once the file is stored (`file`: `key`, `storage_key`,
    /// `size`, `md5`, `md5_base64`, `skipped`, `try_symbols`; `result`: the upload report,
    /// `None` when this repeats the last chunk of a finished session). `max_file_size` as
    /// for `start`.
    #[pyo3(signature = (store, *, max_file_size=None))]
    fn finish<'py>(
        &self,
        py: Python<'py>,
        store: PyRef<'_, SymbolStore>,
        max_file_size: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let w = self.take()?;
        let opts = options(false, max_file_size);
        let store = &store.inner;
        let outcome = run(py, || w.finish(store, &opts))?;
        let value = match outcome {
            ChunkOutcome::Incomplete { received } => {
                serde_json::json!({"complete": false, "received": received})
            }
            ChunkOutcome::Complete { file, result } => {
                let mut f = serde_json::to_value(&file).unwrap_or_default();
                f["md5_base64"] = file.md5_base64().into();
                serde_json::json!({"complete": true, "received": file.size, "file": f, "result": result})
            }
        };
        to_python(py, &value)
    }

    /// Releases the session without finishing (what was written stays).
    fn close(&self) {
        if let Ok(mut w) = self.inner.lock() {
            w.take();
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }
}
