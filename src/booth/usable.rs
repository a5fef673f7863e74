//! The Booth's spec as the booth can use it. The API server refuses what the CRD schema can
//! say (types, patterns, enums); what it cannot (a time zone the database does not know, a booth
//! that closes before it opens, or anything in a Booth written under an older schema) is refused
//! here, one value at a time, when the Booth is read: the refused value is replaced by the one
//! the booth ran on before (its default at first), the rest of the spec applies, and each
//! refusal says where, why and what the booth keeps. Reading a Booth therefore never fails, so
//! a bad value written with kubectl never stops the watch.
//!
//! May call: `crate::cluster`.

use super::BoothSpec;
use crate::cluster::resource::merge_diff;
use serde_json::Value;
use serde_path_to_error::Segment;
use std::borrow::Cow;
use std::fmt;

/// A spec has fewer values than this, so reading it takes fewer rounds (one per refusal).
const MAX_ROUNDS: usize = 64;

/// A value of the Booth's spec that the booth refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Where the value is, as serde found it (`spec.attract.timeZone`, `spec.attract.weekdays[2]`).
    at: String,
    /// Why it is refused.
    why: String,
    /// The keys down to what is replaced: the value itself, or the whole list it is in.
    keys: Vec<String>,
    /// What the booth keeps in its place, as the spec writes it (`None`: the default).
    kept: Option<Value>,
}

impl Refusal {
    /// Where the refused value is (`spec.attract.timeZone`).
    pub(crate) fn at(&self) -> &str {
        &self.at
    }
}

impl fmt::Display for Refusal {
    /// `spec.attract.timeZone: unknown time zone "Mars/Base": use an IANA name such as
    /// Europe/Zurich or UTC (the booth keeps "Europe/Zurich")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (the booth keeps ", self.at, self.why)?;
        match &self.kept {
            Some(value @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Array(_))) => {
                write!(f, "{value})")
            }
            Some(_) => f.write_str("its previous settings)"),
            None => f.write_str("the default)"),
        }
    }
}

/// The value under `keys`, if any.
fn pointer<'a>(value: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |value, key| value.get(key))
}

/// Sets (or, with `None`, removes) the value under `keys`, making objects on the way; false
/// when something that is not an object is in the way.
fn put(value: &mut Value, keys: &[String], new: Option<Value>) -> bool {
    let Some((last, parents)) = keys.split_last() else { return false };
    let mut object = value;
    for key in parents {
        let Some(map) = object.as_object_mut() else { return false };
        object = map.entry(key.clone()).or_insert_with(|| Value::Object(Default::default()));
    }
    let Some(map) = object.as_object_mut() else { return false };
    match new {
        Some(new) => map.insert(last.clone(), new),
        None => map.remove(last),
    };
    true
}

