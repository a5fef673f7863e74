//! The lead outbox: a kube-runtime `Controller` on `Lead` resources that creates each lead in
//! Odoo exactly once, records the outcome in the lead's status, and deletes leads a configured
//! time after they are fully processed.
//!
//! Exactly once: before creating, the controller searches Odoo for a `crm.lead` whose
//! description carries the lead's marker (`Lead code: <code>`), archived ones included. A create
//! whose answer was lost after Odoo committed it is therefore found, not repeated. Retries use
//! exponential backoff with jitter; the next attempt's time is kept in the status, so the backoff
//! survives restarts and is not cut short by the status write itself waking the controller.
//!
//! May call: `crate::backoff` (the retries' delays), `crate::booth` (settings, health
//! condition), `crate::cluster` (conditions, timestamps, status patches), `crate::labels` (the
//! labels a lead carries), `crate::tasks` (where the controller runs); besides, the Kubernetes API (Leads in the booth namespace) and the
//! [`Odoo`] trait.

use super::crd::{Lead, LeadStatus, PrintState, SyncState};
use super::metrics::OdooAttempt;
use super::odoo::{Odoo, OdooError, SearchRead};
use crate::booth::{BoothHandle, BoothPart};
use crate::cluster::resource::{StatusPatch, Version, merge_diff, now, set_condition, to_the_second};
use crate::cluster::{Condition, ConditionStatus};
use crate::tasks::Tasks;
use futures::StreamExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Leads sent to Odoo at the same time: after an outage the backlog goes out steadily instead
/// of all at once onto Odoo's few workers.
const ODOO_CONCURRENCY: u16 = 8;

/// Why a reconciliation could not finish (the Odoo outcome itself is recorded, not returned).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControllerError {
    #[error("could not write the status of lead {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("could not delete lead {name}: {source}")]
    Delete {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// How the outbox behaves.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub(crate) source_name: String,
    pub(crate) tag_name: String,
    /// How long a fully processed lead is kept before it is deleted.
    pub(crate) retention: Duration,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
}

/// What every reconciliation shares.
pub struct Context {
    pub api: Api<Lead>,
    pub booth: BoothHandle,
    pub odoo: Option<Arc<dyn Odoo>>,
    pub settings: SyncSettings,
    /// Odoo ids by (model, name); cleared when the booth settings change.
    pub ids: IdCache,
    pub metrics: super::metrics::LeadMetrics,
    /// Wakes the print queue when a lead's label is due (a new lead, or staff's reprint).
    pub printing: crate::labels::queue::QueueWaker,
}

/// Ids of campaigns, sources, tags and countries looked up by name or code.
#[derive(Default, Clone)]
pub struct IdCache(Arc<Mutex<HashMap<IdKey, Option<i64>>>>);

/// (model, name or code)
type IdKey = (String, String);

impl IdCache {
    fn get(&self, model: &str, key: &str) -> Option<Option<i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&(model.to_string(), key.to_string())).copied()
    }

    fn put(&self, model: &str, key: &str, id: Option<i64>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert((model.to_string(), key.to_string()), id);
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Starts the controller, which runs until `shutdown`; every lead is reconciled again when the
/// Booth changes (lead creation switched on or off, another campaign). Returns the controller's
/// own store of the Leads (what `/metrics` counts by state).
pub fn start(ctx: Arc<Context>, tasks: &Tasks) -> Store<Lead> {
    let booth_changes = futures::stream::unfold(ctx.booth.subscribe(), |mut rx| async move {
        rx.changed().await.ok()?;
        Some(((), rx))
    });
    let ids = ctx.ids.clone();
    let booth_changes = booth_changes.map(move |()| {
        ids.clear();
    });
    let controller = Controller::new(ctx.api.clone(), watcher::Config::default())
        .with_config(controller::Config::default().concurrency(ODOO_CONCURRENCY))
        .reconcile_all_on(booth_changes)
        .graceful_shutdown_on(tasks.token().clone().cancelled_owned());
    let leads = controller.store();
    let reconciling = controller.run(reconcile, error_policy, ctx).for_each(|result| async move {
        if let Err(error) = result {
            tracing::debug!(%error, "lead reconciliation ended with an error");
        }
    });
    // The controller finishes the reconciliations under way once the token fires, then ends;
    // but kube's graceful shutdown can also wait on its watch (seen: the full 5 s of the app's
    // grace when the API server was away at start), so it gets `FINISH` and is then dropped. A
    // reconciliation cut short is safe: the next start finds what Odoo committed (`sync`).
    let token = tasks.token().clone();
    tasks.spawn("lead controller", async move {
        tokio::select! {
            () = reconciling => {}
            () = async {
                token.cancelled().await;
                tokio::time::sleep(FINISH).await;
            } => tracing::info!("lead controller: reconciliations cut short at shutdown"),
        }
    });
    leads
}

/// How long the reconciliations under way may take to finish at shutdown (well inside the app's
/// grace period: a create in Odoo answers in well under a second).
const FINISH: Duration = Duration::from_secs(2);

fn error_policy(_lead: Arc<Lead>, error: &ControllerError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "lead not processed; retrying in 5 s");
    Action::requeue(Duration::from_secs(5))
}

