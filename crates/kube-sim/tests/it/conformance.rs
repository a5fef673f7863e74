//! The simulated API held to kube-apiserver's documented rules over plain HTTP: query
//! parameters (booleans, `timeoutSeconds`, `resourceVersion`/`resourceVersionMatch`,
//! `sendInitialEvents`, `dryRun`, `fieldManager`, `fieldValidation`), `Status` bodies with their
//! causes, and custom resources pruned, defaulted and validated against their CRD schema with
//! the status subresource's rules.

use crate::common::{TestCluster, fast_config};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PODS: &str = "/api/v1/namespaces/demopod/pods";
const BOOTHS: &str = "/apis/conferenceli.dev/v1alpha1/namespaces/conferenceli/booths";
const LEADS: &str = "/apis/conferenceli.dev/v1alpha1/namespaces/conferenceli/leads";

/// Sends a request; returns the status code, the `Warning` headers and the JSON body.
async fn send(
    method: reqwest::Method,
    url: String,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Vec<String>, Value) {
    let mut request = reqwest::Client::new().request(method, url).header("content-type", content_type);
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let code = response.status().as_u16();
    let warnings =
        response.headers().get_all("warning").iter().map(|v| v.to_str().unwrap_or_default().to_string()).collect();
    let body = response.json().await.unwrap_or(Value::Null);
    (code, warnings, body)
}

async fn get(url: String) -> (u16, Value) {
    let (code, _, body) = send(reqwest::Method::GET, url, "application/json", None).await;
    (code, body)
}

async fn post(url: String, body: Value) -> (u16, Vec<String>, Value) {
    send(reqwest::Method::POST, url, "application/json", Some(body)).await
}

fn causes(status: &Value) -> Vec<(String, String, String)> {
    status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("field"), text("reason"), text("message"))
        })
        .collect()
}

/// A watch's lines as they arrive.
struct WatchLines(tokio::sync::mpsc::UnboundedReceiver<Value>);

impl WatchLines {
    async fn open(url: String) -> Self {
        let response = reqwest::get(url).await.expect("watch");
        assert_eq!(response.status(), 200);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut chunks = response.bytes_stream();
            let mut pending = Vec::new();
            while let Some(Ok(chunk)) = chunks.next().await {
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    if tx.send(serde_json::from_slice(&line).expect("a JSON line")).is_err() {
                        return;
                    }
                }
            }
        });
        Self(rx)
    }

    /// The next line, `None` when the server ended the stream.
    async fn next(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, self.0.recv()).await.expect("a line or the end of the stream in time")
    }
}

fn booth(spec: Value) -> Value {
    json!({"apiVersion": "conferenceli.dev/v1alpha1", "kind": "Booth", "metadata": {"name": "b"}, "spec": spec})
}

#[tokio::test]
async fn watch_true_in_any_spelling_is_a_watch_and_false_or_zero_a_list() {
    let cluster = TestCluster::start(fast_config()).await;
    for spelling in ["true", "True", "TRUE", "1", "t", "T"] {
        let mut watch = WatchLines::open(format!("{}{PODS}?watch={spelling}&timeoutSeconds=5", cluster.url())).await;
        let first = watch.next(Duration::from_secs(5)).await.expect("an event");
        assert_eq!(first["type"], "ADDED", "watch={spelling}");
    }
    for spelling in ["false", "False", "0"] {
        let (code, list) = get(format!("{}{PODS}?watch={spelling}", cluster.url())).await;
        assert_eq!((code, list["kind"].as_str()), (200, Some("PodList")), "watch={spelling}");
    }
}

#[tokio::test]
async fn a_watch_with_timeout_zero_or_none_stays_open_and_one_with_a_timeout_ends_then() {
    let cluster = TestCluster::start(fast_config()).await;
    let mut zero = WatchLines::open(format!("{}{PODS}?watch=1&timeoutSeconds=0", cluster.url())).await;
    let mut none = WatchLines::open(format!("{}{PODS}?watch=1", cluster.url())).await;
    let started = Instant::now();
    let mut short = WatchLines::open(format!("{}{PODS}?watch=1&timeoutSeconds=1", cluster.url())).await;
    for watch in [&mut zero, &mut none, &mut short] {
        for _ in 0..5 {
            assert_eq!(watch.next(Duration::from_secs(5)).await.unwrap()["type"], "ADDED");
        }
    }
    // timeoutSeconds=1: the server ends the stream after a second.
    while short.next(Duration::from_secs(5)).await.is_some() {}
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    // Well past it, the others still deliver changes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, _) = get(format!("{}/version", cluster.url())).await;
    assert_eq!(code, 200);
    let (code, _, _) = send(
        reqwest::Method::DELETE,
        format!("{}{PODS}/critical-prod-3?gracePeriodSeconds=0", cluster.url()),
        "application/json",
        None,
    )
    .await;
    assert_eq!(code, 200);
    for watch in [&mut zero, &mut none] {
        let event = watch.next(Duration::from_secs(5)).await.expect("the watch is still open");
        assert_eq!(
            (event["type"].as_str(), event["object"]["metadata"]["name"].as_str()),
            (Some("DELETED"), Some("critical-prod-3"))
        );
    }
}

