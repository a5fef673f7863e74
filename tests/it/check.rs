//! `conferenceli check`, group by group, against the simulated API and the test doubles (the
//! Brother test printer, the Odoo double, a BlinkStick on a simulated USB port, a fake API
//! server whose clock is off): every check passing, and failing with the hint that names its
//! fix, in the text and the JSON form; and the binary's output and exit code.

use crate::binary::BIN;
use crate::common::{TestCluster, fast_config, free_port, kubeconfig_for};
use crate::labels::{Mode, TestPrinter};
use crate::odoo_double::OdooDouble;
use conferenceli::config::{CheckArgs, Cli, Command};
use conferenceli::health::hardware::PortFactory;
use conferenceli::health::{Check, Group, Report, Status};
use conferenceli::leds::blinkstick::HidPort;
use conferenceli::leds::driver::LedError;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `conferenceli check --kubeconfig <kubeconfig> <extra>` as parsed (LEDs virtual unless
/// `extra` says otherwise: this machine has no BlinkStick).
fn args(kubeconfig: &Path, extra: &[&str]) -> CheckArgs {
    use clap::Parser;
    let kubeconfig = kubeconfig.to_str().unwrap();
    let mut all = vec!["conferenceli", "check", "--kubeconfig", kubeconfig, "--check-timeout-seconds", "2"];
    if !extra.contains(&"--leds") {
        all.extend(["--leds", "virtual"]);
    }
    all.extend_from_slice(extra);
    match Cli::try_parse_from(all).expect("valid check arguments").command {
        Command::Check(args) => args,
        _ => unreachable!("parsed a check command line"),
    }
}

async fn checked(kubeconfig: &Path, extra: &[&str]) -> Report {
    conferenceli::commands::check_report(&args(kubeconfig, extra), None).await
}

/// The line `name` of `group`; the test fails when there is none.
fn line<'a>(report: &'a Report, group: Group, name: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.group == group && c.name == name)
        .unwrap_or_else(|| panic!("no {group:?} check {name:?} in\n{}", report.to_text()))
}

