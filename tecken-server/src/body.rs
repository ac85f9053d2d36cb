//! Response bodies: whole (every answer built in memory: JSON, errors, small files) or
//! streamed from a reader (downloads).
//!
//! A download's first chunk is read with the opening of the file ([`prefetch`]): a file
//! that fits in it is answered whole, with a `Content-Length`, in one trip to the
//! blocking pool, and a read error there is still a clean error answer. Past it, a
//! streamed body reads the next chunk of at most [`CHUNK`] bytes on tokio's blocking pool
//! only when hyper asks for it, that is when hyper's write buffer has room; one read is
//! in flight at a time. So a connection holds at most one chunk being read, plus hyper's
//! write buffer (about 400 KiB at most), plus the reader's own buffers (64 KiB, and a
//! gzip window when decompressing): about 600 KiB, whatever the file's size. No thread is
//! held while the client is slow to read: a stalled client leaves the reader idle in the
//! body until the connection's write deadline closes the connection and drops the body,
//! which closes the file (or the upstream response).

use std::future::Future;
use std::io::{ErrorKind, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::task::JoinHandle;

use super::log::RequestLog;

/// Bytes read from a streamed body's reader at a time.
pub const CHUNK: usize = 64 * 1024;

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// The whole body (`None` once sent).
    Full(Option<Bytes>),
    /// A body read from a reader as it is sent.
    Stream(Box<StreamBody>),
}

impl Body {
    /// A whole body.
    pub fn full(b: impl Into<Bytes>) -> Body {
        Body::Full(Some(b.into()))
    }

    /// A streamed body of `reader`, of exactly `len` bytes when known (then sent with a
    /// `Content-Length`, else chunked). Read errors abort the answer (the client sees a
    /// truncated body, never a complete-looking one) and are logged with `what`.
    pub fn stream(
        reader: Box<dyn Read + Send>,
        len: Option<u64>,
        log: Arc<RequestLog>,
        what: String,
    ) -> Body {
        Body::Stream(Box::new(StreamBody {
            state: StreamState::Idle(reader),
            remaining: len,
            log,
            what,
        }))
    }
}

type Reader = Box<dyn Read + Send>;

enum StreamState {
    /// Waiting for hyper to ask for more.
    Idle(Reader),
    /// A chunk is being read on the blocking pool.
    Reading(JoinHandle<(Reader, std::io::Result<Bytes>)>),
    /// Ended (or failed).
    Done,
}

/// See [`Body::stream`].
pub struct StreamBody {
    state: StreamState,
    remaining: Option<u64>,
    log: Arc<RequestLog>,
    what: String,
}

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBody")
            .field("remaining", &self.remaining)
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

/// Reads up to [`CHUNK`] bytes (fewer only at the end).
fn read_chunk(reader: &mut Reader) -> std::io::Result<Bytes> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0;
    while filled < CHUNK {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

/// What [`prefetch`] read.
pub enum Prefetched {
    /// The whole body (it fit in one chunk).
    Whole(Vec<u8>),
    /// The first chunk and the rest of the reader, and the whole length if known.
    Partial(Reader, Option<u64>),
}

/// Reads the first chunk of `reader` on the calling (blocking) thread: a body that fits
/// is returned whole, else the chunk is put back in front of the rest.
pub fn prefetch(mut reader: Reader, len: Option<u64>) -> std::io::Result<Prefetched> {
    let first = read_chunk(&mut reader)?;
    if first.len() < CHUNK {
        return Ok(Prefetched::Whole(first.into()));
    }
    let rest: Reader = Box::new(std::io::Cursor::new(first).chain(reader));
    Ok(Prefetched::Partial(rest, len))
}

impl StreamBody {
    fn fail(&mut self, e: std::io::Error) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.state = StreamState::Done;
        self.log
            .event("stream_error", &format!("{}: {e}", self.what));
        Poll::Ready(Some(Err(e)))
    }

    fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        loop {
            match std::mem::replace(&mut self.state, StreamState::Done) {
                StreamState::Done => return Poll::Ready(None),
                StreamState::Idle(mut reader) => {
                    self.state = StreamState::Reading(tokio::task::spawn_blocking(move || {
                        let r = read_chunk(&mut reader);
                        (reader, r)
                    }));
                }
                StreamState::Reading(mut task) => {
                    let (reader, read) = match Pin::new(&mut task).poll(cx) {
                        Poll::Pending => {
                            self.state = StreamState::Reading(task);
                            return Poll::Pending;
                        }
                        Poll::Ready(Err(e)) => {
                            return self.fail(std::io::Error::other(format!("reader failed: {e}")))
                        }
                        Poll::Ready(Ok(v)) => v,
                    };
                    let chunk = match read {
                        Ok(c) => c,
                        Err(e) => return self.fail(e),
                    };
                    if chunk.is_empty() {
                        if self.remaining.is_some_and(|n| n > 0) {
                            return self.fail(std::io::Error::new(
                                ErrorKind::UnexpectedEof,
                                "shorter than its length",
                            ));
                        }
                        return Poll::Ready(None);
                    }
                    if let Some(n) = &mut self.remaining {
                        *n = n.saturating_sub(chunk.len() as u64);
                    }
                    self.state = StreamState::Idle(reader);
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
            }
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Body::Stream(s) => s.poll_chunk(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Body::Stream(s) => matches!(s.state, StreamState::Done),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(s) => match s.remaining {
                Some(n) => SizeHint::with_exact(n),
                None => SizeHint::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn log() -> Arc<RequestLog> {
        Arc::new(RequestLog::new(false))
    }

    #[test]
    fn prefetch_answers_small_bodies_whole_and_keeps_every_byte_of_large_ones() {
        let small = vec![7u8; CHUNK - 1];
        match prefetch(Box::new(std::io::Cursor::new(small.clone())), None).unwrap() {
            Prefetched::Whole(b) => assert_eq!(b, small),
            Prefetched::Partial(..) => panic!("a body under a chunk streams"),
        }
        let large: Vec<u8> = (0..CHUNK * 3).map(|i| (i % 251) as u8).collect();
        match prefetch(Box::new(std::io::Cursor::new(large.clone())), Some(3)).unwrap() {
            Prefetched::Whole(_) => panic!("a large body answered whole"),
            Prefetched::Partial(mut r, len) => {
                assert_eq!(len, Some(3));
                let mut all = Vec::new();
                r.read_to_end(&mut all).unwrap();
                assert_eq!(all, large);
            }
        }
    }

    #[test]
    fn a_stream_yields_its_reader_in_chunks_and_reports_a_short_reader() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let data: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| i as u8).collect();
            let body = Body::stream(
                Box::new(std::io::Cursor::new(data.clone())),
                Some(data.len() as u64),
                log(),
                "t".into(),
            );
            assert_eq!(
                hyper::body::Body::size_hint(&body).exact(),
                Some(data.len() as u64)
            );
            let got = body.collect().await.unwrap().to_bytes();
            assert_eq!(got, data);

            // A reader shorter than its promised length is an error, not an early end.
            let body = Body::stream(
                Box::new(std::io::Cursor::new(vec![1u8; 10])),
                Some(11),
                log(),
                "t".into(),
            );
            assert!(body.collect().await.is_err());
        });
    }
}
