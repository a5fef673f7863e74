//! The visitor's journey beyond the bare form: the booth's branding on the visitors' pages
//! ([`branding`], [`logo`]), the pages in the visitor's language (`i18n`), the raffle draw
//! ([`raffle`]) and the one-time press of the chaos button a sign-up earns ([`press`]), with the
//! kiosk's announcements of both ([`announce`]).
//!
//! The HTTP side is in `web::public` (the form and thank-you page), `web::public::visitor` (the
//! press, the logo and the accent stylesheet on the public listener) and `web::raffle` (the draw
//! on the private listener). Draws and presses are recorded in the Lead's status, so a restart
//! neither draws a winner twice nor lets a token be used again.
//!
//! May call: `crate::booth` (the settings), `crate::leads` (the Lead resource), `crate::chaos`
//! (the button a visitor presses), `crate::cluster` (who pressed it), `crate::availability`
//! (how long Kubernetes took to heal the pod a visitor's press took), `crate::tasks` (where
//! the heals are recorded).

pub mod announce;
pub mod branding;
pub(crate) mod i18n;
pub mod logo;
pub mod press;
pub mod raffle;

use crate::booth::BoothHandle;
use crate::tasks::Tasks;
use clap::Args;
use std::sync::Arc;

/// Settings of the visitors' pages.
#[derive(Debug, Clone, Args)]
pub struct VisitorArgs {
    /// Largest logo (SVG or PNG) `/config` accepts, in bytes; it is stored in the Booth and sent
    /// with the form's first page, which stays under 30 KB with a logo of this default size.
    #[arg(long, env = "LOGO_MAX_BYTES", default_value_t = 12 * 1024, value_parser = clap::value_parser!(u64).range(1024..=256 * 1024))]
    pub logo_max_bytes: u64,
}

/// What the visitor features share on both listeners. Cheap to clone.
#[derive(Clone)]
pub struct Visitor {
    pub raffle: Arc<raffle::Raffle>,
    pub presses: Arc<press::Presses>,
    pub announcements: announce::Announcements,
    pub logo_max_bytes: usize,
}

impl Visitor {
    /// The visitor features on the Leads of `leads`; each visitor's heal is recorded in their
    /// Lead as `availability`'s heal timer reports it, until the token of `tasks` fires.
    pub(crate) fn start(
        leads: &crate::leads::Leads,
        booth: BoothHandle,
        args: &VisitorArgs,
        availability: &crate::availability::Availability,
        tasks: &Tasks,
    ) -> Self {
        let api = leads.store.api().clone();
        let heals =
            press::record_heals(availability.subscribe(), api.clone(), leads.stored.clone(), tasks.token().clone());
        tasks.spawn("visitor heal recorder", heals);
        let announcements = announce::Announcements::new();
        Self {
            raffle: Arc::new(raffle::Raffle::new(api.clone(), booth.clone())),
            presses: Arc::new(press::Presses::new(api, booth)),
            announcements,
            logo_max_bytes: usize::try_from(args.logo_max_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// The first name of a full name: what the kiosk shows of a visitor, never more.
pub fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or("").chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_name_is_kept() {
        assert_eq!(super::first_name("  Ada   King Lovelace "), "Ada");
        assert_eq!(super::first_name(""), "");
    }
}
