//! `Symbolicator`: Eliot's v5/v4 APIs and typed symbolication over symbol sources.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use tecken_core::StoreSpec;
use tecken_core::{Error, ErrorKind, SymbolicatorConfig};
use tecken_core::{FrameRef, ModuleRef, V5Options};

use crate::convert::{ByteArg, Handle};
use crate::errors::{invalid, run, to_py};
use crate::frames::JobResult;
use crate::store::SymbolStore;

type Core = tecken_core::Symbolicator;

/// Symbolicates stacks from symbol sources, building indexes on first use into
/// `cache_dir` (shared between processes) and keeping open ones in a byte-bounded LRU.
/// Thread-safe: share one per process. A context manager (`close()` releases the open
/// indexes).
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct Symbolicator {
    inner: Handle<Core>,
    options: V5Options,
}

/// One source: a `SymbolStore`, a spec string (`s3://...`, `https://...`, else a
/// directory) or an `os.PathLike` directory, read as the core's `StoreSpec` reads it: a
/// directory with a `v1/` subdirectory is a store, any other the plain symbols layout
/// `DIR/{debug_file}/{debug_id}/{sym_file}`; a missing directory is an error.
fn source(obj: &Bound<'_, PyAny>) -> PyResult<Option<tecken_core::SymbolStore>> {
    if let Ok(store) = obj.cast::<SymbolStore>() {
        return Ok(Some(store.get().inner.clone()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return StoreSpec::parse(s.to_str()?)
            .and_then(|spec| spec.symbol_store())
            .map(Some)
            .map_err(|e| to_py(obj.py(), &e));
    }
    if obj.hasattr("__fspath__")? {
        return StoreSpec::Dir(obj.extract::<PathBuf>()?)
            .symbol_store()
            .map(Some)
            .map_err(|e| to_py(obj.py(), &e));
    }
    Ok(None)
}

pub(crate) fn parse_sources(obj: &Bound<'_, PyAny>) -> PyResult<Vec<tecken_core::SymbolStore>> {
    if let Some(one) = source(obj)? {
        return Ok(vec![one]);
    }
    let bad = || {
        PyTypeError::new_err(
            "sources must be a SymbolStore, str, os.PathLike, or a sequence of them",
        )
    };
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| bad())? {
        out.push(source(&item?)?.ok_or_else(bad)?);
    }
    Ok(out)
}

/// `-1` is "none" (Eliot's convention); other values must fit `T`.
fn index_or_none<T: TryFrom<i128>>(v: i128, what: &str) -> tecken_core::Result<Option<T>> {
    match v {
        -1 => Ok(None),
        v => T::try_from(v)
            .map(Some)
            .map_err(|_| invalid(format!("{what} {v} is out of range"))),
    }
}

fn module_ref(entry: Vec<String>) -> tecken_core::Result<ModuleRef<'static>> {
    let Ok([file, id]) = <[String; 2]>::try_from(entry) else {
        return Err(invalid("a memory map entry must be (debug_file, debug_id)"));
    };
    Ok(ModuleRef::new(file, id))
}

fn frame_ref(frame: &[i128]) -> tecken_core::Result<FrameRef> {
    let [index, offset] = frame else {
        return Err(invalid("a frame must be (module_index, module_offset)"));
    };
    Ok(FrameRef {
        module_index: index_or_none(*index, "module_index")?,
        module_offset: index_or_none(*offset, "module_offset")?,
    })
}

