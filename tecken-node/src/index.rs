//! `.sym` headers, index builds, and lookups on an open index.

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, JsUnknown};
use napi_derive::napi;
use tecken_core::index::{build_to_file, BuildOptions, BuildReport as CoreReport};
use tecken_core::sym::{parse_header, SymHeader as CoreHeader};
use tecken_core::{Index as CoreIndex, LookupOptions, SymbolKind};

use crate::convert::{self, num, opt, req};
use crate::error::invalid;
use crate::work::{block, same, spawn, Job, Work};

/// `INFO CODE_ID`: the code id and, when given, the code file.
#[napi(object)]
#[derive(Debug)]
pub struct CodeId {
    /// The code id as written.
    pub id: String,
    /// The code file (Windows modules: `xul.dll`).
    pub file: Option<String>,
}

/// The MODULE line and INFO records of a `.sym` file: the core's `SymHeader`, field for
/// field (the Python binding returns the same names in snake_case).
#[napi(object)]
#[derive(Debug)]
pub struct SymHeader {
    /// `Linux`, `windows`, `mac`, ... as written.
    pub os: String,
    /// `x86_64`, `arm64`, ... as written.
    pub arch: String,
    /// Upper-case debug id.
    pub debug_id: String,
    /// `xul.pdb`, `libxul.so`.
    pub debug_file: String,
    /// `INFO CODE_ID`, if present.
    pub code_id: Option<CodeId>,
    /// `INFO GENERATOR`.
    pub generator: Option<String>,
    /// Every other INFO record as `[key, value]`, in file order.
    #[napi(ts_type = "Array<[string, string]>")]
    pub info: Vec<Vec<String>>,
    /// The first INFO record has the 4-field form `INFO CODE_ID <id> <name>`: Eliot then
    /// names the module by its code file in v5 frames.
    pub first_info_is_pe_code_id: bool,
}

impl From<CoreHeader> for SymHeader {
    fn from(h: CoreHeader) -> Self {
        SymHeader {
            os: h.os,
            arch: h.arch,
            debug_id: h.debug_id,
            debug_file: h.debug_file,
            code_id: h.code_id.map(|c| CodeId {
                id: c.id,
                file: c.file,
            }),
            generator: h.generator,
            info: h.info.into_iter().map(|(k, v)| vec![k, v]).collect(),
            first_info_is_pe_code_id: h.first_info_is_pe_code_id,
        }
    }
}

/// What `buildIndex` did.
#[napi(object)]
#[derive(Debug)]
pub struct BuildReport {
    pub header: SymHeader,
    /// Size of the `.sym` input in bytes.
    pub input_bytes: f64,
    /// Size of the index in bytes.
    pub index_bytes: f64,
    /// Symbol intervals in the index (FUNCs plus PUBLIC runs).
    pub intervals: f64,
    /// FUNC records.
    pub funcs: f64,
    /// PUBLIC records.
    pub publics: f64,
    /// Line records.
    pub line_records: f64,
    /// INLINE records.
    pub inlines: f64,
    /// Malformed lines skipped (lenient mode).
    pub skipped_lines: f64,
}

impl From<CoreReport> for BuildReport {
    fn from(r: CoreReport) -> Self {
        BuildReport {
            input_bytes: num(r.input_bytes),
            index_bytes: num(r.index_bytes),
            intervals: num(r.intervals),
            funcs: num(r.parse.funcs),
            publics: num(r.parse.publics),
            line_records: num(r.parse.line_records),
            inlines: num(r.parse.inlines),
            skipped_lines: num(r.parse.skipped),
            header: r.header.into(),
        }
    }
}

/// Options of `buildIndex`.
#[napi(object)]
#[derive(Debug)]
pub struct BuildIndexOptions {
    /// Fail on the first malformed line instead of skipping it. Default `false`.
    pub strict: Option<bool>,
    /// Parser threads (0 = all cores). Default 0.
    pub threads: Option<u32>,
}

