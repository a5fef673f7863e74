//! Fixtures: a simulated cluster on a free port with a kube client for it, fast timings, and a
//! helper that waits for a condition instead of sleeping a fixed time.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_sim::{SimCluster, SimConfig, SimServer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The fixture CRDs (`Booth` and `Lead` of `conferenceli.dev/v1alpha1`).
pub fn fixture_crds() -> Vec<CustomResourceDefinition> {
    ["booths.conferenceli.dev.yaml", "leads.conferenceli.dev.yaml"]
        .iter()
        .map(|file| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
            serde_norway::from_str(&std::fs::read_to_string(path).expect("read a fixture CRD")).expect("a CRD")
        })
        .collect()
}

/// The booth-shaped cluster with timings short enough for tests, still in the order real
/// clusters use.
pub fn fast_config() -> SimConfig {
    SimConfig {
        control_plane: "conferenceli".into(),
        worker_prefix: "pico".into(),
        namespace: "demopod".into(),
        statefulset: "critical-prod".into(),
        crds: fixture_crds(),
        start_delay: Duration::from_millis(300),
        start_jitter: Duration::from_millis(100),
        toleration: Duration::from_secs(2),
        bookmark_interval: Duration::from_millis(200),
        ..SimConfig::default()
    }
}

/// A kube-rs client for the simulated API at `url` (plain HTTP, no credentials).
pub fn client_for(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("a URL"));
    kube::Client::try_from(config).expect("a kube client")
}

/// A simulated cluster served over HTTP on 127.0.0.1, with a kube-rs client pointed at it.
pub struct TestCluster {
    pub sim: Arc<SimCluster>,
    /// Serves until the cluster is dropped.
    _server: SimServer,
    pub addr: SocketAddr,
    pub client: kube::Client,
}

impl TestCluster {
    pub async fn start(config: SimConfig) -> Self {
        let sim = SimCluster::start(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = sim.serve(listener).expect("serve");
        let addr = server.addr();
        let client = client_for(&server.url());
        Self { sim, _server: server, addr, client }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Polls `check` every 25 ms until it returns `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The fixture `Booth` as a typed kube-rs resource: the fields the tests read and write.
#[derive(kube::CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "conferenceli.dev",
    version = "v1alpha1",
    kind = "Booth",
    namespaced,
    status = "BoothStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct BoothSpec {
    #[serde(default)]
    pub night_mode: bool,
}

/// The fixture Booth's status, all of it as its schema declares it.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoothStatus {
    #[serde(default)]
    pub kill_count: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<serde_json::Value>,
}
