//! Secrets stay secret: `conferenceli run` (the real binary, logging at `trace`, which is
//! everything `debug` shows and more) with a
//! distinctive value for every secret setting, driven through the moments most likely to leak
//! one: wrong passwords on every guarded door, Odoo refusing the credentials, a webhook receiver
//! failing, a sign-up and a settings change. Then no secret, no wrong guess and no Basic header
//! made of them appears in the process's output, in any answer (pages, `/metrics`,
//! `/api/state`, the CSV export), in the Booth, Lead and Event resources, or in what the webhook
//! receiver was sent.

use crate::automations::{Received, receiver_answering};
use crate::binary::{BIN, Running};
use crate::common::{TestCluster, eventually, fast_config, free_port, kubeconfig_for, sigterm};
use crate::leads::{Visitor, all_leads, as_refs, complete, csrf_token};
use crate::odoo_double::{self, OdooDouble};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const CHAOS_PASSWORD: &str = "chaos-pw-Q7v2X9d";
const ADMIN_PASSWORD: &str = "admin-pw-M3k8Z1r";
const ODOO_API_KEY: &str = "odoo-key-W4n6R2p";
const ODOO_PASSWORD: &str = "odoo-pw-H5j1T8s";
const WEBHOOK_SECRET: &str = "hook-secret-B9c3L6f";
/// A webhook receiver's token in its URL (`CHAOS_WEBHOOK_URLS` lives in the Secret for this).
const WEBHOOK_URL_TOKEN: &str = "hook-url-token-P8d4Jq";
/// What a staff member mistyped: as secret as the password itself.
const WRONG_GUESS: &str = "wrong-guess-K2p7Vn";

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Every string that must not appear anywhere, with what it is.
fn needles() -> Vec<(String, &'static str)> {
    let mut needles: Vec<(String, &'static str)> = vec![
        (CHAOS_PASSWORD.into(), "the chaos password"),
        (ADMIN_PASSWORD.into(), "the admin password"),
        (ODOO_API_KEY.into(), "the Odoo API key"),
        (ODOO_PASSWORD.into(), "the Odoo password"),
        (WEBHOOK_SECRET.into(), "the webhook secret"),
        (WEBHOOK_URL_TOKEN.into(), "the webhook URL's token"),
        (WRONG_GUESS.into(), "a wrong password"),
    ];
    for (password, what) in [
        (CHAOS_PASSWORD, "the chaos Basic header"),
        (ADMIN_PASSWORD, "the admin Basic header"),
        (WRONG_GUESS, "a wrong Basic header"),
    ] {
        needles.push((basic("admin", password), what));
    }
    needles
}

/// Everything one run showed to the outside world, as text, by where it was seen.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.0.push((place.into(), text.into()));
    }

    /// Records an answer (status, headers and body) and returns its status and body.
    async fn answer(&mut self, place: &str, response: reqwest::Response) -> (StatusCode, String) {
        let status = response.status();
        let headers = format!("{:?}", response.headers());
        let body = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
        self.add(place, format!("{status}\n{headers}\n{body}"));
        (status, body)
    }

    fn assert_clean(&self) {
        for (needle, what) in needles() {
            for (place, text) in &self.0 {
                if let Some(at) = text.find(&needle) {
                    let from = text[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
                    let context: String = text[from..].chars().take(400).collect();
                    panic!("{what} leaked in {place}: …{context}…");
                }
            }
        }
    }
}

/// A webhook receiver that records every delivery and refuses it with a 500. Its URL carries
/// a token, which the receiver itself may see (it is not recorded).
async fn failing_receiver() -> (String, Received) {
    let (url, received) = receiver_answering(Duration::ZERO, StatusCode::INTERNAL_SERVER_ERROR).await;
    (format!("{url}?token={WEBHOOK_URL_TOKEN}"), received)
}

