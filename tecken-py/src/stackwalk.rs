//! `stackwalk`: a minidump processed as `minidump-stackwalk` does, its JSON.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use tecken_core::{MinidumpSource, StackwalkOptions, SymbolicatorConfig};

use crate::convert::ByteArg;
use crate::errors::run;
use crate::symbolicator::parse_sources;

/// The minidump argument: its bytes, or the path of its file.
enum Dump<'py> {
    Bytes(ByteArg<'py>),
    Path(PathBuf),
}

/// Processes a minidump (its bytes, or the path of its file) as `minidump-stackwalk` does:
/// every thread unwound with the STACK CFI / STACK WIN records of `symbols` (spec strings,
/// directories or `SymbolStore`s, searched in order) and symbolicated. Returns
/// `minidump-stackwalk --json`'s JSON. `cache` keeps built indexes between calls and
/// processes.
#[pyfunction]
#[pyo3(signature = (minidump, symbols, cache = None, *, pretty = false, load_threads = 4))]
pub fn stackwalk(
    py: Python<'_>,
    minidump: &Bound<'_, PyAny>,
    symbols: &Bound<'_, PyAny>,
    cache: Option<PathBuf>,
    pretty: bool,
    load_threads: usize,
) -> PyResult<String> {
    let dump = if minidump.is_instance_of::<PyString>() || minidump.hasattr("__fspath__")? {
        Dump::Path(minidump.extract::<PathBuf>()?)
    } else {
        Dump::Bytes(ByteArg::extract(minidump, "minidump", false).map_err(|_| {
            PyTypeError::new_err(format!(
                "minidump must be bytes, bytearray, memoryview, str or os.PathLike, not {}",
                minidump
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?)
    };
    let sources = parse_sources(symbols)?;
    let config = SymbolicatorConfig {
        cache_dir: cache,
        ..SymbolicatorConfig::default()
    };
    let options = StackwalkOptions { load_threads };
    let source = match &dump {
        Dump::Bytes(b) => MinidumpSource::Bytes(b.as_slice()),
        Dump::Path(p) => MinidumpSource::Path(p),
    };
    run(py, move || {
        let symbolicator = Arc::new(tecken_core::Symbolicator::new(sources, config));
        tecken_core::stackwalk(source, symbolicator, &options)?.to_json(pretty)
    })
}