#[pymethods]
impl Symbolicator {
    /// `sources`: a `SymbolStore`, a spec (`"s3://bucket/prefix"`, `"https://..."`, or a
    /// directory: a store if it has `v1/`, else the plain layout), an `os.PathLike`
    /// directory, or a sequence of them, searched in order. Every setting left `None` takes the core's default.
    #[new]
    #[pyo3(signature = (sources, *, cache_dir=None, max_cache_bytes=None, max_open_bytes=None,
        negative_ttl=None, max_negative_entries=None, max_jobs=None, max_body_bytes=None,
        max_frames=None, max_modules=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "Python keyword arguments, one per setting"
    )]
    fn new(
        sources: &Bound<'_, PyAny>,
        cache_dir: Option<PathBuf>,
        max_cache_bytes: Option<u64>,
        max_open_bytes: Option<u64>,
        negative_ttl: Option<f64>,
        max_negative_entries: Option<usize>,
        max_jobs: Option<usize>,
        max_body_bytes: Option<usize>,
        max_frames: Option<usize>,
        max_modules: Option<usize>,
    ) -> PyResult<Symbolicator> {
        let py = sources.py();
        let mut c = SymbolicatorConfig {
            cache_dir,
            ..SymbolicatorConfig::default()
        };
        c.max_cache_bytes = max_cache_bytes.or(c.max_cache_bytes);
        c.max_open_bytes = max_open_bytes.unwrap_or(c.max_open_bytes);
        c.max_negative_entries = max_negative_entries.unwrap_or(c.max_negative_entries);
        if let Some(ttl) = negative_ttl {
            c.negative_ttl = Duration::try_from_secs_f64(ttl)
                .map_err(|_| to_py(py, &invalid("negative_ttl must be >= 0 seconds")))?;
        }
        let mut o = V5Options::default();
        o.max_jobs = max_jobs.unwrap_or(o.max_jobs);
        o.max_body_bytes = max_body_bytes.unwrap_or(o.max_body_bytes);
        o.max_frames = max_frames.unwrap_or(o.max_frames);
        o.max_modules = max_modules.unwrap_or(o.max_modules);
        Ok(Symbolicator {
            inner: Handle::new(Core::new(parse_sources(sources)?, c), "symbolicator"),
            options: o,
        })
    }

    /// Answers a `POST /symbolicate/v5` body with the exact bytes Eliot sends. A request
    /// Eliot would refuse raises `BadRequestError` whose `.status` (400, 413) and `.body`
    /// are Eliot's answer. `debug` adds Eliot's `debug` block.
    #[pyo3(signature = (body, *, debug=false))]
    fn symbolicate_v5<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        debug: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (sym, body, opts) = (
            self.inner.get(py)?,
            ByteArg::extract(body, "body", true)?,
            &self.options,
        );
        let body = body.as_slice();
        let out = run(py, move || {
            tecken_core::parse_v5(body, opts).map(|req| tecken_core::write_v5(&*sym, &req, debug))
        })?;
        Ok(PyBytes::new(py, &out))
    }

    /// `symbolicate_v5` that never raises for a refused request: returns `(status, body)`,
    /// exactly what Eliot answers (200, 400, 413).
    #[pyo3(signature = (body, *, debug=false))]
    fn symbolicate_v5_with_status<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        debug: bool,
    ) -> PyResult<(u16, Bound<'py, PyBytes>)> {
        let (sym, body, opts) = (
            self.inner.get(py)?,
            ByteArg::extract(body, "body", true)?,
            self.options.clone().with_debug(debug),
        );
        let body = body.as_slice();
        let resp = run(py, move || {
            Ok(tecken_core::symbolicate_v5(&*sym, body, &opts))
        })?;
        Ok((resp.status, PyBytes::new(py, &resp.body)))
    }

    /// Answers a `POST /symbolicate/v4` body (see `symbolicate_v5`).
    fn symbolicate_v4<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (sym, body, opts) = (
            self.inner.get(py)?,
            ByteArg::extract(body, "body", true)?,
            &self.options,
        );
        let body = body.as_slice();
        let out = run(py, move || {
            tecken_core::parse_v4(body, opts).map(|job| tecken_core::write_v4(&*sym, &job))
        })?;
        Ok(PyBytes::new(py, &out))
    }

    /// `symbolicate_v4` returning `(status, body)` (see `symbolicate_v5_with_status`).
    fn symbolicate_v4_with_status<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<(u16, Bound<'py, PyBytes>)> {
        let (sym, body, opts) = (
            self.inner.get(py)?,
            ByteArg::extract(body, "body", true)?,
            &self.options,
        );
        let body = body.as_slice();
        let resp = run(py, move || {
            Ok(tecken_core::symbolicate_v4(&*sym, body, opts))
        })?;
        Ok((resp.status, PyBytes::new(py, &resp.body)))
    }

    /// Symbolicates one job given as Python values: `modules` is the memory map,
    /// `(debug_file, debug_id)` each; `stacks` are lists of `(module_index,
    /// module_offset)` frames, `-1` for "none". Validated as Eliot validates a v5 job
    /// (`BadRequestError`).
    fn symbolicate(
        &self,
        py: Python<'_>,
        modules: Vec<Vec<String>>,
        stacks: Vec<Vec<Vec<i128>>>,
    ) -> PyResult<JobResult> {
        let sym = self.inner.get(py)?;
        let mut result = run(py, move || {
            let modules = modules
                .into_iter()
                .map(module_ref)
                .collect::<tecken_core::Result<Vec<_>>>()?;
            let stacks = stacks
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|f| frame_ref(f))
                        .collect::<tecken_core::Result<Vec<_>>>()
                })
                .collect::<tecken_core::Result<Vec<_>>>()?;
            tecken_core::symbolicate(&*sym, &modules, &stacks)
        })?;
        let job = result
            .results
            .pop()
            .ok_or_else(|| to_py(py, &Error::new(ErrorKind::Internal, "no job result")))?;
        JobResult::new(py, job)
    }

    /// Forgets that a module was not found, so the next request looks again.
    fn forget_missing(&self, py: Python<'_>, debug_file: &str, debug_id: &str) -> PyResult<()> {
        self.inner.get(py)?.forget_missing(debug_file, debug_id);
        Ok(())
    }

    /// Forgets the "not found" entries of every module an upload stored: pass the result
    /// of ``SymbolStore.upload_archive`` after uploading into a store this symbolicator
    /// reads, so that modules looked for before the upload are found at once.
    fn forget_uploaded(&self, py: Python<'_>, result: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut keys = Vec::new();
        for report in result.get_item("symbols")?.try_iter()? {
            keys.push(report?.get_item("key")?.extract::<String>()?);
        }
        self.inner
            .get(py)?
            .forget_uploaded_keys(keys.iter().map(String::as_str));
        Ok(())
    }

    /// Number of modules currently open.
    #[getter]
    fn open_modules(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.inner.get(py)?.open_modules())
    }

    /// Bytes of open indexes currently held.
    #[getter]
    fn open_bytes(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.inner.get(py)?.open_bytes())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Releases the open indexes. Idempotent; later calls raise `InvalidInputError`.
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}