#[tokio::test]
async fn list_and_watch_options_are_checked_like_kube_apiserver() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    let cases = [
        ("resourceVersionMatch=Exact", "resourceVersionMatch is forbidden unless resourceVersion is provided"),
        (
            "resourceVersion=0&resourceVersionMatch=Exact",
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ),
        ("resourceVersion=1&resourceVersionMatch=Sometime", "Unsupported value: \"Sometime\""),
        ("sendInitialEvents=true", "sendInitialEvents is forbidden for list"),
        (
            "watch=1&resourceVersionMatch=NotOlderThan",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        ("watch=1&sendInitialEvents=true", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ];
    for (query, expected) in cases {
        let (code, status) = get(format!("{url}{PODS}?{query}")).await;
        assert_eq!(
            (code, status["reason"].as_str(), status["code"].as_u64()),
            (422, Some("Invalid"), Some(422)),
            "{query}: {status}"
        );
        assert_eq!(status["details"]["kind"], "ListOptions", "{query}");
        assert_eq!(status["details"]["group"], "meta.k8s.io", "{query}");
        let found = causes(&status);
        assert!(
            found.iter().any(|(field, _, _)| field.starts_with("resourceVersionMatch") || field == "sendInitialEvents")
                && found.iter().any(|(_, _, m)| m.contains(expected)),
            "{query}: {status}"
        );
    }
    for query in ["resourceVersion=abc", "limit=many", "watch=1&timeoutSeconds=soon"] {
        let (code, status) = get(format!("{url}{PODS}?{query}")).await;
        assert_eq!(
            (code, status["kind"].as_str(), status["reason"].as_str()),
            (400, Some("Status"), Some("BadRequest")),
            "{query}"
        );
    }
}

#[tokio::test]
async fn lists_honour_exact_and_not_older_than_versions() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    let (_, before) = get(format!("{url}{PODS}")).await;
    let rv = before["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let (code, _, _) = send(
        reqwest::Method::DELETE,
        format!("{url}{PODS}/critical-prod-4?gracePeriodSeconds=0"),
        "application/json",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let names = |list: &Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|p| p["metadata"]["name"].as_str().unwrap().to_string()).collect()
    };
    let (code, exact) = get(format!("{url}{PODS}?resourceVersion={rv}&resourceVersionMatch=Exact")).await;
    assert_eq!(code, 200, "{exact}");
    assert_eq!(exact["metadata"]["resourceVersion"], rv.as_str());
    assert_eq!(names(&exact), names(&before), "the list as it was at {rv}");
    let (code, newer) = get(format!("{url}{PODS}?resourceVersion={rv}&resourceVersionMatch=NotOlderThan")).await;
    assert_eq!(code, 200);
    assert!(
        !names(&newer).contains(&"critical-prod-4".to_string())
            || newer["items"][4]["metadata"]["uid"] != before["items"][4]["metadata"]["uid"]
    );

    // A version the server has not reached: kube waits for it, then 504 Timeout.
    let future = rv.parse::<u64>().unwrap() + 1_000_000;
    let started = Instant::now();
    let (code, status) = get(format!("{url}{PODS}?resourceVersion={future}&resourceVersionMatch=NotOlderThan")).await;
    assert_eq!((code, status["reason"].as_str()), (504, Some("Timeout")), "{status}");
    assert_eq!(causes(&status)[0].1, "ResourceVersionTooLarge");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // After compaction the old version is gone: 410 Expired.
    reqwest::Client::new().post(format!("{url}/sim/compact")).send().await.unwrap();
    let (code, status) = get(format!("{url}{PODS}?resourceVersion={rv}&resourceVersionMatch=Exact")).await;
    assert_eq!((code, status["reason"].as_str()), (410, Some("Expired")), "{status}");
}

