//! Validation of the contact form: pure functions from what the browser sent to either a clean
//! submission or one message per faulty field (shown next to that field, with the input kept).
//!
//! Field names are the original form's (`name`, `email`, `company`, `job_position`, `phone`,
//! `country`, `notes`, `consent`), so existing links and scripts keep working.
//!
//! May call: nothing else of the crate.

use super::countries::{Country, CountryCache};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Longest accepted value of each field, in characters.
pub(crate) const MAX_NAME: usize = 100;
pub(crate) const MAX_EMAIL: usize = 254;
pub(crate) const MAX_COMPANY: usize = 100;
pub(crate) const MAX_JOB_POSITION: usize = 100;
pub(crate) const MAX_PHONE: usize = 30;
pub(crate) const MAX_NOTES: usize = 2000;

/// What the browser sent, as text (missing fields are empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FormInput {
    pub name: String,
    pub email: String,
    pub company: String,
    pub job_position: String,
    pub phone: String,
    pub country: String,
    pub notes: String,
    pub consent: String,
    pub csrf_token: String,
}

/// A submission that passed every rule, trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub name: String,
    pub email: String,
    pub company: String,
    pub job_position: String,
    pub phone: String,
    pub country: Option<Country>,
    pub notes: String,
}

/// What is wrong with a field (the visitors' pages show it in the visitor's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    Required,
    /// Longer than this many characters.
    TooLong(usize),
    NotAllowed,
    Email,
    Phone,
    Country,
    Consent,
}

impl FieldError {
    /// The English message.
    pub fn english(self) -> String {
        match self {
            FieldError::Required => "This field is required.".into(),
            FieldError::TooLong(max) => format!("Please keep this under {max} characters."),
            FieldError::NotAllowed => "This field contains characters that are not allowed.".into(),
            FieldError::Email => "Please enter a valid e-mail address, like name@example.com.".into(),
            FieldError::Phone => "Please enter a phone number of digits, spaces and + ( ) - . / only.".into(),
            FieldError::Country => "Please choose a country from the list.".into(),
            FieldError::Consent => "Please agree so that we may contact you.".into(),
        }
    }
}

/// One problem per faulty field, keyed by the field name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(BTreeMap<&'static str, (FieldError, String)>);

impl FieldErrors {
    /// The English message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(|(_, message)| message.as_str())
    }

    /// What is wrong with `field`.
    pub fn kind(&self, field: &str) -> Option<FieldError> {
        self.0.get(field).map(|(kind, _)| *kind)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(any(test, feature = "test-support"))]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn add(&mut self, field: &'static str, error: FieldError) {
        self.0.entry(field).or_insert_with(|| (error, error.english()));
    }
}

/// Checks every field; all problems are reported at once.
pub fn validate(input: &FormInput, countries: &CountryCache) -> Result<Submission, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = single_line(&mut errors, "name", &input.name, MAX_NAME, true);
    let email = single_line(&mut errors, "email", &input.email, MAX_EMAIL, true);
    if !email.is_empty() && errors.get("email").is_none() && !is_valid_email(&email) {
        errors.add("email", FieldError::Email);
    }
    let company = single_line(&mut errors, "company", &input.company, MAX_COMPANY, false);
    let job_position = single_line(&mut errors, "job_position", &input.job_position, MAX_JOB_POSITION, false);
    let phone = single_line(&mut errors, "phone", &input.phone, MAX_PHONE, false);
    if !phone.is_empty() && errors.get("phone").is_none() && !is_valid_phone(&phone) {
        errors.add("phone", FieldError::Phone);
    }
    let country = match input.country.trim() {
        "" => None,
        value => {
            let found = countries.find(value);
            if found.is_none() {
                errors.add("country", FieldError::Country);
            }
            found
        }
    };
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > MAX_NOTES {
        errors.add("notes", FieldError::TooLong(MAX_NOTES));
    } else if notes.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.add("notes", FieldError::NotAllowed);
    }
    if !matches!(input.consent.as_str(), "on" | "yes" | "true" | "1") {
        errors.add("consent", FieldError::Consent);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Submission { name, email, company, job_position, phone, country, notes })
}

/// A trimmed one-line value: required when asked, at most `max` characters, no control
/// characters (a newline in a name would break CSV exports and e-mail headers downstream).
fn single_line(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize, required: bool) -> String {
    let value = value.trim().to_string();
    if required && value.is_empty() {
        errors.add(field, FieldError::Required);
    } else if value.chars().count() > max {
        errors.add(field, FieldError::TooLong(max));
    } else if value.chars().any(char::is_control) {
        errors.add(field, FieldError::NotAllowed);
    }
    value
}

