//! What ships: the Dockerfile builds what the crate builds; the manifests set only what the
//! binary reads, grant exactly what it calls, point the probes and the scrapes at the health
//! listener and let each listener be reached only by its audience.

use std::path::Path;

pub fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Dockerfile's instructions, with line continuations joined.
fn dockerfile_instructions() -> Vec<String> {
    let text = repo_file("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#') && !l.is_empty()) {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_the_crates_binary_the_way_ci_does() {
    let manifest = manifest();
    let instructions = dockerfile_instructions();
    let build = instructions.iter().find(|i| i.contains("cargo build")).expect("a cargo build step");
    for flag in ["--release", "--locked", &format!("--bin {}", manifest.name)] {
        assert!(build.contains(flag), "the build step lacks {flag}: {build}");
    }
    assert!(build.contains(&format!("target/release/{}", manifest.name)), "copies the built binary: {build}");
    let entrypoint = instructions.iter().find(|i| i.starts_with("ENTRYPOINT")).expect("an entrypoint");
    assert!(entrypoint.contains(&format!("/usr/local/bin/{}", manifest.name)), "{entrypoint}");
    assert!(instructions.iter().any(|i| i.starts_with("USER 65532")), "non-root by default");

    // The image's toolchain is at least the one these tests run on: the crate declares no
    // rust-version (nothing would check an older one), so the tested toolchain is the floor.
    let rust = instructions.iter().find_map(|i| i.strip_prefix("ARG RUST_VERSION=")).expect("ARG RUST_VERSION");
    let version = |v: &str| v.split('.').take(2).map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>();
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .expect("rustc --version");
    let tested = String::from_utf8(rustc.stdout).unwrap();
    let tested = tested.split_whitespace().nth(1).expect("rustc X.Y.Z");
    assert!(version(rust) >= version(tested), "Dockerfile Rust {rust} < the tested toolchain {tested}");

    // Every top-level directory the build reads is copied into the image.
    for dir in ["src", "templates", "benches", "tests"] {
        assert!(instructions.iter().any(|i| i.starts_with(&format!("COPY {dir} "))), "COPY {dir} missing");
    }
    for copied in ["Cargo.toml", "Cargo.lock"] {
        assert!(instructions.iter().any(|i| i.starts_with("COPY ") && i.contains(copied)), "{copied} not copied");
    }
}

/// The package name from Cargo.toml.
struct Manifest {
    name: String,
}

fn manifest() -> Manifest {
    let cargo: toml::Table = repo_file("Cargo.toml").parse().expect("Cargo.toml parses");
    let package = cargo["package"].as_table().expect("[package]");
    Manifest { name: package["name"].as_str().expect("name").to_string() }
}

/// Every YAML file under a directory of the repository.
fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out.sort();
    out
}

pub fn documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("valid YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("kubectl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl is installed (the README's test command installs it)");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "kubectl {args:?}: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn rendered(dir: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    documents(&kubectl(&["kustomize", path.to_str().unwrap()], None))
}

#[test]
fn every_manifest_parses_and_names_its_kind() {
    let files: Vec<_> = yaml_files("deploy").into_iter().chain(yaml_files("crds")).collect();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let docs = documents(&std::fs::read_to_string(&file).unwrap());
        assert!(!docs.is_empty(), "{} is empty", file.display());
        for doc in docs {
            assert!(doc["apiVersion"].is_string() && doc["kind"].is_string(), "{}: {doc}", file.display());
            if doc["kind"] != "Kustomization" {
                assert!(doc["metadata"]["name"].is_string(), "{}: no name", file.display());
            }
        }
    }
}

#[test]
fn every_kustomization_renders() {
    for file in yaml_files("deploy").into_iter().filter(|f| f.file_name().is_some_and(|n| n == "kustomization.yaml")) {
        let dir =
            file.parent().unwrap().strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_str().unwrap().to_string();
        assert!(!rendered(&dir).is_empty(), "{dir} renders nothing");
    }
}

/// Every environment variable the binary reads, from its command-line definition.
fn variables_the_binary_reads() -> std::collections::BTreeSet<String> {
    super::docs::variables_and_flags().into_keys().collect()
}