#[tokio::test]
async fn send_initial_events_ends_the_initial_state_with_a_bookmark() {
    let cluster = TestCluster::start(fast_config()).await;
    let query =
        "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=10";
    let mut watch = WatchLines::open(format!("{}{PODS}?{query}", cluster.url())).await;
    for _ in 0..5 {
        assert_eq!(watch.next(Duration::from_secs(5)).await.unwrap()["type"], "ADDED");
    }
    let bookmark = watch.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");

    // sendInitialEvents=false: changes only.
    let query = "watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=10";
    let mut changes = WatchLines::open(format!("{}{PODS}?{query}", cluster.url())).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    send(
        reqwest::Method::DELETE,
        format!("{}{PODS}/critical-prod-0?gracePeriodSeconds=0", cluster.url()),
        "application/json",
        None,
    )
    .await;
    let first = changes.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (first["type"].as_str(), first["object"]["metadata"]["name"].as_str()),
        (Some("DELETED"), Some("critical-prod-0"))
    );
}

#[tokio::test]
async fn dry_run_checks_everything_and_stores_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    // The simulated workload settles first (pods Ready, their Endpoints and EndpointSlice
    // written): from then on nothing but this test writes.
    let mut rv_before = cluster.sim.store.resource_version();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = cluster.sim.store.resource_version();
        if now == rv_before {
            break;
        }
        rv_before = now;
    }
    let (code, _, created) = post(format!("{url}{BOOTHS}?dryRun=All"), booth(json!({"campaignName": "dry"}))).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["campaignName"], "dry");
    assert_eq!(created["spec"]["voucherType"], "none", "answered as if stored: defaults applied");
    assert!(created["metadata"]["uid"].is_string());
    assert_eq!(get(format!("{url}{BOOTHS}/b")).await.0, 404);
    // A dry run is validated like the real thing.
    let (code, _, status) = post(format!("{url}{BOOTHS}?dryRun=All"), booth(json!({"voucherType": "x"}))).await;
    assert_eq!((code, status["reason"].as_str()), (422, Some("Invalid")));

    let (code, _, status) = post(format!("{url}{BOOTHS}?dryRun=Sometimes"), booth(json!({}))).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Sometimes"}: supported values: "All""#
    );

    let (code, _, _) = send(
        reqwest::Method::DELETE,
        format!("{url}{PODS}/critical-prod-1?dryRun=All&gracePeriodSeconds=0"),
        "application/json",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let (code, _, _) = send(
        reqwest::Method::DELETE,
        format!("{url}{PODS}/critical-prod-1"),
        "application/json",
        Some(json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"], "gracePeriodSeconds": 0})),
    )
    .await;
    assert_eq!(code, 200);
    let (code, pod) = get(format!("{url}{PODS}/critical-prod-1")).await;
    assert_eq!(code, 200);
    assert!(pod["metadata"].get("deletionTimestamp").is_none());
    let (code, _, _) = send(
        reqwest::Method::PATCH,
        format!("{url}{PODS}/critical-prod-1?dryRun=All"),
        "application/merge-patch+json",
        Some(json!({"metadata": {"labels": {"dry": "run"}}})),
    )
    .await;
    assert_eq!(code, 200);
    assert!(get(format!("{url}{PODS}/critical-prod-1")).await.1["metadata"]["labels"].get("dry").is_none());
    assert_eq!(cluster.sim.store.resource_version(), rv_before, "no dry run wrote anything");
}

#[tokio::test]
async fn field_manager_and_force_are_validated() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    let long = "m".repeat(129);
    let (code, _, status) = send(
        reqwest::Method::PATCH,
        format!("{url}{PODS}/critical-prod-0?fieldManager={long}"),
        "application/merge-patch+json",
        Some(json!({})),
    )
    .await;
    assert_eq!((code, status["details"]["kind"].as_str()), (422, Some("PatchOptions")), "{status}");
    assert_eq!(causes(&status)[0].0, "fieldManager");
    let (code, _, status) = send(
        reqwest::Method::PATCH,
        format!("{url}{PODS}/critical-prod-0"),
        "application/apply-patch+yaml",
        Some(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "critical-prod-0"}})),
    )
    .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        causes(&status),
        [("fieldManager".into(), "FieldValueRequired".into(), "Required value: is required for apply patch".into())]
    );
    let (code, _, status) = send(
        reqwest::Method::PATCH,
        format!("{url}{PODS}/critical-prod-0?force=true"),
        "application/merge-patch+json",
        Some(json!({})),
    )
    .await;
    assert_eq!((code, causes(&status)[0].0.as_str()), (422, "force"));
}

