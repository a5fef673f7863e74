//! Fixtures: a simulated cluster on a free port with a kube client for it, fast timings, and a
//! helper that waits for a condition instead of sleeping a fixed time.

use conferenceli::cluster::client::{Clients, client_for_url, clients_for_url};
use kube_sim::{SimCluster, SimConfig, SimServer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Timings short enough for tests, still in the order real clusters use.
pub fn fast_config() -> SimConfig {
    SimConfig {
        start_delay: Duration::from_millis(300),
        start_jitter: Duration::from_millis(100),
        toleration: Duration::from_secs(2),
        bookmark_interval: Duration::from_millis(200),
        ..conferenceli::demo::sim_config()
    }
}

/// A simulated cluster served over HTTP on 127.0.0.1, with a kube-rs client pointed at it.
pub struct TestCluster {
    pub sim: Arc<SimCluster>,
    server: Option<SimServer>,
    pub addr: SocketAddr,
    pub client: kube::Client,
}

impl TestCluster {
    pub async fn start(config: SimConfig) -> Self {
        conferenceli::http::install_crypto_provider();
        let sim = SimCluster::start(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = sim.serve(listener).expect("serve");
        let addr = server.addr();
        let client = client_for_url(&server.url()).expect("client");
        Self { sim, server: Some(server), addr, client }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests to take a pod away the API has received: evictions (what the chaos button sends
    /// by default, refused ones included) and deletes.
    pub fn takes(&self) -> u64 {
        self.sim.stats.requests("create", "pods/eviction") + self.sim.stats.requests("delete", "pods")
    }

    /// The app's clients of this API server (the second one retries nothing by itself).
    pub fn clients(&self) -> Clients {
        clients_for_url(&self.url()).expect("clients")
    }

    /// The simulated workload Service (`--availability-url` for an app that sends it traffic).
    pub fn service_url(&self) -> String {
        format!("http://{}/", self.sim.network.service_addr())
    }

    /// Asserts that the custom resources the app wrote passed their CRD's schema whole: a field
    /// the CRD does not declare would be pruned (silently lost on a real cluster), and a value
    /// outside the schema would have been refused with 422, which the flows under test notice.
    pub fn assert_nothing_pruned(&self) {
        assert_eq!(self.sim.store.pruned_fields(), Vec::<String>::new(), "fields the CRDs do not declare");
    }

    /// Stops the API server: every connection and watch is cut.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Starts the API server again on the same address, with the same objects.
    pub async fn start_server(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("rebind the same port");
        self.server = Some(self.sim.serve(listener).expect("serve"));
    }
}

/// Polls `check` every 25 ms until it returns `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    settle(timeout, what, || {
        let checked = check();
        async move { checked.await.ok_or_else(|| "not yet".to_string()) }
    })
    .await
}

/// Polls `check` every 25 ms until it says `Ok`, failing the test after `timeout` with the last
/// reason it gave.
pub async fn settle<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(reason) if tokio::time::Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {reason}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Settings as `conferenceli demo <extra>` would parse them, listening on `listen`. Without an
/// `--availability-url` there is no workload Service to call, so the trickle is off.
pub fn app_args(listen: SocketAddr, extra: &[&str]) -> conferenceli::config::AppArgs {
    use clap::Parser;
    let listen = listen.to_string();
    // The public listener (contact form) on a free port too, so apps in parallel tests never clash.
    let mut args = vec!["conferenceli", "demo", "--listen-addr", &listen, "--public-listen-addr", "127.0.0.1:0"];
    if !extra.iter().any(|a| a.starts_with("--availability-")) {
        args.extend_from_slice(&["--availability-requests-per-second", "0"]);
    }
    args.extend_from_slice(extra);
    match conferenceli::config::Cli::try_parse_from(args).expect("valid test arguments").command {
        conferenceli::config::Command::Demo(demo) => demo.app,
        _ => unreachable!("parsed a demo command line"),
    }
}

/// The app's listeners: `private` as given, the contact form's and the probes' on free loopback
/// ports (apps in parallel tests never clash).
pub fn listeners_with(private: tokio::net::TcpListener) -> conferenceli::app::Listeners {
    let loopback = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        tokio::net::TcpListener::from_std(listener).expect("a tokio listener")
    };
    conferenceli::app::Listeners { private, public: loopback(), health: loopback() }
}

/// A running app: the token that stops it and its task.
pub type RunningApp =
    (tokio_util::sync::CancellationToken, tokio::task::JoinHandle<Result<(), conferenceli::app::AppError>>);

