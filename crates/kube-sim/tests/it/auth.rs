//! Authentication and RBAC with a static token file, held to kube-apiserver by kubectl
//! (`--token`, `auth can-i`, `auth whoami`) and kube-rs: 401 and 403 bodies, reviews, the
//! masters group, and a Role and RoleBinding created through the API taking effect.

use crate::common::{TestCluster, fast_config};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec, SelfSubjectRulesReview,
    SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube_sim::{SimConfig, TokenFile};
use serde_json::{Value, json};
use std::process::Command;

const ADMIN: &str = "admin-token-4f1c";
const APP: &str = "app-token-91ab";
const ALICE: &str = "alice-token-77de";
/// The service account the tests grant rights to.
const APP_USER: &str = "system:serviceaccount:demo:app";

/// A token file as an operator would write it: an admin in `system:masters`, a service
/// account, and a plain user.
fn tokens() -> TokenFile {
    let text = format!(
        "{ADMIN},admin,uid-admin,\"system:masters,ops\"\n{APP},{APP_USER},uid-app\n{ALICE},alice,uid-alice,developers\n"
    );
    TokenFile::parse(&text, "tokens.csv").expect("a valid token file")
}

/// The cluster with the token file, over plain HTTP (kube-rs and reqwest send tokens on it).
async fn cluster() -> TestCluster {
    TestCluster::start(SimConfig { tokens: Some(tokens()), ..fast_config() }).await
}

