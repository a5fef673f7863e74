//! Lead capture end to end: the whole app in-process against the simulated cluster, visitors
//! submitting the form over HTTP, and the Odoo double on the other side (both APIs), including
//! Odoo going away, answers lost after commit, restarts and bad credentials.

use crate::common::{TestCluster, app_args, eventually, fast_config};
use crate::odoo_double::{self, OdooDouble};
use conferenceli::leads::crd::Lead;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The app with its listeners on free ports.
pub struct LeadsApp {
    pub private: String,
    pub public: String,
    /// The health listener (`/healthz`, `/readyz`, `/metrics`).
    pub health: String,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), conferenceli::app::AppError>>,
}

impl LeadsApp {
    pub async fn start(cluster: &TestCluster, extra: &[&str]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let listeners = crate::common::listeners_with(listener);
        let url = |listener: &tokio::net::TcpListener| format!("http://{}", listener.local_addr().unwrap());
        let (public, health) = (url(&listeners.public), url(&listeners.health));
        let (shutdown, task) = crate::common::spawn_app(cluster, app_args(addr, extra), listeners);
        let app = Self { private: format!("http://{addr}"), public, health, shutdown, task };
        app.wait_for_booth().await;
        app
    }

    /// Waits until the app has read its Booth (the form files leads under its campaign).
    async fn wait_for_booth(&self) {
        let http = reqwest::Client::new();
        eventually(WAIT, "the app to be ready", || {
            let http = http.clone();
            let url = format!("{}/readyz", self.private);
            async move {
                let body: Value = http.get(url).send().await.ok()?.json().await.ok()?;
                (body["checks"]["booth"] == "synced").then_some(())
            }
        })
        .await;
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops on shutdown")
            .expect("no panic")
            .expect("no error");
    }
}

/// A visitor's browser: keeps the CSRF cookie, reads the token from the form.
pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    cookie: String,
    pub token: String,
    pub forwarded_for: Option<String>,
}

impl Visitor {
    pub async fn open(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let response = http.get(format!("{base}/")).send().await.expect("GET /");
        assert_eq!(response.status(), 200);
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a CSRF cookie")
            .to_string();
        let html = response.text().await.unwrap();
        let token = csrf_token(&html);
        Self { http, base: base.to_string(), cookie, token, forwarded_for: None }
    }

    /// Posts `fields` (plus the CSRF token) to `/`.
    pub async fn submit(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &self.token));
        self.post_raw(serde_urlencoded::to_string(&form).unwrap()).await
    }

    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.post_to("/", body).await
    }

    /// Posts a URL-encoded `body` to `path` with this browser's cookie.
    pub async fn post_to(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(xff) = &self.forwarded_for {
            request = request.header("x-forwarded-for", xff);
        }
        request.send().await.expect("POST")
    }
}

pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A complete, valid submission for `email`.
pub fn complete(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Ada Lovelace".into()),
        ("email", email.into()),
        ("company", "Analytical Engines AG".into()),
        ("job_position", "Head of Platform".into()),
        ("phone", "+41 44 123 45 67".into()),
        ("country", "CH".into()),
        ("notes", "Kubernetes at the edge, please.".into()),
        ("consent", "on".into()),
    ]
}

pub fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

pub fn leads_api(cluster: &TestCluster) -> Api<Lead> {
    Api::namespaced(cluster.client.clone(), "conferenceli")
}

pub async fn all_leads(cluster: &TestCluster) -> Vec<Lead> {
    leads_api(cluster).list(&ListParams::default()).await.expect("list leads").items
}

fn status_json(lead: &Lead) -> Value {
    serde_json::to_value(lead.status.clone().unwrap_or_default()).unwrap()
}

/// Waits until every lead is in Odoo and returns them.
async fn wait_all_synced(cluster: &TestCluster, count: usize) -> Vec<Lead> {
    eventually(WAIT, "every lead to be synced", || async {
        let leads = all_leads(cluster).await;
        (leads.len() == count && leads.iter().all(|l| status_json(l)["syncState"] == "Synced")).then_some(leads)
    })
    .await
}

