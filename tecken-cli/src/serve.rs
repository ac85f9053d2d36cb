//! `tecken serve`: the command line of [`tecken_server`], which does the work.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tecken_core::ErrorKind;
use tecken_server::ServerConfig;

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
    /// A host uploads by download URL (the `url` field of `POST /upload/`) may fetch from,
    /// as Tecken's `ALLOW_UPLOAD_BY_DOWNLOAD_DOMAINS`; every redirect's host must be one
    /// too. Repeat for several. Without any, such uploads are refused.
    #[arg(long = "upload-url-host")]
    upload_url_hosts: Vec<String>,
    /// Let uploads by download URL use `http://` (a private network); `https://` only
    /// otherwise, as Tecken.
    #[arg(long)]
    upload_url_http: bool,
    /// Whose API to answer as where Tecken's and Eliot's differ on one port: `both` (all
    /// routes; unknown paths get Eliot's JSON 404), `tecken` (Tecken's routes and its
    /// `{"error": "Not Found", "path": ...}` 404) or `eliot` (symbolication only, Falcon's
    /// 404 for everything else).
    #[arg(long, default_value = "both")]
    api: String,
    /// The upload API version `/upload/auth_info/` announces to Mozilla's `upload-symbols`
    /// client: 1, `POST /upload/` with a zip archive; 2, Tecken's newer flow, a resumable
    /// upload session per file (`POST /upload/v2/`, then `PUT` to each session URL). Both
    /// are served either way.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=2))]
    upload_api_version: u32,
}

/// Runs `tecken serve` until SIGTERM or SIGINT.
pub fn run(args: Args) -> CliResult {
    let api = args
        .api
        .parse()
        .map_err(|e: tecken_core::Error| CliError::Usage(e.message().to_owned()))?;
    let config = ServerConfig {
        symbols: args.symbols,
        bind: args.bind,
        cache: args.cache,
        tokens: args.tokens,
        redirect_base: args.redirect_base,
        public_url: args.public_url,
        max_body: args.max_body,
        workers: args.workers,
        blocking_threads: args.blocking_threads,
        timeout: Duration::from_secs(args.timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        upload_timeout: Duration::from_secs(args.upload_timeout),
        max_connections: args.max_connections,
        max_uploads: args.max_uploads,
        grace: Duration::from_secs(args.grace),
        negative_ttl: Duration::from_secs(args.negative_ttl),
        quiet: args.quiet,
        upload_url_hosts: args.upload_url_hosts,
        upload_url_http: args.upload_url_http,
        api,
        upload_api_version: args.upload_api_version,
    };
    tecken_server::run(config).map_err(|e| match e.kind() {
        // A setting the server refused: the command line was wrong.
        ErrorKind::InvalidInput => CliError::Usage(e.message().to_owned()),
        _ => CliError::Failed(e.to_string()),
    })
}
