//! Tecken's and Eliot's HTTP APIs over one symbol store: the library behind `tecken
//! serve`, for a service that wants to start the server itself.
//!
//! ```no_run
//! let config = tecken_server::ServerConfig {
//!     symbols: vec!["/srv/symbols".into()],
//!     cache: Some("/var/cache/tecken".into()),
//!     ..tecken_server::ServerConfig::default()
//! };
//! tecken_server::run(config)?; // until SIGTERM or SIGINT
//! # Ok::<(), tecken_core::Error>(())
//! ```
//!
//! Everything the server knows comes from `tecken_core`: the symbolicator (modules in
//! memory, the index cache, the sources), the store (downloads, uploads, syminfo) and their
//! errors. This crate adds HTTP: routing, bodies, limits, deadlines and logging.
//!
//! Routes: `POST /symbolicate/v5`, `/symbolicate/v4` (Eliot, byte for byte, CORS and the
//! `Debug` header); `POST /upload/` (Tecken's form); `GET`/`HEAD
//! [/try]/{debug_file}/{debug_id}/{file}` (stream, or 302 to `--redirect-base`; the
//! code-id redirect); `GET /api/syminfo/{file}/{id}`, `/missingsymbols.csv`,
//! `/__heartbeat__`, `/__lbheartbeat__`, `/__version__`. The address is printed on stdout
//! once bound (`listening on http://127.0.0.1:PORT`), so `--bind 127.0.0.1:0` works for
//! tests and scripts.
//!
//! # Why hyper 1 on tokio
//!
//! The server is a thin layer over synchronous core calls, and what it must do well is
//! HTTP/1.1 keep-alive at tens of thousands of small requests per second on two cores,
//! plus long uploads and graceful shutdown. hyper 1 is the HTTP implementation under
//! axum, reqwest and the AWS SDK this binary already links: a mature, fuzzed parser, one
//! allocation-light path per request, and a stable 1.0 API with graceful shutdown in
//! `hyper-util`. axum would add routing and extractors we do not need (eight fixed paths
//! and one pattern, matched in `routes::route` with a `match`) and a tower stack per
//! request; actix-web brings its own runtime beside the tokio one the S3 store already
//! uses. Plain hyper keeps the dependency tree to what is already in the lock file.
//!
//! # Blocking work
//!
//! The core is synchronous. A symbolication whose modules are all open runs inline on the
//! async worker (microseconds; `Symbolicator::cached_only` answers from memory and says
//! whether any module was missing); anything that may build an index, read a
//! large file or go to the network (cold symbolication, opening a download, each 64 KiB
//! chunk of a streamed download, spool writes and the processing of an upload, syminfo,
//! remote HEADs) runs on tokio's blocking pool (`--blocking-threads`). Nothing holds a
//! blocking thread while it waits on a client: request bodies are read on the async side,
//! and a streamed download reads its next chunk only when the socket took the previous
//! ones. A panic anywhere in a handler becomes a 500 for that request; the server keeps
//! serving.
//!
//! # Limits and deadlines (hostile or broken clients)
//!
//! - **Connections**: at most `--max-connections` (default 1024) at once; beyond that a
//!   new connection gets `503 Service Unavailable` with `Retry-After: 1`, a one-line body
//!   and `Connection: close`.
//! - **Request headers**: must arrive within `--timeout` seconds (default 30), which also
//!   closes idle keep-alive connections.
//! - **Request bodies**: each piece within `--timeout`; the whole body of a
//!   `/symbolicate` request within `--request-timeout` (default 60) of its headers, so a
//!   body dripped a byte at a time is cut off (408); uploads within `--upload-timeout`
//!   (default 3600). Other routes never read a body.
//! - **Responses**: a client that takes no bytes for `--timeout` seconds has its
//!   connection closed, and whatever the answer held (an open file) released.
//! - **Memory per connection**: request bodies at most `--max-body` for uploads (spooled
//!   to disk, not held) and 10 MiB for `/symbolicate`; a streamed download holds one 64
//!   KiB chunk being read, hyper's write buffer (at most ~400 KiB) and the reader's
//!   buffers (64 KiB, plus a 32 KiB gzip window when decompressing): about 600 KiB,
//!   whatever the file's size.
//! - **Uploads**: at most `--max-uploads` (default 4) at once, beyond which an upload gets
//!   503 with `Retry-After`; an upload holds no thread while waiting on its client, and
//!   since `--max-uploads` must be below `--blocking-threads`, processing uploads can
//!   never take every blocking thread from downloads, heartbeats and symbolication.
//! - **Server paths**: answers never show them: server errors (5xx) say only what failed
//!   (`Storage error`), client errors have known server directories replaced, the upload
//!   answer's `bucket` is `local` or `s3://bucket/prefix`; the full error is in the log
//!   line's `error=` field. URLs in answers are built from `--public-url`, never from the
//!   request's `Host`.
//! - **Spool files** of uploads a killed server left are removed at start-up
//!   (see `spool`).
//!
//! # Shutdown
//!
//! SIGTERM or SIGINT: stop accepting, let in-flight requests finish (keep-alive
//! connections are closed after their current request), wait at most `--grace` seconds,
//! exit 0.