#[test]
fn manifests_set_only_variables_the_binary_reads() {
    let known = variables_the_binary_reads();
    let mut set = Vec::new();
    for doc in rendered("deploy/base") {
        let containers =
            doc.pointer("/spec/template/spec/containers").and_then(|c| c.as_array()).cloned().unwrap_or_default();
        for container in containers {
            for env in container["env"].as_array().into_iter().flatten() {
                set.push(env["name"].as_str().unwrap().to_string());
            }
        }
    }
    for doc in documents(&repo_file("deploy/examples/secret.yaml")) {
        set.extend(doc["stringData"].as_object().unwrap().keys().cloned());
    }
    assert!(set.len() >= 8, "{set:?}");
    for name in set {
        assert!(known.contains(&name), "deploy/ sets {name}, which the binary does not read");
    }
}

type Grant = (String, String, String, String);

/// What the rendered RBAC grants service account `account` of namespace conferenceli, as
/// (scope, group, resource, verb); a rule limited by `resourceNames` counts as granted.
fn granted_to(docs: &[serde_json::Value], account: &str) -> std::collections::BTreeSet<Grant> {
    use std::collections::BTreeSet;
    let bound: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding" || d["kind"] == "ClusterRoleBinding")
        .filter(|d| {
            d["subjects"].as_array().unwrap().iter().any(|s| s["name"] == account && s["namespace"] == "conferenceli")
        })
        .map(|d| {
            (d["roleRef"]["kind"].as_str().unwrap().to_string(), d["roleRef"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    let mut granted = BTreeSet::new();
    for role in docs.iter().filter(|d| d["kind"] == "Role" || d["kind"] == "ClusterRole") {
        let key = (role["kind"].as_str().unwrap().to_string(), role["metadata"]["name"].as_str().unwrap().to_string());
        if !bound.contains(&key) {
            continue;
        }
        let scope = match (role["kind"].as_str(), role["metadata"]["namespace"].as_str()) {
            (Some("ClusterRole"), _) => "cluster",
            (_, Some("demopod")) => "target",
            (_, Some("conferenceli")) => "own",
            other => panic!("a Role in an unexpected namespace: {other:?}"),
        };
        for rule in role["rules"].as_array().unwrap() {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        let (g, r, v) = (group.as_str().unwrap(), resource.as_str().unwrap(), verb.as_str().unwrap());
                        assert!(g != "*" && r != "*" && v != "*", "no wildcards in RBAC");
                        granted.insert((scope.to_string(), g.to_string(), r.to_string(), v.to_string()));
                    }
                }
            }
        }
    }
    granted
}

fn as_grants(calls: Vec<conferenceli::cluster::api_calls::ApiCall>) -> std::collections::BTreeSet<Grant> {
    use conferenceli::cluster::api_calls::Scope;
    calls
        .into_iter()
        .map(|call| {
            let scope = match call.scope {
                Scope::Target => "target",
                Scope::Own => "own",
                Scope::Cluster => "cluster",
            };
            (scope.to_string(), call.group.to_string(), call.resource.to_string(), call.verb.to_string())
        })
        .collect()
}

#[test]
fn rbac_grants_exactly_the_requests_the_binary_sends() {
    let docs = rendered("deploy/base");
    for (account, used) in [
        ("conferenceli", as_grants(conferenceli::api_calls())),
        ("conferenceli-blinkt", as_grants(conferenceli::blinkt_api_calls())),
    ] {
        let granted = granted_to(&docs, account);
        let missing: Vec<_> = used.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&used).collect();
        assert!(missing.is_empty(), "{account}: RBAC lacks what the binary does: {missing:?}");
        assert!(extra.is_empty(), "{account}: RBAC grants what the binary never does: {extra:?}");
    }
}