async fn set_campaign(cluster: &TestCluster, campaign: &str) {
    let api: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let patch = json!({"spec": {"campaignName": campaign}});
    api.patch("booth", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch the booth");
}

fn odoo_flags(odoo: &OdooDouble, json2: bool, extra: &[&str]) -> Vec<String> {
    let mut flags = odoo.app_flags(json2);
    flags.extend(
        ["--source-name", "Booth", "--tag-name", "conference", "--campaign-name", "KubeCon 2026"].map(String::from),
    );
    flags.extend(["--odoo-retry-min-ms", "100", "--odoo-retry-max-seconds", "1"].map(String::from));
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

fn refs(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}

async fn happy_path(json2: bool) {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let flags = odoo_flags(&odoo, json2, &[]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    let visitor = Visitor::open(&app.public).await;
    let response = visitor.submit(&as_refs(&complete("ada@example.org"))).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Thank you, Ada Lovelace!"), "{page}");

    let leads = wait_all_synced(&cluster, 1).await;
    let lead = &leads[0];
    assert!(conferenceli::leads::code::is_valid(&lead.spec.code));
    assert!(page.contains(&lead.spec.code), "the thank-you page shows the code");
    assert_eq!(lead.spec.campaign, "KubeCon 2026");
    let created = odoo.records("crm.lead");
    assert_eq!(created.len(), 1);
    let record = &created[0];
    assert_eq!(status_json(lead)["odooId"], record["id"]);
    assert_eq!(record["name"], "Event Lead: Ada Lovelace");
    assert_eq!(record["contact_name"], "Ada Lovelace");
    assert_eq!(record["email_from"], "ada@example.org");
    assert_eq!(record["function"], "Head of Platform");
    assert_eq!(record["partner_name"], "Analytical Engines AG");
    assert_eq!(record["phone"], "+41 44 123 45 67");
    assert_eq!(record["country_id"], 43, "CH resolved to Odoo's id");
    assert_eq!(record["campaign_id"], 7);
    assert_eq!(record["source_id"], 3);
    assert_eq!(record["tag_ids"], json!([[6, 0, [11]]]));
    assert_eq!(
        record["description"],
        format!("Kubernetes at the edge, please.\n\nLead code: {}", lead.spec.code).as_str()
    );
    let status = status_json(lead);
    assert_eq!(status["attempts"], 1);
    assert_eq!(status["printState"], "NotRequested");
    assert_eq!(status["conditions"][0]["type"], "Synced");
    assert_eq!(status["conditions"][0]["status"], "True");
    // The Lead, its status writes and the Booth's went through the CRD schemas, nothing pruned.
    let writes =
        ["create", "update", "patch"].iter().map(|verb| cluster.sim.stats.requests(verb, "leads.conferenceli.dev"));
    assert!(writes.sum::<u64>() >= 2, "the Lead and at least one status write");
    cluster.assert_nothing_pruned();
    app.stop().await;
}

#[tokio::test]
async fn a_lead_with_every_field_reaches_odoo_over_json2() {
    happy_path(true).await;
}

#[tokio::test]
async fn a_lead_with_every_field_reaches_odoo_over_legacy_json_rpc() {
    happy_path(false).await;
}

#[tokio::test]
async fn odoo_down_for_a_while_then_back_every_lead_arrives_exactly_once() {
    let cluster = TestCluster::start(fast_config()).await;
    let mut odoo = OdooDouble::start().await;
    odoo.stop().await;
    let flags = odoo_flags(&odoo, true, &["--odoo-timeout-seconds", "2"]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    for i in 0..5 {
        let visitor = Visitor::open(&app.public).await;
        let response = visitor.submit(&as_refs(&complete(&format!("visitor{i}@example.org")))).await;
        assert_eq!(response.status(), 200, "the visitor never waits for Odoo");
    }
    // Every lead is tried, fails as unreachable and is retried.
    eventually(WAIT, "failed attempts recorded", || async {
        let leads = all_leads(&cluster).await;
        let failing = leads.iter().filter(|l| {
            let s = status_json(l);
            s["syncState"] == "Pending"
                && s["attempts"].as_u64() >= Some(2)
                && s["lastError"].as_str().is_some_and(|e| e.contains("unreachable"))
        });
        (failing.count() == 5).then_some(())
    })
    .await;
    let lead = &all_leads(&cluster).await[0];
    assert_eq!(status_json(lead)["conditions"][0]["reason"], "Unreachable");
    odoo.restart().await;
    let leads = wait_all_synced(&cluster, 5).await;
    let created = odoo.records("crm.lead");
    assert_eq!(created.len(), 5, "each lead exactly once: {created:#?}");
    for lead in &leads {
        let id = status_json(lead)["odooId"].clone();
        let matching: Vec<&Value> = created.iter().filter(|r| r["id"] == id).collect();
        assert_eq!(matching.len(), 1);
        assert!(matching[0]["description"].as_str().unwrap().contains(&lead.spec.code));
    }
    app.stop().await;
}

#[tokio::test]
async fn an_answer_lost_after_commit_creates_no_duplicate() {
    for json2 in [true, false] {
        let cluster = TestCluster::start(fast_config()).await;
        let odoo = OdooDouble::start().await;
        odoo.lose_create_answers(1);
        let flags = odoo_flags(&odoo, json2, &["--odoo-timeout-seconds", "1"]);
        let app = LeadsApp::start(&cluster, &refs(&flags)).await;
        let visitor = Visitor::open(&app.public).await;
        assert_eq!(visitor.submit(&as_refs(&complete("grace@example.org"))).await.status(), 200);
        let leads = wait_all_synced(&cluster, 1).await;
        let status = status_json(&leads[0]);
        assert_eq!(status["attempts"], 2, "the first attempt timed out: {status}");
        let created = odoo.records("crm.lead");
        assert_eq!(created.len(), 1, "found by its marker, not created twice");
        assert_eq!(status["odooId"], created[0]["id"]);
        assert_eq!(odoo.calls("crm.lead", "create"), 1);
        let metrics = reqwest::get(format!("{}/metrics", app.private)).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("conferenceli_lead_odoo_attempts_total{result=\"Unreachable\"} 1"), "{metrics}");
        assert!(metrics.contains("conferenceli_lead_odoo_attempts_total{result=\"found\"} 1"), "{metrics}");
        app.stop().await;
    }
}

/// A lead as the form stores it: no status yet, one raffle label to print.
fn new_lead(name: &str) -> Lead {
    use conferenceli::labels::layout::Label;
    let mut lead = crate::visitor::raffle_lead(name, "Ada", "KubeCon", true);
    lead.spec.labels =
        vec![Label::Raffle { name: "Ada".into(), header: "KubeCon".into(), code: lead.spec.code.clone() }];
    lead
}

/// The booth day printed two labels twice (145 jobs for 143 leads): the controller wrote a lead's
/// first status again from a copy read before the print queue had printed it (the first write's
/// answer lost while the API server restarted, its retry served from a cache whose watch was
/// still reconnecting), which set `Printed` back to `Pending`. The first status is now written
/// only onto the version it was computed from.
#[tokio::test]
async fn a_stale_copy_of_a_new_lead_never_sets_its_printed_label_back_to_pending() {
    use conferenceli::leads::controller::write_first_status;
    use conferenceli::leads::crd::PrintState;
    use kube::api::PostParams;
    let cluster = TestCluster::start(fast_config()).await;
    let leads = leads_api(&cluster);
    let stale = leads.create(&PostParams::default(), &new_lead("lead-printed")).await.unwrap();
    // Meanwhile the first status landed and the queue printed the label.
    let printed = json!({"status": {"printState": "Printed", "printAttempts": 1, "syncState": "Synced"}});
    leads.patch_status("lead-printed", &PatchParams::default(), &Patch::Merge(&printed)).await.unwrap();
    assert_eq!(write_first_status(&leads, &stale).await.unwrap(), None, "the stale copy is refused");
    let status = leads.get_status("lead-printed").await.unwrap().status.unwrap();
    assert_eq!((status.print_state, status.print_attempts), (PrintState::Printed, 1), "printed once, and stays so");

    // A copy that is current gets its first status.
    let fresh = leads.create(&PostParams::default(), &new_lead("lead-new")).await.unwrap();
    let first = write_first_status(&leads, &fresh).await.unwrap().expect("written");
    assert_eq!(first.print_state, PrintState::Pending);
    assert_eq!(leads.get_status("lead-new").await.unwrap().status, Some(first));
}

#[tokio::test]
async fn leads_pending_at_a_restart_are_not_lost() {
    let cluster = TestCluster::start(fast_config()).await;
    let mut odoo = OdooDouble::start().await;
    odoo.stop().await;
    let flags = odoo_flags(&odoo, true, &["--odoo-timeout-seconds", "1"]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    for i in 0..3 {
        let visitor = Visitor::open(&app.public).await;
        assert_eq!(visitor.submit(&as_refs(&complete(&format!("pending{i}@example.org")))).await.status(), 200);
    }
    app.stop().await;
    assert_eq!(all_leads(&cluster).await.len(), 3, "stored before the thank-you page");
    odoo.restart().await;
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    wait_all_synced(&cluster, 3).await;
    assert_eq!(odoo.records("crm.lead").len(), 3);
    app.stop().await;
}

/// Collects the log lines of the current thread (the tests run on a current-thread runtime, so
/// the app's tasks log here too).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn bad_credentials_give_a_clear_error_in_status_and_logs_without_the_secret() {
    for json2 in [true, false] {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // A callsite first hit by a parallel test while this subscriber was being registered may
        // have cached "not interested"; recompute every callsite's interest now that it is.
        tracing::callsite::rebuild_interest_cache();
        let cluster = TestCluster::start(fast_config()).await;
        let odoo = OdooDouble::start().await;
        let secret = "Wr0ng-s3cret-value";
        let mut flags = vec!["--odoo-url".to_string(), odoo.url(), "--odoo-db".into(), odoo_double::DB.into()];
        if json2 {
            flags.extend(["--odoo-api-key".to_string(), secret.to_string()]);
        } else {
            flags.extend(["--odoo-username", odoo_double::LOGIN, "--odoo-password", secret].map(String::from));
        }
        flags.extend(["--odoo-retry-min-ms", "100"].map(String::from));
        let app = LeadsApp::start(&cluster, &refs(&flags)).await;
        let visitor = Visitor::open(&app.public).await;
        assert_eq!(visitor.submit(&as_refs(&complete("eve@example.org"))).await.status(), 200);
        let status = eventually(WAIT, "the credential error in the status", || async {
            let leads = all_leads(&cluster).await;
            let status = status_json(leads.first()?);
            status["lastError"].as_str()?.contains("refused the credentials").then_some(status)
        })
        .await;
        assert_eq!(status["syncState"], "Pending");
        assert_eq!(status["conditions"][0]["reason"], "AuthenticationFailed");
        let booth: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
        let booth_status = eventually(WAIT, "the Odoo condition on the Booth", || async {
            let booth = booth.get("booth").await.ok()?;
            let status = serde_json::to_value(booth.status?).ok()?;
            status["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Odoo" && c["status"] == "False")
                .then_some(status)
        })
        .await;
        app.stop().await;
        let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(log_text.contains("refused the credentials"), "{log_text}");
        for text in [status.to_string(), booth_status.to_string(), log_text] {
            assert!(!text.contains(secret), "the secret leaked: {text}");
        }
        assert!(odoo.records("crm.lead").is_empty());
    }
}

/// Posts the settings form with the admin credentials; returns the status and page.
pub async fn post_settings(app: &LeadsApp, fields: &[(&str, &str)]) -> (u16, String) {
    let http = reqwest::Client::new();
    let auth = ("admin", Some(conferenceli::config::DEMO_PASSWORD));
    let response = http.get(format!("{}/config", app.private)).basic_auth(auth.0, auth.1).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let token = csrf_token(&response.text().await.unwrap());
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    let response = http
        .post(format!("{}/config", app.private))
        .basic_auth(auth.0, auth.1)
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn switching_lead_creation_off_keeps_leads_and_on_again_sends_them() {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let flags = odoo_flags(&odoo, true, &[]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    let off = [("campaign_name", "KubeCon 2026"), ("voucher_type", "none")];
    let (code, page) = post_settings(&app, &off).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Saved."));
    let visitor = Visitor::open(&app.public).await;
    assert_eq!(visitor.submit(&as_refs(&complete("off@example.org"))).await.status(), 200);
    eventually(WAIT, "the lead marked as not sent", || async {
        let leads = all_leads(&cluster).await;
        (status_json(leads.first()?)["syncState"] == "Disabled").then_some(())
    })
    .await;
    assert!(odoo.records("crm.lead").is_empty());
    let on = [("campaign_name", "KubeCon 2026"), ("voucher_type", "none"), ("odoo_create_lead_enabled", "on")];
    assert_eq!(post_settings(&app, &on).await.0, 200);
    wait_all_synced(&cluster, 1).await;
    assert_eq!(odoo.records("crm.lead").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn fully_processed_leads_are_deleted_after_the_retention_and_never_before() {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let flags = odoo_flags(&odoo, true, &["--lead-retention-seconds", "1"]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    let visitor = Visitor::open(&app.public).await;
    // No label wanted: in Odoo means fully processed.
    assert_eq!(visitor.submit(&as_refs(&complete("gone@example.org"))).await.status(), 200);
    eventually(WAIT, "the processed lead to be deleted", || async {
        all_leads(&cluster).await.is_empty().then_some(())
    })
    .await;
    assert_eq!(odoo.records("crm.lead").len(), 1);

    // A label wanted: kept while the print is pending, however long.
    let (code, page) = post_settings(
        &app,
        &[
            ("campaign_name", "KubeCon 2026"),
            ("voucher_type", "none"),
            ("print_raffle_ticket", "on"),
            ("odoo_create_lead_enabled", "on"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{page}");
    let visitor = Visitor::open(&app.public).await;
    assert_eq!(visitor.submit(&as_refs(&complete("kept@example.org"))).await.status(), 200);
    let leads = wait_all_synced(&cluster, 1).await;
    assert_eq!(status_json(&leads[0])["printState"], "Pending");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(all_leads(&cluster).await.len(), 1, "not deleted while the label is pending");
    // The print queue reports the label printed: now the retention runs out.
    let name = kube::ResourceExt::name_any(&leads[0]);
    let patch = json!({"status": {"printState": "Printed", "printAttempts": 1, "printedAt": "2026-11-21T10:00:00Z"}});
    leads_api(&cluster).patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually(WAIT, "the printed lead to be deleted", || async { all_leads(&cluster).await.is_empty().then_some(()) })
        .await;
    app.stop().await;
}

#[tokio::test]
async fn config_refuses_bad_values_and_unknown_campaigns_and_applies_good_ones_live() {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let flags = odoo_flags(&odoo, true, &[]);
    let app = LeadsApp::start(&cluster, &refs(&flags)).await;
    let http = reqwest::Client::new();
    let url = format!("{}/config", app.private);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(http.get(&url).basic_auth("admin", Some("wrong")).send().await.unwrap().status(), 401);
    let no_csrf = http
        .post(&url)
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .form(&[("campaign_name", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let booth: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let before = booth.get("booth").await.unwrap().spec;

    let (code, page) = post_settings(&app, &[("campaign_name", "KubeCon 2026"), ("voucher_type", "gold")]).await;
    assert_eq!(code, 422);
    assert!(page.contains("Unknown voucher type"), "{page}");
    let (code, page) = post_settings(&app, &[("campaign_name", "No Such Event"), ("voucher_type", "none")]).await;
    assert_eq!(code, 422);
    assert!(page.contains("Odoo has no campaign named"), "{page}");
    assert_eq!(booth.get("booth").await.unwrap().spec, before, "refused settings change nothing");

    let good = [
        ("campaign_name", "KubeCon 2026"),
        ("label_header", "KubeCon <Salt Lake>"),
        ("voucher_type", "servala"),
        ("servala_voucher_code", "BOOTH-26"),
        ("print_raffle_ticket", "on"),
        ("odoo_create_lead_enabled", "on"),
    ];
    let (code, page) = post_settings(&app, &good).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("KubeCon &#60;Salt Lake&#62;") || page.contains("KubeCon &lt;Salt Lake&gt;"), "{page}");
    let spec = booth.get("booth").await.unwrap().spec;
    assert_eq!(spec.label_header, "KubeCon <Salt Lake>");
    assert_eq!(spec.voucher_type, conferenceli::booth::VoucherType::Servala);
    assert!(spec.print_raffle_ticket && spec.odoo_create_lead_enabled);
    // Applied live: the public form shows the new header.
    let form = reqwest::get(format!("{}/", app.public)).await.unwrap().text().await.unwrap();
    assert!(form.contains("KubeCon &#60;Salt Lake&#62;") || form.contains("KubeCon &lt;Salt Lake&gt;"));
    app.stop().await;
}

#[tokio::test]
async fn leads_csv_lists_every_lead_with_states_quoted_and_neutralised() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    set_campaign(&cluster, "Expo").await;
    let visitor = Visitor::open(&app.public).await;
    let fields = [
        ("name", "=HYPERLINK(\"http://evil\")"),
        ("email", "csv@example.org"),
        ("company", "Acme, Inc."),
        ("job_position", "@boss"),
        ("phone", "+41 44 000 00 00"),
        ("notes", "line one\nline \"two\""),
        ("consent", "on"),
    ];
    assert_eq!(visitor.submit(&fields).await.status(), 200);
    eventually(WAIT, "the lead marked as not configured", || async {
        let leads = all_leads(&cluster).await;
        (status_json(leads.first()?)["syncState"] == "NotConfigured").then_some(())
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/leads.csv", app.private);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let response = http.get(&url).basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert!(lines.next().unwrap().starts_with("lead,submitted_at,campaign,code,name,email,company"));
    let code = all_leads(&cluster).await[0].spec.code.clone();
    assert!(
        csv.contains(&format!(
            ",Expo,{code},\"'=HYPERLINK(\"\"http://evil\"\")\",csv@example.org,\"Acme, Inc.\",'@boss,'+41 44 000 00 00,"
        )),
        "{csv}"
    );
    assert!(csv.contains("\"line one\nline \"\"two\"\"\",true,NotConfigured,,0,"), "{csv}");
    assert!(csv.contains(",NotRequested,0,,\r\n"), "{csv}");
    app.stop().await;
}

#[tokio::test]
async fn both_odoo_clients_tell_unreachable_refused_credentials_and_rejected_data_apart() {
    use conferenceli::leads::odoo::{self, OdooError, OdooSettings, SearchRead};
    use conferenceli::secret::Secret;
    let mut double = OdooDouble::start().await;
    let url = double.url();
    let settings = |json2: bool, secret: &str| OdooSettings {
        url: url.clone(),
        database: odoo_double::DB.into(),
        username: odoo_double::LOGIN.into(),
        password: (!json2).then(|| Secret::new(secret)),
        api_key: json2.then(|| Secret::new(secret)),
        timeout: Duration::from_secs(2),
    };
    for json2 in [true, false] {
        let secret = if json2 { odoo_double::API_KEY } else { odoo_double::PASSWORD };
        let client = odoo::connect(&settings(json2, secret)).unwrap();
        let countries = client
            .search_read(SearchRead::new("res.country", json!([["code", "=", "CH"]]), &["id", "name"]).limit(1))
            .await
            .unwrap();
        assert_eq!(countries, vec![json!({"id": 43, "name": "Switzerland"})]);
        let id = client.create("crm.lead", json!({"name": "Event Lead: Test"})).await.unwrap();
        assert!(id >= 1000);
        match client.create("crm.lead", json!({"name": "x", "bogus_field": 1})).await {
            Err(OdooError::Rejected(message)) => assert!(message.contains("Invalid field 'bogus_field'"), "{message}"),
            other => panic!("expected rejected data, got {other:?}"),
        }
        let wrong = odoo::connect(&settings(json2, "not-the-secret-42")).unwrap();
        match wrong.search_read(SearchRead::new("res.country", json!([]), &["id"])).await {
            Err(error @ OdooError::Authentication(_)) => assert!(!error.to_string().contains("not-the-secret-42")),
            other => panic!("expected refused credentials, got {other:?}"),
        }
    }
    double.stop().await;
    for json2 in [true, false] {
        let client = odoo::connect(&settings(json2, "irrelevant")).unwrap();
        let result = client.search_read(SearchRead::new("res.country", json!([]), &["id"])).await;
        assert!(matches!(result, Err(OdooError::Unreachable(_))), "{result:?}");
    }
}

#[test]
fn malformed_lead_settings_stop_start_up_with_one_line_naming_them() {
    let cases = [
        ("PUBLIC_LISTEN_ADDR", "nonsense"),
        ("ODOO_URL", "ftp://odoo.example.com"),
        ("PRIVACY_URL", "not a url"),
        ("SUCCESS_REDIRECT_URL", "javascript:alert(1)"),
        ("TRUSTED_PROXIES", "proxy.local"),
        ("FORM_RATE_LIMIT_PER_MINUTE", "0"),
        ("ODOO_TIMEOUT_SECONDS", "0"),
        ("LEAD_RETENTION_SECONDS", "soon"),
    ];
    for (var, value) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
            .arg("demo")
            .env(var, value)
            .output()
            .expect("run the binary");
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}: {lines:?}");
        assert!(lines[0].contains(var), "{var} not named in {:?}", lines[0]);
    }
}
