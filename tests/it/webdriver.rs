//! A small WebDriver client for Debian's headless Chromium driven through chromedriver (JSON
//! over HTTP, spoken with reqwest), used by the browser tests and by the kiosk benchmark
//! (`benches/sse.rs` includes this file with `#[path]`, next to `chromium.rs`).
//!
//! The console rule: a browser session fails its test when the page logged a warning or an
//! error (chromedriver's browser log, `WARNING` or `SEVERE`), checked when the session ends,
//! unless the test said that message was expected (`allow_console`, such as the connection
//! refusals while the app restarts). A kill animation that throws is logged by the page
//! (`console.warn`), so a broken animation fails every browser test that plays it.

use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A chromedriver process and one browser session on it; both end on drop.
pub struct Browser {
    /// chromedriver, in a process group of its own which Chromium's processes join (the kiosk
    /// benchmark measures their CPU by that group).
    pub driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    _profile: tempfile::TempDir,
    /// Every browser log entry seen so far (chromedriver hands each out once).
    seen: Mutex<Vec<Value>>,
    /// Substrings of warnings and errors the test expects.
    allowed: Mutex<Vec<String>>,
}

fn find_binary(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|path| std::path::Path::new(path).exists())
        .map(|s| s.to_string())
        .unwrap_or_else(|| panic!("none of {candidates:?} exists: apt-get install chromium chromium-driver"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A browser log entry's level counts as a problem.
fn is_problem(entry: &Value) -> bool {
    matches!(entry["level"].as_str(), Some("WARNING" | "SEVERE"))
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A browser with Chromium flags beyond `chromium::ARGS`.
    pub async fn start_with(extra_args: &[&str]) -> Self {
        let driver_path = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let chromium = find_binary(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
        let port = free_port();
        let driver = std::os::unix::process::CommandExt::process_group(
            Command::new(driver_path).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
            0,
        )
        .spawn()
        .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while !http.get(format!("{base}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = crate::chromium::ARGS.iter().chain(extra_args).map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let response: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused the session: {response}"))
            .to_string();
        let browser = Self {
            driver,
            http,
            session,
            base,
            _profile: profile,
            seen: Mutex::new(Vec::new()),
            allowed: Mutex::new(Vec::new()),
        };
        browser.set_viewport(1280, 800).await;
        browser
    }

    /// Sizes the window so that the page itself gets `width`×`height`, as on the booth's screen.
    pub async fn set_viewport(&self, width: i64, height: i64) {
        let chrome = self.eval("return [outerWidth - innerWidth, outerHeight - innerHeight]").await;
        let (dw, dh) = (chrome[0].as_i64().unwrap_or(0), chrome[1].as_i64().unwrap_or(0));
        let rect = json!({"width": width + dw, "height": height + dh});
        self.command(reqwest::Method::POST, "/window/rect", Some(rect)).await;
    }

    pub async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.expect("WebDriver request").json().await.expect("WebDriver JSON");
        if response["value"].get("error").is_some() {
            panic!("WebDriver {path} failed: {}", response["value"]);
        }
        response["value"].clone()
    }

    /// A Chrome DevTools Protocol command, passed on by chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await
    }

    /// Makes the page see `prefers-reduced-motion: reduce` (Chromium's DevTools emulation).
    pub async fn reduce_motion(&self) {
        let features = json!({"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]});
        self.cdp("Emulation.setEmulatedMedia", features).await;
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().expect("base64")).expect("PNG");
        assert_eq!(&png[1..4], b"PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifact dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// The browser console since the last call (chromedriver's log endpoint); every entry is
    /// also kept for the console rule.
    pub async fn console(&self) -> Vec<Value> {
        let logs = self.command(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"}))).await;
        let entries = logs.as_array().cloned().unwrap_or_default();
        self.seen.lock().expect("console log").extend(entries.iter().cloned());
        entries
    }

    /// Warnings and errors whose message contains `expected` do not fail the test.
    pub fn allow_console(&self, expected: &str) {
        self.allowed.lock().expect("allowed messages").push(expected.to_string());
    }

    /// Every warning and error the page logged so far that the test did not expect.
    pub async fn console_problems(&self) -> Vec<Value> {
        self.console().await;
        self.problems()
    }

    fn problems(&self) -> Vec<Value> {
        let allowed = self.allowed.lock().expect("allowed messages").clone();
        let seen = self.seen.lock().expect("console log");
        seen.iter()
            .filter(|e| is_problem(e))
            .filter(|e| !allowed.iter().any(|a| e["message"].as_str().unwrap_or_default().contains(a.as_str())))
            .cloned()
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; killing the driver would orphan it. The rest of the
        // console is read first, for the console rule.
        let session = format!("{}/session/{}", self.base, self.session);
        let rest: Vec<Value> = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let http = reqwest::Client::new();
                let log = http.post(format!("{session}/se/log")).json(&json!({"type": "browser"})).send().await;
                let rest = match log {
                    Ok(response) => response.json::<Value>().await.ok().and_then(|v| v["value"].as_array().cloned()),
                    Err(_) => None,
                };
                let _ = http.delete(session).send().await;
                rest.unwrap_or_default()
            })
        })
        .join()
        .unwrap_or_default();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Ok(mut seen) = self.seen.lock() {
            seen.extend(rest);
        }
        let problems = self.problems();
        if !std::thread::panicking() && !problems.is_empty() {
            panic!("the browser console has warnings or errors: {problems:#?}");
        }
    }
}
