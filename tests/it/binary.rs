//! The `conferenceli` binary as operators meet it: refusing bad settings in one line, failing
//! clearly without a cluster, printing its CRDs, and `demo` coming up with no configuration.

use crate::common::free_port;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_conferenceli");

/// A child process that is killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `conferenceli demo` on free ports; returns the process, the app URL and the simulated API URL.
pub fn start_demo(extra: &[&str]) -> (Running, String, String) {
    conferenceli::http::install_crypto_provider();
    let (app, sim) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["demo", "--listen-addr", &format!("127.0.0.1:{app}"), "--sim-listen", &format!("127.0.0.1:{sim}")])
        .args(["--public-listen-addr", "127.0.0.1:0", "--health-listen-addr", "127.0.0.1:0"])
        .args(extra)
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    (Running(child), format!("http://127.0.0.1:{app}"), format!("http://127.0.0.1:{sim}"))
}

/// Sends SIGTERM to `child` (as Kubernetes stops a pod) and waits for it to exit, at most 5 s.
pub async fn stop_within_five_seconds(child: &mut Child) -> std::process::ExitStatus {
    crate::common::sigterm(child.id());
    let stopped = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(stopped.elapsed() < Duration::from_secs(5), "exits within 5 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    // Free ports for the listeners a case does not name, so parallel runs never clash.
    command.args(args).env_remove("KUBECONFIG");
    command.env("PUBLIC_LISTEN_ADDR", "127.0.0.1:0").env("HEALTH_LISTEN_ADDR", "127.0.0.1:0");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the binary")
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr).lines().map(str::to_string).collect()
}

#[test]
fn malformed_environment_variables_stop_start_up_with_one_line_naming_them() {
    let cases = [
        ("LISTEN_ADDR", "nonsense", "demo"),
        ("DEMO_PODS", "many", "demo"),
        ("K8S_NAMESPACE", "Not_A_Namespace", "run"),
        ("LOG_FORMAT", "xml", "demo"),
        ("LOG_LEVEL", "info,[[[", "demo"),
        ("CONNECT_TIMEOUT_SECONDS", "0", "run"),
    ];
    for (var, value, command) in cases {
        let output = run_with_env(&[command], &[(var, value)]);
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{var}: {lines:?}");
        assert!(lines[0].contains(var), "{var} not named in {:?}", lines[0]);
    }
}

