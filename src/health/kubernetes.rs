//! The Kubernetes group: the API answers (and its `Date`, for the clock check), its version is
//! one this build's API types cover, the CRDs are installed with the schemas of this binary
//! (compared field by field with the OpenAPI document the API server publishes, which every
//! authenticated user may read), the namespaces exist, the workload's pods are there, and the
//! Booth can be read.
//!
//! May call: `crate::booth`, `crate::cluster`, `crate::crds`.

use super::{Check, Context, Group, PodSource, ReadBooth, SharedBooth, timed_out};
use crate::booth::Booth;
use crate::cluster::PodPhase;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;
use std::collections::BTreeSet;

const GROUP: Group = Group::Kubernetes;

/// The Kubernetes versions this build's API types cover (k8s-openapi's `earliest`..`latest`).
const OLDEST_MINOR: u32 = 33;
const NEWEST_MINOR: u32 = 37;

/// What to do when the API cannot be reached or refuses our credentials.
const KUBECONFIG_HINT: &str = "check that K3s runs (sudo systemctl status k3s) and that KUBECONFIG (--kubeconfig) \
                               names it (K3s: /etc/rancher/k3s/k3s.yaml), or run it in the booth's pod: \
                               kubectl -n conferenceli exec deploy/conferenceli -- conferenceli check";

/// The API server and the kube client that reaches it.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) client: kube::Client,
    /// Where it is, for messages (the running booth's client does not say).
    pub(crate) url: Option<String>,
}

impl Cluster {
    pub fn new(client: kube::Client, url: Option<String>) -> Self {
        Self { client, url }
    }

    fn name(&self) -> String {
        self.url.as_deref().map_or_else(|| "the API server".to_string(), str::to_string)
    }
}

/// Why the API gave no usable answer: what happened and what to do.
#[derive(Debug, Clone)]
pub(crate) struct ApiProblem {
    pub message: String,
    pub hint: String,
}

/// The API server's answer to `GET /version`, and when it was asked.
#[derive(Debug, Clone)]
pub(crate) struct ApiAnswer {
    pub version: Info,
    /// The answer's `Date` header.
    pub date: Option<jiff::Timestamp>,
    pub sent: jiff::Timestamp,
    pub received: jiff::Timestamp,
}

pub(crate) type SharedApi = Shared<BoxFuture<'static, Result<ApiAnswer, ApiProblem>>>;

