//! Response headers and cookies as browsers receive them: the public form's security headers on
//! every answer (pages, errors, the stylesheet), the private listener's anti-framing headers, and
//! the attributes of every cookie (CSRF and staff session): `HttpOnly` and `SameSite=Strict`
//! always, `Secure` exactly when the visitor came over HTTPS through a trusted proxy.

use crate::common::{TestCluster, fast_config};
use crate::leads::{LeadsApp, Visitor, as_refs, complete};
use conferenceli::config::DEMO_PASSWORD;
use reqwest::Response;
use reqwest::header::HeaderMap;
use std::collections::BTreeSet;

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Checks the public form's headers on one answer; returns its status.
fn assert_public_headers(what: &str, response: &Response) -> u16 {
    let headers = response.headers();
    let csp = headers.get("content-security-policy").map(|v| v.to_str().unwrap()).unwrap_or_default();
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"] {
        assert!(csp.contains(directive), "{what}: {directive} in {csp:?}");
    }
    assert_eq!(headers.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(headers.get("referrer-policy").map(|v| v.to_str().unwrap()), Some("no-referrer"), "{what}");
    response.status().as_u16()
}

#[tokio::test]
async fn every_answer_of_the_public_listener_carries_the_security_headers() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--form-rate-limit-per-minute", "4"]).await;
    let http = http();
    let base = &app.public;
    let mut statuses = BTreeSet::new();
    let form = http.get(format!("{base}/")).send().await.unwrap();
    statuses.insert(assert_public_headers("the form", &form));
    let css = http.get(format!("{base}/static/form.css")).send().await.unwrap();
    statuses.insert(assert_public_headers("form.css", &css));
    let missing = http.get(format!("{base}/config")).send().await.unwrap();
    statuses.insert(assert_public_headers("an unknown path", &missing));
    let wrong_method = http.put(format!("{base}/")).send().await.unwrap();
    statuses.insert(assert_public_headers("PUT /", &wrong_method));
    let visitor = Visitor::open(base).await;
    let huge = visitor.post_raw(format!("notes={}", "a".repeat(64 * 1024))).await;
    statuses.insert(assert_public_headers("an oversized body", &huge));
    // Four submissions the rate limiter counts, then the fifth is refused.
    let no_token = visitor.post_raw("name=Eve").await;
    statuses.insert(assert_public_headers("no CSRF token", &no_token));
    let invalid = visitor.submit(&[("name", "Eve")]).await;
    statuses.insert(assert_public_headers("invalid fields", &invalid));
    let unreadable = visitor.post_raw(format!("name=a&name=b&csrf_token={}", visitor.token)).await;
    statuses.insert(assert_public_headers("an unreadable body", &unreadable));
    let thanks = visitor.submit(&as_refs(&complete("headers@example.org"))).await;
    statuses.insert(assert_public_headers("the thank-you page", &thanks));
    let limited = visitor.submit(&as_refs(&complete("limited@example.org"))).await;
    statuses.insert(assert_public_headers("rate limited", &limited));
    assert_eq!(statuses, BTreeSet::from([200, 400, 403, 404, 405, 413, 422, 429]), "every kind of answer was checked");
    app.stop().await;
}

/// The attributes of each `Set-Cookie` of a response, by cookie name (`Max-Age` values kept).
fn cookies(headers: &HeaderMap) -> Vec<(String, BTreeSet<String>)> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            let mut parts = value.to_str().unwrap().split(';').map(str::trim);
            let name = parts.next().unwrap().split('=').next().unwrap().to_string();
            (name, parts.map(str::to_string).collect())
        })
        .collect()
}

