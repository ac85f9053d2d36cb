//! Argument and result conversions shared by the classes.

use std::sync::{Arc, RwLock};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};
use serde::Serialize;
use tecken_core::{Error, ErrorKind};

use crate::errors::{invalid, to_py};

/// A byte input, readable without the GIL.
///
/// `bytes` and `str` are immutable, so the core reads them in place while other Python
/// threads run; `bytearray` and `memoryview` may be resized or written by another thread
/// meanwhile, so they are copied into a new `bytes` first (under the GIL).
pub enum ByteArg<'py> {
    /// `bytes` (or a copy of a mutable buffer).
    Bytes(Bound<'py, PyBytes>),
    /// `str`, read as its UTF-8 encoding.
    Str(Bound<'py, PyString>),
}

impl<'py> ByteArg<'py> {
    /// Accepts `bytes | bytearray | memoryview`, and `str` when `allow_str`; anything else is
    /// a `TypeError` naming the argument.
    pub fn extract(obj: &Bound<'py, PyAny>, what: &str, allow_str: bool) -> PyResult<ByteArg<'py>> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(ByteArg::Bytes(b.clone()));
        }
        if allow_str {
            if let Ok(s) = obj.cast::<PyString>() {
                s.to_str()?; // a str with lone surrogates has no UTF-8 form: UnicodeEncodeError
                return Ok(ByteArg::Str(s.clone()));
            }
        }
        if obj.is_instance_of::<PyByteArray>() || obj.is_instance_of::<PyMemoryView>() {
            let copy = obj.py().get_type::<PyBytes>().call1((obj,))?;
            return Ok(ByteArg::Bytes(copy.cast_into::<PyBytes>()?));
        }
        let expected = if allow_str {
            "bytes, bytearray, memoryview or str"
        } else {
            "bytes, bytearray or memoryview"
        };
        Err(PyTypeError::new_err(format!(
            "{what} must be {expected}, not {}",
            obj.get_type().name()?
        )))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ByteArg::Bytes(b) => b.as_bytes(),
            // Checked in `extract`.
            ByteArg::Str(s) => s.to_str().map(str::as_bytes).unwrap_or_default(),
        }
    }
}

/// A report-like core value as plain Python data (`dict`, `list`, `str`, `int`, ...), through
/// its serde form: the shape is the core's JSON, documented as `TypedDict`s in the stubs.
pub fn to_python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let json = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    LOADS.import(py, "json", "loads")?.call1((json,))
}

/// The core object behind a Python object that can be closed (`close()`, `with`): calls
/// take their own reference, so closing while another thread is inside a call is safe (the
/// object goes away when that call returns).
#[derive(Debug)]
pub struct Handle<T> {
    inner: RwLock<Option<Arc<T>>>,
    what: &'static str,
}

impl<T> Handle<T> {
    /// A handle to `value`; `what` names it in the "is closed" error.
    pub fn new(value: T, what: &'static str) -> Handle<T> {
        Handle {
            inner: RwLock::new(Some(Arc::new(value))),
            what,
        }
    }

    /// The object, or an `InvalidInputError` once closed.
    pub fn get(&self, py: Python<'_>) -> PyResult<Arc<T>> {
        let guard = self
            .inner
            .read()
            .map_err(|_| to_py(py, &Error::new(ErrorKind::Internal, "handle lock poisoned")))?;
        guard
            .clone()
            .ok_or_else(|| to_py(py, &invalid(format!("the {} is closed", self.what))))
    }

    /// Drops this handle's reference. Idempotent.
    pub fn close(&self) {
        if let Ok(mut guard) = self.inner.write() {
            guard.take();
        }
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.read().map(|g| g.is_none()).unwrap_or(true)
    }
}
