//! The HTTP backend: read-only, from any Tecken-style download URL.
//!
//! Blocking (`ureq`, no tokio), so it works in the default build and from any thread.
//!
//! - Redirects are followed (Tecken answers a download with a 302 to the bucket, and a
//!   code-id URL with a 302 to the debug-id URL), up to [`HttpConfig::max_redirects`].
//! - 404 and 410 are "not found", final. 429, 5xx, timeouts and connection errors are
//!   retried [`HttpConfig::retries`] times with exponential backoff (`backoff`, doubled
//!   each time), then reported as an error of kind [`ErrorKind::Storage`], never as
//!   "not found": a symbol server being down must not be cached as missing symbols.
//!   Other statuses (401, 403, ...) are errors at once.
//! - Bodies are requested with `Accept-Encoding: gzip` and kept as sent, so a proxy can pass
//!   a stored gzip on; [`super::SymbolStore`] decompresses.
//! - [`Storage::get_reader`] streams the response body: only the request (up to the
//!   response headers) is retried; an error while reading the body is an I/O error of the
//!   reader. [`HttpConfig::timeout`] covers the whole attempt, body included, so a reader
//!   read more slowly than that fails.
//!
//! Key mapping (see [`HttpLayout`]): with the Tecken download API, `v1/{key}` is
//! `{base}{key}` and `try/v1/{key}` is `{base}try/{key}`; a base that already ends in
//! `/try/` serves both (Tecken's `/try/` searches regular then Try), so the Try area is not
//! asked separately. With a public bucket URL, keys are used as they are.

use std::time::Duration;

use super::{ObjectMeta, ObjectReader, Storage, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{check_storage_key, Area};

/// How storage keys map to URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpLayout {
    /// Tecken's download API (`https://symbols.mozilla.org/`, `.../try/`): keys without
    /// the `v1/` prefix, Try under `try/`.
    #[default]
    Tecken,
    /// A bucket served over HTTP (`https://storage.example.com/bucket/`): keys as stored
    /// (`v1/...`, `try/v1/...`, `codeid/...`).
    Bucket,
}

/// Parses `"tecken"` and `"bucket"`; anything else is an error of kind
/// [`ErrorKind::InvalidInput`] naming the accepted values.
impl std::str::FromStr for HttpLayout {
    type Err = Error;

    fn from_str(s: &str) -> Result<HttpLayout> {
        match s {
            "tecken" => Ok(HttpLayout::Tecken),
            "bucket" => Ok(HttpLayout::Bucket),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("unknown HTTP layout {other:?}: expected \"tecken\" or \"bucket\""),
            )),
        }
    }
}

/// Configuration of an [`HttpStore`].
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The base URL; a missing trailing slash is added.
    pub base_url: String,
    /// How keys map to URLs.
    pub layout: HttpLayout,
    /// Time limit of one attempt, connection to last body byte. Default 30 s.
    pub timeout: Duration,
    /// Time limit to connect. Default 5 s.
    pub connect_timeout: Duration,
    /// Retries after the first attempt for 429, 5xx, timeouts, connection errors. Default 3.
    pub retries: u32,
    /// First backoff between attempts, doubled after each. Default 200 ms.
    pub backoff: Duration,
    /// Redirects followed. Default 5.
    pub max_redirects: u32,
    /// Largest body accepted. Default 4 GiB.
    pub max_body: u64,
    /// `User-Agent`.
    pub user_agent: String,
}

impl HttpConfig {
    /// Defaults for `base_url`.
    pub fn new(base_url: &str) -> HttpConfig {
        HttpConfig {
            base_url: base_url.to_owned(),
            layout: HttpLayout::Tecken,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(200),
            max_redirects: 5,
            max_body: 4 << 30,
            user_agent: format!("tecken-core/{}", crate::VERSION),
        }
    }
}

/// A read-only HTTP symbol source: redirects followed, 404/410 "not found", 429/5xx and
/// transport errors retried then reported as errors of kind [`ErrorKind::Storage`] (see
/// the module docs of `store/http.rs` for the key mapping).
#[derive(Debug, Clone)]
pub struct HttpStore {
    config: HttpConfig,
    base: String,
    agent: ureq::Agent,
}

enum Attempt<T> {
    Done(Result<Option<T>>),
    Retry(Error),
}