impl ApiAnswer {
    /// Asks once per run; the groups that need the answer share it.
    pub(crate) fn fetch(context: &Context) -> SharedApi {
        let (cluster, timeout) = (context.kube.clone(), context.settings.timeout);
        async move {
            let cluster = cluster.map_err(|message| ApiProblem { message, hint: KUBECONFIG_HINT.into() })?;
            let request = axum::http::Request::get("/version")
                .body(kube::client::Body::from(Vec::new()))
                .map_err(|e| ApiProblem { message: e.to_string(), hint: KUBECONFIG_HINT.into() })?;
            let sent = jiff::Timestamp::now();
            let unreachable = |why: String| ApiProblem {
                message: format!("no answer from {}: {why}", cluster.name()),
                hint: KUBECONFIG_HINT.into(),
            };
            let response = match tokio::time::timeout(timeout, cluster.client.send(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => return Err(unreachable(error.to_string())),
                Err(_) => return Err(unreachable(timed_out(timeout))),
            };
            let received = jiff::Timestamp::now();
            let status = response.status();
            let date = response
                .headers()
                .get(axum::http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
                .map(|zoned| zoned.timestamp());
            let body = match tokio::time::timeout(timeout, response.into_body().collect_bytes()).await {
                Ok(Ok(body)) => body,
                Ok(Err(error)) => return Err(unreachable(error.to_string())),
                Err(_) => return Err(unreachable(timed_out(timeout))),
            };
            if status == axum::http::StatusCode::UNAUTHORIZED {
                return Err(ApiProblem {
                    message: format!("{} refuses the kubeconfig's credentials (401 Unauthorized)", cluster.name()),
                    hint: KUBECONFIG_HINT.into(),
                });
            }
            if !status.is_success() {
                return Err(unreachable(format!("GET /version answered {status}")));
            }
            let version: Info = serde_json::from_slice(&body)
                .map_err(|e| unreachable(format!("GET /version is not a version: {e}")))?;
            Ok(ApiAnswer { version, date, sent, received })
        }
        .boxed()
        .shared()
    }
}

/// A kube error in one line: the API's own message for an API error.
pub(crate) fn describe_error(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}

/// Whether the API said 403 or 404.
fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The hint for a request the service account may not send.
const FORBIDDEN_HINT: &str = "the account lacks a permission: see the Permissions group, and deploy/base/rbac.yaml";

/// The API answers, and its version.
pub(crate) async fn api_checks(context: &Context, api: SharedApi) -> Vec<Check> {
    let url = context.kube.as_ref().ok().and_then(|c| c.url.clone());
    match api.await {
        Err(problem) => vec![Check::fail(GROUP, "API server", problem.message, problem.hint)],
        Ok(answer) => {
            let version = &answer.version;
            let answers = match url {
                Some(url) => format!("answers at {url} ({})", version.git_version),
                None => format!("answers ({})", version.git_version),
            };
            let mut checks = vec![Check::ok(GROUP, "API server", answers)];
            let minor: Option<u32> = version.minor.trim_end_matches('+').parse().ok();
            let supported = format!("1.{OLDEST_MINOR} to 1.{NEWEST_MINOR}");
            checks.push(match (version.major.as_str(), minor) {
                ("1", Some(minor)) if (OLDEST_MINOR..=NEWEST_MINOR).contains(&minor) => {
                    Check::ok(GROUP, "version", format!("1.{minor}, within what this build speaks ({supported})"))
                }
                ("1", Some(minor)) if minor < OLDEST_MINOR => Check::warn(
                    GROUP,
                    "version",
                    format!("1.{minor} is older than the Kubernetes this build speaks ({supported})"),
                    "upgrade K3s: curl -sfL https://get.k3s.io | sh - (see docs/runbook.md)",
                ),
                _ => Check::warn(
                    GROUP,
                    "version",
                    format!(
                        "{}.{} is newer than the Kubernetes this build knows ({supported})",
                        version.major, version.minor
                    ),
                    "use a conferenceli release built for this Kubernetes version",
                ),
            });
            checks
        }
    }
}

/// Every check of the group.
pub(crate) async fn checks(context: &Context, api: SharedApi, booth: SharedBooth) -> Vec<Check> {
    let mut checks = api_checks(context, api.clone()).await;
    let Ok(cluster) = &context.kube else { return checks };
    if api.await.is_err() {
        return checks;
    }
    let settings = &context.settings;
    let namespaces = [settings.namespace.clone(), settings.booth_namespace.clone()];
    let (crds, target, own, pods, booth) = futures::join!(
        crds(cluster, settings.timeout),
        namespace(cluster, &namespaces[0], settings.timeout),
        namespace(cluster, &namespaces[1], settings.timeout),
        workload(context, cluster),
        booth_readable(booth, &settings.booth_namespace, &settings.booth_name),
    );
    checks.extend(crds);
    if namespaces[0] == namespaces[1] {
        checks.push(target);
    } else {
        checks.extend([target, own]);
    }
    checks.extend([pods, booth]);
    checks
}

/// Field paths of a structural schema (`spec.campaignName`, `status.conditions[].type`),
/// leaving out what the API server adds (`apiVersion`, `kind`, `metadata`).
fn field_paths(schema: &Value) -> BTreeSet<String> {
    fn walk(schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in properties {
                if prefix.is_empty() && matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                out.insert(path.clone());
                walk(property, &path, out);
            }
        }
        if schema["items"].is_object() {
            walk(&schema["items"], &format!("{prefix}[]"), out);
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, "", &mut out);
    out
}

/// The schema of `kind` in an OpenAPI v3 document, found by its group-version-kind.
fn served_schema<'a>(document: &'a Value, group: &str, version: &str, kind: &str) -> Option<&'a Value> {
    document["components"]["schemas"].as_object()?.values().find(|schema| {
        schema["x-kubernetes-group-version-kind"].as_array().is_some_and(|gvks| {
            gvks.iter().any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
        })
    })
}

