//! The Booth's settings, typed once, over real HTTP: a bad time of day or time zone is refused
//! by `/config` naming the field, with nothing stored; written straight to the Booth through
//! the Kubernetes API, what the CRD schema can refuse is refused there (422), and what it
//! cannot (a time zone the database does not know) is refused by the booth, which keeps running
//! on its last good value and says so in the Booth's `Settings` condition and on `/config`.
//! A change of the settings is made to the Booth as it is, however busy its status.

use crate::common::{TestCluster, eventually, fast_config};
use crate::leads::{LeadsApp, post_settings};
use conferenceli::booth::{Booth, BoothHandle, BoothSpec};
use conferenceli::config::DEMO_PASSWORD;
use conferenceli::tasks::Tasks;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn booths(cluster: &TestCluster) -> Api<Booth> {
    Api::namespaced(cluster.client.clone(), "conferenceli")
}

/// The Booth API for any spec, as kubectl sees it (the typed `Booth` cannot read a refused value).
fn untyped(cluster: &TestCluster) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client.clone(), "conferenceli", &ApiResource::erase::<Booth>(&()))
}

/// The Booth as stored, whatever its spec holds.
async fn stored(cluster: &TestCluster) -> Value {
    serde_json::to_value(untyped(cluster).get("booth").await.unwrap()).unwrap()
}

/// A merge patch of the Booth's spec, as `kubectl patch booth booth --type merge` sends it.
async fn patch_spec(cluster: &TestCluster, spec: Value) -> Result<DynamicObject, kube::Error> {
    untyped(cluster).patch("booth", &PatchParams::default(), &Patch::Merge(json!({"spec": spec}))).await
}

/// The Booth's `Settings` condition, once it has one with `status`.
async fn settings_condition(cluster: &TestCluster, status: &str) -> Value {
    eventually(WAIT, &format!("a Settings condition {status}"), || async {
        let booth = stored(cluster).await;
        booth["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Settings" && c["status"] == status)
            .cloned()
    })
    .await
}

