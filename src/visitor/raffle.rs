//! The raffle draw: one winner at a time among the leads of the Booth's current campaign that
//! consented and have not been drawn yet. Each draw is written into the winner's Lead status
//! (`status.raffle`) with an optimistic-concurrency check before it is announced, so a restart,
//! a second replica or two staff pressing "draw" at once never pick the same person twice.
//!
//! May call: `crate::booth`, `crate::cluster` (the status patch, the time), `crate::leads`.

use super::announce::{Announcement, AnnouncementKind, Announcements};
use crate::booth::BoothHandle;
use crate::cluster::resource::{StatusPatch, Version, now};
use crate::leads::crd::{Lead, RaffleDraw};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use rand::seq::IndexedRandom;
use serde::Serialize;

/// Conflicting writes (the lead controller, the print queue) a draw tolerates before giving up.
const ATTEMPTS: usize = 8;

/// A drawn lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Winner {
    /// The full name as entered (staff call the winner; the kiosk shows the first name only).
    pub name: String,
    pub code: String,
    #[serde(skip)]
    pub lead: String,
    #[serde(skip)]
    pub(crate) drawn_at: jiff::Timestamp,
    #[serde(skip)]
    pub number: u32,
}

/// Why no winner was drawn.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("No lead of campaign {0:?} consented to take part in the raffle")]
    NobodySignedUp(String),
    #[error("Everybody of campaign {campaign:?} has been drawn already ({drawn} draws)")]
    EverybodyDrawn { campaign: String, drawn: usize },
    #[error("The leads could not be read or written: {0}")]
    Api(#[source] kube::Error),
    #[error("The leads kept changing; try again")]
    KeptChanging,
}

/// Draws winners; one draw at a time per process.
pub struct Raffle {
    api: Api<Lead>,
    booth: BoothHandle,
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// Whether a lead takes part in the campaign's draw (drawn or not).
fn takes_part(lead: &Lead, campaign: &str) -> bool {
    lead.spec.campaign == campaign && lead.spec.consent && lead.metadata.deletion_timestamp.is_none()
}

fn drawn(lead: &Lead) -> Option<&RaffleDraw> {
    lead.status.as_ref().and_then(|s| s.raffle.as_ref())
}

/// The leads that may still win, in name order (so a seeded pick is reproducible).
pub(crate) fn eligible<'a>(leads: &'a [Lead], campaign: &str) -> Vec<&'a Lead> {
    let mut eligible: Vec<&Lead> = leads.iter().filter(|l| takes_part(l, campaign) && drawn(l).is_none()).collect();
    eligible.sort_by_key(|l| l.name_any());
    eligible
}

/// The campaign's past winners, first draw first.
pub(crate) fn past_winners(leads: &[Lead], campaign: &str) -> Vec<Winner> {
    let mut winners: Vec<Winner> = leads
        .iter()
        .filter(|l| l.spec.campaign == campaign)
        .filter_map(|l| {
            let draw = drawn(l)?;
            Some(Winner {
                name: l.spec.name.clone(),
                code: l.spec.code.clone(),
                lead: l.name_any(),
                drawn_at: draw.drawn_at,
                number: draw.number,
            })
        })
        .collect();
    winners.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.drawn_at.cmp(&b.drawn_at)));
    winners
}

/// The status of a draw, for the merge patch that records it, conditional on the lead's
/// `resourceVersion`; built from the status types so the field names are the CRD's.
#[derive(Debug, Serialize)]
struct DrawStatus {
    raffle: RaffleDraw,
}

impl Raffle {
    pub fn new(api: Api<Lead>, booth: BoothHandle) -> Self {
        Self { api, booth, one_at_a_time: tokio::sync::Mutex::new(()) }
    }

    /// Every lead (the API, not a cache: after a restart the truth is there).
    async fn leads(&self) -> Result<Vec<Lead>, DrawError> {
        Ok(self.api.list(&ListParams::default()).await.map_err(DrawError::Api)?.items)
    }

    /// The current campaign's past winners.
    pub async fn winners(&self) -> Result<Vec<Winner>, DrawError> {
        Ok(past_winners(&self.leads().await?, &self.booth.spec().campaign_name))
    }