impl HttpStore {
    /// A store reading `config.base_url`.
    pub fn new(config: HttpConfig) -> Result<HttpStore> {
        let mut base = config.base_url.trim().to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("not an http(s) URL: {base:?}"),
            ));
        }
        if !base.ends_with('/') {
            base.push('/');
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(config.max_redirects)
            .timeout_global(Some(config.timeout))
            .timeout_connect(Some(config.connect_timeout))
            .user_agent(config.user_agent.as_str())
            .build()
            .new_agent();
        Ok(HttpStore {
            config,
            base,
            agent,
        })
    }

    /// A store reading Tecken's download API at `base_url`, with default settings.
    pub fn tecken(base_url: &str) -> Result<HttpStore> {
        HttpStore::new(HttpConfig::new(base_url))
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The URL of a storage key, or `None` when this server cannot have it.
    pub fn url_of(&self, key: &str) -> Result<Option<String>> {
        check_storage_key(key)?;
        let path = match self.config.layout {
            HttpLayout::Bucket => key.to_owned(),
            HttpLayout::Tecken => {
                if let Some(rest) = key.strip_prefix(Area::Try.prefix()) {
                    if self.base.ends_with("/try/") {
                        return Ok(None); // already searched through the regular area
                    }
                    format!("try/{rest}")
                } else if let Some(rest) = key.strip_prefix(Area::Regular.prefix()) {
                    rest.to_owned()
                } else {
                    return Ok(None); // Tecken's API has no code-id index objects
                }
            }
        };
        let encoded: Vec<String> = path.split('/').map(encode_segment).collect();
        Ok(Some(format!("{}{}", self.base, encoded.join("/"))))
    }

    /// Runs `attempt` with retries and backoff.
    fn with_retries<T>(
        &self,
        url: &str,
        mut attempt: impl FnMut() -> Attempt<T>,
    ) -> Result<Option<T>> {
        let mut delay = self.config.backoff;
        let mut tries = 0;
        loop {
            match attempt() {
                Attempt::Done(r) => return r,
                Attempt::Retry(e) if tries >= self.config.retries => {
                    let msg = format!("{url}: gave up after {} attempts: {e}", tries + 1);
                    return Err(Error::new(ErrorKind::Storage, msg).with_source(e));
                }
                Attempt::Retry(_) => {
                    tries += 1;
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }

    fn request(
        &self,
        method: &str,
        url: &str,
        range: Option<usize>,
    ) -> Attempt<(u16, ObjectMeta, ureq::Body)> {
        let builder = match method {
            "HEAD" => self.agent.head(url),
            _ => self.agent.get(url),
        };
        let builder = builder.header("Accept-Encoding", "gzip");
        let builder = match range {
            Some(n) => builder.header("Range", format!("bytes=0-{}", n.saturating_sub(1))),
            None => builder,
        };
        let response = match builder.call() {
            Ok(r) => r,
            Err(e) => return classify_transport(url, e),
        };
        let status = response.status().as_u16();
        let meta = meta_from_headers(response.headers());
        let body = response.into_body();
        match status {
            200..=299 => Attempt::Done(Ok(Some((status, meta, body)))),
            404 | 410 => Attempt::Done(Ok(None)),
            429 | 500..=599 => Attempt::Retry(Error::new(
                ErrorKind::Storage,
                format!("{url}: HTTP {status}"),
            )),
            _ => Attempt::Done(Err(Error::new(
                ErrorKind::Storage,
                format!("{url}: HTTP {status}"),
            ))),
        }
    }

    fn fetch(&self, key: &str, range: Option<usize>) -> Result<Option<StoredObject>> {
        let Some(url) = self.url_of(key)? else {
            return Ok(None);
        };
        let limit = range.map_or(self.config.max_body, |n| n as u64);
        self.with_retries(&url, || match self.request("GET", &url, range) {
            Attempt::Done(Ok(Some((status, mut meta, mut body)))) => {
                // A server ignoring Range answers 200 with everything; read only what was asked.
                let read = if range.is_some() {
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(
                        &mut std::io::Read::take(body.as_reader(), limit),
                        &mut out,
                    )
                    .map(|_| out)
                    .map_err(ureq::Error::Io)
                } else {
                    body.with_config().limit(limit).read_to_vec()
                };
                match read {
                    Ok(bytes) => {
                        if status != 206 {
                            meta.size = meta.size.max(bytes.len() as u64);
                        }
                        Attempt::Done(Ok(Some(StoredObject { meta, body: bytes })))
                    }
                    Err(ureq::Error::BodyExceedsLimit(n)) => Attempt::Done(Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("{url}: body larger than {n} bytes"),
                    ))),
                    Err(e) => match classify_transport::<()>(&url, e) {
                        Attempt::Retry(e) => Attempt::Retry(e),
                        Attempt::Done(r) => Attempt::Done(r.map(|_| None)),
                    },
                }
            }
            Attempt::Done(Ok(None)) => Attempt::Done(Ok(None)),
            Attempt::Done(Err(e)) => Attempt::Done(Err(e)),
            Attempt::Retry(e) => Attempt::Retry(e),
        })
    }
}

/// A response body whose read errors name the URL.
struct UrlReader {
    inner: ureq::BodyReader<'static>,
    url: String,
}

impl std::io::Read for UrlReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.url)))
    }
}