/// The `/config` page as the admin sees it.
async fn config_page(app: &LeadsApp) -> String {
    let page = reqwest::Client::new().get(format!("{}/config", app.private)).basic_auth("admin", Some(DEMO_PASSWORD));
    let response = page.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The attract fieldset as the page sends it, with `changes`.
fn attract_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("attract_fieldset", "1"),
        ("attract_idle_minutes", "5"),
        ("attract_opens", "09:00"),
        ("attract_closes", "18:00"),
        ("attract_mon", "on"),
        ("attract_time_zone", "Europe/Zurich"),
    ];
    for (field, value) in changes {
        form.retain(|(f, _)| f != field);
        form.push((field, value));
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_refuses_an_unknown_time_zone_and_25_00_naming_the_field_with_nothing_stored() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let before = booths(&cluster).get("booth").await.unwrap().spec;
    let bad: [(&str, &str, &str); 3] = [
        ("attract_time_zone", "Mars/Base", "Unknown time zone &#34;Mars/Base&#34;: use an IANA name"),
        ("attract_opens", "25:00", "The opening time must be a time of day such as 09:00."),
        ("attract_closes", "25:00", "The closing time must be a time of day such as 18:00 (24:00 for midnight)."),
    ];
    for (field, value, message) in bad {
        let (status, page) = post_settings(&app, &attract_form(&[(field, value)])).await;
        assert_eq!(status, 422, "{field}={value}: {page}");
        assert!(page.contains("Nothing was changed") && page.contains(message), "{field}={value}: {page}");
        assert!(page.contains(&format!("value=\"{value}\"")), "the form keeps what was typed: {page}");
        assert_eq!(booths(&cluster).get("booth").await.unwrap().spec, before, "nothing stored for {field}={value}");
    }
    let (status, page) = post_settings(&app, &attract_form(&[("attract_closes", "24:00")])).await;
    assert_eq!(status, 200, "{page}");
    let attract = booths(&cluster).get("booth").await.unwrap().spec.attract;
    assert_eq!((attract.closes.to_string(), attract.time_zone.to_string()), ("24:00".into(), "Europe/Zurich".into()));
    cluster.assert_nothing_pruned();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_written_through_the_api_is_refused_in_the_booth_status_and_the_booth_keeps_running() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    patch_spec(&cluster, json!({"attract": {"timeZone": "Europe/Zurich"}})).await.unwrap();
    eventually(WAIT, "the app to run on Europe/Zurich", || async {
        config_page(&app).await.contains("value=\"Europe/Zurich\"").then_some(())
    })
    .await;

    // What the CRD schema can say, the API server refuses at write time, naming the field.
    for (field, value) in [("opens", "25:00"), ("closes", "9:00"), ("weekdays", "funday"), ("idleMinutes", "0")] {
        let value = match field {
            "weekdays" => json!([value]),
            "idleMinutes" => json!(0),
            _ => json!(value),
        };
        let attract = serde_json::Map::from_iter([(field.to_string(), value.clone())]);
        let Err(kube::Error::Api(refusal)) = patch_spec(&cluster, json!({"attract": attract})).await else {
            panic!("the API server accepted attract.{field}={value}");
        };
        assert_eq!(refusal.code, 422, "{refusal:?}");
        assert!(refusal.message.contains(&format!("spec.attract.{field}")), "{refusal:?}");
    }

    // What it cannot say (the zone database), the booth refuses: it keeps its last good value,
    // applies the rest, and says so.
    patch_spec(&cluster, json!({"attract": {"timeZone": "Mars/Base"}, "campaignName": "KubeCon Mars"})).await.unwrap();
    let condition = settings_condition(&cluster, "False").await;
    assert_eq!(condition["reason"], "InvalidValue");
    assert_eq!(
        condition["message"],
        "spec.attract.timeZone: unknown time zone \"Mars/Base\": use an IANA name such as Europe/Zurich or UTC \
         (the booth keeps \"Europe/Zurich\")"
    );
    let booth = stored(&cluster).await;
    assert_eq!(condition["observedGeneration"], booth["metadata"]["generation"]);
    assert_eq!(booth["spec"]["attract"]["timeZone"], "Mars/Base", "the Booth keeps what was written");
    let page = config_page(&app).await;
    assert!(page.contains("value=\"KubeCon Mars\""), "the rest applies: {page}");
    assert!(page.contains("value=\"Europe/Zurich\""), "runs on the last good zone: {page}");
    assert!(page.contains("spec.attract.timeZone: unknown time zone &#34;Mars/Base&#34;"), "{page}");
    let http = reqwest::Client::new();
    let ready: Value = http.get(format!("{}/readyz", app.private)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"]["booth"], "synced", "{ready}");
    assert_eq!(http.get(format!("{}/api/state", app.private)).send().await.unwrap().status(), 200);

    // A restart reads the same Booth without a stumble, on the default zone this time.
    app.stop().await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let condition = eventually(WAIT, "the restarted booth's refusal", || async {
        let condition = settings_condition(&cluster, "False").await;
        condition["message"].as_str()?.ends_with("(the booth keeps \"UTC\")").then_some(condition)
    })
    .await;
    assert!(condition["message"].as_str().unwrap().starts_with("spec.attract.timeZone"), "{condition}");

    // Saving /config stores what the page shows, the refused value included: all is well again.
    let (status, page) = post_settings(&app, &attract_form(&[("campaign_name", "KubeCon Earth")])).await;
    assert_eq!(status, 200, "{page}");
    let condition = settings_condition(&cluster, "True").await;
    assert_eq!(
        (condition["reason"].clone(), condition["message"].clone()),
        (json!("Valid"), json!("every value of the spec is in use"))
    );
    let spec = booths(&cluster).get("booth").await.unwrap().spec;
    assert_eq!(
        (spec.attract.time_zone.to_string(), spec.campaign_name),
        ("Europe/Zurich".into(), "KubeCon Earth".into())
    );
    assert!(!config_page(&app).await.contains("values the booth refuses"));
    cluster.assert_nothing_pruned();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_while_the_status_changes_are_never_lost() {
    let cluster = TestCluster::start(fast_config()).await;
    let tasks = Tasks::default();
    let booth = BoothHandle::start(cluster.client.clone(), "conferenceli", "booth", BoothSpec::default(), &tasks);
    eventually(WAIT, "the Booth to be created and read", || async { booth.synced().then_some(()) }).await;
    // The status writer replaces the Booth's status all along: each change must be made to the
    // Booth as it is, not as the watch last saw it, and win over the writer's new versions.
    let counting = tokio::spawn({
        let booth = booth.clone();
        async move {
            for _ in 0..200 {
                booth.add_kills(1);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    for i in 0..20 {
        let (campaign, night) = (format!("KubeCon {i}"), i % 2 == 1);
        let spec = booth
            .change_spec(|spec| {
                spec.campaign_name.clone_from(&campaign);
                spec.night_mode = night;
            })
            .await
            .unwrap();
        assert_eq!((spec.campaign_name.as_str(), spec.night_mode), (campaign.as_str(), night));
        let stored = booths(&cluster).get("booth").await.unwrap().spec;
        assert_eq!((stored.campaign_name, stored.night_mode), (campaign, night), "change {i} stored");
    }
    counting.await.unwrap();
    eventually(WAIT, "every kill counted", || async { (booth.kill_count() == 200).then_some(()) }).await;
    cluster.assert_nothing_pruned();
}