fn attributes(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The CSRF cookie a new visitor gets on the form, with `X-Forwarded-Proto` set or not.
async fn form_cookie(base: &str, forwarded_proto: Option<&str>) -> BTreeSet<String> {
    let mut request = http().get(format!("{base}/"));
    if let Some(proto) = forwarded_proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut found = cookies(response.headers());
    assert_eq!(found.len(), 1, "{found:?}");
    let (name, attributes) = found.remove(0);
    assert_eq!(name, "conferenceli_csrf");
    attributes
}

#[tokio::test]
async fn the_csrf_cookie_is_secure_exactly_when_a_trusted_proxy_says_https() {
    let cluster = TestCluster::start(fast_config()).await;
    let plain = attributes(&["Path=/", "HttpOnly", "SameSite=Strict"]);
    let secure = attributes(&["Path=/", "HttpOnly", "SameSite=Strict", "Secure"]);

    // Behind the tunnel (its connector at 127.0.0.1 is trusted).
    let app = LeadsApp::start(&cluster, &["--trusted-proxies", "127.0.0.1"]).await;
    assert_eq!(form_cookie(&app.public, Some("https")).await, secure, "HTTPS through the tunnel");
    assert_eq!(form_cookie(&app.public, Some("HTTPS")).await, secure, "the scheme in any case");
    assert_eq!(form_cookie(&app.public, Some("http")).await, plain, "plain HTTP through the proxy");
    assert_eq!(form_cookie(&app.public, None).await, plain, "a phone on the LAN");
    app.stop().await;

    // No trusted proxy: a client's own claim of HTTPS changes nothing (it came over plain HTTP,
    // where a Secure cookie would never come back and the form would always answer 403).
    let app = LeadsApp::start(&cluster, &[]).await;
    assert_eq!(form_cookie(&app.public, Some("https")).await, plain);
    // And a phone on plain HTTP can sign up with that cookie.
    let visitor = Visitor::open(&app.public).await;
    assert_eq!(visitor.submit(&as_refs(&complete("lan@example.org"))).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn staff_cookies_are_http_only_and_same_site_strict_and_staff_pages_cannot_be_framed() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let http = http();
    let base = &app.private;
    let csrf_cookie = attributes(&["Path=/", "HttpOnly", "SameSite=Strict"]);

    // The control panel: its CSRF cookie, then the session cookie at login and its removal.
    let login_page = http.get(format!("{base}/control")).send().await.unwrap();
    let issued = cookies(login_page.headers());
    assert_eq!(issued, vec![("conferenceli_csrf".to_string(), csrf_cookie.clone())]);
    let cookie = login_page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let token = crate::leads::csrf_token(&login_page.text().await.unwrap());
    let login = http
        .post(format!("{base}/control/login"))
        .header("cookie", &cookie)
        .form(&[("password", DEMO_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let session = cookies(login.headers());
    assert_eq!(
        session,
        vec![(
            "conferenceli_session".to_string(),
            attributes(&["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=50400"])
        )]
    );
    let session_pair = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let logout = http
        .post(format!("{base}/control/logout"))
        .header("cookie", format!("{cookie}; {session_pair}"))
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert_eq!(
        cookies(logout.headers()),
        vec![("conferenceli_session".to_string(), attributes(&["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=0"]))]
    );

    // The settings page's own CSRF cookie.
    let config = http.get(format!("{base}/config")).basic_auth("admin", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(cookies(config.headers()), vec![("conferenceli_csrf".to_string(), csrf_cookie)]);

    // Every kind of answer of the private listener refuses to be framed.
    let answers = [
        ("the kiosk", http.get(format!("{base}/")).send().await.unwrap()),
        ("the control panel", http.get(format!("{base}/control")).send().await.unwrap()),
        ("/config", config),
        ("/config refused", http.get(format!("{base}/config")).send().await.unwrap()),
        ("/chaos refused", http.post(format!("{base}/chaos")).send().await.unwrap()),
        ("/api/state", http.get(format!("{base}/api/state")).send().await.unwrap()),
        ("a kiosk asset", http.get(format!("{base}/static/kiosk.js")).send().await.unwrap()),
    ];
    for (what, response) in answers {
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!(header("content-security-policy").as_deref(), Some("frame-ancestors 'none'"), "{what}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"), "{what}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_visitor_routes_carry_the_security_headers_on_every_answer() {
    use kube::api::{Patch, PatchParams};
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--chaos-cooldown-seconds", "60"]).await;
    let http = http();
    let base = &app.public;
    let mut statuses = BTreeSet::new();
    let css = http.get(format!("{base}/static/brand.css")).send().await.unwrap();
    statuses.insert(assert_public_headers("brand.css", &css));
    // The logo has a policy of its own: it may draw, nothing else, and never be framed.
    let logo = http.get(format!("{base}/static/logo")).send().await.unwrap();
    let csp = logo.headers()["content-security-policy"].to_str().unwrap();
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "sandbox"] {
        assert!(csp.contains(directive), "the logo: {directive} in {csp}");
    }
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    let visitor = Visitor::open(base).await;
    let forged = "ab".repeat(32);
    let press = |token: String, csrf: String| {
        let visitor = &visitor;
        async move { visitor.post_to(&format!("/press/{token}"), format!("csrf_token={csrf}")).await }
    };
    let off = press(forged.clone(), visitor.token.clone()).await;
    statuses.insert(assert_public_headers("a press while off", &off));
    let booths: kube::Api<conferenceli::booth::Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    let on = serde_json::json!({"spec": {"visitorChaos": true}});
    booths.patch("booth", &PatchParams::default(), &Patch::Merge(&on)).await.unwrap();
    crate::common::eventually(std::time::Duration::from_secs(20), "presses on", || async {
        let page = press(forged.clone(), visitor.token.clone()).await.text().await.ok()?;
        page.contains("Unknown link").then_some(())
    })
    .await;
    let no_token = press(forged.clone(), String::new()).await;
    statuses.insert(assert_public_headers("a press without its CSRF token", &no_token));
    let thanks = visitor.submit(&as_refs(&complete("press-headers@example.org"))).await.text().await.unwrap();
    let token = thanks.split("action=\"/press/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let pressed = press(token.clone(), visitor.token.clone()).await;
    statuses.insert(assert_public_headers("a press", &pressed));
    let page = http.get(format!("{base}/press/{token}?lang=en")).send().await.unwrap();
    statuses.insert(assert_public_headers("a press's page", &page));
    let unknown = http.get(format!("{base}/press/{forged}")).send().await.unwrap();
    statuses.insert(assert_public_headers("the page of an unknown token", &unknown));
    let used = press(token, visitor.token.clone()).await;
    statuses.insert(assert_public_headers("a used token", &used));
    let thanks = visitor.submit(&as_refs(&complete("press-cooling@example.org"))).await.text().await.unwrap();
    let token = thanks.split("action=\"/press/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let cooling = press(token, visitor.token.clone()).await;
    statuses.insert(assert_public_headers("a press during the cool-down", &cooling));
    assert_eq!(statuses, BTreeSet::from([200, 303, 403, 404, 410, 429]), "every kind of answer was checked");
    app.stop().await;
}