mod body;
mod conn;
mod http;
mod log;
mod multipart;
mod routes;
mod spool;
mod state;
mod tokens;
mod upload;
mod upload_v2;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use futures_util::FutureExt;
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;

use self::http::{respond, Resp, TEXT};
use self::log::{Detail, Line, Note, RequestLog};
use self::routes::Limits;
use self::state::{Settings, State};
use tecken_core::{Error, ErrorKind, Result};

/// What [`run`] serves and how: the flags of `tecken serve`, one field each (the CLI's
/// `--help` says the same). [`ServerConfig::default`] has the CLI's defaults, with no
/// symbols.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Symbol sources and stores in order (`--symbols`): a directory (a Tecken store
    /// `DIR/v1/...`, created if missing, or a plain tree read-only), `s3://bucket/prefix`,
    /// or an `http(s)://` Tecken download URL (read-only). Uploads go to the first
    /// writable one.
    pub symbols: Vec<String>,
    /// Address to listen on (`127.0.0.1:0` picks a free port; the bound address is printed
    /// on stdout as `listening on http://ADDR`).
    pub bind: SocketAddr,
    /// Directory for built indexes and upload spool files, shared with other processes.
    pub cache: Option<PathBuf>,
    /// Upload tokens file (`TOKEN PERMISSIONS [USER]` per line); `None` refuses uploads.
    pub tokens: Option<PathBuf>,
    /// Answer found downloads with a 302 to `URL/{storage key}` instead of the file.
    pub redirect_base: Option<String>,
    /// Public base URL for URLs in answers; default `http://` + the bound address.
    pub public_url: Option<String>,
    /// Largest request body (uploads); `/symbolicate` bodies are at most 10 MiB as well.
    pub max_body: u64,
    /// Async worker threads (default: the number of CPUs).
    pub workers: Option<usize>,
    /// Most threads for blocking work (cold symbolication, downloads, uploads).
    pub blocking_threads: usize,
    /// Wait for request headers, between pieces of a body, and for a client to take any
    /// bytes of an answer.
    pub timeout: Duration,
    /// Longest time to read a whole request body (uploads excepted).
    pub request_timeout: Duration,
    /// Longest time to read a whole upload body.
    pub upload_timeout: Duration,
    /// Most connections at once (beyond: 503 and close).
    pub max_connections: usize,
    /// Most uploads at once (beyond: 503); below `blocking_threads`.
    pub max_uploads: usize,
    /// How long in-flight requests may finish after SIGTERM/SIGINT.
    pub grace: Duration,
    /// How long a module found missing is not looked for again.
    pub negative_ttl: Duration,
    /// No per-request log lines.
    pub quiet: bool,
    /// Hosts an upload by download URL (the `url` field of `POST /upload/`) may fetch from
    /// (`--upload-url-host`, Tecken's `ALLOW_UPLOAD_BY_DOWNLOAD_DOMAINS`). Empty, the
    /// default: every URL is refused with Tecken's "Not an allowed domain" answer.
    pub upload_url_hosts: Vec<String>,
    /// Also `http://` URLs from those hosts (`--upload-url-http`; a private network).
    pub upload_url_http: bool,
    /// Whose API the server answers as where Tecken and Eliot differ (`--api`).
    pub api: Api,
    /// The upload API version `/upload/auth_info/` announces (`--upload-api-version`): 1
    /// (the default), `POST /upload/` with an archive; or 2, a resumable session per file
    /// (`/upload/v2/`). Both are served either way; the version tells Mozilla's
    /// `upload-symbols` client which to use.
    pub upload_api_version: u32,
}

