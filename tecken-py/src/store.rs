//! `SymbolStore`: Tecken's symbol store over a local directory, S3, HTTP or a chain.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use tecken_core::{
    open_store, upload_archive, ArchiveSource, BodyMode, ChainStore, CsvOptions, Download,
    DownloadRequest, HttpConfig, HttpStore, MissingSymbols, ObjectKey, StoreSpec,
    SymbolStore as CoreStore, UploadOptions, UrlUploadOptions,
};

use crate::convert::{to_python, ByteArg};
use crate::errors::{invalid, run};

/// Tecken's symbol store (`v1/` and `try/v1/` areas, gzipped `.sym` files, code-id index,
/// missing-symbol records) over a local directory, S3, HTTP (read-only) or a chain of
/// them. Made by the static methods `local`, `s3`, `http`, `chain` and `open`; safe to
/// share between threads.
#[pyclass(module = "tecken_core", frozen)]
#[derive(Debug)]
pub struct SymbolStore {
    pub(crate) inner: CoreStore,
}

fn wrap(store: CoreStore) -> SymbolStore {
    SymbolStore {
        inner: store.with_missing_symbols(Arc::new(MissingSymbols::new(
            MissingSymbols::DEFAULT_CAPACITY,
        ))),
    }
}

fn secs(what: &str, value: f64) -> tecken_core::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(format!("{what} must be a non-negative number of seconds")))
}

#[pymethods]
impl SymbolStore {
    /// A store in the local directory `root` (created if missing), in Tecken's layout
    /// (`root/v1/{debug_file}/{DEBUG_ID}/{file}`).
    #[staticmethod]
    fn local(py: Python<'_>, root: PathBuf) -> PyResult<SymbolStore> {
        run(py, move || CoreStore::local(root)).map(wrap)
    }

    /// A store read from a spec: `s3://bucket/prefix` (endpoint, region and credentials
    /// from the AWS environment), `http(s)://...` (Tecken's download API, read-only), else a
    /// local directory as `local()`.
    #[staticmethod]
    fn open(py: Python<'_>, spec: PathBuf) -> PyResult<SymbolStore> {
        let spec = spec.to_string_lossy().into_owned();
        run(py, move || open_store(&[StoreSpec::parse(&spec)?])).map(wrap)
    }

    /// A read-only store over HTTP: Tecken's download API (`layout="tecken"`, keys without
    /// `v1/`) or a bucket served over HTTP (`layout="bucket"`, keys as stored).
    #[staticmethod]
    #[pyo3(signature = (base_url, *, layout="tecken", timeout=None, connect_timeout=None, retries=None))]
    fn http(
        py: Python<'_>,
        base_url: &str,
        layout: &str,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        retries: Option<u32>,
    ) -> PyResult<SymbolStore> {
        let mut config = HttpConfig::new(base_url);
        run(py, move || {
            config.layout = layout.parse()?;
            config.timeout = timeout.map_or(Ok(config.timeout), |t| secs("timeout", t))?;
            config.connect_timeout = connect_timeout
                .map_or(Ok(config.connect_timeout), |t| secs("connect_timeout", t))?;
            config.retries = retries.unwrap_or(config.retries);
            Ok(CoreStore::new(HttpStore::new(config)?))
        })
        .map(wrap)
    }

    /// Stores searched in order: reads ask each in turn, writes go to the first writable
    /// one.
    #[staticmethod]
    fn chain(stores: Vec<PyRef<'_, SymbolStore>>) -> SymbolStore {
        let members = stores.iter().map(|s| s.inner.storage().clone()).collect();
        wrap(CoreStore::new(ChainStore::new(members)))
    }

