//! Chaos-button benchmark (`cargo bench --bench chaos`): `/chaos` answer times with no webhooks,
//! and with one slow (5 s) and one dead webhook receiver plus a fog relay server that does not
//! answer: they must not slow the button. Prints a Markdown table.
//!
//! The app runs in this process (`app::serve`, release build) against the simulated API with
//! 400 pods, so 200 presses never run out of Running pods; the cool-down is 0.
//!
//! The headline figures also go to the performance report (`report::record`).

#[path = "report/mod.rs"]
mod report;

use clap::Parser;
use conferenceli::cluster::client::clients_for_url;
use conferenceli::config::{Cli, Command};
use kube_sim::{SimCluster, SimConfig};
use report::Figure;
use std::time::{Duration, Instant};

const PRESSES: usize = 200;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A webhook receiver that answers after 5 s.
async fn slow_receiver() -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Presses `/chaos` [`PRESSES`] times with `extra` settings; returns the sorted answer times.
async fn presses(extra: &[&str]) -> Vec<Duration> {
    conferenceli::http::install_crypto_provider();
    // The button's path is measured: without the simulated network, whose Endpoints of 400
    // addresses (rewritten on every pod change, in this process) took /chaos's p99 from 2 to 45 ms.
    let sim = SimCluster::start(SimConfig { pods: 400, nodes: 10, network: false, ..conferenceli::demo::sim_config() });
    let server = sim.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let listen = listener.local_addr().unwrap().to_string();
    let mut args = vec!["conferenceli", "demo", "--listen-addr", &listen, "--public-listen-addr", "127.0.0.1:0"];
    args.extend_from_slice(&["--chaos-cooldown-seconds", "0", "--log-level", "error"]);
    args.extend_from_slice(extra);
    let Command::Demo(demo) = Cli::try_parse_from(args).unwrap().command else { unreachable!() };
    let credentials = demo.app.staff_credentials(true).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let kube = clients_for_url(&server.url()).unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let health = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listeners = conferenceli::app::Listeners { private: listener, public, health };
    let devices = conferenceli::app::Devices::default();
    let app = tokio::spawn(conferenceli::app::serve(kube, demo.app, credentials, listeners, devices, shutdown.clone()));
    let http = reqwest::Client::new();
    while http.get(format!("{app_url}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut times = Vec::with_capacity(PRESSES);
    for _ in 0..PRESSES {
        let started = Instant::now();
        let response = http
            .post(format!("{app_url}/chaos"))
            .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    shutdown.cancel();
    let _ = app.await;
    server.shutdown().await;
    times.sort();
    times
}

#[tokio::main]
async fn main() {
    let plain = presses(&[]).await;
    let hooks = format!("{},http://127.0.0.1:{}/hook", slow_receiver().await, free_port());
    let relay = format!("http://127.0.0.1:{}/", free_port());
    let burdened = presses(&["--chaos-webhook-urls", &hooks, "--fog", &relay]).await;
    let (calm, burdening) =
        ("no webhooks, no fog machine", "a 5 s webhook receiver, a dead one, a dead fog relay server");
    println!("| `/chaos`, {PRESSES} presses | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, times) in [(calm, &plain), (burdening, &burdened)] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
            percentile(times, 0.5),
            percentile(times, 0.99),
            times.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    let figure = |key, with: &str, times: &[Duration], p: f64| Figure {
        key,
        what: format!("`/chaos` answer with {with}, p{}", (p * 100.0).round()),
        value: percentile(times, p),
        unit: "ms",
        higher_is_better: false,
        method: format!(
            "the app in the bench process (`app::serve`, release build) against a simulated API with 400 pods; {PRESSES} `POST /chaos` one after another, cool-down 0, from sending until the whole answer is read"
        ),
    };
    report::record(
        "chaos",
        &[
            figure("plain_p50_ms", calm, &plain, 0.5),
            figure("plain_p99_ms", calm, &plain, 0.99),
            figure("burdened_p50_ms", burdening, &burdened, 0.5),
            figure("burdened_p99_ms", burdening, &burdened, 0.99),
        ],
    );
}
