//! The `Lead` custom resource: the durable outbox of the contact form. `spec` is what the visitor
//! entered (plus the campaign and the lead's code) and never changes; `status` is what the booth
//! did with it: the Odoo sync (owned by the lead controller) and the label print (owned by the
//! print queue).
//!
//! The object name is derived from the campaign and the e-mail address ([`lead_name`]), so the
//! Kubernetes API itself refuses a second sign-up of the same person for the same campaign
//! (409 Conflict), atomically, across restarts and replicas.
//!
//! May call: `crate::cluster` (the conditions), `crate::labels`.

use crate::cluster::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a visitor submitted, as accepted by the form's validation.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "conferenceli.dev",
    version = "v1alpha1",
    kind = "Lead",
    namespaced,
    status = "LeadStatus",
    shortname = "lead",
    printcolumn = r#"{"name":"Code","type":"string","jsonPath":".spec.code"}"#,
    printcolumn = r#"{"name":"Campaign","type":"string","jsonPath":".spec.campaign"}"#,
    printcolumn = r#"{"name":"Sync","type":"string","jsonPath":".status.syncState"}"#,
    printcolumn = r#"{"name":"Odoo","type":"integer","jsonPath":".status.odooId"}"#,
    printcolumn = r#"{"name":"Print","type":"string","jsonPath":".status.printState"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LeadSpec {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub job_position: String,
    #[serde(default)]
    pub phone: String,
    /// The country the visitor chose, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<LeadCountry>,
    /// "What can we help you with?"
    #[serde(default)]
    pub notes: String,
    /// The visitor ticked the consent checkbox (the form refuses submissions without it).
    pub consent: bool,
    /// The Booth's campaign when the visitor signed up.
    #[serde(default)]
    pub campaign: String,
    /// The lead's pronounceable code (voucher / raffle code), also the Odoo marker.
    pub code: String,
    /// The labels to print for this lead, decided from the Booth's settings at sign-up (a later
    /// settings change never alters a queued label). Empty: nothing to print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "labels_schema")]
    pub labels: Vec<crate::labels::layout::Label>,
    /// When the visitor submitted the form.
    pub submitted_at: jiff::Timestamp,
    /// Hex SHA-256 of the one-time token that lets the visitor press the chaos button from their
    /// phone (`POST /press/<token>`); the token itself is only ever on the visitor's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press_token_sha256: Option<String>,
}

/// The schema of `spec.labels`: one structural object per label (a tagged enum in Rust, which
/// the structural-schema rules of CRDs cannot express as `oneOf` with differing `type` enums).
fn labels_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["type", "name", "code"],
            "properties": {
                "type": {"type": "string", "enum": ["raffle", "appuio", "servala"]},
                "name": {"type": "string"},
                "header": {"type": "string"},
                "code": {"type": "string"}
            }
        }
    })
}

/// A country as chosen in the form: the Odoo `res.country` id when the list came from Odoo, and
/// always the ISO 3166-1 code (resolved to an id at sync time when the id is missing).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadCountry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub code: String,
    pub name: String,
}

/// Where the lead stands with Odoo.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SyncState {
    /// Not in Odoo yet; the controller keeps trying.
    #[default]
    Pending,
    /// Created in Odoo (`odooId`).
    Synced,
    /// Lead creation is switched off on the Booth; kept here, sent if it is switched on again.
    Disabled,
    /// No Odoo is configured (`ODOO_URL`); kept here, sent once one is.
    NotConfigured,
}

/// Where the lead's label stands. Owned by the print queue; the form sets the initial value.
///
/// A reprint is requested by setting `printState` back to `Pending` (see docs/leads.md).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PrintState {
    /// A label is to be printed.
    #[default]
    Pending,
    /// An attempt is under way: the label may be on its way to the printer.
    Printing,
    Printed,
    /// Printing failed (`lastPrintError`); staff may request a reprint.
    Failed,
    /// The booth printed no label for this lead.
    NotRequested,
}

