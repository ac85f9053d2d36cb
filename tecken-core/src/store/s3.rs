//! The S3 backend (feature `s3`): `aws-sdk-s3` on a private tokio runtime.
//!
//! ## Runtime
//!
//! The crate is synchronous; the SDK is async. The store owns a small multi-threaded tokio
//! runtime (2 workers), started lazily on first use, and each call spawns its future there
//! and waits for the answer on a std channel. This works from any thread, including one
//! that is itself inside another tokio runtime (where `block_on` would panic).
//!
//! ## fork()
//!
//! gunicorn imports the application, then forks workers. A runtime started before the fork
//! is useless in the child: its worker threads do not exist there, and its connection pool
//! shares sockets with the parent. Every call compares `std::process::id()` with the pid
//! that built the runtime and client; on a mismatch both are rebuilt. The parent's runtime
//! is leaked in the child, never dropped: dropping it would wait for threads that are not
//! there.
//!
//! ## Configuration
//!
//! Endpoint, region and credentials come from [`S3Config`] when set, else from the usual AWS
//! chain (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, profiles, instance roles). Path-style addressing is used when
//! an endpoint is set (S3-compatible servers), unless configured otherwise. The SDK's
//! standard retry (throttling, 5xx, timeouts, connection errors) applies, with
//! [`S3Config::max_attempts`] attempts. Request checksums are only sent when S3 requires
//! them: the default `aws-chunked` trailer encoding would be mixed into the object's own
//! `Content-Encoding: gzip` by some S3-compatible servers.
//!
//! ## Streamed reads
//!
//! [`Storage::get_reader`] hands out the response body as a [`std::io::Read`]: each read
//! waits for the body's next chunk on the private runtime (as every call does), so the
//! object is never held whole; the SDK's retries cover the request, not the body.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::{ObjectMeta, ObjectReader, PutObject, Storage, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::check_storage_key;

/// Configuration of an [`S3Store`].
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside the bucket (`symbols`), without slashes at the ends; empty for
    /// none. Tecken's `UPLOAD_DEFAULT_URL` path after the bucket.
    pub prefix: String,
    /// Region; default from the AWS chain, else `us-east-1`.
    pub region: Option<String>,
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:5000`); default from the AWS
    /// chain (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`), else AWS.
    pub endpoint_url: Option<String>,
    /// Access key id; with `secret_access_key`, replaces the AWS credential chain.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token for temporary credentials.
    pub session_token: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`). Default: on when an endpoint is set.
    pub force_path_style: Option<bool>,
    /// Time limit of one attempt of one operation. Default 60 s.
    pub timeout: Duration,
    /// Time limit to connect. Default 5 s.
    pub connect_timeout: Duration,
    /// Attempts per operation, including the first. Default 3.
    pub max_attempts: u32,
}

impl S3Config {
    /// Defaults for `bucket`.
    pub fn new(bucket: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            prefix: String::new(),
            region: None,
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            force_path_style: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 3,
        }
    }

    /// Parses a Tecken storage URL: `https://s3.amazonaws.com/bucket/prefix`,
    /// `https://s3-eu-west-2.amazonaws.com/bucket`, or an S3-compatible server
    /// `http://localhost:4566/bucket/prefix` (endpoint and path style).
    pub fn from_url(url: &str) -> Result<S3Config> {
        let bad = || Error::new(ErrorKind::InvalidInput, format!("not an S3 URL: {url:?}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut parts = path.trim_matches('/').splitn(2, '/');
        let bucket = parts.next().filter(|b| !b.is_empty()).ok_or_else(bad)?;
        let mut c = S3Config::new(bucket);
        c.prefix = parts.next().unwrap_or("").trim_matches('/').to_owned();
        let hostname = host.split(':').next().unwrap_or(host);
        if let Some(sub) = hostname.strip_suffix(".amazonaws.com") {
            // s3.amazonaws.com, s3-eu-west-2.amazonaws.com, s3.eu-west-2.amazonaws.com
            let region = sub.strip_prefix("s3-").or_else(|| sub.strip_prefix("s3."));
            c.region = region.map(str::to_owned);
        } else {
            c.endpoint_url = Some(format!("{scheme}://{host}"));
        }
        Ok(c)
    }
}

struct Live {
    pid: u32,
    runtime: Arc<tokio::runtime::Runtime>,
    client: Client,
}

/// An S3 bucket, through `aws-sdk-s3` on a private, lazily started, fork-safe tokio
/// runtime (see the module docs of `store/s3.rs`).
pub struct S3Store {
    config: S3Config,
    live: Mutex<Option<Live>>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn storage_err(what: String) -> Error {
    Error::new(ErrorKind::Storage, what)
}

impl S3Store {
    /// A store for `config`. Nothing is started or contacted until first use.
    pub fn new(config: S3Config) -> Result<S3Store> {
        if config.bucket.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "S3 bucket name is empty",
            ));
        }
        Ok(S3Store {
            config,
            live: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn full_key(&self, key: &str) -> Result<String> {
        check_storage_key(key)?;
        Ok(if self.config.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.config.prefix)
        })
    }

    /// The runtime and client of this process, built on first use and after a fork.
    fn live(&self) -> Result<(Arc<tokio::runtime::Runtime>, Client)> {
        let pid = std::process::id();
        let mut live = self
            .live
            .lock()
            .map_err(|_| Error::new(ErrorKind::Internal, "s3 client lock poisoned"))?;
        if let Some(l) = live.as_ref() {
            if l.pid == pid {
                return Ok((l.runtime.clone(), l.client.clone()));
            }
        }
        if let Some(stale) = live.take() {
            // Built by the parent before fork(): its threads are gone; never drop it.
            std::mem::forget(stale);
        }
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tecken-s3")
                .enable_all()
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("cannot start the S3 runtime: {e}"),
                    )
                })?,
        );
        let config = self.config.clone();
        let client = spawn_wait(&runtime, async move { Ok(build_client(&config).await) })?;
        *live = Some(Live {
            pid,
            runtime: runtime.clone(),
            client: client.clone(),
        });
        Ok((runtime, client))
    }

    fn run<T, F>(&self, f: impl FnOnce(Client) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let (runtime, client) = self.live()?;
        spawn_wait(&runtime, f(client))
    }

    /// Creates the bucket if it does not exist (for tests and first-time setups).
    pub fn create_bucket_if_missing(&self) -> Result<()> {
        let bucket = self.config.bucket.clone();
        let region = self.config.region.clone();
        self.run(move |c| async move {
            if c.head_bucket().bucket(&bucket).send().await.is_ok() {
                return Ok(());
            }
            let mut req = c.create_bucket().bucket(&bucket);
            if let Some(r) = region.filter(|r| r != "us-east-1") {
                let cfg = aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        r.as_str(),
                    ))
                    .build();
                req = req.create_bucket_configuration(cfg);
            }
            match req.send().await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
                Err(e) => Err(storage_err(format!(
                    "s3://{bucket}: create bucket: {}",
                    describe(&e)
                ))),
            }
        })
    }
}

