//! The funnel every core call goes through.
//!
//! A binding function converts its arguments on the JS thread (copying them into owned
//! Rust values), packs the one core call into a [`Job`], and hands it to [`spawn`] (runs on
//! libuv's thread pool, returns a Promise: the default) or [`block`] (runs on the JS thread:
//! the `Sync` variants). Both catch panics (a panic becomes a `TECKEN_INTERNAL` error, never
//! a crashed process) and map errors through [`crate::error`]. An argument that failed to
//! convert is passed as `Err` so that the async variant *rejects* instead of throwing.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};
use tecken_core::{Error, Result};

use crate::error::{panicked, to_napi};

/// One core call, with everything it needs owned.
pub type Job<O> = Box<dyn FnOnce() -> Result<O> + Send>;

/// Turns a job's output into its JavaScript value (on the JS thread).
pub type Convert<O, J> = fn(Env, O) -> napi::Result<J>;

/// A [`Job`] as a napi-rs [`Task`].
pub struct Work<O: Send + 'static, J> {
    job: Option<Result<Job<O>>>,
    convert: Convert<O, J>,
    failure: Option<Error>,
}

impl<O: Send + 'static, J> std::fmt::Debug for Work<O, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work")
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

fn run<O>(job: Option<Result<Job<O>>>) -> Result<O> {
    match job {
        Some(Ok(job)) => catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|p| Err(panicked(&*p))),
        Some(Err(e)) => Err(e),
        None => Err(Error::new(
            tecken_core::ErrorKind::Internal,
            "task ran twice",
        )),
    }
}

impl<O: Send + 'static, J: ToNapiValue + TypeName> Task for Work<O, J> {
    type Output = O;
    type JsValue = J;

    fn compute(&mut self) -> napi::Result<O> {
        run(self.job.take()).map_err(|e| {
            // The JS error is built on the JS thread, in `reject`.
            self.failure = Some(e);
            napi::Error::from_reason("tecken-core failed")
        })
    }

    fn resolve(&mut self, env: Env, output: O) -> napi::Result<J> {
        (self.convert)(env, output)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<J> {
        Err(match self.failure.take() {
            Some(e) => to_napi(env, &e),
            None => err,
        })
    }
}

/// Runs `job` on the thread pool; the Promise resolves with `convert(output)`.
pub fn spawn<O: Send + 'static, J>(
    job: Result<Job<O>>,
    convert: Convert<O, J>,
) -> AsyncTask<Work<O, J>>
where
    J: ToNapiValue + TypeName,
{
    AsyncTask::new(Work {
        job: Some(job),
        convert,
        failure: None,
    })
}

/// Runs `job` on the JS thread (the `Sync` variants).
pub fn block<O, J>(env: Env, job: Result<Job<O>>, convert: Convert<O, J>) -> napi::Result<J> {
    match run(Some(job)) {
        Ok(o) => convert(env, o),
        Err(e) => Err(to_napi(env, &e)),
    }
}

/// Identity conversion for outputs napi-rs converts itself.
pub fn same<T>(_env: Env, t: T) -> napi::Result<T> {
    Ok(t)
}
