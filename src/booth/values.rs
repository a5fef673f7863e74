//! The types of the Booth's setting values. Each reads and writes the text the CRD has always
//! had (`09:00`, `mon`, `Europe/Zurich`, `#1b5e8c`, `servala`), refuses anything else with an
//! error that says why, and describes itself in the CRD schema (a pattern, an enum), so that the
//! API server refuses the obvious mistakes at write time and the rest is refused when read
//! (see `super::usable`).
//!
//! Time zones come from the system's tz database (`/usr/share/zoneinfo`, kept current by the
//! OS) and, where there is none, from the copy of the IANA database jiff bundles into the binary
//! (its `tzdb-bundle-always` feature, about 230 KB): a Pi image or a container without tzdata
//! still knows `Europe/Zurich`, so a zone is never refused only for the machine it runs on.
//!
//! May call: nothing else of the crate.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Makes each type a text of the CRD: serialised as its `Display`, read through its `FromStr`
/// (whose error becomes the deserialisation error, the message kubectl users see), and described
/// in the CRD schema as a string with the given keywords (a pattern, an enum, a length).
macro_rules! as_text {
    ($($type:ident: $keywords:expr;)+) => {$(
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                stringify!($type).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                text_schema($keywords)
            }
        }
    )+};
}

as_text! {
    TimeOfDay: json!({"pattern": TimeOfDay::PATTERN});
    Weekday: json!({"enum": Weekday::ALL.map(Weekday::name)});
    // The shape of a zone name; whether the database has it is checked when the Booth is read.
    TimeZoneName: json!({"maxLength": TimeZoneName::MAX_LENGTH, "pattern": "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"});
    Colour: json!({"pattern": format!("^{COLOUR_PATTERN}$")});
    VoucherType: json!({"enum": VoucherType::ALL.map(VoucherType::name)});
    ShowPace: json!({"enum": ShowPace::ALL.map(ShowPace::name)});
    ChaosMode: json!({"enum": ChaosMode::ALL.map(ChaosMode::name)});
}

