//! Contact form throughput while Odoo is slow: the whole app in-process against the simulated
//! Kubernetes API, the Odoo double answering every call after 500 ms, and visitors submitting
//! the form concurrently, each from a loopback address of its own (127.0.0.10, .11, …: phones on
//! the booth's Wi-Fi, each held to the public listener's per-client limits). The visitor's answer
//! must not depend on Odoo: the form only stores a Lead; the controller sends it afterwards.
//!
//! `cargo bench --bench form` prints a Markdown table; the slow-Odoo run's headline figures also
//! go to the performance report (`report::record`).

#[path = "../tests/it/odoo_double.rs"]
mod odoo_double;
#[path = "report/mod.rs"]
mod report;

use clap::Parser;
use conferenceli::cluster::client::clients_for_url;
use kube_sim::SimCluster;
use report::Figure;
use std::time::{Duration, Instant};

const VISITORS: usize = 16;
const SUBMISSIONS_PER_VISITOR: usize = 25;
/// Odoo's answer time in the two runs: instant, and the slow one the issue asks about.
const ODOO_DELAYS: [Duration; 2] = [Duration::ZERO, Duration::from_millis(500)];

/// What one run measured.
struct Run {
    total: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    all_in_odoo: Duration,
    html: usize,
    css: usize,
    /// The rest of the first page: the accent stylesheet and the logo.
    brand: usize,
}

fn app_args(listen: std::net::SocketAddr, extra: &[String]) -> conferenceli::config::AppArgs {
    let listen = listen.to_string();
    let mut args = vec!["conferenceli".to_string(), "demo".into(), "--listen-addr".into(), listen];
    args.extend(extra.iter().cloned());
    match conferenceli::config::Cli::try_parse_from(args).expect("valid arguments").command {
        conferenceli::config::Command::Demo(demo) => demo.app,
        _ => unreachable!(),
    }
}

