//! Clients nobody here wrote against the simulated API: the official Python client
//! (`kubernetes` from PyPI, pinned in tests/clients/python/requirements.txt, in a virtualenv
//! under the workspace's target/) and the official JavaScript client (`@kubernetes/client-node`,
//! pinned in tests/clients/js/package-lock.json). The workspace's `.ci/test-all` installs both
//! when they are missing.

use crate::common::{TestCluster, fast_config};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace's target directory (the parent of the tests' scratch directory).
fn target_dir() -> PathBuf {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    scratch.parent().expect("the target directory").to_path_buf()
}

fn python() -> PathBuf {
    let python = target_dir().join("clients-venv/bin/python");
    let installed =
        python.is_file() && Command::new(&python).args(["-c", "import kubernetes"]).status().is_ok_and(|s| s.success());
    assert!(
        installed,
        "the official Python Kubernetes client is not installed in target/clients-venv: run ./.ci/test-all, which installs it"
    );
    python
}

fn node_client_dir() -> PathBuf {
    let dir = repo().join("tests/clients/js");
    let installed = dir.join("node_modules/@kubernetes/client-node/package.json").is_file()
        && Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "node or the official JavaScript Kubernetes client is not installed (tests/clients/js/node_modules): run ./.ci/test-all, which installs them"
    );
    dir
}

/// Runs a client script to its end (at most a minute) and reads its JSON lines by step.
async fn run_script(mut command: Command) -> std::collections::HashMap<String, Value> {
    let output = tokio::time::timeout(Duration::from_secs(60), tokio::task::spawn_blocking(move || command.output()))
        .await
        .expect("the client script finished within a minute")
        .expect("join")
        .expect("run the client script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|v| (v["step"].as_str().unwrap_or_default().to_string(), v))
        .collect()
}

#[tokio::test]
async fn the_official_python_client_lists_watches_patches_status_records_deletes_and_evicts() {
    let python = python();
    let cluster = TestCluster::start(fast_config()).await;
    let mut command = Command::new(python);
    command.arg(repo().join("tests/clients/python/conformance.py")).args([&cluster.url(), "demopod"]);
    let steps = run_script(command).await;

    let names: Vec<&str> = steps["list"]["names"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(names, ["critical-prod-0", "critical-prod-1", "critical-prod-2", "critical-prod-3", "critical-prod-4"]);
    // `watch=True` started a watch with the client's defaults: five ADDED, then the deletion.
    let watch = &steps["watch"];
    assert_eq!(watch["deleted"], "critical-prod-1");
    let types: Vec<&str> = watch["types"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(&types[..5], ["ADDED"; 5]);
    assert_eq!(types.last(), Some(&"DELETED"));

    // The unknown field was pruned, the CRD's defaults applied, no status on create.
    let spec = &steps["create"]["spec"];
    assert!(spec.get("favouriteColour").is_none(), "{spec}");
    assert_eq!(
        (&spec["campaign"], &spec["phone"], &spec["name"]),
        (&Value::from(""), &Value::from(""), &Value::from("Ada"))
    );
    assert!(steps["create"]["status"].is_null());
    let status = &steps["patchStatus"]["status"];
    assert_eq!((&status["syncState"], &status["odooId"]), (&Value::from("Synced"), &Value::from(7)));
    assert_eq!(status["printState"], "Pending", "defaults fill the rest of the status");
    assert_eq!(steps["get"]["status"], *status);
    assert_eq!((&steps["gone"]["code"], &steps["gone"]["reason"]), (&Value::from(404), &Value::from("NotFound")));
    assert_eq!(cluster.sim.store.pruned_fields(), ["leads.conferenceli.dev demopod/python-lead: spec.favouriteColour"]);

    // An Event created through events.k8s.io/v1, listed through v1 by its core field labels.
    let events = &steps["events"];
    assert_eq!((&events["found"], &events["sameVersion"]), (&Value::from(1), &Value::from(true)), "{events}");
    assert_eq!(
        (&events["message"], &events["reportingComponent"]),
        (&Value::from("recorded from Python"), &Value::from("python-client"))
    );

    // create_namespaced_pod_eviction through a budget of 4: one goes, the next is refused.
    assert_eq!((&steps["budget"]["current"], &steps["budget"]["desired"]), (&Value::from(5), &Value::from(4)));
    let evict = &steps["evict"];
    assert_eq!((&evict["pod"], &evict["deleting"]), (&Value::from("critical-prod-3"), &Value::from(true)));
    assert!(evict["conditions"].as_array().unwrap().contains(&Value::from("DisruptionTarget")), "{evict}");
    let refused = &steps["refused"];
    assert_eq!((&refused["code"], &refused["reason"]), (&Value::from(429), &Value::from("TooManyRequests")));
    assert_eq!(refused["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(refused["cause"]["reason"], "DisruptionBudget");
    let cause = refused["cause"]["message"].as_str().unwrap();
    assert!(cause.starts_with("The disruption budget python-budget needs 4 healthy pods and has "), "{cause}");
}

#[tokio::test]
async fn the_official_javascript_client_lists_then_watches() {
    let dir = node_client_dir();
    let cluster = TestCluster::start(fast_config()).await;
    let mut command = Command::new("node");
    command.current_dir(&dir).arg("list-then-watch.mjs").args([&cluster.url(), "demopod"]);
    let steps = run_script(command).await;

    let names = steps["list"]["names"].as_array().unwrap();
    assert_eq!(names.len(), 5);
    let events = steps["watch"]["events"].as_array().unwrap();
    // From the list's version on: no replay of the five pods, then the deletion (bookmarks may
    // come in between, and the StatefulSet's replacement after it).
    assert!(events.iter().all(|e| e[0] != "ADDED" || e[1] != "critical-prod-1"), "{events:?}");
    let deleted = events.iter().position(|e| e[0] == "DELETED" && e[1] == "critical-prod-0");
    assert!(deleted.is_some(), "{events:?}");
    assert!(events[..deleted.unwrap()].iter().all(|e| e[0] == "BOOKMARK" || e[0] == "MODIFIED"), "{events:?}");
}
