//! `binary_id`.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::convert::{to_python, ByteArg};
use crate::errors::run;

/// The ids `dump_syms` writes for an ELF, Mach-O or PE binary, and the store key of its
/// `.sym` file (`None` when the debug file is not a valid key part).
#[pyfunction]
#[pyo3(signature = (data, name, *, arch = None))]
pub fn binary_id<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    name: PathBuf,
    arch: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = ByteArg::extract(data, "data", false)?;
    let data = data.as_slice();
    let name = name.to_string_lossy().into_owned();
    let id = run(py, move || {
        tecken_core::binary_id(data, &name, arch.as_deref())
    })?;
    let key = id.key().ok().map(|k| k.path());
    let mut fields = serde_json::to_value(&id)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    fields["key"] = key.into();
    to_python(py, &fields)
}
