//! The accept loop of both listeners (instead of `axum::serve`, which has no connection limit
//! and no timeouts): HTTP/1.1 through hyper, one task per connection, with
//!
//! - the connection gate: at most `max_connections` connections are served (and on the
//!   private listener at most `connections_per_client` per TCP peer address, trusted clients
//!   aside); one more is answered 503 (429 for the per-address limit) with `Retry-After` as soon
//!   as its request head is in, and closed (up to `REFUSALS_AT_ONCE` such answers are written at
//!   a time, each within `REFUSAL_TIME`; beyond that a connection is closed at once, unanswered,
//!   so a flood costs a bounded amount of memory);
//! - the reserved share (`Gate`): the last `reserved_connections` go only to connections that
//!   the rest cannot take; such a connection serves one request, is refused a stream, gets only
//!   the header timeout to start its request, and is closed after its answer, so neither streams
//!   nor idle kept-alive connections ever hold it;
//! - a header read timeout counted from a head's first byte (hyper's `header_read_timeout`,
//!   with a timer, as the outer bound of idle time plus a head), the request body deadline
//!   (408), and an idle keep-alive timeout (no request in flight and no byte received);
//! - the per-client budgets of [`super::clients`]: SSE streams on the private listener (any
//!   `text/event-stream` answer takes a place, so a new stream route is limited too), requests
//!   in flight per visitor on the public one; a refused stream's connection is closed once its
//!   refusal is written, so a refusal never holds a connection;
//! - graceful shutdown: no new connections, idle ones closed, running requests finished.
//!
//! May call: `web::limits` (its settings, budgets and bodies), `leads::ratelimit` (through
//! [`super::PerClient`]).

use super::body::{DeadlineBody, Guarded};
use super::clients::{Held, Refused};
use super::{Limit, ListenerLimits, PerClient, Timeouts, refusal};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Connections beyond the limit that get their 503 written at the same time.
pub(crate) const REFUSALS_AT_ONCE: usize = 32;
/// How long a refused connection may take to send its request head and read the 503.
pub(crate) const REFUSAL_TIME: Duration = Duration::from_secs(2);
/// Largest read buffer of a connection (hyper's default is 408 KiB): a request head must fit
/// (else 431), and it bounds what a client sending faster than the app reads can park here.
pub(crate) const READ_BUFFER: usize = 64 * 1024;
/// `Retry-After` of a refusal because all connections are taken.
const RETRY_CONNECTIONS: u64 = 5;
/// `Retry-After` of a stream refusal (a browser's EventSource retries by itself anyway).
const RETRY_STREAMS: u64 = 10;
/// `Retry-After` of a visitor's request beyond their share.
const RETRY_REQUESTS: u64 = 2;

/// Serves `router` on `listener` within `limits` until `shutdown` fires, then waits for the
/// open connections to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let gate = Gate::new(limits.max_connections, limits.reserved_connections);
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let router = match limits.body_limit {
        Some(bytes) => router.layer(axum::extract::DefaultBodyLimit::max(bytes)),
        None => router,
    };
    let limits = Arc::new(limits);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Some(slot) = gate.admit() else {
            limits.metrics.refused(limits.listener, Limit::Connections);
            let message = format!(
                "The booth's {} listener has all its {} connections in use; try again in {RETRY_CONNECTIONS} s.\n",
                limits.listener, limits.max_connections
            );
            refuse_connection(stream, &refusals, StatusCode::SERVICE_UNAVAILABLE, message, &limits);
            continue;
        };
        let place = match &limits.connections_per_client {
            Some(budget) => match budget.take(peer.ip()) {
                Ok(place) => Some(place),
                Err(_) => {
                    limits.metrics.refused(limits.listener, Limit::ConnectionsPerClient);
                    let message = format!(
                        "Too many connections from your address (at most {}); try again in {RETRY_CONNECTIONS} s.\n",
                        budget.max_per_client()
                    );
                    refuse_connection(stream, &refusals, StatusCode::TOO_MANY_REQUESTS, message, &limits);
                    continue;
                }
            },
            None => None,
        };
        tokio::spawn(connection(stream, peer, router.clone(), limits.clone(), shutdown.clone(), slot, place));
    }
    drop(listener);
    gate.all_back().await;
    Ok(())
}

