//! Arguments from JavaScript, copied into owned Rust values on the JS thread.
//!
//! Async functions take their arguments as `unknown` and convert them here, so a wrong
//! type becomes a rejected Promise with `code: 'TECKEN_INVALID_INPUT'` instead of a
//! synchronous `TypeError` (the TypeScript signatures still say what is expected).

use napi::bindgen_prelude::{FromNapiValue, Uint8Array};
use napi::{Env, JsFunction, JsObject, JsString, JsUnknown, NapiRaw, ValueType};
use tecken_core::Result;

use crate::error::{from_napi, invalid};

/// Whether `v` is absent (`undefined`, `null`, or not passed).
fn absent(v: &Option<JsUnknown>) -> Result<bool> {
    match v {
        None => Ok(true),
        Some(v) => Ok(matches!(
            v.get_type().map_err(from_napi)?,
            ValueType::Undefined | ValueType::Null
        )),
    }
}

/// An optional argument of a type napi-rs knows (`#[napi(object)]` options, `string`...).
pub fn opt<T: FromNapiValue>(env: Env, v: Option<JsUnknown>, what: &str) -> Result<Option<T>> {
    if absent(&v)? {
        return Ok(None);
    }
    let Some(v) = v else { return Ok(None) };
    // SAFETY: `v` is a live value of this env, passed to this call.
    unsafe { T::from_napi_value(env.raw(), v.raw()) }
        .map(Some)
        .map_err(|e| invalid(format!("{what}: {}", e.reason)))
}

/// A required argument.
pub fn req<T: FromNapiValue>(env: Env, v: Option<JsUnknown>, what: &str) -> Result<T> {
    opt(env, v, what)?.ok_or_else(|| invalid(format!("{what} is required")))
}

/// The bytes of a `Buffer` / `Uint8Array`, copied.
fn typed_bytes(env: Env, v: &JsUnknown, what: &str) -> Result<Vec<u8>> {
    // SAFETY: as in `opt`.
    let arr = unsafe { Uint8Array::from_napi_value(env.raw(), v.raw()) }.map_err(|e| {
        invalid(format!(
            "{what}: expected a Buffer or Uint8Array: {}",
            e.reason
        ))
    })?;
    Ok(arr.to_vec())
}

/// Bytes from a `string` (UTF-8) or a `Buffer`/`Uint8Array`; with `json`, also from any
/// other object or array, serialized with `JSON.stringify` (on the JS thread: pass a
/// `Buffer` or string for large bodies).
pub fn bytes(env: Env, v: Option<JsUnknown>, what: &str, json: bool) -> Result<Vec<u8>> {
    if absent(&v)? {
        return Err(invalid(format!("{what} is required")));
    }
    let Some(v) = v else {
        return Err(invalid(format!("{what} is required")));
    };
    match v.get_type().map_err(from_napi)? {
        ValueType::String => {
            // SAFETY: checked to be a string.
            let s: JsString = unsafe { v.cast() };
            Ok(s.into_utf8().map_err(from_napi)?.as_slice().to_vec())
        }
        ValueType::Object if v.is_typedarray().map_err(from_napi)? => typed_bytes(env, &v, what),
        ValueType::Object if json => stringify(env, v, what),
        _ if json => Err(invalid(format!(
            "{what} must be a string, a Buffer or an object"
        ))),
        _ => Err(invalid(format!("{what} must be a string or a Buffer"))),
    }
}

/// A file path (`string`) or the file's contents (`Buffer`/`Uint8Array`).
#[derive(Debug)]
pub enum PathOrBytes {
    /// A path, read off the JS thread.
    Path(std::path::PathBuf),
    /// Contents, copied.
    Bytes(Vec<u8>),
}

impl PathOrBytes {
    /// The contents: the bytes, or the file read.
    pub fn read(self) -> Result<Vec<u8>> {
        match self {
            PathOrBytes::Bytes(b) => Ok(b),
            PathOrBytes::Path(p) => std::fs::read(&p).map_err(|e| tecken_core::Error::io(&p, e)),
        }
    }
}

/// A `string` path or `Buffer` contents.
pub fn path_or_bytes(env: Env, v: Option<JsUnknown>, what: &str) -> Result<PathOrBytes> {
    if absent(&v)? {
        return Err(invalid(format!("{what} is required")));
    }
    let Some(v) = v else {
        return Err(invalid(format!("{what} is required")));
    };
    match v.get_type().map_err(from_napi)? {
        ValueType::String => Ok(PathOrBytes::Path(req::<String>(env, Some(v), what)?.into())),
        ValueType::Object if v.is_typedarray().map_err(from_napi)? => {
            Ok(PathOrBytes::Bytes(typed_bytes(env, &v, what)?))
        }
        _ => Err(invalid(format!(
            "{what} must be a path (string) or a Buffer"
        ))),
    }
}

fn stringify(env: Env, v: JsUnknown, what: &str) -> Result<Vec<u8>> {
    let json: JsObject = env
        .get_global()
        .map_err(from_napi)?
        .get_named_property("JSON")
        .map_err(from_napi)?;
    let f: JsFunction = json.get_named_property("stringify").map_err(from_napi)?;
    // Throws on cycles and BigInts: napi-rs clears the exception and hands us its message.
    let out = f
        .call(Some(&json), &[v])
        .map_err(|e| invalid(format!("{what}: JSON.stringify failed: {}", e.reason)))?;
    if out.get_type().map_err(from_napi)? != ValueType::String {
        return Err(invalid(format!("{what} cannot be serialized to JSON")));
    }
    // SAFETY: checked to be a string.
    let s: JsString = unsafe { out.cast() };
    Ok(s.into_utf8().map_err(from_napi)?.as_slice().to_vec())
}

/// A module offset or address: a non-negative integer `number` (below 2^53) or a `bigint`.
pub fn address(env: Env, v: Option<JsUnknown>, what: &str) -> Result<u64> {
    let Some(v) = v else {
        return Err(invalid(format!("{what} is required")));
    };
    match v.get_type().map_err(from_napi)? {
        ValueType::Number => {
            let n = req::<f64>(env, Some(v), what)?;
            if n.fract() != 0.0 || !(0.0..=9_007_199_254_740_991.0).contains(&n) {
                return Err(invalid(format!(
                    "{what} must be a non-negative integer, got {n}"
                )));
            }
            Ok(n as u64)
        }
        ValueType::BigInt => {
            let b = req::<napi::bindgen_prelude::BigInt>(env, Some(v), what)?;
            let (signed, value, lossless) = b.get_u64();
            if signed || !lossless {
                return Err(invalid(format!(
                    "{what} must fit in an unsigned 64-bit integer"
                )));
            }
            Ok(value)
        }
        _ => Err(invalid(format!("{what} must be a number or a bigint"))),
    }
}

/// A u64 as a JS number (exact below 2^53: sizes, counts, module offsets).
pub fn num(v: u64) -> f64 {
    v as f64
}