/// Reads a child's pipe to the end on a thread of its own (a full pipe would stall the child).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// One run of the binary against a fresh cluster, Odoo over JSON-2 (`json2`) or JSON-RPC, both
/// refusing the configured credentials.
async fn one_run(json2: bool) {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let (hook_url, deliveries) = failing_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let (private_port, public_port) = (free_port(), free_port());
    let mut command = Command::new(BIN);
    command
        .args(["run", "--listen-addr", &format!("127.0.0.1:{private_port}")])
        .args(["--public-listen-addr", &format!("127.0.0.1:{public_port}"), "--leds", "virtual", "--fog", "virtual"])
        .args(["--health-listen-addr", "127.0.0.1:0"])
        .args(["--odoo-retry-min-ms", "100", "--chaos-webhook-timeout-seconds", "1"])
        // Wrong credentials on every route from one address: past the guess limiter's default.
        .args(["--auth-failures-per-minute", "1000"])
        .env("KUBECONFIG", &kubeconfig)
        .env("LOG_LEVEL", "trace")
        .env("CHAOS_BASIC_AUTH_PASSWORD", CHAOS_PASSWORD)
        .env("BASIC_AUTH_PASSWORD", ADMIN_PASSWORD)
        .env("CHAOS_WEBHOOK_URLS", &hook_url)
        .env("CHAOS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("ODOO_URL", odoo.url())
        .env("ODOO_DB", odoo_double::DB)
        .env("ODOO_USERNAME", odoo_double::LOGIN)
        .env("ODOO_PASSWORD", ODOO_PASSWORD)
        .env("ODOO_API_KEY", if json2 { ODOO_API_KEY } else { "" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Running(command.spawn().expect("start conferenceli run"));
    let stdout = drain(child.0.stdout.take().unwrap());
    let stderr = drain(child.0.stderr.take().unwrap());
    let private = format!("http://127.0.0.1:{private_port}");
    let public = format!("http://127.0.0.1:{public_port}");
    let http = http();
    let mut seen = Seen::default();
    eventually(WAIT, "the app ready", || async {
        let response = http.get(format!("{private}/readyz")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;

    // Wrong credentials on every kind of door, well-formed and not.
    let wrong = format!("Basic {}", basic("admin", WRONG_GUESS));
    let malformed = format!("Basic {WRONG_GUESS}");
    for path in ["/chaos", "/nightmode", "/config", "/leads.csv", "/labels/preview.png"] {
        for header in [&wrong, &malformed] {
            let response = http.get(format!("{private}{path}")).header("authorization", header).send().await.unwrap();
            assert_eq!(seen.answer(path, response).await.0, 401, "{path}");
        }
    }
    let login_page = http.get(format!("{private}/control")).send().await.unwrap();
    let csrf_cookie = login_page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (_, page) = seen.answer("/control", login_page).await;
    let token = csrf_token(&page);
    let login = |password: &'static str| {
        let request = http
            .post(format!("{private}/control/login"))
            .header("cookie", &csrf_cookie)
            .form(&[("password", password), ("csrf_token", &token)]);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(seen.answer("a wrong control login", login(WRONG_GUESS).await).await.0, 401);

    // The right ones: a kill (the webhook receiver refuses it), a staff login, a settings change.
    let chaos = http.post(format!("{private}/chaos")).basic_auth("admin", Some(CHAOS_PASSWORD)).send().await.unwrap();
    assert_eq!(seen.answer("/chaos", chaos).await.0, 200);
    let logged_in = login(CHAOS_PASSWORD).await;
    assert_eq!(logged_in.status(), 303);
    let session = logged_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let panel = http
        .get(format!("{private}/control"))
        .header("cookie", format!("{csrf_cookie}; {session}"))
        .send()
        .await
        .unwrap();
    seen.answer("the control panel", panel).await;
    let config = http.get(format!("{private}/config")).basic_auth("admin", Some(ADMIN_PASSWORD)).send().await.unwrap();
    let config_cookie = config.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (_, page) = seen.answer("/config", config).await;
    let config_token = csrf_token(&page);
    for (campaign, expected) in [("Secret Expo", 200), ("x\u{7}", 422)] {
        let response = http
            .post(format!("{private}/config"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("cookie", &config_cookie)
            .form(&[
                ("campaign_name", campaign),
                ("voucher_type", "none"),
                ("odoo_create_lead_enabled", "on"),
                ("csrf_token", &config_token),
            ])
            .send()
            .await
            .unwrap();
        let (status, page) = seen.answer("a /config change", response).await;
        assert_eq!(status, expected, "{page}");
        if expected == 200 {
            assert!(page.contains("could not be checked against Odoo"), "Odoo refused the credentials: {page}");
        }
    }

    // A sign-up, which Odoo then refuses for the credentials.
    let visitor = Visitor::open(&public).await;
    let thanks = visitor.submit(&as_refs(&complete("secret@example.org"))).await;
    assert_eq!(seen.answer("the thank-you page", thanks).await.0, 200);
    eventually(WAIT, "Odoo's refusal in the lead's status", || async {
        let leads = all_leads(&cluster).await;
        let status = serde_json::to_value(leads.first()?.status.clone()?).ok()?;
        status["lastError"].as_str()?.contains("refused the credentials").then_some(())
    })
    .await;
    let metrics = eventually(WAIT, "the webhook given up", || async {
        let text = http.get(format!("{private}/metrics")).send().await.ok()?.text().await.ok()?;
        text.lines().any(|l| l.starts_with("conferenceli_chaos_webhooks_failed") && !l.ends_with(" 0")).then_some(text)
    })
    .await;
    seen.add("/metrics", metrics);

    // Everything else there is to read.
    for path in ["/api/state", "/readyz", "/healthz", "/", "/metrics"] {
        let response = http.get(format!("{private}{path}")).send().await.unwrap();
        seen.answer(path, response).await;
    }
    for path in ["/leads.csv", "/config", "/labels/preview.png"] {
        let response =
            http.get(format!("{private}{path}")).basic_auth("admin", Some(ADMIN_PASSWORD)).send().await.unwrap();
        assert_eq!(seen.answer(path, response).await.0, 200, "{path}");
    }
    let night =
        http.get(format!("{private}/nightmode")).basic_auth("admin", Some(CHAOS_PASSWORD)).send().await.unwrap();
    seen.answer("/nightmode", night).await;
    seen.answer("the public form", http.get(format!("{public}/")).send().await.unwrap()).await;
    for path in [
        "/apis/conferenceli.dev/v1alpha1/namespaces/conferenceli/booths/booth",
        "/apis/conferenceli.dev/v1alpha1/namespaces/conferenceli/leads",
        "/api/v1/namespaces/conferenceli/events",
        "/api/v1/namespaces/demopod/events",
    ] {
        let response = http.get(format!("{}{path}", cluster.url())).send().await.unwrap();
        let (status, json) = seen.answer(path, response).await;
        assert_eq!(status, 200, "{path}");
        let resource: Value = serde_json::from_str(&json).unwrap();
        if path.ends_with("/booth") {
            let conditions = resource["status"]["conditions"].to_string();
            assert!(conditions.contains("Odoo"), "the Booth reports Odoo's refusal: {conditions}");
        }
    }
    for (n, (headers, body)) in deliveries.lock().unwrap().iter().enumerate() {
        seen.add(format!("webhook delivery {n}"), format!("{headers:?}\n{}", String::from_utf8_lossy(body)));
    }
    assert!(!deliveries.lock().unwrap().is_empty(), "the receiver was called");

    sigterm(child.0.id());
    let stopped = Instant::now();
    while child.0.try_wait().unwrap().is_none() {
        assert!(stopped.elapsed() < Duration::from_secs(10), "exits after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    // The logs did record the moments above, at debug level.
    for expected in
        [" DEBUG ", "refused the credentials", "control panel: wrong password", "chaos webhook not delivered"]
    {
        assert!(stderr.contains(expected), "{expected:?} in the logs");
    }
    seen.add("stdout", stdout);
    seen.add("stderr", stderr);
    seen.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_answers_metrics_or_resources_with_odoo_json2() {
    one_run(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_answers_metrics_or_resources_with_odoo_json_rpc() {
    one_run(false).await;
}

/// Every secret setting's variable with its distinctive value.
const SECRET_ENV: [(&str, &str); 5] = [
    ("CHAOS_BASIC_AUTH_PASSWORD", CHAOS_PASSWORD),
    ("BASIC_AUTH_PASSWORD", ADMIN_PASSWORD),
    ("ODOO_API_KEY", ODOO_API_KEY),
    ("ODOO_PASSWORD", ODOO_PASSWORD),
    ("CHAOS_WEBHOOK_SECRET", WEBHOOK_SECRET),
];

#[test]
fn help_and_start_up_errors_never_show_a_secret() {
    let runs: [&[&str]; 4] = [&["run", "--help"], &["demo", "--help"], &["run"], &["demo"]];
    let mut seen = Seen::default();
    for args in runs {
        // The two without --help stop at the malformed address, after reading every secret.
        let output = Command::new(BIN)
            .args(args)
            .envs(SECRET_ENV)
            .env("CHAOS_WEBHOOK_URLS", format!("https://hooks.example.com/notify?token={WEBHOOK_URL_TOKEN}"))
            .env("LISTEN_ADDR", "nonsense")
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .expect("run the binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if args.contains(&"--help") {
            assert!(stdout.contains("[env: ODOO_API_KEY]"), "the variable is named, its value hidden: {stdout}");
        } else {
            assert!(stderr.contains("LISTEN_ADDR"), "{stderr}");
        }
        seen.add(format!("{args:?}"), format!("{stdout}\n{stderr}"));
    }
    seen.assert_clean();
}
