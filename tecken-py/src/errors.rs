//! The Python exception tree, the one mapping from core errors to it, and the one funnel
//! every core call goes through ([`run`]).
//!
//! ```text
//! TeckenError(Exception)                 .kind, .status, .body
//! ├── InvalidInputError(ValueError)      invalid_input
//! ├── MalformedSymError(ValueError)      malformed_sym
//! ├── BadRequestError(ValueError)        bad_request     (.body: Eliot's error JSON)
//! ├── LimitExceededError(ValueError)     limit_exceeded
//! ├── CorruptIndexError(ValueError)      corrupt_index
//! │   ├── IndexTooOldError               index_too_old
//! │   └── IndexTooNewError               index_too_new
//! ├── NotFoundError(LookupError)         not_found
//! ├── IoError(OSError)                   io
//! ├── StorageError(OSError)              storage
//! └── InternalError(RuntimeError)        internal        (also: a panic in the core)
//! ```
//!
//! Every class also subclasses a builtin, so `except ValueError` / `except OSError` clauses
//! written before this library keep working. `.kind` is the core's
//! [`ErrorKind::as_str`], stable across releases; `.status` is the HTTP status the core
//! gives the error. The classes are made with `type()` at import because PyO3's
//! `create_exception!` allows one base only; they are module-level names of `tecken_core`,
//! so they pickle.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};
use tecken_core::ApiResponse;
use tecken_core::{Error, ErrorKind};

/// One class of the tree: its name, its parent (`None`: `TeckenError`) and builtin base,
/// the kind it stands for, and its docstring.
struct Class {
    name: &'static str,
    parent: Option<&'static str>,
    builtin: &'static str,
    kind: ErrorKind,
    doc: &'static str,
}

const BASE: &str = "TeckenError";

const TREE: &[Class] = &[
    Class {
        name: "InvalidInputError",
        parent: None,
        builtin: "ValueError",
        kind: ErrorKind::InvalidInput,
        doc: "An argument is not what the call expects. Fix the input; retrying will not help.",
    },
    Class {
        name: "MalformedSymError",
        parent: None,
        builtin: "ValueError",
        kind: ErrorKind::MalformedSym,
        doc: "A .sym file could not be parsed at all.",
    },
    Class {
        name: "BadRequestError",
        parent: None,
        builtin: "ValueError",
        kind: ErrorKind::BadRequest,
        doc: "A v5/v4 request failed Eliot's validation; .status and .body are the HTTP answer.",
    },
    Class {
        name: "LimitExceededError",
        parent: None,
        builtin: "ValueError",
        kind: ErrorKind::LimitExceeded,
        doc: "A limit was hit (input too large, too many members). Send less.",
    },
    Class {
        name: "CorruptIndexError",
        parent: None,
        builtin: "ValueError",
        kind: ErrorKind::CorruptIndex,
        doc: "An index file is truncated, corrupt or not an index. Rebuild it.",
    },
    Class {
        name: "IndexTooOldError",
        parent: Some("CorruptIndexError"),
        builtin: "",
        kind: ErrorKind::IndexTooOld,
        doc: "An index file has an older format version. Rebuild it.",
    },
    Class {
        name: "IndexTooNewError",
        parent: Some("CorruptIndexError"),
        builtin: "",
        kind: ErrorKind::IndexTooNew,
        doc: "An index file has a newer format version. Upgrade tecken_core, or rebuild it.",
    },
    Class {
        name: "NotFoundError",
        parent: None,
        builtin: "LookupError",
        kind: ErrorKind::NotFound,
        doc: "The thing asked for does not exist (file, module, key).",
    },
    Class {
        name: "IoError",
        parent: None,
        builtin: "OSError",
        kind: ErrorKind::Io,
        doc: "Reading or writing local files failed. Usually transient or an operator problem.",
    },
    Class {
        name: "StorageError",
        parent: None,
        builtin: "OSError",
        kind: ErrorKind::Storage,
        doc: "A remote storage backend (S3, HTTP) failed or timed out. Transient; retry later.",
    },
    Class {
        name: "InternalError",
        parent: None,
        builtin: "RuntimeError",
        kind: ErrorKind::Internal,
        doc: "A bug in tecken_core (including a panic). Report it.",
    },
];