/// The connection budget: a general share that any connection may take, and the reserved share
/// that a connection gets only when the general one is full.
struct Gate {
    general: Arc<Semaphore>,
    reserved: Arc<Semaphore>,
    sizes: (u32, u32),
}

/// A served connection's place in the [`Gate`], given back when the connection ends.
struct Slot {
    _permit: OwnedSemaphorePermit,
    /// On the reserved share: one request, no stream, no idling.
    reserved: bool,
}

impl Gate {
    fn new(max_connections: usize, reserved: usize) -> Self {
        let reserved = reserved.min(max_connections);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let sizes = (count(max_connections - reserved), count(reserved));
        Self {
            general: Arc::new(Semaphore::new(sizes.0 as usize)),
            reserved: Arc::new(Semaphore::new(sizes.1 as usize)),
            sizes,
        }
    }

    /// A place for a new connection, from the general share while it has one; `None`: full.
    fn admit(&self) -> Option<Slot> {
        match self.general.clone().try_acquire_owned() {
            Ok(permit) => Some(Slot { _permit: permit, reserved: false }),
            Err(_) => {
                self.reserved.clone().try_acquire_owned().ok().map(|permit| Slot { _permit: permit, reserved: true })
            }
        }
    }

    /// Resolves once every place is back, i.e. every served connection has ended.
    async fn all_back(&self) {
        let _general = self.general.acquire_many(self.sizes.0).await;
        let _reserved = self.reserved.acquire_many(self.sizes.1).await;
    }
}

/// A failed accept: the client gave up (go on) or the process is out of file descriptors
/// (wait a moment, as `axum::serve` does, instead of spinning).
async fn wait_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!(%error, "accepting a connection failed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Serves one connection until it closes, times out, idles out or the app shuts down; a
/// connection on the reserved share ends after one answer and may not idle.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Arc<ListenerLimits>,
    shutdown: CancellationToken,
    slot: Slot,
    _place: Option<Held>,
) {
    let reserved = slot.reserved;
    let open = limits.metrics.connections(limits.listener);
    open.inc();
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { stream, activity: activity.clone() });
    let service = {
        let limits = limits.clone();
        let activity = activity.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let busy = activity.begin();
            let answer = answer(request, peer, router.clone(), limits.clone(), busy, reserved);
            async move { Ok::<_, Infallible>(answer.await) }
        })
    };
    let Timeouts { header, idle, .. } = limits.timeouts;
    // On the reserved share a connection must start its request within the header timeout.
    let idle = if reserved { header } else { idle };
    let mut builder = http1::Builder::new();
    builder.keep_alive(!reserved);
    // hyper's header timer runs from the moment the connection waits for a request, idle time
    // included: as the outer bound (idle, then a head) it backs up the watch below, which
    // counts a head's time from its first byte (closing a kept-alive connection after only
    // the header timeout would race the clients' reuse of it far more often).
    builder.timer(TokioTimer::new()).header_read_timeout(idle + header).max_buf_size(READ_BUFFER);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
        cut = activity.watch(header, idle) => match cut {
            Cut::Idle => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
            // Dropping the connection closes it: the head is not answered.
            Cut::SlowHead => {
                limits.metrics.refused(limits.listener, Limit::HeaderTimeout);
                Ok(())
            }
        }
    };
    if result.is_err_and(|error| error.is_timeout()) {
        limits.metrics.refused(limits.listener, Limit::HeaderTimeout);
    }
    open.dec();
    drop(slot);
}