#[tokio::test]
async fn custom_resources_are_pruned_defaulted_and_validated_against_their_schema() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();

    // An invalid enum value: 422 with the field path and the supported values.
    let (code, _, status) = post(format!("{url}{BOOTHS}"), booth(json!({"voucherType": "x"}))).await;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        r#"Booth.conferenceli.dev "b" is invalid: spec.voucherType: Unsupported value: "x": supported values: "none", "appuio", "servala""#
    );
    assert_eq!(
        (status["details"]["kind"].as_str(), status["details"]["group"].as_str()),
        (Some("Booth"), Some("conferenceli.dev"))
    );
    assert_eq!(
        causes(&status),
        [(
            "spec.voucherType".into(),
            "FieldValueNotSupported".into(),
            r#"Unsupported value: "x": supported values: "none", "appuio", "servala""#.into()
        )]
    );
    // A wrong type.
    let (code, _, status) = post(format!("{url}{BOOTHS}"), booth(json!({"nightMode": "yes"}))).await;
    assert_eq!(code, 422);
    assert_eq!(causes(&status)[0].0, "spec.nightMode");
    assert_eq!(causes(&status)[0].1, "FieldValueTypeInvalid");
    // Required fields of a Lead, each with its path.
    let lead = json!({"apiVersion": "conferenceli.dev/v1alpha1", "kind": "Lead", "metadata": {"name": "l"}, "spec": {"name": "Ada"}});
    let (code, _, status) = post(format!("{url}{LEADS}"), lead).await;
    assert_eq!(code, 422);
    let fields: Vec<String> = causes(&status).into_iter().map(|c| c.0).collect();
    assert_eq!(fields, ["spec.code", "spec.consent", "spec.email", "spec.submittedAt"]);

    // Unknown fields are pruned, with a warning; Strict refuses them.
    let (code, warnings, created) =
        post(format!("{url}{BOOTHS}"), booth(json!({"campaignName": "KubeCon", "colour": "red"}))).await;
    assert_eq!(code, 201, "{created}");
    assert!(created["spec"].get("colour").is_none());
    assert_eq!(created["spec"]["odooCreateLeadEnabled"], true, "defaults applied");
    assert_eq!(warnings, [r#"299 - "unknown field \"spec.colour\"""#]);
    let (_, stored) = get(format!("{url}{BOOTHS}/b")).await;
    assert!(stored["spec"].get("colour").is_none());
    let mut strict = booth(json!({"colour": "red"}));
    strict["metadata"]["name"] = json!("strict");
    let (code, _, status) = post(format!("{url}{BOOTHS}?fieldValidation=Strict"), strict).await;
    assert_eq!(
        (code, status["message"].as_str()),
        (400, Some(r#"strict decoding error: unknown field "spec.colour""#))
    );
}

#[tokio::test]
async fn the_status_subresource_splits_spec_and_status_writes() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    let mut with_status = booth(json!({"campaignName": "a"}));
    with_status["status"] = json!({"killCount": 9});
    let (code, _, created) = post(format!("{url}{BOOTHS}"), with_status).await;
    assert_eq!(code, 201);
    assert!(created.get("status").is_none(), "status is not set on create: {created}");

    // /status takes the status and ignores spec and metadata changes.
    let (code, _, written) = send(
        reqwest::Method::PATCH,
        format!("{url}{BOOTHS}/b/status"),
        "application/merge-patch+json",
        Some(json!({"spec": {"campaignName": "changed"}, "metadata": {"labels": {"x": "y"}}, "status": {"killCount": 3}})),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        (written["spec"]["campaignName"].as_str(), written["status"]["killCount"].as_u64()),
        (Some("a"), Some(3))
    );
    assert!(written["metadata"].get("labels").is_none());
    // An invalid status is 422 with its path; the main resource ignores status.
    let (code, _, status) = send(
        reqwest::Method::PATCH,
        format!("{url}{BOOTHS}/b/status"),
        "application/merge-patch+json",
        Some(json!({"status": {"killCount": -1}})),
    )
    .await;
    assert_eq!((code, causes(&status)[0].0.as_str()), (422, "status.killCount"), "{status}");
    let (code, _, written) = send(
        reqwest::Method::PATCH,
        format!("{url}{BOOTHS}/b"),
        "application/merge-patch+json",
        Some(json!({"spec": {"campaignName": "b"}, "status": {"killCount": 100}})),
    )
    .await;
    assert_eq!(
        (code, written["spec"]["campaignName"].as_str(), written["status"]["killCount"].as_u64()),
        (200, Some("b"), Some(3))
    );
}
