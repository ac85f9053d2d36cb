//! A streaming `multipart/form-data` parser (RFC 7578 / RFC 2046 section 5.1), just enough
//! for Tecken's upload form: it is fed the body chunk by chunk and hands out part starts
//! (field name, file name) and part data without holding a part in memory, so a 2 GB
//! archive goes straight to a spool file.
//!
//! The body is scanned for the delimiter `CRLF--boundary`; a leading CRLF is assumed before
//! the first boundary line so the first delimiter needs no special case. Part headers are
//! limited to 16 KiB; the preamble and epilogue are skipped.

use memchr::memmem;

/// Largest header block of one part.
const MAX_HEADERS: usize = 16 * 1024;

/// What the parser found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part begins.
    Start {
        /// The `name` of its `Content-Disposition`.
        name: String,
        /// The `filename`, for a file field.
        filename: Option<String>,
    },
    /// Bytes of the current part.
    Data(&'a [u8]),
    /// The current part is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Preamble,
    AfterDelimiter,
    Headers,
    Body,
    Done,
}

/// The parser (see the module docs).
#[derive(Debug)]
pub struct Multipart {
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    st: St,
}

/// The boundary of a `multipart/form-data` content type, or `None`.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let mime = parts.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for p in parts {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            if v.is_empty() || v.len() > 200 {
                return None;
            }
            return Some(v.to_owned());
        }
    }
    None
}

/// The value of parameter `key` in a `Content-Disposition` value (quoted or not).
fn param(value: &str, key: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut i = 0;
    // Skip the disposition type.
    while i < bytes.len() && bytes[i] != b';' {
        i += 1;
    }
    while i < bytes.len() {
        i += 1; // ';'
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let k_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b';' {
            i += 1;
        }
        let k = value[k_start..i].trim();
        if i >= bytes.len() || bytes[i] == b';' {
            continue;
        }
        i += 1; // '='
        let mut v = String::new();
        if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = value[i..].chars().next()?;
                v.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            while i < bytes.len() && bytes[i] != b';' {
                i += 1;
            }
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b';' {
                i += 1;
            }
            v = value[start..i].trim().to_owned();
        }
        if k.eq_ignore_ascii_case(key) {
            return Some(v);
        }
    }
    None
}

impl Multipart {
    /// A parser for `boundary`.
    pub fn new(boundary: &str) -> Multipart {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Multipart {
            delimiter,
            buf: b"\r\n".to_vec(),
            st: St::Preamble,
        }
    }

    /// Whether the closing delimiter was seen.
    pub fn is_done(&self) -> bool {
        self.st == St::Done
    }

    /// Feeds a chunk; `sink` gets the events it completes. A malformed body or an error
    /// from `sink` stops the parse.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.buf.extend_from_slice(chunk);
        let dl = self.delimiter.len();
        loop {
            match self.st {
                St::Done => {
                    self.buf.clear();
                    return Ok(());
                }
                St::Preamble => match memmem::find(&self.buf, &self.delimiter) {
                    Some(i) => {
                        self.buf.drain(..i + dl);
                        self.st = St::AfterDelimiter;
                    }
                    None => {
                        let keep = self.buf.len().min(dl - 1);
                        self.buf.drain(..self.buf.len() - keep);
                        return Ok(());
                    }
                },
                St::AfterDelimiter => {
                    if self.buf.len() < 2 {
                        return Ok(());
                    }
                    if self.buf.starts_with(b"--") {
                        self.st = St::Done;
                        continue;
                    }
                    // Transport padding (spaces, tabs), then CRLF.
                    let pad = self
                        .buf
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if self.buf.len() < pad + 2 {
                        if pad > 256 {
                            return Err("malformed multipart body".into());
                        }
                        return Ok(());
                    }
                    if &self.buf[pad..pad + 2] != b"\r\n" {
                        return Err("malformed multipart body".into());
                    }
                    self.buf.drain(..pad + 2);
                    self.st = St::Headers;
                }
                St::Headers => {
                    let (block, used) = if self.buf.starts_with(b"\r\n") {
                        (&self.buf[..0], 2)
                    } else {
                        match memmem::find(&self.buf, b"\r\n\r\n") {
                            Some(i) => (&self.buf[..i], i + 4),
                            None if self.buf.len() > MAX_HEADERS => {
                                return Err("multipart part headers too large".into())
                            }
                            None => return Ok(()),
                        }
                    };
                    let text = String::from_utf8_lossy(block);
                    let mut name = None;
                    let mut filename = None;
                    for line in text.split("\r\n") {
                        let Some((k, v)) = line.split_once(':') else {
                            continue;
                        };
                        if k.trim().eq_ignore_ascii_case("content-disposition") {
                            name = param(v, "name");
                            filename = param(v, "filename");
                        }
                    }
                    let name = name.ok_or("multipart part without a field name")?;
                    self.buf.drain(..used);
                    self.st = St::Body;
                    sink(Event::Start { name, filename })?;
                }
                St::Body => match memmem::find(&self.buf, &self.delimiter) {
                    Some(i) => {
                        if i > 0 {
                            sink(Event::Data(&self.buf[..i]))?;
                        }
                        sink(Event::End)?;
                        self.buf.drain(..i + dl);
                        self.st = St::AfterDelimiter;
                    }
                    None => {
                        let safe = self.buf.len().saturating_sub(dl - 1);
                        if safe > 0 {
                            sink(Event::Data(&self.buf[..safe]))?;
                            self.buf.drain(..safe);
                        }
                        return Ok(());
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts = Vec<(String, Option<String>, Vec<u8>)>;

    fn collect(body: &[u8], chunk: usize) -> Result<(Parts, bool), String> {
        let mut m = Multipart::new("XyZ");
        let mut parts: Parts = Vec::new();
        for c in body.chunks(chunk.max(1)) {
            m.feed(c, &mut |e| {
                match e {
                    Event::Start { name, filename } => parts.push((name, filename, Vec::new())),
                    Event::Data(d) => parts.last_mut().unwrap().2.extend_from_slice(d),
                    Event::End => {}
                }
                Ok(())
            })?;
        }
        Ok((parts, m.is_done()))
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"try\"\r\n\r\n1\r\n--XyZ  \r\nContent-Disposition: form-data; name=\"a.zip\"; filename=\"x \\\"y\\\".zip\"\r\nContent-Type: application/zip\r\n\r\nPK\r\n--Xy\r\n-XyZ\r\n--XyZ--\r\nepilogue";

    #[test]
    fn parses_fields_and_files_whatever_the_chunking() {
        for chunk in [1, 2, 3, 7, 16, 1000] {
            let (parts, done) = collect(BODY, chunk).unwrap();
            assert!(done, "chunk {chunk}");
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0], ("try".into(), None, b"1".to_vec()));
            assert_eq!(parts[1].0, "a.zip");
            assert_eq!(parts[1].1.as_deref(), Some("x \"y\".zip"));
            assert_eq!(parts[1].2, b"PK\r\n--Xy\r\n-XyZ".to_vec(), "chunk {chunk}");
        }
    }

    #[test]
    fn truncated_and_malformed_bodies() {
        let (_, done) = collect(&BODY[..60], 5).unwrap();
        assert!(!done);
        assert!(collect(b"--XyZ\r\nno-colon-header\r\n\r\nx\r\n--XyZ--", 4).is_err());
        assert!(collect(b"--XyZjunk", 4).is_err());
    }

    #[test]
    fn boundaries_from_content_types() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }
}
