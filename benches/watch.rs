//! Watch-loop benchmark (`cargo bench --bench watch`): prints a Markdown table.
//!
//! 1. Initial sync at 10,000 pods: the release `conferenceli run` binary against an in-process
//!    simulated API holding 10,000 pods; time from process start to `/readyz` answering 200, and
//!    the process's resident memory (VmRSS now, VmHWM peak) once synced.
//! 2. Fan-out: 20,000 pod changes made in the simulated API, delivered (a) to 100 watch
//!    connections on the API itself, (b) through the app's single watch and `ClusterState` to 100
//!    in-process subscribers. Events per second delivered, over all subscribers.
//!
//! The simulated cluster runs without its network (`SimConfig::network`: no containers, no
//! Endpoints rewritten on every readiness flip), as the pods' watch is what is measured; the
//! first reports predate that network, so the figures stay comparable.
//!
//! The headline figures also go to the performance report (`report::record`).

#[path = "report/mod.rs"]
mod report;

// Shared with `sse` and `leds`, which also measure idle CPU; this benchmark reads memory only.
#[allow(dead_code)]
#[path = "procfs/mod.rs"]
mod procfs;

use conferenceli::cluster::client::client_for_url;
use conferenceli::cluster::watch::watch_pods;
use conferenceli::cluster::{ClusterState, PodScope, Update, WatchRestarts};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube_sim::{SimCluster, SimConfig};
use report::Figure;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SYNC_PODS: usize = 10_000;
/// An odd number of rounds over the 500 pods, so that the final readiness differs from the start.
const CHANGES: u64 = 20_500;
const SUBSCRIBERS: usize = 100;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn kubeconfig_for(url: &str, dir: &std::path::Path) -> std::path::PathBuf {
    kube_sim::write_kubeconfig(url, dir).expect("write the kubeconfig")
}

