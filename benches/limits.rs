//! Listener-limits benchmark (`cargo bench --bench limits`): the booth at its default limits,
//! and at ten times the offered load. Prints a Markdown table.
//!
//! The release `conferenceli run` binary runs in its own process with its default limits
//! (`MAX_SSE_STREAMS`, `MAX_SSE_STREAMS_PER_CLIENT`, ... as `run --help` gives them) against a
//! simulated API served by this process (3 nodes, 50 pods). Clients on the kiosk feed `/stream`
//! come from loopback addresses of their own (127.0.1.2, 127.0.1.3, ...), as many per address
//! as the per-client limit allows:
//!
//! 1. at the limit: exactly `MAX_SSE_STREAMS` clients; all are let in;
//! 2. ten times that: `9 × MAX_SSE_STREAMS` more clients from further addresses; each refused
//!    one asks again every [`RETRY`] (ignoring `Retry-After`, as a hostile client would).
//!
//! In each phase: the app's resident memory (VmRSS) once the phase's clients are connected or
//! refused, and [`PRESSES`] `POST /chaos` one after another from another address (cool-down 0),
//! each timed from sending until the whole answer is read (p50, p99). In phase 2 also the
//! refusals (by status) and how many requests per second the app refused. At the end: the peak
//! resident memory (VmHWM) and whether every admitted stream still heard the presses.
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
use tokio_util::sync::CancellationToken;

const PRESSES: usize = 200;
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

/// [`PRESSES`] presses one after another; the sorted answer times.
async fn presses(app: &str) -> Vec<Duration> {
    let http = reqwest::Client::builder().local_address(IpAddr::from([127, 0, 0, 9])).build().unwrap();
    let mut times = Vec::with_capacity(PRESSES);
    for _ in 0..PRESSES {
        let started = Instant::now();
        let response = http.post(format!("{app}/chaos")).basic_auth("admin", Some(PASSWORD)).send().await.unwrap();
        let status = response.status().as_u16();
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed());
        assert!(status == 200 || status == 404, "/chaos answered {status}");
    }
    times.sort();
    times
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
        ..conferenceli::demo::sim_config()
    };
    let sim = SimCluster::start(config);
    let server = sim.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube_sim::write_kubeconfig(&server.url(), dir.path()).unwrap();
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
        .args(["run", "--listen-addr", &format!("127.0.0.1:{port}"), "--log-level", "error"])
        .args(["--chaos-password", PASSWORD, "--public-listen-addr", "127.0.0.1:0", "--chaos-cooldown-seconds", "0"])
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
    let at_limit = presses(&app).await;

    // 2. Ten times the offered load.
    for n in streams..streams * 10 {
        tokio::spawn(stream_client(url.clone(), source(n, per_client), tally.clone(), stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refused_before = tally.too_many.load(Ordering::Relaxed) + tally.unavailable.load(Ordering::Relaxed);
    let window = Instant::now();
    let rss_overload = procfs::status_kib(pid, "VmRSS:");
    let overload = presses(&app).await;
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
    let hwm = procfs::status_kib(pid, "VmHWM:");
    stop.cancel();
    drop(child);
    server.shutdown().await;
    assert_eq!(refused_at_limit, 0, "clients within the limits were refused");
    assert_eq!(admitted, streams, "exactly the limit's streams were admitted");
    assert_eq!(other, 0, "every answer to a stream request is 200, 429 or 503");
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

    let method = format!(
        "release `conferenceli run` with its default limits ({streams} streams, {per_client} per address) in its own process against a simulated API (3 nodes, 50 pods) served by the bench process; kiosk clients on `/stream` from loopback addresses of their own, {per_client} per address"
    );
    let press_method = |load: &str| {
        format!(
            "{method}; {load}; {PRESSES} `POST /chaos` one after another from another address, cool-down 0, from sending until the whole answer is read"
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
