//! `GET /labels/preview.png` (Basic auth, the admin credentials): the label the booth prints with
//! its current settings (the Booth's label header, voucher type and Servala voucher code), for
//! the config page. `?label=voucher` shows the voucher instead of the raffle ticket; `?name=`
//! previews a visitor's name.
//!
//! This module may read the Booth and call the label renderer.
//!
//! May call: `crate::booth`, `crate::labels`.

use super::auth::StaffCredentials;
use super::auth::check_basic;
use super::error::PrivateError;
use super::{AppState, DeviceState};
use crate::booth::{BoothHandle, VoucherType};
use crate::labels::{Label, layout, png_bytes};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
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

async fn preview(
    State(booth): State<BoothHandle>,
    State(devices): State<DeviceState>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
    query: Result<Query<PreviewQuery>, QueryRejection>,
) -> Result<Response, PrivateError> {
    // Credentials before the query: a stranger learns nothing from how a query is parsed.
    check_basic(&headers, &credentials.admin)?;
    let Ok(Query(query)) = query else {
        return Err(PrivateError::Invalid("malformed query: use ?label=raffle or voucher and &name=...".into()));
    };
    let spec = booth.spec();
    let name = query.name.unwrap_or_else(|| "Zoë Müller".into());
    let label = match query.label.as_deref().unwrap_or("raffle") {
        "raffle" => Label::Raffle { name, header: spec.label_header, code: "bakoru".into() },
        "voucher" => match spec.voucher_type {
            VoucherType::Appuio => Label::Appuio { name, code: "APPUIO-VOUCHER".into() },
            VoucherType::Servala => Label::Servala { name, code: spec.servala_voucher_code },
            VoucherType::None => return Err(PrivateError::NoVoucher),
        },
        _ => return Err(PrivateError::Invalid("label must be raffle or voucher".into())),
    };
    let size = devices.labels.size;
    let png = tokio::task::spawn_blocking(move || png_bytes(&layout::render(&label, size)))
        .await
        .map_err(|error| PrivateError::PreviewNotRendered(error.to_string()))?
        .map_err(|error| PrivateError::PreviewNotRendered(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}