/// A practical e-mail check (the address is confirmed by the human at the booth, not by us):
/// one `@`, a local part of 1 to 64 allowed characters without leading, trailing or doubled dots,
/// and a domain of at least two dot-separated labels of letters, digits and inner hyphens whose
/// last label has two or more letters. Non-ASCII letters are allowed (internationalised
/// addresses).
pub(crate) fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

/// Digits, spaces and `+ ( ) - . /`, with at least five digits.
pub(crate) fn is_valid_phone(phone: &str) -> bool {
    phone.chars().all(|c| c.is_ascii_digit() || " +()-./".contains(c))
        && phone.chars().filter(char::is_ascii_digit).count() >= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_input() -> FormInput {
        FormInput {
            name: " Ada Lovelace ".into(),
            email: "ada@example.org".into(),
            company: "Analytical Engines".into(),
            job_position: "Programmer".into(),
            phone: "+41 44 123 45 67".into(),
            country: "CH".into(),
            notes: "Tell me about\nKubernetes.".into(),
            consent: "on".into(),
            csrf_token: String::new(),
        }
    }

    fn errors_for(change: impl FnOnce(&mut FormInput)) -> FieldErrors {
        let mut input = valid_input();
        change(&mut input);
        validate(&input, &CountryCache::new()).expect_err("should be refused")
    }

    #[test]
    fn a_complete_submission_is_trimmed_and_accepted() {
        let submission = validate(&valid_input(), &CountryCache::new()).unwrap();
        assert_eq!(submission.name, "Ada Lovelace");
        assert_eq!(submission.country.unwrap().name, "Switzerland");
        let minimal = FormInput {
            name: "Bob".into(),
            email: "bob@example.com".into(),
            consent: "on".into(),
            ..FormInput::default()
        };
        let submission = validate(&minimal, &CountryCache::new()).unwrap();
        assert_eq!(submission.country, None);
        assert_eq!(submission.company, "");
    }

    #[test]
    fn required_fields_and_consent() {
        let errors = validate(&FormInput::default(), &CountryCache::new()).unwrap_err();
        assert_eq!(errors.get("name"), Some("This field is required."));
        assert_eq!(errors.get("email"), Some("This field is required."));
        assert!(errors.get("consent").is_some());
        assert_eq!(errors.len(), 3);
        assert!(errors_for(|i| i.name = "   ".into()).get("name").is_some());
        assert!(errors_for(|i| i.consent = "off".into()).get("consent").is_some());
    }

    #[test]
    fn length_limits_count_characters() {
        assert!(errors_for(|i| i.name = "é".repeat(MAX_NAME + 1)).get("name").is_some());
        assert!(validate(&FormInput { name: "é".repeat(MAX_NAME), ..valid_input() }, &CountryCache::new()).is_ok());
        assert!(errors_for(|i| i.company = "x".repeat(MAX_COMPANY + 1)).get("company").is_some());
        assert!(errors_for(|i| i.job_position = "x".repeat(MAX_JOB_POSITION + 1)).get("job_position").is_some());
        assert!(errors_for(|i| i.phone = "1".repeat(MAX_PHONE + 1)).get("phone").is_some());
        assert!(errors_for(|i| i.notes = "x".repeat(MAX_NOTES + 1)).get("notes").is_some());
        let long_email = format!("{}@example.org", "a".repeat(MAX_EMAIL));
        assert!(errors_for(|i| i.email = long_email).get("email").is_some());
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_notes() {
        assert!(errors_for(|i| i.name = "Ada\nLovelace".into()).get("name").is_some());
        assert!(errors_for(|i| i.company = "A\u{7}B".into()).get("company").is_some());
        assert!(errors_for(|i| i.notes = "bell\u{7}".into()).get("notes").is_some());
    }

    #[test]
    fn email_rules() {
        for good in ["a@b.ch", "first.last+tag@sub.example.co.uk", "jürg@müller.ch", "o'brien@example.ie"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "plain",
            "@example.org",
            "a@",
            "a@b",
            "a@b.c",
            "a@b..ch",
            "a b@example.org",
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            "a@-b.ch",
            "a@b-.ch",
            "a@b.c0m",
            "<script>@x.ch",
            "a@b@c.ch",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(errors_for(|i| i.email = "not-an-address".into()).get("email").unwrap().contains("valid e-mail"));
    }

    #[test]
    fn phone_and_country_rules() {
        assert!(is_valid_phone("+41 (0)44 123-45.67"));
        assert!(!is_valid_phone("1234"));
        assert!(!is_valid_phone("call me maybe 12345"));
        assert!(errors_for(|i| i.phone = "abc".into()).get("phone").is_some());
        assert!(errors_for(|i| i.country = "Atlantis".into()).get("country").is_some());
        assert!(errors_for(|i| i.country = "ZZ".into()).get("country").is_some());
    }
}
