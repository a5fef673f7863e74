//! Attract mode and chaos safety over real HTTP: with a short idle time the autopilot kills
//! without presses inside booth hours and never outside them, a person pressing stops it, a dry
//! run deletes nothing, and `/config` refuses bad settings with nothing stored.

use crate::common::{TestApp, TestCluster, eventually, fast_config, settle};
use crate::dashboard::{SseEvent, SseReader};
use crate::leads::{LeadsApp, post_settings};
use conferenceli::booth::Booth;
use conferenceli::config::DEMO_PASSWORD;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn api_state(app: &TestApp) -> Value {
    http().get(format!("{}/api/state", app.url)).send().await.unwrap().json().await.unwrap()
}

fn booths(cluster: &TestCluster) -> Api<Booth> {
    Api::namespaced(cluster.client.clone(), "conferenceli")
}

/// Sets Booth spec fields once the app has created the Booth.
async fn set_spec(cluster: &TestCluster, spec: Value) {
    let api = booths(cluster);
    settle(Duration::from_secs(30), "the Booth spec patched", || async {
        api.patch("booth", &PatchParams::default(), &Patch::Merge(json!({"spec": spec})))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
}

/// Booth hours all day every day (or on no day of this week at all).
fn attract(idle_minutes: f64, weekdays: &[&str]) -> Value {
    json!({"enabled": true, "idleMinutes": idle_minutes, "opens": "00:00", "closes": "24:00",
           "weekdays": weekdays, "timeZone": "UTC"})
}

const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn chaos_event(event: &SseEvent) -> Option<Value> {
    (event.event.as_deref() == Some("chaos")).then(|| serde_json::from_str(&event.data).unwrap())
}

async fn kiosk_stream(app: &TestApp) -> SseReader {
    SseReader::open(&http(), &format!("{}/stream", app.url)).await
}

/// The next chaos event on the kiosk's stream that `wanted` accepts.
async fn next_chaos(stream: &mut SseReader, timeout: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
    let event = stream.until(timeout, |e| chaos_event(e).is_some_and(|c| wanted(&c))).await;
    chaos_event(&event).unwrap()
}

fn by_autopilot(c: &Value) -> bool {
    c["by"]["kind"] == "autopilot"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autopilot_kills_only_in_booth_hours_and_a_person_pressing_stops_it() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0.3"]).await;
    // Closed today and tomorrow (UTC), so midnight during the test changes nothing: no kill.
    let now = jiff::Timestamp::now();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).weekday();
    let tomorrow = (now + jiff::SignedDuration::from_hours(24)).to_zoned(jiff::tz::TimeZone::UTC).weekday();
    let closed: Vec<&str> = EVERY_DAY
        .iter()
        .zip([
            jiff::civil::Weekday::Monday,
            jiff::civil::Weekday::Tuesday,
            jiff::civil::Weekday::Wednesday,
            jiff::civil::Weekday::Thursday,
            jiff::civil::Weekday::Friday,
            jiff::civil::Weekday::Saturday,
            jiff::civil::Weekday::Sunday,
        ])
        .filter(|(_, day)| *day != today && *day != tomorrow)
        .map(|(name, _)| *name)
        .collect();
    set_spec(&cluster, json!({"attract": attract(0.05, &closed)})).await;
    eventually(Duration::from_secs(20), "the app to read the settings", || async {
        let booth = booths(&cluster).get("booth").await.ok()?;
        (booth.spec.attract.weekdays.len() == 5).then_some(())
    })
    .await;
    // Three idle times (3 s each) pass outside booth hours: nothing is deleted.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(cluster.takes(), 0, "no kill outside booth hours");
    assert_eq!(api_state(&app).await["killCount"], 0);

    // Booth hours now, idle time 6 s: the autopilot presses by itself, through the button's path.
    let mut stream = kiosk_stream(&app).await;
    set_spec(&cluster, json!({"attract": attract(0.1, &EVERY_DAY)})).await;
    let picked = next_chaos(&mut stream, Duration::from_secs(60), |c| c["phase"] == "picked").await;
    assert!(by_autopilot(&picked), "{picked}");
    let killed = next_chaos(&mut stream, Duration::from_secs(30), |c| c["phase"] == "killed").await;
    assert_eq!(killed["by"], json!({"kind": "autopilot"}));
    eventually(Duration::from_secs(20), "the counter to count it", || async {
        (api_state(&app).await["killCount"].as_u64()? >= 1).then_some(())
    })
    .await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(cluster.client.clone(), "demopod");
    eventually(Duration::from_secs(20), "the autopilot's ChaosKill event", || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("ChaosKill")
                    && e.message.as_deref().is_some_and(|m| m.contains("autopilot"))
            })
            .then_some(())
    })
    .await;

    // A person presses every 0.7 s for twice the idle time: the autopilot stays quiet.
    let presses = tokio::spawn({
        let url = format!("{}/chaos", app.url);
        async move {
            let mut killed = 0;
            for _ in 0..18 {
                let response = http().post(&url).basic_auth("admin", Some(DEMO_PASSWORD)).send().await.unwrap();
                killed += u32::from(response.status() == 200);
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            killed
        }
    });
    let mut seen = Vec::new();
    while !presses.is_finished() {
        if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), stream.next_event()).await
            && let Some(chaos) = chaos_event(&event)
        {
            seen.push(chaos);
        }
    }
    let by_people = presses.await.unwrap();
    assert!(by_people >= 5, "the person's presses killed {by_people}");
    let autopilot: Vec<&Value> = seen.iter().filter(|c| by_autopilot(c)).collect();
    assert!(autopilot.is_empty(), "the autopilot pressed while a person did: {autopilot:?}");
    assert!(seen.iter().any(|c| c["by"]["kind"] == "button"), "{seen:?}");
    // Once nobody presses, it comes back.
    let again = next_chaos(&mut stream, Duration::from_secs(60), by_autopilot).await;
    assert_eq!(again["phase"], "picked");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_announces_the_pick_and_deletes_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0.3"]).await;
    let mut stream = kiosk_stream(&app).await;
    set_spec(&cluster, json!({"attract": attract(0.05, &EVERY_DAY), "chaosSafety": {"dryRun": true}})).await;
    let picked = next_chaos(&mut stream, Duration::from_secs(60), by_autopilot).await;
    assert_eq!((picked["phase"].clone(), picked["dryRun"].clone()), (json!("picked"), json!(true)), "{picked}");
    let answer = app.press_until_answered("a dry-run press").await;
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("Dry run: pod critical-prod-") && message.ends_with("nothing was deleted (chaos safety)"),
        "{message}"
    );
    let _ =
        next_chaos(&mut stream, Duration::from_secs(30), |c| c["by"]["kind"] == "button" && c["dryRun"] == true).await;
    // Another autopilot rehearsal after the person's, still nothing deleted.
    let _ = next_chaos(&mut stream, Duration::from_secs(60), by_autopilot).await;
    assert_eq!(cluster.takes(), 0);
    assert_eq!(api_state(&app).await["killCount"], 0);
    let metrics = http().get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"dry_run\"} 1"), "{metrics}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_refuses_bad_attract_and_safety_settings_with_nothing_stored() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let api = booths(&cluster);
    let before = eventually(Duration::from_secs(20), "the Booth", || async { api.get("booth").await.ok() }).await;
    let good = [
        ("attract_fieldset", "1"),
        ("attract_enabled", "on"),
        ("attract_idle_minutes", "2.5"),
        ("attract_opens", "10:00"),
        ("attract_closes", "17:30"),
        ("attract_mon", "on"),
        ("attract_sat", "on"),
        ("attract_time_zone", "Europe/Zurich"),
        ("chaos_minimum_age_seconds", "45"),
        ("chaos_dry_run", "on"),
    ];
    let bad: [(&str, &str, &str); 5] = [
        ("attract_idle_minutes", "0", "The idle time must be"),
        ("attract_opens", "10h", "The opening time must be"),
        ("attract_closes", "09:00", "close after it opens"),
        ("attract_time_zone", "Mars/Olympus", "Unknown time zone"),
        ("chaos_minimum_age_seconds", "-1", "The minimum pod age must be"),
    ];
    for (field, value, message) in bad {
        let fields: Vec<(&str, &str)> =
            good.iter().map(|(f, v)| if *f == field { (*f, value) } else { (*f, *v) }).collect();
        let (status, page) = post_settings(&app, &fields).await;
        assert_eq!(status, 422, "{field}={value}");
        assert!(page.contains("Nothing was changed") && page.contains(message), "{field}={value}: {page}");
        let after = api.get("booth").await.unwrap();
        assert_eq!(after.spec, before.spec, "nothing stored for {field}={value}");
    }
    let (status, page) = post_settings(&app, &good).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Saved.") && page.contains("value=\"Europe/Zurich\""), "{page}");
    let stored = api.get("booth").await.unwrap().spec;
    assert_eq!(stored.attract.idle_minutes.minutes(), 2.5);
    assert_eq!(stored.attract.weekdays.iter().map(|d| d.name()).collect::<Vec<_>>(), ["mon", "sat"]);
    assert_eq!((stored.attract.opens.to_string(), stored.attract.closes.to_string()), ("10:00".into(), "17:30".into()));
    assert_eq!((stored.chaos_safety.minimum_age_seconds, stored.chaos_safety.dry_run), (45, true));
    assert_eq!(stored.campaign_name, before.spec.campaign_name, "the other settings kept");
    app.stop().await;
}
