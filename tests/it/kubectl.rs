//! A stock kubectl against `conferenceli demo`: the booth's own manifests and CRDs as an
//! operator meets them. (kubectl against the simulated API itself, verb by verb, is in
//! `crates/kube-sim`'s tests.)

use crate::binary::start_demo;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn kubectl() -> String {
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

/// The client's minor version (`kubectl version --client -o json`).
fn kubectl_minor() -> u32 {
    let output = Command::new(kubectl()).args(["version", "--client", "-o", "json"]).output().expect("kubectl version");
    let version: serde_json::Value = serde_json::from_slice(&output.stdout).expect("kubectl version JSON");
    version["clientVersion"]["minor"].as_str().unwrap_or("0").trim_end_matches('+').parse().unwrap_or(0)
}

/// Runs kubectl with `args` (and `stdin`, for `apply -f -`): its exit code and its output,
/// stdout then stderr.
pub fn run_with_input(args: &[&str], stdin: Option<&str>) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(kubectl())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("run kubectl");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

// Validation on (no --validate=false): kubectl reads /openapi/v2 and /openapi/v3 and sends
// fieldValidation=Strict. The booth's own manifests and CRD; diff, server-side apply and
// strategic patches of the same workload are kube-sim's `kubectl` tests, on its fixture copy.
#[tokio::test]
async fn the_demo_workloads_manifests_apply_and_the_booth_crd_explains() {
    let (_demo, _app, server) = start_demo(&["--start-delay-ms", "500"]);
    wait_for_api(&server).await;
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo-workload");

    let applied = run(&server, &["apply", "-k", workload]);
    let objects = [
        "namespace/demopod",
        "service/critical-prod",
        "statefulset.apps/critical-prod",
        "poddisruptionbudget.policy/critical-prod",
    ];
    for object in objects {
        assert!(applied.contains(object), "{applied}");
    }
    let again = run(&server, &["apply", "-k", workload]);
    assert!(again.contains("statefulset.apps/critical-prod unchanged"), "{again}");

    // explain reads the OpenAPI v3 documents (kubectl 1.27 and later; older ones read v2,
    // which the simulation serves empty, see kube-sim's README): the Booth CRD as the booth installs it.
    if kubectl_minor() < 27 {
        eprintln!("kubectl older than 1.27: explain reads OpenAPI v2, which the simulation serves empty; not checked");
        return;
    }
    let booth = run(&server, &["explain", "booth.spec"]);
    assert!(booth.contains("voucherType") && booth.contains("campaignName"), "{booth}");
}
