//! Small HTTP pieces: building responses, CORS as Eliot and Tecken send it, request bodies
//! with limits and timeouts, path decoding, Python-style JSON for Tecken's answers.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tecken_core::ApiResponse;
use tecken_core::Error;
use tokio::time::Instant;

pub use super::body::Body;
use super::log::{Detail, Note};

/// A response.
pub type Resp = Response<Body>;

/// `application/json`.
pub const JSON: &str = "application/json";
/// `text/plain; charset=utf-8`.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// A response with a status, a content type and a body.
pub fn respond(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Body::full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An empty response.
pub fn empty(status: u16) -> Resp {
    let mut r = Response::new(Body::full(Bytes::new()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// Attaches a log note.
pub fn noted(mut r: Resp, note: &'static str) -> Resp {
    r.extensions_mut().insert(Note(note));
    r
}

/// Attaches what the log line should say about a failure (the full error, with any
/// server paths: logged, never sent).
pub fn detailed(mut r: Resp, detail: impl Into<String>) -> Resp {
    r.extensions_mut().insert(Detail(detail.into()));
    r
}

/// An Eliot (Falcon) answer: `{"title": ...}` errors and the v5 bodies.
pub fn eliot(resp: ApiResponse) -> Resp {
    respond(resp.status, JSON, resp.body)
}

/// A Falcon-style error (`{"title": "404 Not Found"}`).
pub fn falcon_error(status: u16, title: &str) -> Resp {
    eliot(ApiResponse::from_error(&Error::bad_request(status, title)))
}

/// Falcon's `CORSMiddleware(allow_origins="*", expose_headers=[...])`, as Eliot sets it up:
/// only for requests with an `Origin`; a preflight (`OPTIONS` with
/// `Access-Control-Request-Method`) gets the allowed methods, the requested headers and a
/// max age of a day.
pub fn eliot_cors(req: &HeaderMap, resp: &mut Resp, preflight_allow: Option<&'static str>) {
    if !req.contains_key("origin") {
        return;
    }
    let h = resp.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(
            "accept, accept-encoding, authorization, content-type, dnt, origin, user-agent, x-csrftoken, x-requested-with",
        ),
    );
    if let Some(allow) = preflight_allow {
        if req.contains_key("access-control-request-method") {
            h.remove("allow");
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(allow),
            );
            let headers = req
                .get("access-control-request-headers")
                .cloned()
                .unwrap_or(HeaderValue::from_static("*"));
            h.insert("access-control-allow-headers", headers);
            h.insert("access-control-max-age", HeaderValue::from_static("86400"));
        }
    }
}

/// Tecken's download CORS headers (on every download answer).
pub fn tecken_cors(resp: &mut Resp) {
    let h = resp.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET"),
    );
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit (the bytes read so far, `limit + 1` of them or more).
    TooLarge(Bytes),
    /// The client went away or sent garbage.
    Broken,
    /// No data for the idle timeout, or the body's deadline passed.
    Timeout,
}

/// Waits for the next frame of `body` until `idle` from now or `deadline`, whichever
/// comes first; `Err(())` on timeout.
pub async fn next_frame(
    body: &mut Incoming,
    idle: Duration,
    deadline: Instant,
) -> Result<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>, ()> {
    let until = deadline.min(Instant::now() + idle);
    tokio::time::timeout_at(until, body.frame())
        .await
        .map_err(|_| ())
}

/// The declared `Content-Length`, if any.
pub fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Reads a whole body of at most `limit` bytes; each frame must arrive within `idle`, and
/// the whole body by `deadline` (a body dripped a byte at a time is cut off too).
pub async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
    limit: usize,
    idle: Duration,
    deadline: Instant,
) -> Result<Bytes, BodyError> {
    let mut buf =
        BytesMut::with_capacity(declared.map_or(8192, |n| n.min(limit as u64 + 1) as usize));
    loop {
        let frame = match next_frame(&mut body, idle, deadline).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            // A single frame is the whole body in the common case: no copy then.
            if buf.is_empty() && data.len() <= limit && declared == Some(data.len() as u64) {
                return Ok(data);
            }
            buf.extend_from_slice(&data);
            if buf.len() > limit {
                return Err(BodyError::TooLarge(buf.freeze()));
            }
        }
    }
    Ok(buf.freeze())
}

