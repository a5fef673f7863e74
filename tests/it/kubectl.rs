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

/// Runs kubectl and returns its exit code and output, whether it succeeded or not.
fn run_status(server: &str, args: &[&str]) -> (i32, String) {
    let mut all = vec!["--server", server, "--request-timeout", "10s"];
    all.extend_from_slice(args);
    run_with_input(&all, None)
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
// fieldValidation=Strict; diff and apply --server-side use dry runs and apply patches.
#[tokio::test]
async fn the_demo_workloads_manifests_apply_diff_and_patch_and_the_crds_explain() {
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

    // diff: a changed manifest shows its change (exit 1) and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(format!("{workload}/statefulset.yaml")).unwrap();
    let changed = dir.path().join("statefulset.yaml");
    std::fs::write(&changed, manifest.replace("replicas: 5", "replicas: 3")).unwrap();
    let (code, diff) = run_status(&server, &["diff", "-n", "demopod", "-f", changed.to_str().unwrap()]);
    assert_eq!(code, 1, "kubectl diff exits 1 when there are differences: {diff}");
    assert!(diff.contains("-  replicas: 5") && diff.contains("+  replicas: 3"), "{diff}");
    let (code, same) = run_status(&server, &["diff", "-k", workload]);
    assert_eq!(code, 0, "no differences: {same}");
    let replicas = run(&server, &["get", "sts", "critical-prod", "-n", "demopod", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "5", "diff is a dry run");

    let server_side = run(&server, &["apply", "--server-side", "-k", workload]);
    assert!(server_side.contains("statefulset.apps/critical-prod serverside-applied"), "{server_side}");
    // Someone else scales it: applying the manifest's replicas again conflicts, until forced.
    run(
        &server,
        &["patch", "sts", "critical-prod", "-n", "demopod", "--type", "merge", "-p", r#"{"spec":{"replicas":2}}"#],
    );
    let (code, conflict) = run_status(&server, &["apply", "--server-side", "-k", workload]);
    assert_ne!(code, 0, "{conflict}");
    assert!(conflict.contains(r#"conflict with "kubectl-patch""#) && conflict.contains(".spec.replicas"), "{conflict}");
    let forced = run(&server, &["apply", "--server-side", "--force-conflicts", "-k", workload]);
    assert!(forced.contains("statefulset.apps/critical-prod serverside-applied"), "{forced}");
    let replicas = run(&server, &["get", "sts", "critical-prod", "-n", "demopod", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "5");
    let managers = run(
        &server,
        &[
            "get",
            "sts",
            "critical-prod",
            "-n",
            "demopod",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ],
    );
    assert!(managers.contains("kubectl"), "{managers}");

    // A strategic patch merges the containers list by name and the env list inside it.
    let patch =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"GREETING","value":"hi"}]}]}}}}"#;
    let patched = run(&server, &["patch", "sts", "critical-prod", "-n", "demopod", "--type", "strategic", "-p", patch]);
    assert!(patched.contains("statefulset.apps/critical-prod patched"), "{patched}");
    let containers = run(
        &server,
        &[
            "get",
            "sts",
            "critical-prod",
            "-n",
            "demopod",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name} {.spec.template.spec.containers[0].env[?(@.name==\"GREETING\")].value}",
        ],
    );
    // The manifest's own env (POD_NAME from the downward API, LISTEN_ADDR) stays; GREETING joins it.
    assert_eq!(containers, "app ghcr.io/conferenceli/conferenceli:0.1.0 POD_NAME LISTEN_ADDR GREETING hi");

    // explain reads the OpenAPI v3 documents (kubectl 1.27 and later; older ones read v2,
    // which the simulation serves empty, see the README): a built-in kind and the Booth CRD.
    if kubectl_minor() < 27 {
        eprintln!("kubectl older than 1.27: explain reads OpenAPI v2, which the simulation serves empty; not checked");
        return;
    }
    let explained = run(&server, &["explain", "statefulset.spec.template.spec.containers"]);
    assert!(
        explained.contains("KIND:") && explained.contains("StatefulSet") && explained.contains("image"),
        "{explained}"
    );
    let booth = run(&server, &["explain", "booth.spec"]);
    assert!(booth.contains("voucherType") && booth.contains("campaignName"), "{booth}");
}
