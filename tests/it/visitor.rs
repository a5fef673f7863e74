//! The visitor's journey over real HTTP and in a phone-sized browser: the branded form in the
//! visitor's language, branding set on `/config` (and every bad value refused with nothing
//! stored), the thank-you page with the raffle code, the raffle draw (each consenting lead of
//! the campaign once, across restarts), and the one-time press of the chaos button from the
//! phone with every refusal.

use crate::browser::Browser;
use crate::common::{TestCluster, eventually, fast_config};
use crate::dashboard::{SseReader, Staff};
use crate::leads::{LeadsApp, Visitor, all_leads, as_refs, complete, csrf_token, leads_api};
use conferenceli::booth::Booth;
use conferenceli::config::DEMO_PASSWORD;
use conferenceli::leads::crd::{Lead, LeadSpec};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn booths(cluster: &TestCluster) -> Api<Booth> {
    Api::namespaced(cluster.client.clone(), "conferenceli")
}

async fn set_spec(cluster: &TestCluster, spec: Value) {
    let patch = json!({ "spec": spec });
    booths(cluster).patch("booth", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch the Booth");
}

/// The text between `start` and the next `end` after it.
fn between<'a>(page: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = page.find(start)? + start.len();
    page[from..].split(end).next()
}

/// The raffle code on a thank-you page.
fn code_on(page: &str) -> String {
    let tag = between(page, "<p class=\"code\"", "</p>").expect("a code on the page");
    tag.rsplit('>').next().unwrap().to_string()
}

/// The press token on a thank-you page, if it offers one.
fn press_token_on(page: &str) -> Option<String> {
    between(page, "action=\"/press/", "?").map(str::to_string)
}

/// Signs `email` up as Ada (or `name`) and returns the thank-you page.
async fn sign_up(visitor: &Visitor, name: &str, email: &str) -> String {
    let mut fields = complete(email);
    fields[0].1 = name.into();
    let response = visitor.submit(&as_refs(&fields)).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_speaks_the_visitors_language_and_stays_light() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let http = http();
    let get = |query: &'static str, accept: &'static str| {
        let request = http.get(format!("{}/{query}", app.public)).header("accept-language", accept);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let german = get("", "de-CH,de;q=0.9,en;q=0.8").await;
    assert!(german.contains("<html lang=\"de\">"), "{german}");
    for text in
        ["Anmelden und gewinnen", "Heute zu gewinnen", "Anmelden und mitmachen", "Ein Raspberry Pi 5 Starter-Kit"]
    {
        assert!(german.contains(text), "{text} in {german}");
    }
    let english = get("", "ja, it;q=0.5").await;
    assert!(english.contains("<html lang=\"en\">") && english.contains("Sign up and enter the raffle"), "fallback");
    let french = get("?lang=fr", "de").await;
    assert!(french.contains("<html lang=\"fr\">") && french.contains("Inscrivez-vous et gagnez"), "the switch wins");
    // Phone keyboards and autofill.
    for attribute in
        ["type=\"email\"", "inputmode=\"email\"", "autocomplete=\"email\"", "type=\"tel\"", "autocomplete=\"name\""]
    {
        assert!(english.contains(attribute), "{attribute}");
    }
    // The switch is a plain link; the form posts back in the page's language.
    assert!(german.contains("href=\"/?lang=fr\"") && german.contains("action=\"/?lang=de\""));

    // Errors and the thank-you page in German.
    let visitor = Visitor::open(&app.public).await;
    let response = visitor.post_to("/?lang=de", format!("name=&email=x&csrf_token={}", visitor.token)).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Dieses Feld ist erforderlich.") && page.contains("Bitte stimmen Sie zu"), "{page}");
    let mut fields = complete("sprache@example.org");
    fields.push(("csrf_token", visitor.token.clone()));
    let body = serde_urlencoded::to_string(as_refs(&fields)).unwrap();
    let thanks = visitor.post_to("/?lang=de", body).await.text().await.unwrap();
    assert!(thanks.contains("Danke, Ada Lovelace!") && thanks.contains("Ihr Los-Code"), "{thanks}");
    let lead = all_leads(&cluster).await.into_iter().next().expect("stored");
    assert_eq!(code_on(&thanks), lead.spec.code, "the code on the ticket");
    assert!(thanks.contains("Heute um 17:00 Uhr an unserem Stand"), "when the draw is");

    // The whole first page: HTML, stylesheet, accent colours and logo, nothing from elsewhere.
    let mut weight = english.len();
    for asset in ["/static/form.css", "/static/brand.css", "/static/logo"] {
        let response = http.get(format!("{}{asset}", app.public)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        weight += response.bytes().await.unwrap().len();
    }
    eprintln!("first page weight: {weight} bytes (HTML {} bytes)", english.len());
    assert!(weight < 30 * 1024, "the first page weighs {weight} bytes");
    for external in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(!english.contains(external), "no external request: {external}");
    }
    // With an operator's logo at the default limit the page still fits.
    let limit = 12 * 1024;
    let padded = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"><rect width=\"10\" height=\"10\"/><!--{}--></svg>",
        "x".repeat(limit - 103)
    );
    assert_eq!(padded.len(), limit);
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(&padded);
    set_spec(&cluster, json!({"branding": {"logo": {"contentType": "image/svg+xml", "data": data}}})).await;
    let logo = eventually(WAIT, "the big logo served", || async {
        let bytes = http.get(format!("{}/static/logo", app.public)).send().await.ok()?.bytes().await.ok()?;
        (bytes.len() == limit).then_some(bytes.len())
    })
    .await;
    let heaviest = weight - conferenceli::visitor::logo::DEFAULT_SVG.len() + logo;
    eprintln!("first page weight with a logo at LOGO_MAX_BYTES: {heaviest} bytes");
    assert!(heaviest < 30 * 1024, "{heaviest} bytes with the largest logo");
    app.stop().await;
}

