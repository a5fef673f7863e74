//! Prometheus counters of lead capture, registered in the process's registry (`GET /metrics` on
//! the private listener): what happened to form submissions and to calls to Odoo. Counters only;
//! the number of leads per state is in the Lead resources (`kubectl get leads`).
//!
//! May call: nothing else of the crate.

use super::odoo::OdooError;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmissionLabel {
    result: Submission,
}

/// What came of one contact form submission (the `result` label). The variants are named as
/// their exported label values: prometheus-client's derive writes the name as it is.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub(crate) enum Submission {
    stored,
    /// The e-mail address had signed up for the campaign already.
    duplicate,
    invalid,
    /// No valid CSRF token.
    forbidden,
    rate_limited,
    store_failed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OdooResultLabel {
    result: OdooAttempt,
}

/// What one attempt to put a lead into Odoo came to (the `result` label): the lead was created,
/// was found there already, or the call failed for the [`OdooError`]'s reason. Written by hand:
/// the derive encodes unit variants only, and a failure carries its reason.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum OdooAttempt {
    Created,
    Found,
    Failed(&'static str),
}

impl From<&OdooError> for OdooAttempt {
    fn from(error: &OdooError) -> Self {
        OdooAttempt::Failed(error.reason())
    }
}

impl EncodeLabelValue for OdooAttempt {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        let text = match self {
            OdooAttempt::Created => "created",
            OdooAttempt::Found => "found",
            OdooAttempt::Failed(reason) => reason,
        };
        std::fmt::Write::write_str(encoder, text)
    }
}

/// The lead counters; cheap to clone (shared cells).
#[derive(Clone)]
pub struct LeadMetrics {
    submissions: Family<SubmissionLabel, Counter>,
    odoo_attempts: Family<OdooResultLabel, Counter>,
    odoo_seconds: Histogram,
}

impl Default for LeadMetrics {
    fn default() -> Self {
        Self {
            submissions: Family::default(),
            odoo_attempts: Family::default(),
            // 10 ms to about 40 s: a healthy Odoo answers in tens of milliseconds, a timeout in 10 s.
            odoo_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
        }
    }
}

impl LeadMetrics {
    /// Creates the counters and registers them as `conferenceli_lead_submissions_total` and
    /// `conferenceli_lead_odoo_attempts_total` (the registry adds the prefix).
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "lead_submissions",
            "Contact form submissions by result (stored, duplicate, invalid, forbidden, rate_limited, store_failed)",
            metrics.submissions.clone(),
        );
        registry.register(
            "lead_odoo_attempts",
            "Attempts to put a lead into Odoo by result (created, found, or the error reason)",
            metrics.odoo_attempts.clone(),
        );
        registry.register(
            "lead_odoo_seconds",
            "Time to put one lead into Odoo (search by marker and create), successful or not",
            metrics.odoo_seconds.clone(),
        );
        metrics
    }

    /// How long one attempt to put a lead into Odoo took.
    pub(crate) fn odoo_duration(&self, elapsed: std::time::Duration) {
        self.odoo_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn submission(&self, result: Submission) {
        self.submissions.get_or_create(&SubmissionLabel { result }).inc();
    }

    pub(crate) fn odoo_attempt(&self, result: OdooAttempt) {
        self.odoo_attempts.get_or_create(&OdooResultLabel { result }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_exposed_with_their_result() {
        let mut registry = Registry::with_prefix("conferenceli");
        let metrics = LeadMetrics::register(&mut registry);
        metrics.submission(Submission::stored);
        metrics.submission(Submission::stored);
        metrics.submission(Submission::rate_limited);
        metrics.odoo_attempt(OdooAttempt::from(&OdooError::Unreachable("connection refused".into())));
        metrics.odoo_attempt(OdooAttempt::Created);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("conferenceli_lead_submissions_total{result=\"stored\"} 2"), "{text}");
        assert!(text.contains("conferenceli_lead_submissions_total{result=\"rate_limited\"} 1"), "{text}");
        assert!(text.contains("conferenceli_lead_odoo_attempts_total{result=\"Unreachable\"} 1"), "{text}");
        assert!(text.contains("conferenceli_lead_odoo_attempts_total{result=\"created\"} 1"), "{text}");
    }
}
