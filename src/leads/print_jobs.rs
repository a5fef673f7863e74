//! The Leads as the print queue's durable job store: a lead's labels are its print job, and its
//! status (`printState`, `printAttempts`, `printedAt`, `lastPrintError`) is where the queue records
//! every step before it takes the next (see `labels::queue` for the once-only contract).
//!
//! Each step is a status write with the lead's `resourceVersion` (optimistic concurrency), retried
//! on conflict with a fresh read, so the queue and the Odoo controller, which writes other fields
//! of the same status, never lose each other's changes. This module calls the Kubernetes API only.
//!
//! May call: `crate::cluster`, `crate::labels`.

use super::crd::{Lead, PrintState};
use crate::cluster::api_calls::{ApiCall, Scope};
use crate::cluster::resource::now;
use crate::labels::queue::{self, JobStore, PrintJob, StoreError};
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};

/// The API requests of this module (see [`crate::cluster::api_calls`]).
pub(crate) const API_CALLS: [ApiCall; 3] = [
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads", "list"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads/status", "get"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads/status", "update"),
];

/// How many times a step is tried against conflicting writers before it reports the store
/// unavailable (the queue then retries the whole pass with backoff).
const CONFLICT_RETRIES: usize = 5;

/// The Lead-backed [`JobStore`].
#[derive(Clone)]
pub(crate) struct LeadPrintJobs {
    api: Api<Lead>,
}

fn unavailable(error: kube::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn queue_state(state: PrintState) -> queue::PrintState {
    match state {
        PrintState::Pending => queue::PrintState::Pending,
        PrintState::Printing => queue::PrintState::Printing,
        PrintState::Printed => queue::PrintState::Printed,
        PrintState::Failed => queue::PrintState::Failed,
        PrintState::NotRequested => queue::PrintState::NotRequested,
    }
}

/// The print job of a lead, when it has one that is not finished.
pub(crate) fn open_job(lead: &Lead) -> Option<PrintJob> {
    let status = lead.status.as_ref()?;
    if !matches!(status.print_state, PrintState::Pending | PrintState::Printing) || lead.spec.labels.is_empty() {
        return None;
    }
    Some(PrintJob {
        id: lead.name_any(),
        labels: lead.spec.labels.clone(),
        state: queue_state(status.print_state),
        attempts: status.print_attempts,
        last_error: status.last_print_error.clone(),
        printed_at: status.printed_at,
    })
}

impl LeadPrintJobs {
    pub fn new(api: Api<Lead>) -> Self {
        Self { api }
    }

    /// Reads the lead's status, applies `change` and writes it back; retries on conflict.
    async fn update(&self, id: &str, change: impl Fn(&mut super::crd::LeadStatus)) -> Result<(), StoreError> {
        for _ in 0..CONFLICT_RETRIES {
            let mut lead = match self.api.get_status(id).await {
                Ok(lead) => lead,
                Err(kube::Error::Api(status)) if status.code == 404 => return Err(StoreError::UnknownJob(id.into())),
                Err(error) => return Err(unavailable(error)),
            };
            let mut status = lead.status.clone().unwrap_or_default();
            change(&mut status);
            lead.status = Some(status);
            match self.api.replace_status(id, &PostParams::default(), &lead).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(error) => return Err(unavailable(error)),
            }
        }
        Err(StoreError::Unavailable(format!("lead {id} kept changing under the print queue")))
    }

    /// Every lead (the control panel's label list).
    pub async fn leads(&self) -> Result<Vec<Lead>, kube::Error> {
        Ok(self.api.list(&ListParams::default()).await?.items)
    }

    /// Staff's "reprint": the lead's labels are printed again, whatever happened before.
    pub async fn reprint(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |status| {
            status.print_state = PrintState::Pending;
            status.last_print_error = None;
        })
        .await
    }
}

impl JobStore for LeadPrintJobs {
    async fn open_jobs(&self) -> Result<Vec<PrintJob>, StoreError> {
        let mut leads = self.leads().await.map_err(unavailable)?;
        // Oldest first: the order visitors signed up in.
        leads.sort_by(|a, b| {
            let created = |l: &Lead| l.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(a).cmp(&created(b)).then_with(|| a.name_any().cmp(&b.name_any()))
        });
        Ok(leads.iter().filter_map(open_job).collect())
    }

    async fn begin_attempt(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |status| {
            status.print_state = PrintState::Printing;
            status.print_attempts += 1;
        })
        .await
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |status| {
            status.print_state = PrintState::Printed;
            status.printed_at = Some(now());
            status.last_print_error = None;
        })
        .await
    }

    async fn mark_retry(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update(id, |status| {
            status.print_state = PrintState::Pending;
            status.last_print_error = Some(error.to_string());
        })
        .await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update(id, |status| {
            status.print_state = PrintState::Failed;
            status.last_print_error = Some(error.to_string());
        })
        .await
    }
}