// kubectl runs as a blocking child process: the simulated API needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_workload_and_booth_objects_are_accepted_by_the_api() {
    let cluster = crate::common::TestCluster::start(crate::common::fast_config()).await;
    let server = cluster.url();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let applied = kubectl(&["--server", &server, "apply", "-f", crds.to_str().unwrap()], None);
    assert!(applied.contains("customresourcedefinition.apiextensions.k8s.io/booths.conferenceli.dev"), "{applied}");
    let workload = kubectl(
        &["kustomize", Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo-workload").to_str().unwrap()],
        None,
    );
    let applied = kubectl(&["--server", &server, "apply", "-f", "-"], Some(&workload));
    assert!(applied.contains("statefulset.apps/critical-prod created"), "{applied}");
    // The booth's own objects, RBAC included (served like any resource; tests/it/manifests.rs
    // has an API server that enforces it), without the NetworkPolicies (it serves no
    // networking.k8s.io: it has no network to police).
    let base: Vec<serde_json::Value> = rendered("deploy/base")
        .into_iter()
        .filter(|d| !d["apiVersion"].as_str().unwrap().starts_with("networking.k8s.io"))
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": base});
    let applied = kubectl(&["--server", &server, "apply", "-f", "-"], Some(&list.to_string()));
    assert!(applied.contains("deployment.apps/conferenceli created"), "{applied}");
    assert!(applied.contains("clusterrolebinding.rbac.authorization.k8s.io/conferenceli-nodes created"), "{applied}");
    let sts = kubectl(
        &[
            "--server",
            &server,
            "get",
            "statefulset",
            "critical-prod",
            "-n",
            "demopod",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
        None,
    );
    assert_eq!(sts, "5");
}

/// The first container of the rendered workload `kind` named `name`.
fn container<'a>(docs: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    let workload = docs
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the manifests"));
    &workload["spec"]["template"]["spec"]["containers"][0]
}

/// The port `HEALTH_LISTEN_ADDR` listens on by default, as `--help` would say.
fn health_port() -> u64 {
    let command = <conferenceli::config::Cli as clap::CommandFactory>::command();
    let run = command.find_subcommand("run").expect("run");
    let arg = run.get_arguments().find(|a| a.get_long() == Some("health-listen-addr")).expect("--health-listen-addr");
    let default = arg.get_default_values()[0].to_string_lossy().into_owned();
    default.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).expect("a port")
}

#[test]
fn the_probes_and_the_scrapes_reach_the_health_listener() {
    let docs = rendered("deploy/base");
    let port = health_port();
    for (kind, name) in [("Deployment", "conferenceli"), ("DaemonSet", "conferenceli-blinkt")] {
        let container = container(&docs, kind, name);
        let ports = container["ports"].as_array().expect("ports");
        let health = ports.iter().find(|p| p["name"] == "health").unwrap_or_else(|| panic!("{name}: a health port"));
        assert_eq!(health["containerPort"], port, "{name}: the health port is HEALTH_LISTEN_ADDR's");
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &container[probe]["httpGet"];
            assert_eq!((get["path"].as_str(), get["port"].as_str()), (Some(path), Some("health")), "{name} {probe}");
        }
    }
    let booth = docs.iter().find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "conferenceli").unwrap();
    let annotations = &booth["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/port"], port.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    // The node's address is trusted: kube-proxy may present the Pi's own clients from it.
    let env = container(&docs, "Deployment", "conferenceli")["env"].as_array().unwrap();
    let trusted = env.iter().find(|e| e["name"] == "TRUSTED_CLIENTS").expect("TRUSTED_CLIENTS");
    assert_eq!(trusted["valueFrom"]["fieldRef"]["fieldPath"], "status.hostIP");
    // What calls no API mounts no token.
    let plugin =
        docs.iter().find(|d| d["metadata"]["name"] == "conferenceli-device-plugin" && d["kind"] == "DaemonSet");
    let workload = rendered("deploy/demo-workload").into_iter().find(|d| d["kind"] == "StatefulSet").unwrap();
    for pod in [&plugin.unwrap()["spec"]["template"]["spec"], &workload["spec"]["template"]["spec"]] {
        assert_eq!(pod["automountServiceAccountToken"], false, "{pod}");
    }
}

