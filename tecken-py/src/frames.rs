//! Frame objects: what `Index.lookup` and `Symbolicator.symbolicate` return.
//!
//! Immutable, comparable with `==`, and owning their strings (they outlive the index or
//! symbolicator that made them).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

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
#[pyclass(module = "tecken_core", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct InlineFrame(tecken_core::OwnedInlineFrame);

/// The answer of `Index.lookup` for one address.
#[pyclass(module = "tecken_core", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Frame(pub(crate) tecken_core::OwnedFrame);

impl From<tecken_core::Frame<'_>> for Frame {
    fn from(f: tecken_core::Frame<'_>) -> Frame {
        Frame(tecken_core::OwnedFrame::from(&f))
    }
}

#[pymethods]
impl InlineFrame {
    /// The inlined function.
    #[getter]
    fn function(&self) -> &str {
        &self.0.function
    }
    /// Its source file, cleaned as Eliot shows it.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }
    /// The source file as written in the `.sym`.
    #[getter]
    fn raw_file(&self) -> Option<&str> {
        self.0.raw_file.as_deref()
    }
    /// The line inside the inlined function.
    #[getter]
    fn line(&self) -> Option<u32> {
        self.0.line
    }
    fn __repr__(&self) -> String {
        format!(
            "InlineFrame(function={:?}, file={}, line={})",
            self.0.function,
            opt(&self.0.file),
            opt(&self.0.line)
        )
    }
}

#[pymethods]
impl Frame {
    /// The FUNC or PUBLIC name.
    #[getter]
    fn function(&self) -> &str {
        &self.0.function
    }
    /// The address of that record.
    #[getter]
    fn function_address(&self) -> u64 {
        self.0.function_address
    }
    /// The looked-up address minus `function_address`.
    #[getter]
    fn function_offset(&self) -> u64 {
        self.0.function_offset
    }
    /// `"func"` or `"public"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// The record's `m` flag (the linker folded several symbols into this address).
    #[getter]
    fn multiple(&self) -> bool {
        self.0.multiple
    }
    /// Source file (cleaned) of the outer function at the address.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }
    /// That file as written in the `.sym`.
    #[getter]
    fn raw_file(&self) -> Option<&str> {
        self.0.raw_file.as_deref()
    }
    /// Line of the outer function at the address.
    #[getter]
    fn line(&self) -> Option<u32> {
        self.0.line
    }
    /// Inlined calls covering the address, innermost first.
    #[getter]
    fn inlines(&self) -> Vec<InlineFrame> {
        self.0.inlines.iter().cloned().map(InlineFrame).collect()
    }
    fn __repr__(&self) -> String {
        let f = &self.0;
        format!(
            "Frame(function={:?}, function_offset={:#x}, kind={:?}, file={}, line={}, inlines={})",
            f.function,
            f.function_offset,
            f.kind.as_str(),
            opt(&f.file),
            opt(&f.line),
            f.inlines.len()
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