    /// The decompressed bytes of `debug_file/debug_id/file`, or `None`. With `try_`, the
    /// Try area is searched after the regular one.
    #[pyo3(signature = (debug_file, debug_id, file, *, try_=false))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        debug_file: &str,
        debug_id: &str,
        file: &str,
        try_: bool,
    ) -> PyResult<Option<Vec<u8>>> {
        run(py, || {
            self.inner
                .get(&ObjectKey::new(debug_file, debug_id, file)?, try_)
        })
    }

    /// Whether `debug_file/debug_id/file` is stored (see `get`).
    #[pyo3(signature = (debug_file, debug_id, file, *, try_=false))]
    fn exists(
        &self,
        py: Python<'_>,
        debug_file: &str,
        debug_id: &str,
        file: &str,
        try_: bool,
    ) -> PyResult<bool> {
        run(py, || {
            self.inner
                .exists(&ObjectKey::new(debug_file, debug_id, file)?, try_)
        })
    }

    /// Answers Tecken's `GET`/`HEAD /{debug_file}/{debug_id}/{file}` with Tecken's rules
    /// (the core's `SymbolStore::download`): the ignore short-cut (`file.ptr`, the all-zero
    /// id, extensions outside the allow-list), invalid characters (`InvalidInputError`), the
    /// regular area then Try, then the code-id index; a miss of a `GET` is recorded for
    /// `missing_symbols_csv`. `body`: `"decoded"`, `"stored"` (as stored, with its
    /// `content_encoding`) or `"none"` (a `HEAD`: nothing read, nothing recorded).
    #[pyo3(signature = (debug_file, debug_id, file, *, try_=false, code_file=None, code_id=None,
        body="decoded"))]
    #[allow(
        clippy::too_many_arguments,
        reason = "Python keyword arguments, one per setting"
    )]
    fn download<'py>(
        &self,
        py: Python<'py>,
        debug_file: &str,
        debug_id: &str,
        file: &str,
        try_: bool,
        code_file: Option<String>,
        code_id: Option<String>,
        body: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mode: BodyMode = body.parse().map_err(|e| crate::errors::to_py(py, &e))?;
        let req = DownloadRequest {
            try_symbols: try_,
            code_file,
            code_id,
            body: mode,
            ..DownloadRequest::new(debug_file, debug_id, file)
        };
        let answer = run(py, || self.inner.download(&req))?;
        let d = to_python(py, &answer.summary())?.cast_into::<PyDict>()?;
        let body = match &answer {
            Download::Found(f) => f.body.as_deref().map(|b| PyBytes::new(py, b)),
            _ => None,
        };
        d.set_item("body", body)?;
        Ok(d)
    }

    /// Tecken's syminfo for a code file and id or a debug file and id, or `None`.
    fn syminfo<'py>(
        &self,
        py: Python<'py>,
        file: &str,
        id: &str,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(info) = run(py, || self.inner.syminfo(file, id))? else {
            return Ok(None);
        };
        Ok(Some(to_python(py, &info)?.cast_into::<PyDict>()?))
    }

    /// Uploads a Tecken symbols archive (a zip of `<module>/<id>/<file>` members) from a
    /// path or from bytes. Returns the upload report.
    #[pyo3(signature = (archive, *, try_=false, archive_name=None))]
    fn upload_archive<'py>(
        &self,
        py: Python<'py>,
        archive: &Bound<'py, PyAny>,
        try_: bool,
        archive_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = UploadOptions {
            try_symbols: try_,
            archive_name,
            ..UploadOptions::default()
        };
        let result = if archive.is_instance_of::<PyString>() || archive.hasattr("__fspath__")? {
            let path: PathBuf = archive.extract()?;
            run(py, || {
                upload_archive(&self.inner, ArchiveSource::Path(&path), &options)
            })?
        } else {
            let bytes = ByteArg::extract(archive, "archive", false).map_err(|_| {
                PyTypeError::new_err(
                    "archive must be a path (str, os.PathLike) or bytes, bytearray, memoryview",
                )
            })?;
            let bytes = bytes.as_slice();
            run(py, || {
                upload_archive(&self.inner, ArchiveSource::Bytes(bytes), &options)
            })?
        };
        to_python(py, &result)
    }

    /// Tecken's upload by download URL: checks `url` (and every redirect) against
    /// `allowed_hosts` (`https://` only unless `allow_http`), downloads at most `max_size`
    /// bytes and uploads the archive, named after the URL's last path segment. Returns the
    /// upload report plus `download_url`, `redirect_urls` and `archive_name`. A refused URL
    /// is `InvalidInputError` (status 400), a failing remote end `StorageError` with
    /// status 500, each with Tecken's message.
    #[pyo3(signature = (url, *, allowed_hosts, allow_http=false, max_size=None, try_=false))]
    fn upload_archive_from_url<'py>(
        &self,
        py: Python<'py>,
        url: String,
        allowed_hosts: Vec<String>,
        allow_http: bool,
        max_size: Option<u64>,
        try_: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fetch = UrlUploadOptions {
            allowed_hosts,
            allow_http,
            max_size: max_size.unwrap_or(UrlUploadOptions::default().max_size),
            ..UrlUploadOptions::default()
        };
        let report = run(py, || {
            let fetched = tecken_core::fetch_archive_url(&url, &fetch)?;
            let options = UploadOptions {
                try_symbols: try_,
                archive_name: Some(fetched.name.clone()),
                ..UploadOptions::default()
            };
            let result =
                upload_archive(&self.inner, ArchiveSource::Path(fetched.path()), &options)?;
            let mut report = serde_json::to_value(&result).map_err(|e| {
                tecken_core::Error::new(tecken_core::ErrorKind::Internal, e.to_string())
            })?;
            report["download_url"] = fetched.url.clone().into();
            report["redirect_urls"] = fetched.redirect_urls.clone().into();
            report["archive_name"] = fetched.name.clone().into();
            Ok(report)
        })?;
        to_python(py, &report)
    }

    /// The modules asked for and not found (by symbolication through this store), as
    /// Tecken's `missingsymbols.csv`: `debug_file,debug_id,code_file,code_id`, CRLF line
    /// ends. `since`: a Unix time or a `datetime` (only modules asked for since then);
    /// `pdb_only`: only `.pdb` modules, as Tecken exports; `with_counts`: add `count` and
    /// `last_seen` columns.
    #[pyo3(signature = (*, since=None, pdb_only=true, with_counts=false))]
    fn missing_symbols_csv(
        &self,
        py: Python<'_>,
        since: Option<&Bound<'_, PyAny>>,
        pdb_only: bool,
        with_counts: bool,
    ) -> PyResult<String> {
        let since = match since {
            None => None,
            Some(t) if t.hasattr("timestamp")? => {
                Some(t.call_method0("timestamp")?.extract::<f64>()?)
            }
            Some(t) => Some(t.extract::<f64>()?),
        };
        let Some(missing) = self.inner.missing_symbols() else {
            return Ok(String::new());
        };
        run(py, move || {
            let since = since
                .map(|t| secs("since", t).map(|d| UNIX_EPOCH + d))
                .transpose()?;
            missing.to_csv(&CsvOptions {
                since,
                pdb_only,
                with_counts,
            })
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<tecken_core.SymbolStore {}>",
            tecken_core::Storage::describe(self.inner.storage().as_ref())
        )
    }

    /// An S3 bucket (or S3-compatible server with `endpoint_url`). Settings left `None`
    /// come from the AWS environment and the core's defaults. `create_bucket` creates the
    /// bucket when missing (for tests and local servers).
    #[cfg(feature = "s3")]
    #[staticmethod]
    #[pyo3(signature = (bucket, *, prefix="", region=None, endpoint_url=None, access_key_id=None,
        secret_access_key=None, session_token=None, force_path_style=None, timeout=None,
        connect_timeout=None, max_attempts=None, create_bucket=false))]
    #[allow(
        clippy::too_many_arguments,
        reason = "Python keyword arguments, one per setting"
    )]
    fn s3(
        py: Python<'_>,
        bucket: &str,
        prefix: &str,
        region: Option<String>,
        endpoint_url: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        force_path_style: Option<bool>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_attempts: Option<u32>,
        create_bucket: bool,
    ) -> PyResult<SymbolStore> {
        use tecken_core::{S3Config, S3Store};
        let mut c = S3Config::new(bucket);
        c.prefix = prefix.trim_matches('/').to_owned();
        (c.region, c.endpoint_url, c.force_path_style) = (region, endpoint_url, force_path_style);
        (c.access_key_id, c.secret_access_key, c.session_token) =
            (access_key_id, secret_access_key, session_token);
        c.max_attempts = max_attempts.unwrap_or(c.max_attempts);
        run(py, move || {
            c.timeout = timeout.map_or(Ok(c.timeout), |t| secs("timeout", t))?;
            c.connect_timeout =
                connect_timeout.map_or(Ok(c.connect_timeout), |t| secs("connect_timeout", t))?;
            let store = S3Store::new(c)?;
            if create_bucket {
                store.create_bucket_if_missing()?;
            }
            Ok(CoreStore::new(store))
        })
        .map(wrap)
    }
}