/// Runs `fut` on `runtime` and waits for it from this (non-async) thread.
fn spawn_wait<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    fut: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().map_err(|_| {
        Error::new(
            ErrorKind::Internal,
            "S3 task ended without an answer (panicked?)",
        )
    })?
}

async fn build_client(c: &S3Config) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = &c.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &c.endpoint_url {
        loader = loader.endpoint_url(e.clone());
    }
    if let (Some(ak), Some(sk)) = (&c.access_key_id, &c.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            ak.clone(),
            sk.clone(),
            c.session_token.clone(),
            None,
            "tecken-config",
        ));
    }
    let shared = loader.load().await;
    let endpoint_set = c.endpoint_url.is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let mut b = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(c.force_path_style.unwrap_or(endpoint_set))
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(
            aws_sdk_s3::config::retry::RetryConfig::standard()
                .with_max_attempts(c.max_attempts.max(1)),
        )
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .connect_timeout(c.connect_timeout)
                .operation_attempt_timeout(c.timeout)
                .build(),
        );
    if shared.region().is_none() {
        b = b.region(Region::new("us-east-1"));
    }
    Client::from_conf(b.build())
}

/// A readable description of an SDK error (the default Display is just "service error").
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{} ({})",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) => format!("dispatch failure: {:?}", d.as_connector_error()),
        other => format!("{other}"),
    }
}

fn status_of<E, R: HasStatus>(e: &SdkError<E, R>) -> Option<u16> {
    e.raw_response().map(|r| r.status_code())
}

trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn to_system_time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    t.and_then(|d| SystemTime::try_from(*d).ok())
}

fn md5_from_etag(etag: Option<&str>) -> Option<String> {
    let e = etag?.trim_matches('"').to_ascii_lowercase();
    (e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit())).then_some(e)
}

/// The metadata of a GET's answer (the object's own, as a HEAD gives it).
fn get_meta(out: &aws_sdk_s3::operation::get_object::GetObjectOutput) -> ObjectMeta {
    meta_from(
        out.content_length(),
        out.content_encoding(),
        out.content_type(),
        out.metadata(),
        out.e_tag(),
        out.last_modified(),
    )
}

