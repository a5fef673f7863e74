//! Listener-limits benchmark (`cargo bench --bench limits`): the booth at its default limits,
//! at ten times the offered load, and under a crowd that holds every stream. Prints a Markdown
//! table.
//!
//! The release `conferenceli run` binary runs in its own process with its default limits
//! (`MAX_SSE_STREAMS`, `MAX_SSE_STREAMS_PER_CLIENT`, ... as `run --help` gives them) against a
//! simulated API served by this process (3 nodes, 50 pods). Clients on the kiosk feed `/stream`
//! come from loopback addresses of their own (127.0.1.2, 127.0.1.3, ...), as many per address
//! as the per-client limit allows:
//!
//! 1. at the limit: exactly `MAX_SSE_STREAMS` clients; all are let in;
//! 2. ten times that: `9 × MAX_SSE_STREAMS` more clients from further addresses; each refused
//!    one asks again every [`RETRY`] (ignoring `Retry-After`, as a hostile client would);
//! 3. the crowd (issue 23's): those clients gone, [`PHONES`] addresses (127.0.4.1 and up) each
//!    ask for their `MAX_SSE_STREAMS_PER_CLIENT` streams at once and hold what they get, then one
//!    more address (127.0.5.1) asks for streams [`FLOOD_AT_ONCE`] at a time, [`FLOOD`] attempts
//!    at least and on until the presses are done; each on a connection of its own, every refused
//!    one read to its end (the server must close it).
//!
//! In each phase: the app's resident memory (VmRSS) once the phase's clients are connected or
//! refused, and [`PRESSES`] `POST /chaos` one after another from another address (cool-down 0;
//! in phase 3 from 127.0.0.1, the kiosk's own address), each timed from sending until the whole
//! answer is read (p50, p99). In phase 2 also the refusals (by status) and how many requests per
//! second the app refused; in phase 3 the refusals, and `/readyz` on the health listener asked
//! after every press. At the end: the peak resident memory (VmHWM) and whether every admitted
//! stream still heard the presses.
//!
//! The headline figures also go to the performance report (`report::record`).

#[allow(dead_code)]
#[path = "procfs/mod.rs"]
mod procfs;
#[path = "report/mod.rs"]
mod report;

use clap::Parser;
use conferenceli::config::{Cli, Command};
use futures::StreamExt;
use kube_sim::{SimCluster, SimConfig};
use report::Figure;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const PRESSES: usize = 200;
/// Phase 3: the crowd's addresses, each asking for its stream limit.
const PHONES: usize = 40;
/// Phase 3: stream attempts from one more address, at least.
const FLOOD: usize = 1000;
const FLOOD_AT_ONCE: usize = 100;
/// How often a refused client asks again.
const RETRY: Duration = Duration::from_millis(500);
const PASSWORD: &str = "bench";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The limits `run` uses when nothing is set.
fn default_limits() -> conferenceli::web::limits::LimitsArgs {
    match Cli::try_parse_from(["conferenceli", "run"]).expect("run parses").command {
        Command::Run(run) => run.app.limits,
        _ => unreachable!("a run command line"),
    }
}

/// Client `n`'s source address: `per_address` clients share one, from 127.0.1.2 on.
fn source(n: usize, per_address: usize) -> IpAddr {
    let address = n / per_address;
    IpAddr::from([127, 0, 1 + (address / 250) as u8, 2 + (address % 250) as u8])
}

#[derive(Default)]
struct Tally {
    admitted: AtomicUsize,
    too_many: AtomicU64,
    unavailable: AtomicU64,
    /// Connections closed unanswered (beyond the connection limit while 32 refusals were being
    /// written) or failed otherwise.
    closed: AtomicU64,
    other: AtomicU64,
    /// Admitted streams that heard at least one `chaos` event.
    heard_chaos: AtomicUsize,
}