/// What the booth did with the lead.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadStatus {
    #[serde(default)]
    pub sync_state: SyncState,
    /// The `crm.lead` id in Odoo once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) odoo_id: Option<i64>,
    /// Calls to Odoo made for this lead so far.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_attempt_at: Option<jiff::Timestamp>,
    /// When the controller tries again (exponential backoff with jitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_attempt_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) synced_at: Option<jiff::Timestamp>,
    #[serde(default)]
    pub print_state: PrintState,
    #[serde(default)]
    pub print_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) printed_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_print_error: Option<String>,
    /// When both the sync and the print were final; the lead is deleted `LEAD_RETENTION_SECONDS`
    /// later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) processed_at: Option<jiff::Timestamp>,
    /// `Synced`: whether the lead is in Odoo, and why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The raffle draw that picked this lead: a lead is drawn at most once, across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raffle: Option<RaffleDraw>,
    /// The visitor's one press of the chaos button, once used (a token is never used twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_press: Option<VisitorPress>,
}

/// A raffle draw won by the lead.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RaffleDraw {
    /// When it was drawn.
    pub(crate) drawn_at: jiff::Timestamp,
    /// The campaign's draw number: 1 for the first winner.
    pub number: u32,
}

/// The visitor's press of the chaos button from their phone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisitorPress {
    /// When the press was claimed.
    pub(crate) pressed_at: jiff::Timestamp,
    /// The pod it deleted; empty while the press is under way.
    #[serde(default)]
    pub pod: String,
    /// How long Kubernetes took to bring that pod back (the booth's own measurement: from the
    /// kill until the replacement was Running and Ready), once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal_milliseconds: Option<u64>,
}

/// The object name of a lead: `lead-` and the first 20 hex digits of
/// SHA-256(campaign, NUL, normalised e-mail). The same person in the same campaign always gets
/// the same name; the e-mail is not readable from it.
pub fn lead_name(campaign: &str, email: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(campaign.trim().as_bytes());
    hasher.update([0]);
    hasher.update(normalise_email(email).as_bytes());
    let digest = hasher.finalize();
    let hex = hex::encode(&digest[..10]);
    format!("lead-{hex}")
}

/// The e-mail as compared for duplicates and hashed for the redirect: trimmed, lowercase.
pub(crate) fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Hex SHA-256 of the normalised e-mail (the retargeting hash of the optional redirect).
pub(crate) fn email_sha256(email: &str) -> String {
    hex::encode(Sha256::digest(normalise_email(email).as_bytes()))
}

impl PrintState {
    /// Final states: nothing more will happen unless staff ask for a reprint.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, PrintState::Printed | PrintState::NotRequested)
    }
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Pending => "Pending",
            SyncState::Synced => "Synced",
            SyncState::Disabled => "Disabled",
            SyncState::NotConfigured => "NotConfigured",
        }
    }
}

impl PrintState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintState::Pending => "Pending",
            PrintState::Printing => "Printing",
            PrintState::Printed => "Printed",
            PrintState::Failed => "Failed",
            PrintState::NotRequested => "NotRequested",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_depends_on_campaign_and_normalised_email_only() {
        let a = lead_name("KubeCon", "Ada@Example.org ");
        assert_eq!(a, lead_name("KubeCon", "ada@example.org"));
        assert_ne!(a, lead_name("DevOpsDays", "ada@example.org"));
        assert_ne!(a, lead_name("KubeCon", "bob@example.org"));
        assert!(a.starts_with("lead-") && a.len() == 25, "{a}");
        assert!(!a.contains("ada"));
    }

    #[test]
    fn the_email_hash_is_sha256_of_the_normalised_address() {
        // printf '%s' 'test@example.com' | sha256sum
        assert_eq!(
            email_sha256(" Test@Example.com"),
            "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
        );
    }

    #[test]
    fn status_serialises_with_the_documented_field_names() {
        let status = LeadStatus { print_state: PrintState::NotRequested, ..LeadStatus::default() };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["syncState"], "Pending");
        assert_eq!(json["printState"], "NotRequested");
        assert_eq!(json["printAttempts"], 0);
    }
}
