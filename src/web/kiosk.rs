//! The kiosk dashboard (`GET /`): the cluster as a harbour, one ship per node and one shipping
//! container per pod, drawn by `templates/static/kiosk.js` from the snapshot embedded in the
//! page and kept live by the `/stream` SSE feed.
//!
//! Also owns the settings of the kiosk and its chaos button ([`DashboardArgs`]: the button's
//! cool-down and the address on the QR card), which `app` hands to the chaos button and to
//! `web::qr_card`; the events the kiosk plays belong to [`crate::theatre`]. It reads the
//! cluster state, the Booth and the theatre's catalogue.
//!
//! May call: `crate::availability`, `crate::booth`, `crate::cluster`, `crate::theatre`.

use super::error::PrivateError;
use super::page::Page;
use super::{AppState, StreamsState};
use crate::cluster::{NodeView, PodView};
use crate::theatre::{SCENES, SceneKind, furniture};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// Settings of the dashboard, the chaos button and the control panel.
#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    /// Seconds between two chaos kills; presses in between answer 429 (decimals allowed).
    #[arg(long, env = "CHAOS_COOLDOWN_SECONDS", default_value = "2", value_parser = parse_cooldown)]
    pub(crate) chaos_cooldown_seconds: Duration,
    /// Public address of the contact form, shown on the kiosk as a QR code (http:// or https://).
    #[arg(long, env = "PUBLIC_URL", value_parser = parse_public_url)]
    pub(crate) public_url: Option<String>,
}

fn parse_cooldown(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a number of seconds from 0 to 3600, such as 2 or 0.5".into())
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let ok = (value.starts_with("http://") || value.starts_with("https://"))
        && value.len() > "https://".len()
        && value.len() <= 512
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(value.to_string())
    } else {
        Err("expected an http:// or https:// address such as https://booth.example.com/".into())
    }
}

/// What the kiosk script starts from before the stream connects.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KioskState {
    pub pods: Vec<PodView>,
    pub nodes: Vec<NodeView>,
    pub kill_count: u64,
    pub mode: super::DisplayMode,
    /// The name on the harbour's flag.
    pub flag: String,
    /// The QR card's call to action.
    pub call_to_action: String,
    /// The booth day's fastest heal, which the kiosk shows.
    pub(crate) fastest_heal: Option<crate::availability::heals::Heal>,
    /// How often the page plays events of its own.
    pub show_pace: crate::booth::ShowPace,
    /// The kiosk page's build (`web::assets::page_build`): a page that was served another one
    /// reloads itself.
    pub build: &'static str,
}

impl KioskState {
    pub fn now(state: &StreamsState) -> Self {
        let snapshot = state.cluster.snapshot();
        let spec = state.booth.spec();
        Self {
            pods: snapshot.pods.clone(),
            nodes: snapshot.nodes.clone(),
            kill_count: state.booth.kill_count(),
            mode: super::DisplayMode::of(&state.booth),
            flag: furniture::flag_name(&spec),
            call_to_action: furniture::call_to_action(&spec),
            fastest_heal: state.availability.view().fastest,
            show_pace: spec.show_pace,
            build: super::assets::page_build(),
        }
    }
}

/// What the page needs of an event: its name and when it plays.
#[derive(Serialize)]
pub(crate) struct SceneEntry {
    pub name: &'static str,
    pub kind: SceneKind,
    pub(crate) description: &'static str,
}

/// The theatre's catalogue as `/api/scenes` and the kiosk page list it.
pub(crate) fn scene_list() -> Vec<SceneEntry> {
    SCENES.iter().map(|s| SceneEntry { name: s.name, kind: s.kind, description: s.description }).collect()
}

/// `GET /api/scenes`: every event the kiosk can play, `[{"name", "kind", "description"}]`.
async fn api_scenes() -> Json<Vec<SceneEntry>> {
    Json(scene_list())
}

/// JSON that is safe inside `<script type="application/json">`: `<` never appears raw, so no
/// `</script>` can end the element early.
pub(crate) fn script_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c")
}

#[derive(Template)]
#[template(path = "kiosk.html")]
struct KioskPage {
    initial_json: String,
    scenes_json: String,
    night: bool,
    flag: String,
    call_to_action: String,
    qr_svg: Option<String>,
    public_url: Option<String>,
}

async fn kiosk(State(state): State<StreamsState>) -> Result<Page, PrivateError> {
    let initial = KioskState::now(&state);
    let card = state.qr_card.as_deref();
    let page = KioskPage {
        initial_json: script_json(&initial),
        scenes_json: script_json(&scene_list()),
        night: state.booth.night_mode(),
        flag: initial.flag.clone(),
        call_to_action: initial.call_to_action.clone(),
        qr_svg: card.map(|c| c.svg.clone()),
        public_url: card.map(|c| c.url.clone()),
    };
    Ok(Page::render(&page)?)
}

/// The kiosk and its catalogue of scenes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(kiosk)).route("/api/scenes", get(api_scenes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(parse_cooldown("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_cooldown("0"), Ok(Duration::ZERO));
        for bad in ["-1", "soon", "NaN", "inf", "4000"] {
            assert!(parse_cooldown(bad).is_err(), "{bad}");
        }
        assert!(parse_public_url("https://booth.example.com/").is_ok());
        for bad in ["booth.example.com", "ftp://x", "https://", "https://a b"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let json = script_json(&serde_json::json!({"name": "</script><script>alert(1)"}));
        assert!(!json.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)");
    }
}