/// Asserts a line's outcome, that its message says `message`, and (for a problem) that its hint
/// says `hint`; and that the text and JSON forms carry the same.
fn assert_line(report: &Report, group: Group, name: &str, status: Status, message: &str, hint: &str) {
    let check = line(report, group, name);
    assert_eq!(check.status, status, "{name}: {check:?}");
    assert!(check.message.contains(message), "{name}: {:?} does not say {message:?}", check.message);
    let text = report.to_text();
    assert!(text.contains(&format!("{} {name}: {}", status.symbol(), check.message)), "{text}");
    let json = serde_json::to_value(report).unwrap();
    let entry =
        json["checks"].as_array().unwrap().iter().find(|c| c["name"] == name && c["group"] == json!(group)).unwrap();
    assert_eq!(entry["status"], json!(status));
    assert_eq!(entry["message"], check.message.as_str());
    if status == Status::Ok {
        assert_eq!(entry["hint"], Value::Null);
        return;
    }
    let got = check.hint.as_deref().unwrap_or_default();
    assert!(got.contains(hint), "{name}: hint {got:?} does not say {hint:?}");
    assert!(text.contains(&format!("{} {name}: {}\n    hint: {got}\n", status.symbol(), check.message)), "{text}");
    assert_eq!(entry["hint"], got);
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_checks_pass_on_a_ready_cluster_and_name_what_is_missing() {
    // No namespace for the booth yet, as before deploy/base is applied.
    let cluster = TestCluster::start(kube_sim::SimConfig { namespaces: Vec::new(), ..fast_config() }).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let k = Group::Kubernetes;

    let first = checked(&kubeconfig, &[]).await;
    assert_line(&first, k, "API server", Status::Ok, "(v1.33.5+kube-sim)", "");
    assert_line(&first, k, "version", Status::Ok, "1.33", "");
    assert_line(&first, k, "CRD booths.conferenceli.dev", Status::Ok, "schema matches this binary", "");
    assert_line(&first, k, "CRD leads.conferenceli.dev", Status::Ok, "schema matches this binary", "");
    assert_line(&first, k, "namespace demopod", Status::Ok, "exists", "");
    assert_line(
        &first,
        k,
        "namespace conferenceli",
        Status::Fail,
        "does not exist",
        "kubectl create namespace conferenceli",
    );
    assert_line(&first, k, "pods in demopod", Status::Ok, "5 running", "");
    assert_line(&first, k, "Booth conferenceli/booth", Status::Warn, "not created yet", "kubectl -n conferenceli logs");

    create_namespace(&cluster.client, "conferenceli").await;
    let booths: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let spec = conferenceli::booth::BoothSpec { campaign_name: "KubeCon 2026".into(), ..Default::default() };
    booths.create(&PostParams::default(), &conferenceli::booth::Booth::new("booth", spec)).await.unwrap();
    let ready = checked(&kubeconfig, &[]).await;
    assert_line(&ready, k, "namespace conferenceli", Status::Ok, "exists", "");
    assert_line(&ready, k, "Booth conferenceli/booth", Status::Ok, "campaign \"KubeCon 2026\", 0 kills", "");
    assert!(ready.checks.iter().filter(|c| c.group == k).all(|c| c.status == Status::Ok), "{}", ready.to_text());

    // A cluster whose Booth CRD is older than this binary, with no workload.
    let mut crds = conferenceli::crds::all();
    let booth_crd = crds.iter_mut().find(|c| c.spec.names.kind == "Booth").unwrap();
    let schema = booth_crd.spec.versions[0].schema.as_mut().unwrap().open_api_v3_schema.as_mut().unwrap();
    let spec = schema.properties.as_mut().unwrap().get_mut("spec").unwrap();
    spec.properties.as_mut().unwrap().remove("visitorChaos").expect("the Booth has spec.visitorChaos");
    let stale = TestCluster::start(kube_sim::SimConfig { crds, pods: 0, ..fast_config() }).await;
    let stale_config = kubeconfig_for(&stale.url(), &subdir(dir.path(), "stale"));
    let report = checked(&stale_config, &[]).await;
    assert_line(
        &report,
        k,
        "CRD booths.conferenceli.dev",
        Status::Fail,
        "older than this binary: lacks spec.visitorChaos",
        "kubectl apply -f crds/",
    );
    assert_line(&report, k, "pods in demopod", Status::Fail, "no pods", "kubectl apply -k deploy/demo-workload");
    let bare = TestCluster::start(kube_sim::SimConfig { crds: Vec::new(), ..fast_config() }).await;
    let bare_config = kubeconfig_for(&bare.url(), &subdir(dir.path(), "bare"));
    let report = checked(&bare_config, &[]).await;
    assert_line(&report, k, "CRD leads.conferenceli.dev", Status::Fail, "not installed", "kubectl apply -f crds/");

    // No API server at all: one line says so and names the kubeconfig; nothing else is asked.
    let gone = kubeconfig_for(&format!("http://127.0.0.1:{}", free_port()), &subdir(dir.path(), "gone"));
    let report = checked(&gone, &[]).await;
    assert_line(&report, k, "API server", Status::Fail, "no answer from http://127.0.0.1:", "KUBECONFIG");
    assert_eq!(report.checks.iter().filter(|c| c.group == k || c.group == Group::Permissions).count(), 1);
}

/// A directory of its own under `dir` (each kubeconfig is `<dir>/kubeconfig`).
fn subdir(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_checks_ask_the_api_server_about_the_caller() {
    let tokens = "admin-9a,admin,1,system:masters\nalice-3f,alice,2\n";
    let config = kube_sim::SimConfig {
        tokens: Some(kube_sim::TokenFile::parse(tokens, "tokens.csv").unwrap()),
        ..fast_config()
    };
    let cluster = TestCluster::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let alice = crate::common::kubeconfig_with_token(&cluster.url(), "alice-3f", None, dir.path());
    let admin = crate::common::kubeconfig_with_token(&cluster.url(), "admin-9a", None, dir.path());
    let p = Group::Permissions;

    let report = checked(&alice, &[]).await;
    assert_line(
        &report,
        p,
        "account",
        Status::Warn,
        "checked as alice, not as the booth's service account system:serviceaccount:conferenceli:conferenceli",
        "kubectl -n conferenceli exec deploy/conferenceli -- conferenceli check",
    );
    for call in conferenceli::api_calls() {
        let verb = call.verb;
        let failing = report.checks.iter().filter(|c| c.group == p && c.status == Status::Fail);
        assert!(
            failing
                .clone()
                .any(|c| c.message.contains(verb) && c.name.contains(call.resource.split('/').next().unwrap())),
            "{call:?}"
        );
    }
    assert_line(
        &report,
        p,
        "pods in demopod",
        Status::Fail,
        "may not",
        "add to Role conferenceli-target (namespace demopod)",
    );
    assert_line(
        &report,
        p,
        "nodes (cluster-wide)",
        Status::Fail,
        "may not list, patch, watch",
        "add to ClusterRole conferenceli-nodes",
    );
    // The namespaces are not hers to read either: the Kubernetes group says so, and where.
    assert_line(&report, Group::Kubernetes, "namespace demopod", Status::Fail, "forbidden", "Permissions");

    // --pre: the rights to install, as the installer.
    let install = report_pre(&admin).await;
    assert!(install.checks.iter().all(|c| matches!(c.group, Group::Kubernetes | Group::Permissions | Group::Clock)));
    let lines: Vec<&Check> = install.checks.iter().filter(|c| c.group == p).collect();
    assert_eq!(lines.len(), conferenceli::health::permissions::INSTALL.len());
    assert!(lines.iter().all(|c| c.status == Status::Ok), "{}", install.to_text());
    let refused = report_pre(&alice).await;
    assert_line(
        &refused,
        p,
        "install customresourcedefinitions.apiextensions.k8s.io",
        Status::Fail,
        "may not create and patch them",
        "install as a cluster admin",
    );
    assert_line(
        &refused,
        p,
        "install roles.rbac.authorization.k8s.io in demopod",
        Status::Fail,
        "may not",
        "cluster admin",
    );
}

async fn report_pre(kubeconfig: &Path) -> Report {
    checked(kubeconfig, &["--pre"]).await
}

/// A BlinkStick on a test bench's USB port, plugged in or not.
struct BenchPort {
    plugged: Arc<AtomicBool>,
    open: bool,
}

impl HidPort for BenchPort {
    fn open(&mut self) -> Result<(), LedError> {
        self.open = self.plugged.load(Ordering::SeqCst);
        if self.open {
            Ok(())
        } else {
            Err(LedError::Unavailable("no BlinkStick (20a0:41e5) found: device not found".into()))
        }
    }

    fn send_feature_report(&mut self, _report: &[u8]) -> Result<(), LedError> {
        panic!("a check must not write to the LEDs");
    }

    fn close(&mut self) {
        self.open = false;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardware_checks_probe_the_blinkstick_the_printer_and_the_fog_relay() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let h = Group::Hardware;

    let plugged = Arc::new(AtomicBool::new(true));
    let port = plugged.clone();
    let factory: PortFactory =
        Arc::new(move || Box::new(BenchPort { plugged: port.clone(), open: false }) as Box<dyn HidPort>);
    let blinkstick = args(&kubeconfig, &["--leds", "blinkstick"]);
    let report = conferenceli::commands::check_report(&blinkstick, Some(factory.clone())).await;
    assert_line(&report, h, "BlinkStick", Status::Ok, "found on USB (20a0:41e5)", "");
    plugged.store(false, Ordering::SeqCst);
    let report = conferenceli::commands::check_report(&blinkstick, Some(factory)).await;
    assert_line(&report, h, "BlinkStick", Status::Fail, "no BlinkStick (20a0:41e5) found", "udev rule of docs/leds.md");

    let printer_port = free_port();
    let printer = TestPrinter::start(printer_port, Mode::Ready { media_mm: 54, errors: 0 }).await;
    let url = format!("tcp://127.0.0.1:{printer_port}");
    let with_printer = ["--printer-url", url.as_str(), "--label-size", "54"];
    let report = checked(&kubeconfig, &with_printer).await;
    assert_line(
        &report,
        h,
        "printer",
        Status::Ok,
        &format!("QL-820NWB at {url}: 54 mm endless tape loaded, ready"),
        "",
    );
    printer.set_mode(Mode::Ready { media_mm: 62, errors: 0 });
    let report = checked(&kubeconfig, &with_printer).await;
    assert_line(
        &report,
        h,
        "printer",
        Status::Fail,
        "wrong labels loaded: 62 mm endless tape but LABEL_SIZE is 54",
        "set LABEL_SIZE to the width that is loaded",
    );
    printer.set_mode(Mode::Ready { media_mm: 0, errors: 0x0001 });
    let report = checked(&kubeconfig, &with_printer).await;
    assert_line(
        &report,
        h,
        "printer",
        Status::Fail,
        "no labels loaded",
        "load a roll of 54 mm endless tape (DK-N55224)",
    );
    printer.set_mode(Mode::Ready { media_mm: 54, errors: 0x0002 });
    let report = checked(&kubeconfig, &with_printer).await;
    assert_line(&report, h, "printer", Status::Fail, "the label roll is used up", "load a roll of 54 mm");
    assert!(printer.jobs().is_empty(), "a check prints nothing");
    drop(printer.stop());
    let report = checked(&kubeconfig, &with_printer).await;
    assert_line(&report, h, "printer", Status::Fail, "unreachable", "check PRINTER_URL");
    let report = checked(&kubeconfig, &[]).await;
    assert_line(&report, h, "printer", Status::Warn, "no printer configured", "set PRINTER_URL");

    // The old relay server: reachable is enough, and no request (no puff) is sent.
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_url = format!("http://{}/", relay.local_addr().unwrap());
    let received = tokio::spawn(async move {
        let (mut socket, _) = relay.accept().await.unwrap();
        let mut bytes = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut bytes).await;
        bytes
    });
    let report = checked(&kubeconfig, &["--fog", &relay_url]).await;
    assert_line(&report, h, "fog machine", Status::Ok, "reachable (no puff sent)", "");
    assert!(received.await.unwrap().is_empty(), "the check sent nothing to the relay");
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let report = checked(&kubeconfig, &["--fog", &closed]).await;
    assert_line(&report, h, "fog machine", Status::Fail, "refused", "check FOG");
    let report = checked(&kubeconfig, &["--fog", "gpio:17"]).await;
    let gpio = line(&report, h, "fog machine");
    if gpio.status == Status::Fail {
        // No Raspberry Pi here: the hint says how the container gets the GPIO.
        assert!(gpio.hint.as_deref().unwrap().contains("squat.ai/gpiomem"), "{gpio:?}");
    } else {
        assert!(gpio.message.contains("the GPIO chip opens (relay on BCM 17)"), "{gpio:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_checks_log_in_to_odoo_find_its_records_and_reach_the_form() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let s = Group::Services;
    let mut odoo = OdooDouble::start().await;
    let with = |json2: bool, tag: &str| {
        let mut all: Vec<String> = odoo.app_flags(json2);
        let records = ["--campaign-name", "KubeCon 2026", "--source-name", "Booth", "--tag-name", tag];
        all.extend(records.iter().map(|s| s.to_string()));
        all
    };

    for json2 in [true, false] {
        let flags = with(json2, "conference");
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let report = checked(&kubeconfig, &flags).await;
        let api = if json2 { "json-2" } else { "json-rpc" };
        assert_line(&report, s, "Odoo login", Status::Ok, &format!("logged in to {} ({api})", odoo.url()), "");
        assert_line(&report, s, "Odoo campaign", Status::Ok, "\"KubeCon 2026\" found (id 7)", "");
        assert_line(&report, s, "Odoo source", Status::Ok, "\"Booth\" found (id 3)", "");
        assert_line(&report, s, "Odoo tag", Status::Ok, "\"conference\" found (id 11)", "");
    }
    let flags = with(true, "expo");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let report = checked(&kubeconfig, &flags).await;
    assert_line(
        &report,
        s,
        "Odoo tag",
        Status::Fail,
        "\"expo\" not found in Odoo",
        "create the CRM tag \"expo\" in Odoo (crm.tag), or fix TAG_NAME",
    );
    let url = odoo.url();
    let flags = ["--odoo-url", url.as_str(), "--odoo-db", crate::odoo_double::DB, "--odoo-api-key", "wrong-key"];
    let report = checked(&kubeconfig, &flags).await;
    assert_line(&report, s, "Odoo login", Status::Fail, "refused the credentials", "check ODOO_API_KEY");
    assert!(!report.to_text().contains("wrong-key"), "no secret in the report");
    let flags = with(true, "conference");
    odoo.stop().await;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let report = checked(&kubeconfig, &flags).await;
    assert_line(&report, s, "Odoo login", Status::Fail, "unreachable", &format!("check ODOO_URL ({})", odoo.url()));
    let report = checked(&kubeconfig, &[]).await;
    assert_line(&report, s, "Odoo", Status::Warn, "ODOO_URL not set", "ODOO_API_KEY");

    // PUBLIC_URL: the booth's own public listener, another page, nobody.
    let app = crate::leads::LeadsApp::start(&cluster, &[]).await;
    let form = format!("{}/", app.public);
    let report = checked(&kubeconfig, &["--public-url", &form]).await;
    assert_line(&report, s, "contact form (PUBLIC_URL)", Status::Ok, "serves the contact form", "");
    let kiosk = format!("{}/", app.private);
    let report = checked(&kubeconfig, &["--public-url", &kiosk]).await;
    assert_line(
        &report,
        s,
        "contact form (PUBLIC_URL)",
        Status::Fail,
        "answers, but not with the contact form",
        "conferenceli-public:8081",
    );
    let nobody = format!("http://127.0.0.1:{}/", free_port());
    let report = checked(&kubeconfig, &["--public-url", &nobody]).await;
    assert_line(&report, s, "contact form (PUBLIC_URL)", Status::Fail, "is not reachable", "tunnel");
    let report = checked(&kubeconfig, &[]).await;
    assert_line(&report, s, "contact form (PUBLIC_URL)", Status::Warn, "PUBLIC_URL not set", "set PUBLIC_URL");
    app.stop().await;

    // Webhooks: their hosts resolve; the URLs (a token inside) are never shown.
    let hooks = "http://localhost:9/hook?token=hunter2,https://nowhere.invalid/x?token=hunter2";
    let report = checked(&kubeconfig, &["--chaos-webhook-urls", hooks]).await;
    assert_line(
        &report,
        s,
        "chaos webhooks",
        Status::Fail,
        "does not resolve: nowhere.invalid",
        "fix CHAOS_WEBHOOK_URLS",
    );
    assert!(!report.to_text().contains("hunter2") && !report.to_text().contains("/hook"));
    let report = checked(&kubeconfig, &["--chaos-webhook-urls", "http://localhost:9/hook?token=hunter2"]).await;
    assert_line(&report, s, "chaos webhooks", Status::Ok, "every receiver's host resolves: localhost", "");
}

/// An API server of nothing but `/version`, whose clock is `offset` off ours.
async fn skewed_api(offset: Duration) -> String {
    use axum::routing::get;
    let router = axum::Router::new().route(
        "/version",
        get(move || async move {
            let date = jiff::Timestamp::now() + offset;
            let header = jiff::fmt::rfc2822::to_string(&date.to_zoned(jiff::tz::TimeZone::UTC)).unwrap().replace("+0000", "GMT");
            (
                [(axum::http::header::DATE, header)],
                axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.5", "gitCommit": "", "gitTreeState": "clean",
                    "buildDate": "", "goVersion": "", "compiler": "gc", "platform": "linux/arm64"})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_and_hours_checks_read_the_api_servers_date_and_the_booth() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let c = Group::Clock;
    let report = checked(&kubeconfig, &[]).await;
    assert_line(&report, c, "clock", Status::Ok, "within 5 s of the API server", "");
    assert_line(&report, c, "time zone", Status::Ok, "UTC (now ", "");
    assert_line(&report, c, "booth hours", Status::Ok, "09:00–18:00 on mon tue wed thu fri sat sun", "");

    for (offset, status, message) in [
        (Duration::from_secs(30), Status::Warn, "30 s behind the API server"),
        (Duration::from_secs(600), Status::Fail, "600 s behind"),
    ] {
        let skewed =
            kubeconfig_for(&skewed_api(offset).await, &subdir(dir.path(), &format!("skew-{}", offset.as_secs())));
        let report = checked(&skewed, &[]).await;
        assert_line(&report, c, "clock", status, message, "sudo timedatectl set-ntp true");
    }

    // Written as kubectl would: values the schema lets through and the booth refuses.
    let mut booth =
        serde_json::to_value(conferenceli::booth::Booth::new("booth", conferenceli::booth::BoothSpec::default()))
            .unwrap();
    booth["spec"]["attract"]["opens"] = json!("19:00");
    booth["spec"]["attract"]["closes"] = json!("18:00");
    booth["spec"]["attract"]["timeZone"] = json!("Mars/Olympus");
    let resource = kube::api::ApiResource::erase::<conferenceli::booth::Booth>(&());
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(cluster.client.clone(), "conferenceli", &resource);
    api.create(&PostParams::default(), &serde_json::from_value(booth).unwrap()).await.unwrap();
    let report = checked(&kubeconfig, &[]).await;
    assert_line(
        &report,
        c,
        "time zone",
        Status::Fail,
        "unknown time zone \"Mars/Olympus\"",
        "IANA time zone such as Europe/Zurich",
    );
    assert_line(&report, c, "booth hours", Status::Fail, "the booth must close after it opens", "/config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_text_or_json_and_exits_1_when_a_check_fails() {
    let cluster = TestCluster::start(kube_sim::SimConfig { namespaces: Vec::new(), ..fast_config() }).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let run = |extra: &[&str]| {
        std::process::Command::new(BIN)
            .args(["check", "--leds", "virtual"])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    };
    let started = Instant::now();
    let failing = run(&[]);
    eprintln!("conferenceli check took {:?}", started.elapsed());
    assert_eq!(failing.status.code(), Some(1));
    let text = String::from_utf8(failing.stdout).unwrap();
    assert!(text.starts_with("Kubernetes\n----------\n✓ API server: answers at http://127.0.0.1:"), "{text}");
    assert!(
        text.contains("✗ namespace conferenceli: does not exist\n    hint: kubectl create namespace conferenceli"),
        "{text}"
    );
    for heading in
        ["Permissions\n-----------", "Hardware\n--------", "Services\n--------", "Clock and hours\n---------------"]
    {
        assert!(text.contains(heading), "{text}");
    }
    assert!(text.trim_end().ends_with("passed."), "{text}");
    assert_eq!(String::from_utf8(failing.stderr).unwrap().trim(), "conferenceli: 1 of the checks failed");

    create_namespace(&cluster.client, "conferenceli").await;
    let passing = run(&["--output", "json"]);
    assert_eq!(passing.status.code(), Some(0), "{}", String::from_utf8_lossy(&passing.stdout));
    let json: Value = serde_json::from_slice(&passing.stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert!(checks.len() >= 20, "{json}");
    for check in checks {
        let mut keys: Vec<&str> = check.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["group", "hint", "message", "name", "status"], "{check}");
        assert!(["ok", "warn"].contains(&check["status"].as_str().unwrap()), "{check}");
    }
    let pre = run(&["--pre", "--output", "json"]);
    assert_eq!(pre.status.code(), Some(0));
    let pre: Value = serde_json::from_slice(&pre.stdout).unwrap();
    let groups: std::collections::BTreeSet<&str> =
        pre["checks"].as_array().unwrap().iter().map(|c| c["group"].as_str().unwrap()).collect();
    assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["clock", "kubernetes", "permissions"]);
}