/// A setting whose values are names (`mon`, `servala`): the enum, `ALL` its values in order,
/// `name`, `Display`, and `FromStr` refusing anything else with `$refused` (a format string of
/// `text`, what was written).
macro_rules! named {
    ($(#[$meta:meta])* $visibility:vis enum $type:ident ($refused:literal) {
        $($(#[$variant_meta:meta])* $variant:ident = $name:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $visibility enum $type {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $type {
            /// Every value, in order.
            pub(crate) const ALL: [$type; [$($name),+].len()] = [$($type::$variant),+];

            /// The value as the CRD, the form and the environment write it.
            pub fn name(self) -> &'static str {
                match self {
                    $($type::$variant => $name,)+
                }
            }
        }

        impl FromStr for $type {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $type::ALL.into_iter().find(|value| value.name() == text).ok_or_else(|| format!($refused, text = text))
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

/// An error as a form shows it: a sentence (`unknown time zone …` → `Unknown time zone ….`).
pub(crate) fn sentence(error: &impl fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

/// A string schema with `keywords` (a pattern, an enum, a length).
fn text_schema(keywords: serde_json::Value) -> Schema {
    let mut schema = json_schema!({"type": "string"});
    if let (Some(schema), serde_json::Value::Object(keywords)) = (schema.as_object_mut(), keywords) {
        schema.extend(keywords);
    }
    schema
}

/// A time of day to the minute, `HH:MM` from `00:00` to `24:00` (the end of the day, for a
/// booth that closes at midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// `24:00`.
    pub(crate) const END_OF_DAY: TimeOfDay = TimeOfDay(24 * 60);
    /// `HH:MM` up to `24:00`, in the CRD schema.
    const PATTERN: &str = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

    /// `hours:minutes`, `None` past `24:00`.
    pub const fn new(hours: u16, minutes: u16) -> Option<Self> {
        if minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0)) {
            Some(TimeOfDay(hours * 60 + minutes))
        } else {
            None
        }
    }

    /// `hours:00`, `24:00` at the latest.
    pub(crate) const fn on_the_hour(hours: u16) -> Self {
        if hours < 24 { TimeOfDay(hours * 60) } else { TimeOfDay::END_OF_DAY }
    }

    /// The minute of the day a clock shows (seconds dropped).
    pub(crate) fn of(time: jiff::civil::Time) -> Self {
        TimeOfDay(u16::from(time.hour() as u8) * 60 + u16::from(time.minute() as u8))
    }
}

impl FromStr for TimeOfDay {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refused = || format!("{text:?} is not a time of day HH:MM from 00:00 to 24:00");
        let (hours, minutes) = text.split_once(':').ok_or_else(refused)?;
        let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(hours) || !digits(minutes) {
            return Err(refused());
        }
        let (hours, minutes) = (hours.parse().map_err(|_| refused())?, minutes.parse().map_err(|_| refused())?);
        TimeOfDay::new(hours, minutes).ok_or_else(refused)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

named! {
    /// A day of the week, as the settings write it: `mon` … `sun`.
    pub enum Weekday("{text:?} is not a weekday: mon, tue, wed, thu, fri, sat or sun") {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
}

impl Weekday {
    /// The day a calendar date falls on.
    pub(crate) fn of(day: jiff::civil::Weekday) -> Self {
        Weekday::ALL[usize::from(day.to_monday_zero_offset() as u8)]
    }
}

/// An IANA time zone the tz database knows (`Europe/Zurich`, `UTC`), kept with its name.
#[derive(Clone, Debug)]
pub struct TimeZoneName {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl TimeZoneName {
    /// The longest name accepted; the longest in the database has 32 characters.
    const MAX_LENGTH: usize = 64;

    pub(crate) fn utc() -> Self {
        TimeZoneName { name: "UTC".into(), zone: jiff::tz::TimeZone::UTC }
    }

    pub(crate) fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }
}

impl FromStr for TimeZoneName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || format!("unknown time zone {name:?}: use an IANA name such as Europe/Zurich or UTC");
        if name.is_empty() || name.len() > TimeZoneName::MAX_LENGTH {
            return Err(unknown());
        }
        let zone = jiff::tz::TimeZone::get(name).map_err(|_| unknown())?;
        Ok(TimeZoneName { name: name.to_string(), zone })
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A colour written `#rrggbb` (either case; written back in lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colour(pub [u8; 3]);

/// The pattern of a colour in the CRD schema.
const COLOUR_PATTERN: &str = "#[0-9a-fA-F]{6}";

impl FromStr for Colour {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refused = || format!("{text:?} is not a colour written #rrggbb");
        let hex = text.strip_prefix('#').ok_or_else(refused)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| refused());
        Ok(Colour([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// An optional colour as the CRD has always stored it: `""` when unset.
pub(crate) mod colour_or_empty {
    use super::{COLOUR_PATTERN, Colour};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    pub(crate) fn serialize<S: Serializer>(colour: &Option<Colour>, serializer: S) -> Result<S::Ok, S::Error> {
        match colour {
            Some(colour) => serializer.collect_str(colour),
            None => serializer.serialize_str(""),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Colour>, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        if text.is_empty() { Ok(None) } else { text.parse().map(Some).map_err(serde::de::Error::custom) }
    }

    pub(crate) fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        super::text_schema(serde_json::json!({"pattern": format!("^({COLOUR_PATTERN})?$")}))
    }
}

named! {
    /// Which voucher label the booth prints after a sign-up.
    #[derive(Default)]
    pub enum VoucherType("unknown voucher type {text:?}: choose none, appuio or servala") {
        #[default]
        None = "none",
        Appuio = "appuio",
        Servala = "servala",
    }
}

named! {
    /// How often the kiosk's theatre plays events of its own (`crate::theatre` and kiosk.js
    /// decide what each means); kill animations and what staff start play at any pace.
    #[derive(Default)]
    pub enum ShowPace("unknown show pace {text:?}: choose lively, calm or still") {
        /// About one ambient event a minute, now and then a cameo.
        #[default]
        Lively = "lively",
        /// About one ambient event in five minutes, no cameos: for a Pi with other work to do.
        Calm = "calm",
        /// None: the harbour's own slow motion only.
        Still = "still",
    }
}

named! {
    /// How the chaos button takes a pod away (`spec.chaosSafety.mode`).
    #[derive(Default)]
    pub enum ChaosMode("unknown chaos mode {text:?}: choose evict or delete") {
        /// A `policy/v1` Eviction, as `kubectl drain` does: refused (429) while the pod's
        /// PodDisruptionBudget allows no disruption.
        #[default]
        Evict = "evict",
        /// A plain delete, as the button did before evictions: disruption budgets do not apply.
        Delete = "delete",
    }
}

impl clap::ValueEnum for VoucherType {
    fn value_variants<'a>() -> &'a [Self] {
        &VoucherType::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every value reads back as it was written, and the text is the CRD's.
    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug>(value: T, text: &str) {
        assert_eq!(serde_json::to_value(&value).unwrap(), json!(text));
        assert_eq!(serde_json::from_value::<T>(json!(text)).unwrap(), value);
    }

    fn refused<T: for<'de> Deserialize<'de> + fmt::Debug>(text: &str) -> String {
        serde_json::from_value::<T>(json!(text)).unwrap_err().to_string()
    }

    /// Whether the CRD schema of `T` accepts `text` (the pattern a real API server checks).
    fn schema_accepts<T: JsonSchema>(text: &str) -> bool {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
        if let Some(allowed) = schema["enum"].as_array() {
            return allowed.contains(&json!(text));
        }
        let too_long = schema["maxLength"].as_u64().is_some_and(|max| text.len() as u64 > max);
        let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        !too_long && pattern.is_match(text)
    }

    #[test]
    fn times_of_day_are_hh_mm_up_to_midnight() {
        round_trip(TimeOfDay::new(9, 30).unwrap(), "09:30");
        round_trip(TimeOfDay::END_OF_DAY, "24:00");
        round_trip(TimeOfDay::new(0, 0).unwrap(), "00:00");
        assert_eq!(
            (TimeOfDay::on_the_hour(9).to_string(), TimeOfDay::on_the_hour(25)),
            ("09:00".into(), TimeOfDay::END_OF_DAY)
        );
        for bad in ["9:30", "24:01", "25:00", "12:60", "noon", "12-00", "", "+1:00", "١٢:٠٠"] {
            assert_eq!(refused::<TimeOfDay>(bad), format!("{bad:?} is not a time of day HH:MM from 00:00 to 24:00"));
            assert!(!schema_accepts::<TimeOfDay>(bad), "{bad}");
        }
        assert!(schema_accepts::<TimeOfDay>("23:59") && schema_accepts::<TimeOfDay>("24:00"));
        let quarter_past = jiff::civil::time(9, 15, 59, 0);
        assert_eq!(TimeOfDay::of(quarter_past), TimeOfDay::new(9, 15).unwrap());
        assert!(TimeOfDay::new(9, 0) < TimeOfDay::new(18, 0) && TimeOfDay::new(18, 0) < Some(TimeOfDay::END_OF_DAY));
    }

    #[test]
    fn weekdays_are_three_letters_and_follow_the_calendar() {
        for (day, name) in Weekday::ALL.into_iter().zip(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) {
            round_trip(day, name);
            assert!(schema_accepts::<Weekday>(name));
        }
        assert_eq!(Weekday::of(jiff::civil::date(2026, 11, 30).weekday()), Weekday::Mon);
        assert_eq!(Weekday::of(jiff::civil::Weekday::Sunday), Weekday::Sun);
        assert!(refused::<Weekday>("Monday").contains("is not a weekday"));
        assert!(!schema_accepts::<Weekday>("Monday"));
    }

    #[test]
    fn time_zones_are_the_databases() {
        round_trip("Europe/Zurich".parse::<TimeZoneName>().unwrap(), "Europe/Zurich");
        round_trip(TimeZoneName::utc(), "UTC");
        for name in ["America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Tokyo"] {
            let zone: TimeZoneName = name.parse().unwrap();
            assert!(schema_accepts::<TimeZoneName>(name), "{name}");
            assert_eq!(zone.to_string(), name);
        }
        // Known to the bundled copy whatever the machine has.
        let db = jiff::tz::TimeZoneDatabase::bundled();
        assert!(db.get("Europe/Zurich").is_ok() && db.get("Pacific/Auckland").is_ok());
        assert_eq!(
            refused::<TimeZoneName>("Mars/Base"),
            "unknown time zone \"Mars/Base\": use an IANA name such as Europe/Zurich or UTC"
        );
        assert!(schema_accepts::<TimeZoneName>("Mars/Base"), "only the database can tell");
        for bad in ["", "Europe Zurich", "../../etc/passwd", &"A".repeat(65)] {
            assert!(bad.parse::<TimeZoneName>().is_err() && !schema_accepts::<TimeZoneName>(bad), "{bad}");
        }
    }

    #[test]
    fn colours_are_written_in_lowercase_hex() {
        round_trip(Colour([0x1b, 0x5e, 0x8c]), "#1b5e8c");
        assert_eq!("#1B5E8C".parse::<Colour>().unwrap(), Colour([0x1b, 0x5e, 0x8c]));
        for bad in ["red", "#12345", "#1234567", "#gggggg", "1b5e8c", "#1b5e8c;x", ""] {
            assert_eq!(refused::<Colour>(bad), format!("{bad:?} is not a colour written #rrggbb"));
            assert!(!schema_accepts::<Colour>(bad), "{bad}");
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Accent(#[serde(with = "colour_or_empty")] Option<Colour>);
        round_trip(Accent(None), "");
        round_trip(Accent(Some(Colour([0xc8, 0x10, 0x2e]))), "#c8102e");
        assert!(refused::<Accent>("blue").contains("is not a colour"));
    }

    #[test]
    fn errors_become_sentences_on_forms() {
        assert_eq!(
            sentence(&"Mars/Olympus".parse::<TimeZoneName>().unwrap_err()),
            "Unknown time zone \"Mars/Olympus\": use an IANA name such as Europe/Zurich or UTC."
        );
        assert_eq!(sentence(&""), "");
    }

    #[test]
    fn voucher_types_keep_their_names_everywhere() {
        for (voucher, name) in VoucherType::ALL.into_iter().zip(["none", "appuio", "servala"]) {
            round_trip(voucher, name);
            assert!(schema_accepts::<VoucherType>(name));
            assert_eq!(clap::ValueEnum::from_str(name, false), Ok(voucher));
        }
        assert_eq!(refused::<VoucherType>("gold"), "unknown voucher type \"gold\": choose none, appuio or servala");
        assert!(!schema_accepts::<VoucherType>("gold"));
    }
}
