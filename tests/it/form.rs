//! The public contact form over real HTTP: validation, CSRF, body and rate limits, duplicates,
//! escaping, the redirect, the country list, and that nothing but the form answers publicly.

use crate::common::{TestCluster, eventually, fast_config};
use crate::leads::{LeadsApp, Visitor, all_leads, as_refs, complete};
use crate::odoo_double::OdooDouble;
use std::time::Duration;

async fn app(extra: &[&str]) -> (TestCluster, LeadsApp) {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, extra).await;
    (cluster, app)
}

/// The text of the error shown next to `field`, if any.
fn error_next_to(page: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = page.find(&marker)? + marker.len();
    Some(page[start..].split("</p>").next()?.to_string())
}

/// Submitted fields, the field that must show an error, and a part of its message.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn every_validation_rule_is_enforced_with_the_input_kept_and_errors_next_to_fields() {
    let (cluster, app) = app(&[]).await;
    let visitor = Visitor::open(&app.public).await;
    let long = "x".repeat(101);
    let cases: Vec<Case> = vec![
        (vec![("email", "a@example.org"), ("consent", "on")], "name", "This field is required."),
        (vec![("name", "Ada"), ("consent", "on")], "email", "This field is required."),
        (vec![("name", "Ada"), ("email", "not-an-address"), ("consent", "on")], "email", "valid e-mail"),
        (vec![("name", "Ada"), ("email", "a@example.org")], "consent", "Please agree"),
        (vec![("name", &long), ("email", "a@example.org"), ("consent", "on")], "name", "under 100 characters"),
        (
            vec![("name", "Ada"), ("email", "a@example.org"), ("company", &long), ("consent", "on")],
            "company",
            "under 100",
        ),
        (
            vec![("name", "Ada"), ("email", "a@example.org"), ("job_position", &long), ("consent", "on")],
            "job_position",
            "under 100",
        ),
        (
            vec![("name", "Ada"), ("email", "a@example.org"), ("phone", "call me"), ("consent", "on")],
            "phone",
            "phone number",
        ),
        (
            vec![("name", "Ada"), ("email", "a@example.org"), ("country", "Atlantis"), ("consent", "on")],
            "country",
            "from the list",
        ),
        (vec![("name", "Ada\u{7}"), ("email", "a@example.org"), ("consent", "on")], "name", "not allowed"),
    ];
    for (fields, field, message) in cases {
        let response = visitor.submit(&fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let page = response.text().await.unwrap();
        let shown = error_next_to(&page, field).unwrap_or_else(|| panic!("no error next to {field}: {page}"));
        assert!(shown.contains(message), "{field}: {shown}");
        assert!(page.contains(&format!("aria-describedby=\"{field}-error\"")));
        // The visitor's input is still there.
        if let Some((_, value)) = fields.iter().find(|(k, _)| *k == "email") {
            assert!(page.contains(&format!("value=\"{value}\"")), "email kept");
        }
    }
    let notes = "n".repeat(2001);
    let response =
        visitor.submit(&[("name", "Ada"), ("email", "a@example.org"), ("notes", &notes), ("consent", "on")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(error_next_to(&page, "notes").unwrap().contains("under 2000"));
    assert!(page.contains(&notes), "the notes are kept");
    assert!(all_leads(&cluster).await.is_empty(), "nothing stored for invalid input");
    app.stop().await;
}

#[tokio::test]
async fn csrf_token_missing_or_wrong_is_403() {
    let (cluster, app) = app(&[]).await;
    let visitor = Visitor::open(&app.public).await;
    let fields = complete("csrf@example.org");
    let body = serde_urlencoded::to_string(as_refs(&fields)).unwrap();
    assert_eq!(visitor.post_raw(body.clone()).await.status(), 403, "no token");
    assert_eq!(visitor.post_raw(format!("{body}&csrf_token=deadbeef")).await.status(), 403, "wrong token");
    let other = Visitor::open(&app.public).await;
    assert_eq!(
        visitor.post_raw(format!("{body}&csrf_token={}", other.token)).await.status(),
        403,
        "another cookie's token"
    );
    let no_cookie = reqwest::Client::new()
        .post(format!("{}/", app.public))
        .form(&[("name", "x"), ("csrf_token", visitor.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_cookie.status(), 403, "no cookie");
    assert!(all_leads(&cluster).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let (cluster, app) = app(&[]).await;
    let visitor = Visitor::open(&app.public).await;
    let huge = "a".repeat(64 * 1024);
    let response =
        visitor.submit(&[("name", "Ada"), ("email", "a@example.org"), ("notes", &huge), ("consent", "on")]).await;
    assert_eq!(response.status(), 413);
    assert!(all_leads(&cluster).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn submissions_are_rate_limited_per_client_trusting_forwarded_for_only_from_proxies() {
    // Without trusted proxies, X-Forwarded-For is ignored: every submission is 127.0.0.1's.
    let (cluster, app) = app(&["--form-rate-limit-per-minute", "2"]).await;
    let mut visitor = Visitor::open(&app.public).await;
    for i in 0..2 {
        visitor.forwarded_for = Some(format!("203.0.113.{i}"));
        assert_eq!(visitor.submit(&[("name", "x")]).await.status(), 422);
    }
    visitor.forwarded_for = Some("203.0.113.99".into());
    let limited = visitor.submit(&as_refs(&complete("limited@example.org"))).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(all_leads(&cluster).await.is_empty());
    app.stop().await;

    // Behind a trusted proxy, each forwarded client has its own bucket.
    let app = LeadsApp::start(&cluster, &["--form-rate-limit-per-minute", "2", "--trusted-proxies", "127.0.0.1"]).await;
    let mut visitor = Visitor::open(&app.public).await;
    visitor.forwarded_for = Some("198.51.100.7, 203.0.113.1".into());
    assert_eq!(visitor.submit(&[("name", "x")]).await.status(), 422);
    assert_eq!(visitor.submit(&[("name", "x")]).await.status(), 422);
    assert_eq!(visitor.submit(&[("name", "x")]).await.status(), 429);
    visitor.forwarded_for = Some("203.0.113.2".into());
    assert_eq!(visitor.submit(&[("name", "x")]).await.status(), 422, "another client is not limited");
    app.stop().await;
}

#[tokio::test]
async fn the_same_email_in_the_same_campaign_is_told_it_already_signed_up() {
    let (cluster, app) = app(&["--campaign-name", "Expo"]).await;
    let visitor = Visitor::open(&app.public).await;
    assert_eq!(visitor.submit(&as_refs(&complete("twice@example.org"))).await.status(), 200);
    let mut again = complete(" Twice@Example.org ");
    again[0].1 = "Someone Else".into();
    let response = visitor.submit(&as_refs(&again)).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("You already signed up"), "{page}");
    assert!(page.contains("Expo"));
    let leads = all_leads(&cluster).await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].spec.name, "Ada Lovelace", "nothing overwritten");
    let metrics = reqwest::get(format!("{}/metrics", app.private)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_lead_submissions_total{result=\"stored\"} 1"), "{metrics}");
    assert!(metrics.contains("conferenceli_lead_submissions_total{result=\"duplicate\"} 1"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn html_and_script_in_every_field_is_escaped_on_every_page() {
    let (cluster, app) = app(&[]).await;
    let visitor = Visitor::open(&app.public).await;
    let evil = "<script>alert(1)</script>\"'&";
    let fields = [
        ("name", evil),
        ("email", evil),
        ("company", evil),
        ("job_position", evil),
        ("phone", evil),
        ("country", evil),
        ("notes", evil),
        ("consent", "on"),
    ];
    // The error page shows every field back.
    let page = visitor.submit(&fields).await.text().await.unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.matches("&#60;script&#62;alert(1)&#60;/script&#62;").count() >= 6
            || page.matches("&lt;script&gt;").count() >= 6,
        "{page}"
    );
    // The success page, the duplicate page and the settings page show stored values.
    let valid = [
        ("name", evil),
        ("email", "evil@example.org"),
        ("company", evil),
        ("job_position", evil),
        ("notes", evil),
        ("consent", "on"),
    ];
    let thanks = visitor.submit(&valid).await.text().await.unwrap();
    assert!(thanks.contains("Thank you") && !thanks.contains("<script>"), "{thanks}");
    let duplicate = visitor.submit(&valid).await.text().await.unwrap();
    assert!(duplicate.contains("already signed up") && !duplicate.contains("<script>"), "{duplicate}");
    assert_eq!(all_leads(&cluster).await[0].spec.company, evil, "stored as typed");
    let (code, settings) = crate::leads::post_settings(&app, &[("campaign_name", evil), ("label_header", evil)]).await;
    assert_eq!(code, 200, "{settings}");
    assert!(!settings.contains("<script>"), "{settings}");
    let form = reqwest::get(format!("{}/", app.public)).await.unwrap().text().await.unwrap();
    assert!(!form.contains("<script>") && form.contains("alert(1)"), "the label header is shown escaped");
    app.stop().await;
}

#[tokio::test]
async fn only_the_form_answers_on_the_public_listener() {
    let (_cluster, app) = app(&[]).await;
    for path in [
        "/api/state",
        "/config",
        "/leads.csv",
        "/metrics",
        "/healthz",
        "/readyz",
        "/chaos",
        "/stream_pods",
        "/static/x.js",
    ] {
        let response = reqwest::get(format!("{}{path}", app.public)).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let form = reqwest::get(format!("{}/", app.public)).await.unwrap();
    assert_eq!(form.status(), 200);
    let csp = form.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
    assert_eq!(form.headers()["x-content-type-options"], "nosniff");
    let html = form.text().await.unwrap();
    for attribute in [
        "autocomplete=\"email\"",
        "inputmode=\"email\"",
        "autocomplete=\"tel\"",
        "inputmode=\"tel\"",
        "<label for=\"notes\">What can we help you with?",
        "name=\"job_position\"",
    ] {
        assert!(html.contains(attribute), "{attribute}");
    }
    assert!(!html.contains("<script"), "works without JavaScript");
    let css = reqwest::get(format!("{}/static/form.css", app.public)).await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let css = css.text().await.unwrap();
    println!("page weight: form HTML {} bytes + form.css {} bytes (uncompressed)", html.len(), css.len());
    app.stop().await;
}

#[tokio::test]
async fn a_configured_redirect_carries_the_sha256_of_the_email() {
    let (cluster, app) = app(&["--success-redirect-url", "https://example.com/thanks?src=booth"]).await;
    let visitor = Visitor::open(&app.public).await;
    let response = visitor.submit(&as_refs(&complete("Test@Example.com"))).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "https://example.com/thanks?src=booth&email_sha256=973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    );
    assert_eq!(all_leads(&cluster).await.len(), 1, "stored before the redirect");
    app.stop().await;
}

#[tokio::test]
async fn the_country_list_comes_from_odoo_with_preferred_countries_first() {
    let (_cluster, app) = app(&[]).await;
    let builtin = reqwest::get(format!("{}/", app.public)).await.unwrap().text().await.unwrap();
    let first = builtin.find("<option value=\"CH\"").expect("built-in list without Odoo");
    assert!(first < builtin.find("<option value=\"DE\"").unwrap());
    assert!(builtin.find("<option value=\"IT\"").unwrap() < builtin.find("<option value=\"AF\"").unwrap());
    app.stop().await;

    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let flags = odoo.app_flags(true);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = LeadsApp::start(&cluster, &flags).await;
    let page = eventually(Duration::from_secs(10), "the Odoo country list", || async {
        let page = reqwest::get(format!("{}/", app.public)).await.ok()?.text().await.ok()?;
        page.contains("<option value=\"43\"").then_some(page)
    })
    .await;
    let order: Vec<usize> = ["43", "57", "13", "75", "109", "10", "233"]
        .iter()
        .map(|id| page.find(&format!("<option value=\"{id}\"")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "CH, DE, AT, FR, IT, then Argentina, United States: {order:?}");
    app.stop().await;
}
