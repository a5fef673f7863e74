//! The leads as CSV (`GET /leads.csv` on the private listener): one row per Lead with its sync
//! and print state, cells quoted as RFC 4180 asks and formula triggers neutralised so that a
//! spreadsheet never runs what a visitor typed. Hand-written rather than the `csv` crate: the
//! rows are small and fixed, and the neutralising is ours either way.
//!
//! May call: nothing else of the crate.

use super::crd::{Lead, PrintState, SyncState};
use kube::ResourceExt;

/// The columns of `/leads.csv`.
pub(crate) const CSV_HEADER: [&str; 20] = [
    "lead",
    "submitted_at",
    "campaign",
    "code",
    "name",
    "email",
    "company",
    "job_position",
    "phone",
    "country",
    "notes",
    "consent",
    "sync_state",
    "odoo_id",
    "attempts",
    "last_error",
    "print_state",
    "print_attempts",
    "printed_at",
    "last_print_error",
];

/// One CSV cell: formula triggers neutralised, then RFC 4180 quoting.
pub(crate) fn csv_cell(value: &str) -> String {
    // A leading =, +, - or @ (or a tab/CR that some spreadsheets skip) makes a formula: prefix
    // an apostrophe so it stays text (OWASP "CSV injection").
    let neutral =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if neutral.contains([',', '"', '\n', '\r']) { format!("\"{}\"", neutral.replace('"', "\"\"")) } else { neutral }
}

/// One lead as a CSV row.
pub(crate) fn csv_row(lead: &Lead) -> String {
    let spec = &lead.spec;
    let status = lead.status.clone().unwrap_or_default();
    let sync_state = if lead.status.is_some() { status.sync_state } else { SyncState::Pending };
    let print_state = if lead.status.is_some() {
        status.print_state
    } else if !spec.labels.is_empty() {
        PrintState::Pending
    } else {
        PrintState::NotRequested
    };
    let cells = [
        lead.name_any(),
        spec.submitted_at.to_string(),
        spec.campaign.clone(),
        spec.code.clone(),
        spec.name.clone(),
        spec.email.clone(),
        spec.company.clone(),
        spec.job_position.clone(),
        spec.phone.clone(),
        spec.country.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        spec.notes.clone(),
        spec.consent.to_string(),
        sync_state.as_str().to_string(),
        status.odoo_id.map(|id| id.to_string()).unwrap_or_default(),
        status.attempts.to_string(),
        status.last_error.unwrap_or_default(),
        print_state.as_str().to_string(),
        status.print_attempts.to_string(),
        status.printed_at.map(|at| at.to_string()).unwrap_or_default(),
        status.last_print_error.unwrap_or_default(),
    ];
    cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",")
}

/// The whole export, oldest sign-up first, CRLF line ends (RFC 4180).
pub(crate) fn leads_to_csv(leads: &mut [Lead]) -> String {
    leads.sort_by(|a, b| a.spec.submitted_at.cmp(&b.spec.submitted_at).then_with(|| a.name_any().cmp(&b.name_any())));
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for lead in leads.iter() {
        out.push_str(&csv_row(lead));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+41 44"), "'+41 44");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell(""), "");
    }
}
