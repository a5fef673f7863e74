//! A stock kubectl, an independent Kubernetes client, against `demo`'s simulated API.

use crate::binary::start_demo;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn kubectl() -> String {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("kubectl")).find(|path| path.is_file()));
    match found {
        Some(path) => path.to_string_lossy().into_owned(),
        None => panic!(
            "kubectl is not installed: run the README's test command (.ci/test-all), which installs Debian's kubernetes-client"
        ),
    }
}

pub fn run(server: &str, args: &[&str]) -> String {
    let output = Command::new(kubectl())
        .args(["--server", server, "--request-timeout", "10s"])
        .args(args)
        .output()
        .expect("run kubectl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "kubectl {args:?} failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    stdout
}

pub async fn wait_for_api(server: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{server}/version")).await.is_err() {
        assert!(Instant::now() < deadline, "the simulated API did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kubectl_gets_deletes_and_watches_against_the_demo() {
    let (_demo, _app, server) = start_demo(&["--start-delay-ms", "500"]);
    wait_for_api(&server).await;

    let pods = run(&server, &["get", "pods", "-n", "demopod"]);
    let header = pods.lines().next().unwrap();
    for column in ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] {
        assert!(header.contains(column), "{header}");
    }
    for i in 0..5 {
        assert!(
            pods.lines()
                .any(|l| l.starts_with(&format!("critical-prod-{i} ")) && l.contains("1/1") && l.contains("Running")),
            "{pods}"
        );
    }
    let nodes = run(&server, &["get", "nodes", "-o", "wide"]);
    assert!(nodes.lines().next().unwrap().contains("KERNEL-VERSION"), "{nodes}");
    for name in ["conferenceli", "pico-1", "pico-2"] {
        assert!(
            nodes.lines().any(|l| l.starts_with(name) && l.contains("Ready") && l.contains("v1.33.5+k3s1")),
            "{nodes}"
        );
    }

    // `get pods -w` sees the deleted pod go and come back.
    let mut watch = Command::new(kubectl())
        .args(["--server", &server, "get", "pods", "-n", "demopod", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl -w");
    let (tx, rx) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let initial: Vec<String> =
        (0..6).map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("initial rows")).collect();
    assert!(initial[0].starts_with("NAME"), "{initial:?}");

    let deleted = run(&server, &["delete", "pod", "critical-prod-2", "-n", "demopod"]);
    assert!(deleted.contains("pod \"critical-prod-2\" deleted"), "{deleted}");

    let mut states = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(states.contains(&"Terminating") && states.last() == Some(&"Running")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line =
            rx.recv_timeout(left).unwrap_or_else(|_| panic!("kubectl -w did not show the pod return: {states:?}"));
        if !line.starts_with("critical-prod-2 ") {
            continue;
        }
        for state in ["Terminating", "Pending", "Running"] {
            if line.contains(state) && states.last() != Some(&state) {
                states.push(state);
            }
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(states.first(), Some(&"Terminating"));
    assert!(states.contains(&"Pending"), "{states:?}");

    let after = run(&server, &["get", "pod", "critical-prod-2", "-n", "demopod", "-o", "jsonpath={.status.phase}"]);
    assert_eq!(after, "Running");
}
