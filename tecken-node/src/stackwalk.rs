//! `stackwalk`: a minidump processed as `minidump-stackwalk` does, its JSON.

use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, JsUnknown};
use napi_derive::napi;
use tecken_core::{MinidumpSource, StackwalkOptions as CoreOptions, SymbolicatorConfig};

use crate::convert::{opt, path_or_bytes, PathOrBytes};
use crate::symbolicator::sources;
use crate::work::{block, same, spawn, Job, Work};

/// Options of `stackwalk`.
#[napi(object)]
pub struct StackwalkOptions {
    /// Where the symbols are: a `SymbolStore`, a source spec string (a directory,
    /// `s3://bucket/prefix`, an `http(s)://` Tecken URL), or an array of them, searched in
    /// order. Required.
    #[napi(ts_type = "SymbolStore | string | Array<SymbolStore | string>")]
    pub symbols: JsUnknown,
    /// Directory for built indexes, shared between calls and processes (default: build in
    /// memory).
    pub cache: Option<String>,
    /// Indent the JSON.
    pub pretty: Option<bool>,
    /// Threads loading the dump's modules before the walk (default 4).
    pub load_threads: Option<u32>,
}

impl std::fmt::Debug for StackwalkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackwalkOptions")
            .field("cache", &self.cache)
            .field("pretty", &self.pretty)
            .field("load_threads", &self.load_threads)
            .finish_non_exhaustive()
    }
}

fn stackwalk_job(
    env: Env,
    minidump: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> tecken_core::Result<Job<String>> {
    let dump = path_or_bytes(env, minidump, "minidump")?;
    let options: Option<StackwalkOptions> = opt(env, options, "options")?;
    let Some(options) = options else {
        return Err(tecken_core::Error::new(
            tecken_core::ErrorKind::InvalidInput,
            "options.symbols is required",
        ));
    };
    let sources = sources(env, Some(options.symbols))?;
    let config = SymbolicatorConfig {
        cache_dir: options.cache.map(Into::into),
        ..SymbolicatorConfig::default()
    };
    let core = CoreOptions {
        load_threads: options.load_threads.map_or(4, |n| n as usize),
    };
    let pretty = options.pretty.unwrap_or(false);
    Ok(Box::new(move || {
        let source = match &dump {
            PathOrBytes::Bytes(b) => MinidumpSource::Bytes(b),
            PathOrBytes::Path(p) => MinidumpSource::Path(p),
        };
        let symbolicator = Arc::new(tecken_core::Symbolicator::new(sources, config));
        tecken_core::stackwalk(source, symbolicator, &core)?.to_json(pretty)
    }))
}

/// Processes a minidump (a `Buffer`, or the path of its file) as `minidump-stackwalk`
/// does: every thread unwound with the STACK CFI / STACK WIN records of `options.symbols`
/// and symbolicated. Resolves to `minidump-stackwalk --json`'s JSON (a string). Rejects
/// with `TECKEN_INVALID_INPUT` for bytes that are not a minidump, `TECKEN_NOT_FOUND` for a
/// missing file or symbols directory.
#[napi(
    ts_args_type = "minidump: Buffer | Uint8Array | string, options: StackwalkOptions",
    ts_return_type = "Promise<string>"
)]
pub fn stackwalk(
    env: Env,
    minidump: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> AsyncTask<Work<String, String>> {
    spawn(stackwalk_job(env, minidump, options), same)
}

/// Blocking `stackwalk`.
#[napi(ts_args_type = "minidump: Buffer | Uint8Array | string, options: StackwalkOptions")]
pub fn stackwalk_sync(
    env: Env,
    minidump: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> napi::Result<String> {
    block(env, stackwalk_job(env, minidump, options), same)
}
