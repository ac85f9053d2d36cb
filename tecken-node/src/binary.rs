//! `binaryId`: the ids `dump_syms` writes for a binary.

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, JsUnknown};
use napi_derive::napi;

use crate::convert::{self, opt, req};
use crate::work::{block, same, spawn, Job, Work};

/// What `dump_syms` writes for an ELF, Mach-O or PE binary: the core's `BinaryId`, field
/// for field, and the store key of its `.sym` file.
#[napi(object)]
#[derive(Debug)]
pub struct BinaryId {
    /// `Linux`, `Mac` or `windows`.
    pub os: String,
    /// `x86_64`, `arm64`, ... (`unknown` for a machine Breakpad has no name for).
    pub arch: String,
    /// Upper-case debug id (GUID and age).
    pub debug_id: String,
    /// The PDB's basename for PE, else the binary's name.
    pub debug_file: String,
    /// The code id of `INFO CODE_ID`, when `dump_syms` writes one.
    pub code_id: Option<String>,
    /// The PE file's name; absent for ELF and Mach-O.
    pub code_file: Option<String>,
    /// The `.sym`'s key `{debug_file}/{debug_id}/{sym_file}`; absent when the debug file is
    /// not a valid key part.
    pub key: Option<String>,
}

impl From<tecken_core::BinaryId> for BinaryId {
    fn from(id: tecken_core::BinaryId) -> Self {
        let key = id.key().ok().map(|k| k.path());
        BinaryId {
            os: id.os,
            arch: id.arch,
            debug_id: id.debug_id,
            debug_file: id.debug_file,
            code_id: id.code_id,
            code_file: id.code_file,
            key,
        }
    }
}

/// Options of `binaryId`.
#[napi(object)]
#[derive(Debug)]
pub struct BinaryIdOptions {
    /// The slice of a universal Mach-O file to read (`x86_64`, `arm64`); for other files,
    /// the architecture they must have.
    pub arch: Option<String>,
}

fn binary_id_job(
    env: Env,
    binary: Option<JsUnknown>,
    name: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> tecken_core::Result<Job<BinaryId>> {
    let bytes = convert::bytes(env, binary, "binary", false)?;
    let name: String = req(env, name, "name")?;
    let options: Option<BinaryIdOptions> = opt(env, options, "options")?;
    let arch = options.and_then(|o| o.arch);
    Ok(Box::new(move || {
        tecken_core::binary_id(&bytes, &name, arch.as_deref()).map(BinaryId::from)
    }))
}

/// Reads the ids of an ELF, Mach-O or PE binary. `name` is its file name (a path is cut to
/// its basename). Rejects with `TECKEN_INVALID_INPUT` for anything else, a truncated file,
/// or a universal Mach-O file without `arch`; with `TECKEN_NOT_FOUND` when `arch` is not in
/// the file.
#[napi(
    ts_args_type = "binary: Buffer | Uint8Array, name: string, options?: BinaryIdOptions",
    ts_return_type = "Promise<BinaryId>"
)]
pub fn binary_id(
    env: Env,
    binary: Option<JsUnknown>,
    name: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> AsyncTask<Work<BinaryId, BinaryId>> {
    spawn(binary_id_job(env, binary, name, options), same)
}

/// Blocking `binaryId`.
#[napi(ts_args_type = "binary: Buffer | Uint8Array, name: string, options?: BinaryIdOptions")]
pub fn binary_id_sync(
    env: Env,
    binary: Option<JsUnknown>,
    name: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> napi::Result<BinaryId> {
    block(env, binary_id_job(env, binary, name, options), same)
}
