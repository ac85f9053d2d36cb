//! Tecken's upload by download URL: the `url` form field instead of a file.
//!
//! [`fetch_archive_url`] applies Tecken's checks in Tecken's order, with its messages and
//! statuses, then downloads the archive into a temporary file that
//! [`upload_archive`](super::upload_archive) reads in place:
//!
//! 1. the URL: `https://` only (`Insecure URL`, 400) unless
//!    [`UrlUploadOptions::allow_http`]; its host on the allow-list (`Not an allowed domain
//!    ('host') to download from.`, 400) unless [`UrlUploadOptions::allow_any_host`];
//! 2. `HEAD` requests along the redirects, at most five (`Too many redirects trying to open
//!    URL`, 400): a connection failure is `ConnectionError trying to open URL` and a 5xx is
//!    `URL errored (STATUS)`, both 500 so that upload clients retry, as Tecken does; a 4xx
//!    is `URL can't be found (STATUS)`, 400. Where Tecken documents but does not check it,
//!    every redirect's host must be allowed too, so a redirect cannot reach a host the
//!    allow-list keeps out;
//! 3. the size the final `HEAD` declares, then the bytes actually received, against
//!    [`UrlUploadOptions::max_size`] (413);
//! 4. a `GET` of the final URL (redirects are not followed again, so every host the bytes
//!    come from was checked): anything but 200 is `non-200 status code when retrieving
//!    URL`, 400.
//!
//! The archive's name is the last segment of the URL's path, as in Tecken.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::spool::Spool;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::py_repr;

/// What [`fetch_archive_url`] may download, from where.
#[derive(Debug, Clone)]
pub struct UrlUploadOptions {
    /// Hosts archives may come from, compared without the port (Tecken's
    /// `ALLOW_UPLOAD_BY_DOWNLOAD_DOMAINS`). Empty: every URL is refused.
    pub allowed_hosts: Vec<String>,
    /// Any host, and `http://` too (Tecken's `ALLOW_UPLOAD_BY_ANY_DOMAIN`, for development).
    pub allow_any_host: bool,
    /// `http://` URLs from allowed hosts (a private network, tests). Default `false`.
    pub allow_http: bool,
    /// The largest archive downloaded. Default 2 GiB.
    pub max_size: u64,
    /// Most redirects followed. Default 5, Tecken's.
    pub max_redirects: usize,
    /// Connect timeout of each request. Default 5 s, Tecken's.
    pub connect_timeout: Duration,
    /// Longest time for the whole download. Default 300 s, Tecken's read timeout.
    pub timeout: Duration,
}

impl Default for UrlUploadOptions {
    fn default() -> Self {
        UrlUploadOptions {
            allowed_hosts: Vec::new(),
            allow_any_host: false,
            allow_http: false,
            max_size: 2 << 30,
            max_redirects: 5,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(300),
        }
    }
}

/// An archive downloaded by [`fetch_archive_url`], held in a temporary file removed on drop.
pub struct FetchedArchive {
    /// The URL asked for (Tecken's `download_url`).
    pub url: String,
    /// The redirects followed, in order (Tecken's `redirect_urls`).
    pub redirect_urls: Vec<String>,
    /// The archive's name: the last segment of the URL's path.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    spool: Spool,
}

impl FetchedArchive {
    /// The temporary file holding the archive (pass it as
    /// [`ArchiveSource::Path`](super::ArchiveSource::Path)).
    pub fn path(&self) -> &Path {
        self.spool.path()
    }
}

impl std::fmt::Debug for FetchedArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedArchive")
            .field("url", &self.url)
            .field("redirect_urls", &self.redirect_urls)
            .field("name", &self.name)
            .field("size", &self.size)
            .finish()
    }
}

/// A refusal of the URL: Tecken's 400 with `msg`.
fn refused(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// A failure of the remote end: Tecken answers 500 so that upload clients retry.
fn remote(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Storage, msg).with_status(500)
}

/// Scheme, host (without port) and path of an absolute `http(s)` URL.
fn parts(url: &str) -> Result<(String, String, String)> {
    let uri: ureq::http::Uri = url.parse().map_err(|_| refused("Enter a valid URL."))?;
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(refused("Enter a valid URL."));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" || host.is_empty() {
        return Err(refused("Enter a valid URL."));
    }
    Ok((scheme, host.to_ascii_lowercase(), uri.path().to_owned()))
}

/// Tecken's URL checks: the scheme, then the host.
fn check_url(url: &str, opts: &UrlUploadOptions) -> Result<String> {
    let (scheme, host, path) = parts(url)?;
    if opts.allow_any_host {
        return Ok(path);
    }
    if scheme != "https" && !opts.allow_http {
        return Err(refused("Insecure URL"));
    }
    if !opts
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Err(refused(format!(
            "Not an allowed domain ({}) to download from.",
            py_repr(&host)
        )));
    }
    Ok(path)
}