/// The spec the booth runs on given the `stored` one, and what it refused of it. Each round
/// reads the spec; a refused value is replaced by the one of `last_good` (or removed, for its
/// default) and the spec read again.
pub(crate) fn usable_spec(stored: &Value, last_good: &BoothSpec) -> (BoothSpec, Vec<Refusal>) {
    // A good spec, the common case, is read once and nothing is copied.
    let mut spec = Cow::Borrowed(stored);
    let mut fallback = None;
    let mut refusals = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let error = match serde_path_to_error::deserialize::<_, BoothSpec>(spec.as_ref()) {
            Ok(usable) => return (usable, refusals),
            Err(error) => error,
        };
        // It cannot fail (a spec has no map with other keys than strings); without it, refused
        // values would be removed and take their defaults.
        let fallback = fallback.get_or_insert_with(|| serde_json::to_value(last_good).unwrap_or(Value::Null));
        // Down to the value, or to the list holding it: a list is kept or replaced whole.
        let keys: Vec<String> = error
            .path()
            .iter()
            .map_while(|segment| match segment {
                Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let kept = pointer(fallback, &keys).cloned();
        let replaced = put(spec.to_mut(), &keys, kept.clone());
        let at = if error.path().iter().next().is_none() { "spec".into() } else { format!("spec.{}", error.path()) };
        refusals.push(Refusal { at, why: error.inner().to_string(), keys, kept });
        if !replaced {
            break;
        }
    }
    // Not an object at all: nothing of it is usable.
    (last_good.clone(), refusals)
}

/// The merge patch of the spec that turns `running` into `changed`: what changed and, for each
/// of `refused`, the changed value in its place (so that the refused value is overwritten even
/// where the change kept what the booth runs on).
pub(crate) fn spec_patch(
    running: &BoothSpec,
    changed: &BoothSpec,
    refused: &[Refusal],
) -> Result<Value, serde_json::Error> {
    let changed = serde_json::to_value(changed)?;
    let mut patch = merge_diff(&serde_json::to_value(running)?, &changed);
    for refusal in refused {
        if refusal.keys.is_empty() {
            return Ok(changed);
        }
        let value = pointer(&changed, &refusal.keys).cloned().unwrap_or(Value::Null);
        put(&mut patch, &refusal.keys, Some(value));
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booth::{TimeOfDay, Weekday};
    use serde_json::json;

    fn good() -> BoothSpec {
        let mut spec = BoothSpec { campaign_name: "KubeCon".into(), ..BoothSpec::default() };
        spec.attract.time_zone = "Europe/Zurich".parse().unwrap();
        spec.attract.weekdays = vec![Weekday::Mon, Weekday::Fri];
        spec
    }

    /// The good spec as stored, with `change` made to its JSON.
    fn stored(change: impl FnOnce(&mut Value)) -> Value {
        let mut spec = serde_json::to_value(good()).unwrap();
        change(&mut spec);
        spec
    }

    fn lines(refusals: &[Refusal]) -> Vec<String> {
        refusals.iter().map(Refusal::to_string).collect()
    }

    #[test]
    fn a_good_spec_is_used_as_it_is() {
        let spec = stored(|s| s["campaignName"] = json!("DevOpsDays"));
        let (usable, refusals) = usable_spec(&spec, &good());
        assert!(refusals.is_empty());
        assert_eq!(usable.campaign_name, "DevOpsDays");
    }

    #[test]
    fn a_refused_value_keeps_the_last_good_one_and_the_rest_applies() {
        let spec = stored(|s| {
            s["attract"]["timeZone"] = json!("Mars/Base");
            s["campaignName"] = json!("DevOpsDays");
        });
        let (usable, refusals) = usable_spec(&spec, &good());
        assert_eq!(
            lines(&refusals),
            ["spec.attract.timeZone: unknown time zone \"Mars/Base\": use an IANA name such as Europe/Zurich or UTC \
              (the booth keeps \"Europe/Zurich\")"]
        );
        assert_eq!(usable.attract.time_zone.to_string(), "Europe/Zurich");
        assert_eq!(usable.campaign_name, "DevOpsDays");
        // Several at once, each named; without a last good value, the default.
        let spec = stored(|s| {
            s["attract"]["opens"] = json!("25:00");
            s["attract"]["weekdays"] = json!(["mon", "funday"]);
            s["branding"]["accentColor"] = json!("red");
            s["nightMode"] = json!("yes");
        });
        let (usable, refusals) = usable_spec(&spec, &good());
        let mut lines = lines(&refusals);
        lines.sort();
        assert_eq!(
            lines,
            [
                "spec.attract.opens: \"25:00\" is not a time of day HH:MM from 00:00 to 24:00 \
                 (the booth keeps \"09:00\")",
                "spec.attract.weekdays[1]: \"funday\" is not a weekday: mon, tue, wed, thu, fri, sat or sun \
                 (the booth keeps [\"mon\",\"fri\"])",
                "spec.branding.accentColor: \"red\" is not a colour written #rrggbb (the booth keeps \"\")",
                "spec.nightMode: invalid type: string \"yes\", expected a boolean (the booth keeps false)",
            ]
        );
        assert_eq!(usable, good());
        let mut no_accent = serde_json::to_value(good()).unwrap();
        no_accent["branding"].as_object_mut().unwrap().remove("accentColor");
        let (_, refusals) = usable_spec(&stored(|s| s["branding"]["accentColor"] = json!("red")), &{
            serde_json::from_value(no_accent).unwrap()
        });
        assert!(refusals[0].to_string().ends_with("(the booth keeps \"\")"), "{}", refusals[0]);
    }

    #[test]
    fn hours_that_end_before_they_begin_keep_the_last_good_attract_settings() {
        let spec = stored(|s| {
            s["attract"]["opens"] = json!("18:00");
            s["attract"]["closes"] = json!("09:00");
            s["attract"]["enabled"] = json!(true);
        });
        let (usable, refusals) = usable_spec(&spec, &good());
        assert_eq!(
            lines(&refusals),
            ["spec.attract: the booth must close after it opens (on the same day), not open from 18:00 to 09:00 \
              (the booth keeps its previous settings)"]
        );
        assert_eq!(usable.attract, good().attract);
        assert_eq!(
            (usable.attract.opens, usable.attract.closes),
            (TimeOfDay::new(9, 0).unwrap(), TimeOfDay::new(18, 0).unwrap())
        );
    }

    #[test]
    fn a_spec_that_is_no_object_keeps_everything() {
        let (usable, refusals) = usable_spec(&json!("nonsense"), &good());
        assert_eq!(usable, good());
        assert_eq!(refusals.len(), 1);
        assert!(refusals[0].to_string().starts_with("spec: invalid type"), "{}", refusals[0]);
    }

    #[test]
    fn a_change_writes_what_changed_and_replaces_what_was_refused() {
        let running = good();
        let mut changed = running.clone();
        changed.night_mode = true;
        assert_eq!(spec_patch(&running, &changed, &[]).unwrap(), json!({"nightMode": true}));
        // The refused time zone is overwritten with the one in use, unchanged as it is.
        let (_, refused) = usable_spec(&stored(|s| s["attract"]["timeZone"] = json!("Mars/Base")), &running);
        assert_eq!(
            spec_patch(&running, &changed, &refused).unwrap(),
            json!({"nightMode": true, "attract": {"timeZone": "Europe/Zurich"}})
        );
        let (_, refused) = usable_spec(&stored(|s| s["attract"]["weekdays"] = json!(["funday"])), &running);
        assert_eq!(spec_patch(&running, &running, &refused).unwrap(), json!({"attract": {"weekdays": ["mon", "fri"]}}));
        let (_, refused) = usable_spec(&json!(7), &running);
        assert_eq!(spec_patch(&running, &changed, &refused).unwrap(), serde_json::to_value(&changed).unwrap());
        // A logo taken away is a null, the merge patch's removal.
        let mut with_logo = running.clone();
        with_logo.branding.logo =
            Some(crate::booth::Logo { content_type: "image/png".into(), data: "iVBORw0KGgo=".into() });
        assert_eq!(spec_patch(&with_logo, &running, &[]).unwrap(), json!({"branding": {"logo": null}}));
    }
}