fn meta_from(
    len: Option<i64>,
    encoding: Option<&str>,
    content_type: Option<&str>,
    metadata: Option<&std::collections::HashMap<String, String>>,
    etag: Option<&str>,
    modified: Option<&aws_sdk_s3::primitives::DateTime>,
) -> ObjectMeta {
    let m = |k: &str| metadata.and_then(|m| m.get(k)).cloned();
    ObjectMeta {
        size: len.unwrap_or(0).max(0) as u64,
        content_encoding: encoding.map(str::to_owned),
        content_type: content_type.map(str::to_owned),
        original_size: m("original_size").and_then(|s| s.parse().ok()),
        original_md5: m("original_md5_hash"),
        stored_md5: md5_from_etag(etag),
        last_modified: to_system_time(modified),
    }
}

impl Storage for S3Store {
    fn describe(&self) -> String {
        let endpoint = self
            .config
            .endpoint_url
            .as_deref()
            .map(|e| format!(" at {e}"))
            .unwrap_or_default();
        if self.config.prefix.is_empty() {
            format!("s3://{}{endpoint}", self.config.bucket)
        } else {
            format!(
                "s3://{}/{}{endpoint}",
                self.config.bucket, self.config.prefix
            )
        }
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let (bucket, full) = (self.config.bucket.clone(), self.full_key(key)?);
        self.run(move |c| async move {
            match c.head_object().bucket(&bucket).key(&full).send().await {
                Ok(o) => Ok(Some(meta_from(
                    o.content_length(),
                    o.content_encoding(),
                    o.content_type(),
                    o.metadata(),
                    o.e_tag(),
                    o.last_modified(),
                ))),
                Err(e) if status_of(&e) == Some(404) => Ok(None),
                Err(SdkError::ServiceError(s)) if s.err().is_not_found() => Ok(None),
                Err(e) => Err(storage_err(format!(
                    "s3://{bucket}/{full}: head: {}",
                    describe(&e)
                ))),
            }
        })
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        self.get_range(key, None)
            .map(|o| o.map(|(meta, body)| StoredObject { meta, body }))
    }

    fn get_reader(&self, key: &str) -> Result<Option<ObjectReader>> {
        self.open_stream(key)
    }

    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get_range(key, Some(len.max(1)))?.map(|(_, mut body)| {
            body.truncate(len);
            body
        }))
    }

    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        let (bucket, full) = (self.config.bucket.clone(), self.full_key(key)?);
        let body = object.body.to_vec();
        let encoding = object.content_encoding.map(str::to_owned);
        let content_type = object.content_type.map(str::to_owned);
        let original = object.original.map(|(s, m)| (s.to_string(), m.to_owned()));
        self.run(move |c| async move {
            let mut req = c
                .put_object()
                .bucket(&bucket)
                .key(&full)
                .content_length(body.len() as i64)
                .body(ByteStream::from(body));
            if let Some(e) = encoding {
                req = req.content_encoding(e);
            }
            if let Some(t) = content_type {
                req = req.content_type(t);
            }
            if let Some((size, md5)) = original {
                req = req
                    .metadata("original_size", size)
                    .metadata("original_md5_hash", md5);
            }
            req.send()
                .await
                .map(|_| ())
                .map_err(|e| storage_err(format!("s3://{bucket}/{full}: put: {}", describe(&e))))
        })
    }

    fn is_writable(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        let strip = if self.config.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.config.prefix)
        };
        let full_prefix = format!("{strip}{prefix}");
        let mut token: Option<String> = None;
        loop {
            let (bucket, p, t) = (
                self.config.bucket.clone(),
                full_prefix.clone(),
                token.take(),
            );
            let page = self.run(move |c| async move {
                let mut req = c.list_objects_v2().bucket(&bucket).prefix(&p);
                if let Some(t) = t {
                    req = req.continuation_token(t);
                }
                let out = req.send().await.map_err(|e| {
                    storage_err(format!("s3://{bucket}/{p}: list: {}", describe(&e)))
                })?;
                let items: Vec<(String, u64)> = out
                    .contents()
                    .iter()
                    .filter_map(|o| {
                        Some((o.key()?.to_owned(), o.size().unwrap_or(0).max(0) as u64))
                    })
                    .collect();
                let next = if out.is_truncated() == Some(true) {
                    out.next_continuation_token().map(str::to_owned)
                } else {
                    None
                };
                Ok((items, next))
            })?;
            for (k, size) in page.0 {
                if let Some(rel) = k.strip_prefix(&strip) {
                    visit(rel, size)?;
                }
            }
            match page.1 {
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }
}