/// A redirect's target, resolved against the URL that answered it.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    if location.starts_with("//") {
        format!("{}{location}", &base[..scheme_end - 2])
    } else if location.starts_with('/') {
        format!("{}{location}", &base[..authority_end])
    } else {
        let dir_end = base.rfind('/').filter(|&i| i >= authority_end);
        match dir_end {
            Some(i) => format!("{}{location}", &base[..=i]),
            None => format!("{}/{location}", &base[..authority_end]),
        }
    }
}

/// Checks `url` and its redirects and downloads the archive it points to (see the module
/// docs for the checks, messages and statuses). Errors: [`ErrorKind::InvalidInput`] (400)
/// for a refused URL, [`ErrorKind::LimitExceeded`] (413) for a large archive, and
/// [`ErrorKind::Storage`] with status 500 ([`Error::http_status`]) when the remote end
/// fails. Messages name the URL, never a local path.
pub fn fetch_archive_url(url: &str, opts: &UrlUploadOptions) -> Result<FetchedArchive> {
    let path = check_url(url, opts)?;
    let name = path.rsplit('/').next().unwrap_or("").to_owned();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_global(Some(opts.timeout))
        .build()
        .new_agent();

    // The HEAD chain: Tecken's "recursive HEADs", each hop checked.
    let mut redirect_urls = Vec::new();
    let mut current = url.to_owned();
    let declared = loop {
        let response = agent
            .head(&current)
            .call()
            .map_err(|_| remote(format!("ConnectionError trying to open {current}")))?;
        let status = response.status().as_u16();
        if status >= 500 {
            return Err(remote(format!("{current} errored ({status})")));
        }
        if status >= 400 {
            return Err(refused(format!("{current} can't be found ({status})")));
        }
        if status >= 300 {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| remote(format!("{current} errored ({status})")))?;
            let next = resolve(&current, location);
            redirect_urls.push(next.clone());
            if redirect_urls.len() > opts.max_redirects {
                return Err(refused(format!("Too many redirects trying to open {url}")));
            }
            check_url(&next, opts)?;
            current = next;
            continue;
        }
        break response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
    };
    let too_large = |n: u64| {
        Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "Upload too large: {n} bytes at {url} (the limit is {} bytes)",
                opts.max_size
            ),
        )
    };
    if let Some(n) = declared.filter(|&n| n > opts.max_size) {
        return Err(too_large(n));
    }

    let response = agent
        .get(&current)
        .call()
        .map_err(|_| remote(format!("ConnectionError trying to open {current}")))?;
    if response.status().as_u16() != 200 {
        return Err(refused(format!(
            "non-200 status code when retrieving {url}"
        )));
    }
    let spool = Spool::new()?;
    let mut body = response.into_body();
    let mut reader = body.as_reader();
    let size = match spool.fill(&mut reader as &mut dyn Read, opts.max_size) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::LimitExceeded => {
            return Err(too_large(opts.max_size.saturating_add(1)))
        }
        Err(e) if e.kind() == ErrorKind::Io && e.message().contains("spool") => {
            // A read of the body that failed midway is the remote end's.
            return Err(remote(format!("ConnectionError trying to open {current}")));
        }
        Err(e) => return Err(e),
    };
    Ok(FetchedArchive {
        url: url.to_owned(),
        redirect_urls,
        name,
        size,
        spool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_like_a_browser() {
        let base = "https://a.example.com/x/y.zip";
        assert_eq!(
            resolve(base, "https://b.example.com/z"),
            "https://b.example.com/z"
        );
        assert_eq!(resolve(base, "/z.zip"), "https://a.example.com/z.zip");
        assert_eq!(resolve(base, "z.zip"), "https://a.example.com/x/z.zip");
        assert_eq!(
            resolve(base, "//c.example.com/q"),
            "https://c.example.com/q"
        );
        assert_eq!(
            resolve("https://a.example.com", "z"),
            "https://a.example.com/z"
        );
    }

    #[test]
    fn urls_are_checked_as_tecken_does() {
        let opts = UrlUploadOptions {
            allowed_hosts: vec!["allowed.example.com".into()],
            ..UrlUploadOptions::default()
        };
        let msg = |u: &str| check_url(u, &opts).unwrap_err().to_string();
        assert!(msg("http://allowed.example.com/s.zip").contains("Insecure URL"));
        assert!(msg("https://notallowed.example.com/s.zip")
            .contains("Not an allowed domain ('notallowed.example.com') to download from."));
        assert!(msg("not a url").contains("Enter a valid URL."));
        assert!(msg("ftp://allowed.example.com/s.zip").contains("Enter a valid URL."));
        assert_eq!(
            check_url("https://allowed.example.com:8443/a/s.zip", &opts).unwrap(),
            "/a/s.zip"
        );
    }
}