/// The status a lead starts with.
pub(crate) fn initial_status(lead: &Lead) -> LeadStatus {
    LeadStatus {
        print_state: if lead.spec.labels.is_empty() { PrintState::NotRequested } else { PrintState::Pending },
        ..LeadStatus::default()
    }
}

async fn reconcile(lead: Arc<Lead>, ctx: Arc<Context>) -> Result<Action, ControllerError> {
    if lead.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = lead.name_any();
    let status = match &lead.status {
        Some(status) => status.clone(),
        None => match write_first_status(&ctx.api, &lead).await {
            Ok(Some(status)) => status,
            // The lead changed since this copy was read: the watch brings the new version.
            Ok(None) => return Ok(Action::requeue(Duration::from_secs(1))),
            Err(source) => return Err(ControllerError::Status { name, source }),
        },
    };
    if status.print_state == PrintState::Pending {
        ctx.printing.wake();
    }
    if status.sync_state != SyncState::Synced {
        return sync(&lead, &name, status, &ctx).await;
    }
    clean_up(&name, &status, &ctx).await
}

/// Writes the first status of `lead`, a copy without one, on the condition that the lead is
/// still that version (its `resourceVersion`); `None` when it has changed since.
///
/// The status is also the print queue's record of what it printed. A copy from a cache that has
/// not seen the queue's writes yet (the watch still reconnecting after the API server restarted,
/// when the first write's answer was lost and its retry comes from the cache) would otherwise
/// set a printed label back to `Pending`, and the queue would print it again.
pub async fn write_first_status(api: &Api<Lead>, lead: &Lead) -> Result<Option<LeadStatus>, kube::Error> {
    let status = initial_status(lead);
    let version = lead.resource_version().unwrap_or_default();
    let patch = StatusPatch { metadata: Some(Version { resource_version: &version }), status: &status };
    match api.patch_status(&lead.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(Some(status)),
        Err(kube::Error::Api(refused)) if refused.code == 409 => Ok(None),
        Err(error) => Err(error),
    }
}

