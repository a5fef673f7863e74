//! The listeners' limits over real sockets: more SSE streams than allowed from one address and
//! from many (127.0.0.2 and up are other clients; 127.0.0.1 is the kiosk's own address, which
//! the per-address limits never refuse), refused with 429/503 and `Retry-After` and closed,
//! while `/chaos`, `/readyz`, `/metrics` and the contact form keep answering and the open streams
//! keep streaming; a crowd at its stream limits and a thousand more stream attempts never lock
//! out the button, the probes (on the health listener) or the form; the reserved share of the
//! connections keeps a press, a page and the control panel admitted while streams and idle
//! connections hold the rest; connections beyond the limit get 503; a slow request head is cut
//! after the header timeout, a slow body answered 408, an idle kept-alive connection closed; on
//! the public listener a visitor behind the trusted proxy is limited by the address it forwards.

use crate::binary::{BIN, Running};
use crate::common::{TestCluster, eventually, fast_config, free_port, kubeconfig_for};
use crate::dashboard::SseReader;
use crate::leads::{LeadsApp, Visitor, as_refs, complete};
use conferenceli::config::DEMO_PASSWORD;
use serde_json::Value;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const WAIT: Duration = Duration::from_secs(20);

/// An HTTP client whose connections come from `source` (a loopback address of its own).
fn client_from(source: &str) -> reqwest::Client {
    let source: IpAddr = source.parse().unwrap();
    reqwest::Client::builder().local_address(source).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn basic_admin() -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{DEMO_PASSWORD}")))
}

/// A TCP connection to `url`'s host and port from loopback address `source`.
async fn connect_from(source: &str, url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Everything the server sends until it closes the connection; fails after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .expect("the server closed the connection in time");
    String::from_utf8_lossy(&received).into_owned()
}

async fn started(extra: &[&str]) -> (TestCluster, LeadsApp) {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, extra).await;
    eventually(WAIT, "running pods", || async {
        let state: Value = reqwest::get(format!("{}/api/state", app.private)).await.ok()?.json().await.ok()?;
        (state["pods"].as_array()?.iter().filter(|p| p["status"] == "Running").count() == 5).then_some(())
    })
    .await;
    (cluster, app)
}

