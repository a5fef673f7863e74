//! Server-rendered pages of the private listener.

use super::AppState;
use crate::cluster::{NodeView, PodView};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The cluster at a glance: nodes and the pods on each, refreshed every two seconds.
#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    nodes: Vec<NodeView>,
    pods: Vec<PodView>,
    kill_count: u64,
    night: bool,
}

impl IndexPage {
    fn pods_on(&self, node: &str) -> Vec<&PodView> {
        self.pods.iter().filter(|p| p.node.as_deref() == Some(node)).collect()
    }

    fn unscheduled(&self) -> Vec<&PodView> {
        self.pods
            .iter()
            .filter(|p| p.node.as_ref().is_none_or(|n| !self.nodes.iter().any(|node| &node.name == n)))
            .collect()
    }
}

pub async fn index(State(state): State<AppState>) -> Response {
    let snapshot = state.cluster.snapshot();
    let page = IndexPage {
        nodes: snapshot.nodes.clone(),
        pods: snapshot.pods.clone(),
        kill_count: state.booth.kill_count(),
        night: state.booth.night_mode(),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering the index page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}
