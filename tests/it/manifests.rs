//! The booth's manifests proved by an API server that says no: `conferenceli run` as the booth's
//! service account against `conferenceli sim --token-auth-file`, with only the CRDs and
//! deploy/base's namespace, service account and RBAC applied by an admin (the booth starts,
//! shows the pods, a press kills one, a lead is stored); what `kubectl auth can-i` answers for
//! that account; and every rule of deploy/base/rbac.yaml taken away in turn, named by
//! `conferenceli check` and by the running booth's health card rather than failing later.
//!
//! The expectations follow `conferenceli::api_calls()` and the manifest, not a list written
//! here, so a change of either (evictions instead of deletes) changes what is asked.

use crate::binary::{BIN, Running};
use crate::common::{TestCluster, client_with_token, eventually, fast_config, free_port, kubeconfig_with_token};
use crate::leads::{Visitor, as_refs, complete};
use crate::shipping::{documents, repo_file};
use conferenceli::cluster::api_calls::{ApiCall, Scope};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const ADMIN: &str = "admin-7f3a91c2";
const BOOTH: &str = "booth-2c84e05d";
const BOOTH_USER: &str = "system:serviceaccount:conferenceli:conferenceli";

/// The token file: a cluster admin, and the booth's service account as deploy/base names it.
fn tokens() -> String {
    format!("{ADMIN},admin,uid-admin,system:masters\n{BOOTH},{BOOTH_USER},uid-booth\n")
}

fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("tokens.csv");
    std::fs::write(&path, tokens()).unwrap();
    path
}

/// What the admin installs: deploy/base's namespace, service account and RBAC.
const INSTALLED: [&str; 3] = ["deploy/base/namespace.yaml", "deploy/base/serviceaccount.yaml", "deploy/base/rbac.yaml"];

/// `conferenceli sim --token-auth-file` on a free port, over HTTPS; its URL and CA file.
struct SimProcess {
    _process: Running,
    url: String,
    ca: PathBuf,
}

impl SimProcess {
    async fn start(dir: &Path) -> Self {
        let port = free_port();
        let certs = dir.join("certs");
        let process = Command::new(BIN)
            .args(["sim", "--listen", &format!("127.0.0.1:{port}"), "--start-delay-ms", "300"])
            .arg("--token-auth-file")
            .arg(token_file(dir))
            .arg("--cert-dir")
            .arg(&certs)
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start conferenceli sim");
        let ca = certs.join("ca.crt");
        eventually(Duration::from_secs(10), "the simulated API", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            ca.exists().then_some(())
        })
        .await;
        Self { _process: Running(process), url: format!("https://127.0.0.1:{port}"), ca }
    }

    /// kubectl as the user of `token`: exit code and output.
    fn kubectl(&self, token: &str, args: &[&str], stdin: Option<&str>) -> (i32, String) {
        let ca = self.ca.to_string_lossy();
        let mut all =
            vec!["--server", &self.url, "--certificate-authority", &ca, "--token", token, "--request-timeout", "10s"];
        all.extend_from_slice(args);
        crate::kubectl::run_with_input(&all, stdin)
    }

    /// `kubectl auth can-i` as the booth: `yes` or `no`.
    fn booth_can_i(&self, args: &[&str]) -> String {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        let (code, out) = self.kubectl(BOOTH, &all, None);
        let answer = out.lines().map(str::trim).find(|l| *l == "yes" || *l == "no").unwrap_or_default().to_string();
        assert_eq!(code, if answer == "yes" { 0 } else { 1 }, "can-i {args:?}: {out}");
        answer
    }
}

/// The namespace of a call of the booth's, as deploy/base places it.
fn namespace_of(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Target => Some("demopod"),
        Scope::Own => Some("conferenceli"),
        Scope::Cluster => None,
    }
}