/// One request: its body on a deadline, the client's address for the handlers, the per-client
/// budgets, and the marks that keep the connection busy while the answer is sent. `reserved`:
/// the connection is on the reserved share (no stream there).
async fn answer(
    request: Request<Incoming>,
    peer: SocketAddr,
    router: Router,
    limits: Arc<ListenerLimits>,
    busy: Busy,
    reserved: bool,
) -> Response {
    let timed_out = Arc::new(AtomicBool::new(false));
    let body_time = limits.timeouts.body;
    let mut request = request.map(|body| Body::new(DeadlineBody::new(body, body_time, timed_out.clone())));
    request.extensions_mut().insert(ConnectInfo(peer));
    let mut held = None;
    if let Some(PerClient::Requests(budget, proxies)) = &limits.per_client {
        let visitor = proxies.client_ip(peer.ip(), request.headers());
        match budget.take(visitor) {
            Ok(place) => held = Some(place),
            Err(_) => {
                limits.metrics.refused(limits.listener, Limit::RequestsPerClient);
                let message = format!(
                    "Too many requests at once from your address (at most {}); try again in {RETRY_REQUESTS} s.\n",
                    budget.max_per_client()
                );
                return guarded(refusal(StatusCode::TOO_MANY_REQUESTS, Some(RETRY_REQUESTS), message), busy, None);
            }
        }
    }
    let response = router.oneshot(request).await.unwrap_or_else(|never| match never {});
    if timed_out.load(Ordering::Relaxed) {
        limits.metrics.refused(limits.listener, Limit::BodyTimeout);
        let message =
            format!("The request body did not arrive within {} s; please send it again.\n", body_time.as_secs());
        return guarded(closing(refusal(StatusCode::REQUEST_TIMEOUT, None, message)), busy, held);
    }
    if !is_event_stream(&response) {
        return guarded(response, busy, held);
    }
    // Dropping a refused stream's response ends its subscription at once; its connection is
    // closed after the refusal, so that a crowd retrying streams holds no connection.
    if reserved {
        limits.metrics.refused(limits.listener, Limit::StreamConnections);
        let message = format!(
            "The booth's {} listener keeps its last {} connections for short requests and has none left for a stream; try again in {RETRY_STREAMS} s.\n",
            limits.listener, limits.reserved_connections
        );
        let refused = refusal(StatusCode::SERVICE_UNAVAILABLE, Some(RETRY_STREAMS), message);
        return guarded(closing(refused), busy, None);
    }
    if let Some(PerClient::Streams(budget)) = &limits.per_client {
        match budget.take(peer.ip()) {
            Ok(place) => held = Some(place),
            Err(refused) => {
                let (status, limit, message) = match refused {
                    Refused::PerClient => (
                        StatusCode::TOO_MANY_REQUESTS,
                        Limit::StreamsPerClient,
                        format!(
                            "Too many open streams from your address (at most {}): close one (another tab?) and try again in {RETRY_STREAMS} s.\n",
                            budget.max_per_client()
                        ),
                    ),
                    Refused::Total => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Limit::Streams,
                        format!(
                            "All {} streams of the booth are in use; try again in {RETRY_STREAMS} s.\n",
                            budget.max_total()
                        ),
                    ),
                };
                limits.metrics.refused(limits.listener, limit);
                return guarded(closing(refusal(status, Some(RETRY_STREAMS), message)), busy, None);
            }
        }
    }
    guarded(response, busy, held)
}

/// `response` with `Connection: close`: hyper closes the connection once it is written.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn is_event_stream(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"))
}

/// `response` with a body that keeps the connection busy and holds the client's place until
/// it is sent or dropped.
fn guarded(response: Response, busy: Busy, held: Option<Held>) -> Response {
    response.map(|body| Body::new(Guarded::new(body, (busy, held))))
}

/// Answers a connection beyond a limit with `status` and `message`, and closes it; closes it
/// unanswered when [`REFUSALS_AT_ONCE`] refusals are already being written.
fn refuse_connection(
    stream: TcpStream,
    refusals: &Arc<Semaphore>,
    status: StatusCode,
    message: String,
    limits: &ListenerLimits,
) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else { return };
    let service = hyper::service::service_fn(move |_: Request<Incoming>| {
        let response = closing(refusal(status, Some(RETRY_CONNECTIONS), message.clone()));
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(REFUSAL_TIME.min(limits.timeouts.header)).keep_alive(false);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIME, builder.serve_connection(TokioIo::new(stream), service)).await;
        drop(permit);
    });
}