/// Spawns `app::serve` on `cluster` with `args` (staff password: the demo one) on both listeners.
pub fn spawn_app(
    cluster: &TestCluster,
    args: conferenceli::config::AppArgs,
    listeners: conferenceli::app::Listeners,
) -> RunningApp {
    let credentials = args.staff_credentials(true).expect("credentials");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let devices = conferenceli::app::Devices::default();
    let task = tokio::spawn(conferenceli::app::serve(
        cluster.clients(),
        args,
        credentials,
        listeners,
        devices,
        shutdown.clone(),
    ));
    (shutdown, task)
}

/// The app (`app::serve`) running in-process against a test cluster, on a free port.
pub struct TestApp {
    pub url: String,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), conferenceli::app::AppError>>,
}

/// The pod a `/chaos` answer says it took (`{"message": "Pod critical-prod-2 evicted"}`, or
/// `deleted` with `chaosSafety.mode: delete`).
pub fn victim_of(answer: &serde_json::Value) -> String {
    let message = answer["message"].as_str().unwrap_or_default();
    message
        .strip_prefix("Pod ")
        .and_then(|m| m.strip_suffix(" evicted").or_else(|| m.strip_suffix(" deleted")))
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string()
}

/// Presses the red button of the app at `url` once (demo credentials); the pod it killed.
pub async fn press_once(url: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/chaos"))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .expect("the app answers /chaos")
        .json()
        .await
        .expect("/chaos answers JSON");
    victim_of(&answer)
}

impl TestApp {
    /// Starts the app with `demo`'s defaults plus `extra` flags (staff password: the demo one).
    pub async fn start(cluster: &TestCluster, extra: &[&str]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (shutdown, task) = spawn_app(cluster, app_args(addr, extra), listeners_with(listener));
        Self { url: format!("http://{addr}"), shutdown, task }
    }

    /// Presses `POST /chaos` (demo credentials) until it answers 200, within 30 s (a cool-down or
    /// a pod still starting answers otherwise); returns the answer's JSON.
    pub async fn press_until_answered(&self, what: &str) -> serde_json::Value {
        settle(Duration::from_secs(30), what, || async {
            let response = reqwest::Client::new()
                .post(format!("{}/chaos", self.url))
                .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            if status == 200 { Ok(body) } else { Err(format!("{status} {body}")) }
        })
        .await
    }

    /// Shuts the app down and checks it stopped cleanly within 5 s.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("stops on shutdown")
            .expect("no panic")
            .expect("no error");
    }
}

/// A kubeconfig in `dir` for the API at `url` (plain HTTP, no credentials), as `run` reads it.
pub fn kubeconfig_for(url: &str, dir: &std::path::Path) -> std::path::PathBuf {
    kube_sim::write_kubeconfig(url, dir).expect("write the kubeconfig")
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

/// Sends SIGTERM to a child process the test started (as Kubernetes does to stop a pod).
pub fn sigterm(pid: u32) {
    // SAFETY: kill(2) on a process id this test owns; no memory is shared.
    unsafe { libc_kill(pid as i32, 15) };
}

/// A kubeconfig in `dir` for the API at `url` as the user of bearer `token`, trusting the CA
/// certificate file `ca` (an HTTPS `conferenceli sim`), as `run` and `check` read it.
pub fn kubeconfig_with_token(
    url: &str,
    token: &str,
    ca: Option<&std::path::Path>,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    let ca = ca.map(|path| format!("\n    certificate-authority: {}", path.display())).unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: sim\n  \
         context:\n    cluster: sim\n    user: u\ncurrent-context: sim\nusers:\n- name: u\n  user:\n    token: {token}\n"
    );
    let path = dir.join(format!("kubeconfig-{token}"));
    std::fs::write(&path, text).expect("write the kubeconfig");
    path
}

/// A kube-rs client for the API at `url` as the user of bearer `token`.
pub async fn client_with_token(url: &str, token: &str) -> kube::Client {
    clients_with_token(url, token).await.client
}

/// The booth's two clients (the retrying one, the one for evictions) for the API at `url` as
/// the user of bearer `token`.
pub async fn clients_with_token(url: &str, token: &str) -> Clients {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = kubeconfig_with_token(url, token, None, dir.path());
    conferenceli::http::install_crypto_provider();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("a config");
    Clients::new(config).expect("the clients")
}
