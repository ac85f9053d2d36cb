//! `.sym` headers, index builds, and lookups on an open index.

use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, JsUnknown};
use napi_derive::napi;
use tecken_core::OwnedFrame;
use tecken_core::{
    build_index_to_file, BuildOptions, BuildReport as CoreReport, IndexMeta as CoreMeta,
};
use tecken_core::{Index as CoreIndex, LookupOptions};
use tecken_core::{ParseReport as CoreParseReport, SymHeader as CoreHeader};

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

/// A malformed line of a `.sym` file.
#[napi(object)]
#[derive(Debug)]
pub struct LineError {
    /// 1-based line number in the `.sym` file.
    pub line: f64,
    /// What was wrong with it.
    pub reason: String,
}

/// Record counts and the malformed lines seen while parsing a `.sym` file: the core's
/// `ParseReport`.
#[napi(object)]
#[derive(Debug)]
pub struct ParseReport {
    /// Lines read (including blank ones).
    pub lines: f64,
    /// `FILE` records.
    pub files: f64,
    /// `INLINE_ORIGIN` records.
    pub inline_origins: f64,
    /// `FUNC` records (including `FUNC m`, size-0 and overlapping ones).
    pub funcs: f64,
    /// Line records.
    pub line_records: f64,
    /// `INLINE` records.
    pub inlines: f64,
    /// `PUBLIC` records.
    pub publics: f64,
    /// `STACK CFI INIT` records.
    pub stack_cfi_init: f64,
    /// `STACK CFI` records.
    pub stack_cfi: f64,
    /// `STACK WIN` records.
    pub stack_win: f64,
    /// `INFO` records.
    pub infos: f64,
    /// Malformed lines skipped (lenient mode).
    pub skipped: f64,
    /// The first few malformed lines.
    pub errors: Vec<LineError>,
    /// FUNCs dropped because they overlap an earlier FUNC (Breakpad: the first one wins).
    pub overlapping_funcs: f64,
    /// FUNCs of size 0, ignored for lookups.
    pub empty_funcs: f64,
}

impl From<CoreParseReport> for ParseReport {
    fn from(r: CoreParseReport) -> Self {
        ParseReport {
            lines: num(r.lines),
            files: num(r.files),
            inline_origins: num(r.inline_origins),
            funcs: num(r.funcs),
            line_records: num(r.line_records),
            inlines: num(r.inlines),
            publics: num(r.publics),
            stack_cfi_init: num(r.stack_cfi_init),
            stack_cfi: num(r.stack_cfi),
            stack_win: num(r.stack_win),
            infos: num(r.infos),
            skipped: num(r.skipped),
            errors: r
                .errors
                .into_iter()
                .map(|e| LineError {
                    line: num(e.line),
                    reason: e.reason,
                })
                .collect(),
            overlapping_funcs: num(r.overlapping_funcs),
            empty_funcs: num(r.empty_funcs),
        }
    }
}

/// What `buildIndex` did: the core's `BuildReport`.
#[napi(object)]
#[derive(Debug)]
pub struct BuildReport {
    /// The MODULE/INFO header.
    pub header: SymHeader,
    /// Record counts and skipped lines.
    pub parse: ParseReport,
    /// Size of the `.sym` input in bytes.
    pub input_bytes: f64,
    /// Size of the index in bytes.
    pub index_bytes: f64,
    /// Symbol intervals in the index (FUNCs plus PUBLIC runs).
    pub intervals: f64,
}

impl From<CoreReport> for BuildReport {
    fn from(r: CoreReport) -> Self {
        BuildReport {
            header: r.header.into(),
            parse: r.parse.into(),
            input_bytes: num(r.input_bytes),
            index_bytes: num(r.index_bytes),
            intervals: num(r.intervals),
        }
    }
}

/// What an index records about its build (`Index.meta`): the core's `IndexMeta`.
#[napi(object)]
#[derive(Debug)]
pub struct IndexMeta {
    /// The `.sym` file's MODULE and INFO records.
    pub header: SymHeader,
    /// Record counts and skipped lines from the build.
    pub report: ParseReport,
    /// Size of the `.sym` input in bytes.
    pub input_bytes: f64,
}