/// The class of each kind: the one mapping from core errors to Python. A kind added to the
/// core later (`ErrorKind` is non-exhaustive) is still a `TeckenError` with its own `.kind`.
fn class_name(kind: ErrorKind) -> &'static str {
    TREE.iter()
        .find(|c| c.kind == kind)
        .map_or(BASE, |c| c.name)
}

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Creates the classes (once) and adds them to `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || make_classes(py))?.bind(py);
    for (name, class) in classes.iter() {
        m.add(name.extract::<&str>()?, class)?;
    }
    Ok(())
}

fn make_classes(py: Python<'_>) -> PyResult<Py<PyDict>> {
    let builtins = py.import("builtins")?;
    let type_ = builtins.getattr("type")?;
    let out = PyDict::new(py);
    let make =
        |name: &str, bases: Bound<'_, PyTuple>, kind: Option<&str>, doc: &str| -> PyResult<()> {
            let ns = PyDict::new(py);
            ns.set_item("__module__", "tecken_core")?;
            ns.set_item("__doc__", doc)?;
            if let Some(kind) = kind {
                ns.set_item("kind", kind)?;
            }
            out.set_item(name, type_.call1((name, bases, ns))?)?;
            Ok(())
        };
    let base_doc = "Base of every tecken_core error. .kind is a stable name (\"not_found\", ...), \
                    .status the HTTP status to answer with, .body the response body when there is one.";
    make(
        BASE,
        PyTuple::new(py, [builtins.getattr("Exception")?])?,
        None,
        base_doc,
    )?;
    let base = out
        .get_item(BASE)?
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no base"))?;
    base.setattr("status", 500)?;
    base.setattr("body", py.None())?;
    for c in TREE {
        let bases = match c.parent {
            Some(p) => PyTuple::new(py, [out.get_item(p)?])?,
            None => PyTuple::new(py, [base.clone(), builtins.getattr(c.builtin)?])?,
        };
        make(c.name, bases, Some(c.kind.as_str()), c.doc)?;
    }
    Ok(out.unbind())
}

/// The Python exception for a core error: its class by kind, with `.kind`, `.status`, and
/// for request errors `.body`, the exact JSON Eliot answers with.
pub fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    let kind = err.kind();
    let body = (kind == ErrorKind::BadRequest).then(|| ApiResponse::from_error(err).body);
    raise(
        py,
        class_name(kind),
        kind.as_str(),
        err.http_status(),
        &err.to_string(),
        body,
    )
}

fn raise(
    py: Python<'_>,
    class: &str,
    kind: &str,
    status: u16,
    message: &str,
    body: Option<Vec<u8>>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let classes = CLASSES.get_or_try_init(py, || make_classes(py))?.bind(py);
        let cls = classes
            .get_item(class)?
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err(class.to_owned()))?;
        let exc = cls.cast::<PyType>()?.call1((message,))?;
        exc.setattr("kind", kind)?;
        exc.setattr("status", status)?;
        if let Some(body) = body {
            exc.setattr("body", PyBytes::new(py, &body))?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// Runs one core call without the GIL, catching panics: `f` gets only owned values or
/// borrows of immutable Python objects (`Ungil`), its error becomes the exception of its
/// kind, and a panic becomes an `InternalError` instead of aborting the interpreter.
/// (`Send` is PyO3's `Ungil` on stable Rust: no GIL-bound reference can cross.)
pub fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> tecken_core::Result<T> + Send,
    T: Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(to_py(py, &err)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_owned());
            let kind = ErrorKind::Internal;
            Err(raise(
                py,
                class_name(kind),
                kind.as_str(),
                kind.http_status(),
                &format!("panic in tecken_core: {what}"),
                None,
            ))
        }
    }
}

/// An [`ErrorKind::InvalidInput`] error for arguments the binding cannot hand to the core.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}
