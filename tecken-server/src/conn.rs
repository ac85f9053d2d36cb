//! Connections: a write deadline on every socket, and the connection cap's 503.
//!
//! hyper has a deadline for reading request headers but none for writing: a client that
//! sends a request and never reads the answer would keep its connection, and whatever the
//! answer holds, forever. [`WriteDeadline`] fails a write that makes no progress for the
//! deadline, which ends the connection and drops the response body (closing a streamed
//! file). A client that keeps reading, however slowly, is not cut off: the deadline is on
//! progress, and what a slow reader can hold is bounded per connection (see
//! [`super::body`]) and by the connection cap.
//!
//! Beyond `--max-connections`, a new connection gets a fixed answer, written without
//! hyper: `503 Service Unavailable` with `Retry-After`, a one-line body and
//! `Connection: close`. The request head is read first (for at most a second, 8 KiB at
//! most), so that closing the socket does not reset the connection before the client has
//! read the answer. At most [`MAX_REJECTING`] such answers are in progress at once; beyond
//! that, connections are closed at once.

use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Sleep;

/// Over-the-cap connections being answered at once (each for at most ~2 s).
pub const MAX_REJECTING: usize = 64;

/// The answer beyond the connection cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 38\r\n\
\r\n\
Too many connections; try again soon.\n";

/// A socket whose writes fail after `timeout` without progress (see the module docs).
#[derive(Debug)]
pub struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: Duration) -> WriteDeadline<S> {
        WriteDeadline {
            inner,
            timeout,
            stalled: None,
        }
    }

    fn check<T>(
        &mut self,
        r: Poll<std::io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<T>> {
        match r {
            Poll::Ready(v) => {
                self.stalled = None;
                Poll::Ready(v)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client read nothing for the write timeout",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(r, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(r, cx)
    }
}

/// Answers a connection beyond the cap with the fixed 503 (see the module docs).
pub fn reject(mut stream: TcpStream, rejecting: &Arc<Semaphore>) {
    let Ok(permit) = rejecting.clone().try_acquire_owned() else {
        return; // dropped: closed at once
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut buf = [0u8; 8192];
        let mut seen = 0;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while seen < buf.len() {
                match stream.read(&mut buf[seen..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen += n,
                }
                if memchr::memmem::find(&buf[..seen], b"\r\n\r\n").is_some() {
                    break;
                }
            }
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            // Until the client closes: closing with unread bytes would reset the connection.
            while stream.read(&mut buf).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_says_its_length() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
