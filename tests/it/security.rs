//! The routes of both listeners and what each needs. The table below is the security review in
//! code: a test reads every `.route(...)` in `src/web/` and fails when a route is not in the
//! table (so a new route cannot ship without a decision), and another asks every protected route
//! without credentials and checks it is refused and changes nothing.

use crate::common::{TestCluster, eventually, fast_config};
use crate::leads::LeadsApp;
use std::collections::BTreeSet;
use std::time::Duration;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Reads only, for the kiosk on the LAN and the probes (private listener).
    Open,
    /// HTTP Basic auth (chaos or admin credentials): 401 without.
    Basic,
    /// HTTP Basic auth, and 403 when a browser says another site's page sent the request: these
    /// change things without a CSRF token, since scripts (the red button's `curl`) call them.
    BasicNotCrossSite,
    /// A control-panel session and a CSRF token: 401 without a session.
    Session,
    /// A CSRF token (login, logout): 403 without.
    Csrf,
    /// The visitors' form on the public listener: a CSRF token on POST.
    PublicForm,
    /// A visitor's press page on the public listener: the one-time token of their sign-up in
    /// the path (404 for any other), and only that press is shown.
    PublicToken,
}

/// (method, path as written in `.route`, what it needs)
pub const ROUTES: &[(&str, &str, Guard)] = &[
    ("GET", "/", Guard::Open),
    ("GET", "/static/{file}", Guard::Open),
    ("GET", "/stream", Guard::Open),
    ("GET", "/stream_pods", Guard::Open),
    ("GET", "/stream_nodes", Guard::Open),
    ("GET", "/api/state", Guard::Open),
    ("GET", "/api/scenes", Guard::Open),
    ("GET", "/healthz", Guard::Open),
    ("GET", "/readyz", Guard::Open),
    ("GET", "/metrics", Guard::Open),
    ("GET", "/chaos", Guard::BasicNotCrossSite),
    ("POST", "/chaos", Guard::BasicNotCrossSite),
    ("GET", "/nightmode", Guard::Basic),
    ("POST", "/nightmode", Guard::BasicNotCrossSite),
    ("GET", "/config", Guard::Basic),
    ("POST", "/config", Guard::Basic),
    ("GET", "/config/form.css", Guard::Open),
    ("GET", "/leads.csv", Guard::Basic),
    ("GET", "/labels/preview.png", Guard::Basic),
    ("GET", "/control", Guard::Open),
    ("POST", "/control/login", Guard::Csrf),
    ("POST", "/control/logout", Guard::Csrf),
    ("POST", "/control/chaos", Guard::Session),
    ("POST", "/control/chaos/{index}", Guard::Session),
    ("POST", "/control/nightmode", Guard::Session),
    ("POST", "/control/kills", Guard::Session),
    ("POST", "/control/scene/{name}", Guard::Session),
    ("POST", "/control/fog", Guard::Session),
    ("POST", "/control/leads/{name}/reprint", Guard::Session),
    ("POST", "/control/raffle/draw", Guard::Session),
    ("GET", "/control/health", Guard::Session),
    ("POST", "/control/nodes/{name}/drain", Guard::Session),
    ("POST", "/control/nodes/{name}/uncordon", Guard::Session),
    ("POST", "/raffle/draw", Guard::BasicNotCrossSite),
    // The public listener.
    ("GET", "/static/form.css", Guard::Open),
    ("GET", "/static/brand.css", Guard::Open),
    ("GET", "/static/logo", Guard::Open),
    ("POST", "/", Guard::PublicForm),
    ("POST", "/press/{token}", Guard::PublicForm),
    ("GET", "/press/{token}", Guard::PublicToken),
];

/// The paths only the public listener serves (`/` is on both: the kiosk and the form).
pub const PUBLIC_PATHS: &[&str] = &["/", "/static/form.css", "/static/brand.css", "/static/logo", "/press/{token}"];

/// The paths the health listener (`HEALTH_LISTEN_ADDR`, the kubelet's probes and Prometheus)
/// serves, open like on the private listener; nothing else answers there.
pub const HEALTH_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Every (method, path) the source declares with `.route(path, get(..).post(..))`.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    // Every file under src/web, folders (web/limits/) included.
    let mut folders = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web")];
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { folders.push(path) } else { files.push(path) }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for declaration in text.split(".route(\"").skip(1) {
            let (path, rest) = declaration.split_once('"').unwrap();
            let handlers = rest.split(")\n").next().unwrap_or(rest);
            for (method, marker) in
                [("GET", "get("), ("POST", "post("), ("PUT", "put("), ("DELETE", "delete("), ("PATCH", "patch(")]
            {
                let called = handlers
                    .match_indices(marker)
                    .any(|(i, _)| i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if called {
                    routes.insert((method.to_string(), path.to_string()));
                }
            }
        }
    }
    routes
}

#[test]
fn every_route_in_the_source_has_a_decided_guard() {
    let declared = declared_routes();
    assert!(declared.len() >= 25, "the scan found the routes: {declared:?}");
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let undecided: Vec<_> = declared.difference(&table).collect();
    assert!(undecided.is_empty(), "routes without a decision in tests/it/security.rs: {undecided:?}");
    let stale: Vec<_> = table.difference(&declared).collect();
    assert!(stale.is_empty(), "the table lists routes the source no longer has: {stale:?}");
}

