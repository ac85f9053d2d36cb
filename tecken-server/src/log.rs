//! One logfmt line per request on stderr:
//!
//! ```text
//! ts=1718000000.123 method=POST path=/symbolicate/v5 status=200 in=1234 out=8765 ms=0.215 peer=127.0.0.1:50512 note=inline
//! ```
//!
//! `note` says how the request was served where that matters (`inline` / `cold` for
//! symbolication, `redirect`, `stream`, `panic`, `busy`, `timeout`). A failure adds
//! `error="..."`: the full error, server paths included, which the answer never shows. Lines are appended to a buffer that a
//! background task writes every 100 ms (and on shutdown), so a request never waits on a
//! slow stderr and lines are never interleaved.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Flush the buffer inline beyond this many bytes (a burst faster than the flusher).
const MAX_BUFFER: usize = 1 << 20;

/// What the handler adds to the log line (a response extension).
#[derive(Debug, Clone, Copy)]
pub struct Note(pub &'static str);

/// The full error behind a failed answer (a response extension; logged, never sent).
#[derive(Debug, Clone)]
pub struct Detail(pub String);

/// The request log.
#[derive(Debug)]
pub struct RequestLog {
    enabled: bool,
    buf: Mutex<Vec<u8>>,
}

/// One request, as logged.
#[derive(Debug)]
pub struct Line<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Response status.
    pub status: u16,
    /// Request body bytes (declared `Content-Length`, 0 if none).
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
    /// Time to build the response.
    pub elapsed: Duration,
    /// Client address.
    pub peer: std::net::SocketAddr,
    /// Handler note.
    pub note: Option<&'static str>,
    /// The full error of a failure.
    pub error: Option<&'a str>,
}

/// Appends `v` to `out`, quoted when logfmt needs it.
fn push_value(out: &mut Vec<u8>, v: &str) {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=' && b != b'\\')
    {
        out.extend_from_slice(v.as_bytes());
        return;
    }
    out.push(b'"');
    for c in v.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

impl RequestLog {
    /// A log that writes lines when `enabled`.
    pub fn new(enabled: bool) -> RequestLog {
        RequestLog {
            enabled,
            buf: Mutex::new(Vec::with_capacity(64 * 1024)),
        }
    }

    /// Whether lines are written at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Logs one request.
    pub fn request(&self, l: &Line<'_>) {
        if !self.enabled {
            return;
        }
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = Vec::with_capacity(160);
        let _ = write!(
            line,
            "ts={}.{:03} method=",
            ts.as_secs(),
            ts.subsec_millis()
        );
        push_value(&mut line, l.method);
        line.extend_from_slice(b" path=");
        push_value(&mut line, l.path);
        let _ = write!(
            line,
            " status={} in={} out={} ms={:.3} peer={}",
            l.status,
            l.bytes_in,
            l.bytes_out,
            l.elapsed.as_secs_f64() * 1e3,
            l.peer
        );
        if let Some(n) = l.note {
            line.extend_from_slice(b" note=");
            push_value(&mut line, n);
        }
        if let Some(e) = l.error {
            line.extend_from_slice(b" error=");
            push_value(&mut line, e);
        }
        line.push(b'\n');
        self.append(&line);
    }

    /// Logs a server event (startup, shutdown) as `ts=.. event=.. msg=..`.
    pub fn event(&self, event: &str, msg: &str) {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = Vec::with_capacity(120);
        let _ = write!(line, "ts={}.{:03} event=", ts.as_secs(), ts.subsec_millis());
        push_value(&mut line, event);
        line.extend_from_slice(b" msg=");
        push_value(&mut line, msg);
        line.push(b'\n');
        // Events are rare and matter: written now, even with --quiet.
        self.flush();
        let _ = std::io::stderr().lock().write_all(&line);
    }

    fn append(&self, line: &[u8]) {
        let Ok(mut buf) = self.buf.lock() else {
            return;
        };
        buf.extend_from_slice(line);
        if buf.len() > MAX_BUFFER {
            let _ = std::io::stderr().lock().write_all(&buf);
            buf.clear();
        }
    }

    /// Writes what is buffered.
    pub fn flush(&self) {
        let pending = match self.buf.lock() {
            Ok(mut buf) if !buf.is_empty() => std::mem::take(&mut *buf),
            _ => return,
        };
        let _ = std::io::stderr().lock().write_all(&pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_when_needed() {
        let mut out = Vec::new();
        push_value(&mut out, "/a/b");
        out.push(b' ');
        push_value(&mut out, "a b\"c\n");
        out.push(b' ');
        push_value(&mut out, "");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/a/b \"a b\\\"c\\x0a\" \"\""
        );
    }
}
