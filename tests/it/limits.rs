//! The listeners' limits over real sockets: more SSE streams than allowed from one address and
//! from many (127.0.0.2 and up are other clients), refused with 429/503 and `Retry-After`, while
//! `/chaos`, `/readyz`, `/metrics` and the contact form keep answering and the open streams keep
//! streaming; connections beyond the limit get 503; a slow request head is cut after the header
//! timeout, a slow body answered 408, an idle kept-alive connection closed; on the public
//! listener a visitor behind the trusted proxy is limited by the address it forwards.

use crate::common::{TestCluster, eventually, fast_config};
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
        open.push(SseReader::reading(stream("127.0.0.1").await));
    }
    assert_refused(stream("127.0.0.1").await, 429, "at most 2").await;
    // Other addresses: two each until six are open in all; then everyone is refused (503).
    for source in ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"] {
        let response = stream(source).await;
        assert_eq!(response.status(), 200, "{source}");
        open.push(SseReader::reading(response));
    }
    for source in ["127.0.0.4", "127.0.0.5", "127.0.0.1"] {
        let response = stream(source).await;
        if source == "127.0.0.1" {
            assert_refused(response, 429, "at most 2").await;
        } else {
            assert_refused(response, 503, "All 6 streams").await;
        }
    }
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
        (stream("127.0.0.1").await.status() == 200).then_some(())
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
    for (base, limit) in [(&app.private, 4), (&app.public, 2)] {
        let mut held = Vec::new();
        for n in 0..limit {
            held.push(connect_from(&format!("127.0.0.{}", 10 + n), base).await);
        }
        // The gate counts a connection when it accepts it: give the accept loop its turn.
        tokio::time::sleep(Duration::from_millis(200)).await;
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
        if base == &app.private {
            // One address holds at most 3 of the private listener's connections.
            let mut own = Vec::new();
            for _ in 0..3 {
                own.push(connect_from("127.0.0.50", base).await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
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
