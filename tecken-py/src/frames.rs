//! Frame objects: what `Index.lookup` and `Symbolicator.symbolicate` return.
//!
//! Immutable, comparable with `==`, and owning their strings (they outlive the index or
//! symbolicator that made them).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tecken_core::SymbolKind;

fn opt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "None".to_owned(),
    }
}

fn hex(v: Option<u64>) -> String {
    v.map_or_else(|| "None".to_owned(), |v| format!("{v:#x}"))
}

/// One inlined call at an address, from `Index.lookup`.
#[pyclass(module = "tecken_core", frozen, eq, get_all)]
#[derive(Debug, Clone, PartialEq)]
pub struct InlineFrame {
    /// The inlined function.
    function: String,
    /// Its source file, cleaned as Eliot shows it.
    file: Option<String>,
    /// The source file as written in the `.sym`.
    raw_file: Option<String>,
    /// The line inside the inlined function.
    line: Option<u32>,
}

/// The answer of `Index.lookup` for one address.
#[pyclass(module = "tecken_core", frozen, eq, get_all)]
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The FUNC or PUBLIC name.
    function: String,
    /// The address of that record.
    function_address: u64,
    /// The looked-up address minus `function_address`.
    function_offset: u64,
    /// `"func"` or `"public"`.
    kind: &'static str,
    /// The record's `m` flag (the linker folded several symbols into this address).
    multiple: bool,
    /// Source file (cleaned) of the outer function at the address.
    file: Option<String>,
    /// That file as written in the `.sym`.
    raw_file: Option<String>,
    /// Line of the outer function at the address.
    line: Option<u32>,
    /// Inlined calls covering the address, innermost first.
    inlines: Vec<InlineFrame>,
}

impl From<tecken_core::Frame<'_>> for Frame {
    fn from(f: tecken_core::Frame<'_>) -> Frame {
        Frame {
            function: f.function.to_owned(),
            function_address: f.function_address,
            function_offset: f.function_offset,
            kind: match f.kind {
                SymbolKind::Func => "func",
                SymbolKind::Public => "public",
            },
            multiple: f.multiple,
            file: f.file.map(|s| s.path.to_owned()),
            raw_file: f.file.map(|s| s.raw.to_owned()),
            line: f.line,
            inlines: f
                .inlines
                .into_iter()
                .map(|i| InlineFrame {
                    function: i.function.to_owned(),
                    file: i.file.map(|s| s.path.to_owned()),
                    raw_file: i.file.map(|s| s.raw.to_owned()),
                    line: i.line,
                })
                .collect(),
        }
    }
}

#[pymethods]
impl InlineFrame {
    fn __repr__(&self) -> String {
        format!(
            "InlineFrame(function={:?}, file={}, line={})",
            self.function,
            opt(&self.file),
            opt(&self.line)
        )
    }
}

#[pymethods]
impl Frame {
    fn __repr__(&self) -> String {
        format!(
            "Frame(function={:?}, function_offset={:#x}, kind={:?}, file={}, line={}, inlines={})",
            self.function,
            self.function_offset,
            self.kind,
            opt(&self.file),
            opt(&self.line),
            self.inlines.len()
        )
    }
}

/// One inlined call of a symbolicated frame.
#[pyclass(module = "tecken_core", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolicatedInline(tecken_core::SymbolicatedInline);

#[pymethods]
impl SymbolicatedInline {
    /// The inlined function.
    #[getter]
    fn function(&self) -> &str {
        &self.0.function
    }
    /// Its source file (cleaned as Eliot shows it).
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }
    /// The line inside it.
    #[getter]
    fn line(&self) -> Option<u32> {
        self.0.line
    }
    fn __repr__(&self) -> String {
        format!(
            "SymbolicatedInline(function={:?}, file={}, line={})",
            self.0.function,
            opt(&self.0.file),
            opt(&self.0.line)
        )
    }
}

/// One frame of a stack symbolicated by `Symbolicator.symbolicate`: the v5 frame as an
/// object (offsets as `int`, not hex strings).
#[pyclass(module = "tecken_core", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolicatedFrame(tecken_core::SymbolicatedFrame);

#[pymethods]
impl SymbolicatedFrame {
    /// The frame's position in its stack.
    #[getter]
    fn frame(&self) -> usize {
        self.0.frame
    }
    /// The module name (PE name of a found Windows module, else the debug file, else
    /// `"<unknown>"`).
    #[getter]
    fn module(&self) -> &str {
        &self.0.module
    }
    /// The module offset as sent (`None` for -1).
    #[getter]
    fn module_offset(&self) -> Option<u64> {
        self.0.module_offset
    }
    /// The function or PUBLIC symbol, when one covers the offset.
    #[getter]
    fn function(&self) -> Option<&str> {
        self.0.function.as_deref()
    }
    /// The offset from the start of the function.
    #[getter]
    fn function_offset(&self) -> Option<u64> {
        self.0.function_offset
    }
    /// The source file (cleaned as Eliot shows it).
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }
    /// The source line.
    #[getter]
    fn line(&self) -> Option<u32> {
        self.0.line
    }
    /// Inlined calls at the address, innermost first.
    #[getter]
    fn inlines(&self) -> Vec<SymbolicatedInline> {
        self.0
            .inlines
            .iter()
            .cloned()
            .map(SymbolicatedInline)
            .collect()
    }
    fn __repr__(&self) -> String {
        let f = &self.0;
        format!(
            "SymbolicatedFrame(frame={}, module={:?}, module_offset={}, function={}, function_offset={}, file={}, line={})",
            f.frame,
            f.module,
            hex(f.module_offset),
            opt(&f.function),
            hex(f.function_offset),
            opt(&f.file),
            opt(&f.line)
        )
    }
}

/// The result of `Symbolicator.symbolicate`: the stacks, frame for frame, and which modules
/// were found.
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct JobResult {
    /// `stacks[s][f]` is frame `f` of stack `s`.
    #[pyo3(get)]
    stacks: Py<PyList>,
    /// `"{debug_file}/{debug_id}"` of each distinct memory map entry, in order: `True`
    /// found, `False` looked for and not found, `None` never looked for.
    #[pyo3(get)]
    found_modules: Py<PyDict>,
}

impl JobResult {
    /// Converts the core's result (built once, so repeated attribute access is cheap).
    pub fn new(py: Python<'_>, job: tecken_core::JobResult) -> PyResult<JobResult> {
        let stacks = PyList::empty(py);
        for stack in job.stacks {
            stacks.append(PyList::new(py, stack.into_iter().map(SymbolicatedFrame))?)?;
        }
        let found_modules = PyDict::new(py);
        for (key, found) in job.found_modules {
            found_modules.set_item(key, found)?;
        }
        Ok(JobResult {
            stacks: stacks.unbind(),
            found_modules: found_modules.unbind(),
        })
    }
}

#[pymethods]
impl JobResult {
    fn __repr__(&self, py: Python<'_>) -> String {
        let stacks = self.stacks.bind(py);
        let frames: usize = stacks.iter().map(|s| s.len().unwrap_or(0)).sum();
        format!(
            "JobResult(stacks={}, frames={frames}, found_modules={})",
            stacks.len(),
            self.found_modules.bind(py).len()
        )
    }
}