/// One kiosk client from `source`: holds its stream until `stop`, or asks again every
/// [`RETRY`] while it is refused.
async fn stream_client(url: String, source: IpAddr, tally: Arc<Tally>, stop: CancellationToken) {
    let http = reqwest::Client::builder().local_address(source).pool_max_idle_per_host(0).build().unwrap();
    loop {
        let sent = tokio::select! {
            () = stop.cancelled() => return,
            sent = http.get(&url).send() => sent,
        };
        match sent.map(|r| (r.status().as_u16(), r)) {
            Ok((200, response)) => {
                tally.admitted.fetch_add(1, Ordering::Relaxed);
                let mut body = response.bytes_stream();
                let mut heard = false;
                loop {
                    let chunk = tokio::select! {
                        () = stop.cancelled() => return,
                        chunk = body.next() => chunk,
                    };
                    match chunk {
                        Some(Ok(bytes)) => {
                            if !heard && bytes.windows(13).any(|w| w == b"event: chaos\n") {
                                heard = true;
                                tally.heard_chaos.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        // Ended or broke: counted by `heard_chaos` staying behind `admitted`.
                        _ => return,
                    }
                }
            }
            Ok((429, _)) => tally.too_many.fetch_add(1, Ordering::Relaxed),
            Ok((503, _)) => tally.unavailable.fetch_add(1, Ordering::Relaxed),
            Ok(_) => tally.other.fetch_add(1, Ordering::Relaxed),
            Err(_) => tally.closed.fetch_add(1, Ordering::Relaxed),
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// [`PRESSES`] presses one after another from `source`; the sorted answer times, and those of
/// `GET {probe}` asked after each press when there is one.
async fn presses(app: &str, source: IpAddr, probe: Option<&str>) -> (Vec<Duration>, Vec<Duration>) {
    let http = reqwest::Client::builder().local_address(source).build().unwrap();
    let (mut times, mut probes) = (Vec::with_capacity(PRESSES), Vec::new());
    for _ in 0..PRESSES {
        let started = Instant::now();
        let response = http.post(format!("{app}/chaos")).basic_auth("admin", Some(PASSWORD)).send().await.unwrap();
        let status = response.status().as_u16();
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed());
        assert!(status == 200 || status == 404, "/chaos answered {status}");
        if let Some(url) = probe {
            let started = Instant::now();
            let status = http.get(url).send().await.unwrap().status();
            probes.push(started.elapsed());
            assert_eq!(status, 200, "{url}");
        }
    }
    times.sort();
    probes.sort();
    (times, probes)
}

/// What one stream request of the crowd became.
enum Asked {
    /// Streaming, on this connection.
    Admitted(tokio::net::TcpStream),
    /// Answered with this status, then closed by the server.
    Refused(u16),
    /// Closed by the server without an answer (beyond the refusals written at once).
    Closed,
}

/// `GET /stream` from `source` on a connection of its own; a refusal is read to its end, which
/// must come within 20 s (the server closes a refused connection).
async fn ask_for_stream(addr: std::net::SocketAddr, source: IpAddr) -> Asked {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    if stream.write_all(b"GET /stream HTTP/1.1\r\nHost: booth\r\n\r\n").await.is_err() {
        return Asked::Closed;
    }
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let read_all = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
            if received.starts_with(b"HTTP/1.1 200") {
                return false;
            }
        }
    });
    let closed = read_all.await.expect("a refused connection is closed by the server");
    match (closed, received.get(9..12).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())) {
        (false, _) => Asked::Admitted(stream),
        (true, Some(status)) => Asked::Refused(status),
        (true, None) => Asked::Closed,
    }
}

/// The crowd's tally.
#[derive(Default, Debug)]
struct Crowd {
    admitted: usize,
    refused: std::collections::BTreeMap<u16, usize>,
    closed: usize,
}

impl Crowd {
    fn count(&mut self, asked: Asked, streams: &mut Vec<tokio::net::TcpStream>) {
        match asked {
            Asked::Admitted(stream) => {
                self.admitted += 1;
                streams.push(stream);
            }
            Asked::Refused(status) => *self.refused.entry(status).or_default() += 1,
            Asked::Closed => self.closed += 1,
        }
    }