/// Why a connection's watch ends it.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// Nothing in flight and nothing received for the idle timeout.
    Idle,
    /// A request head began arriving and was not complete within the header timeout.
    SlowHead,
}

/// When a connection last received a byte or finished an answer, when the head of its next
/// request began arriving, and how many answers it is sending now.
struct Activity {
    born: Instant,
    /// Milliseconds since `born`.
    last: AtomicU64,
    /// Milliseconds since `born` plus one when a head's first byte arrived; 0: no head pending.
    head_since: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn touch(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Bytes arrived: with nothing in flight they are the start of a request head.
    fn received(&self) {
        let now = self.now_ms();
        self.last.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_since.compare_exchange(0, now + 1, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        Busy(self.clone())
    }

    fn at(&self, ms: u64) -> Instant {
        self.born + Duration::from_millis(ms)
    }

    /// Resolves when the connection must be cut: a head not complete `header` after its first
    /// byte, or nothing in flight and nothing received for `idle`. An answer in flight (a
    /// stream) is never cut.
    async fn watch(&self, header: Duration, idle: Duration) -> Cut {
        let step = header.min(idle);
        loop {
            let now = Instant::now();
            let deadline = if self.in_flight.load(Ordering::Relaxed) > 0 {
                now + step
            } else {
                match self.head_since.load(Ordering::Relaxed) {
                    0 => {
                        let quiet_until = self.at(self.last.load(Ordering::Relaxed)) + idle;
                        if now >= quiet_until {
                            return Cut::Idle;
                        }
                        // A head may start meanwhile: look again within the header timeout.
                        quiet_until.min(now + step)
                    }
                    since => {
                        let due = self.at(since - 1) + header;
                        if now >= due {
                            return Cut::SlowHead;
                        }
                        due
                    }
                }
            };
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// An answer in flight on a connection; dropped when its body is sent or abandoned.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The TCP stream, noting every byte received in the connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_hands_out_the_general_share_first_then_the_reserved_one() {
        let gate = Gate::new(4, 1);
        let general: Vec<Slot> = (0..3).map(|_| gate.admit().expect("a general place")).collect();
        assert!(general.iter().all(|slot| !slot.reserved));
        let reserved = gate.admit().expect("the reserved place");
        assert!(reserved.reserved);
        assert!(gate.admit().is_none(), "full");
        drop(reserved);
        assert!(gate.admit().is_some_and(|slot| slot.reserved), "a reserved place comes back as one");
        drop(general);
        assert!(gate.admit().is_some_and(|slot| !slot.reserved));
        let all_back = tokio::time::timeout(Duration::from_secs(1), gate.all_back()).await;
        assert!(all_back.is_ok(), "every place is back once every slot is dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_cut_when_idle_or_when_a_head_is_slow_never_while_answering() {
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(60));
        let activity = Arc::new(Activity::new());
        let started = Instant::now();
        let busy = activity.begin();
        {
            let watch = activity.watch(header, idle);
            tokio::pin!(watch);
            // A long answer (a stream) keeps the connection however long it takes.
            assert!(tokio::time::timeout(Duration::from_secs(600), watch.as_mut()).await.is_err());
            drop(busy); // the answer is sent: quiet from now on
            assert_eq!(watch.as_mut().await, Cut::Idle);
            assert_eq!(started.elapsed(), Duration::from_secs(660));
        }
        // The first byte of a head starts the header timeout, however idle the connection was.
        tokio::time::advance(Duration::from_secs(3)).await;
        activity.received();
        let first_byte = Instant::now();
        tokio::time::advance(Duration::from_secs(4)).await;
        activity.received(); // more of the same head: the clock does not restart
        assert_eq!(activity.watch(header, idle).await, Cut::SlowHead);
        assert_eq!(first_byte.elapsed(), header);
        // A complete head (the request begins) ends the head's clock.
        activity.received();
        let busy = activity.begin();
        drop(busy);
        let answered = Instant::now();
        assert_eq!(activity.watch(header, idle).await, Cut::Idle);
        assert_eq!(answered.elapsed(), idle);
    }
}