/// A refusal: its status, `Retry-After` and the limit it names.
async fn assert_refused(response: reqwest::Response, status: u16, names: &str) {
    assert_eq!(response.status().as_u16(), status);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().expect("Retry-After in seconds");
    assert!(retry_after >= 1, "{retry_after}");
    let body = response.text().await.unwrap();
    assert!(body.contains(names), "{body:?} names {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_limits_are_refused_while_the_button_probes_and_form_answer() {
    let limits = ["--max-sse-streams", "6", "--max-sse-streams-per-client", "2", "--max-connections", "32"];
    let (_cluster, app) = started(&[&limits[..], &["--chaos-cooldown-seconds", "0"]].concat()).await;
    let stream = |source: &str| {
        let (http, url) = (client_from(source), format!("{}/stream", app.private));
        async move { http.get(url).send().await.unwrap() }
    };
    // One address: two streams, the third refused (429) and the two still streaming.
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(SseReader::reading(stream("127.0.0.7").await));
    }
    assert_refused(stream("127.0.0.7").await, 429, "at most 2").await;
    // The kiosk's own address is never held to the per-address limit: three streams.
    for _ in 0..3 {
        let response = stream("127.0.0.1").await;
        assert_eq!(response.status(), 200, "the kiosk's address");
        open.push(SseReader::reading(response));
    }
    // Another address takes the sixth; then everyone is refused (503), the kiosk's address too.
    open.push(SseReader::reading(stream("127.0.0.2").await));
    for source in ["127.0.0.4", "127.0.0.5", "127.0.0.7", "127.0.0.1"] {
        let response = stream(source).await;
        if source == "127.0.0.7" {
            assert_refused(response, 429, "at most 2").await;
        } else {
            assert_refused(response, 503, "All 6 streams").await;
        }
    }
    // A refused stream's connection is closed by the server right after the refusal.
    let mut raw = connect_from("127.0.0.5", &app.private).await;
    raw.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut raw, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("connection: close"), "{answer}");
    // The upstream streams share the same budget.
    let upstream = client_from("127.0.0.6").get(format!("{}/stream_pods", app.private)).send().await.unwrap();
    assert_refused(upstream, 503, "All 6 streams").await;

    // Meanwhile the button, the probes, the metrics and the form answer.
    let http = client_from("127.0.0.4");
    let pressed = http.post(format!("{}/chaos", app.private)).header("authorization", basic_admin()).send().await;
    let pressed = pressed.unwrap();
    assert_eq!(pressed.status(), 200);
    let victim = pressed.json::<Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert_eq!(http.get(format!("{}/readyz", app.private)).send().await.unwrap().status(), 200);
    // The private listener reads no body beyond MAX_BODY_BYTES (64 KiB by default).
    let large = http.post(format!("{}/config", app.private)).header("authorization", basic_admin());
    let large = large.body(vec![b'a'; 70_000]);
    let large = large.header("content-type", "application/x-www-form-urlencoded").send().await.unwrap();
    assert_eq!(large.status(), 413);
    let visitor = Visitor::open(&app.public).await;
    let fields = complete("ada@example.com");
    let submitted = visitor.submit(&as_refs(&fields)).await;
    assert_eq!(submitted.status(), 200);
    assert!(submitted.text().await.unwrap().contains("Ada Lovelace"));

    // Every open stream is still streaming: each hears about the kill.
    for reader in &mut open {
        reader.until(WAIT, |e| e.event.as_deref() == Some("chaos")).await;
    }
    assert!(victim.starts_with("Pod "), "{victim}");

    // A closed stream frees its place for the same address.
    drop(open.remove(0));
    eventually(WAIT, "the closed stream's place back", || async {
        (stream("127.0.0.7").await.status() == 200).then_some(())
    })
    .await;
    let metrics = http.get(format!("{}/metrics", app.private)).send().await.unwrap().text().await.unwrap();
    for limit in ["streams_per_client", "streams"] {
        let line = format!("conferenceli_http_refused_total{{listener=\"private\",limit=\"{limit}\"}}");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{line} in\n{metrics}"));
        assert!(count >= 2, "{line} {count}");
    }
    drop(open);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_get_503_and_the_connected_keep_working() {
    let (_cluster, app) = started(&[
        "--max-connections",
        "4",
        "--public-max-connections",
        "2",
        "--max-connections-per-client",
        "3",
        "--header-read-timeout-seconds",
        "60",
        "--idle-timeout-seconds",
        "60",
    ])
    .await;
    for (base, limit, listener) in [(&app.private, 4, "private"), (&app.public, 2, "public")] {
        let mut held = Vec::new();
        for n in 0..limit {
            held.push(connect_from(&format!("127.0.0.{}", 10 + n), base).await);
        }
        // The gate counts a connection when it accepts it: wait until the server holds them all.
        until_connections(&app, listener, limit).await;
        let refused = client_from("127.0.0.20").get(format!("{base}/healthz")).send().await.unwrap();
        assert_refused(refused, 503, &format!("all its {limit} connections")).await;
        // The ones already connected are served.
        let first = &mut held[0];
        let path = if base == &app.public { "/static/form.css" } else { "/healthz" };
        first
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let answer = read_until_closed(first, WAIT).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        drop(held);
        // Once the server has seen them go (a refusal holds none), every place is free again.
        until_connections(&app, listener, 0).await;
        if base == &app.private {
            // One address holds at most 3 of the private listener's connections.
            let mut own = Vec::new();
            for _ in 0..3 {
                own.push(connect_from("127.0.0.50", base).await);
            }
            until_connections(&app, listener, 3).await;
            let refused = client_from("127.0.0.50").get(format!("{base}/healthz")).send().await.unwrap();
            assert_refused(refused, 429, "connections from your address (at most 3)").await;
            let other = client_from("127.0.0.51").get(format!("{base}/healthz")).send().await.unwrap();
            assert_eq!(other.status(), 200);
        }
        eventually(WAIT, "connections free again", || async {
            let response = client_from("127.0.0.20").get(format!("{base}{path}")).send().await.ok()?;
            (response.status() == 200).then_some(())
        })
        .await;
    }
    app.stop().await;
}

