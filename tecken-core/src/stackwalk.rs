//! Processing a minidump as `minidump-stackwalk` does, over a [`Symbolicator`]: the one
//! entry point of `tecken stackwalk` and of both bindings' `stackwalk`.
//!
//! rust-minidump's processor walks every thread through [`TeckenSymbolProvider`] (the
//! dump's modules prefetched in parallel first) and answers a `ProcessState`, which
//! [`Stackwalk`] writes as `minidump-stackwalk` writes it: JSON, text, or the brief text.
//! A dump that cannot be read is an [`ErrorKind::InvalidInput`] error; a panic inside the
//! processor (a third-party crate, on hostile input) is caught and answered as an
//! [`ErrorKind::Internal`] error, never unwound into the caller.

use std::io::Write;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use minidump::{Minidump, MinidumpModuleList};
use minidump_processor::{process_minidump_with_options, ProcessState, ProcessorOptions};

use crate::crash::TeckenSymbolProvider;
use crate::error::{Error, ErrorKind, Result};
use crate::symbolicator::Symbolicator;

/// The minidump [`stackwalk`] processes: its bytes, or the path of its file (read whole).
#[derive(Debug, Clone, Copy)]
pub enum MinidumpSource<'a> {
    /// The dump's bytes.
    Bytes(&'a [u8]),
    /// The dump's file.
    Path(&'a Path),
}

/// Options of [`stackwalk`].
#[derive(Debug, Clone)]
pub struct StackwalkOptions {
    /// Threads loading the dump's modules (their symbols) before the walk; at least one.
    pub load_threads: usize,
}

impl Default for StackwalkOptions {
    fn default() -> Self {
        StackwalkOptions { load_threads: 4 }
    }
}

/// A processed minidump (feature `minidump-unwind`): minidump-processor's `ProcessState`,
/// written as `minidump-stackwalk` writes it.
#[derive(Debug)]
pub struct Stackwalk {
    state: ProcessState,
}

impl Stackwalk {
    /// The processor's answer: threads, frames, modules, crash reason.
    pub fn state(&self) -> &ProcessState {
        &self.state
    }

    /// The processor's answer, owned.
    pub fn into_state(self) -> ProcessState {
        self.state
    }

    /// `minidump-stackwalk --json` (indented with `pretty`), without a final newline.
    pub fn to_json(&self, pretty: bool) -> Result<String> {
        let mut out = Vec::new();
        self.write_json(&mut out, pretty)?;
        String::from_utf8(out)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("stackwalk JSON: {e}")))
    }

    /// Writes `minidump-stackwalk --json` (indented with `pretty`) to `out`.
    pub fn write_json(&self, out: &mut impl Write, pretty: bool) -> Result<()> {
        self.state.print_json(out, pretty).map_err(|e| {
            Error::new(ErrorKind::Io, format!("writing the stackwalk JSON: {e}")).with_source(e)
        })
    }

    /// Writes `minidump-stackwalk`'s text: everything, or with `brief` the summary and the
    /// crashing thread only.
    pub fn write_text(&self, out: &mut impl Write, brief: bool) -> Result<()> {
        let written = if brief {
            self.state.print_brief(out)
        } else {
            self.state.print(out)
        };
        written.map_err(|e| {
            Error::new(ErrorKind::Io, format!("writing the stackwalk text: {e}")).with_source(e)
        })
    }
}

/// Processes `minidump` as `minidump-stackwalk` does (feature `minidump-unwind`): every
/// thread's stack unwound with the STACK CFI / STACK WIN records of `symbolicator`'s
/// indexes (stack scanning where they are missing) and each frame symbolicated, answers
/// equal to `minidump-stackwalk` built with `breakpad-symbols` over the same `.sym` files.
///
/// Errors: the file cannot be read ([`ErrorKind::NotFound`], [`ErrorKind::Io`]); the bytes are not a minidump, or
/// one the processor cannot use (no system information, no thread list):
/// [`ErrorKind::InvalidInput`]. A truncated dump, or one whose sizes lie, processes what
/// it can; frames that cannot be unwound end their thread's stack.
///
/// ```no_run
/// use std::sync::Arc;
/// use tecken_core::{stackwalk, MinidumpSource, StackwalkOptions, Symbolicator};
///
/// let symbolicator = Arc::new(Symbolicator::local("/symbols", Some("/cache".into()))?);
/// let walk = stackwalk(
///     MinidumpSource::Path("crash.dmp".as_ref()),
///     symbolicator,
///     &StackwalkOptions::default(),
/// )?;
/// println!("{}", walk.to_json(true)?);
/// # Ok::<(), tecken_core::Error>(())
/// ```
pub fn stackwalk(
    minidump: MinidumpSource<'_>,
    symbolicator: Arc<Symbolicator>,
    options: &StackwalkOptions,
) -> Result<Stackwalk> {
    let state = match minidump {
        MinidumpSource::Bytes(bytes) => process(bytes, symbolicator, options, "the minidump")?,
        MinidumpSource::Path(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            process(
                &bytes[..],
                symbolicator,
                options,
                &path.display().to_string(),
            )?
        }
    };
    Ok(Stackwalk { state })
}

fn process<T: Deref<Target = [u8]>>(
    bytes: T,
    symbolicator: Arc<Symbolicator>,
    options: &StackwalkOptions,
    name: &str,
) -> Result<ProcessState> {
    let invalid = |what: String| Error::new(ErrorKind::InvalidInput, format!("{name}: {what}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("starting a runtime: {e}")))?;
    let walked = catch_unwind(AssertUnwindSafe(|| {
        let dump =
            Minidump::read(bytes).map_err(|e| invalid(format!("not a readable minidump ({e})")))?;
        let provider = TeckenSymbolProvider::new(symbolicator);
        if let Ok(modules) = dump.get_stream::<MinidumpModuleList>() {
            provider.prefetch(modules.iter(), options.load_threads);
        }
        runtime
            .block_on(process_minidump_with_options(
                &dump,
                &provider,
                ProcessorOptions::default(),
            ))
            .map_err(|e| invalid(format!("cannot be processed ({e})")))
    }));
    walked.unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Internal,
            format!("{name}: the minidump processor panicked on this dump"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbolicator() -> (tempfile::TempDir, Arc<Symbolicator>) {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(Symbolicator::local(dir.path(), None).unwrap());
        (dir, s)
    }

    #[test]
    fn bytes_that_are_not_a_minidump_are_invalid_input() {
        let (_dir, s) = symbolicator();
        for bytes in [
            &b""[..],
            b"MDMP",
            b"MDMP\x93\xa7\0\0 but not really",
            &[0xff; 64],
        ] {
            let e = stackwalk(MinidumpSource::Bytes(bytes), s.clone(), &Default::default())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(e.message().contains("minidump"), "{e}");
        }
    }

    #[test]
    fn a_missing_file_is_a_not_found_error_naming_it() {
        let (dir, s) = symbolicator();
        let path = dir.path().join("nope.dmp");
        let e = stackwalk(MinidumpSource::Path(&path), s, &Default::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("nope.dmp"), "{e}");
    }
}