/// An admin's `/config` form: the client, its CSRF cookie and token.
async fn config_form(app: &LeadsApp) -> (reqwest::Client, String, String) {
    let http = http();
    let response =
        http.get(format!("{}/config", app.private)).basic_auth("admin", Some(DEMO_PASSWORD)).send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = response.text().await.unwrap();
    assert!(page.contains("<legend>Visitors' pages</legend>"), "the branding fieldset");
    (http, cookie, csrf_token(&page))
}

async fn save_config(app: &LeadsApp, fields: &[(&str, &str)], logo: Option<(&str, Vec<u8>)>) -> (u16, String) {
    let (http, cookie, token) = config_form(app).await;
    let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((file_name, bytes)) = logo {
        form = form.part("logo", reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()));
    }
    let response = http
        .post(format!("{}/config", app.private))
        .basic_auth("admin", Some(DEMO_PASSWORD))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([(x * 7) as u8, (y * 5) as u8, 90, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#1b5e8c"/></svg>"##;

/// A refused `/config` submission: the fields, the logo file, and a part of the message.
type BadConfig<'a> = (Vec<(&'a str, &'a str)>, Option<(&'a str, Vec<u8>)>, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branding_from_config_applies_live_and_every_bad_value_changes_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--logo-max-bytes", "4096"]).await;
    let http = http();
    let brand = [
        ("title", "KubeCon Europe"),
        ("intro", "Break our cluster."),
        ("prize", "A LEGO harbour"),
        ("accent_color", "#1B5E8C"),
        ("draw_time", "17:30 at booth S12"),
    ];
    let (status, page) = save_config(&app, &brand, Some(("logo.svg", SVG.as_bytes().to_vec()))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Saved.") && page.contains("your own (image/svg+xml"), "{page}");
    let stored = booths(&cluster).get("booth").await.unwrap().spec.branding;
    assert_eq!((stored.title.as_str(), stored.accent_color.unwrap().to_string()), ("KubeCon Europe", "#1b5e8c".into()));
    // Live, without a restart.
    let form = eventually(WAIT, "the form to show the new branding", || async {
        let page = http.get(format!("{}/", app.public)).send().await.ok()?.text().await.ok()?;
        page.contains("KubeCon Europe").then_some(page)
    })
    .await;
    assert!(
        form.contains("A LEGO harbour") && form.contains("17:30 at booth S12") && form.contains("Break our cluster.")
    );
    let css = http.get(format!("{}/static/brand.css", app.public)).send().await.unwrap().text().await.unwrap();
    assert!(css.contains("--accent:#1b5e8c") && css.contains("--on-accent:#ffffff"), "{css}");
    let logo = http.get(format!("{}/static/logo", app.public)).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    let csp = logo.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"), "{csp}");
    assert_eq!(logo.text().await.unwrap(), SVG);

    // Every bad value: 422, a message naming it, nothing stored.
    let before = booths(&cluster).get("booth").await.unwrap().spec;
    let oversized = format!("{}<!--{}-->", SVG, "x".repeat(4096));
    let (long_title, long_prize, long_intro) = ("x".repeat(81), "x".repeat(121), "x".repeat(301));
    let cases: Vec<BadConfig> = vec![
        (vec![("accent_color", "#12345")], None, "accent colour must be written #rrggbb"),
        (vec![("accent_color", "red")], None, "accent colour must be written #rrggbb"),
        (vec![("title", &long_title)], None, "The title must be at most 80 characters"),
        (vec![("prize", &long_prize)], None, "The prize must be at most 120 characters"),
        (vec![("intro", &long_intro)], None, "The intro must be at most 300 characters"),
        (vec![("draw_time", "a\u{7}b")], None, "The draw time must be plain text"),
        (vec![], Some(("big.svg", oversized.into_bytes())), "at most 4096 bytes"),
        (vec![], Some(("big.png", png(400, 400))), "at most 4096 bytes"),
        (
            vec![],
            Some(("x.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec())),
            "refused: it contains a &#60;script&#62;",
        ),
        (
            vec![],
            Some(("x.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"x()\"/>".to_vec())),
            "event handler",
        ),
        (vec![], Some(("x.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect>".to_vec())), "not well-formed XML"),
        (vec![], Some(("x.gif", b"GIF89a\x01\x00".to_vec())), "must be an SVG or a PNG"),
        (vec![], Some(("tiny.png", png(8, 8))), "each side must be from 16"),
        (vec![], Some(("broken.png", png(64, 64)[..60].to_vec())), "The PNG logo could not be read"),
    ];
    for (fields, logo, message) in cases {
        // A valid change of another field rides along: it must not be stored either.
        let mut changed = fields.clone();
        if !changed.iter().any(|(f, _)| *f == "prize") {
            changed.push(("prize", "Changed prize"));
        }
        let mut all: Vec<(&str, &str)> = brand.to_vec();
        all.retain(|(k, _)| !changed.iter().any(|(f, _)| f == k));
        all.extend(changed.iter().copied());
        let (status, page) = save_config(&app, &all, logo).await;
        assert_eq!(status, 422, "{message}: {page}");
        let shown = page.replace("&#39;", "'").replace("&#34;", "\"").replace("&quot;", "\"");
        assert!(shown.contains(message), "{message} in {shown}");
        assert!(page.contains("Nothing was changed"));
        assert_eq!(booths(&cluster).get("booth").await.unwrap().spec, before, "nothing stored for {message}");
    }

    // A PNG logo, then back to the embedded default.
    let (status, page) = save_config(&app, &brand, Some(("logo.png", png(120, 40)))).await;
    assert_eq!(status, 200, "{page}");
    let served = eventually(WAIT, "the PNG logo", || async {
        let response = http.get(format!("{}/static/logo", app.public)).send().await.ok()?;
        (response.headers()["content-type"] == "image/png").then_some(response)
    })
    .await;
    assert_eq!(served.bytes().await.unwrap().to_vec(), png(120, 40));
    let mut reset = brand.to_vec();
    reset.push(("logo_reset", "on"));
    assert_eq!(save_config(&app, &reset, None).await.0, 200);
    assert!(booths(&cluster).get("booth").await.unwrap().spec.branding.logo.is_none());
    app.stop().await;
}

/// A lead as the form stores it (no status yet), without labels.
pub fn raffle_lead(name: &str, first: &str, campaign: &str, consent: bool) -> Lead {
    Lead::new(
        name,
        LeadSpec {
            name: format!("{first} Tester"),
            email: format!("{name}@example.org"),
            company: String::new(),
            job_position: String::new(),
            phone: String::new(),
            country: None,
            notes: String::new(),
            consent,
            campaign: campaign.into(),
            code: conferenceli::leads::code::generate(),
            labels: Vec::new(),
            submitted_at: "2026-11-29T10:00:00Z".parse().unwrap(),
            press_token_sha256: None,
        },
    )
}

async fn draw(app: &LeadsApp) -> (u16, Value) {
    let response = http()
        .post(format!("{}/raffle/draw", app.private))
        .basic_auth("admin", Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raffle_draws_each_consenting_lead_of_the_campaign_once_even_across_restarts() {
    let cluster = TestCluster::start(fast_config()).await;
    let args = ["--campaign-name", "Raffle"];
    let app = LeadsApp::start(&cluster, &args).await;
    let (status, body) = draw(&app).await;
    assert_eq!(status, 404, "nobody signed up yet: {body}");
    assert!(body["message"].as_str().unwrap().contains("consented"), "{body}");
    let unauthorised = http().post(format!("{}/raffle/draw", app.private)).send().await.unwrap();
    assert_eq!(unauthorised.status(), 401);

    let api = leads_api(&cluster);
    let leads = [
        raffle_lead("lead-ada", "Ada", "Raffle", true),
        raffle_lead("lead-bob", "Bob", "Raffle", true),
        raffle_lead("lead-cyd", "Cyd", "Raffle", true),
        raffle_lead("lead-dan", "Dan", "Raffle", false),
        raffle_lead("lead-eve", "Eve", "Elsewhere", true),
    ];
    for lead in &leads {
        api.create(&PostParams::default(), lead).await.unwrap();
    }
    let code_of = |name: &str| leads.iter().find(|l| l.spec.name == name).map(|l| l.spec.code.clone());
    let mut kiosk = SseReader::open(&http(), &format!("{}/stream", app.private)).await;
    let mut winners = Vec::new();
    let (status, body) = draw(&app).await;
    assert_eq!(status, 200, "{body}");
    let name = body["winner"]["name"].as_str().unwrap().to_string();
    assert_eq!(body["winner"]["code"].as_str().map(String::from), code_of(&name), "{body}");
    winners.push(name.clone());
    let announced = kiosk.until(WAIT, |e| e.event.as_deref() == Some("announce")).await;
    let announced: Value = serde_json::from_str(&announced.data).unwrap();
    assert_eq!(announced["kind"], "raffleWinner");
    assert_eq!(announced["firstName"].as_str(), name.split(' ').next(), "first name only");
    assert_eq!(announced["code"].as_str().map(String::from), code_of(&name));

    // Staff draw the second from the control panel, which lists the winners.
    let (_, staff) = Staff::login(&app.private, DEMO_PASSWORD).await;
    let (status, body) = staff.post("/control/raffle/draw", &[], true).await;
    assert_eq!(status, 200, "{body}");
    winners.push(body["winner"]["name"].as_str().unwrap().to_string());
    let panel = staff.page("/control").await;
    for winner in &winners {
        assert!(panel.contains(winner.as_str()), "{winner} listed on the panel");
    }
    app.stop().await;

    // After a restart nobody already drawn is drawn again.
    let app = LeadsApp::start(&cluster, &args).await;
    let (status, body) = draw(&app).await;
    assert_eq!(status, 200, "{body}");
    winners.push(body["winner"]["name"].as_str().unwrap().to_string());
    winners.sort();
    assert_eq!(winners, ["Ada Tester", "Bob Tester", "Cyd Tester"], "each consenting lead of the campaign once");
    let (status, body) = draw(&app).await;
    assert_eq!(status, 409, "everybody drawn: {body}");
    assert!(body["message"].as_str().unwrap().contains("drawn already"), "{body}");
    let mut numbers: Vec<u32> =
        all_leads(&cluster).await.iter().filter_map(|l| l.status.as_ref()?.raffle.as_ref().map(|d| d.number)).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3], "each draw recorded in its Lead");
    app.stop().await;
}

/// Presses with `token` as `visitor`'s browser.
async fn press(visitor: &Visitor, token: &str, csrf: &str) -> reqwest::Response {
    visitor.post_to(&format!("/press/{token}?lang=en"), format!("csrf_token={csrf}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_from_the_phone_deletes_one_pod_once_and_every_refusal_is_clear() {
    let cluster = TestCluster::start(fast_config()).await;
    let args = ["--chaos-cooldown-seconds", "3", "--form-rate-limit-per-minute", "1000"];
    let app = LeadsApp::start(&cluster, &args).await;
    let http = http();
    eventually(WAIT, "the pods watched", || async {
        let state: Value = http.get(format!("{}/api/state", app.private)).send().await.ok()?.json().await.ok()?;
        (state["pods"].as_array()?.iter().filter(|p| p["status"] == "Running").count() == 5).then_some(())
    })
    .await;
    let visitor = Visitor::open(&app.public).await;
    let forged = "0123456789abcdef".repeat(4);

    // Off by default: no offer on the thank-you page, and presses are 404.
    let thanks = sign_up(&visitor, "Zed Off", "off@example.org").await;
    assert!(press_token_on(&thanks).is_none(), "no press offered while the setting is off");
    let off = press(&visitor, &forged, &visitor.token).await;
    assert_eq!(off.status(), 404);
    assert!(off.text().await.unwrap().contains("The button is resting"));

    set_spec(&cluster, json!({"visitorChaos": true})).await;
    eventually(WAIT, "presses switched on", || async {
        let page = press(&visitor, &forged, &visitor.token).await.text().await.ok()?;
        page.contains("Unknown link").then_some(())
    })
    .await;

    let mut kiosk = SseReader::open(&http, &format!("{}/stream", app.private)).await;
    let thanks = sign_up(&visitor, "Ada Lovelace", "ada@example.org").await;
    let token = press_token_on(&thanks).expect("the press offered");
    let csrf = csrf_token(&thanks);
    assert_eq!(press(&visitor, &token, "").await.status(), 403, "the CSRF token is needed");
    assert_eq!(cluster.takes(), 0);
    let pressed = press(&visitor, &token, &csrf).await;
    assert_eq!(pressed.status(), 303, "to the press's page");
    let location = pressed.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/press/{token}?lang=en"));
    let page = visitor.http.get(format!("{}{location}", app.public)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Boom!") && page.contains("You deleted pod critical-prod-"), "{page}");
    assert!(page.contains(r#"<meta http-equiv="refresh" content="2">"#), "it updates itself until the heal: {page}");
    assert_eq!(cluster.takes(), 1, "exactly one pod deleted");
    let announced = kiosk.until(WAIT, |e| e.event.as_deref() == Some("announce")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&announced.data).unwrap(),
        json!({"kind": "visitorPress", "firstName": "Ada"})
    );
    let ada = all_leads(&cluster).await.into_iter().find(|l| l.spec.name == "Ada Lovelace").unwrap();
    let recorded = ada.status.unwrap().visitor_press.expect("the press recorded in the Lead");
    assert!(page.contains(&recorded.pod), "the recorded pod is the deleted one");
    assert!(!ada.spec.press_token_sha256.unwrap().contains(&token), "only the hash is stored");

    // The same link, once Kubernetes has the pod back: the heal time, the booth's measurement.
    let healed = eventually(WAIT, "the heal on the press's page", || async {
        let page = visitor.http.get(format!("{}{location}", app.public)).send().await.ok()?.text().await.ok()?;
        page.contains("data-heal").then_some(page)
    })
    .await;
    assert!(!healed.contains("http-equiv=\"refresh\""), "no more reloads: {healed}");
    let ada = all_leads(&cluster).await.into_iter().find(|l| l.spec.name == "Ada Lovelace").unwrap();
    let millis = ada.status.unwrap().visitor_press.unwrap().heal_milliseconds.expect("the heal recorded in the Lead");
    let seconds = format!("{:.1}", millis as f64 / 1000.0);
    assert!(healed.contains("Kubernetes healed it") && healed.contains(&recorded.pod), "{healed}");
    assert!(
        healed.contains(&format!("data-heal>{seconds}<")) && healed.contains(&format!("in {seconds} seconds")),
        "{healed}"
    );
    assert!(!healed.contains("Ada") && !healed.contains("Lovelace"), "the page shows the press, not the person");
    let german = visitor.http.get(format!("{}/press/{token}?lang=de", app.public)).send().await.unwrap();
    let german = german.text().await.unwrap();
    assert!(
        german.contains("Zurück in") && german.contains(&format!("data-heal>{}<", seconds.replace('.', ","))),
        "{german}"
    );
    let api_state: Value = http.get(format!("{}/api/state", app.private)).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        api_state["availability"]["fastest"]["seconds"].as_f64(),
        Some(millis as f64 / 1000.0),
        "the day's fastest"
    );

    // Refusals: used 410, forged and malformed 404.
    let again = press(&visitor, &token, &csrf).await;
    assert_eq!(again.status(), 410);
    assert!(again.text().await.unwrap().contains("Already pressed"));
    assert_eq!(press(&visitor, &forged, &csrf).await.status(), 404);
    assert_eq!(press(&visitor, "abc", &csrf).await.status(), 404);

    // During the cool-down: 429 with Retry-After, and the press stays the visitor's.
    let thanks = sign_up(&visitor, "Bob Builder", "bob@example.org").await;
    let bob = press_token_on(&thanks).unwrap();
    // Not pressed yet, the link offers the button.
    let waiting = visitor.http.get(format!("{}/press/{bob}", app.public)).send().await.unwrap();
    assert_eq!(waiting.status(), 200);
    let waiting = waiting.text().await.unwrap();
    assert!(
        waiting.contains("Press the red button") && waiting.contains(&format!("action=\"/press/{bob}?lang=en\"")),
        "{waiting}"
    );
    assert_eq!(visitor.http.get(format!("{}/press/{forged}", app.public)).send().await.unwrap().status(), 404);
    let cooling = press(&visitor, &bob, &csrf).await;
    assert_eq!(cooling.status(), 429);
    let retry: u64 = cooling.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
    assert_eq!(cluster.takes(), 1);
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(300)).await;
    assert_eq!(press(&visitor, &bob, &csrf).await.status(), 303, "the press was given back");
    assert_eq!(cluster.takes(), 2);

    // The token of a deleted lead is 404.
    let thanks = sign_up(&visitor, "Cyd Gone", "cyd@example.org").await;
    let cyd = press_token_on(&thanks).unwrap();
    let lead = all_leads(&cluster).await.into_iter().find(|l| l.spec.name == "Cyd Gone").unwrap();
    leads_api(&cluster).delete(&lead.name_any(), &DeleteParams::default()).await.unwrap();
    let gone = eventually(WAIT, "the deleted lead's token refused", || async {
        let response = press(&visitor, &cyd, &csrf).await;
        (response.status() == 404).then_some(response)
    })
    .await;
    assert!(gone.text().await.unwrap().contains("Unknown link"));

    // A restart never lets a token be used again.
    let thanks = sign_up(&visitor, "Dee Later", "dee@example.org").await;
    let dee = press_token_on(&thanks).unwrap();
    app.stop().await;
    let app = LeadsApp::start(&cluster, &args).await;
    let visitor = Visitor::open(&app.public).await;
    let csrf = visitor.token.clone();
    let after_restart = eventually(WAIT, "the used token refused after the restart", || async {
        let response = press(&visitor, &token, &csrf).await;
        (response.status() == 410).then_some(response)
    })
    .await;
    assert!(after_restart.text().await.unwrap().contains("Already pressed"));
    set_spec(&cluster, json!({"visitorChaos": false})).await;
    // Probed with the forged token: a real one would be pressed if the app had not seen the
    // change yet (the watch and this request race).
    eventually(WAIT, "presses switched off", || async {
        let page = press(&visitor, &forged, &csrf).await.text().await.ok()?;
        page.contains("The button is resting").then_some(())
    })
    .await;
    let off = press(&visitor, &dee, &csrf).await;
    assert_eq!(off.status(), 404);
    assert!(off.text().await.unwrap().contains("The button is resting"));
    assert_eq!(cluster.takes(), 2, "refusals took nothing");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_the_disruption_budget_refuses_says_so_and_stays_the_visitors() {
    // Evicted pods stay Terminating for a minute: two evictions spend the demo's budget.
    let slow = kube_sim::SimConfig { grace_period_seconds: 60, start_delay: Duration::from_secs(60), ..fast_config() };
    let cluster = TestCluster::start(slow).await;
    let app =
        LeadsApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--form-rate-limit-per-minute", "1000"]).await;
    set_spec(&cluster, json!({"visitorChaos": true})).await;
    let visitor = Visitor::open(&app.public).await;
    let forged = "0123456789abcdef".repeat(4);
    eventually(WAIT, "presses switched on", || async {
        let page = press(&visitor, &forged, &visitor.token).await.text().await.ok()?;
        page.contains("Unknown link").then_some(())
    })
    .await;
    let thanks = sign_up(&visitor, "Eve Evicted", "eve@example.org").await;
    let (token, csrf) = (press_token_on(&thanks).expect("the press offered"), csrf_token(&thanks));
    for _ in 0..2 {
        let answer = crate::common::press_once(&app.private).await;
        assert!(answer.starts_with("critical-prod-"), "{answer}");
    }
    let refused = press(&visitor, &token, &csrf).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_none(), "nobody knows when the budget allows one");
    let page = refused.text().await.unwrap();
    assert!(page.contains("Kubernetes said no") && page.contains("critical-prod"), "{page}");
    assert!(page.contains("Your press is still yours"), "{page}");
    let eve = all_leads(&cluster).await.into_iter().find(|l| l.spec.name == "Eve Evicted").unwrap();
    assert!(eve.status.and_then(|s| s.visitor_press).is_none(), "the claim was given back");
    let metrics = http().get(format!("{}/metrics", app.private)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"budget_refused\"} 1"), "{metrics}");
    // In German, too.
    let german = visitor.post_to(&format!("/press/{token}?lang=de"), format!("csrf_token={csrf}")).await;
    assert!(german.text().await.unwrap().contains("Kubernetes sagt Nein"));

    // In delete mode the budget does not apply: the same press now goes through.
    set_spec(&cluster, json!({"chaosSafety": {"mode": "delete"}})).await;
    eventually(WAIT, "the press in delete mode", || async {
        (press(&visitor, &token, &csrf).await.status() == 303).then_some(())
    })
    .await;
    assert_eq!(cluster.sim.stats.requests("delete", "pods"), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_phone_the_branded_form_signs_up_and_presses_the_button_seen_on_the_kiosk() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--chaos-cooldown-seconds", "30"]).await;
    set_spec(&cluster, json!({"visitorChaos": true, "campaignName": "Phone"})).await;
    let phone = Browser::start().await;
    phone.set_viewport(390, 844).await;
    let kiosk = Browser::start().await;
    kiosk.goto(&format!("{}/", app.private)).await;

    const LAYOUT: &str = r#"
const doc = document.documentElement;
const small = Array.from(document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]),select,textarea,button,label[for=consent]'))
  .map(e => e.getBoundingClientRect()).filter(r => r.height < 44).length;
return { scroll: doc.scrollWidth > innerWidth, size: [innerWidth, innerHeight], small,
  lang: doc.lang, h1: document.querySelector('h1').textContent,
  prizeTop: document.querySelector('.prize').getBoundingClientRect().top,
  firstField: document.querySelector('#name').getBoundingClientRect().top,
  external: performance.getEntriesByType('resource').filter(r => !r.name.startsWith(location.origin)).length };
"#;
    for (lang, file, title) in
        [("en", "visitor-form-en.png", "Sign up and win"), ("de", "visitor-form-de.png", "Anmelden und gewinnen")]
    {
        phone.goto(&format!("{}/?lang={lang}", app.public)).await;
        let layout = phone.eval(LAYOUT).await;
        assert_eq!(layout["size"], json!([390, 844]));
        assert_eq!(layout["lang"], lang);
        assert_eq!(layout["h1"], title);
        assert_eq!(layout["scroll"], false, "no horizontal scrolling at 390 px");
        assert_eq!(layout["small"], 0, "every control is thumb-sized (44 px or more)");
        assert_eq!(layout["external"], 0, "no request leaves the booth");
        assert!(layout["prizeTop"].as_f64() < layout["firstField"].as_f64(), "the prize above the fields");
        phone.screenshot(file).await;
    }

    phone.goto(&format!("{}/?lang=en", app.public)).await;
    phone
        .eval(
            r#"
document.getElementById('name').value = 'Ada Lovelace';
document.getElementById('email').value = 'ada@example.org';
document.getElementById('company').value = 'Analytical Engines';
document.getElementById('consent').checked = true;
document.querySelector('form button[type=submit]').click();
return true;"#,
        )
        .await;
    let thanks = eventually(WAIT, "the thank-you page", || async {
        let text = phone.eval("return document.body.innerText").await;
        text.as_str().filter(|t| t.contains("Thank you, Ada Lovelace!")).map(String::from)
    })
    .await;
    let lead = all_leads(&cluster).await.into_iter().next().expect("the sign-up stored");
    assert!(thanks.contains(&lead.spec.code), "the raffle code on the page: {thanks}");
    assert!(thanks.contains("Today at 17:00 at our booth"), "when the draw is");
    let layout = phone.eval("return document.documentElement.scrollWidth > innerWidth").await;
    assert_eq!(layout, json!(false));
    phone.screenshot("visitor-thanks.png").await;

    let deletes = cluster.takes();
    let press_form = phone
        .eval("const f = document.querySelector('button.red').form; return [f.action, f.elements.csrf_token.value]")
        .await;
    phone.eval("document.querySelector('button.red').click(); return true").await;
    let pressed = eventually(WAIT, "the press answered", || async {
        let text = phone.eval("return document.body.innerText").await;
        text.as_str().filter(|t| t.contains("Boom!")).map(String::from)
    })
    .await;
    assert!(pressed.contains("You deleted pod critical-prod-"), "{pressed}");
    assert_eq!(cluster.takes(), deletes + 1, "exactly one pod");
    let at = phone.eval("return location.pathname + location.search").await;
    assert!(at.as_str().is_some_and(|p| p.starts_with("/press/") && p.ends_with("?lang=en")), "the press's page: {at}");
    phone.screenshot("visitor-pressed.png").await;
    // The page reloads itself until Kubernetes has the pod back, then says how long it took.
    let healed = eventually(WAIT, "the heal time on the phone", || async {
        let text = phone.eval("return document.body.innerText").await;
        text.as_str().filter(|t| t.contains("Kubernetes healed it")).map(String::from)
    })
    .await;
    assert!(healed.contains("The pod your press took") && pressed.contains("critical-prod-"), "{healed}");
    let layout = phone
        .eval("return [document.documentElement.scrollWidth > innerWidth, !!document.querySelector('[data-heal]')]")
        .await;
    assert_eq!(layout, json!([false, true]), "the heal figure, and no horizontal scrolling at 390 px");
    phone.screenshot("visitor-healed.png").await;
    let warnings: Vec<Value> =
        phone.console().await.into_iter().filter(|e| e["level"] != "INFO" && e["level"] != "DEBUG").collect();
    assert!(warnings.is_empty(), "the phone's console: {warnings:?}");
    let shown = eventually(WAIT, "the kiosk to announce the press", || async {
        let text = kiosk.eval("const a = document.getElementById('announce'); return a ? a.textContent : ''").await;
        text.as_str().filter(|t| t.contains("Ada pressed the button!")).map(String::from)
    })
    .await;
    assert!(!shown.contains("Lovelace"), "first name only: {shown}");
    kiosk.screenshot("visitor-press-on-kiosk.png").await;

    // The same press form sent again (as a reload would): refused, a 410 in the phone's console.
    phone.allow_console("status of 410 (Gone)");
    let resend = format!(
        "const f = document.createElement('form'); f.method = 'post'; f.action = {};
         const t = document.createElement('input'); t.type = 'hidden'; t.name = 'csrf_token'; t.value = {};
         f.appendChild(t); document.body.appendChild(f); f.submit(); return true",
        press_form[0], press_form[1]
    );
    phone.eval(&resend).await;
    eventually(WAIT, "the second press refused", || async {
        let text = phone.eval("return document.body.innerText").await;
        text.as_str().filter(|t| t.contains("Already pressed")).map(|_| ())
    })
    .await;
    assert_eq!(cluster.takes(), deletes + 1, "still one pod");
    phone.screenshot("visitor-second-press.png").await;
    app.stop().await;
}
