//! Limits on both listeners, so that nobody on the booth's Wi-Fi (private listener) or the
//! Internet (public listener, through the tunnel) can take the booth down: concurrent
//! connections per listener (and per client address on the private one), open SSE streams in total and per client address, in-flight
//! requests per visitor on the public listener, and timeouts for slow or partial requests
//! (header read, body read, idle keep-alive). Beyond a limit the client gets a short answer that
//! names the limit (429 or 503 with `Retry-After`); what is already connected keeps working.
//!
//! Streams may use only part of the private listener's connections (`MAX_SSE_STREAMS` below
//! `MAX_CONNECTIONS`), and neither streams nor idle kept-alive connections may take its last
//! `RESERVED_CONNECTIONS`: a connection on that reserved share serves one short request and is
//! closed, so the red button, a page load and the control panel are admitted while the streams
//! and a crowd's idle connections hold all they may. A refusal closes its connection, so it
//! never holds a place. The booth's own clients (`127.0.0.1`, `::1`, `TRUSTED_CLIENTS`) are
//! never refused by the per-address limits. The kubelet and Prometheus have a listener of their
//! own (`HEALTH_LISTEN_ADDR`, [`ListenerLimits::health`]) without any per-address limit.
//!
//! - this file: the settings (`LimitsArgs`), each listener's limits and the refusal counters;
//! - [`mod@serve`]: the accept loop with the connection gate and the timeouts;
//! - [`clients`]: the per-client budgets (streams, public requests), pure counting;
//! - [`body`]: the request-body deadline and the response-body guard.
//!
//! May call: `crate::leads`.

pub mod body;
pub mod clients;
pub mod serve;

use crate::leads::ratelimit::TrustedProxies;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use clients::TrustedClients;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::net::IpAddr;
use std::time::Duration;

pub use serve::serve;

/// Connections the health listener serves at once: the kubelet's probes and Prometheus need a
/// few, and only the node may reach it (deploy/base/networkpolicy.yaml).
const HEALTH_MAX_CONNECTIONS: usize = 32;

/// The listeners' limits (`--help` and docs/configuration.md list them; docs/security.md explains them).
#[derive(Debug, Clone, Args)]
pub struct LimitsArgs {
    /// Connections the private listener (kiosk, staff, probes) holds at once; more are answered
    /// 503 with `Retry-After` and closed.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub(crate) max_connections: u32,
    /// Of MAX_CONNECTIONS, how many are kept for short requests (a press, a page, the control
    /// panel): SSE streams and idle kept-alive connections never take them (at most half of
    /// MAX_CONNECTIONS is kept).
    #[arg(long, env = "RESERVED_CONNECTIONS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub(crate) reserved_connections: u32,
    /// Connections one client address may hold on the private listener at once; more are
    /// answered 429 and closed.
    #[arg(long, env = "MAX_CONNECTIONS_PER_CLIENT", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) max_connections_per_client: u32,
    /// Comma-separated addresses that the private listener's per-address limits never refuse,
    /// besides 127.0.0.1 and ::1 (the Deployment sets the node's address: kube-proxy may present
    /// the kiosk's and the button's traffic on the Pi from it).
    #[arg(long, env = "TRUSTED_CLIENTS", value_delimiter = ',')]
    pub(crate) trusted_clients: Vec<IpAddr>,
    /// SSE streams (`/stream`, `/stream_pods`, `/stream_nodes`) open at once in total; must be
    /// below MAX_CONNECTIONS so the button and the probes always find a connection.
    #[arg(long, env = "MAX_SSE_STREAMS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_sse_streams: u32,
    /// SSE streams one client address may hold open at once; more are answered 429.
    #[arg(long, env = "MAX_SSE_STREAMS_PER_CLIENT", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_sse_streams_per_client: u32,
    /// Connections the public listener (the contact form, behind the tunnel) holds at once.
    #[arg(long, env = "PUBLIC_MAX_CONNECTIONS", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) public_max_connections: u32,
    /// Requests one visitor (the address a trusted proxy forwards, else the peer) may have in
    /// flight on the public listener at once; more are answered 429.
    #[arg(long, env = "PUBLIC_MAX_REQUESTS_PER_CLIENT", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) public_max_requests_per_client: u32,
    /// Largest request body the private listener reads (its forms: settings, control panel);
    /// larger ones are answered 413. The public form has its own, smaller limit.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    pub(crate) max_body_bytes: u32,
    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// its first byte; then the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) header_read_timeout_seconds: u64,
    /// Seconds a client has to send a request's whole body once its head has arrived; then it
    /// is answered 408 and the connection is closed.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) body_read_timeout_seconds: u64,
    /// Seconds a kept-alive connection with no request in flight may stay silent before it is
    /// closed. Long enough that clients rarely reuse a connection just as it closes.
    #[arg(long, env = "IDLE_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) idle_timeout_seconds: u64,
}