const CRD_HINT: &str = "kubectl apply -f crds/ (the CRDs of this binary: conferenceli crd | kubectl apply -f -)";

/// Each CRD installed, with the fields this binary writes.
async fn crds(cluster: &Cluster, timeout: std::time::Duration) -> Vec<Check> {
    let mut checks = Vec::new();
    for crd in crate::crds::all() {
        let name = format!("CRD {}", crd.metadata.name.as_deref().unwrap_or_default());
        let spec = &crd.spec;
        let Some(version) = spec.versions.iter().find(|v| v.served) else { continue };
        let expected = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .map(|s| field_paths(&s))
            .unwrap_or_default();
        let path = format!("/openapi/v3/apis/{}/{}", spec.group, version.name);
        let request = match axum::http::Request::get(&path).body(Vec::new()) {
            Ok(request) => request,
            Err(error) => {
                checks.push(Check::fail(GROUP, name, error.to_string(), CRD_HINT));
                continue;
            }
        };
        let document = match tokio::time::timeout(timeout, cluster.client.request_text(request)).await {
            Err(_) => {
                checks.push(Check::fail(GROUP, name, timed_out(timeout), CRD_HINT));
                continue;
            }
            Ok(Err(error)) if status_code(&error) == Some(404) => Value::Null,
            Ok(Err(error)) => {
                checks.push(Check::fail(GROUP, name, describe_error(&error), CRD_HINT));
                continue;
            }
            Ok(Ok(text)) => serde_json::from_str(&text).unwrap_or(Value::Null),
        };
        let Some(served) = served_schema(&document, &spec.group, &version.name, &spec.names.kind) else {
            let message =
                format!("not installed: the API serves no {}/{} {}", spec.group, version.name, spec.names.kind);
            checks.push(Check::fail(GROUP, name, message, CRD_HINT));
            continue;
        };
        let served = field_paths(served);
        let missing: Vec<&String> = expected.difference(&served).collect();
        let extra: Vec<&String> = served.difference(&expected).collect();
        let list = |paths: &[&String]| paths.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
        checks.push(if !missing.is_empty() {
            let message = format!("older than this binary: lacks {}", list(&missing));
            Check::fail(GROUP, name, message, CRD_HINT)
        } else if !extra.is_empty() {
            Check::warn(
                GROUP,
                name,
                format!("newer than this binary: has {}", list(&extra)),
                "run the conferenceli release that matches the CRDs (its image in deploy/base/deployment.yaml)",
            )
        } else {
            Check::ok(GROUP, name, format!("installed, schema matches this binary ({} fields)", expected.len()))
        });
    }
    checks
}

async fn namespace(cluster: &Cluster, name: &str, timeout: std::time::Duration) -> Check {
    let check = format!("namespace {name}");
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    match tokio::time::timeout(timeout, api.get(name)).await {
        Err(_) => Check::fail(GROUP, check, timed_out(timeout), KUBECONFIG_HINT),
        Ok(Ok(namespace)) => match namespace.status.and_then(|s| s.phase).as_deref() {
            Some("Terminating") => Check::fail(
                GROUP,
                check,
                "is being deleted",
                format!("wait until it is gone, then kubectl create namespace {name}"),
            ),
            _ => Check::ok(GROUP, check, "exists"),
        },
        Ok(Err(error)) if status_code(&error) == Some(404) => Check::fail(
            GROUP,
            check,
            "does not exist",
            format!("kubectl create namespace {name} (or apply deploy/base and deploy/demo-workload)"),
        ),
        Ok(Err(error)) if status_code(&error) == Some(403) => {
            Check::fail(GROUP, check, describe_error(&error), FORBIDDEN_HINT)
        }
        Ok(Err(error)) => Check::fail(GROUP, check, describe_error(&error), KUBECONFIG_HINT),
    }
}