/// Whose answers the server gives where Tecken's and Eliot's differ on one port: the
/// routes served, `/`, and the body of a 404 for an unknown path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// Both services' routes (the default). Unknown paths get Eliot's (Falcon's)
    /// `{"title": "404 Not Found"}`; `/` lists the routes.
    #[default]
    Both,
    /// Tecken's routes (upload, download, syminfo, `/api/...`, symbolication as Tecken
    /// once served it, Dockerflow); unknown paths get Tecken's `{"error": "Not Found",
    /// "path": "/..."}`.
    Tecken,
    /// Eliot's routes (symbolication, Dockerflow); everything else, downloads included, is
    /// Falcon's 404.
    Eliot,
}

impl std::str::FromStr for Api {
    type Err = Error;

    fn from_str(s: &str) -> Result<Api> {
        match s {
            "both" => Ok(Api::Both),
            "tecken" => Ok(Api::Tecken),
            "eliot" => Ok(Api::Eliot),
            _ => Err(bad_setting(format!(
                "--api {s:?}: expected both, tecken or eliot"
            ))),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            symbols: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            cache: None,
            tokens: None,
            redirect_base: None,
            public_url: None,
            max_body: 2 << 30,
            workers: None,
            blocking_threads: 64,
            timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(3600),
            max_connections: 1024,
            max_uploads: 4,
            grace: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(300),
            quiet: false,
            upload_url_hosts: Vec::new(),
            upload_url_http: false,
            api: Api::Both,
            upload_api_version: 1,
        }
    }
}

/// A refused setting (the caller's mistake: kind [`ErrorKind::InvalidInput`]).
fn bad_setting(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// A failure to start or run the server (kind [`ErrorKind::Io`]).
fn failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Io, msg)
}

