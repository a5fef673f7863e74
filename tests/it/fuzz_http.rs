//! Property tests over real HTTP: what people control (the SSE streams' `Last-Event-ID`, query
//! strings, `Authorization` headers, the public form's fields and bodies, the `/config` form)
//! sent to one running app per property. Whatever arrives, the answer is the expected one and
//! never a 5xx; a refused input changes nothing.
//!
//! The expected answer of each case comes from the same pure functions the handlers use
//! (`form::validate`, `settings::validate`, the lead's name), which `fuzz.rs` and the unit tests
//! check on their own; here the point is the whole path: parsing, CSRF, storage, rendering.
//!
//! proptest's runner is synchronous: each property starts a runtime and its app once, then every
//! case drives its requests with `block_on`.

use crate::common::{TestCluster, eventually, fast_config};
use crate::dashboard::SseReader;
use crate::leads::{LeadsApp, Visitor, all_leads};
use crate::security::{Guard, PUBLIC_PATHS, ROUTES, concrete};
use conferenceli::booth::{Booth, BoothSpec};
use conferenceli::config::DEMO_PASSWORD;
use conferenceli::leads::countries::CountryCache;
use conferenceli::leads::crd::lead_name;
use conferenceli::leads::form::{self, FormInput};
use conferenceli::web::settings::{self, SettingsInput};
use kube::Api;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::header::HeaderValue;
use serde_json::Value;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Runs `case` on `cases` generated values, on `rt`; fails the test with the smallest failing value.
fn check<S, F, Fut>(rt: &tokio::runtime::Runtime, cases: u32, strategy: S, case: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    // No regression files: the app is started by the test, not by proptest's macro.
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    if let Err(error) = TestRunner::new(config).run(&strategy, |value| rt.block_on(case(value))) {
        panic!("{error}");
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The app with the demo's 5 pods running and its 3 nodes, ready.
async fn started(extra: &[&str]) -> (TestCluster, LeadsApp) {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, extra).await;
    eventually(WAIT, "5 running pods and 3 nodes", || async {
        let state: Value = http().get(format!("{}/api/state", app.private)).send().await.ok()?.json().await.ok()?;
        let running = state["pods"].as_array()?.iter().filter(|p| p["status"] == "Running").count();
        (running == 5 && state["nodes"].as_array()?.len() == 3).then_some(())
    })
    .await;
    (cluster, app)
}

/// A header value as a client may send it: any byte `HeaderValue` accepts (visible ASCII, tab,
/// obs-text), numbers too large for any counter, and text.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,30}".prop_map(String::into_bytes),
        Just(b"-1".to_vec()),
        "\\PC{0,40}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..64)
            .prop_map(|bytes| bytes.into_iter().filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)).collect()),
    ]
}

/// A query string: none, raw printable junk (stray `%`, `&`, `=`), known and unknown keys with
/// arbitrary values (a key twice too), or percent-encoded arbitrary bytes (invalid UTF-8
/// included).
fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("state".to_string()),
        Just("label".into()),
        Just("name".into()),
        Just("lastEventId".into()),
        "[a-z]{1,8}"
    ];
    prop_oneof![
        Just(String::new()),
        "[!-~]{1,60}",
        vec((key.clone(), "\\PC{0,40}"), 1..4).prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap()),
        // A key twice: serde refuses duplicate fields.
        (key, "\\PC{0,10}", "\\PC{0,10}")
            .prop_map(|(k, a, b)| serde_urlencoded::to_string([(&k, a), (&k, b)]).unwrap()),
        vec(any::<u8>(), 1..40).prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect()),
    ]
}

fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() { url.to_string() } else { format!("{url}?{query}") }
}