/// Options of `Index.lookup`.
#[napi(object, js_name = "LookupOptions")]
#[derive(Debug)]
pub struct LookupOptionsJs {
    /// Between two line records answer no line (Breakpad) instead of the previous one
    /// (Eliot, the default).
    pub strict_lines: Option<bool>,
}

/// A source position.
#[napi(object)]
#[derive(Debug)]
pub struct InlineFrame {
    /// The inlined function.
    pub function: String,
    /// Source file, cleaned as Eliot shows it.
    pub file: Option<String>,
    /// The path exactly as in the FILE record.
    pub raw_file: Option<String>,
    pub line: Option<u32>,
}

/// What `Index.lookup` answers for an address.
#[napi(object)]
#[derive(Debug)]
pub struct Frame {
    /// The FUNC or PUBLIC name.
    pub function: String,
    /// Address of the FUNC or PUBLIC record.
    pub function_address: f64,
    /// The looked-up address minus `functionAddress`.
    pub function_offset: f64,
    #[napi(ts_type = "'func' | 'public'")]
    pub kind: String,
    /// The linker folded several symbols into this address (`FUNC m`).
    pub multiple: bool,
    /// Source file, cleaned as Eliot shows it.
    pub file: Option<String>,
    /// The path exactly as in the FILE record.
    pub raw_file: Option<String>,
    pub line: Option<u32>,
    /// Inlined calls covering the address, innermost first.
    pub inlines: Vec<InlineFrame>,
}

fn frame(f: tecken_core::Frame<'_>) -> Frame {
    Frame {
        function: f.function.to_owned(),
        function_address: num(f.function_address),
        function_offset: num(f.function_offset),
        kind: match f.kind {
            SymbolKind::Func => "func",
            SymbolKind::Public => "public",
        }
        .to_owned(),
        multiple: f.multiple,
        file: f.file.map(|s| s.path.to_owned()),
        raw_file: f.file.map(|s| s.raw.to_owned()),
        line: f.line,
        inlines: f
            .inlines
            .into_iter()
            .map(|i| InlineFrame {
                function: i.function.to_owned(),
                file: i.file.map(|s| s.path.to_owned()),
                raw_file: i.file.map(|s| s.raw.to_owned()),
                line: i.line,
            })
            .collect(),
    }
}

fn header_job(env: Env, sym: Option<JsUnknown>) -> tecken_core::Result<Job<SymHeader>> {
    let bytes = convert::bytes(env, sym, "sym", false)?;
    Ok(Box::new(move || parse_header(&bytes).map(SymHeader::from)))
}

/// Parses the MODULE line and INFO records at the start of a `.sym` file (its first bytes
/// are enough). Rejects with `TECKEN_MALFORMED_SYM` when there is no MODULE line.
#[napi(
    ts_args_type = "sym: Buffer | Uint8Array | string",
    ts_return_type = "Promise<SymHeader>"
)]
pub fn parse_sym_header(env: Env, sym: Option<JsUnknown>) -> AsyncTask<Work<SymHeader, SymHeader>> {
    spawn(header_job(env, sym), same)
}

/// Blocking `parseSymHeader`.
#[napi(ts_args_type = "sym: Buffer | Uint8Array | string")]
pub fn parse_sym_header_sync(env: Env, sym: Option<JsUnknown>) -> napi::Result<SymHeader> {
    block(env, header_job(env, sym), same)
}

