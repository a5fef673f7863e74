//! The red button on the visitor's phone: every sign-up gets a one-time token (32 random bytes,
//! hex); the Lead keeps only its SHA-256 (`spec.pressTokenSha256`), the visitor's thank-you
//! page the token itself. `POST /press/<token>` finds the Lead by that hash (in the Leads'
//! watch, or among the last tokens this process handed out, whose Lead the watch may not show
//! yet), claims the press in the Lead's status (`status.visitorPress`, written with an
//! optimistic-concurrency check, so two requests or a restart cannot both use it), and presses
//! the same chaos button as the red buzzer, with the visitor's first name. A press that kills
//! nothing (cool-down, no pod, the disruption budget saying no) gives the claim back: the
//! visitor may try again. A visitor came to take a pod down; Kubernetes refusing is the booth's
//! lesson, shown on the kiosk and on their phone, but it did not spend what they earned.
//!
//! The visitor's page of the press (`GET /press/<token>`, the same link) shows which pod it
//! took and, once Kubernetes has it Ready again, how long that took: the booth's own heal timer
//! (`crate::availability`), recorded in the Lead by `record_heals` so that it survives a
//! restart and the page only ever reads the Lead of its token.
//!
//! May call: `crate::availability`, `crate::booth`, `crate::chaos`, `crate::cluster`,
//! `crate::leads`.

use super::announce::{Announcement, AnnouncementKind, Announcements};
use crate::availability::AvailabilityNotice;
use crate::availability::heals::Heal;
use crate::booth::BoothHandle;
use crate::chaos::{Aim, Chaos, ChaosActions, ChaosError};
use crate::cluster::BudgetRefusal;
use crate::cluster::events::Presser;
use crate::cluster::resource::{StatusPatch, Version, now};
use crate::leads::crd::{Lead, VisitorPress};
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Conflicting writes (the lead controller, the print queue) a claim tolerates.
const ATTEMPTS: usize = 8;
/// Tokens handed out lately whose Lead is remembered by name (see [`RecentTokens`]).
const RECENT_TOKENS: usize = 64;

/// The Leads of the tokens this process handed out last, by token hash. The thank-you page is
/// answered once the API has created the Lead, but the Leads' watch hears of it a moment later
/// (longer on a busy Pi), so a visitor quick on the button would find their token unknown. With
/// the name, the press reads the Lead from the API instead; older tokens are found in the watch.
#[derive(Default)]
struct RecentTokens(std::collections::VecDeque<(String, String)>);

impl RecentTokens {
    fn remember(&mut self, hash: &str, lead: &str) {
        if self.0.len() == RECENT_TOKENS {
            self.0.pop_front();
        }
        self.0.push_back((hash.to_string(), lead.to_string()));
    }

    fn lead(&self, hash: &str) -> Option<String> {
        self.0.iter().find(|(h, _)| h == hash).map(|(_, lead)| lead.clone())
    }
}

/// A new token and the hash the Lead keeps.
pub(crate) fn new_token() -> (String, String) {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = token_hash(&token);
    (token, hash)
}

/// The hash stored in the Lead.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape [`new_token`] makes (64 lowercase hex digits).
pub(crate) fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why a press was refused; each maps onto one page and status code.
#[derive(Debug, thiserror::Error)]
pub enum PressRefusal {
    /// The Booth's `visitorChaos` is off (404).
    #[error("visitor presses are switched off")]
    Off,
    /// No Lead has this token: forged, mistyped, or its Lead was deleted (404).
    #[error("no sign-up has this token")]
    Unknown,
    /// The token was used before (410).
    #[error("this token was used at {0}")]
    Used(jiff::Timestamp),
    /// The button is cooling down (429); the press was given back.
    #[error("cooling down")]
    CoolingDown(Duration),
    /// No pod can be deleted (503); the press was given back.
    #[error("nothing to delete")]
    NothingToKill,
    /// The disruption budget refused the eviction (429); the press was given back.
    #[error("Kubernetes said no: {0}")]
    BudgetHeld(BudgetRefusal),
    /// The cluster refused the delete or the Lead could not be written (502/503).
    #[error("{0}")]
    Failed(String),
}