impl LimitsArgs {
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            header: Duration::from_secs(self.header_read_timeout_seconds),
            body: Duration::from_secs(self.body_read_timeout_seconds),
            idle: Duration::from_secs(self.idle_timeout_seconds),
        }
    }

    /// The private listener's limits: connections with a reserved share, and streams as part of
    /// the rest.
    pub fn private(&self, metrics: &LimitMetrics) -> ListenerLimits {
        let reserved = self.reserved_connections.min(self.max_connections / 2);
        let streams = self.max_sse_streams.min(self.max_connections - reserved);
        let trusted = TrustedClients::new(&self.trusted_clients);
        ListenerLimits {
            listener: Listener::Private,
            max_connections: self.max_connections as usize,
            reserved_connections: reserved as usize,
            connections_per_client: Some(clients::PeerBudget::new(
                self.max_connections as usize,
                self.max_connections_per_client as usize,
                trusted.clone(),
            )),
            body_limit: Some(self.max_body_bytes as usize),
            timeouts: self.timeouts(),
            per_client: Some(PerClient::Streams(clients::PeerBudget::new(
                streams as usize,
                self.max_sse_streams_per_client as usize,
                trusted,
            ))),
            metrics: metrics.clone(),
        }
    }

    /// The public listener's limits: connections, and requests in flight per visitor.
    pub fn public(&self, proxies: &TrustedProxies, metrics: &LimitMetrics) -> ListenerLimits {
        ListenerLimits {
            listener: Listener::Public,
            max_connections: self.public_max_connections as usize,
            // The tunnel pools its connections to us; there are no streams to keep apart from them.
            reserved_connections: 0,
            // Behind the tunnel every visitor's connection comes from the tunnel client's address.
            connections_per_client: None,
            // The form's router limits its bodies itself (`web::public::BODY_LIMIT`).
            body_limit: None,
            timeouts: self.timeouts(),
            per_client: Some(PerClient::Requests(
                clients::RequestBudget::new(self.public_max_requests_per_client as usize),
                proxies.clone(),
            )),
            metrics: metrics.clone(),
        }
    }
}

impl ListenerLimits {
    /// The health listener's limits: a connection cap and the default timeouts, no per-address
    /// limit (the kubelet and Prometheus come from the node's address, and only the node may
    /// reach the port).
    pub fn health(metrics: &LimitMetrics) -> Self {
        Self {
            listener: Listener::Health,
            max_connections: HEALTH_MAX_CONNECTIONS,
            reserved_connections: 0,
            connections_per_client: None,
            // Probes and scrapes send no body.
            body_limit: Some(1024),
            timeouts: Timeouts {
                header: Duration::from_secs(10),
                body: Duration::from_secs(15),
                idle: Duration::from_secs(60),
            },
            per_client: None,
            metrics: metrics.clone(),
        }
    }
}

/// How long a client may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
}

/// What one listener's clients may hold beyond a connection.
#[derive(Clone)]
pub enum PerClient {
    /// Open SSE streams, by TCP peer address (the private listener is reached on the LAN).
    Streams(clients::PeerBudget),
    /// Requests in flight, by the address a trusted proxy forwards (the public listener).
    Requests(clients::RequestBudget, TrustedProxies),
}

/// Everything [`fn@serve`] enforces on one listener.
#[derive(Clone)]
pub struct ListenerLimits {
    /// Named in the refusals and the metrics.
    pub listener: Listener,
    pub(crate) max_connections: usize,
    /// Of `max_connections`, kept for short requests: a connection admitted on this share
    /// serves one request without a stream and is closed.
    pub(crate) reserved_connections: usize,
    /// Connections per TCP peer address (the private listener only).
    pub(crate) connections_per_client: Option<clients::PeerBudget>,
    /// The largest body the routes read, unless a route sets its own.
    pub(crate) body_limit: Option<usize>,
    pub timeouts: Timeouts,
    pub per_client: Option<PerClient>,
    pub metrics: LimitMetrics,
}

/// One of the listeners (the `listener` label).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Listener {
    /// The booth's: kiosk, staff, probes.
    Private,
    /// The contact form's, behind the tunnel.
    Public,
    /// The kubelet's probes and Prometheus's scrapes.
    Health,
}

impl Listener {
    fn as_str(self) -> &'static str {
        match self {
            Listener::Private => "private",
            Listener::Public => "public",
            Listener::Health => "health",
        }
    }
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Listener {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// The limit that refused or cut a request or connection (the `limit` label).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Limit {
    Connections,
    /// A stream asked for on a connection of the reserved share.
    StreamConnections,
    ConnectionsPerClient,
    Streams,
    StreamsPerClient,
    RequestsPerClient,
    HeaderTimeout,
    BodyTimeout,
}

impl EncodeLabelValue for Limit {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        let name = match self {
            Limit::Connections => "connections",
            Limit::StreamConnections => "stream_connections",
            Limit::ConnectionsPerClient => "connections_per_client",
            Limit::Streams => "streams",
            Limit::StreamsPerClient => "streams_per_client",
            Limit::RequestsPerClient => "requests_per_client",
            Limit::HeaderTimeout => "header_timeout",
            Limit::BodyTimeout => "body_timeout",
        };
        std::fmt::Write::write_str(encoder, name)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    listener: Listener,
    limit: Limit,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabel {
    listener: Listener,
}

/// `conferenceli_http_refused_total{listener, limit}` and `conferenceli_http_connections{listener}`.
#[derive(Clone, Default)]
pub struct LimitMetrics {
    refused: Family<RefusalLabels, Counter>,
    connections: Family<ListenerLabel, Gauge>,
}

impl LimitMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "http_refused",
            "Requests and connections refused or cut by a listener limit (limit: connections, stream_connections, connections_per_client, streams, streams_per_client, requests_per_client, header_timeout, body_timeout)",
            metrics.refused.clone(),
        );
        registry.register("http_connections", "Open connections per listener", metrics.connections.clone());
        metrics
    }

    fn refused(&self, listener: Listener, limit: Limit) {
        self.refused.get_or_create(&RefusalLabels { listener, limit }).inc();
    }

    fn connections(&self, listener: Listener) -> Gauge {
        self.connections.get_or_create(&ListenerLabel { listener }).clone()
    }
}

/// A short plain-text answer naming the limit, with `Retry-After` when trying later helps. It
/// carries the headers both listeners put on every answer (it is built outside their routers).
fn refusal(status: StatusCode, retry_after: Option<u64>, message: String) -> Response {
    let mut response = (status, message).into_response();
    let headers = response.headers_mut();
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