/// `kubectl auth can-i` arguments for a call: `delete pods -n demopod`,
/// `get booths.conferenceli.dev --subresource=status -n conferenceli`.
fn can_i_args(call: &ApiCall) -> Vec<String> {
    let (plural, sub) = call.resource.split_once('/').map_or((call.resource, None), |(p, s)| (p, Some(s)));
    let resource = if call.group.is_empty() { plural.to_string() } else { format!("{plural}.{}", call.group) };
    let mut args = vec![call.verb.to_string(), resource];
    if let Some(sub) = sub {
        args.push(format!("--subresource={sub}"));
    }
    if let Some(namespace) = namespace_of(call.scope) {
        args.extend(["-n".to_string(), namespace.to_string()]);
    }
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booth_runs_as_its_service_account_with_only_the_manifests_rbac() {
    conferenceli::http::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::start(dir.path()).await;

    // Nothing is granted yet: the booth's account is refused, kube-apiserver's way.
    assert_eq!(sim.booth_can_i(&["list", "pods", "-n", "demopod"]), "no");
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let (code, out) = sim.kubectl(ADMIN, &["apply", "-f", crds.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}");
    let manifests: String = INSTALLED.iter().map(|f| format!("---\n{}", repo_file(f))).collect();
    let (code, out) = sim.kubectl(ADMIN, &["apply", "-f", "-"], Some(&manifests));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("role.rbac.authorization.k8s.io/conferenceli-target created"), "{out}");

    // What the manifests grant, asked as kubectl asks: every request the binary declares, and
    // the three answers.
    for call in conferenceli::api_calls() {
        let args = can_i_args(&call);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(sim.booth_can_i(&args), "yes", "{call:?}");
    }
    assert_eq!(sim.booth_can_i(&["delete", "pods", "-n", "demopod"]), "yes");
    assert_eq!(sim.booth_can_i(&["delete", "nodes"]), "no");
    assert_eq!(sim.booth_can_i(&["get", "secrets", "-n", "demopod"]), "no");
    assert_eq!(sim.booth_can_i(&["get", "secrets", "-n", "conferenceli"]), "no");

    // The booth itself, as its service account.
    let kubeconfig = kubeconfig_with_token(&sim.url, BOOTH, Some(&sim.ca), dir.path());
    let (private, public) = (free_port(), free_port());
    let log = dir.path().join("booth.log");
    let booth = Command::new(BIN)
        .args(["run", "--listen-addr", &format!("127.0.0.1:{private}")])
        .args(["--public-listen-addr", &format!("127.0.0.1:{public}"), "--leds", "virtual"])
        .args(["--chaos-cooldown-seconds", "0", "--availability-requests-per-second", "0"])
        .env("KUBECONFIG", &kubeconfig)
        .env("CHAOS_BASIC_AUTH_PASSWORD", "booth-secret")
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _booth = Running(booth);
    let private = format!("http://127.0.0.1:{private}");
    eventually(Duration::from_secs(30), "the booth ready", || async {
        let response = reqwest::get(format!("{private}/readyz")).await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    let state: Value = eventually(Duration::from_secs(20), "five running pods", || async {
        let state: Value = reqwest::get(format!("{private}/api/state")).await.ok()?.json().await.ok()?;
        let running = state["pods"].as_array()?.iter().filter(|p| p["status"] == "Running").count();
        (running == 5).then_some(state)
    })
    .await;
    assert_eq!(state["nodes"].as_array().unwrap().len(), 3);

    let answer = reqwest::Client::new()
        .post(format!("{private}/chaos"))
        .basic_auth("admin", Some("booth-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let victim = crate::common::victim_of(&answer.json().await.unwrap());
    eventually(Duration::from_secs(10), "the pod taken away", || async {
        let state: Value = reqwest::get(format!("{private}/api/state")).await.ok()?.json().await.ok()?;
        let pod = state["pods"].as_array()?.iter().find(|p| p["name"] == victim.as_str()).cloned();
        pod.is_none_or(|p| p["status"] != "Running").then_some(())
    })
    .await;

    let visitor = Visitor::open(&format!("http://127.0.0.1:{public}")).await;
    let fields = complete("grace@example.org");
    assert_eq!(visitor.submit(&as_refs(&fields)).await.status(), 200);
    let (code, leads) = sim.kubectl(ADMIN, &["get", "leads", "-n", "conferenceli", "-o", "json"], None);
    assert_eq!(code, 0, "{leads}");
    let leads: Value = serde_json::from_str(&leads).unwrap();
    assert_eq!(leads["items"][0]["spec"]["email"], "grace@example.org", "the lead is stored");

    // Nothing was refused on the way, and the booth's own checks found no permission missing.
    let lines = std::fs::read_to_string(&log).unwrap();
    for line in lines.lines() {
        assert!(!line.contains("is forbidden"), "a request was refused: {line}");
        let entry: Value = serde_json::from_str(line).unwrap_or_default();
        let message = entry["fields"]["message"].as_str().unwrap_or_default();
        assert!(
            !(message.starts_with("health check failed") && entry["fields"]["group"] == "Permissions"),
            "the booth's health check names a missing permission: {line}"
        );
    }

    // And `conferenceli check`, as the booth's account: the cluster and its rights pass.
    let output = Command::new(BIN)
        .args(["check", "--output", "json", "--leds", "virtual"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).expect("the JSON report");
    let checks = report["checks"].as_array().unwrap();
    let failed: Vec<&Value> = checks.iter().filter(|c| c["status"] == "fail").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(output.status.code(), Some(0));
    let account = checks.iter().find(|c| c["name"] == "account").expect("the account line");
    assert_eq!(account["status"], "ok", "{account}");
    assert!(account["message"].as_str().unwrap().contains(BOOTH_USER));
}

/// The documents of deploy/base/rbac.yaml, for the booth's account only (the Blinkt!'s has its
/// own file).
fn rbac_documents() -> Vec<Value> {
    documents(&repo_file("deploy/base/rbac.yaml"))
}

/// Every rule of the manifest's roles: (role document index, rule index).
fn rules(documents: &[Value]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (d, doc) in documents.iter().enumerate() {
        if doc["kind"] == "Role" || doc["kind"] == "ClusterRole" {
            for r in 0..doc["rules"].as_array().map_or(0, Vec::len) {
                out.push((d, r));
            }
        }
    }
    out
}

/// Applies `documents` as the admin (server-side apply; `rules` sent whole, as kubectl apply
/// replaces the list).
async fn apply(admin: &kube::Client, documents: &[Value]) {
    for doc in documents {
        let (group, version) = match doc["apiVersion"].as_str().unwrap().split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", doc["apiVersion"].as_str().unwrap()),
        };
        let kind = doc["kind"].as_str().unwrap();
        let plural = format!("{}s", kind.to_lowercase());
        let resource =
            ApiResource::from_gvk_with_plural(&kube::api::GroupVersionKind::gvk(group, version, kind), &plural);
        let name = doc["metadata"]["name"].as_str().unwrap();
        let api: Api<DynamicObject> = match doc["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(admin.clone(), ns, &resource),
            None => Api::all_with(admin.clone(), &resource),
        };
        let params = PatchParams::apply("manifests-test").force();
        api.patch(name, &params, &Patch::Apply(doc)).await.unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
    }
}

/// The booth's calls a rule grants: those of its role's scope whose group, resource and verb
/// the rule names.
fn granted_by(role: &Value, rule: &Value) -> BTreeSet<ApiCall> {
    let scope = match (role["kind"].as_str(), role["metadata"]["namespace"].as_str()) {
        (Some("ClusterRole"), _) => Scope::Cluster,
        (_, Some("demopod")) => Scope::Target,
        _ => Scope::Own,
    };
    let names = |key: &str| -> Vec<String> {
        rule[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    let (groups, resources, verbs) = (names("apiGroups"), names("resources"), names("verbs"));
    conferenceli::api_calls()
        .into_iter()
        .filter(|c| c.scope == scope)
        .filter(|c| groups.iter().any(|g| g == c.group))
        .filter(|c| resources.iter().any(|r| r == c.resource))
        .filter(|c| verbs.iter().any(|v| v == c.verb))
        .collect()
}

/// The permission line `conferenceli check` shows for a call: `pods in demopod`.
fn line_name(call: &ApiCall) -> String {
    let (plural, sub) = call.resource.split_once('/').map_or((call.resource, None), |(p, s)| (p, Some(s)));
    let mut resource = if call.group.is_empty() { plural.to_string() } else { format!("{plural}.{}", call.group) };
    if let Some(sub) = sub {
        resource = format!("{resource}/{sub}");
    }
    match namespace_of(call.scope) {
        Some(ns) => format!("{resource} in {ns}"),
        None => format!("{resource} (cluster-wide)"),
    }
}

/// The booth in-process as the account of `client`, with a staff session on its panel.
async fn booth_health(clients: conferenceli::cluster::client::Clients) -> Value {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let args = crate::common::app_args(listener.local_addr().unwrap(), &["--leds", "virtual"]);
    let credentials = args.staff_credentials(true).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let listeners = crate::common::listeners_with(listener);
    let task = tokio::spawn(conferenceli::app::serve(
        clients,
        args,
        credentials,
        listeners,
        conferenceli::app::Devices::default(),
        shutdown.clone(),
    ));
    let (_, staff) = crate::dashboard::Staff::login(&url, conferenceli::config::DEMO_PASSWORD).await;
    let report: Value = serde_json::from_str(&staff.page("/control/health").await).expect("the health report");
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_taken_from_the_manifest_is_named_by_check_and_by_the_booth() {
    let tokens = kube_sim::TokenFile::parse(&tokens(), "tokens.csv").unwrap();
    let config = kube_sim::SimConfig { tokens: Some(tokens), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let admin = client_with_token(&cluster.url(), ADMIN).await;
    let booth = crate::common::clients_with_token(&cluster.url(), BOOTH).await;
    let mut installed = Vec::new();
    for file in INSTALLED {
        installed.extend(documents(&repo_file(file)));
    }
    apply(&admin, &installed).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_with_token(&cluster.url(), BOOTH, None, dir.path());
    let manifest = rbac_documents();
    let all_rules = rules(&manifest);
    assert!(all_rules.len() >= 8, "{all_rules:?}");
    for (d, r) in all_rules {
        let (role, rule) = (&manifest[d], &manifest[d]["rules"][r]);
        let role_name = role["metadata"]["name"].as_str().unwrap();
        let missing = granted_by(role, rule);
        assert!(!missing.is_empty(), "a rule of {role_name} grants nothing the booth asks for: {rule}");
        let mut without = role.clone();
        without["rules"].as_array_mut().unwrap().remove(r);
        apply(&admin, &[without]).await;

        // `conferenceli check` as the booth's account.
        let output = Command::new(BIN)
            .args(["check", "--output", "json", "--leds", "virtual"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "check fails without {rule} of {role_name}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("the JSON report");
        let booth_report = booth_health(booth.clone()).await;
        for (who, report) in [("check", &report), ("the booth's health card", &booth_report)] {
            let failing: Vec<&Value> = report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["group"] == "permissions" && c["status"] == "fail")
                .collect();
            let lines: BTreeSet<String> = missing.iter().map(line_name).collect();
            let named: BTreeSet<String> = failing.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
            assert_eq!(named, lines, "{who} without {rule} of {role_name}: {failing:#?}");
            for check in failing {
                let (message, hint) = (check["message"].as_str().unwrap(), check["hint"].as_str().unwrap());
                let name = check["name"].as_str().unwrap();
                for call in missing.iter().filter(|c| line_name(c) == name) {
                    assert!(message.contains(call.verb), "{who}: {message} names {}", call.verb);
                    assert!(hint.contains(&format!("{:?}", call.verb)), "{who}: {hint}");
                }
                assert!(hint.contains(role_name) && hint.contains("deploy/base/rbac.yaml"), "{who}: {hint}");
                if let Some(ns) = role["metadata"]["namespace"].as_str() {
                    assert!(
                        name.ends_with(&format!(" in {ns}")) && hint.contains(&format!("(namespace {ns})")),
                        "{who}: {hint}"
                    );
                }
            }
        }
        apply(&admin, std::slice::from_ref(role)).await;
    }
}