    fn refused(&self) -> usize {
        self.refused.values().sum::<usize>() + self.closed
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    conferenceli::http::install_crypto_provider();
    let limits = default_limits();
    let (streams, per_client) = (limits.max_sse_streams as usize, limits.max_sse_streams_per_client as usize);
    let config = SimConfig {
        pods: 50,
        nodes: 3,
        start_delay: Duration::from_millis(300),
        start_jitter: Duration::ZERO,
        // No disruption budget: 200 presses one after another would spend the demo's, and its
        // refusals (429, quicker than an eviction) would mix into the press's figures. This
        // bench measures the listener; every press evicts.
        objects: Vec::new(),
        ..conferenceli::demo::sim_config()
    };
    let sim = SimCluster::start(config);
    let server = sim.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube_sim::write_kubeconfig(&server.url(), dir.path()).unwrap();
    let (port, health_port) = (free_port(), free_port());
    let app = format!("http://127.0.0.1:{port}");
    let health = format!("http://127.0.0.1:{health_port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
        .args(["run", "--listen-addr", &format!("127.0.0.1:{port}"), "--log-level", "error"])
        .args(["--chaos-password", PASSWORD, "--public-listen-addr", "127.0.0.1:0", "--chaos-cooldown-seconds", "0"])
        .args(["--health-listen-addr", &format!("127.0.0.1:{health_port}")])
        .env("KUBECONFIG", &kubeconfig)
        .spawn()
        .map(procfs::KillOnDrop)
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    while reqwest::get(format!("{app}/readyz")).await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "the app did not get ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_alone = procfs::status_kib(pid, "VmRSS:");

    // 1. At the limit.
    let stop = CancellationToken::new();
    let tally = Arc::new(Tally::default());
    let url = format!("{app}/stream");
    for n in 0..streams {
        tokio::spawn(stream_client(url.clone(), source(n, per_client), tally.clone(), stop.clone()));
    }
    let connecting = Instant::now();
    while tally.admitted.load(Ordering::Relaxed) < streams {
        let admitted = tally.admitted.load(Ordering::Relaxed);
        assert!(connecting.elapsed() < Duration::from_secs(60), "only {admitted} of {streams} admitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused_at_limit = tally.too_many.load(Ordering::Relaxed) + tally.unavailable.load(Ordering::Relaxed);
    let rss_at_limit = procfs::status_kib(pid, "VmRSS:");
    let bench_address = IpAddr::from([127, 0, 0, 9]);
    let (at_limit, _) = presses(&app, bench_address, None).await;

    // 2. Ten times the offered load.
    for n in streams..streams * 10 {
        tokio::spawn(stream_client(url.clone(), source(n, per_client), tally.clone(), stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refused_before = tally.too_many.load(Ordering::Relaxed) + tally.unavailable.load(Ordering::Relaxed);
    let window = Instant::now();
    let rss_overload = procfs::status_kib(pid, "VmRSS:");
    let (overload, _) = presses(&app, bench_address, None).await;
    let window = window.elapsed();
    let refused_in_window =
        tally.too_many.load(Ordering::Relaxed) + tally.unavailable.load(Ordering::Relaxed) - refused_before;
    let rss_overload = rss_overload.max(procfs::status_kib(pid, "VmRSS:"));
    let admitted = tally.admitted.load(Ordering::Relaxed);
    let heard = tally.heard_chaos.load(Ordering::Relaxed);
    let (too_many, unavailable, closed, other) = (
        tally.too_many.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        tally.closed.load(Ordering::Relaxed),
        tally.other.load(Ordering::Relaxed),
    );
    stop.cancel();

    // 3. The crowd, once phase 2's clients are gone.
    let readyz = format!("{health}/readyz");
    let connections = || async {
        let metrics = reqwest::get(format!("{health}/metrics")).await.unwrap().text().await.unwrap();
        let line = metrics.lines().find_map(|l| l.strip_prefix("conferenceli_http_connections{listener=\"private\"} "));
        line.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    let leaving = Instant::now();
    while connections().await > 0 {
        assert!(leaving.elapsed() < Duration::from_secs(90), "phase 2's clients did not leave");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut held = Vec::new();
    let phones =
        (0..PHONES * per_client).map(|n| ask_for_stream(addr, IpAddr::from([127, 0, 4, 1 + (n / per_client) as u8])));
    let mut phones_tally = Crowd::default();
    for asked in futures::future::join_all(phones).await {
        phones_tally.count(asked, &mut held);
    }
    let flooding = CancellationToken::new();
    let flood = {
        let flooding = flooding.clone();
        tokio::spawn(async move {
            let (mut tally, mut streams, mut attempts) = (Crowd::default(), Vec::new(), 0);
            while attempts < FLOOD || !flooding.is_cancelled() {
                let batch = (0..FLOOD_AT_ONCE).map(|_| ask_for_stream(addr, IpAddr::from([127, 0, 5, 1])));
                for asked in futures::future::join_all(batch).await {
                    tally.count(asked, &mut streams);
                }
                attempts += FLOOD_AT_ONCE;
            }
            (tally, attempts)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let crowd_window = Instant::now();
    let (crowd_presses, crowd_probes) = presses(&app, IpAddr::from([127, 0, 0, 1]), Some(&readyz)).await;
    let crowd_window = crowd_window.elapsed();
    let rss_crowd = procfs::status_kib(pid, "VmRSS:");
    flooding.cancel();
    let (flood_tally, flood_attempts) = flood.await.unwrap();
    let held_after = connections().await;
    let hwm = procfs::status_kib(pid, "VmHWM:");
    drop(held);
    drop(child);
    server.shutdown().await;
    assert_eq!(refused_at_limit, 0, "clients within the limits were refused");
    assert_eq!(admitted, streams, "exactly the limit's streams were admitted");
    assert_eq!(other, 0, "every answer to a stream request is 200, 429 or 503");
    assert_eq!(phones_tally.admitted, streams, "the crowd got exactly the stream limit: {phones_tally:?}");
    assert_eq!(flood_tally.admitted, 0, "{flood_tally:?}");
    assert!(held_after <= streams as u64 + 4, "{held_after} connections held after the refusals");
    let refusals_per_second = refused_in_window as f64 / window.as_secs_f64();

    println!("| measure | at the default limits | ten times the offered load |");
    println!("| --- | --- | --- |");
    println!(
        "| clients on `/stream` (from addresses of {per_client}) | {streams}, all admitted | {}: {admitted} admitted, the others refused and asking again every {} ms |",
        streams * 10,
        RETRY.as_millis()
    );
    println!(
        "| refusals | 0 | {too_many} × 429 (per address), {unavailable} × 503 (all streams or connections taken), {closed} connections closed unanswered (beyond the connections while 32 refusals were being written); {refusals_per_second:.0} answered refusals/s while pressing |"
    );
    println!(
        "| app resident memory (alone: {:.1} MiB) | {:.1} MiB | {:.1} MiB |",
        mib(rss_alone),
        mib(rss_at_limit),
        mib(rss_overload)
    );
    println!(
        "| `/chaos` answer, p50 / p99 / max ({PRESSES} presses) | {:.2} / {:.2} / {:.2} ms | {:.2} / {:.2} / {:.2} ms |",
        percentile(&at_limit, 0.5),
        percentile(&at_limit, 0.99),
        percentile(&at_limit, 1.0),
        percentile(&overload, 0.5),
        percentile(&overload, 0.99),
        percentile(&overload, 1.0)
    );
    println!("| admitted streams that heard the presses | {heard} of {admitted} | |");
    println!("| app peak resident memory (VmHWM) over the run | {:.1} MiB | |", mib(hwm));
    println!();
    println!("| the crowd: {PHONES} addresses × {per_client} streams, then stream attempts from one more | |");
    println!("| --- | --- |");
    println!(
        "| the {} phones' attempts | {} admitted, {} refused ({:?} by status, {} closed unanswered), each refused connection closed by the server |",
        PHONES * per_client,
        phones_tally.admitted,
        phones_tally.refused(),
        phones_tally.refused,
        phones_tally.closed
    );
    println!(
        "| the one address's attempts, {FLOOD_AT_ONCE} at a time while the presses ran | {flood_attempts}: {} admitted, {:?} by status, {} closed unanswered; all closed by the server |",
        flood_tally.admitted, flood_tally.refused, flood_tally.closed
    );
    println!(
        "| private-listener connections open afterwards | {held_after} (the {streams} streams and the presses') |"
    );
    println!(
        "| `/chaos` from 127.0.0.1, p50 / p99 / max ({PRESSES} presses over {:.1} s) | {:.2} / {:.2} / {:.2} ms |",
        crowd_window.as_secs_f64(),
        percentile(&crowd_presses, 0.5),
        percentile(&crowd_presses, 0.99),
        percentile(&crowd_presses, 1.0)
    );
    println!(
        "| `/readyz` on the health listener, p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
        percentile(&crowd_probes, 0.5),
        percentile(&crowd_probes, 0.99),
        percentile(&crowd_probes, 1.0)
    );
    println!("| app resident memory during the crowd | {:.1} MiB |", mib(rss_crowd));

    let method = format!(
        "release `conferenceli run` with its default limits ({streams} streams, {per_client} per address) in its own process against a simulated API (3 nodes, 50 pods) served by the bench process; kiosk clients on `/stream` from loopback addresses of their own, {per_client} per address"
    );
    let press_method = |load: &str| {
        format!(
            "{method}; {load}; {PRESSES} `POST /chaos` one after another from another address, cool-down 0, from sending until the whole answer is read"
        )
    };
    let crowd_method = || {
        format!(
            "{method}; the crowd: {PHONES} addresses each asking for {per_client} streams at once and holding what they get, then {FLOOD_AT_ONCE} stream attempts at a time from one more address ({flood_attempts} in all), each on a connection of its own, refused ones read to their end; {PRESSES} `POST /chaos` one after another from 127.0.0.1, cool-down 0, from sending until the whole answer is read"
        )
    };
    let at_limit_load = format!("{streams} clients, all admitted");
    let overload_load = format!(
        "{} clients, the {} beyond the limit asking again every {} ms",
        streams * 10,
        streams * 9,
        RETRY.as_millis()
    );
    report::record(
        "limits",
        &[
            Figure {
                key: "rss_at_limit_mib",
                what: format!("resident memory of `run` with its {streams} SSE streams (the default limit) open"),
                value: mib(rss_at_limit),
                unit: "MiB",
                higher_is_better: false,
                method: format!("{method}; VmRSS once {at_limit_load}"),
            },
            Figure {
                key: "rss_overload_mib",
                what: "resident memory of `run` at ten times the default stream limit offered".into(),
                value: mib(rss_overload),
                unit: "MiB",
                higher_is_better: false,
                method: format!("{method}; {overload_load}; the higher VmRSS of before and after the presses"),
            },
            Figure {
                key: "chaos_p99_at_limit_ms",
                what: "`/chaos` answer with the SSE streams at their limit, p99".into(),
                value: percentile(&at_limit, 0.99),
                unit: "ms",
                higher_is_better: false,
                method: press_method(&at_limit_load),
            },
            Figure {
                key: "chaos_p99_overload_ms",
                what: "`/chaos` answer at ten times the stream limit offered, p99".into(),
                value: percentile(&overload, 0.99),
                unit: "ms",
                higher_is_better: false,
                method: press_method(&overload_load),
            },
            Figure {
                key: "chaos_p50_crowd_ms",
                what: "`/chaos` from the kiosk's address while a crowd holds every stream, p50".into(),
                value: percentile(&crowd_presses, 0.5),
                unit: "ms",
                higher_is_better: false,
                method: crowd_method(),
            },
            Figure {
                key: "chaos_p99_crowd_ms",
                what: "`/chaos` from the kiosk's address while a crowd holds every stream, p99".into(),
                value: percentile(&crowd_presses, 0.99),
                unit: "ms",
                higher_is_better: false,
                method: crowd_method(),
            },
            Figure {
                key: "readyz_p99_crowd_ms",
                what: "`/readyz` on the health listener while a crowd holds every stream, p99".into(),
                value: percentile(&crowd_probes, 0.99),
                unit: "ms",
                higher_is_better: false,
                method: format!("{}; one `GET /readyz` on HEALTH_LISTEN_ADDR after each press", crowd_method()),
            },
            Figure {
                key: "rss_crowd_mib",
                what: "resident memory of `run` while a crowd holds every stream".into(),
                value: mib(rss_crowd),
                unit: "MiB",
                higher_is_better: false,
                method: format!("{}; VmRSS after the presses", crowd_method()),
            },
            Figure {
                key: "refusals_per_second",
                what: "stream requests refused per second at ten times the limit offered".into(),
                value: refusals_per_second,
                unit: "refusals/s",
                higher_is_better: true,
                method: format!(
                    "{method}; {overload_load}; 429 and 503 answers counted by the clients while the presses ran"
                ),
            },
        ],
    );
}