/// `conferenceli_http_connections{listener=…}` as the health listener's `/metrics` says it: the
/// connections a listener serves now (refused ones are never among them).
async fn open_connections(health: &str, listener: &str) -> Option<u64> {
    let metrics = reqwest::get(format!("{health}/metrics")).await.ok()?.text().await.ok()?;
    let line = format!("conferenceli_http_connections{{listener=\"{listener}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).and_then(|v| v.trim().parse().ok())
}

/// Waits until the server serves exactly `count` connections on `listener`.
async fn until_connections(app: &LeadsApp, listener: &str, count: u64) {
    eventually(WAIT, &format!("{count} connections on the {listener} listener"), || async {
        (open_connections(&app.health, listener).await? == count).then_some(())
    })
    .await;
}

/// Phones in the booth's crowd: each of these addresses opens its stream limit (8).
const PHONES: u8 = 40;
/// Stream attempts from one more address, on top of the phones.
const ATTEMPTS: usize = 1000;
/// The Deployment's memory limit (deploy/base/deployment.yaml).
const MEMORY_LIMIT_MIB: u64 = 128;

/// What became of one stream request on a connection of its own.
enum Attempt {
    /// Streaming: the connection, kept open by the phone.
    Admitted(TcpStream),
    /// Refused with this status, and closed by the server after the refusal.
    Refused(u16),
    /// Closed by the server without an answer (beyond the refusals written at once).
    ClosedUnanswered,
}

/// Asks for `/stream` from `source` on a connection of its own; a refusal must be followed by
/// the server closing the connection (the client reads to the end).
async fn ask_for_stream(source: String, url: String) -> Attempt {
    let mut stream = connect_from(&source, &url).await;
    if stream.write_all(b"GET /stream HTTP/1.1\r\nHost: booth\r\n\r\n").await.is_err() {
        return Attempt::ClosedUnanswered;
    }
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.expect("an answer or the end in time") {
            Ok(0) | Err(_) if head.is_empty() => return Attempt::ClosedUnanswered,
            Ok(0) | Err(_) => panic!("closed in the middle of an answer: {}", String::from_utf8_lossy(&head)),
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("a status line: {head}"));
    if status == 200 {
        return Attempt::Admitted(stream);
    }
    let rest = read_until_closed(&mut stream, WAIT).await;
    assert!(head.contains("retry-after:"), "{head}{rest}");
    Attempt::Refused(status)
}

/// Counts of what a batch of attempts became.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcomes {
    admitted: usize,
    refused: std::collections::BTreeMap<u16, usize>,
    closed_unanswered: usize,
}

impl Outcomes {
    fn add(&mut self, attempt: &Attempt) {
        match attempt {
            Attempt::Admitted(_) => self.admitted += 1,
            Attempt::Refused(status) => *self.refused.entry(*status).or_default() += 1,
            Attempt::ClosedUnanswered => self.closed_unanswered += 1,
        }
    }
}

/// Resident memory of process `pid`, in MiB.
fn resident_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the app runs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib / 1024
}