/// The pod a press deleted and who pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pressed {
    pub pod: String,
    pub first_name: String,
}

/// Where a token's Lead was found.
enum LeadOf {
    Watched(std::sync::Arc<Lead>),
    /// Handed out lately; the watch does not show it yet.
    Named(String),
}

impl LeadOf {
    fn name(self) -> String {
        match self {
            LeadOf::Watched(lead) => lead.name_any(),
            LeadOf::Named(name) => name,
        }
    }
}

/// How long a press waits for its heal before the page stops waiting: the heal timer forgets a
/// kill after this long too (`availability::heals`), and so does a restart of the app.
pub(crate) const HEAL_GIVE_UP: Duration = Duration::from_secs(600);

/// What a visitor's press has come to, as their page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PressState {
    /// Not pressed yet: the page offers the button.
    Waiting,
    /// Claimed, the pod not recorded yet (a moment, or a press that failed half-way).
    Pressing,
    /// The press took `pod`; Kubernetes is bringing it back.
    Healing { pod: String },
    /// Kubernetes brought `pod` back in this long.
    Healed { pod: String, milliseconds: u64 },
    /// The pod came back, but the heal was not timed (the app restarted meanwhile, or it took
    /// longer than the heal timer waits).
    Untimed { pod: String },
}

impl PressState {
    /// The state of a press as the Lead records it, at `now` (pure).
    pub(crate) fn of(press: Option<VisitorPress>, now: jiff::Timestamp) -> Self {
        let Some(press) = press else { return PressState::Waiting };
        if press.pod.is_empty() {
            return PressState::Pressing;
        }
        let pod = press.pod;
        if let Some(milliseconds) = press.heal_milliseconds {
            return PressState::Healed { pod, milliseconds };
        }
        let waited = now.duration_since(press.pressed_at).as_secs_f64();
        if waited > HEAL_GIVE_UP.as_secs_f64() { PressState::Untimed { pod } } else { PressState::Healing { pod } }
    }
}

/// The Lead a heal belongs to: of a press by a visitor, the Lead whose press took that pod most
/// lately and has no heal recorded yet (pure).
pub(crate) fn healed_lead<'a>(leads: &'a [std::sync::Arc<Lead>], heal: &Heal) -> Option<&'a Lead> {
    if !matches!(heal.by, Presser::Visitor { .. }) {
        return None;
    }
    leads
        .iter()
        .filter_map(|lead| Some((lead, lead.status.as_ref()?.visitor_press.as_ref()?)))
        .filter(|(_, press)| press.pod == heal.name && press.heal_milliseconds.is_none())
        .max_by(|(_, a), (_, b)| a.pressed_at.cmp(&b.pressed_at))
        .map(|(lead, _)| lead.as_ref())
}

/// Records each visitor's heal in their Lead (`status.visitorPress.healMilliseconds`) as the
/// booth's heal timer reports it (`availability`'s notices), until `shutdown`. A heal missed
/// (the notices fell behind, the app restarted) leaves the page saying so after a while.
pub(crate) async fn record_heals(
    mut notices: tokio::sync::broadcast::Receiver<AvailabilityNotice>,
    api: Api<Lead>,
    leads: Store<Lead>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let notice = tokio::select! {
            _ = shutdown.cancelled() => return,
            notice = notices.recv() => notice,
        };
        let healed = match notice {
            Ok(notice) => notice.healed,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "visitor heal times: notices missed");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        for heal in healed {
            let state = leads.state();
            let Some(lead) = healed_lead(&state, &heal) else { continue };
            let Some(press) = lead.status.as_ref().and_then(|s| s.visitor_press.clone()) else { continue };
            let milliseconds = (heal.seconds * 1000.0).round() as u64;
            let healed = VisitorPress { heal_milliseconds: Some(milliseconds), ..press };
            let patch = StatusPatch::of(PressStatus { visitor_press: Some(healed) });
            let name = lead.name_any();
            match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => tracing::info!(lead = name, pod = heal.name, seconds = heal.seconds, "a visitor's pod healed"),
                Err(error) => tracing::warn!(lead = name, %error, "a visitor's heal time could not be recorded"),
            }
        }
    }
}

