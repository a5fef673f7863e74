//! `GET /labels/preview.png` (Basic auth, the admin credentials): the label the booth prints with
//! its current settings (the Booth's label header, voucher type and Servala voucher code), for
//! the config page. `?label=voucher` shows the voucher instead of the raffle ticket; `?name=`
//! previews a visitor's name.
//!
//! This module may read the Booth and call the label renderer.
//!
//! May call: `crate::booth`, `crate::labels`.

use super::AppState;
use super::auth::check_basic;
use crate::booth::VoucherType;
use crate::labels::{Label, layout, png_bytes};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;

/// Routes of the label preview, merged into the private router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/labels/preview.png", get(preview))
}

#[derive(Debug, Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, Json(serde_json::json!({ "message": message }))).into_response()
}

async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PreviewQuery>, QueryRejection>,
) -> Response {
    // Credentials before the query: a stranger learns nothing from how a query is parsed.
    if let Err(denied) = check_basic(&headers, &state.credentials.admin) {
        return denied.into_response();
    }
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "malformed query: use ?label=raffle or voucher and &name=...");
    };
    let spec = state.booth.spec();
    let name = query.name.unwrap_or_else(|| "Zoë Müller".into());
    let label = match query.label.as_deref().unwrap_or("raffle") {
        "raffle" => Label::Raffle { name, header: spec.label_header, code: "bakoru".into() },
        "voucher" => match spec.voucher_type {
            VoucherType::Appuio => Label::Appuio { name, code: "APPUIO-VOUCHER".into() },
            VoucherType::Servala => Label::Servala { name, code: spec.servala_voucher_code },
            VoucherType::None => return error(StatusCode::NOT_FOUND, "no voucher configured (voucher type: none)"),
        },
        _ => return error(StatusCode::BAD_REQUEST, "label must be raffle or voucher"),
    };
    let size = state.labels.size;
    let image = tokio::task::spawn_blocking(move || png_bytes(&layout::render(&label, size))).await;
    match image {
        Ok(Ok(png)) => {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response()
        }
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "the preview could not be rendered"),
    }
}