    /// Draws, records and announces one winner.
    pub async fn draw(&self, announcements: &Announcements) -> Result<Winner, DrawError> {
        let _one = self.one_at_a_time.lock().await;
        let campaign = self.booth.spec().campaign_name;
        for _ in 0..ATTEMPTS {
            let leads = self.leads().await?;
            let candidates = eligible(&leads, &campaign);
            let Some(lead) = candidates.choose(&mut rand::rng()) else {
                let drawn = leads.iter().filter(|l| takes_part(l, &campaign) && drawn(l).is_some()).count();
                return Err(if drawn == 0 {
                    DrawError::NobodySignedUp(campaign)
                } else {
                    DrawError::EverybodyDrawn { campaign, drawn }
                });
            };
            let number = past_winners(&leads, &campaign).iter().map(|w| w.number).max().unwrap_or(0) + 1;
            let draw = RaffleDraw { drawn_at: now(), number };
            let version = lead.resource_version().unwrap_or_default();
            let patch = StatusPatch {
                metadata: Some(Version { resource_version: &version }),
                status: DrawStatus { raffle: draw.clone() },
            };
            let name = lead.name_any();
            match self.api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    let winner = Winner {
                        name: lead.spec.name.clone(),
                        code: lead.spec.code.clone(),
                        lead: name,
                        drawn_at: draw.drawn_at,
                        number,
                    };
                    tracing::info!(lead = winner.lead, number, "raffle: winner drawn");
                    announcements.announce(Announcement {
                        kind: AnnouncementKind::RaffleWinner,
                        first_name: super::first_name(&winner.name),
                        code: Some(winner.code.clone()),
                    });
                    return Ok(winner);
                }
                // Changed since we read it (or gone): read again and draw again.
                Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => continue,
                Err(error) => return Err(DrawError::Api(error)),
            }
        }
        Err(DrawError::KeptChanging)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::crd::{LeadSpec, LeadStatus};

    fn lead(name: &str, campaign: &str, consent: bool, drawn: Option<u32>) -> Lead {
        let mut lead = Lead::new(
            name,
            LeadSpec {
                name: format!("{name} Person"),
                email: format!("{name}@example.org"),
                company: String::new(),
                job_position: String::new(),
                phone: String::new(),
                country: None,
                notes: String::new(),
                consent,
                campaign: campaign.into(),
                code: format!("CODE-{name}"),
                labels: Vec::new(),
                submitted_at: "2026-11-29T10:00:00Z".parse().unwrap(),
                press_token_sha256: None,
            },
        );
        lead.status = drawn.map(|number| LeadStatus {
            raffle: Some(RaffleDraw { drawn_at: format!("2026-11-29T1{number}:00:00Z").parse().unwrap(), number }),
            ..LeadStatus::default()
        });
        lead
    }

    #[test]
    fn only_consenting_undrawn_leads_of_the_campaign_take_part() {
        let leads = vec![
            lead("a", "KubeCon", true, None),
            lead("b", "KubeCon", false, None),
            lead("c", "DevOpsDays", true, None),
            lead("d", "KubeCon", true, Some(1)),
            lead("e", "KubeCon", true, None),
        ];
        let names: Vec<String> = eligible(&leads, "KubeCon").iter().map(|l| l.name_any()).collect();
        assert_eq!(names, ["a", "e"]);
        let winners = past_winners(&leads, "KubeCon");
        assert_eq!(winners.len(), 1);
        assert_eq!((winners[0].name.as_str(), winners[0].code.as_str()), ("d Person", "CODE-d"));
        assert!(past_winners(&leads, "DevOpsDays").is_empty());
    }

    #[test]
    fn the_draw_patch_is_conditional_and_names_the_crd_fields() {
        let patch = StatusPatch {
            metadata: Some(Version { resource_version: "42" }),
            status: DrawStatus { raffle: RaffleDraw { drawn_at: "2026-11-29T17:00:00Z".parse().unwrap(), number: 3 } },
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"metadata": {"resourceVersion": "42"}, "status": {"raffle": {"drawnAt": "2026-11-29T17:00:00Z", "number": 3}}})
        );
        let winner = Winner {
            name: "Ada Lovelace".into(),
            code: "BAKO".into(),
            lead: "lead-1".into(),
            drawn_at: jiff::Timestamp::UNIX_EPOCH,
            number: 1,
        };
        assert_eq!(serde_json::to_value(&winner).unwrap(), serde_json::json!({"name": "Ada Lovelace", "code": "BAKO"}));
    }
}