impl From<CoreMeta> for IndexMeta {
    fn from(m: CoreMeta) -> Self {
        IndexMeta {
            header: m.header.into(),
            report: m.report.into(),
            input_bytes: num(m.input_bytes),
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

fn frame(f: OwnedFrame) -> Frame {
    Frame {
        function: f.function,
        function_address: num(f.function_address),
        function_offset: num(f.function_offset),
        kind: f.kind.as_str().to_owned(),
        multiple: f.multiple,
        file: f.file,
        raw_file: f.raw_file,
        line: f.line,
        inlines: f
            .inlines
            .into_iter()
            .map(|i| InlineFrame {
                function: i.function,
                file: i.file,
                raw_file: i.raw_file,
                line: i.line,
            })
            .collect(),
    }
}

fn header_job(env: Env, sym: Option<JsUnknown>) -> tecken_core::Result<Job<SymHeader>> {
    let bytes = convert::bytes(env, sym, "sym", false)?;
    Ok(Box::new(move || {
        tecken_core::parse_sym_header(&bytes).map(SymHeader::from)
    }))
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
        build_index_to_file(&bytes, std::path::Path::new(&output), &opts).map(BuildReport::from)
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
/// the mapped file and take microseconds; `lookupMany` runs a batch off the JS thread.
#[napi]
#[derive(Debug)]
pub struct Index {
    inner: Option<Arc<CoreIndex>>,
}

fn open_job(env: Env, path: Option<JsUnknown>) -> tecken_core::Result<Job<CoreIndex>> {
    let path: String = req(env, path, "path")?;
    Ok(Box::new(move || CoreIndex::open(&path)))
}

fn wrap(_env: Env, inner: CoreIndex) -> napi::Result<Index> {
    Ok(Index {
        inner: Some(Arc::new(inner)),
    })
}

/// What `lookupMany` answers: a frame or `null` per address.
type Frames = Vec<Option<Frame>>;

fn lookup_options(env: Env, options: Option<JsUnknown>) -> tecken_core::Result<LookupOptions> {
    let o = opt::<LookupOptionsJs>(env, options, "options")?;
    Ok(LookupOptions {
        strict_lines: o.and_then(|o| o.strict_lines).unwrap_or(false),
    })
}

impl Index {
    fn get(&self) -> tecken_core::Result<&Arc<CoreIndex>> {
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("the index is closed"))
    }

    fn get_js(&self, env: Env) -> napi::Result<&Arc<CoreIndex>> {
        self.get().map_err(|e| crate::error::to_napi(env, &e))
    }

    fn lookup_many_job(
        &self,
        env: Env,
        addresses: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> tecken_core::Result<Job<Frames>> {
        let index = self.get()?.clone();
        let items: Vec<JsUnknown> = req(env, addresses, "addresses")?;
        let addresses = items
            .into_iter()
            .map(|a| convert::address(env, Some(a), "address"))
            .collect::<tecken_core::Result<Vec<u64>>>()?;
        let opts = lookup_options(env, options)?;
        Ok(Box::new(move || {
            let frames = index.lookup_many(&addresses, &opts);
            Ok(frames.into_iter().map(|f| f.map(frame)).collect())
        }))
    }

    fn verify_job(&self) -> tecken_core::Result<Job<()>> {
        let index = self.get()?.clone();
        Ok(Box::new(move || index.verify()))
    }
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

    /// The function, file, line and inline frames at a module-relative address, or `null`.
    #[napi(ts_args_type = "address: number | bigint, options?: LookupOptions")]
    pub fn lookup(
        &self,
        env: Env,
        address: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Option<Frame>> {
        let index = self.get_js(env)?;
        let args = convert::address(env, address, "address")
            .and_then(|a| Ok((a, lookup_options(env, options)?)));
        let (addr, opts) = args.map_err(|e| crate::error::to_napi(env, &e))?;
        Ok(index
            .lookup_with(addr, &opts)
            .map(|f| frame(OwnedFrame::from(&f))))
    }

    /// `lookup` for each address, on the thread pool: one frame or `null` per address.
    #[napi(
        ts_args_type = "addresses: Array<number | bigint>, options?: LookupOptions",
        ts_return_type = "Promise<Array<Frame | null>>"
    )]
    pub fn lookup_many(
        &self,
        env: Env,
        addresses: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<Frames, Frames>> {
        spawn(self.lookup_many_job(env, addresses, options), same)
    }

    /// Blocking `lookupMany`.
    #[napi(
        ts_args_type = "addresses: Array<number | bigint>, options?: LookupOptions",
        ts_return_type = "Array<Frame | null>"
    )]
    pub fn lookup_many_sync(
        &self,
        env: Env,
        addresses: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Frames> {
        block(env, self.lookup_many_job(env, addresses, options), same)
    }

    /// Checks the CRC of the whole file (reads every byte). Rejects with
    /// `TECKEN_CORRUPT_INDEX` when it does not match.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn verify(&self) -> AsyncTask<Work<(), ()>> {
        spawn(self.verify_job(), same)
    }

    /// Blocking `verify`.
    #[napi]
    pub fn verify_sync(&self, env: Env) -> napi::Result<()> {
        block(env, self.verify_job(), same)
    }

    /// The `.sym` file's MODULE and INFO records.
    #[napi(getter)]
    pub fn header(&self, env: Env) -> napi::Result<SymHeader> {
        Ok(self.get_js(env)?.header().clone().into())
    }

    /// What the index records about its build: `header`, the parse `report`, `inputBytes`.
    #[napi(getter)]
    pub fn meta(&self, env: Env) -> napi::Result<IndexMeta> {
        Ok(self.get_js(env)?.meta().clone().into())
    }

    /// Size of the index in bytes.
    #[napi(getter)]
    pub fn size_bytes(&self, env: Env) -> napi::Result<f64> {
        Ok(num(self.get_js(env)?.size_bytes() as u64))
    }

    /// Whether the index is a memory-mapped file (else it lives in memory).
    #[napi(getter)]
    pub fn is_mapped(&self, env: Env) -> napi::Result<bool> {
        Ok(self.get_js(env)?.is_mapped())
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// Closes the index now (unmaps the file once running `lookupMany` / `verify` calls
    /// finish) instead of when it is garbage-collected. Later calls throw
    /// `TECKEN_INVALID_INPUT`.
    #[napi]
    pub fn close(&mut self) {
        self.inner = None;
    }
}