#[test]
fn sse_streams_answer_any_last_event_id_and_query_with_the_snapshot_first() {
    let rt = runtime();
    let (cluster, app) = rt.block_on(started(&[]));
    let state: Value = rt.block_on(async {
        http().get(format!("{}/api/state", app.private)).send().await.unwrap().json().await.unwrap()
    });
    let names = |list: &Value| -> BTreeSet<String> {
        list.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect()
    };
    let (pods, nodes) = (names(&state["pods"]), names(&state["nodes"]));
    let client = http();
    let strategy = (prop_oneof![Just("/stream"), Just("/stream_pods"), Just("/stream_nodes")], header_bytes(), query());
    check(&rt, 128, strategy, |(path, last_event_id, query)| {
        let (client, base, pods, nodes) = (&client, &app.private, &pods, &nodes);
        async move {
            let value = HeaderValue::from_bytes(&last_event_id).unwrap();
            let url = with_query(&format!("{base}{path}"), &query);
            let response = client.get(url).header("last-event-id", value).send().await.unwrap();
            prop_assert_eq!(response.status().as_u16(), 200);
            let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
            prop_assert!(content_type.starts_with("text/event-stream"), "{}", content_type);
            let mut reader = SseReader::reading(response);
            prop_assert_eq!(reader.next(WAIT).await.retry, Some(2000), "retry: first");
            // Then the whole current state, whatever the client claims to have seen.
            if path == "/stream" {
                let snapshot = reader.next(WAIT).await;
                prop_assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
                let snapshot: Value = serde_json::from_str(&snapshot.data).unwrap();
                prop_assert_eq!(&names(&snapshot["pods"]), pods);
                prop_assert_eq!(&names(&snapshot["nodes"]), nodes);
            } else {
                let expected = if path == "/stream_pods" { pods } else { nodes };
                let mut seen = BTreeSet::new();
                for _ in 0..expected.len() {
                    let record: Value = serde_json::from_str(&reader.next(WAIT).await.data).unwrap();
                    seen.insert(record["name"].as_str().unwrap().to_string());
                }
                prop_assert_eq!(&seen, expected);
            }
            Ok(())
        }
    });
    rt.block_on(app.stop());
    drop(cluster);
}

/// A value a visitor may type: plausible text, any printable text, or anything at all
/// (control characters included).
fn typed(plausible: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => plausible,
        2 => proptest::string::string_regex(&format!("\\PC{{0,{max}}}")).unwrap(),
        1 => any::<String>(),
        1 => Just(String::new()),
    ]
}

/// What one case posts to the public form.
#[derive(Debug, Clone)]
enum FormBody {
    /// The form's fields (plus extra ones, possibly repeating a field) and the CSRF token.
    Fields(Vec<(String, String)>),
    /// Arbitrary bytes, with the valid CSRF token appended or not.
    Junk { bytes: Vec<u8>, token: bool },
}

