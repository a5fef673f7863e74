//! `/metrics` as Prometheus reads it: valid text exposition, and figures that move when the
//! chaos button, the contact form and the LEDs act.

use crate::common::{TestCluster, eventually, fast_config};
use crate::leads::{LeadsApp, Visitor, as_refs, complete};
use std::collections::BTreeMap;
use std::time::Duration;

/// Parses the text exposition format strictly enough to catch a broken one: every sample line is
/// `name{labels} value` with a numeric value, belongs to a family announced by `# TYPE`, and the
/// OpenMetrics stream ends with `# EOF`. Returns the samples by `name{labels}`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut families: Vec<String> = Vec::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(["counter", "gauge", "histogram", "summary", "info", "unknown"].contains(&kind), "{line}");
            families.push(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name in {line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')), "bad labels in {line:?}");
        }
        let family = families.iter().rev().find(|f| name == f.as_str() || name.starts_with(&format!("{f}_")));
        assert!(family.is_some(), "{name} has no # TYPE");
        samples.insert(series.to_string(), value);
    }
    samples
}

async fn scrape(app: &LeadsApp) -> BTreeMap<String, f64> {
    parse(&reqwest::get(format!("{}/metrics", app.private)).await.unwrap().text().await.unwrap())
}

fn sum(samples: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    samples.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_chaos_leads_and_leds() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--fog", "virtual"]).await;
    let before = eventually(Duration::from_secs(30), "the watches synced", || async {
        let samples = scrape(&app).await;
        (samples.get("conferenceli_pods{status=\"Running\"}") == Some(&5.0)).then_some(samples)
    })
    .await;
    assert_eq!(before.get("conferenceli_nodes{status=\"KubeletReady\"}"), Some(&3.0));
    assert_eq!(sum(&before, "conferenceli_leads{"), 0.0);

    let killed = reqwest::Client::new()
        .post(format!("{}/chaos", app.private))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(killed.status(), 200);
    let visitor = Visitor::open(&app.public).await;
    let fields = complete("grace@example.org");
    assert_eq!(visitor.submit(&as_refs(&fields)).await.status(), 200);

    let stream = reqwest::get(format!("{}/stream_pods", app.private)).await.unwrap();
    assert_eq!(stream.status(), 200);
    let after = eventually(Duration::from_secs(30), "the figures to move", || async {
        let samples = scrape(&app).await;
        let moved = samples.get("conferenceli_chaos_presses_total{outcome=\"killed\"}") == Some(&1.0)
            && samples.get("conferenceli_lead_submissions_total{result=\"stored\"}") == Some(&1.0)
            && sum(&samples, "conferenceli_leads{") == 1.0
            && samples.get("conferenceli_fog_puffs_total") == Some(&1.0)
            && samples["conferenceli_led_frames_total"] > before["conferenceli_led_frames_total"];
        moved.then_some(samples)
    })
    .await;
    assert!(after.contains_key("conferenceli_watch_restarts{resource=\"pods\"}"));
    assert!(after.contains_key("conferenceli_led_errors_total"));
    for histogram in ["conferenceli_lead_odoo_seconds_count", "conferenceli_label_transmit_seconds_count"] {
        assert!(after.contains_key(histogram), "{histogram} is exposed");
    }
    assert_eq!(sum(&after, "conferenceli_sse_clients{"), 1.0, "the open stream is counted");
    drop(stream);
    app.stop().await;
}