fn classify_transport<T>(url: &str, e: ureq::Error) -> Attempt<T> {
    let transient = matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::BodyStalled
    );
    let err = Error::new(ErrorKind::Storage, format!("{url}: {e}")).with_source(e);
    if transient {
        Attempt::Retry(err)
    } else {
        Attempt::Done(Err(err))
    }
}

fn meta_from_headers(h: &ureq::http::HeaderMap) -> ObjectMeta {
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let number = |name: &str| text(name).and_then(|v| v.trim().parse::<u64>().ok());
    let etag = text("etag").map(|e| e.trim_matches('"').to_ascii_lowercase());
    ObjectMeta {
        size: number("content-length").unwrap_or(0),
        content_encoding: text("content-encoding"),
        content_type: text("content-type"),
        original_size: number("x-amz-meta-original_size")
            .or_else(|| number("x-goog-meta-original_size")),
        original_md5: text("x-amz-meta-original_md5_hash")
            .or_else(|| text("x-goog-meta-original_md5_hash")),
        stored_md5: etag.filter(|e| e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit())),
        last_modified: None,
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Storage for HttpStore {
    fn may_hold_lower_case_ids(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        format!("http:{}", self.base)
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let Some(url) = self.url_of(key)? else {
            return Ok(None);
        };
        self.with_retries(&url, || match self.request("HEAD", &url, None) {
            Attempt::Done(r) => Attempt::Done(r.map(|o| o.map(|(_, meta, _)| meta))),
            Attempt::Retry(e) => Attempt::Retry(e),
        })
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        self.fetch(key, None)
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        let Some(url) = self.url_of(key)? else {
            return Ok(None);
        };
        let found = self.with_retries(&url, || match self.request("GET", &url, None) {
            Attempt::Done(r) => Attempt::Done(r.map(|o| o.map(|(_, meta, body)| (meta, body)))),
            Attempt::Retry(e) => Attempt::Retry(e),
        })?;
        Ok(found.map(|(meta, body)| {
            let reader = body.into_with_config().limit(self.config.max_body).reader();
            ObjectReader {
                meta,
                // `Content-Length` may be absent or describe another encoding than the
                // bytes ureq hands over: not promised.
                len: None,
                reader: Box::new(UrlReader { inner: reader, url }),
            }
        }))
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.fetch(key, Some(len.max(1)))?.map(|o| o.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = HttpStore::tecken("https://symbols.example.com").unwrap();
        assert_eq!(
            s.url_of("v1/c++filt/AB/c++filt.sym").unwrap().unwrap(),
            "https://symbols.example.com/c%2B%2Bfilt/AB/c%2B%2Bfilt.sym"
        );
        assert_eq!(
            s.url_of("try/v1/a/B/a.sym").unwrap().unwrap(),
            "https://symbols.example.com/try/a/B/a.sym"
        );
        assert_eq!(s.url_of("codeid/a.dll/B").unwrap(), None);
        assert!(s.url_of("v1/../etc/passwd").is_err());
        let t = HttpStore::tecken("https://symbols.example.com/try/").unwrap();
        assert_eq!(t.url_of("try/v1/a/B/a.sym").unwrap(), None);
        let b = HttpStore::new(HttpConfig {
            layout: HttpLayout::Bucket,
            ..HttpConfig::new("http://127.0.0.1:1/bucket")
        })
        .unwrap();
        assert_eq!(
            b.url_of("try/v1/a/B/a.sym").unwrap().unwrap(),
            "http://127.0.0.1:1/bucket/try/v1/a/B/a.sym"
        );
        assert!(HttpStore::tecken("ftp://x").is_err());
    }

    #[test]
    fn layouts_parse_by_name() {
        assert_eq!("tecken".parse::<HttpLayout>().unwrap(), HttpLayout::Tecken);
        assert_eq!("bucket".parse::<HttpLayout>().unwrap(), HttpLayout::Bucket);
        for bad in ["Tecken", "", "ftp"] {
            let e = bad.parse::<HttpLayout>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.to_string().contains("\"bucket\""), "{e}");
        }
    }
}