/// A concrete path for a route pattern.
pub fn concrete(path: &str) -> String {
    path.replace("{index}", "1")
        .replace("{name}", "storm")
        .replace("{file}", "kiosk.css")
        .replace("{token}", &"ab".repeat(32))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_refuses_without_credentials_and_changes_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--fog", "virtual"]).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    eventually(Duration::from_secs(30), "the app ready", || async {
        let response = http.get(format!("{}/readyz", app.private)).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    let wrong = "Basic YWRtaW46d3Jvbmc="; // admin:wrong
    for (method, path, guard) in ROUTES.iter().filter(|(_, p, _)| !PUBLIC_PATHS.contains(p)) {
        let url = format!("{}{}", app.private, concrete(path));
        let method: reqwest::Method = method.parse().unwrap();
        let bare = http
            .request(method.clone(), &url)
            .form(&[("count", "7"), ("night", "on"), ("password", "conferenceli")])
            .send()
            .await
            .unwrap();
        let status = bare.status().as_u16();
        match guard {
            Guard::Open => assert!(status < 400, "{method} {path} is open but answered {status}"),
            Guard::Basic | Guard::BasicNotCrossSite => {
                assert_eq!(status, 401, "{method} {path} without credentials");
                assert!(bare.headers().contains_key("www-authenticate"), "{path} asks for credentials");
                let with_wrong =
                    http.request(method.clone(), &url).header("authorization", wrong).send().await.unwrap();
                assert_eq!(with_wrong.status(), 401, "{method} {path} with a wrong password");
                // Credentials come first: a malformed query tells a stranger nothing either.
                let malformed = format!("{url}?label=a&label=b&name=x&name=y&state=%FF");
                let with_junk = http.request(method.clone(), malformed).send().await.unwrap();
                assert_eq!(with_junk.status(), 401, "{method} {path} with a malformed query");
                if *guard == Guard::BasicNotCrossSite {
                    // The right credentials (cached by a browser), sent by another site's page.
                    for (name, value) in [("sec-fetch-site", "cross-site"), ("origin", "http://evil.example")] {
                        let forged = http
                            .request(method.clone(), &url)
                            .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
                            .header(name, value)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(forged.status(), 403, "{method} {path} with {name}: {value}");
                    }
                }
            }
            Guard::Session => assert_eq!(status, 401, "{method} {path} without a session"),
            Guard::Csrf => assert_eq!(status, 403, "{method} {path} without a CSRF token"),
            Guard::PublicForm | Guard::PublicToken => unreachable!("filtered out"),
        }
    }
    // Nothing changed: no pod deleted, counter and night mode untouched, no fog.
    let state: serde_json::Value =
        http.get(format!("{}/api/state", app.private)).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["pods"].as_array().unwrap().iter().filter(|p| p["status"] == "Running").count(), 5);
    assert_eq!((state["killCount"].as_u64(), state["mode"].as_str()), (Some(0), Some("day")));
    assert_eq!(state["fog"]["puffs"], 0);
    assert_eq!(cluster.takes(), 0);
    assert!(state["nodes"].as_array().unwrap().iter().all(|n| n["unschedulable"] == false), "no node cordoned");
    assert_eq!(cluster.sim.stats.requests("patch", "nodes"), 0);

    // The public listener answers the form and nothing else.
    for (_, path, _) in ROUTES.iter().filter(|(_, p, _)| !PUBLIC_PATHS.contains(p)) {
        let response = http.get(format!("{}{}", app.public, concrete(path))).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} must not answer on the public listener");
    }
    let without_token = http
        .post(format!("{}/", app.public))
        .form(&[("name", "Eve"), ("email", "eve@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(without_token.status(), 403, "the public form needs its CSRF token");
    assert!(crate::leads::all_leads(&cluster).await.is_empty(), "and stores nothing without it");

    // The health listener answers the probes and the metrics, and nothing else.
    for (method, path, _) in ROUTES {
        let url = format!("{}{}", app.health, concrete(path));
        let response = http.request(method.parse().unwrap(), url).send().await.unwrap();
        let expected = if HEALTH_PATHS.contains(path) && *method == "GET" { 200 } else { 404 };
        assert_eq!(response.status(), expected, "{method} {path} on the health listener");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_address_that_guesses_passwords_is_held_back_and_others_still_press_the_button() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = crate::common::TestApp::start(&cluster, &["--auth-failures-per-minute", "3"]).await;
    let guesser = reqwest::Client::new();
    let nightmode = format!("{}/nightmode", app.url);
    for guess in ["123456", "password", "booth"] {
        let answer = guesser.get(&nightmode).basic_auth("admin", Some(guess)).send().await.unwrap();
        assert_eq!(answer.status(), 401, "wrong guess {guess}");
    }
    // Held back: even the right password from that address is not looked at now.
    let password = Some(conferenceli::config::DEMO_PASSWORD);
    let held = guesser.get(&nightmode).basic_auth("admin", password).send().await.unwrap();
    assert_eq!(held.status(), 429);
    let retry_after: u64 = held.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let message = held.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert!(message.contains("Too many wrong passwords"), "{message}");
    let pressed = guesser.post(format!("{}/chaos", app.url)).basic_auth("admin", password).send().await.unwrap();
    assert_eq!(pressed.status(), 429, "the guesser's press is refused too");
    assert_eq!(cluster.takes(), 0, "and deletes nothing");
    // Requests without credentials are not the limiter's business: the kiosk keeps working.
    let kiosk = guesser.get(format!("{}/api/state", app.url)).send().await.unwrap();
    assert_eq!(kiosk.status(), 200);
    // The staff's machine is another address (127.0.0.2 is loopback too): the button works.
    let staff = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).build().unwrap();
    let answer = staff.get(&nightmode).basic_auth("admin", password).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    app.stop().await;
}
