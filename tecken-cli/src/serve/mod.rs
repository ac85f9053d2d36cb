//! `tecken serve`: Tecken's and Eliot's HTTP APIs over one symbol store.
//!
//! ```text
//! tecken serve --symbols SPEC... [--bind 127.0.0.1:8000] [--cache DIR] [--tokens FILE]
//!              [--redirect-base URL] [--public-url URL] [--max-body BYTES] [--workers N]
//!              [--blocking-threads N] [--timeout S] [--request-timeout S]
//!              [--upload-timeout S] [--max-connections N] [--max-uploads N] [--quiet]
//! ```
//!
//! Routes: `POST /symbolicate/v5`, `/symbolicate/v4` (Eliot, byte for byte, CORS and the
//! `Debug` header); `POST /upload/` (Tecken's form, [`upload`]); `GET`/`HEAD
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
//! and one pattern, matched in [`routes::route`] with a `match`) and a tower stack per
//! request; actix-web brings its own runtime beside the tokio one the S3 store already
//! uses. Plain hyper keeps the dependency tree to what is already in the lock file.
//!
//! # Blocking work
//!
//! The core is synchronous. A symbolication whose modules are all open runs inline on the
//! async worker (microseconds; see [`hot`]); anything that may build an index, read a
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
//!   and `Connection: close` ([`conn`]).
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
//!   ([`spool`]).
//!
//! # Shutdown
//!
//! SIGTERM or SIGINT: stop accepting, let in-flight requests finish (keep-alive
//! connections are closed after their current request), wait at most `--grace` seconds,
//! exit 0.

mod body;
mod conn;
mod hot;
mod http;
mod log;
mod multipart;
mod routes;
mod spool;
mod state;
mod tokens;
mod upload;

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
use crate::{CliError, CliResult};

/// Arguments of `tecken serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Symbol source and store: a directory (a Tecken store `DIR/v1/...`, created if
    /// missing, or a plain tree `DIR/{debug_file}/{debug_id}/{sym_file}`, read-only),
    /// `s3://bucket/prefix`, or an `http(s)://` Tecken download URL (read-only). Repeat
    /// (or separate with commas) to search several in order; uploads go to the first
    /// writable one.
    #[arg(long = "symbols", required = true)]
    symbols: Vec<String>,
    /// Address to listen on (`127.0.0.1:0` picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Directory for built indexes (and upload spool files), shared with other processes.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Upload tokens, one per line: `TOKEN PERMISSIONS [USER]` with PERMISSIONS a comma
    /// list of `upload`, `try-upload` (or `none`). Without it, uploads are refused.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// Answer found downloads with a 302 to `URL/{storage key}` (`URL/v1/xul.pdb/ID/xul.sym`)
    /// instead of sending the file: a public bucket URL or a CDN.
    #[arg(long)]
    redirect_base: Option<String>,
    /// The server's public base URL (`https://symbols.example.com`), for the URLs in
    /// answers (syminfo's `url`); never taken from the request's `Host` header. Default:
    /// `http://` and the bound address, as printed.
    #[arg(long)]
    public_url: Option<String>,
    /// Largest request body in bytes (uploads); `/symbolicate` bodies are also limited to
    /// 10 MiB as Eliot's API allows.
    #[arg(long, default_value_t = 2 << 30)]
    max_body: u64,
    /// Async worker threads (default: the number of CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// Most threads for blocking work (cold symbolication, downloads, uploads).
    #[arg(long, default_value_t = 64)]
    blocking_threads: usize,
    /// Seconds to wait for request headers, between pieces of a request body, and for a
    /// client to take any bytes of an answer (then the connection is closed).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Seconds to read a whole request body (uploads excepted): a body dripped slowly is
    /// cut off with a 408.
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
    /// Seconds to read a whole upload body.
    #[arg(long, default_value_t = 3600)]
    upload_timeout: u64,
    /// Most connections at once; beyond, a new connection gets a 503 with `Retry-After`
    /// and is closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Most uploads at once; beyond, an upload gets a 503 with `Retry-After`. Must be
    /// below --blocking-threads, so uploads never take every blocking thread.
    #[arg(long, default_value_t = 4)]
    max_uploads: usize,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, default_value_t = 30)]
    grace: u64,
    /// Seconds a module found missing is not looked for again.
    #[arg(long, default_value_t = 300)]
    negative_ttl: u64,
    /// No per-request log lines (startup and shutdown are still logged).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `tecken serve` until SIGTERM or SIGINT.
pub fn run(args: Args) -> CliResult {
    if args.workers == Some(0) || args.blocking_threads == 0 {
        return Err(CliError::Usage(
            "--workers and --blocking-threads must be at least 1".into(),
        ));
    }
    if args.max_connections == 0 || args.max_uploads == 0 {
        return Err(CliError::Usage(
            "--max-connections and --max-uploads must be at least 1".into(),
        ));
    }
    if args.max_uploads >= args.blocking_threads {
        return Err(CliError::Usage(format!(
            "--max-uploads ({}) must be below --blocking-threads ({}): uploads would take \
             every blocking thread",
            args.max_uploads, args.blocking_threads
        )));
    }
    // Bound first: the default public URL is the address actually bound (port 0 resolved).
    let listener = std::net::TcpListener::bind(args.bind)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.bind)))?;
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
        log: log.clone(),
    })?;
    if state.tokens.is_some() && !state.store_is_writable {
        return Err(CliError::Usage(format!(
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
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let server = Server {
        state: Arc::new(state),
        log: log.clone(),
        limits: Limits {
            body_idle: timeout,
            body_deadline: Duration::from_secs(args.request_timeout.max(1)),
            upload_deadline: Duration::from_secs(args.upload_timeout.max(1)),
        },
    };
    let r = rt.block_on(serve(
        server,
        listener,
        Conns {
            timeout,
            max: args.max_connections,
        },
        Duration::from_secs(args.grace),
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
) -> CliResult {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| CliError::Failed(format!("cannot listen: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Failed(format!("cannot listen: {e}")))?;
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