/// The pods the booth shows and the chaos button takes away: listed from the command line; in
/// the running booth, read from its one pod watch (no request per run).
async fn workload(context: &Context, cluster: &Cluster) -> Check {
    let (namespace, timeout) = (&context.settings.namespace, context.settings.timeout);
    let check = format!("pods in {namespace}");
    // (all, running)
    let counts = match &context.pods {
        PodSource::Watched(state) => {
            if !state.pods_synced() {
                return Check::warn(
                    GROUP,
                    check,
                    "the booth's pod watch has not listed them yet",
                    "wait a moment; if it stays so, see the Permissions group (list and watch pods)",
                );
            }
            let pods: Vec<_> = state.pods().into_iter().filter(|p| &p.namespace == namespace).collect();
            (pods.len(), pods.iter().filter(|p| p.status == PodPhase::Running).count())
        }
        PodSource::List => {
            let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
            let pods = match tokio::time::timeout(timeout, api.list(&ListParams::default())).await {
                Err(_) => return Check::fail(GROUP, check, timed_out(timeout), KUBECONFIG_HINT),
                Ok(Err(error)) => return Check::fail(GROUP, check, describe_error(&error), FORBIDDEN_HINT),
                Ok(Ok(pods)) => pods.items,
            };
            let running = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count();
            (pods.len(), running)
        }
    };
    match counts {
        (0, _) => Check::fail(
            GROUP,
            check,
            "no pods: the kiosk would show an empty harbour",
            format!(
                "kubectl apply -k deploy/demo-workload, or set K8S_NAMESPACE to the workload's namespace (now {namespace})"
            ),
        ),
        (all, running) if running < all => Check::warn(
            GROUP,
            check,
            format!("{running} of {all} running"),
            format!("kubectl -n {namespace} get pods: the others are starting or failing"),
        ),
        (all, _) => Check::ok(GROUP, check, format!("{all} running")),
    }
}

async fn booth_readable(booth: SharedBooth, namespace: &str, name: &str) -> Check {
    let check = format!("Booth {namespace}/{name}");
    match booth.await {
        Ok(ReadBooth { booth: Booth { spec, status, .. }, refused }) => {
            let kills = status.map_or(0, |s| s.kill_count);
            let campaign = if spec.campaign_name.is_empty() {
                "no campaign".to_string()
            } else {
                format!("campaign {:?}", spec.campaign_name)
            };
            let readable = format!("readable: {campaign}, {kills} kills");
            match refused.as_slice() {
                [] => Check::ok(GROUP, check, readable),
                refused => {
                    let lines: Vec<String> = refused.iter().map(ToString::to_string).collect();
                    let message = format!("{readable}; refuses {}", lines.join("; "));
                    Check::warn(GROUP, check, message, "correct the setting at /config, or with kubectl edit booth")
                }
            }
        }
        Err(unread) if unread.not_found => Check::warn(
            GROUP,
            check,
            "not created yet",
            format!(
                "the booth creates it when it starts; look at its log: kubectl -n {namespace} logs deploy/conferenceli"
            ),
        ),
        Err(unread) => Check::fail(GROUP, check, unread.message, FORBIDDEN_HINT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_cover_nested_objects_and_lists() {
        let schema = serde_json::json!({"properties": {
            "apiVersion": {"type": "string"}, "metadata": {"type": "object"},
            "spec": {"properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"properties": {"key": {}}}}}}}});
        let paths: Vec<String> = field_paths(&schema).into_iter().collect();
        assert_eq!(paths, ["spec", "spec.name", "spec.tags", "spec.tags[].key"]);
    }
}