async fn serve(config: SimConfig) -> (Arc<SimCluster>, kube_sim::SimServer) {
    let sim = SimCluster::start(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sim.serve(listener).unwrap();
    (sim, server)
}

async fn initial_sync() -> (Duration, u64, u64) {
    // No containers or Service endpoints for 10,000 pods: the booth's watch is measured here.
    let config = SimConfig { pods: SYNC_PODS, nodes: 10, network: false, ..conferenceli::demo::sim_config() };
    let (_sim, server) = serve(config).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&server.url(), dir.path());
    let port = free_port();
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
        .args([
            "run",
            "--listen-addr",
            &format!("127.0.0.1:{port}"),
            "--public-listen-addr",
            "127.0.0.1:0",
            "--health-listen-addr",
            "127.0.0.1:0",
            "--log-level",
            "warn",
            "--chaos-password",
            "bench",
            "--availability-requests-per-second",
            "0",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .spawn()
        .map(procfs::KillOnDrop)
        .unwrap();
    conferenceli::http::install_crypto_provider();
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no sync within 2 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let synced = started.elapsed();
    let state: serde_json::Value =
        http.get(format!("http://127.0.0.1:{port}/api/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["pods"].as_array().unwrap().len(), SYNC_PODS);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss, hwm) = (procfs::status_kib(child.id(), "VmRSS:"), procfs::status_kib(child.id(), "VmHWM:"));
    drop(child);
    server.shutdown().await;
    (synced, rss, hwm)
}

/// Flips the readiness of pods round-robin: every flip changes what the booth shows.
fn churn(sim: &SimCluster, pods: usize) {
    let def = sim.store.registry.find("", "v1", "pods").unwrap();
    let all = sim.store.all(&def);
    for i in 0..CHANGES as usize {
        let pod = &all[i % pods];
        let (ns, name, uid) = (
            pod["metadata"]["namespace"].as_str().unwrap(),
            pod["metadata"]["name"].as_str().unwrap(),
            pod["metadata"]["uid"].as_str().unwrap(),
        );
        let ready = (i / pods) % 2 == 1;
        sim.store.mutate(&def, ns, name, uid, |p| {
            for c in p["status"]["conditions"].as_array_mut().unwrap() {
                if c["type"] == "Ready" {
                    c["status"] = serde_json::json!(if ready { "True" } else { "False" });
                }
            }
        });
    }
}

async fn fan_out_api_watches() -> f64 {
    let pods = 500;
    // Pod watches are measured: no Endpoints rewritten on every readiness flip (as at 10,000).
    let config = SimConfig { pods, history_limit: 100_000, network: false, ..conferenceli::demo::sim_config() };
    let (sim, server) = serve(config).await;
    let client = client_for_url(&server.url()).unwrap();
    let api: Api<Pod> = Api::namespaced(client, "demopod");
    let rv = api.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut stream = api.watch(&WatchParams::default().timeout(290), &rv).await.unwrap().boxed();
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = 0;
            while mine < CHANGES {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Modified(_))) => {
                        mine += 1;
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }));
    }
    let started = Instant::now();
    let churning = sim.clone();
    tokio::task::spawn_blocking(move || churn(&churning, pods)).await.unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    server.shutdown().await;
    received.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

/// The readiness each pod has after [`churn`]: every pod was flipped `CHANGES / pods` times.
fn final_readiness(pods: usize) -> bool {
    let last_round = (CHANGES as usize - 1) / pods;
    last_round % 2 == 1
}

/// Returns (changes per second through the one watch into ClusterState, ms until every one of
/// the 100 subscribers has caught up with the final state, changes delivered one by one, and the
/// number of catch-up snapshots handed to subscribers that fell behind).
async fn fan_out_cluster_state() -> (f64, f64, u64, u64) {
    let pods = 500;
    let (sim, server) =
        serve(SimConfig { pods, history_limit: 100_000, network: false, ..conferenceli::demo::sim_config() }).await;
    let client = client_for_url(&server.url()).unwrap();
    let state = ClusterState::new();
    let scope = PodScope { namespace: Some("demopod".into()), ..PodScope::default() };
    let watch = tokio::spawn(watch_pods(client, scope, state.clone(), Arc::new(WatchRestarts::default())));
    while !state.pods_synced() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let expected = final_readiness(pods);
    let delivered = Arc::new(AtomicU64::new(0));
    let snapshots = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut subscription = state.subscribe();
        let (delivered, snapshots) = (delivered.clone(), snapshots.clone());
        tasks.push(tokio::spawn(async move {
            let mut ready: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
            let mut first = true;
            loop {
                match subscription.next().await {
                    Some(Update::Snapshot(snapshot)) => {
                        if !first {
                            snapshots.fetch_add(1, Ordering::Relaxed);
                        }
                        first = false;
                        ready = snapshot.pods.iter().map(|p| (p.name.clone(), p.ready)).collect();
                    }
                    Some(Update::Change(conferenceli::cluster::Change::Pod { pod })) => {
                        delivered.fetch_add(1, Ordering::Relaxed);
                        ready.insert(pod.name, pod.ready);
                    }
                    Some(Update::Change(_)) => {}
                    None => return,
                }
                if ready.len() == pods && ready.values().all(|r| *r == expected) {
                    return;
                }
            }
        }));
    }
    let started = Instant::now();
    let churning = sim.clone();
    tokio::task::spawn_blocking(move || churn(&churning, pods)).await.unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let caught_up = started.elapsed();
    watch.abort();
    server.shutdown().await;
    (
        CHANGES as f64 / caught_up.as_secs_f64(),
        caught_up.as_secs_f64() * 1000.0,
        delivered.load(Ordering::Relaxed),
        snapshots.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; any other argument filters nothing here.
    let (synced, rss, hwm) = initial_sync().await;
    let api_rate = fan_out_api_watches().await;
    let (state_rate, caught_up_ms, delivered, snapshots) = fan_out_cluster_state().await;
    let synced_ms = synced.as_secs_f64() * 1000.0;
    let (rss_mib, hwm_mib) = (rss as f64 / 1024.0, hwm as f64 / 1024.0);
    println!("| benchmark | result |");
    println!("| --- | --- |");
    println!("| initial sync, {SYNC_PODS} pods (`run` process start → `/readyz` 200) | {synced_ms:.0} ms |");
    println!("| resident memory after sync, {SYNC_PODS} pods | {rss_mib:.1} MiB (peak {hwm_mib:.1} MiB) |");
    println!(
        "| simulated API → {SUBSCRIBERS} watch connections, {CHANGES} changes | {:.0} events/s delivered |",
        api_rate
    );
    println!(
        "| simulated API → one watch → ClusterState → {SUBSCRIBERS} subscribers, {CHANGES} changes | {state_rate:.0} changes/s end to end; all subscribers on the final state {caught_up_ms:.0} ms after the first change ({delivered} changes delivered one by one, {snapshots} catch-up snapshots to subscribers that fell behind) |"
    );
    let sync_method = format!(
        "release `conferenceli run` in its own process against a simulated API (this process) holding {SYNC_PODS} pods on 10 nodes; one run"
    );
    let churn_method = format!(
        "{CHANGES} readiness flips over 500 pods made in the simulated API's store as fast as it takes them; timed from the first change"
    );
    report::record(
        "watch",
        &[
            Figure {
                key: "initial_sync_10k_ms",
                what: "initial sync of 10,000 pods (`run` process start → `/readyz` 200)".into(),
                value: synced_ms,
                unit: "ms",
                higher_is_better: false,
                method: format!(
                    "{sync_method}; wall time from spawning the process to the first `/readyz` 200, polled every 5 ms"
                ),
            },
            Figure {
                key: "rss_10k_mib",
                what: "resident memory of `run` with 10,000 pods".into(),
                value: rss_mib,
                unit: "MiB",
                higher_is_better: false,
                method: format!("{sync_method}; VmRSS 0.5 s after `/readyz` turned 200"),
            },
            Figure {
                key: "rss_peak_10k_mib",
                what: "peak resident memory of `run` syncing 10,000 pods".into(),
                value: hwm_mib,
                unit: "MiB",
                higher_is_better: false,
                method: format!("{sync_method}; VmHWM 0.5 s after `/readyz` turned 200"),
            },
            Figure {
                key: "api_watch_fanout_events_per_s",
                what: "simulated API → 100 watch connections".into(),
                value: api_rate,
                unit: "events/s",
                higher_is_better: true,
                method: format!(
                    "{churn_method}; events received over all {SUBSCRIBERS} kube-rs watch streams ÷ time until the last stream has all of them"
                ),
            },
            Figure {
                key: "cluster_state_fanout_changes_per_s",
                what: "simulated API → one watch → `ClusterState` → 100 subscribers".into(),
                value: state_rate,
                unit: "changes/s",
                higher_is_better: true,
                method: format!(
                    "{churn_method}; changes ÷ time until all {SUBSCRIBERS} in-process subscribers show the final state"
                ),
            },
            Figure {
                key: "cluster_state_caught_up_ms",
                what: "all 100 `ClusterState` subscribers on the final state after the first of 20,500 changes".into(),
                value: caught_up_ms,
                unit: "ms",
                higher_is_better: false,
                method: format!(
                    "{churn_method}; until every subscriber (change by change, or by a catch-up snapshot when it fell behind) shows the final readiness of all 500 pods"
                ),
            },
        ],
    );
}
