//! A stock kubectl, an independent Kubernetes client, against the simulated API.

use crate::common::{TestCluster, fast_config};
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

fn run(server: &str, args: &[&str]) -> String {
    let output = Command::new(kubectl())
        .args(["--server", server, "--request-timeout", "10s"])
        .args(args)
        .output()
        .expect("run kubectl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "kubectl {args:?} failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A cluster for kubectl: pods start in half a second, and the test runs on two threads, as
/// kubectl is run to its end on the test's own thread while the API answers it.
async fn cluster() -> (TestCluster, String) {
    let config = kube_sim::SimConfig { start_delay: Duration::from_millis(500), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let server = cluster.url();
    (cluster, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_deletes_and_watches() {
    let (_cluster, server) = cluster().await;

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
    let rx = lines_of(&mut watch);
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

/// The client's minor version (`kubectl version --client -o json`).
fn kubectl_minor() -> u32 {
    let output = Command::new(kubectl()).args(["version", "--client", "-o", "json"]).output().expect("kubectl version");
    let version: serde_json::Value = serde_json::from_slice(&output.stdout).expect("kubectl version JSON");
    version["clientVersion"]["minor"].as_str().unwrap_or("0").trim_end_matches('+').parse().unwrap_or(0)
}

/// Runs kubectl and returns its exit code and output, whether it succeeded or not.
fn run_status(server: &str, args: &[&str]) -> (i32, String) {
    let output = Command::new(kubectl())
        .args(["--server", server, "--request-timeout", "10s"])
        .args(args)
        .output()
        .expect("run kubectl");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

// Validation on (no --validate=false): kubectl reads /openapi/v2 and /openapi/v3 and sends
// fieldValidation=Strict; diff and apply --server-side use dry runs and apply patches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_diffs_explains_and_patches_a_workload() {
    let (_cluster, server) = cluster().await;
    // The first user's demo workload (a Namespace, two Services, a StatefulSet), as a fixture.
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/workload");

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
    // which the simulation serves empty, see the README): a built-in kind and a fixture CRD.
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

/// The lines a running kubectl writes (on whichever of stdout and stderr are piped), as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    let stderr = child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    for stream in [stdout, stderr].into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Reads `lines` into `seen` until one contains `what` (25 s at most).
fn wait_for(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(25);
    while !seen.iter().any(|l| l.contains(what)) {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("kubectl never said {what:?}: {seen:#?}"),
        }
    }
}

/// The pods of the workload as `NAME STATUS READY NODE` rows.
fn pod_rows(server: &str) -> Vec<String> {
    let columns = "custom-columns=NAME:.metadata.name,PHASE:.status.phase,READY:.status.conditions[?(@.type==\"Ready\")].status,NODE:.spec.nodeName,DELETING:.metadata.deletionTimestamp";
    let pods = run(server, &["get", "pods", "-n", "demopod", "--no-headers", "-o", columns]);
    pods.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

// kubectl drain cordons the node, lists its pods by `spec.nodeName`, finds `pods/eviction` in
// discovery and evicts, retrying every 5 s while the budget says 429, then waits for each pod
// to be gone (the StatefulSet's replacement has another uid).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_pdbs_drains_a_node_through_evictions_and_uncordons_it() {
    let (_cluster, server) = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let budget = dir.path().join("pdb.yaml");
    let manifest = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: critical-prod\n  namespace: demopod\n\
                    spec:\n  minAvailable: 5\n  selector:\n    matchLabels:\n      app: critical-prod\n";
    std::fs::write(&budget, manifest).unwrap();
    let created = run(&server, &["apply", "-f", budget.to_str().unwrap()]);
    assert!(created.contains("poddisruptionbudget.policy/critical-prod created"), "{created}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let table = loop {
        let table = run(&server, &["get", "pdb", "-n", "demopod"]);
        if table.lines().nth(1).is_some_and(|row| row.split_whitespace().nth(3) == Some("0"))
            || Instant::now() > deadline
        {
            break table;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let header: Vec<&str> =
        table.lines().next().unwrap().split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["critical-prod", "5", "N/A", "0"], "{table}");

    // pico-1 runs critical-prod-1 and critical-prod-4; the budget allows no disruption.
    let mut drain = Command::new(kubectl())
        .args(["--server", &server, "drain", "pico-1", "--ignore-daemonsets", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl drain");
    let lines = lines_of(&mut drain);
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, "node/pico-1 cordoned");
    wait_for(&lines, &mut seen, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert!(seen.iter().any(|l| l.contains("will retry after 5s")), "{seen:#?}");
    let nodes = run(&server, &["get", "nodes"]);
    assert!(nodes.lines().any(|l| l.starts_with("pico-1 ") && l.contains("Ready,SchedulingDisabled")), "{nodes}");
    let taints = run(&server, &["get", "node", "pico-1", "-o", "jsonpath={.spec.taints[*].key}"]);
    assert_eq!(taints, "node.kubernetes.io/unschedulable");
    for pod in ["critical-prod-1 Running True pico-1 <none>", "critical-prod-4 Running True pico-1 <none>"] {
        assert!(pod_rows(&server).contains(&pod.to_string()), "held by the budget: {:?}", pod_rows(&server));
    }

    // One disruption at a time: the second pod goes once the first one's replacement is Ready.
    let patch = r#"{"spec":{"minAvailable":4}}"#;
    run(&server, &["patch", "pdb", "critical-prod", "-n", "demopod", "--type", "merge", "-p", patch]);
    wait_for(&lines, &mut seen, "node/pico-1 drained");
    let status = drain.wait().expect("kubectl drain ends");
    assert!(status.success(), "{seen:#?}");
    for pod in ["critical-prod-1", "critical-prod-4"] {
        assert!(seen.iter().any(|l| l.contains(&format!("pod/{pod} evicted"))), "{seen:#?}");
    }
    // Both retried together after 5 s: one went, the other was refused again.
    let refusals = seen.iter().filter(|l| l.contains("error when evicting")).count();
    assert!(refusals >= 3, "{seen:#?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = pod_rows(&server);
        let settled = rows.len() == 5 && rows.iter().all(|r| r.contains(" Running True ") && r.ends_with("<none>"));
        if settled || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(rows.iter().all(|r| r.contains(" Running True ") && !r.contains("pico-1")), "{rows:?}");

    let uncordoned = run(&server, &["uncordon", "pico-1"]);
    assert!(uncordoned.contains("node/pico-1 uncordoned"), "{uncordoned}");
    let nodes = run(&server, &["get", "nodes"]);
    assert!(nodes.lines().any(|l| l.starts_with("pico-1 ") && l.contains(" Ready ")), "{nodes}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !run(&server, &["get", "node", "pico-1", "-o", "jsonpath={.spec.taints}"]).is_empty() {
        assert!(Instant::now() < deadline, "the cordon's taint stayed after uncordon");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// kubectl prints Events with the server's columns (kube's printEvent), the same through both
// APIs, whichever wrote them: here kube-rs's Recorder (events.k8s.io), twice (a series).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_events_a_recorder_made_through_both_apis() {
    use crate::events::{node_lost, pod_reference, recorder};
    let (cluster, server) = cluster().await;
    let reference = pod_reference(&cluster.client, "critical-prod-3").await;
    let recorder = recorder(&cluster.client);
    recorder.publish(&node_lost(), &reference).await.unwrap();
    recorder.publish(&node_lost(), &reference).await.unwrap();

    let events = run(&server, &["get", "events", "-n", "demopod"]);
    let header: Vec<&str> = events.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{events}");
    let row = events.lines().find(|l| l.contains("NodeLost")).unwrap_or_else(|| panic!("no NodeLost: {events}"));
    for cell in ["Warning", "pod/critical-prod-3", "node pico-2 is unreachable"] {
        assert!(row.contains(cell), "{cell} in {row}");
    }

    let wide = run(&server, &["get", "events.events.k8s.io", "-n", "demopod", "-o", "wide"]);
    let header = wide.lines().next().unwrap();
    for column in ["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"] {
        assert!(header.contains(column), "{column} in {header}");
    }
    let row = wide.lines().find(|l| l.contains("NodeLost")).unwrap_or_else(|| panic!("no NodeLost: {wide}"));
    assert!(row.contains("conferenceli, booth-1"), "the reporting controller and instance: {row}");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert!(
        cells.ends_with(&["2", cells[cells.len() - 1]]) && cells[cells.len() - 1].starts_with("critical-prod-3."),
        "{row}"
    );

    let selected = run(&server, &["get", "events", "-n", "demopod", "--field-selector", "involvedObject.kind=Node"]);
    assert!(!selected.contains("NodeLost"), "{selected}");
    let selected = run(
        &server,
        &["get", "ev.events.k8s.io", "-n", "demopod", "--field-selector", "regarding.name=critical-prod-3"],
    );
    assert!(selected.contains("NodeLost"), "{selected}");
}