/// A `GetObject` body read chunk by chunk on the store's runtime.
struct S3Reader {
    runtime: Arc<tokio::runtime::Runtime>,
    stream: Option<ByteStream>,
    /// The current chunk and how much of it was read.
    pending: Vec<u8>,
    at: usize,
    name: String,
}

impl std::io::Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            let Some(mut stream) = self.stream.take() else {
                return Ok(0);
            };
            let (stream, next) = spawn_wait(&self.runtime, async move {
                let next = stream.next().await;
                Ok((stream, next))
            })
            .map_err(|e| std::io::Error::other(format!("{}: {e}", self.name)))?;
            match next {
                None => return Ok(0),
                Some(Ok(chunk)) => {
                    self.pending.clear();
                    self.pending.extend_from_slice(&chunk);
                    self.at = 0;
                    self.stream = Some(stream);
                }
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "{}: reading body: {e}",
                        self.name
                    )))
                }
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl S3Store {
    /// The object's metadata, exact length and body stream (see the module docs).
    fn open_stream(&self, key: &str) -> Result<Option<ObjectReader>> {
        let (bucket, full) = (self.config.bucket.clone(), self.full_key(key)?);
        let name = format!("s3://{bucket}/{full}");
        let (runtime, client) = self.live()?;
        let found = spawn_wait(&runtime, async move {
            let out = match client.get_object().bucket(&bucket).key(&full).send().await {
                Ok(o) => o,
                Err(e) if status_of(&e) == Some(404) => return Ok(None),
                Err(SdkError::ServiceError(s)) if s.err().is_no_such_key() => return Ok(None),
                Err(e) => {
                    return Err(storage_err(format!(
                        "s3://{bucket}/{full}: get: {}",
                        describe(&e)
                    )))
                }
            };
            let meta = get_meta(&out);
            let len = out.content_length().and_then(|n| u64::try_from(n).ok());
            Ok(Some((meta, len, out.body)))
        })?;
        Ok(found.map(|(meta, len, body)| ObjectReader {
            meta,
            len,
            reader: Box::new(S3Reader {
                runtime,
                stream: Some(body),
                pending: Vec::new(),
                at: 0,
                name,
            }),
        }))
    }

    fn get_range(&self, key: &str, range: Option<usize>) -> Result<Option<(ObjectMeta, Vec<u8>)>> {
        let (bucket, full) = (self.config.bucket.clone(), self.full_key(key)?);
        self.run(move |c| async move {
            let mut req = c.get_object().bucket(&bucket).key(&full);
            if let Some(n) = range {
                req = req.range(format!("bytes=0-{}", n - 1));
            }
            let out = match req.send().await {
                Ok(o) => o,
                Err(e) if status_of(&e) == Some(404) => return Ok(None),
                // An empty object has no byte 0.
                Err(e) if range.is_some() && status_of(&e) == Some(416) => {
                    return Ok(Some((ObjectMeta::default(), Vec::new())))
                }
                Err(SdkError::ServiceError(s)) if s.err().is_no_such_key() => return Ok(None),
                Err(e) => {
                    return Err(storage_err(format!(
                        "s3://{bucket}/{full}: get: {}",
                        describe(&e)
                    )))
                }
            };
            let meta = get_meta(&out);
            let body = out
                .body
                .collect()
                .await
                .map_err(|e| storage_err(format!("s3://{bucket}/{full}: reading body: {e}")))?
                .into_bytes()
                .to_vec();
            Ok(Some((meta, body)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tecken_urls() {
        let c = S3Config::from_url("https://s3-eu-west-2.amazonaws.com/some-bucket").unwrap();
        assert_eq!(
            (
                c.bucket.as_str(),
                c.region.as_deref(),
                c.endpoint_url.as_deref()
            ),
            ("some-bucket", Some("eu-west-2"), None)
        );
        let c = S3Config::from_url("http://localstack:4566/publicbucket/prefix/").unwrap();
        assert_eq!(c.endpoint_url.as_deref(), Some("http://localstack:4566"));
        assert_eq!(
            (c.bucket.as_str(), c.prefix.as_str()),
            ("publicbucket", "prefix")
        );
        assert_eq!(
            S3Config::from_url("https://s3.amazonaws.com/b")
                .unwrap()
                .region,
            None
        );
        assert!(S3Config::from_url("https://s3.amazonaws.com/").is_err());
    }

    #[test]
    fn etags() {
        assert_eq!(
            md5_from_etag(Some("\"D41D8CD98F00B204E9800998ECF8427E\"")).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(md5_from_etag(Some("\"abc-2\"")), None);
    }
}