/// Sends the lead to Odoo when due, or records why it is not sent.
async fn sync(lead: &Lead, name: &str, status: LeadStatus, ctx: &Context) -> Result<Action, ControllerError> {
    let Some(odoo) = &ctx.odoo else {
        return park(name, &status, SyncState::NotConfigured, "Odoo is not configured (ODOO_URL)", ctx).await;
    };
    if !ctx.booth.synced() {
        // Whether creation is switched on is not known before the Booth has been read.
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    if !ctx.booth.spec().odoo_create_lead_enabled {
        return park(name, &status, SyncState::Disabled, "lead creation in Odoo is switched off on the Booth", ctx)
            .await;
    }
    if let Some(next) = status.next_attempt_at {
        let wait = now().duration_until(next);
        if wait.is_positive() {
            return Ok(Action::requeue(Duration::try_from(wait).unwrap_or(Duration::from_secs(1))));
        }
    }
    let attempts = status.attempts.saturating_add(1);
    let at = now();
    let started = std::time::Instant::now();
    let created = create_once(lead, odoo.as_ref(), ctx).await;
    ctx.metrics.odoo_duration(started.elapsed());
    match created {
        Ok((id, outcome)) => {
            ctx.metrics.odoo_attempt(outcome);
            tracing::info!(lead = name, odoo_id = id, attempts, "lead in Odoo");
            ctx.booth.report_health(
                BoothPart::Odoo,
                true,
                "Reachable",
                &format!("leads are created through {}", odoo.api()),
            );
            let next = LeadStatus {
                sync_state: SyncState::Synced,
                odoo_id: Some(id),
                attempts,
                last_error: None,
                last_attempt_at: Some(at),
                next_attempt_at: None,
                synced_at: Some(at),
                conditions: conditions(lead, "Synced", true, "Created", &format!("crm.lead {id}"), at),
                ..status.clone()
            };
            write_changes(&ctx.api, name, &status, &next).await?;
            Ok(Action::await_change())
        }
        Err(error) => {
            ctx.metrics.odoo_attempt(OdooAttempt::from(&error));
            let delay =
                crate::backoff::jittered(attempts, ctx.settings.retry_min, ctx.settings.retry_max, rand::random());
            let next = at.checked_add(delay).unwrap_or(at);
            tracing::warn!(lead = name, attempts, retry_in = ?delay, %error, "lead not created in Odoo yet");
            ctx.booth.report_health(BoothPart::Odoo, false, error.reason(), &error.to_string());
            let retry = LeadStatus {
                sync_state: SyncState::Pending,
                attempts,
                last_error: Some(error.to_string()),
                last_attempt_at: Some(at),
                next_attempt_at: Some(to_the_second(next)),
                conditions: conditions(lead, "Synced", false, error.reason(), &error.to_string(), at),
                ..status.clone()
            };
            write_changes(&ctx.api, name, &status, &retry).await?;
            Ok(Action::requeue(delay))
        }
    }
}

/// Keeps a lead that is not to be sent now, marking why (written only when it changes).
async fn park(
    name: &str,
    status: &LeadStatus,
    state: SyncState,
    why: &str,
    ctx: &Context,
) -> Result<Action, ControllerError> {
    if status.sync_state != state {
        tracing::info!(lead = name, state = state.as_str(), "lead kept, not sent to Odoo: {why}");
        let parked = LeadStatus { sync_state: state, last_error: Some(why.into()), ..status.clone() };
        write_changes(&ctx.api, name, status, &parked).await?;
    }
    Ok(Action::await_change())
}

/// The marker that identifies this lead's `crm.lead` in Odoo.
pub fn marker(code: &str) -> String {
    format!("Lead code: {code}")
}

/// Finds the lead in Odoo by its marker (`found`), or creates it (`created`).
async fn create_once(lead: &Lead, odoo: &dyn Odoo, ctx: &Context) -> Result<(i64, OdooAttempt), OdooError> {
    let existing = odoo
        .search_read(
            SearchRead::new("crm.lead", json!([["description", "ilike", marker(&lead.spec.code)]]), &["id"])
                .limit(1)
                .include_archived(),
        )
        .await?;
    if let Some(id) = existing.first().and_then(|r| r.get("id")).and_then(Value::as_i64) {
        tracing::info!(lead = %lead.name_any(), odoo_id = id, "found the lead already in Odoo; not creating it again");
        return Ok((id, OdooAttempt::Found));
    }
    let ids = LinkedIds {
        campaign: lookup(odoo, ctx, "utm.campaign", "name", &lead.spec.campaign).await?,
        source: lookup(odoo, ctx, "utm.source", "name", &ctx.settings.source_name).await?,
        tag: lookup(odoo, ctx, "crm.tag", "name", &ctx.settings.tag_name).await?,
        country: match &lead.spec.country {
            Some(country) => match country.id {
                Some(id) => Some(id),
                None => lookup(odoo, ctx, "res.country", "code", &country.code).await?,
            },
            None => None,
        },
    };
    Ok((odoo.create("crm.lead", crm_lead_values(lead, &ids)).await?, OdooAttempt::Created))
}

/// Ids the new `crm.lead` links to.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LinkedIds {
    pub campaign: Option<i64>,
    pub source: Option<i64>,
    pub tag: Option<i64>,
    pub country: Option<i64>,
}