#[test]
fn each_listener_of_the_booth_is_reached_only_by_its_audience() {
    let docs = rendered("deploy/base");
    let policies: Vec<&serde_json::Value> = docs.iter().filter(|d| d["kind"] == "NetworkPolicy").collect();
    let deny = policies.iter().find(|p| p["metadata"]["name"] == "default-deny-ingress").expect("a default deny");
    assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
    assert!(deny["spec"]["ingress"].is_null(), "lets nothing in");
    let booth = policies.iter().find(|p| p["metadata"]["name"] == "conferenceli").expect("the booth's policy");
    assert_eq!(booth["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], "booth");
    let rules = booth["spec"]["ingress"].as_array().unwrap();
    let from = |port: &str| -> Vec<serde_json::Value> {
        let rule = rules.iter().filter(|r| r["ports"].as_array().unwrap().iter().any(|p| p["port"] == port));
        let rule: Vec<_> = rule.collect();
        assert_eq!(rule.len(), 1, "one rule for port {port}");
        assert_eq!(rule[0]["ports"].as_array().unwrap().len(), 1, "the {port} rule opens no other port");
        rule[0]["from"].as_array().unwrap().clone()
    };
    // The form: only the tunnel client's pods. The private listener: only an address range (the
    // booth LAN). The health listener: pods of an in-cluster Prometheus (the node always passes),
    // never an address range.
    let public = from("public");
    assert!(public.iter().all(|f| f["podSelector"]["matchLabels"]["conferenceli.dev/tunnel"] == "true"), "{public:?}");
    let private = from("http");
    assert!(private.iter().all(|f| f["ipBlock"]["cidr"].is_string() && f.get("podSelector").is_none()), "{private:?}");
    let health = from("health");
    assert!(health.iter().all(|f| f.get("ipBlock").is_none() && f["podSelector"].is_object()), "{health:?}");
    // Every port the booth's container opens has its rule, and the rules open no other.
    let ports: std::collections::BTreeSet<String> = container(&docs, "Deployment", "conferenceli")["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let opened: std::collections::BTreeSet<String> =
        rules.iter().flat_map(|r| r["ports"].as_array().unwrap()).map(|p| p["port"].as_str().unwrap().into()).collect();
    assert_eq!(ports, opened);
}

/// `conferenceli check --pre` asks for the right to create every kind an install writes, where
/// it writes it; and the roles its permission hints name are the manifest's, bound to the
/// booth's service account.
#[test]
fn check_names_the_manifests_as_they_are() {
    use conferenceli::cluster::api_calls::{SERVICE_ACCOUNT, Scope};
    use conferenceli::health::permissions::{INSTALL, Place};
    let mut docs = rendered("deploy/base");
    for file in yaml_files("crds") {
        docs.extend(documents(&std::fs::read_to_string(file).unwrap()));
    }
    for doc in &docs {
        let api_version = doc["apiVersion"].as_str().unwrap();
        let group = api_version.split_once('/').map_or("", |(group, _)| group);
        // The plural as kube makes it of these kinds (NetworkPolicy: networkpolicies).
        let kind = doc["kind"].as_str().unwrap().to_lowercase();
        let resource = match kind.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{kind}s"),
        };
        let place = match doc["metadata"]["namespace"].as_str() {
            None => Place::Cluster,
            Some("conferenceli") => Place::Own,
            Some("demopod") => Place::Target,
            Some("kube-system") => Place::KubeSystem,
            Some(other) => panic!("an object in an unexpected namespace: {other}"),
        };
        assert!(
            INSTALL.contains(&(group, resource.as_str(), place)),
            "check --pre does not ask for {group}/{resource} ({place:?})"
        );
    }
    let rbac = documents(&repo_file(conferenceli::cluster::api_calls::RBAC_MANIFEST));
    for scope in [Scope::Target, Scope::Own, Scope::Cluster] {
        let (kind, name) = scope.manifest_role();
        assert!(rbac.iter().any(|d| d["kind"] == kind && d["metadata"]["name"] == name), "no {kind} {name}");
        let bound = rbac.iter().any(|d| {
            d["roleRef"]["kind"] == kind
                && d["roleRef"]["name"] == name
                && d["subjects"].as_array().unwrap().iter().any(|s| s["name"] == SERVICE_ACCOUNT)
        });
        assert!(bound, "{kind} {name} is not bound to the service account {SERVICE_ACCOUNT}");
    }
}
