//! The dashboard over real HTTP against the simulated cluster: every `/chaos` answer, the kill's
//! traces in the API (delete, `ChaosKill` Event, Booth counter), the SSE streams and their
//! snapshot-first behaviour, one API watch per resource with 500 browsers connected, `/nightmode`,
//! the control panel's login, CSRF, sessions, chaos by ordinal and scene events, and the assets.

use crate::common::{TestApp, TestCluster, eventually, fast_config, victim_of};
use conferenceli::config::DEMO_PASSWORD;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use kube_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// One server-sent event as a browser would see it.
#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
    pub comments: Vec<String>,
}

/// Reads events from an SSE response, one at a time.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    pub async fn open(http: &reqwest::Client, url: &str) -> Self {
        let response = http.get(url).send().await.expect("stream request");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        Self::reading(response)
    }

    /// Reads events from a response the caller has already checked.
    pub fn reading(response: reqwest::Response) -> Self {
        Self { body: response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(), buffer: String::new() }
    }

    fn parse(block: &str) -> SseEvent {
        let mut event = SseEvent::default();
        for line in block.lines() {
            if let Some(comment) = line.strip_prefix(':') {
                event.comments.push(comment.trim().to_string());
            } else if let Some((field, value)) = line.split_once(':') {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event.event = Some(value.to_string()),
                    "data" => {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                    }
                    "retry" => event.retry = value.parse().ok(),
                    _ => {}
                }
            }
        }
        event
    }

    /// The next event (or comment block), failing the test after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> SseEvent {
        tokio::time::timeout(timeout, self.next_event()).await.expect("an event in time").expect("the stream went on")
    }

    /// The next event (or comment block); `None` when the stream ends or breaks, as a
    /// browser's `EventSource` would notice before reconnecting.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(Self::parse(&block));
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// Skips events until `wanted` accepts one.
    pub async fn until(&mut self, timeout: Duration, mut wanted: impl FnMut(&SseEvent) -> bool) -> SseEvent {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await;
            if wanted(&event) {
                return event;
            }
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn ready(app: &TestApp) {
    let http = http();
    eventually(Duration::from_secs(20), "the app to be ready", || {
        let (http, url) = (http.clone(), format!("{}/readyz", app.url));
        async move { http.get(url).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
}

async fn chaos(app: &TestApp, auth: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http().post(format!("{}/chaos", app.url));
    if let Some(value) = auth {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.expect("every answer is JSON"))
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Pods that stay Terminating for a minute and come back late, so kills add up.
fn slow_config() -> SimConfig {
    SimConfig { grace_period_seconds: 60, start_delay: Duration::from_secs(60), ..fast_config() }
}

async fn api_state(app: &TestApp) -> Value {
    http().get(format!("{}/api/state", app.url)).send().await.unwrap().json().await.unwrap()
}

async fn wait_until_terminating(app: &TestApp, pod: &str) {
    eventually(Duration::from_secs(10), "the app to see the pod terminating", || async {
        let state = api_state(app).await;
        state["pods"].as_array()?.iter().any(|p| p["name"] == pod && p["status"] == "Terminating").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_refuses_missing_malformed_and_wrong_credentials_without_deleting() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &[]).await;
    ready(&app).await;
    let cases = [
        None,
        Some("Basic".to_string()),
        Some("Basic !!!not-base64".to_string()),
        Some("Bearer abc".to_string()),
        Some("Basic YWRtaW4=".to_string()), // "admin", no colon
        Some(basic("admin", "wrong")),
        Some(basic("Admin", DEMO_PASSWORD)),
        Some(basic("admin", &format!("{DEMO_PASSWORD} "))),
    ];
    for auth in &cases {
        let (status, headers, body) = chaos(&app, auth.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic realm="), "{auth:?}");
        assert!(body["message"].as_str().unwrap().starts_with("Unauthorized"), "{auth:?}: {body}");
        assert!(!body.to_string().contains(DEMO_PASSWORD));
    }
    // A header that is not even text.
    let response = http()
        .get(format!("{}/chaos", app.url))
        .header("authorization", reqwest::header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.json::<Value>().await.unwrap()["message"].is_string());
    let response = http().put(format!("{}/chaos", app.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"message": "Use GET or POST"}));
    assert_eq!(cluster.takes(), 0, "nothing was deleted");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kills_records_an_event_counts_and_cools_down() {
    let cluster = TestCluster::start(slow_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "1.5"]).await;
    ready(&app).await;
    let auth = basic("admin", DEMO_PASSWORD);
    let (status, _, body) = chaos(&app, Some(&auth)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let victim = victim_of(&body);

    // Mashing the button inside the cool-down kills nothing more, GET or POST.
    let (status, headers, body) = chaos(&app, Some(&auth)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("Cooling down"), "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let response = http().get(format!("{}/chaos", app.url)).header("authorization", &auth).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(cluster.takes(), 1);

    // The kill's traces: the pod terminating, a ChaosKill Event on it, the Booth's counter.
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let pod = pods.get(&victim).await.unwrap();
    assert!(pod.metadata.deletion_timestamp.is_some(), "{victim} is terminating");
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "demopod");
    let recorded = eventually(Duration::from_secs(20), "the ChaosKill event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("ChaosKill") && e.involved_object.name.as_deref() == Some(victim.as_str())
        })
    })
    .await;
    assert_eq!(recorded.involved_object.uid, pod.metadata.uid);
    assert_eq!(recorded.type_.as_deref(), Some("Warning"));
    // Written by kube-rs's Recorder (events.k8s.io/v1), read here through the core API.
    assert_eq!(recorded.action.as_deref(), Some("Evict"));
    assert_eq!(recorded.message, Some(format!("Pod {victim} evicted by the chaos button")));
    assert_eq!(recorded.reporting_component.as_deref(), Some("conferenceli"));
    assert!(recorded.event_time.is_some(), "{recorded:?}");
    eventually(Duration::from_secs(20), "the kill counter", || async {
        (api_state(&app).await["killCount"] == 1).then_some(())
    })
    .await;

    let metrics = http().get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"killed\"} 1"), "{metrics}");
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"cooling_down\"} 2"), "{metrics}");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    wait_until_terminating(&app, &victim).await;
    let response = http().get(format!("{}/chaos", app.url)).header("authorization", &auth).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET works too once cooled down");
    let second = victim_of(&response.json().await.unwrap());
    assert_ne!(second, victim, "a terminating pod is never picked again");
    eventually(Duration::from_secs(20), "the counter at 2", || async {
        (api_state(&app).await["killCount"] == 2).then_some(())
    })
    .await;
    assert_eq!(cluster.sim.stats.requests("list", "pods"), 1, "presses pick from the shared store, no list call");
    assert!(cluster.sim.stats.requests("update", "booths.conferenceli.dev") >= 1, "the kill counter's status writes");
    cluster.assert_nothing_pruned();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_says_so_when_the_api_refuses_the_delete() {
    let mut cluster = TestCluster::start(slow_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "30"]).await;
    ready(&app).await;
    cluster.stop_server().await;
    let auth = basic("admin", DEMO_PASSWORD);
    let (status, _, body) = chaos(&app, Some(&auth)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("The Kubernetes API did not take pod critical-prod-"));
    // Nothing was killed, so the cool-down did not start: the next press is not a 429.
    cluster.start_server().await;
    let (status, _, body) = chaos(&app, Some(&auth)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_never_picks_protected_pods_or_its_own_pod_and_says_when_none_is_left() {
    let cluster = TestCluster::start(slow_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    for name in ["critical-prod-1", "critical-prod-2"] {
        let patch = json!({"metadata": {"labels": {"conferenceli.dev/chaos": "protected"}}});
        pods.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    }
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--pod-name", "critical-prod-0"]).await;
    ready(&app).await;
    eventually(Duration::from_secs(20), "the labels to reach the app", || async {
        let state = api_state(&app).await;
        (state["pods"].as_array()?.iter().filter(|p| p["protected"] == true).count() == 2).then_some(())
    })
    .await;
    let auth = basic("admin", DEMO_PASSWORD);
    let mut killed = Vec::new();
    for _ in 0..2 {
        let (status, _, body) = chaos(&app, Some(&auth)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let victim = victim_of(&body);
        wait_until_terminating(&app, &victim).await;
        killed.push(victim);
    }
    killed.sort();
    assert_eq!(killed, ["critical-prod-3", "critical-prod-4"]);
    let (status, _, body) = chaos(&app, Some(&auth)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"message": "No running pods available to delete"}));
    assert_eq!(cluster.takes(), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_send_the_current_state_first_then_changes() {
    let cluster = TestCluster::start(slow_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    ready(&app).await;
    let client = http();
    let mut pods = SseReader::open(&client, &format!("{}/stream_pods", app.url)).await;
    let first = pods.next(Duration::from_secs(20)).await;
    assert_eq!(first.retry, Some(2000), "retry: comes first");
    let mut names = Vec::new();
    for _ in 0..5 {
        let event = pods.next(Duration::from_secs(20)).await;
        assert_eq!(event.event, None, "upstream clients read plain messages");
        let pod: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(pod["status"], "Running");
        assert!(pod["index"].is_u64() && pod["node"].is_string(), "{pod}");
        names.push(pod["name"].as_str().unwrap().to_string());
    }
    names.sort();
    assert_eq!(names, ["critical-prod-0", "critical-prod-1", "critical-prod-2", "critical-prod-3", "critical-prod-4"]);

    let mut nodes = SseReader::open(&client, &format!("{}/stream_nodes", app.url)).await;
    nodes.next(Duration::from_secs(20)).await;
    let node: Value = serde_json::from_str(&nodes.next(Duration::from_secs(20)).await.data).unwrap();
    let mut fields: Vec<&str> = node.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        ["architecture", "kernelVersion", "kubeletVersion", "name", "osImage", "status", "unschedulable"]
    );

    let mut kiosk = SseReader::open(&client, &format!("{}/stream", app.url)).await;
    kiosk.next(Duration::from_secs(20)).await;
    let snapshot = kiosk.next(Duration::from_secs(20)).await;
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
    let snapshot: Value = serde_json::from_str(&snapshot.data).unwrap();
    assert_eq!((snapshot["pods"].as_array().unwrap().len(), snapshot["nodes"].as_array().unwrap().len()), (5, 3));
    assert_eq!((snapshot["killCount"].clone(), snapshot["mode"].clone()), (json!(0), json!("day")));

    let (_, _, body) = chaos(&app, Some(&basic("admin", DEMO_PASSWORD))).await;
    let victim = victim_of(&body);
    let change = pods.until(Duration::from_secs(20), |e| e.data.contains(&format!("\"name\":\"{victim}\""))).await;
    assert_eq!(serde_json::from_str::<Value>(&change.data).unwrap()["status"], "Terminating");
    // The chaos announcements come in order; the counter's update races them (it goes through
    // the Booth resource), so it may arrive before or after the "killed" one.
    let mut chaos_phases = Vec::new();
    let mut kill_count = None;
    while chaos_phases.len() < 2 || kill_count != Some(1) {
        let event = kiosk.next(Duration::from_secs(20)).await;
        let data = || serde_json::from_str::<Value>(&event.data).unwrap();
        match event.event.as_deref() {
            Some("chaos") => {
                let chaos = data();
                assert_eq!(chaos["name"], victim.as_str());
                chaos_phases.push(chaos["phase"].as_str().unwrap().to_string());
            }
            Some("booth") => kill_count = data()["killCount"].as_u64(),
            _ => {}
        }
    }
    assert_eq!(chaos_phases, ["picked", "killed"]);

    // Force-deleting it ends it: upstream readers get a "Deleted" record.
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    api.delete(&victim, &kube::api::DeleteParams { grace_period_seconds: Some(0), ..Default::default() })
        .await
        .unwrap();
    let gone = pods.until(Duration::from_secs(20), |e| e.data.contains("\"Deleted\"")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&gone.data).unwrap(),
        json!({"name": victim, "namespace": "demopod", "status": "Deleted"})
    );
    let deleted = kiosk.until(Duration::from_secs(20), |e| e.event.as_deref() == Some("podDeleted")).await;
    assert_eq!(serde_json::from_str::<Value>(&deleted.data).unwrap()["name"], victim.as_str());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_browsers_share_one_pod_watch_and_one_node_watch() {
    let cluster = TestCluster::start(slow_config()).await;
    // 500 streams from one address: far beyond the booth's defaults, so this test raises them.
    let limits = [
        "--max-sse-streams",
        "500",
        "--max-sse-streams-per-client",
        "500",
        "--max-connections",
        "600",
        "--max-connections-per-client",
        "600",
    ];
    let app = TestApp::start(&cluster, &[&limits[..], &["--chaos-cooldown-seconds", "0"]].concat()).await;
    ready(&app).await;
    let client = http();
    let paths = ["/stream", "/stream_pods", "/stream_nodes", "/stream", "/stream"];
    let mut readers = Vec::new();
    for i in 0..500 {
        let mut reader = SseReader::open(&client, &format!("{}{}", app.url, paths[i % paths.len()])).await;
        reader.next(Duration::from_secs(10)).await; // retry
        readers.push((paths[i % paths.len()], reader));
    }
    let stats: Value = reqwest::get(format!("{}/sim/stats", cluster.url())).await.unwrap().json().await.unwrap();
    assert_eq!(stats["openWatches"]["pods"], 1, "{stats}");
    assert_eq!(stats["openWatches"]["nodes"], 1, "{stats}");
    assert_eq!(cluster.sim.stats.requests("list", "pods"), 1, "no list per browser");
    let metrics = http().get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    for line in [
        "conferenceli_sse_clients{stream=\"kiosk\"} 300",
        "conferenceli_sse_clients{stream=\"pods\"} 100",
        "conferenceli_sse_clients{stream=\"nodes\"} 100",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }

    // And every one of them hears about a kill.
    let (_, _, body) = chaos(&app, Some(&basic("admin", DEMO_PASSWORD))).await;
    let victim = victim_of(&body);
    let needle = format!("\"name\":\"{victim}\"");
    let deliveries = futures::stream::iter(readers.into_iter().filter(|(path, _)| *path != "/stream_nodes"))
        .map(|(_, mut reader)| {
            let needle = needle.clone();
            async move {
                reader
                    .until(Duration::from_secs(20), |e| e.data.contains(&needle) && e.data.contains("Terminating"))
                    .await;
            }
        })
        .buffer_unordered(500)
        .count()
        .await;
    assert_eq!(deliveries, 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn night_mode_for_scripts() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &[]).await;
    ready(&app).await;
    let auth = basic("admin", DEMO_PASSWORD);
    let client = http();
    let response = client.post(format!("{}/nightmode?state=on", app.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response =
        client.post(format!("{}/nightmode?state=dusk", app.url)).header("authorization", &auth).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("on, off or toggle"));
    let on: Value = client
        .post(format!("{}/nightmode?state=on", app.url))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on, json!({"message": "Night mode is on", "nightMode": true}));
    eventually(Duration::from_secs(20), "night mode to be in force", || async {
        (api_state(&app).await["mode"] == "night").then_some(())
    })
    .await;
    let toggled: Value = client
        .post(format!("{}/nightmode", app.url))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(toggled["nightMode"], false);
    app.stop().await;
}

/// A logged-in staff phone: its cookies and the CSRF token of the panel page.
pub struct Staff {
    client: reqwest::Client,
    pub cookies: Vec<String>,
    token: String,
    base: String,
}

fn cookie_pairs(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect()
}

fn token_in(html: &str) -> String {
    let start = html.find("name=\"csrf_token\" value=\"").expect("a CSRF field") + "name=\"csrf_token\" value=\"".len();
    html[start..start + 64].to_string()
}

impl Staff {
    fn cookie_header(&self) -> String {
        self.cookies.join("; ")
    }

    pub async fn login(base: &str, password: &str) -> (StatusCode, Staff) {
        let client = http();
        let page = client.get(format!("{base}/control")).send().await.unwrap();
        let mut cookies = cookie_pairs(&page);
        let token = token_in(&page.text().await.unwrap());
        let response = client
            .post(format!("{base}/control/login"))
            .header("cookie", cookies.join("; "))
            .form(&[("password", password), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        let status = response.status();
        cookies.extend(cookie_pairs(&response));
        let mut staff = Staff { client, cookies, token, base: base.to_string() };
        if status == StatusCode::SEE_OTHER {
            let panel = staff
                .client
                .get(format!("{base}/control"))
                .header("cookie", staff.cookie_header())
                .send()
                .await
                .unwrap();
            let html = panel.text().await.unwrap();
            assert!(html.contains("Kill a random pod"), "the panel, not the login form");
            staff.token = token_in(&html);
        }
        (status, staff)
    }

    /// A page of the panel, as this staff member sees it.
    pub async fn page(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)], with_token: bool) -> (StatusCode, Value) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if with_token {
            form.push(("csrf_token", &self.token));
        }
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(&form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_panel_needs_a_login_and_csrf_and_drives_the_booth() {
    let cluster = TestCluster::start(slow_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    ready(&app).await;

    let (status, _) = Staff::login(&app.url, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, staff) = Staff::login(&app.url, DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = staff.cookies.iter().find(|c| c.starts_with("conferenceli_session=")).expect("a session cookie");
    assert!(session.len() > 60);

    // Without the session, or without the CSRF token, nothing happens.
    let anonymous = Staff { client: http(), cookies: vec![], token: staff.token.clone(), base: app.url.clone() };
    assert_eq!(anonymous.post("/control/chaos", &[], true).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(staff.post("/control/chaos", &[], false).await.0, StatusCode::FORBIDDEN);
    assert_eq!(cluster.takes(), 0);

    // Chaos by ordinal: not a number, out of range, then a hit.
    let (status, body) = staff.post("/control/chaos/three", &[], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().starts_with("Not a pod ordinal"), "{body}");
    let (status, body) = staff.post("/control/chaos/99", &[], true).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"message": "No running pod with ordinal 99 available to delete"}))
    );
    let (status, body) = staff.post("/control/chaos/3", &[], true).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"message": "Pod critical-prod-3 evicted"})));
    wait_until_terminating(&app, "critical-prod-3").await;
    let (status, _) = staff.post("/control/chaos/3", &[], true).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a terminating pod is not killed twice");
    let (status, body) = staff.post("/control/chaos", &[], true).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The counter, night mode and a scene the kiosk hears about.
    let mut kiosk = SseReader::open(&http(), &format!("{}/stream", app.url)).await;
    assert_eq!(staff.post("/control/kills", &[("count", "lots")], true).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(staff.post("/control/kills", &[("count", "41")], true).await.0, StatusCode::OK);
    eventually(Duration::from_secs(20), "the counter at 41", || async {
        (api_state(&app).await["killCount"] == 41).then_some(())
    })
    .await;
    let (status, body) = staff.post("/control/nightmode", &[("night", "on")], true).await;
    assert_eq!((status, body["nightMode"].clone()), (StatusCode::OK, json!(true)));
    assert_eq!(staff.post("/control/scene/tsunami", &[], true).await.0, StatusCode::NOT_FOUND);
    for scene in ["storm", "seagulls", "fireworks", "whale"] {
        assert_eq!(staff.post(&format!("/control/scene/{scene}"), &[], true).await.0, StatusCode::OK);
        let event = kiosk.until(Duration::from_secs(20), |e| e.event.as_deref() == Some("scene")).await;
        assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap(), json!({"name": scene}));
    }

    // Logging out ends the session for good, even if the old cookie is replayed.
    let response = staff
        .client
        .post(format!("{}/control/logout", app.url))
        .header("cookie", staff.cookie_header())
        .form(&[("csrf_token", staff.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(cookie_pairs(&response).iter().any(|c| c == "conferenceli_session="));
    assert_eq!(staff.post("/control/chaos", &[], true).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_page_and_its_embedded_assets() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--public-url", "https://booth.example.com/"]).await;
    ready(&app).await;
    let client = http();
    let page = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"initial\">{\"pods\":["), "the snapshot is embedded");
    assert!(html.contains("critical-prod-4"));
    assert!(html.contains("aria-label=\"QR code\""), "the QR code of PUBLIC_URL");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external assets");
    for (file, kind) in [("kiosk.js", "text/javascript"), ("kiosk.css", "text/css"), ("logo.svg", "image/svg+xml")] {
        assert!(html.contains(&format!("/static/{file}")), "{file} is used");
        let response = client.get(format!("{}/static/{file}", app.url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind));
        let etag = response.headers()["etag"].clone();
        let again =
            client.get(format!("{}/static/{file}", app.url)).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    let missing = client.get(format!("{}/static/nope.js", app.url)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