/// The id of the record of `model` whose `field` equals `value` (cached), `None` for an empty
/// value or when Odoo has no such record (the lead is then created without the link, and a
/// warning logged: a lead in Odoo without a tag beats no lead).
async fn lookup(
    odoo: &dyn Odoo,
    ctx: &Context,
    model: &str,
    field: &str,
    value: &str,
) -> Result<Option<i64>, OdooError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Some(id) = ctx.ids.get(model, value) {
        return Ok(id);
    }
    let id = super::odoo::find_id(odoo, model, field, value).await?;
    if id.is_none() {
        tracing::warn!(model, value, "not found in Odoo; leads are created without it");
    }
    ctx.ids.put(model, value, id);
    Ok(id)
}

/// The `crm.lead` values of a lead: pure, tested against the field names Odoo documents.
pub(crate) fn crm_lead_values(lead: &Lead, ids: &LinkedIds) -> Value {
    let spec = &lead.spec;
    let mut description = spec.notes.trim().to_string();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&marker(&spec.code));
    let mut values = json!({
        "name": format!("Event Lead: {}", spec.name),
        "contact_name": spec.name,
        "email_from": spec.email,
        "function": spec.job_position,
        "partner_name": spec.company,
        "phone": spec.phone,
        "description": description,
    });
    let links = [("campaign_id", ids.campaign), ("source_id", ids.source), ("country_id", ids.country)];
    for (field, id) in links {
        if let Some(id) = id {
            values[field] = json!(id);
        }
    }
    if let Some(tag) = ids.tag {
        // Command 6: replace the many2many with exactly these ids.
        values["tag_ids"] = json!([[6, 0, [tag]]]);
    }
    values
}

/// The lead's conditions with `type_` set; other parts' conditions are kept.
fn conditions(lead: &Lead, type_: &str, ok: bool, reason: &str, message: &str, at: jiff::Timestamp) -> Vec<Condition> {
    let mut list = lead.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
    let condition = Condition {
        type_: type_.into(),
        status: ConditionStatus::from(ok),
        observed_generation: None,
        last_transition_time: at,
        reason: reason.into(),
        message: message.into(),
    };
    set_condition(&mut list, condition);
    list
}

/// Deletes a synced lead once its label is final and the retention has passed; never before.
async fn clean_up(name: &str, status: &LeadStatus, ctx: &Context) -> Result<Action, ControllerError> {
    if !status.print_state.is_final() {
        if status.processed_at.is_some() {
            // A reprint was requested after processing: the clock starts again when it is done.
            write_changes(&ctx.api, name, status, &LeadStatus { processed_at: None, ..status.clone() }).await?;
        }
        return Ok(Action::await_change());
    }
    let processed = match status.processed_at {
        Some(at) => at,
        None => {
            let at = now();
            let processed = LeadStatus { processed_at: Some(at), ..status.clone() };
            write_changes(&ctx.api, name, status, &processed).await?;
            at
        }
    };
    let due = processed.checked_add(ctx.settings.retention).unwrap_or(processed);
    let wait = now().duration_until(due);
    if wait.is_positive() {
        return Ok(Action::requeue(Duration::try_from(wait).unwrap_or(Duration::from_secs(60))));
    }
    tracing::info!(lead = name, "lead fully processed and past its retention; deleting it");
    match ctx.api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::await_change()),
        Err(source) => Err(ControllerError::Delete { name: name.into(), source }),
    }
}

/// Writes the fields in which `next` differs from `current` as a merge patch of the status
/// subresource. The patch is serialised from [`LeadStatus`] itself, so its keys are the CRD's;
/// and it names only what changed, so the print queue's concurrent writes of its own fields
/// are never overwritten.
async fn write_changes(
    api: &Api<Lead>,
    name: &str,
    current: &LeadStatus,
    next: &LeadStatus,
) -> Result<(), ControllerError> {
    let status_error = |error| ControllerError::Status { name: name.into(), source: kube::Error::SerdeError(error) };
    let changes = merge_diff(
        &serde_json::to_value(current).map_err(status_error)?,
        &serde_json::to_value(next).map_err(status_error)?,
    );
    write_status(api, name, &StatusPatch::of(changes)).await
}

