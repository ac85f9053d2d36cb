//! The one place core errors become JavaScript errors.
//!
//! Every failure reaching JavaScript is an `Error` with:
//!
//! - `code`: `TECKEN_` + the core's [`ErrorKind::as_str`] upper-cased (`TECKEN_NOT_FOUND`,
//!   `TECKEN_BAD_REQUEST`, ...), stable once published, so callers switch on it and never on
//!   the message;
//! - `status`: the HTTP status an HTTP layer should answer with ([`Error::http_status`]);
//! - `body` (v5/v4 validation errors only): the exact bytes Eliot answers, `{"title": ...}`;
//! - `cause`: the underlying error chain, each link an `Error` with a `code` when it is a
//!   core error, so `util.inspect` prints the whole story.
//!
//! A panic inside the core is caught (see [`crate::work`]) and reported as
//! `TECKEN_INTERNAL`, never as a crashed process.

use napi::{Env, JsObject, JsUnknown};
use tecken_core::ApiResponse;
use tecken_core::{Error, ErrorKind};

/// The `code` of a core error kind: `TECKEN_CORRUPT_INDEX`.
pub fn code_of(kind: ErrorKind) -> String {
    format!("TECKEN_{}", kind.as_str().to_ascii_uppercase())
}

/// An [`ErrorKind::InvalidInput`] error: what the binding says about a wrong argument.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// An [`ErrorKind::Internal`] error for a caught panic.
pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown payload".to_owned());
    Error::new(ErrorKind::Internal, format!("panic in tecken-core: {what}"))
}

/// Builds the JavaScript error for `err` and wraps it so napi-rs throws or rejects with
/// exactly that object.
pub fn to_napi(env: Env, err: &Error) -> napi::Error {
    match js_error(env, err) {
        Ok(obj) => napi::Error::from(obj.into_unknown()),
        // Could not even build an object (out of memory?): napi-rs makes a plain one.
        Err(e) => e,
    }
}

fn js_error(env: Env, err: &Error) -> napi::Result<JsObject> {
    let mut obj = env.create_error(napi::Error::from_reason(err.message().to_owned()))?;
    obj.set_named_property("code", env.create_string(&code_of(err.kind()))?)?;
    obj.set_named_property("status", env.create_uint32(u32::from(err.http_status()))?)?;
    if err.kind() == ErrorKind::BadRequest {
        let body = ApiResponse::from_error(err).body;
        obj.set_named_property("body", env.create_buffer_with_data(body)?.into_raw())?;
    }
    if let Some(cause) = std::error::Error::source(err) {
        obj.set_named_property("cause", cause_chain(env, cause)?)?;
    }
    Ok(obj)
}

/// The `cause` chain below a core error: core errors keep their `code`, others are plain
/// `Error`s with the source's message.
fn cause_chain(env: Env, err: &(dyn std::error::Error + 'static)) -> napi::Result<JsUnknown> {
    if let Some(core) = err.downcast_ref::<Error>() {
        return Ok(js_error(env, core)?.into_unknown());
    }
    let mut obj = env.create_error(napi::Error::from_reason(err.to_string()))?;
    // `create_error` sets `code` from napi's status; a foreign cause has none of ours.
    obj.delete_named_property("code")?;
    if let Some(next) = err.source() {
        obj.set_named_property("cause", cause_chain(env, next)?)?;
    }
    Ok(obj.into_unknown())
}

/// Turns an error napi-rs raised while reading an argument (a JS exception from a getter,
/// `JSON.stringify` on a cycle) into a core error with its message.
pub fn from_napi(err: napi::Error) -> Error {
    invalid(err.reason)
}
