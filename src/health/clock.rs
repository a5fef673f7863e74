//! The Clock and hours group: this machine's clock against the API server's (the `Date` of its
//! answer to `GET /version`), and the booth hours of attract mode and their time zone as the
//! Booth holds them, checked by the same rules `/config` applies.
//!
//! May call: `crate::attract`, `crate::booth`.

use super::kubernetes::SharedApi;
use super::{Check, Context, Group, SharedBooth, spec_or_default};
use crate::attract::form::{AttractInput, validate};
use crate::booth::{Refusal, Weekday};

const GROUP: Group = Group::Clock;

/// A skew below this passes (the `Date` header has whole seconds).
const FINE_SECONDS: f64 = 5.0;
/// A skew above this fails: attract hours, lead times and TLS certificates go wrong.
const BAD_SECONDS: f64 = 60.0;

const CLOCK_HINT: &str = "sync the clock: sudo timedatectl set-ntp true (the Pi keeps time across a power cut only with \
                          an RTC battery)";

/// The local clock against the API server's.
pub(crate) async fn skew(_context: &Context, api: SharedApi) -> Vec<Check> {
    let name = "clock";
    let Ok(answer) = api.await else { return Vec::new() };
    let Some(date) = answer.date else {
        return vec![Check::warn(GROUP, name, "the API server sent no Date: skew unknown", CLOCK_HINT)];
    };
    // The server's clock read somewhere within the second `Date` names, while we waited.
    let midpoint = answer.sent.as_millisecond() + (answer.received.as_millisecond() - answer.sent.as_millisecond()) / 2;
    let skew = (date.as_millisecond() + 500 - midpoint) as f64 / 1000.0;
    let words = if skew > 0.0 { "behind" } else { "ahead of" };
    let message = format!("{:.0} s {words} the API server", skew.abs());
    vec![if skew.abs() < FINE_SECONDS {
        Check::ok(GROUP, name, format!("within {FINE_SECONDS:.0} s of the API server"))
    } else if skew.abs() <= BAD_SECONDS {
        Check::warn(GROUP, name, message, CLOCK_HINT)
    } else {
        Check::fail(GROUP, name, message, CLOCK_HINT)
    }]
}

pub(crate) async fn checks(context: &Context, api: SharedApi, booth: SharedBooth) -> Vec<Check> {
    let (mut checks, hours) = futures::join!(skew(context, api), hours(context, booth));
    checks.extend(hours);
    checks
}

const HOURS_HINT: &str = "fix the booth hours at /config (the Booth's spec.attract)";

/// The time zone and the booth hours.
async fn hours(context: &Context, booth: SharedBooth) -> Vec<Check> {
    let booth = booth.await;
    if let Err(unread) = &booth
        && !unread.not_found
    {
        // The Kubernetes group says why; a Booth not created yet gets the defaults.
        return vec![Check::warn(GROUP, "booth hours", "not checked: the Booth cannot be read", HOURS_HINT)];
    }
    let spec = spec_or_default(&booth, &context.settings);
    let refused: Vec<Refusal> = booth.map(|read| read.refused).unwrap_or_default();
    let refusal = |field: &str| refused.iter().find(|r| r.at().starts_with(field)).map(ToString::to_string);
    let attract = spec.attract.clone();
    let time_zone = match refusal("spec.attract.timeZone") {
        Some(refused) => Check::fail(
            GROUP,
            "time zone",
            refused,
            "set an IANA time zone such as Europe/Zurich at /config (the Booth's spec.attract.timeZone)",
        ),
        None => {
            let now = jiff::Timestamp::now().to_zoned(attract.time_zone.zone().clone());
            Check::ok(GROUP, "time zone", format!("{} (now {})", attract.time_zone, now.strftime("%a %H:%M")))
        }
    };
    if let Some(refused) =
        refused.iter().find(|r| r.at().starts_with("spec.attract") && !r.at().starts_with("spec.attract.timeZone"))
    {
        return vec![time_zone, Check::fail(GROUP, "booth hours", refused.to_string(), HOURS_HINT)];
    }
    let hours = match validate(&AttractInput::from_settings(&attract, &spec.chaos_safety)) {
        Ok((settings, _)) => {
            let open = if crate::attract::in_booth_hours(&settings, jiff::Timestamp::now()) {
                "open now"
            } else {
                "closed now"
            };
            let mode = if settings.enabled { "attract mode on" } else { "attract mode off" };
            Check::ok(
                GROUP,
                "booth hours",
                format!("{}–{} on {} ({open}, {mode})", settings.opens, settings.closes, weekdays(&settings.weekdays)),
            )
        }
        Err(errors) => Check::fail(GROUP, "booth hours", errors.join(" "), HOURS_HINT),
    };
    vec![time_zone, hours]
}

/// `mon tue wed`, as the Booth spells them.
fn weekdays(days: &[Weekday]) -> String {
    days.iter().map(|day| day.name()).collect::<Vec<_>>().join(" ")
}