/// Whether the request's `Accept-Encoding` accepts gzip (RFC 9110, section 12.5.3):
/// `gzip` or `x-gzip` with a non-zero quality, or `*` with a non-zero quality when gzip
/// is not named. `gzip;q=0` refuses it, whatever `*` says. No header: no gzip (the safe
/// answer for a client that did not ask). Identity is always served otherwise, even when
/// refused (`identity;q=0`): a body the client can decode beats a 406 for this API.
pub fn accepts_gzip(h: &HeaderMap) -> bool {
    let mut gzip: Option<bool> = None;
    let mut star: Option<bool> = None;
    for value in h.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or("").trim();
            let mut q_ok = true;
            for p in params {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("q") {
                    q_ok = quality_is_positive(v.trim());
                }
            }
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                // The most specific refusal wins over an acceptance of the same coding.
                gzip = Some(gzip.unwrap_or(true) && q_ok);
            } else if coding == "*" {
                star = Some(star.unwrap_or(true) && q_ok);
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

/// Whether an RFC 9110 `qvalue` (`0`, `0.5`, `1.000`) is above zero; a malformed one is
/// taken as zero (not accepted).
fn quality_is_positive(q: &str) -> bool {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() != 1 || !digits(int) || frac.len() > 3 || !digits(frac) {
        return false;
    }
    match int {
        "1" => frac.bytes().all(|b| b == b'0'),
        "0" => frac.bytes().any(|b| b != b'0'),
        _ => false,
    }
}

/// Decodes `%XX` escapes of one path segment; `None` for bad escapes or non-UTF-8 results.
pub fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of query parameter `key` (decoded), `Some("")` when present without a value.
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    for pair in query?.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            return percent_decode(&v.replace('+', " "));
        }
    }
    None
}

/// Python's `json.dumps(value)` (separators `", "` and `": "`, `ensure_ascii=True`), the
/// bytes Django's `JsonResponse` sends.
pub fn py_json(v: &serde_json::Value) -> Vec<u8> {
    tecken_core::python_json(v)
}

/// A Tecken (Django) JSON error: `{"error": "..."}`.
pub fn tecken_error(status: u16, msg: &str) -> Resp {
    respond(status, JSON, py_json(&serde_json::json!({ "error": msg })))
}

/// Django's 405 for a Tecken API route: `{"error": "Method Not Allowed (PUT): /upload/"}`.
pub fn tecken_method_not_allowed<B>(req: &hyper::Request<B>) -> Resp {
    tecken_error(
        405,
        &format!(
            "Method Not Allowed ({}): {}",
            req.method(),
            req.uri().path()
        ),
    )
}

/// `t` as RFC 3339 UTC with microseconds (`2024-05-01T12:00:00.123456+00:00`, as Django
/// writes datetimes).
pub fn rfc3339(t: SystemTime) -> String {
    tecken_core::rfc3339_micros(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_bytes() {
        let v = serde_json::json!({"error": "caf\u{e9} \"x\"", "n": [1, null]});
        assert_eq!(
            String::from_utf8(py_json(&v)).unwrap(),
            r#"{"error": "caf\u00e9 \"x\"", "n": [1, null]}"#
        );
    }

    fn ae(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    #[test]
    fn gzip_with_quality_zero_is_refused() {
        assert!(!ae(&["gzip;q=0"]));
        assert!(!ae(&["gzip; q=0.000"]));
        assert!(!ae(&["*, gzip;q=0"]));
        assert!(!ae(&["gzip;q=0", "*"]));
        assert!(!ae(&["*;q=0"]));
        assert!(!ae(&["identity;q=0"]));
        assert!(!ae(&[]));
        assert!(!ae(&[""]));
        assert!(!ae(&["br, deflate"]));
        assert!(!ae(&["gzipx"]));
        assert!(
            !ae(&["gzip;q=2"]),
            "an invalid quality is not an acceptance"
        );
        assert!(!ae(&["gzip;q=abc"]));
    }

    #[test]
    fn gzip_accepted_by_name_or_by_star() {
        assert!(ae(&["gzip"]));
        assert!(ae(&["GZIP"]));
        assert!(ae(&["x-gzip"]));
        assert!(ae(&["gzip, deflate, br"]));
        assert!(ae(&["br;q=1.0, gzip;q=0.8, *;q=0.1"]));
        assert!(ae(&["gzip;q=0.001"]));
        assert!(ae(&["gzip;q=1", "br"]));
        assert!(ae(&["*"]));
        assert!(ae(&["br", "*;q=0.5"]));
        assert!(ae(&["identity;q=0, gzip"]));
    }

    #[test]
    fn path_and_query_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(
            query_param(Some("try=1&code_file=a%2Bb.dll"), "code_file").as_deref(),
            Some("a+b.dll")
        );
        assert_eq!(query_param(Some("try"), "try").as_deref(), Some(""));
        assert_eq!(query_param(None, "try"), None);
    }
}
