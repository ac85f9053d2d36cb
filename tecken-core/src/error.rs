//! The one error type of the crate.
//!
//! Every failure is an [`Error`] with a stable [`ErrorKind`]. The kind's name (see
//! [`ErrorKind::as_str`]) doubles as a metrics tag, the Python exception's `.kind` and the
//! Node error's `code` (`TECKEN_<KIND>`), so it never changes once published.

use std::fmt;
use std::path::PathBuf;

/// What went wrong, in a form a caller can match on.
///
/// Each variant's doc says what the caller should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not what the caller promised (bad `.sym` in strict mode, bad request
    /// argument). Fix the input; retrying will not help.
    InvalidInput,
    /// A `.sym` file could not be parsed at all (no MODULE line, binary garbage). The file is
    /// unusable; report it to whoever uploaded it.
    MalformedSym,
    /// An index file is truncated, corrupt or not an index. Rebuild it from its `.sym`.
    CorruptIndex,
    /// An index file was written by an older format version. Rebuild it.
    IndexTooOld,
    /// An index file was written by a newer format version. Upgrade this library, or rebuild.
    IndexTooNew,
    /// The thing asked for does not exist (module, key, file). Final until someone uploads it.
    NotFound,
    /// A limit was hit (input too large, too many jobs, too many members). Send less.
    LimitExceeded,
    /// A v5/v4 request failed Eliot's validation. The error carries the HTTP status and
    /// title to send back.
    BadRequest,
    /// Reading or writing local files failed. Usually transient or an operator problem (disk
    /// full, permissions); retry later.
    Io,
    /// A remote storage backend (S3, HTTP) failed or timed out. Transient; retry later.
    Storage,
    /// A bug or a poisoned lock inside the library. Report it.
    Internal,
}

impl ErrorKind {
    /// The stable, lower-case name of the kind (`"corrupt_index"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::MalformedSym => "malformed_sym",
            ErrorKind::CorruptIndex => "corrupt_index",
            ErrorKind::IndexTooOld => "index_too_old",
            ErrorKind::IndexTooNew => "index_too_new",
            ErrorKind::NotFound => "not_found",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Io => "io",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status an HTTP layer should answer with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::BadRequest | ErrorKind::MalformedSym => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::LimitExceeded => 413,
            ErrorKind::Storage => 503,
            _ => 500,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crate's error: a [`ErrorKind`], a message, and the underlying cause if any.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a lower-case `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The same error answered with HTTP `status` instead of its kind's.
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// A v5/v4 validation error: Eliot's `title` and HTTP `status`.
    pub fn bad_request(status: u16, title: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::BadRequest,
            message: title.into(),
            status: Some(status),
            source: None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        let path = path.into();
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        Error::new(kind, format!("{}: {}", path.display(), err)).with_source(err)
    }

    /// A corrupt-index error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::CorruptIndex, message)
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the cause chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status to answer with: the explicit one for request errors, else the kind's.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.http_status())
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, err.to_string()).with_source(err)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