/// Every `pause`, until `stop`: `/healthz` and `/readyz` on the health listener, a press from the
/// kiosk's address and the contact form (page and submission), each answered within a second.
/// Returns how many rounds ran.
async fn keep_checking(urls: [String; 3], pause: Duration, stop: tokio_util::sync::CancellationToken) -> usize {
    let [private, public, health] = urls;
    let kiosk = client_from("127.0.0.1");
    let mut rounds = 0;
    while !stop.is_cancelled() {
        for path in ["/healthz", "/readyz"] {
            let started = Instant::now();
            let status = kiosk.get(format!("{health}{path}")).send().await.expect(path).status();
            assert_eq!(status, 200, "{path} on the health listener in round {rounds}");
            assert!(started.elapsed() < Duration::from_secs(1), "{path} took {:?}", started.elapsed());
        }
        let started = Instant::now();
        let pressed = kiosk.post(format!("{private}/chaos")).header("authorization", basic_admin()).send().await;
        let pressed = pressed.expect("the press is answered");
        let status = pressed.status().as_u16();
        let body = pressed.text().await.expect("the press's answer");
        // 404 once every pod is gone, and the disruption budget's 429 (no `Retry-After`: not a
        // limit) while the evicted pods come back: answers all the same.
        let budget = status == 429 && body.contains("Kubernetes said no");
        assert!(status == 200 || status == 404 || budget, "the press answered {status} in round {rounds}: {body}");
        assert!(started.elapsed() < Duration::from_secs(1), "the press took {:?}", started.elapsed());
        let started = Instant::now();
        let visitor = Visitor::open(&public).await;
        let fields = complete(&format!("crowd{rounds}@example.org"));
        let submitted = visitor.submit(&as_refs(&fields)).await;
        assert_eq!(submitted.status(), 200, "the form in round {rounds}");
        assert!(started.elapsed() < Duration::from_secs(1), "the form took {:?}", started.elapsed());
        rounds += 1;
        tokio::time::sleep(pause).await;
    }
    rounds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_at_its_stream_limits_never_locks_out_the_button_the_probes_or_the_form() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let (private, public, health) = (free_port(), free_port(), free_port());
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    // The shipped binary with its default limits, so its memory is the booth's alone.
    let app = Running(
        std::process::Command::new(BIN)
            .args(["run", "--listen-addr", &format!("127.0.0.1:{private}")])
            .args(["--public-listen-addr", &format!("127.0.0.1:{public}")])
            .args(["--health-listen-addr", &format!("127.0.0.1:{health}")])
            .args(["--leds", "virtual", "--fog", "virtual", "--chaos-cooldown-seconds", "0"])
            // Every round of the checks signs a visitor up; their rate is not what is tested here.
            .args(["--form-rate-limit-per-minute", "10000"])
            .env("KUBECONFIG", &kubeconfig)
            .env("CHAOS_BASIC_AUTH_PASSWORD", DEMO_PASSWORD)
            .env("LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start conferenceli run"),
    );
    eventually(WAIT, "the app ready", || async {
        (reqwest::get(format!("{}/readyz", url(health))).await.ok()?.status() == 200).then_some(())
    })
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let checks =
        tokio::spawn(keep_checking([url(private), url(public), url(health)], Duration::from_millis(200), stop.clone()));

    // The phones: 40 addresses, each asking for its 8 streams at once.
    let phones = (1..=PHONES).flat_map(|phone| (0..8).map(move |_| format!("127.0.4.{phone}")));
    let attempts = futures::future::join_all(phones.map(|source| ask_for_stream(source, url(private)))).await;
    let mut phones = Outcomes::default();
    let mut admitted = Vec::new();
    for attempt in attempts {
        phones.add(&attempt);
        if let Attempt::Admitted(stream) = attempt {
            admitted.push(stream);
        }
    }
    assert_eq!(phones.admitted, 64, "the stream limit's worth admitted: {phones:?}");
    assert_eq!(phones.refused.values().sum::<usize>() + phones.closed_unanswered, 256, "{phones:?}");
    // Refused connections hold nothing: the listener serves the streams and little else.
    let serving = open_connections(&url(health), "private").await.expect("the private listener's gauge");
    assert!(serving <= 64 + 4, "{serving} connections held after the refusals");

    // A thousand more attempts from one address, a hundred at a time.
    let mut flood = Outcomes::default();
    for _ in 0..ATTEMPTS / 100 {
        let batch = (0..100).map(|_| ask_for_stream("127.0.5.1".into(), url(private)));
        for attempt in futures::future::join_all(batch).await {
            flood.add(&attempt);
        }
    }
    assert_eq!(flood.admitted, 0, "{flood:?}");
    let pid = app.0.id();
    let resident = resident_mib(pid);
    // The crowd stays a while longer, the checks going on.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let rounds = checks.await.expect("the checks held");
    let resident = resident.max(resident_mib(pid));
    eprintln!(
        "crowd: phones {phones:?}; {ATTEMPTS} more attempts {flood:?}; {rounds} rounds of checks; {resident} MiB resident"
    );
    assert!(rounds >= 10, "the checks ran again and again while the crowd stayed: {rounds}");
    assert!(
        resident < MEMORY_LIMIT_MIB / 2,
        "{resident} MiB resident, against the Deployment's {MEMORY_LIMIT_MIB} MiB limit"
    );
    // The admitted streams are still open and streaming (the checks' kills among their events).
    let serving = open_connections(&url(health), "private").await.expect("the private listener's gauge");
    assert!(serving >= 64, "{serving} connections: an admitted stream was closed");
    for mut stream in admitted {
        let mut buffer = [0u8; 4096];
        let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.expect("a stream's events");
        assert!(read.is_ok_and(|n| n > 0), "an admitted stream ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reserved_connections_admit_a_press_a_page_and_the_panel_never_a_stream_or_an_idle_one() {
    let (_cluster, app) = started(&[
        "--max-connections",
        "8",
        "--reserved-connections",
        "2",
        "--max-sse-streams",
        "4",
        "--max-sse-streams-per-client",
        "4",
        "--header-read-timeout-seconds",
        "2",
        "--chaos-cooldown-seconds",
        "0",
    ])
    .await;
    // Streams at their limit and two idle kept-alive connections: the six general places taken.
    let crowd = client_from("127.0.0.2");
    let mut streams = Vec::new();
    for _ in 0..4 {
        let response = crowd.get(format!("{}/stream", app.private)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        streams.push(SseReader::reading(response));
    }
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut connection = connect_from("127.0.0.3", &app.private).await;
        connection.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = [0u8; 1024];
        let n = connection.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
        idle.push(connection);
    }
    until_connections(&app, "private", 6).await;

    // A stream on a reserved place is refused and its connection closed at once.
    let mut refused = connect_from("127.0.0.4", &app.private).await;
    refused.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut refused, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("keeps its last 2 connections for short requests"), "{answer}");
    // A press, a page and the control panel are admitted, one request per reserved connection.
    let kiosk = client_from("127.0.0.1");
    let pressed = kiosk.post(format!("{}/chaos", app.private)).header("authorization", basic_admin()).send().await;
    let pressed = pressed.unwrap();
    assert_eq!(pressed.status(), 200);
    assert_eq!(pressed.headers()["connection"], "close", "a reserved connection serves one request");
    for path in ["/", "/control"] {
        let page = client_from("127.0.0.4").get(format!("{}{path}", app.private)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
    }
    // Silent connections on the reserved places are cut after the header timeout, not idled on.
    until_connections(&app, "private", 6).await;
    let silent: Vec<_> = futures::future::join_all((0..2).map(|_| connect_from("127.0.0.5", &app.private))).await;
    until_connections(&app, "private", 8).await;
    let full = client_from("127.0.0.6").get(format!("{}/healthz", app.private)).send().await.unwrap();
    assert_refused(full, 503, "all its 8 connections").await;
    until_connections(&app, "private", 6).await;
    assert_eq!(client_from("127.0.0.6").get(format!("{}/healthz", app.private)).send().await.unwrap().status(), 200);
    let metrics = reqwest::get(format!("{}/metrics", app.health)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("conferenceli_http_refused_total{listener=\"private\",limit=\"stream_connections\"} 1"),
        "{metrics}"
    );
    drop((streams, idle, silent));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_cut_slow_bodies_answered_408_idle_connections_closed() {
    let (_cluster, app) = started(&[
        "--header-read-timeout-seconds",
        "1",
        "--body-read-timeout-seconds",
        "1",
        "--idle-timeout-seconds",
        "30",
    ])
    .await;
    for base in [&app.private, &app.public] {
        // Part of a request line, then nothing: closed after the header timeout, not before.
        let mut slow = connect_from("127.0.0.30", base).await;
        slow.write_all(b"GET /healthz HT").await.unwrap();
        let started = Instant::now();
        let answer = read_until_closed(&mut slow, WAIT).await;
        assert!(started.elapsed() >= Duration::from_millis(900), "cut after {:?}", started.elapsed());
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer:?}");

        // A head, part of the body, then nothing: 408 naming the body, and closed.
        let mut slow = connect_from("127.0.0.31", base).await;
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=Ada";
        let path_head =
            if base == &app.private { head.replace("POST / ", "POST /control/login ") } else { head.into() };
        slow.write_all(path_head.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut slow, WAIT).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(answer.contains("did not arrive within 1 s"), "{answer:?}");
    }
    app.stop().await;

    // Idle keep-alive: a connection that asked once and then stays silent is closed.
    let (_cluster, app) = started(&["--header-read-timeout-seconds", "30", "--idle-timeout-seconds", "1"]).await;
    let mut idle = connect_from("127.0.0.32", &app.private).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut idle, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_behind_the_trusted_proxy_is_limited_by_the_forwarded_address() {
    let (_cluster, app) = started(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--public-max-requests-per-client",
        "2",
        "--body-read-timeout-seconds",
        "30",
    ])
    .await;
    // Two slow submissions in flight for 203.0.113.7, through the proxy (127.0.0.1).
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut connection = connect_from("127.0.0.1", &app.public).await;
        let head = "POST / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Length: 100\r\n\r\nname=";
        connection.write_all(head.as_bytes()).await.unwrap();
        slow.push(connection);
    }
    let through_proxy = |visitor: &'static str| {
        let url = format!("{}/", app.public);
        async move { client_from("127.0.0.1").get(url).header("x-forwarded-for", visitor).send().await.unwrap() }
    };
    eventually(WAIT, "the third request of 203.0.113.7 refused", || async {
        let response = through_proxy("203.0.113.7").await;
        (response.status() == 429).then_some(response)
    })
    .await;
    assert_refused(through_proxy("203.0.113.7").await, 429, "at most 2").await;
    // Another visitor through the same proxy, and the proxy itself, are served.
    assert_eq!(through_proxy("198.51.100.4").await.status(), 200);
    assert_eq!(client_from("127.0.0.1").get(format!("{}/", app.public)).send().await.unwrap().status(), 200);
    // A client that is not a trusted proxy cannot spend someone else's share by claiming it.
    let claimed = client_from("127.0.0.40").get(format!("{}/", app.public)).header("x-forwarded-for", "203.0.113.7");
    assert_eq!(claimed.send().await.unwrap().status(), 200);
    drop(slow);
    eventually(WAIT, "203.0.113.7 served again", || async {
        (through_proxy("203.0.113.7").await.status() == 200).then_some(())
    })
    .await;
    app.stop().await;
}