fn form_body() -> impl Strategy<Value = FormBody> {
    let fields = (
        typed("[A-Z][a-z]{1,10} [A-Z][a-z]{1,12}", 120),
        typed("[a-z0-9]{1,8}([._+-][a-z0-9]{1,6})?@[a-z0-9]{1,10}\\.[a-z]{2,6}", 70),
        typed("[A-Za-z0-9 &.,-]{1,30}", 120),
        typed("[A-Za-z ]{1,30}", 120),
        typed("\\+?[0-9]{2,3} [0-9]{2,3}[ ./-][0-9]{3} [0-9]{2,4}", 40),
        prop_oneof![
            2 => Just("".to_string()),
            2 => Just("CH".into()),
            1 => Just("DE".into()),
            1 => Just("Switzerland".into()),
            1 => "\\PC{0,12}"
        ],
        prop_oneof![8 => typed("[A-Za-z ,.\n]{1,200}", 300), 1 => "[a-z\n]{1995,2005}"],
        prop_oneof![6 => Just("on".to_string()), 1 => Just("yes".into()), 1 => Just(String::new()), 1 => "\\PC{0,6}"],
        prop_oneof![
            4 => Just(Vec::new()),
            1 => vec((prop_oneof![Just("name".to_string()), Just("csrf_token".into()), "[a-z_]{1,10}"], "\\PC{0,20}"), 1..3)
        ],
    );
    let fields = fields.prop_map(|(name, email, company, job, phone, country, notes, consent, extra)| {
        let mut pairs: Vec<(String, String)> = [
            ("name", name),
            ("email", email),
            ("company", company),
            ("job_position", job),
            ("phone", phone),
            ("country", country),
            ("notes", notes),
            ("consent", consent),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        pairs.extend(extra);
        FormBody::Fields(pairs)
    });
    prop_oneof![4 => fields, 1 => (vec(any::<u8>(), 0..600), any::<bool>()).prop_map(|(bytes, token)| FormBody::Junk { bytes, token })]
}

async fn lead_names(cluster: &TestCluster) -> BTreeSet<String> {
    all_leads(cluster).await.iter().map(kube::ResourceExt::name_any).collect()
}

#[test]
fn the_public_form_answers_any_fields_or_body_as_validated_and_stores_only_accepted_ones() {
    let rt = runtime();
    let (cluster, app) = rt.block_on(started(&["--form-rate-limit-per-minute", "100000", "--campaign-name", "Fuzz"]));
    let visitor = rt.block_on(Visitor::open(&app.public));
    let countries = CountryCache::new();
    check(&rt, 256, form_body(), |body| {
        let (cluster, visitor, countries) = (&cluster, &visitor, &countries);
        async move {
            let raw: Vec<u8> = match &body {
                FormBody::Fields(pairs) => {
                    let mut pairs = pairs.clone();
                    pairs.push(("csrf_token".into(), visitor.token.clone()));
                    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
                }
                FormBody::Junk { bytes, token } => {
                    let mut raw = bytes.clone();
                    if *token {
                        raw.extend(format!("&csrf_token={}", visitor.token).bytes());
                    }
                    raw
                }
            };
            let before = lead_names(cluster).await;
            let response = visitor.post_raw(raw.clone()).await;
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            let after = lead_names(cluster).await;
            // What the handler must have decided, step by step.
            let Ok(input) = serde_urlencoded::from_bytes::<FormInput>(&raw) else {
                prop_assert_eq!(status, 400, "{}", page);
                prop_assert!(page.contains("The form could not be read"), "{}", page);
                prop_assert_eq!(&after, &before, "nothing stored");
                return Ok(());
            };
            if input.csrf_token != visitor.token {
                prop_assert_eq!(status, 403, "{}", page);
                prop_assert!(page.contains("reload the page"), "{}", page);
                prop_assert_eq!(&after, &before, "nothing stored");
                return Ok(());
            }
            match form::validate(&input, countries) {
                Err(errors) => {
                    prop_assert_eq!(status, 422, "{}", page);
                    for field in ["name", "email", "company", "job_position", "phone", "country", "notes", "consent"] {
                        let shown = page.contains(&format!("id=\"{field}-error\""));
                        prop_assert_eq!(shown, errors.get(field).is_some(), "error next to {}: {}", field, page);
                    }
                    prop_assert_eq!(&after, &before, "nothing stored");
                }
                Ok(submission) => {
                    prop_assert_eq!(status, 200, "{}", page);
                    let name = lead_name("Fuzz", &submission.email);
                    if before.contains(&name) {
                        prop_assert!(page.contains("already signed up"), "{}", page);
                        prop_assert_eq!(&after, &before);
                    } else {
                        prop_assert!(page.contains("Thank you"), "{}", page);
                        let mut expected = before.clone();
                        expected.insert(name);
                        prop_assert_eq!(&after, &expected);
                    }
                }
            }
            Ok(())
        }
    });
    rt.block_on(app.stop());
}

/// What one case posts to `/config` (with the admin's credentials).
#[derive(Debug, Clone)]
enum SettingsBody {
    Fields(Vec<(&'static str, String)>),
    Junk { bytes: Vec<u8>, token: bool },
}

fn settings_body() -> impl Strategy<Value = SettingsBody> {
    let switch = || prop_oneof![Just(String::new()), Just("on".to_string()), "\\PC{0,4}"];
    let fields = (
        typed("[A-Za-z0-9 ]{1,30}", 110),
        typed("[A-Za-z0-9 <>&\"']{1,40}", 70),
        prop_oneof![
            Just("none".to_string()),
            Just("appuio".into()),
            Just("servala".into()),
            Just(String::new()),
            "\\PC{0,10}"
        ],
        prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{1,40}", "\\PC{0,45}"],
        switch(),
        switch(),
    )
        .prop_map(|(campaign, header, voucher, code, raffle, odoo)| {
            SettingsBody::Fields(vec![
                ("campaign_name", campaign),
                ("label_header", header),
                ("voucher_type", voucher),
                ("servala_voucher_code", code),
                ("print_raffle_ticket", raffle),
                ("odoo_create_lead_enabled", odoo),
            ])
        });
    prop_oneof![4 => fields, 1 => (vec(any::<u8>(), 0..400), any::<bool>()).prop_map(|(bytes, token)| SettingsBody::Junk { bytes, token })]
}

#[test]
fn config_stores_any_valid_settings_and_refuses_the_rest_naming_the_field() {
    let rt = runtime();
    let (cluster, app) = rt.block_on(started(&[]));
    let booths: Api<Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let client = http();
    let url = format!("{}/config", app.private);
    let (cookie, token) = rt.block_on(async {
        let page = client.get(&url).basic_auth("admin", Some(DEMO_PASSWORD)).send().await.unwrap();
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        (cookie, crate::leads::csrf_token(&page.text().await.unwrap()))
    });
    check(&rt, 256, settings_body(), |body| {
        let (client, url, cookie, token, booths) = (&client, &url, &cookie, &token, &booths);
        async move {
            let raw: Vec<u8> = match &body {
                SettingsBody::Fields(fields) => {
                    let mut fields = fields.clone();
                    fields.push(("csrf_token", token.clone()));
                    serde_urlencoded::to_string(fields).unwrap().into_bytes()
                }
                SettingsBody::Junk { bytes, token: with_token } => {
                    let mut raw = bytes.clone();
                    if *with_token {
                        raw.extend(format!("&csrf_token={token}").bytes());
                    }
                    raw
                }
            };
            let before: BoothSpec = booths.get("booth").await.unwrap().spec;
            let response = client
                .post(url)
                .basic_auth("admin", Some(DEMO_PASSWORD))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            let after: BoothSpec = booths.get("booth").await.unwrap().spec;
            let Ok(input) = serde_urlencoded::from_bytes::<SettingsInput>(&raw) else {
                prop_assert_eq!(status, 400, "{}", page);
                prop_assert!(page.contains("the form could not be read"), "{}", page);
                prop_assert_eq!(&after, &before, "the Booth unchanged");
                return Ok(());
            };
            if &input.csrf_token != token {
                prop_assert_eq!(status, 403, "{}", page);
                prop_assert!(page.contains("reload the page"), "{}", page);
                prop_assert_eq!(&after, &before, "the Booth unchanged");
                return Ok(());
            }
            match settings::validate(&input) {
                Err(errors) => {
                    prop_assert_eq!(status, 422, "{}", page);
                    for error in &errors {
                        // Up to the echoed value (shown escaped): the part that names the field.
                        let naming = error.split(['"', '\'']).next().unwrap();
                        prop_assert!(page.contains(naming), "{:?} shown in {}", naming, page);
                    }
                    prop_assert_eq!(&after, &before, "the Booth unchanged");
                }
                Ok(change) => {
                    prop_assert_eq!(status, 200, "{}", page);
                    prop_assert!(page.contains("Saved."), "{}", page);
                    let expected = BoothSpec {
                        campaign_name: change.campaign_name,
                        label_header: change.label_header,
                        voucher_type: change.voucher_type,
                        servala_voucher_code: change.servala_voucher_code,
                        print_raffle_ticket: change.print_raffle_ticket,
                        odoo_create_lead_enabled: change.odoo_create_lead_enabled,
                        call_to_action: change.call_to_action,
                        ..before
                    };
                    prop_assert_eq!(&after, &expected, "stored as validated");
                }
            }
            Ok(())
        }
    });
    rt.block_on(app.stop());
}

/// The credentials one case presents.
#[derive(Debug, Clone)]
enum Auth {
    /// The route's own (the demo's staff password).
    Right,
    Missing,
    /// Any header value.
    Raw(Vec<u8>),
    /// A well-formed Basic header with another pair.
    Basic(String, String),
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        3 => Just(Auth::Right),
        1 => Just(Auth::Missing),
        1 => header_bytes().prop_map(Auth::Raw),
        1 => ("[a-z]{1,8}", "\\PC{0,16}").prop_map(|(user, password)| Auth::Basic(user, password)),
    ]
}

#[test]
fn any_query_string_and_authorization_on_any_route_is_answered_without_a_5xx() {
    let rt = runtime();
    // Hundreds of wrong credentials from one address: the guess limiter would answer 429 after
    // ten (security.rs tests it); these properties are about what the routes make of them.
    let (cluster, app) = rt.block_on(started(&["--auth-failures-per-minute", "100000"]));
    // Every route that takes no form body (forms are the properties above), on its listener.
    let mut targets: Vec<(String, &str, String, Guard)> = ROUTES
        .iter()
        .filter(|(method, path, guard)| {
            let basic = matches!(guard, Guard::Basic | Guard::BasicNotCrossSite);
            !PUBLIC_PATHS.contains(path) && (basic || (*method == "GET" && *guard == Guard::Open))
        })
        .map(|(method, path, guard)| (app.private.clone(), *method, concrete(path), *guard))
        .collect();
    targets.push((app.public.clone(), "GET", "/".into(), Guard::Open));
    for path in ["/static/form.css", "/static/brand.css", "/static/logo"] {
        targets.push((app.public.clone(), "GET", path.into(), Guard::Open));
    }
    let client = http();
    check(&rt, 512, (0..targets.len(), query(), auth()), |(target, query, auth)| {
        let (client, (base, method, path, guard)) = (&client, &targets[target]);
        async move {
            let url = with_query(&format!("{base}{path}"), &query);
            let mut request = client.request(method.parse().unwrap(), url);
            let let_in = match &auth {
                Auth::Right => {
                    request = request.basic_auth("admin", Some(DEMO_PASSWORD));
                    true
                }
                Auth::Missing => false,
                Auth::Raw(bytes) => {
                    request = request.header("authorization", HeaderValue::from_bytes(bytes).unwrap());
                    false
                }
                Auth::Basic(user, password) => {
                    request = request.basic_auth(user, Some(password));
                    user == "admin" && password == DEMO_PASSWORD
                }
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            prop_assert!(status < 500, "{} {} answered {}", method, path, status);
            match guard {
                Guard::Basic | Guard::BasicNotCrossSite if !let_in => {
                    prop_assert_eq!(status, 401, "{} {} without the right credentials", method, path);
                    prop_assert!(response.headers().contains_key("www-authenticate"));
                }
                Guard::Basic | Guard::BasicNotCrossSite => {
                    prop_assert_ne!(status, 401, "{} {} with the right credentials", method, path)
                }
                _ => prop_assert!(status < 400, "{} {} ignores the query, answered {}", method, path, status),
            }
            Ok(())
        }
    });
    rt.block_on(app.stop());
    drop(cluster);
}

/// What one case presses with.
#[derive(Debug, Clone)]
enum PressToken {
    /// The token a sign-up earned.
    Real,
    /// Any text as the path segment (percent-encoded).
    Any(String),
}

#[test]
fn any_press_token_or_body_is_refused_without_a_5xx_and_only_the_real_token_presses_once() {
    use kube::api::{Patch, PatchParams};
    let rt = runtime();
    let (cluster, app) =
        rt.block_on(started(&["--form-rate-limit-per-minute", "100000", "--chaos-cooldown-seconds", "0"]));
    let booths: Api<Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let visitor = rt.block_on(async {
        let on = serde_json::json!({"spec": {"visitorChaos": true}});
        booths.patch("booth", &PatchParams::default(), &Patch::Merge(&on)).await.unwrap();
        let visitor = Visitor::open(&app.public).await;
        eventually(WAIT, "presses on", || async {
            let response =
                visitor.post_to(&format!("/press/{}", "ab".repeat(32)), format!("csrf_token={}", visitor.token)).await;
            response.text().await.ok()?.contains("Unknown link").then_some(())
        })
        .await;
        visitor
    });
    let thanks = rt.block_on(async {
        let fields = crate::leads::complete("fuzz-press@example.org");
        visitor.submit(&crate::leads::as_refs(&fields)).await.text().await.unwrap()
    });
    let real = thanks.split("action=\"/press/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let used = std::sync::atomic::AtomicBool::new(false);
    let token = prop_oneof![
        1 => Just(PressToken::Real),
        3 => "[0-9a-f]{64}".prop_map(PressToken::Any),
        3 => "\\PC{1,80}".prop_filter("a path segment", |s| s != "." && s != "..").prop_map(PressToken::Any),
    ];
    let body = prop_oneof![
        4 => Just(None),
        1 => vec(any::<u8>(), 0..200).prop_map(Some),
    ];
    check(&rt, 160, (token, any::<bool>(), body), |(token, with_csrf, junk)| {
        let (visitor, cluster, real, used) = (&visitor, &cluster, &real, &used);
        async move {
            let segment = match &token {
                PressToken::Real => real.clone(),
                PressToken::Any(text) => text.clone(),
            };
            let mut url = reqwest::Url::parse(&visitor.base).unwrap();
            url.path_segments_mut().unwrap().clear().push("press").push(&segment);
            let mut raw = junk.clone().unwrap_or_default();
            if with_csrf {
                raw.extend(format!("&csrf_token={}", visitor.token).bytes());
            }
            let deletes = cluster.takes();
            let response = visitor.post_to(url.path(), raw.clone()).await;
            let status = response.status().as_u16();
            let deleted = cluster.takes() - deletes;
            prop_assert!(status < 500, "{:?} answered {}", token, status);
            #[derive(serde::Deserialize, Default)]
            #[serde(default)]
            struct PressBody {
                csrf_token: String,
            }
            let expected: &[u16] = match serde_urlencoded::from_bytes::<PressBody>(&raw) {
                Err(_) => &[400],
                Ok(body) if body.csrf_token != visitor.token => &[403],
                Ok(_) => match token {
                    PressToken::Real if used.load(std::sync::atomic::Ordering::SeqCst) => &[410],
                    PressToken::Real => &[303],
                    PressToken::Any(_) => &[404],
                },
            };
            prop_assert!(expected.contains(&status), "{:?} with {:?}: {} not {:?}", token, raw, status, expected);
            if status == 303 {
                used.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            prop_assert_eq!(deleted, u64::from(status == 303), "one pod per press, none per refusal");
            Ok(())
        }
    });
    // The press's page: any token but the real one is 404, and looking never presses.
    let token = prop_oneof![
        1 => Just(PressToken::Real),
        3 => "[0-9a-f]{64}".prop_map(PressToken::Any),
        3 => "\\PC{1,80}".prop_filter("a path segment", |s| s != "." && s != "..").prop_map(PressToken::Any),
    ];
    check(&rt, 96, token, |token| {
        let (visitor, cluster, real) = (&visitor, &cluster, &real);
        async move {
            let segment = match &token {
                PressToken::Real => real.clone(),
                PressToken::Any(text) => text.clone(),
            };
            let mut url = reqwest::Url::parse(&visitor.base).unwrap();
            url.path_segments_mut().unwrap().clear().push("press").push(&segment);
            let takes = cluster.takes();
            let response = visitor.http.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let expected = if matches!(token, PressToken::Real) { 200 } else { 404 };
            prop_assert_eq!(status, expected, "{:?}", token);
            prop_assert_eq!(cluster.takes(), takes, "a look presses nothing");
            Ok(())
        }
    });
    rt.block_on(app.stop());
    drop(cluster);
}