fn token_and_cookie(set_cookie: &str, html: &str) -> (String, String) {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("token") + marker.len();
    let token = html[start..].split('"').next().unwrap().to_string();
    (token, set_cookie.split(';').next().unwrap().to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    conferenceli::http::install_crypto_provider();
    let mut runs = Vec::new();
    for delay in ODOO_DELAYS {
        runs.push(run(delay).await);
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let row = |name: &str, cell: &dyn Fn(&Run) -> String| {
        println!("| {name} | {} |", runs.iter().map(cell).collect::<Vec<_>>().join(" | "));
    };
    println!(
        "| measure | {} |",
        ODOO_DELAYS.iter().map(|d| format!("Odoo answers in {} ms", d.as_millis())).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---|".repeat(ODOO_DELAYS.len()));
    row(&format!("submissions ({VISITORS} concurrent visitors)"), &|r| r.total.to_string());
    row("submissions per second", &|r| format!("{:.0}", r.per_second));
    row("p50 response time", &|r| ms(r.p50));
    row("p99 response time", &|r| ms(r.p99));
    row("max response time", &|r| ms(r.max));
    row("every lead in Odoo after", &|r| format!("{:.1} s", r.all_in_odoo.as_secs_f64()));
    row("form page weight (uncompressed)", &|r| format!("{} B HTML + {} B CSS", r.html, r.css));
    row("first page, everything (HTML, CSS, accent CSS, logo)", &|r| format!("{} B", r.html + r.css + r.brand));

    let slow = runs.last().expect("one run per delay");
    let delay_ms = ODOO_DELAYS[ODOO_DELAYS.len() - 1].as_millis();
    let method = format!(
        "the whole app in the bench process against the simulated API; the Odoo double answers every call after {delay_ms} ms; {VISITORS} concurrent visitors each submit the form {SUBMISSIONS_PER_VISITOR} times ({} in all)",
        slow.total
    );
    report::record(
        "form",
        &[
            Figure {
                key: "slow_odoo_submissions_per_s",
                what: format!("contact form while Odoo answers in {delay_ms} ms"),
                value: slow.per_second,
                unit: "submissions/s",
                higher_is_better: true,
                method: format!("{method}; submissions ÷ time until the last answer"),
            },
            Figure {
                key: "slow_odoo_p50_ms",
                what: format!("contact form answer while Odoo answers in {delay_ms} ms, p50"),
                value: slow.p50.as_secs_f64() * 1000.0,
                unit: "ms",
                higher_is_better: false,
                method: format!("{method}; median of the visitors' answer times"),
            },
            Figure {
                key: "first_page_bytes",
                what: "the form's whole first page (HTML, stylesheet, accent stylesheet, logo), uncompressed".into(),
                value: (slow.html + slow.css + slow.brand) as f64,
                unit: "bytes",
                higher_is_better: false,
                method: "the bytes of `GET /`, `/static/form.css`, `/static/brand.css` and `/static/logo` with the demo's branding and the country list the app shows (Odoo's, from the double)".into(),
            },
            Figure {
                key: "slow_odoo_p99_ms",
                what: format!("contact form answer while Odoo answers in {delay_ms} ms, p99"),
                value: slow.p99.as_secs_f64() * 1000.0,
                unit: "ms",
                higher_is_better: false,
                method: format!("{method}; 99th percentile of the visitors' answer times"),
            },
            Figure {
                key: "slow_odoo_all_leads_in_odoo_s",
                what: format!("every submitted lead in Odoo while it answers in {delay_ms} ms"),
                value: slow.all_in_odoo.as_secs_f64(),
                unit: "s",
                higher_is_better: false,
                method: format!(
                    "{method}; from the first submission until Odoo holds every lead (polled every 100 ms)"
                ),
            },
        ],
    );
}

async fn run(delay: Duration) -> Run {
    let sim = SimCluster::start(conferenceli::demo::sim_config());
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_server = sim.serve(sim_listener).unwrap();
    let clients = clients_for_url(&sim_server.url()).unwrap();
    let odoo = odoo_double::OdooDouble::start().await;
    odoo.set_delay(delay);

    let private = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (private_addr, public_addr) = (private.local_addr().unwrap(), public.local_addr().unwrap());
    let mut flags = odoo.app_flags(true);
    flags.extend(
        ["--form-rate-limit-per-minute", "100000", "--campaign-name", "KubeCon 2026", "--log-level", "warn"]
            .map(String::from),
    );
    let args = app_args(private_addr, &flags);
    let credentials = args.staff_credentials(true).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let health = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listeners = conferenceli::app::Listeners { private, public, health };
    let devices = conferenceli::app::Devices::default();
    let app = tokio::spawn(conferenceli::app::serve(clients, args, credentials, listeners, devices, shutdown.clone()));
    let http = reqwest::Client::new();
    loop {
        let ready = http.get(format!("http://{private_addr}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base = format!("http://{public_addr}");
    let form = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    let css = http.get(format!("{base}/static/form.css")).send().await.unwrap().text().await.unwrap();
    let mut brand = 0;
    for asset in ["/static/brand.css", "/static/logo"] {
        brand += http.get(format!("{base}{asset}")).send().await.unwrap().bytes().await.unwrap().len();
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for visitor in 0..VISITORS {
        // Each visitor is a phone of its own (127.0.0.10, .11, …), as on the booth's Wi-Fi: the
        // public listener limits requests per client address (PUBLIC_MAX_REQUESTS_PER_CLIENT).
        let phone = std::net::IpAddr::from([127, 0, 0, 10 + visitor as u8]);
        let http = reqwest::Client::builder().local_address(phone).build().unwrap();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let response = http.get(format!("{base}/")).send().await.unwrap();
            let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
            let (token, cookie) = token_and_cookie(&set_cookie, &response.text().await.unwrap());
            let mut latencies = Vec::new();
            for n in 0..SUBMISSIONS_PER_VISITOR {
                let email = format!("visitor{visitor}-{n}@example.org");
                let body = serde_urlencoded::to_string([
                    ("name", "Ada Lovelace"),
                    ("email", email.as_str()),
                    ("company", "Analytical Engines"),
                    ("job_position", "Programmer"),
                    ("phone", "+41 44 123 45 67"),
                    ("country", "CH"),
                    ("notes", "Kubernetes at the edge"),
                    ("consent", "on"),
                    ("csrf_token", token.as_str()),
                ])
                .unwrap();
                let sent = Instant::now();
                let response = http
                    .post(format!("{base}/"))
                    .header("cookie", &cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let _ = response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let total = latencies.len();
    let in_odoo_started = Instant::now();
    while odoo.records("crm.lead").len() < total {
        assert!(in_odoo_started.elapsed() < Duration::from_secs(300), "leads did not reach Odoo");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_in_odoo = started.elapsed();
    shutdown.cancel();
    let _ = app.await;
    sim_server.shutdown().await;

    Run {
        total,
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies[total - 1],
        all_in_odoo,
        html: form.len(),
        css: css.len(),
        brand,
    }
}