#[test]
fn run_without_a_reachable_cluster_fails_clearly_and_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kubeconfig = crate::common::kubeconfig_for(&format!("http://127.0.0.1:{port}"), dir.path());
    let started = Instant::now();
    let listen = format!("127.0.0.1:{}", free_port());
    let output = run_with_env(
        &["run", "--listen-addr", &listen, "--connect-timeout-seconds", "3"],
        &[("KUBECONFIG", kubeconfig.to_str().unwrap()), ("CHAOS_BASIC_AUTH_PASSWORD", "pw")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("the Kubernetes API at http://127.0.0.1:{port}/ is not reachable")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");

    let missing = run_with_env(
        &["run", "--listen-addr", &listen],
        &[("KUBECONFIG", "/nonexistent/kubeconfig"), ("BASIC_AUTH_PASSWORD", "pw")],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the kubeconfig /nonexistent/kubeconfig"));

    let no_password = run_with_env(&["run", "--listen-addr", &listen], &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    assert_eq!(no_password.status.code(), Some(1));
    let lines = stderr_lines(&no_password);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("CHAOS_BASIC_AUTH_PASSWORD") && lines[0].contains("BASIC_AUTH_PASSWORD"), "{lines:?}");
}

#[test]
fn crds_directory_matches_what_the_binary_prints() {
    let output = run_with_env(&["crd"], &[]);
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let crds_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut from_files = String::new();
    for crd in conferenceli::crds::all() {
        let file = crds_dir.join(conferenceli::crds::file_name(&crd));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|_| panic!("{} is missing: run `cargo run -- crd --out-dir crds`", file.display()));
        assert_eq!(
            text,
            conferenceli::crds::to_yaml(&crd),
            "{} is stale: run `cargo run -- crd --out-dir crds`",
            file.display()
        );
        from_files.push_str(&format!("---\n{text}"));
    }
    assert_eq!(printed, from_files);
    assert_eq!(
        std::fs::read_dir(&crds_dir).unwrap().count(),
        conferenceli::crds::all().len(),
        "no stray files in crds/"
    );
}

#[tokio::test]
async fn demo_serves_three_nodes_and_five_pods_within_ten_seconds_and_stops_on_sigterm() {
    let started = Instant::now();
    let (mut demo, app, _) = start_demo(&[]);
    let http = reqwest::Client::new();
    let state: serde_json::Value = loop {
        if let Ok(response) = http.get(format!("{app}/api/state")).send().await
            && let Ok(state) = response.json::<serde_json::Value>().await
            && state["pods"].as_array().is_some_and(|p| p.len() == 5)
            && state["nodes"].as_array().is_some_and(|n| n.len() == 3)
        {
            break state;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "demo not serving 5 pods within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(state["nodes"].as_array().unwrap().len(), 3);
    assert!(state["pods"].as_array().unwrap().iter().all(|p| p["status"] == "Running"));

    // A second demo on the same port names the setting it cannot use.
    let taken = app.trim_start_matches("http://");
    let output =
        run_with_env(&["demo", "--listen-addr", taken, "--sim-listen", &format!("127.0.0.1:{}", free_port())], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("cannot listen on {taken} (LISTEN_ADDR)")));

    let status = stop_within_five_seconds(&mut demo.0).await;
    assert!(status.success(), "clean exit on SIGTERM, got {status:?}");
}

/// `run` against this test's simulated API: a visitor signs up, then Kubernetes stops the pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_within_five_seconds_of_sigterm_and_keeps_every_lead() {
    use crate::common::{TestCluster, eventually, fast_config, kubeconfig_for};
    use crate::leads::{Visitor, all_leads, as_refs, complete};
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let (private, public) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .args(["run", "--listen-addr", &format!("127.0.0.1:{private}")])
        .args(["--public-listen-addr", &format!("127.0.0.1:{public}"), "--leds", "virtual", "--fog", "virtual"])
        .args(["--health-listen-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &kubeconfig)
        .env("CHAOS_BASIC_AUTH_PASSWORD", "booth-secret")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(30), "the app ready", || async {
        let response = reqwest::get(format!("http://127.0.0.1:{private}/readyz")).await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    // An SSE client stays connected: shutdown must not wait for it.
    let stream = reqwest::get(format!("http://127.0.0.1:{private}/stream")).await.unwrap();
    let visitor = Visitor::open(&format!("http://127.0.0.1:{public}")).await;
    let fields = complete("hedy@example.org");
    assert_eq!(visitor.submit(&as_refs(&fields)).await.status(), 200);

    let status = stop_within_five_seconds(&mut child).await;
    assert!(status.success(), "clean exit on SIGTERM, got {status:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Every task of the app (watches, LEDs, fog, lead controller, print queue…) ended on the
    // shutdown token: none was left running when the grace period ran out.
    assert!(!stderr.contains("shutdown grace period"), "{stderr}");
    drop(stream);
    let leads = all_leads(&cluster).await;
    assert_eq!(leads.len(), 1, "the lead the visitor was thanked for is kept");
    assert_eq!(leads[0].spec.email, "hedy@example.org");
}

/// `conferenceli sim`: the demo's cluster and workload alone, for kubectl; without a token file
/// everyone may do anything; SIGTERM stops it; a broken token file is one line naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serves_the_demo_cluster_alone_and_stops_on_sigterm() {
    conferenceli::http::install_crypto_provider();
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["sim", "--listen", &format!("127.0.0.1:{port}")])
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::kubectl::wait_for_api(&server).await;
    let pods = crate::kubectl::run(&server, &["get", "pods", "-n", "demopod", "-o", "name"]);
    assert_eq!(pods.lines().count(), 5, "{pods}");
    let nodes = crate::kubectl::run(&server, &["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.lines().collect::<Vec<_>>(), ["node/conferenceli", "node/pico-1", "node/pico-2"]);
    let answer = crate::kubectl::run(&server, &["auth", "can-i", "delete", "nodes"]);
    assert_eq!(answer.trim(), "yes", "no token file: everything is allowed");

    let status = stop_within_five_seconds(&mut child).await;
    assert!(status.success(), "{status:?}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("tokens.csv");
    std::fs::write(&broken, "only-a-token,and-a-user\n").unwrap();
    let output = run_with_env(&["sim", "--listen", "127.0.0.1:0", "--token-auth-file", broken.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("TOKEN_AUTH_FILE") && lines[0].contains("must have at least 3 columns"), "{lines:?}");
}