fn build_job(
    env: Env,
    sym: Option<JsUnknown>,
    output: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> tecken_core::Result<Job<BuildReport>> {
    let sym = convert::path_or_bytes(env, sym, "sym")?;
    let output: String = req(env, output, "output")?;
    let o: Option<BuildIndexOptions> = opt(env, options, "options")?;
    let mut opts = BuildOptions::default();
    if let Some(o) = o {
        opts.parse.strict = o.strict.unwrap_or(false);
        opts.parse.threads = o.threads.unwrap_or(0) as usize;
    }
    Ok(Box::new(move || {
        let bytes = sym.read()?;
        build_to_file(&bytes, std::path::Path::new(&output), &opts).map(BuildReport::from)
    }))
}

/// Builds an index from a `.sym` file (a path, or its contents as a Buffer) and writes it
/// atomically to `output`.
#[napi(
    ts_args_type = "sym: string | Buffer | Uint8Array, output: string, options?: BuildIndexOptions",
    ts_return_type = "Promise<BuildReport>"
)]
pub fn build_index(
    env: Env,
    sym: Option<JsUnknown>,
    output: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> AsyncTask<Work<BuildReport, BuildReport>> {
    spawn(build_job(env, sym, output, options), same)
}

/// Blocking `buildIndex`.
#[napi(
    ts_args_type = "sym: string | Buffer | Uint8Array, output: string, options?: BuildIndexOptions"
)]
pub fn build_index_sync(
    env: Env,
    sym: Option<JsUnknown>,
    output: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> napi::Result<BuildReport> {
    block(env, build_job(env, sym, output, options), same)
}

/// An open index file (memory-mapped). Lookups are synchronous: they touch a few pages of
/// the mapped file and take microseconds.
#[napi]
#[derive(Debug)]
pub struct Index {
    inner: Option<CoreIndex>,
}

fn open_job(env: Env, path: Option<JsUnknown>) -> tecken_core::Result<Job<CoreIndex>> {
    let path: String = req(env, path, "path")?;
    Ok(Box::new(move || CoreIndex::open(&path)))
}

fn wrap(_env: Env, inner: CoreIndex) -> napi::Result<Index> {
    Ok(Index { inner: Some(inner) })
}

#[napi]
impl Index {
    /// Opens an index file written by `buildIndex`. Rejects with `TECKEN_CORRUPT_INDEX`,
    /// `TECKEN_INDEX_TOO_OLD` / `TECKEN_INDEX_TOO_NEW` (rebuild it) or `TECKEN_NOT_FOUND`.
    #[napi(ts_args_type = "path: string", ts_return_type = "Promise<Index>")]
    pub fn open(env: Env, path: Option<JsUnknown>) -> AsyncTask<Work<CoreIndex, Index>> {
        spawn(open_job(env, path), wrap)
    }

    /// Blocking `Index.open`.
    #[napi(ts_args_type = "path: string")]
    pub fn open_sync(env: Env, path: Option<JsUnknown>) -> napi::Result<Index> {
        block(env, open_job(env, path), wrap)
    }

    fn get(&self, env: Env) -> napi::Result<&CoreIndex> {
        self.inner
            .as_ref()
            .ok_or_else(|| crate::error::to_napi(env, &invalid("the index is closed")))
    }

    /// The function, file, line and inline frames at a module-relative address, or `null`.
    #[napi(ts_args_type = "address: number | bigint, options?: LookupOptions")]
    pub fn lookup(
        &self,
        env: Env,
        address: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Option<Frame>> {
        let index = self.get(env)?;
        let args = convert::address(env, address, "address")
            .and_then(|a| Ok((a, opt::<LookupOptionsJs>(env, options, "options")?)));
        let (addr, o) = args.map_err(|e| crate::error::to_napi(env, &e))?;
        let opts = LookupOptions {
            strict_lines: o.and_then(|o| o.strict_lines).unwrap_or(false),
        };
        Ok(index.lookup_with(addr, &opts).map(frame))
    }

    /// The `.sym` file's MODULE and INFO records.
    #[napi(getter)]
    pub fn header(&self, env: Env) -> napi::Result<SymHeader> {
        Ok(self.get(env)?.header().clone().into())
    }

    /// Size of the index in bytes.
    #[napi(getter)]
    pub fn size_bytes(&self, env: Env) -> napi::Result<f64> {
        Ok(self.get(env)?.size_bytes() as f64)
    }

    /// Closes the index now (unmaps the file) instead of when it is garbage-collected.
    /// Later calls throw `TECKEN_INVALID_INPUT`.
    #[napi]
    pub fn close(&mut self) {
        self.inner = None;
    }
}
