//! The limits and switches of a request: the bottom layer, imported by every other.

/// Deepest nesting of arrays and objects accepted. A valid request nests 6 deep
/// (`{"jobs": [{"stacks": [[[0, 1]]]}]}`); CPython's parser gives up (with a 500) somewhere
/// near 1000, depending on its recursion limit. This bound keeps the recursive reader's
/// stack use under ~50 KB.
pub const MAX_DEPTH: u32 = 128;

/// Limits and switches of a v5/v4 request.
///
/// The defaults bound the memory of one request to a few tens of MB: a frame is kept as 24
/// bytes and answered with ~100-300 bytes of JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V5Options {
    /// Most jobs in one v5 request (Eliot's `MAX_JOBS`): 10. Over it: 400.
    pub max_jobs: usize,
    /// Largest body accepted, checked before parsing: 10 MiB (about 600,000 frames of
    /// `[12, 123456789], `). Over it: 413.
    pub max_body_bytes: usize,
    /// Most frames over all jobs: 250,000. The number of stacks is bounded by the same
    /// number (an empty stack costs about as much as a frame). Over it: 413.
    pub max_frames: usize,
    /// Most memory map entries over all jobs: 10,000 (a Firefox process maps a few
    /// hundred modules; 10 jobs of them fit). Over it: 413.
    pub max_modules: usize,
    /// Add Eliot's `debug` block to v5 responses. Eliot turns it on when the request has a
    /// `Debug` header with any non-empty value (even `false`).
    pub debug: bool,
}

impl Default for V5Options {
    fn default() -> Self {
        V5Options {
            max_jobs: 10,
            max_body_bytes: 10 << 20,
            max_frames: 250_000,
            max_modules: 10_000,
            debug: false,
        }
    }
}

impl V5Options {
    /// These options with [`V5Options::debug`] set to `debug`.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }
}