/// Presses for visitors.
pub struct Presses {
    api: Api<Lead>,
    booth: BoothHandle,
    recent: std::sync::Mutex<RecentTokens>,
}

/// `visitorPress`: `Some(press)` records it, `None` serialises as `null` (a merge patch's
/// "remove", which gives the press back).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PressStatus {
    visitor_press: Option<VisitorPress>,
}

impl Presses {
    pub fn new(api: Api<Lead>, booth: BoothHandle) -> Self {
        Self { api, booth, recent: Default::default() }
    }

    /// The sign-up that gave out the token with `hash` created Lead `lead`.
    pub(crate) fn issued(&self, hash: &str, lead: &str) {
        self.recent.lock().unwrap_or_else(|p| p.into_inner()).remember(hash, lead);
    }

    /// Whether the Booth offers presses now.
    pub fn enabled(&self) -> bool {
        self.booth.spec().visitor_chaos
    }

    /// The Lead of `token`: in the Leads' watch, or among the tokens this process handed out
    /// lately (whose Lead the watch may not show yet). Refused while presses are off.
    fn lead_of(&self, token: &str, leads: &Store<Lead>) -> Result<LeadOf, PressRefusal> {
        if !self.enabled() {
            return Err(PressRefusal::Off);
        }
        if !well_formed(token) {
            return Err(PressRefusal::Unknown);
        }
        let hash = token_hash(token);
        let watched =
            leads.state().into_iter().find(|lead| lead.spec.press_token_sha256.as_deref() == Some(hash.as_str()));
        if let Some(lead) = watched {
            return Ok(LeadOf::Watched(lead));
        }
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner()).lead(&hash);
        recent.map(LeadOf::Named).ok_or(PressRefusal::Unknown)
    }

    /// What the press of `token` has come to, for the visitor's page (`GET /press/<token>`).
    /// Read from the Leads' watch; from the API when the watch does not show the press done
    /// yet (the page a press redirects to is asked for at once, before the watch has caught up).
    pub async fn state(&self, token: &str, leads: &Store<Lead>) -> Result<PressState, PressRefusal> {
        let name = match self.lead_of(token, leads)? {
            LeadOf::Watched(lead) => {
                let press = lead.status.as_ref().and_then(|s| s.visitor_press.clone());
                if press.as_ref().is_some_and(|p| !p.pod.is_empty()) {
                    return Ok(PressState::of(press, jiff::Timestamp::now()));
                }
                lead.name_any()
            }
            LeadOf::Named(name) => name,
        };
        match self.api.get_status(&name).await {
            Ok(lead) => Ok(PressState::of(lead.status.and_then(|s| s.visitor_press), jiff::Timestamp::now())),
            Err(kube::Error::Api(status)) if status.code == 404 => Err(PressRefusal::Unknown),
            Err(error) => Err(PressRefusal::Failed(error.to_string())),
        }
    }

    /// One press with `token`, through `chaos`; announced on the kiosk when a pod was deleted.
    pub async fn press<A: ChaosActions>(
        &self,
        token: &str,
        leads: &Store<Lead>,
        chaos: &Chaos<A>,
        announcements: &Announcements,
    ) -> Result<Pressed, PressRefusal> {
        let name = self.lead_of(token, leads)?.name();
        let lead = self.claim(&name).await?;
        let first_name = super::first_name(&lead.spec.name);
        match chaos.press(Aim::Random, Presser::Visitor { first_name: first_name.clone() }).await {
            Ok(taken) => {
                let pod = taken.pod;
                let done = VisitorPress { pressed_at: now(), pod: pod.name.clone(), heal_milliseconds: None };
                if let Err(error) = self.write(&name, None, Some(done)).await {
                    // The claim stays: the press is used whatever the record of its pod says.
                    tracing::warn!(lead = name, %error, "the pressed pod could not be recorded on the lead");
                }
                tracing::info!(lead = name, pod = pod.name, "a visitor pressed the chaos button");
                announcements.announce(Announcement {
                    kind: AnnouncementKind::VisitorPress,
                    first_name: first_name.clone(),
                    code: None,
                });
                Ok(Pressed { pod: pod.name, first_name })
            }
            Err(error) => {
                if let Err(release) = self.write(&name, None, None).await {
                    tracing::warn!(lead = name, error = %release, "a failed press could not be given back");
                }
                Err(match error {
                    ChaosError::CoolingDown(left) => PressRefusal::CoolingDown(left),
                    // A rehearsal (dry run) kills nothing either: the visitor keeps the press.
                    ChaosError::NothingToKill
                    | ChaosError::NoSuchOrdinal(_)
                    | ChaosError::AllTooYoung(_)
                    | ChaosError::DryRun(_) => PressRefusal::NothingToKill,
                    ChaosError::BudgetHeld { budget, .. } => PressRefusal::BudgetHeld(budget),
                    ChaosError::Api { .. } => PressRefusal::Failed(error.to_string()),
                })
            }
        }
    }

    /// Records the press as under way, only if nobody did before (resourceVersion check).
    async fn claim(&self, name: &str) -> Result<Lead, PressRefusal> {
        for _ in 0..ATTEMPTS {
            let lead = match self.api.get_status(name).await {
                Ok(lead) => lead,
                Err(kube::Error::Api(status)) if status.code == 404 => return Err(PressRefusal::Unknown),
                Err(error) => return Err(PressRefusal::Failed(error.to_string())),
            };
            if let Some(used) = lead.status.as_ref().and_then(|s| s.visitor_press.as_ref()) {
                return Err(PressRefusal::Used(used.pressed_at));
            }
            let version = lead.resource_version().unwrap_or_default();
            let claim = VisitorPress { pressed_at: now(), pod: String::new(), heal_milliseconds: None };
            match self.write(name, Some(&version), Some(claim)).await {
                Ok(()) => return Ok(lead),
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(kube::Error::Api(status)) if status.code == 404 => return Err(PressRefusal::Unknown),
                Err(error) => return Err(PressRefusal::Failed(error.to_string())),
            }
        }
        Err(PressRefusal::Failed("the sign-up kept changing; try again".into()))
    }

    async fn write(&self, name: &str, version: Option<&str>, press: Option<VisitorPress>) -> Result<(), kube::Error> {
        let patch = StatusPatch {
            metadata: version.map(|resource_version| Version { resource_version }),
            status: PressStatus { visitor_press: press },
        };
        self.api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_only_their_hash_is_kept() {
        let (token, hash) = new_token();
        assert!(well_formed(&token), "{token}");
        assert_eq!(hash, token_hash(&token));
        assert_ne!(hash, token);
        assert_ne!(new_token().0, token);
        assert!(!well_formed(&token[1..]));
        assert!(!well_formed(&token.to_uppercase()));
        assert!(!well_formed("../../etc/passwd"));
    }

    #[test]
    fn the_latest_tokens_are_remembered_with_their_lead() {
        let mut recent = RecentTokens::default();
        recent.remember("hash-0", "lead-0");
        for i in 1..=RECENT_TOKENS {
            recent.remember(&format!("hash-{i}"), &format!("lead-{i}"));
        }
        assert_eq!(recent.lead("hash-0"), None, "the oldest is forgotten");
        assert_eq!(recent.lead("hash-1").as_deref(), Some("lead-1"));
        assert_eq!(
            recent.lead(&format!("hash-{RECENT_TOKENS}")).as_deref(),
            Some(format!("lead-{RECENT_TOKENS}").as_str())
        );
        assert_eq!(recent.lead("forged"), None);
    }

    #[test]
    fn the_claim_is_conditional_and_the_release_is_a_null() {
        let claim = StatusPatch {
            metadata: Some(Version { resource_version: "7" }),
            status: PressStatus {
                visitor_press: Some(VisitorPress {
                    pressed_at: "2026-11-29T15:00:00Z".parse().unwrap(),
                    pod: String::new(),
                    heal_milliseconds: None,
                }),
            },
        };
        assert_eq!(
            serde_json::to_value(&claim).unwrap(),
            serde_json::json!({"metadata": {"resourceVersion": "7"}, "status": {"visitorPress": {"pressedAt": "2026-11-29T15:00:00Z", "pod": ""}}})
        );
        let release = PressStatus { visitor_press: None };
        assert_eq!(serde_json::to_value(&release).unwrap(), serde_json::json!({"visitorPress": null}));
    }

    fn press(pod: &str, pressed_at: &str, heal_milliseconds: Option<u64>) -> VisitorPress {
        VisitorPress { pressed_at: pressed_at.parse().unwrap(), pod: pod.into(), heal_milliseconds }
    }

    #[test]
    fn the_page_shows_what_the_press_came_to() {
        let now: jiff::Timestamp = "2026-11-29T15:05:00Z".parse().unwrap();
        assert_eq!(PressState::of(None, now), PressState::Waiting);
        assert_eq!(PressState::of(Some(press("", "2026-11-29T15:04:59Z", None)), now), PressState::Pressing);
        let healing = PressState::of(Some(press("critical-prod-2", "2026-11-29T15:04:58Z", None)), now);
        assert_eq!(healing, PressState::Healing { pod: "critical-prod-2".into() });
        let healed = PressState::of(Some(press("critical-prod-2", "2026-11-29T15:04:58Z", Some(3_400))), now);
        assert_eq!(healed, PressState::Healed { pod: "critical-prod-2".into(), milliseconds: 3_400 });
        // Longer than the heal timer waits: it will never come.
        let late = PressState::of(Some(press("critical-prod-2", "2026-11-29T14:50:00Z", None)), now);
        assert_eq!(late, PressState::Untimed { pod: "critical-prod-2".into() });
    }

    #[test]
    fn a_heal_goes_to_the_latest_unhealed_press_of_that_pod_by_a_visitor() {
        let lead = |name: &str, visitor_press: Option<VisitorPress>| {
            let mut lead: Lead = serde_json::from_value(serde_json::json!({
                "apiVersion": "conferenceli.dev/v1alpha1", "kind": "Lead", "metadata": {"name": name},
                "spec": {"name": name, "email": "x@example.org", "consent": true, "code": "ABC", "submittedAt": "2026-11-29T15:00:00Z"}
            }))
            .unwrap();
            lead.status = Some(crate::leads::crd::LeadStatus { visitor_press, ..Default::default() });
            std::sync::Arc::new(lead)
        };
        let leads = vec![
            lead("ada", Some(press("critical-prod-2", "2026-11-29T15:00:00Z", Some(3_000)))),
            lead("bob", Some(press("critical-prod-2", "2026-11-29T15:01:00Z", None))),
            lead("cyd", Some(press("critical-prod-2", "2026-11-29T15:02:00Z", None))),
            lead("dee", Some(press("critical-prod-4", "2026-11-29T15:03:00Z", None))),
            lead("eve", None),
        ];
        let heal = |name: &str, by: Presser| Heal { name: name.into(), seconds: 2.5, by };
        let visitor = Presser::Visitor { first_name: "Cyd".into() };
        let found = healed_lead(&leads, &heal("critical-prod-2", visitor.clone())).map(|l| l.name_any());
        assert_eq!(found.as_deref(), Some("cyd"));
        assert_eq!(
            healed_lead(&leads, &heal("critical-prod-2", Presser::Button)).map(|l| l.name_any()),
            None,
            "the button's kill"
        );
        assert_eq!(healed_lead(&leads, &heal("critical-prod-9", visitor)).map(|l| l.name_any()), None);
    }
}
