//! The Python binding of `tecken-core`, imported as `tecken_core` (this is its native part,
//! `tecken_core._native`; the package in `python/tecken_core/` re-exports it with type
//! stubs).
//!
//! Every function converts its arguments, makes one core call through
//! [`errors::run`] (GIL released, panics caught, errors mapped to the exception tree),
//! and converts the result. Rules live in the core.

#![deny(missing_docs)]

mod binary;
mod convert;
mod errors;
mod frames;
mod index;
mod sessions;
mod stackwalk;
mod store;
mod symbolicator;

use pyo3::prelude::*;

/// Panics inside the funnel, to test that a panic becomes `InternalError`.
#[pyfunction]
fn _test_panic(py: Python<'_>) -> PyResult<()> {
    errors::run(py, || -> tecken_core::Result<()> { panic!("test panic") })
}

/// Whether the `Auth-Token` header value `presented` authenticates as the token
/// `expected`: the token, or the token, `-` and a label (Tecken's token labels).
#[pyfunction]
fn auth_token_matches(expected: &str, presented: &str) -> bool {
    tecken_core::auth_token_matches(expected, presented)
}

/// Whether a `Debug` header value asks Tecken's download API for `Debug-Time`: `1`,
/// `true` or `yes`, in any case.
#[pyfunction]
fn tecken_debug_requested(value: &str) -> bool {
    tecken_core::tecken_debug_requested(value)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", tecken_core::VERSION)?;
    errors::register(m)?;
    m.add_class::<store::SymbolStore>()?;
    m.add_class::<symbolicator::Symbolicator>()?;
    m.add_class::<sessions::UploadSessions>()?;
    m.add_class::<sessions::ChunkWriter>()?;
    m.add_class::<index::Index>()?;
    m.add_class::<frames::Frame>()?;
    m.add_class::<frames::InlineFrame>()?;
    m.add_class::<frames::SymbolicatedFrame>()?;
    m.add_class::<frames::SymbolicatedInline>()?;
    m.add_class::<frames::JobResult>()?;
    m.add_function(wrap_pyfunction!(index::build_index, m)?)?;
    m.add_function(wrap_pyfunction!(index::parse_sym_header, m)?)?;
    m.add_function(wrap_pyfunction!(binary::binary_id, m)?)?;
    m.add_function(wrap_pyfunction!(auth_token_matches, m)?)?;
    m.add_function(wrap_pyfunction!(tecken_debug_requested, m)?)?;
    m.add_function(wrap_pyfunction!(stackwalk::stackwalk, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    Ok(())
}