/// Runs `tecken serve` until SIGTERM or SIGINT.
pub fn run(args: ServerConfig) -> Result<()> {
    if args.workers == Some(0) || args.blocking_threads == 0 {
        return Err(bad_setting(
            "--workers and --blocking-threads must be at least 1",
        ));
    }
    if args.max_connections == 0 || args.max_uploads == 0 {
        return Err(bad_setting(
            "--max-connections and --max-uploads must be at least 1",
        ));
    }
    if !matches!(args.upload_api_version, 1 | 2) {
        return Err(bad_setting(format!(
            "--upload-api-version {}: expected 1 or 2",
            args.upload_api_version
        )));
    }
    if args.max_uploads >= args.blocking_threads {
        return Err(bad_setting(format!(
            "--max-uploads ({}) must be below --blocking-threads ({}): uploads would take \
             every blocking thread",
            args.max_uploads, args.blocking_threads
        )));
    }
    // Bound first: the default public URL is the address actually bound (port 0 resolved).
    let listener = std::net::TcpListener::bind(args.bind)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| failed(format!("cannot listen on {}: {e}", args.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| failed(format!("cannot listen on {}: {e}", args.bind)))?;
    let log = Arc::new(RequestLog::new(!args.quiet));
    let state = State::new(Settings {
        symbols: args.symbols.clone(),
        cache: args.cache.clone(),
        tokens: args.tokens.clone(),
        redirect_base: args.redirect_base.clone(),
        max_body: args.max_body,
        negative_ttl: args.negative_ttl,
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        max_uploads: args.max_uploads,
        upload_url_hosts: args.upload_url_hosts.clone(),
        upload_url_http: args.upload_url_http,
        api: args.api,
        upload_api_version: args.upload_api_version,
        log: log.clone(),
    })?;
    if state.tokens.is_some() && !state.store_is_writable {
        return Err(bad_setting(format!(
            "--tokens: uploads need a writable store, and none of --symbols is ({})",
            state.store_name
        )));
    }
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(args.blocking_threads)
        .thread_name("tecken-serve")
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the runtime: {e}")))?;
    let second = Duration::from_secs(1);
    let timeout = args.timeout.max(second);
    let server = Server {
        state: Arc::new(state),
        log: log.clone(),
        limits: Limits {
            body_idle: timeout,
            body_deadline: args.request_timeout.max(second),
            upload_deadline: args.upload_timeout.max(second),
        },
    };
    let r = rt.block_on(serve(
        server,
        listener,
        Conns {
            timeout,
            max: args.max_connections,
        },
        args.grace,
    ));
    log.flush();
    // Blocking tasks still running (a cold build past the grace period) are abandoned.
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}

#[derive(Clone)]
struct Server {
    state: Arc<State>,
    log: Arc<RequestLog>,
    limits: Limits,
}

/// Connection settings.
#[derive(Debug, Clone, Copy)]
struct Conns {
    /// Header read deadline and write (no progress) deadline.
    timeout: Duration,
    /// `--max-connections`.
    max: usize,
}

async fn serve(
    server: Server,
    listener: std::net::TcpListener,
    conns: Conns,
    grace: Duration,
) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| failed(format!("cannot listen: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| failed(format!("cannot listen: {e}")))?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    server.log.event(
        "start",
        &format!(
            "listening on http://{addr}; symbols {}; public url {}",
            server.state.store_name, server.state.public_url
        ),
    );

    // The log flusher.
    let flusher = {
        let log = server.log.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                log.flush();
            }
        })
    };

    let slots = Arc::new(Semaphore::new(conns.max));
    let rejecting = Arc::new(Semaphore::new(conn::MAX_REJECTING));
    let mut shutdown = Box::pin(shutdown_signal());
    let graceful = GracefulShutdown::new();
    let mut conn_builder = http1::Builder::new();
    conn_builder
        .timer(TokioTimer::new())
        .header_read_timeout(conns.timeout)
        .keep_alive(true);
    let signal = loop {
        let accepted = match select(Box::pin(listener.accept()), shutdown.as_mut()).await {
            Either::Left((r, _)) => r,
            Either::Right((sig, _)) => break sig,
        };
        let (stream, peer) = match accepted {
            Ok(v) => v,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                server.log.event("accept_error", &e.to_string());
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            conn::reject(stream, &rejecting);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let srv = server.clone();
        let svc = service_fn(move |req| {
            let srv = srv.clone();
            async move { Ok::<_, Infallible>(srv.handle(req, peer).await) }
        });
        let io = TokioIo::new(conn::WriteDeadline::new(stream, conns.timeout));
        let conn = conn_builder.serve_connection(io, svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Client resets and timeouts end the connection; nothing to report.
            let _ = conn.await;
            drop(slot);
        });
    };
    drop(listener);
    server.log.event(
        "shutdown",
        &format!(
            "{signal}: finishing in-flight requests (at most {} s)",
            grace.as_secs()
        ),
    );
    let finished = select(
        Box::pin(graceful.shutdown()),
        Box::pin(tokio::time::sleep(grace)),
    )
    .await;
    let msg = match finished {
        Either::Left(_) => "all connections closed",
        Either::Right(_) => "grace period over; closing the remaining connections",
    };
    flusher.abort();
    server.log.event("stop", msg);
    Ok(())
}

/// Resolves on SIGTERM or SIGINT with the signal's name.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // No signal handling (should not happen on Unix): run until killed.
        return std::future::pending().await;
    };
    let which = match select(Box::pin(term.recv()), Box::pin(int.recv())).await {
        Either::Left(_) => "SIGTERM",
        Either::Right(_) => "SIGINT",
    };
    which
}

impl Server {
    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Resp {
        let start = Instant::now();
        let logging = self.log.enabled();
        let (method, uri) = if logging {
            (Some(req.method().clone()), Some(req.uri().clone()))
        } else {
            (None, None)
        };
        let bytes_in = req.body().size_hint().exact().unwrap_or(0);
        let fut = routes::route(&self.state, req, self.limits);
        let resp = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.log.event("panic", &msg);
                http::noted(respond(500, TEXT, "Internal Server Error"), "panic")
            }
        };
        if let (Some(method), Some(uri)) = (method, uri) {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            self.log.request(&Line {
                method: method.as_str(),
                path,
                status: resp.status().as_u16(),
                bytes_in,
                bytes_out: resp.body().size_hint().exact().unwrap_or(0),
                elapsed: start.elapsed(),
                peer,
                note: resp.extensions().get::<Note>().map(|n| n.0),
                error: resp.extensions().get::<Detail>().map(|d| d.0.as_str()),
            });
        }
        resp
    }
}
