//! What the `tecken serve` test files share: a running server, an HTTP client that does
//! not tidy anything up, raw TCP exchanges, upload forms and zips.
//!
//! `TECKEN_SERVE_BIN=/path/to/tecken` runs the tests against another build of the binary
//! (to check that a test fails on a build without the fix it pins).

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use tecken_testutil::make_zip;
pub use tecken_testutil::tecken_fixtures as fixtures;

/// The binary under test.
pub fn tecken_bin() -> PathBuf {
    match std::env::var_os("TECKEN_SERVE_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_tecken")),
    }
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stderr: Option<PathBuf>,
    pub _dirs: Vec<tempfile::TempDir>,
}

impl Server {
    /// `tecken serve ARGS` on a free port, stderr discarded.
    pub fn start_with(args: &[&str], dirs: Vec<tempfile::TempDir>) -> Server {
        Server::spawn(args, dirs, None)
    }

    /// `tecken serve ARGS` on a free port, stderr (the log) written to a file.
    pub fn start_logged(args: &[&str], mut dirs: Vec<tempfile::TempDir>) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let path = logdir.path().join("stderr.log");
        dirs.push(logdir);
        Server::spawn(args, dirs, Some(path))
    }

    fn spawn(args: &[&str], dirs: Vec<tempfile::TempDir>, stderr: Option<PathBuf>) -> Server {
        let err = match &stderr {
            Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
            None => Stdio::null(),
        };
        let mut child = Command::new(tecken_bin())
            .arg("serve")
            .args(["--bind", "127.0.0.1:0", "--workers", "2"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server {
            child,
            addr,
            stderr,
            _dirs: dirs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }

    pub fn host(&self) -> &str {
        self.addr.strip_prefix("http://").unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far (`start_logged` only); the log is flushed every
    /// 100 ms, so this waits a little first.
    pub fn log(&self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::read_to_string(self.stderr.as_ref().expect("start_logged")).unwrap()
    }

    /// A field of `/proc/{pid}/status` in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {status}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// An agent that gives up after `secs` seconds per request.
pub fn agent_with_timeout(secs: u64) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(secs)))
        .build()
        .into()
}

/// Status, headers (lower-case names) and body.
pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

pub fn got(mut r: ureq::http::Response<ureq::Body>) -> Got {
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .read_to_vec()
        .unwrap_or_default();
    Got {
        status,
        headers,
        body,
    }
}

pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Got {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    got(req.send(body).unwrap())
}

pub fn get(url: &str) -> Got {
    got(agent().get(url).call().unwrap())
}

pub fn head(url: &str) -> Got {
    got(agent().head(url).call().unwrap())
}

/// A raw HTTP/1.1 exchange (for methods and paths a client library would tidy up).
pub fn raw(host: &str, request: &str) -> String {
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The MODULE line's debug file and id of a `.sym`.
pub fn module_of(sym: &[u8]) -> (String, String) {
    let line = sym.split(|&b| b == b'\n').next().unwrap();
    let parts: Vec<&str> = std::str::from_utf8(line).unwrap().split(' ').collect();
    (parts[4].trim().to_owned(), parts[3].to_owned())
}

pub fn sym_name(debug_file: &str) -> String {
    match debug_file.strip_suffix(".pdb") {
        Some(stem) => format!("{stem}.sym"),
        None => format!("{debug_file}.sym"),
    }
}

/// Writes `sym` into a plain tree under `debug_file/debug_id/`.
pub fn put_plain(root: &Path, debug_file: &str, debug_id: &str, sym: &[u8]) {
    let dir = root.join(debug_file).join(debug_id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(sym_name(debug_file)), sym).unwrap();
}

pub const TOKENS: &str = "\
# token            permissions         user
uploader-token-1   upload,try-upload   ci@example.com
try-only-token-1   try-upload          try-bot
no-perms-token-1   none                someone
";

/// A server over the store `store` with the test tokens.
pub fn upload_server_in(
    store: tempfile::TempDir,
    extra: &[&str],
    logged: bool,
) -> (Server, PathBuf) {
    let tokdir = tempfile::tempdir().unwrap();
    let tokpath = tokdir.path().join("tokens");
    std::fs::write(&tokpath, TOKENS).unwrap();
    let root = store.path().to_path_buf();
    let mut args = vec![
        "--symbols".to_owned(),
        root.to_str().unwrap().to_owned(),
        "--tokens".to_owned(),
        tokpath.to_str().unwrap().to_owned(),
    ];
    if !logged {
        args.push("--quiet".to_owned());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = if logged {
        Server::start_logged(&args, vec![store, tokdir])
    } else {
        Server::start_with(&args, vec![store, tokdir])
    };
    (server, root)
}

/// A server over an empty store with the test tokens.
pub fn upload_server(extra: &[&str]) -> (Server, PathBuf) {
    upload_server_in(tempfile::tempdir().unwrap(), extra, false)
}

pub const BOUNDARY: &str = "----tecken-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart form: `(field, Some(filename) for a file, bytes)`.
pub fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = BOUNDARY;
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/zip\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn upload(server: &Server, token: Option<&str>, parts: &[(&str, Option<&str>, &[u8])]) -> Got {
    let (ct, body) = form(parts);
    let mut headers = vec![("Content-Type", ct.as_str())];
    if let Some(t) = token {
        headers.push(("Auth-Token", t));
    }
    post(&server.url("/upload/"), &headers, &body)
}

pub fn zip_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("zips").join(name)).unwrap()
}

pub fn error_of(g: &Got) -> String {
    let v: serde_json::Value = serde_json::from_slice(&g.body).unwrap_or_else(|_| {
        panic!("not JSON: {}", g.text());
    });
    v["error"].as_str().unwrap().to_owned()
}

/// A stalled upload: the headers (with a valid token and a large `Content-Length`) and
/// the start of a form, then nothing. The socket stays open while the value lives.
pub fn stalled_upload(host: &str) -> TcpStream {
    let mut s = TcpStream::connect(host).unwrap();
    let start = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file.zip\"; filename=\"file.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04"
    );
    write!(
        s,
        "POST /upload/ HTTP/1.1\r\nHost: x\r\nAuth-Token: uploader-token-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 10000000\r\n\r\n{start}"
    )
    .unwrap();
    s.flush().unwrap();
    s
}