/// The cluster with the token file over HTTPS, as kubectl needs it to send a token; its CA
/// certificate in `dir`.
async fn secure_cluster(dir: &std::path::Path) -> (std::sync::Arc<kube_sim::SimCluster>, kube_sim::SimServer, String) {
    let sim = kube_sim::SimCluster::start(SimConfig { tokens: Some(tokens()), ..fast_config() });
    let cert = kube_sim::ServingCert::generate(&["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let files = cert.write(dir).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sim.serve_tls(listener, &cert).unwrap();
    (sim, server, files.ca.to_string_lossy().into_owned())
}

/// A kube-rs client sending `token`, from a kubeconfig as `kubectl` would read it.
async fn client(url: &str, token: &str) -> kube::Client {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: sim, cluster: {{server: \"{url}\"}}}}]\n\
         contexts: [{{name: sim, context: {{cluster: sim, user: u}}}}]\ncurrent-context: sim\n\
         users: [{{name: u, user: {{token: \"{token}\"}}}}]\n"
    );
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

/// kubectl against the HTTPS server `server` (whose CA is the file `ca`) as `token`.
fn kubectl(server: &(String, String), token: Option<&str>, args: &[&str], stdin: Option<&str>) -> (i32, String) {
    use std::io::Write;
    let mut command = Command::new("kubectl");
    command.args(["--server", &server.0, "--certificate-authority", &server.1, "--request-timeout", "10s"]);
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    let mut child = command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl is installed (.ci/test-all installs it)");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// `kubectl auth can-i` as `token`: its one-word answer.
fn can_i(server: &(String, String), token: &str, args: &[&str]) -> String {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    let (code, out) = kubectl(server, Some(token), &all, None);
    let answer = out.lines().map(str::trim).find(|l| *l == "yes" || *l == "no").unwrap_or_default().to_string();
    assert_eq!(code, if answer == "yes" { 0 } else { 1 }, "can-i {args:?}: {out}");
    answer
}

/// What the admin applies for the service account: pods in demopod, and evictions.
const GRANT: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-killer, namespace: demopod}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "delete"]
- apiGroups: [""]
  resources: ["pods/eviction"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pod-killer, namespace: demopod}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-killer}
subjects:
- {kind: ServiceAccount, name: app, namespace: demo}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_is_authenticated_by_token_and_authorised_by_roles_created_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, running, ca) = secure_cluster(dir.path()).await;
    let server = (running.url(), ca);
    assert!(server.0.starts_with("https://"));

    // Without credentials kubectl meets the 401 and asks for a username, as against
    // kube-apiserver; with a token the server does not know, it gives up.
    let (code, out) = kubectl(&server, None, &["get", "pods", "-n", "demopod"], None);
    assert!(code != 0 && out.contains("Please enter Username"), "{out}");
    let (code, out) = kubectl(&server, Some("guessed"), &["get", "pods", "-n", "demopod"], None);
    assert!(code != 0 && out.contains("You must be logged in"), "{out}");

    let (code, out) = kubectl(&server, Some(ALICE), &["get", "pods", "-n", "demopod"], None);
    assert_ne!(code, 0);
    assert!(
        out.contains(r#"Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "demopod""#),
        "{out}"
    );
    let (code, out) = kubectl(&server, Some(ADMIN), &["get", "pods", "-n", "demopod"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("critical-prod-0"), "{out}");

    // Nothing granted yet: the service account may ask about itself and read discovery, no more.
    assert_eq!(can_i(&server, APP, &["delete", "pods", "-n", "demopod"]), "no");
    assert_eq!(can_i(&server, APP, &["create", "selfsubjectaccessreviews.authorization.k8s.io"]), "yes");

    let (code, out) = kubectl(&server, Some(APP), &["apply", "-f", "-"], Some(GRANT));
    assert!(code != 0 && out.contains("forbidden"), "the account cannot grant itself rights: {out}");
    let (code, out) = kubectl(&server, Some(ADMIN), &["apply", "-f", "-"], Some(GRANT));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("role.rbac.authorization.k8s.io/pod-killer created"), "{out}");

    assert_eq!(can_i(&server, APP, &["delete", "pods", "-n", "demopod"]), "yes");
    assert_eq!(can_i(&server, APP, &["create", "pods", "--subresource=eviction", "-n", "demopod"]), "yes");
    assert_eq!(can_i(&server, APP, &["delete", "pods", "-n", "default"]), "no");
    assert_eq!(can_i(&server, APP, &["delete", "nodes"]), "no");
    assert_eq!(can_i(&server, APP, &["get", "secrets", "-n", "demopod"]), "no");
    assert_eq!(can_i(&server, ADMIN, &["delete", "nodes"]), "yes");

    let (code, list) = kubectl(&server, Some(APP), &["auth", "can-i", "--list", "-n", "demopod"], None);
    assert_eq!(code, 0, "{list}");
    let pods = list.lines().find(|l| l.starts_with("pods ")).unwrap_or_else(|| panic!("{list}"));
    assert!(pods.contains("[list delete]"), "{list}");
    assert!(list.lines().any(|l| l.starts_with("pods/eviction ") && l.contains("[create]")), "{list}");
    assert!(list.lines().any(|l| l.contains("/version") && l.contains("[get]")), "discovery: {list}");

    let (code, out) =
        kubectl(&server, Some(APP), &["delete", "pod", "critical-prod-0", "-n", "demopod", "--wait=false"], None);
    assert_eq!(code, 0, "{out}");
    let (code, out) = kubectl(&server, Some(APP), &["get", "nodes"], None);
    assert!(
        code != 0
            && out.contains(&format!(
                r#"User "{APP_USER}" cannot list resource "nodes" in API group "" at the cluster scope"#
            )),
        "{out}"
    );

    let (code, bindings) = kubectl(&server, Some(ADMIN), &["get", "rolebindings", "-n", "demopod", "-o", "wide"], None);
    assert_eq!(code, 0, "{bindings}");
    let row = bindings.lines().find(|l| l.starts_with("pod-killer ")).unwrap_or_else(|| panic!("{bindings}"));
    assert!(row.contains("Role/pod-killer") && row.contains("demo/app"), "{bindings}");
    let (_, roles) = kubectl(&server, Some(ADMIN), &["get", "clusterroles"], None);
    assert!(roles.lines().any(|l| l.starts_with("cluster-admin ")) && roles.contains("system:discovery"), "{roles}");

    let (code, whoami) = kubectl(&server, Some(APP), &["auth", "whoami"], None);
    assert_eq!(code, 0, "{whoami}");
    assert!(whoami.contains(APP_USER) && whoami.contains("system:serviceaccounts:demo"), "{whoami}");
}

#[tokio::test]
async fn refusals_are_kube_apiservers_status_bodies() {
    let cluster = cluster().await;
    let url = cluster.url();
    let http = reqwest::Client::new();

    let bare = http.get(format!("{url}/api/v1/namespaces/demopod/pods")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    let body: Value = bare.json().await.unwrap();
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    let version = http.get(format!("{url}/version")).bearer_auth(ALICE).send().await.unwrap();
    assert_eq!(version.status(), 200, "discovery and the version are every user's");
    let stats = http.get(format!("{url}/sim/stats")).bearer_auth(ALICE).send().await.unwrap();
    assert_eq!(stats.status(), 403);
    let body: Value = stats.json().await.unwrap();
    assert_eq!(body["message"], r#"forbidden: User "alice" cannot get path "/sim/stats""#);
    assert_eq!(body["details"], json!({}));
    let stats = http.get(format!("{url}/sim/stats")).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(stats.status(), 200, "system:masters may do anything");

    let alice = client(&url, ALICE).await;
    let pods: Api<Pod> = Api::namespaced(alice.clone(), "demopod");
    let refused = pods.delete("critical-prod-1", &DeleteParams::default()).await.unwrap_err();
    let kube::Error::Api(status) = refused else { panic!("{refused:?}") };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        r#"pods "critical-prod-1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "demopod""#
    );
    let raw = http
        .delete(format!("{url}/api/v1/namespaces/demopod/pods/critical-prod-1"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["details"], json!({"name": "critical-prod-1", "kind": "pods"}));
    assert_eq!(body["reason"], "Forbidden");
    let evict = http
        .post(format!("{url}/api/v1/namespaces/demopod/pods/critical-prod-1/eviction"))
        .bearer_auth(ALICE)
        .json(&json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "critical-prod-1"}}))
        .send()
        .await
        .unwrap();
    let body: Value = evict.json().await.unwrap();
    assert_eq!(
        body["message"],
        r#"pods "critical-prod-1" is forbidden: User "alice" cannot create resource "pods/eviction" in API group "" in the namespace "demopod""#
    );

    // The admin binds alice's group to a Role that does not exist yet: still refused, and the
    // refusal says why, as kube's RBAC authorizer does.
    let admin = client(&url, ADMIN).await;
    let binding = RoleBinding {
        metadata: kube::api::ObjectMeta { name: Some("developers".into()), ..Default::default() },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: "reader".into(),
        },
        subjects: Some(vec![Subject { kind: "Group".into(), name: "developers".into(), ..Default::default() }]),
    };
    Api::<RoleBinding>::namespaced(admin.clone(), "demopod").create(&PostParams::default(), &binding).await.unwrap();
    let kube::Error::Api(status) = pods.list(&ListParams::default()).await.unwrap_err() else { panic!() };
    assert!(
        status.message.ends_with(r#": RBAC: role.rbac.authorization.k8s.io "reader" not found"#),
        "{}",
        status.message
    );
    let role = Role {
        metadata: kube::api::ObjectMeta { name: Some("reader".into()), ..Default::default() },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["pods".into()]),
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), "demopod").create(&PostParams::default(), &role).await.unwrap();
    assert_eq!(pods.list(&ListParams::default()).await.unwrap().items.len(), 5, "the Role takes effect at once");

    // Reviews about oneself, through kube-rs.
    let reviews: Api<SelfSubjectAccessReview> = Api::all(alice.clone());
    let ask = |verb: &str, resource: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some("demopod".into()),
                verb: Some(verb.into()),
                resource: Some(resource.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let yes = reviews.create(&PostParams::default(), &ask("watch", "pods")).await.unwrap();
    let status = yes.status.unwrap();
    assert!(status.allowed);
    assert_eq!(
        status.reason.as_deref(),
        Some(r#"RBAC: allowed by RoleBinding "developers/demopod" of Role "reader" to Group "developers""#)
    );
    let no = reviews.create(&PostParams::default(), &ask("delete", "pods")).await.unwrap();
    assert!(!no.status.unwrap().allowed);
    let neither = SelfSubjectAccessReview::default();
    let kube::Error::Api(invalid) = reviews.create(&PostParams::default(), &neither).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(invalid.code, 422);
    assert_eq!(
        invalid.message,
        r#"SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"#
    );
    let rules: Api<SelfSubjectRulesReview> = Api::all(alice);
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec { namespace: Some("demopod".into()) },
        ..Default::default()
    };
    let status = rules.create(&PostParams::default(), &review).await.unwrap().status.unwrap();
    assert!(
        status
            .resource_rules
            .iter()
            .any(|r| r.resources.as_deref() == Some(&["pods".to_string()][..]) && r.verbs == ["get", "list", "watch"])
    );
    assert!(
        status.non_resource_rules.iter().any(|r| r
            .non_resource_urls
            .as_deref()
            .unwrap_or_default()
            .contains(&"/version".to_string()))
    );
    assert!(!status.incomplete && status.evaluation_error.is_none());

    // The masters' rules review is everything, and the nodes are theirs.
    let admin_rules: Api<SelfSubjectRulesReview> = Api::all(admin.clone());
    let status = admin_rules.create(&PostParams::default(), &review).await.unwrap().status.unwrap();
    assert_eq!(status.resource_rules[0].verbs, ["*"]);
    assert_eq!(Api::<Node>::all(admin).list(&ListParams::default()).await.unwrap().items.len(), 3);
}

#[tokio::test]
async fn without_a_token_file_everything_is_allowed_and_reviews_say_so() {
    let cluster = TestCluster::start(fast_config()).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    let ask = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some("delete".into()),
                resource: Some("nodes".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(reviews.create(&PostParams::default(), &ask).await.unwrap().status.unwrap().allowed);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    assert_eq!(pods.list(&ListParams::default()).await.unwrap().items.len(), 5);
    let stats = reqwest::get(format!("{}/sim/stats", cluster.url())).await.unwrap();
    assert_eq!(stats.status(), 200);
}