async fn write_status(
    api: &Api<Lead>,
    name: &str,
    patch: &(impl serde::Serialize + std::fmt::Debug),
) -> Result<(), ControllerError> {
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|_| ())
        .map_err(|source| ControllerError::Status { name: name.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::crd::{LeadCountry, LeadSpec};

    fn lead() -> Lead {
        Lead::new(
            "lead-1",
            LeadSpec {
                name: "Ada Lovelace".into(),
                email: "ada@example.org".into(),
                company: "Engines".into(),
                job_position: "CTO".into(),
                phone: "+41 44 000 00 00".into(),
                country: Some(LeadCountry { id: Some(43), code: "CH".into(), name: "Switzerland".into() }),
                notes: "Kubernetes at the edge".into(),
                consent: true,
                campaign: "KubeCon".into(),
                code: "BAKO-RIMU-TEZA".into(),
                labels: vec![crate::labels::layout::Label::Raffle {
                    name: "Zoë".into(),
                    header: "KubeCon".into(),
                    code: "BAKO-RIMU-TEZA".into(),
                }],
                submitted_at: "2026-11-21T09:00:00Z".parse().unwrap(),
                press_token_sha256: None,
            },
        )
    }

    #[test]
    fn status_writes_name_only_what_changed_in_the_crd_spelling() {
        let current = LeadStatus {
            attempts: 2,
            last_error: Some("timeout".into()),
            next_attempt_at: Some("2026-11-21T09:01:00Z".parse().unwrap()),
            print_attempts: 1,
            ..LeadStatus::default()
        };
        let next = LeadStatus {
            sync_state: SyncState::Synced,
            odoo_id: Some(7),
            attempts: 3,
            last_error: None,
            next_attempt_at: None,
            ..current.clone()
        };
        let patch = merge_diff(&json!(current), &json!(next));
        assert_eq!(
            patch,
            json!({"syncState": "Synced", "odooId": 7, "attempts": 3, "lastError": null, "nextAttemptAt": null})
        );
        // Applying the patch gives exactly the next status; the print queue's fields are untouched.
        let mut applied = json!(current);
        json_patch::merge(&mut applied, &patch);
        assert_eq!(serde_json::from_value::<LeadStatus>(applied).unwrap(), next);
        assert_eq!(merge_diff(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"b": 1}})), json!({"a": {"c": null}}));
        assert_eq!(merge_diff(&json!(next), &json!(next)), json!({}));
    }

    #[test]
    fn crm_lead_values_carry_every_field_and_the_marker() {
        let ids = LinkedIds { campaign: Some(1), source: Some(2), tag: Some(3), country: Some(43) };
        assert_eq!(
            crm_lead_values(&lead(), &ids),
            json!({
                "name": "Event Lead: Ada Lovelace",
                "contact_name": "Ada Lovelace",
                "email_from": "ada@example.org",
                "function": "CTO",
                "partner_name": "Engines",
                "phone": "+41 44 000 00 00",
                "description": "Kubernetes at the edge\n\nLead code: BAKO-RIMU-TEZA",
                "campaign_id": 1,
                "source_id": 2,
                "country_id": 43,
                "tag_ids": [[6, 0, [3]]],
            })
        );
        let bare = crm_lead_values(&lead(), &LinkedIds::default());
        assert!(bare.get("campaign_id").is_none() && bare.get("tag_ids").is_none());
    }

    #[test]
    fn the_initial_print_state_follows_the_request() {
        assert_eq!(initial_status(&lead()).print_state, PrintState::Pending);
        let mut no_label = lead();
        no_label.spec.labels.clear();
        assert_eq!(initial_status(&no_label).print_state, PrintState::NotRequested);
        assert_eq!(initial_status(&no_label).sync_state, SyncState::Pending);
    }
}
