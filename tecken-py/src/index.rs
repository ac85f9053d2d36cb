//! `Index`, `build_index` and `parse_sym_header`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use tecken_core::BuildOptions;
use tecken_core::LookupOptions;
use tecken_core::ParseOptions;

use crate::convert::{to_python, ByteArg, Handle};
use crate::errors::run;
use crate::frames::Frame;

/// An open index file (memory-mapped) or an index built in memory. A context manager:
/// `close()` (or leaving the `with` block) unmaps the file; calls already running keep
/// their own reference and finish.
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct Index {
    inner: Handle<tecken_core::Index>,
}

impl Index {
    fn new(index: tecken_core::Index) -> Index {
        Index {
            inner: Handle::new(index, "index"),
        }
    }

    fn get(&self, py: Python<'_>) -> PyResult<Arc<tecken_core::Index>> {
        self.inner.get(py)
    }
}

#[pymethods]
impl Index {
    /// Opens (memory-maps) the index file at `path` and checks its header.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Index> {
        run(py, move || tecken_core::Index::open(&path)).map(Index::new)
    }

    /// The frame covering the module-relative address `address`, or `None`.
    ///
    /// Holds the GIL: a lookup takes well under a microsecond, less than releasing and
    /// re-taking the GIL costs. Use `lookup_many` for batches.
    ///
    /// `strict_lines=True` answers no line between two line records (Breakpad) instead of
    /// the previous one (Eliot, the default).
    #[pyo3(signature = (address, *, strict_lines = false))]
    fn lookup(&self, py: Python<'_>, address: u64, strict_lines: bool) -> PyResult<Option<Frame>> {
        let opts = LookupOptions { strict_lines };
        Ok(self.get(py)?.lookup_with(address, &opts).map(Frame::from))
    }

    /// `lookup` for each address, without the GIL, pipelined (`Index::lookup_each` in
    /// the core: the index reads of the next addresses overlap), so a batch costs well
    /// under one `lookup` per address.
    #[pyo3(signature = (addresses, *, strict_lines = false))]
    fn lookup_many(
        &self,
        py: Python<'_>,
        addresses: Vec<u64>,
        strict_lines: bool,
    ) -> PyResult<Vec<Option<Frame>>> {
        let index = self.get(py)?;
        let opts = LookupOptions { strict_lines };
        run(py, move || {
            let frames = index.lookup_many(&addresses, &opts);
            Ok(frames.into_iter().map(|f| f.map(Frame)).collect())
        })
    }

    /// Checks the CRC of the whole file (reads every byte).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let index = self.get(py)?;
        run(py, move || index.verify())
    }

    /// The `.sym` file's MODULE and INFO records (see `parse_sym_header`).
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.get(py)?.header())
    }

    /// The index metadata: `header`, the parse `report` of the build, `input_bytes`.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.get(py)?.meta())
    }

    /// Size of the index in bytes.
    #[getter]
    fn size_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.get(py)?.size_bytes())
    }

    /// Whether the index is a memory-mapped file (else it lives in memory).
    #[getter]
    fn is_mapped(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.get(py)?.is_mapped())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Releases the index (unmaps the file). Idempotent.
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.get(py) {
            Ok(ix) => format!(
                "<tecken_core.Index {}/{} {} bytes>",
                ix.header().debug_file,
                ix.header().debug_id,
                ix.size_bytes()
            ),
            Err(_) => "<tecken_core.Index closed>".to_owned(),
        }
    }
}

/// Builds an index from the bytes of a `.sym` file: into `output` (written atomically, then
/// memory-mapped) or in memory.
#[pyfunction]
#[pyo3(signature = (sym, output=None, *, strict=false, threads=0))]
pub fn build_index(
    py: Python<'_>,
    sym: &Bound<'_, PyAny>,
    output: Option<PathBuf>,
    strict: bool,
    threads: usize,
) -> PyResult<Index> {
    let sym = ByteArg::extract(sym, "sym", false)?;
    let sym = sym.as_slice();
    let opts = BuildOptions {
        parse: ParseOptions {
            strict,
            threads,
            ..ParseOptions::default()
        },
    };
    run(py, move || match output {
        Some(path) => tecken_core::build_index_to_file(sym, &path, &opts)
            .and_then(|_| tecken_core::Index::open(&path)),
        None => tecken_core::build_index(sym, &opts).map(|(index, _report)| index),
    })
    .map(Index::new)
}

/// The MODULE line and INFO records at the start of a `.sym` file.
#[pyfunction]
pub fn parse_sym_header<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = ByteArg::extract(data, "data", false)?;
    let data = data.as_slice();
    let header = run(py, move || tecken_core::parse_sym_header(data))?;
    to_python(py, &header)
}
