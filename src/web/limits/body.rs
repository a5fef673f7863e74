//! Body wrappers for the listeners' limits:
//!
//! - `DeadlineBody`: a request body that must arrive whole within the body read timeout,
//!   counted from the moment its head was read; after that it fails and says so, so the answer
//!   becomes 408 (a client trickling one byte at a time cannot hold a request open);
//! - `Guarded`: a response body that holds something (a stream's place, the connection's
//!   "request in flight" mark) until it is finished or dropped.
//!
//! May call: nothing else of the crate.

use axum::BoxError;
use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub(crate) struct BodyTimedOut(Duration);

/// A request body with a deadline; `timed_out` is set when it passed.
pub(crate) struct DeadlineBody<B> {
    inner: B,
    limit: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl<B: Body> DeadlineBody<B> {
    /// The clock starts now; a body that is already complete (no body at all) has no deadline.
    pub fn new(inner: B, limit: Duration, timed_out: Arc<AtomicBool>) -> Self {
        let deadline = (!inner.is_end_stream()).then(|| Box::pin(tokio::time::sleep(limit)));
        Self { inner, limit, deadline, timed_out }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let Some(deadline) = this.deadline.as_mut() else { return Poll::Pending };
        ready!(deadline.as_mut().poll(cx));
        this.timed_out.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(BodyTimedOut(this.limit).into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body holding `guard` for as long as it lives.
pub(crate) struct Guarded<B, G> {
    inner: B,
    _guard: G,
}

impl<B, G> Guarded<B, G> {
    pub fn new(inner: B, guard: G) -> Self {
        Self { inner, _guard: guard }
    }
}

impl<B: Body + Unpin, G: Unpin> Body for Guarded<B, G> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_fails_at_its_deadline_and_says_so() {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        let stalled = StreamBody::new(tokio_stream_from(receiver));
        let timed_out = Arc::new(AtomicBool::new(false));
        let mut body = DeadlineBody::new(stalled, Duration::from_secs(15), timed_out.clone());
        sender.send(Ok(Frame::data(Bytes::from_static(b"name=Ada")))).await.unwrap();
        let started = tokio::time::Instant::now();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&first[..], b"name=Ada");
        let error = body.frame().await.unwrap().unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        assert!(error.to_string().contains("did not arrive"), "{error}");
        assert!(timed_out.load(Ordering::Relaxed));
        drop(sender);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_body_has_no_deadline() {
        let timed_out = Arc::new(AtomicBool::new(false));
        let body = DeadlineBody::new(http_body_util::Empty::<Bytes>::new(), Duration::from_secs(1), timed_out.clone());
        assert!(body.deadline.is_none());
        assert!(body.collect().await.unwrap().to_bytes().is_empty());
        assert!(!timed_out.load(Ordering::Relaxed));
    }

    /// An mpsc receiver as a stream (tokio-stream is not a dependency).
    fn tokio_stream_from<T: Send + 'static>(
        receiver: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures::Stream<Item = T> + Unpin {
        Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        }))
    }
}
