//! The booth's health checks, in the manner of `linkerd check` and `flux check`: groups of
//! checks (the Kubernetes API, the service account's permissions, the hardware, the remote
//! services, the clock and booth hours), each a line that passed (✓), warns (‼) or failed (✗),
//! a failure with a one-line hint naming the fix (the variable, the manifest, the kubectl
//! command).
//!
//! One set of checks, two callers: `conferenceli check` runs them once from the command line
//! (`commands`), probing the devices itself; the running booth runs them in the background and
//! for the control panel's Booth health card ([`monitor`]), reading its own devices' health
//! instead of opening them a second time. Either way they go through the clients and traits the
//! booth uses: the kube client, `SelfSubjectAccessReview`s for every entry of the booth's
//! [`crate::cluster::api_calls`] list, the `HidPort` of the BlinkStick, the printer transport,
//! the Odoo client, the shared HTTP client. Every network check has a short timeout and the
//! groups run concurrently, so a whole run takes about as long as its slowest answer.
//!
//! The parts: [`kubernetes`], [`permissions`], [`hardware`], [`services`], `clock` (one group
//! each), [`monitor`] (the live runs); the report's text form is a pure function here.
//!
//! May call: `crate::attract`, `crate::automations`, `crate::booth`, `crate::cluster`,
//! `crate::crds`, `crate::http`, `crate::labels`, `crate::leads`, `crate::leds`, `crate::tasks`.

pub(crate) mod clock;
pub mod hardware;
pub mod kubernetes;
pub mod monitor;
pub mod permissions;
pub mod services;

use crate::automations::FogSpec;
use crate::booth::{Booth, BoothHandle, BoothSpec, Refusal};
use crate::cluster::ClusterState;
use crate::cluster::api_calls::{ApiCall, Scope as ApiScope};
use crate::labels::transport::PrinterUrl;
use crate::labels::{LabelSize, PrinterModel};
use crate::leads::odoo::OdooSettings;
use crate::leds::LedMode;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// The API requests of the checks beyond the booth's own (see [`crate::cluster::api_calls`]):
/// whether the namespaces exist. (The reviews they send are every authenticated user's.)
pub(crate) const API_CALLS: [ApiCall; 1] = [ApiCall::new(ApiScope::Cluster, "", "namespaces", "get")];

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    /// ✓, ‼ or ✗.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "‼",
            Status::Fail => "✗",
        }
    }
}

/// The groups, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Kubernetes,
    Permissions,
    Hardware,
    Services,
    Clock,
}

impl Group {
    /// The group's heading.
    pub fn title(self) -> &'static str {
        match self {
            Group::Kubernetes => "Kubernetes",
            Group::Permissions => "Permissions",
            Group::Hardware => "Hardware",
            Group::Services => "Services",
            Group::Clock => "Clock and hours",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub group: Group,
    pub name: String,
    pub status: Status,
    pub message: String,
    /// The fix, for a failure or a warning.
    pub hint: Option<String>,
}

impl Check {
    pub(crate) fn ok(group: Group, name: impl Into<String>, message: impl Into<String>) -> Self {
        Self { group, name: name.into(), status: Status::Ok, message: message.into(), hint: None }
    }

    pub(crate) fn warn(
        group: Group,
        name: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self { group, name: name.into(), status: Status::Warn, message: message.into(), hint: Some(hint.into()) }
    }

    pub(crate) fn fail(
        group: Group,
        name: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self { group, name: name.into(), status: Status::Fail, message: message.into(), hint: Some(hint.into()) }
    }
}

/// Every check of a run, grouped in order (`--output json` is this, serialised).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn failed(&self) -> usize {
        self.count(Status::Fail)
    }

    pub fn warnings(&self) -> usize {
        self.count(Status::Warn)
    }

    /// The checks that failed, as `group/name` (the Booth condition's message: no measured
    /// values, so it changes only when a check does).
    pub fn failing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| format!("{}: {}", c.group.title(), c.name))
            .collect()
    }

    /// The last line of the text form.
    pub(crate) fn summary(&self) -> String {
        let (failed, warnings, passed) = (self.failed(), self.warnings(), self.count(Status::Ok));
        let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
        match (failed, warnings) {
            (0, 0) => format!("All checks passed ({passed})."),
            (0, _) => format!("All checks passed, with {}.", plural(warnings, "warning")),
            _ => format!("{} failed, {}, {passed} passed.", plural(failed, "check"), plural(warnings, "warning")),
        }
    }

    /// The report as `conferenceli check` prints it: a heading per group, a line per check,
    /// the hint indented under it, the summary last.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut current = None;
        for check in &self.checks {
            if current != Some(check.group) {
                if current.is_some() {
                    out.push('\n');
                }
                let title = check.group.title();
                let _ = writeln!(out, "{title}\n{}", "-".repeat(title.chars().count()));
                current = Some(check.group);
            }
            let _ = writeln!(out, "{} {}: {}", check.status.symbol(), check.name, check.message);
            if let Some(hint) = &check.hint {
                let _ = writeln!(out, "    hint: {hint}");
            }
        }
        let _ = write!(out, "\n{}\n", self.summary());
        out
    }
}

/// Which checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything the booth needs to run.
    Full,
    /// What installing needs (`--pre`): the API, its version, the clock, and the rights to
    /// create what `crds/` and `deploy/base` hold.
    Install,
}

/// The settings the checks read: the booth's own, as `run` parses them (`config` builds this
/// from its `AppArgs`, so they are typed once).
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) namespace: String,
    pub(crate) booth_namespace: String,
    pub(crate) booth_name: String,
    pub(crate) leds: LedMode,
    pub(crate) blinkstick_device: Option<PathBuf>,
    pub(crate) printer: Option<PrinterUrl>,
    pub(crate) printer_model: PrinterModel,
    pub(crate) label_size: LabelSize,
    pub(crate) fog: FogSpec,
    pub(crate) odoo: Option<OdooSettings>,
    pub(crate) source_name: String,
    pub(crate) tag_name: String,
    /// The campaign the Booth is created with (`CAMPAIGN_NAME`), when it cannot be read.
    pub(crate) default_campaign: String,
    pub(crate) public_url: Option<String>,
    pub(crate) webhooks: Vec<reqwest::Url>,
    /// How long each network check may take.
    pub(crate) timeout: Duration,
}

/// Where the Booth's settings come from.
#[derive(Clone)]
pub enum BoothSource {
    /// Read it once (the command line).
    Read,
    /// The running booth's own follower.
    Live(Box<BoothHandle>),
}

/// Where the workload's pods come from.
#[derive(Clone)]
pub enum PodSource {
    /// List them (the command line).
    List,
    /// The running booth's one pod watch.
    Watched(ClusterState),
}

/// Why the Booth could not be read.
#[derive(Debug, Clone)]
pub(crate) struct Unread {
    /// It does not exist (404): the booth has not created it yet.
    pub(crate) not_found: bool,
    pub message: String,
}

/// The Booth as one run reads it (once, whichever groups ask): the spec the booth runs on and
/// the values of the stored one it refuses.
#[derive(Debug, Clone)]
pub(crate) struct ReadBooth {
    pub(crate) booth: Booth,
    pub(crate) refused: Vec<Refusal>,
}

pub(crate) type SharedBooth = Shared<BoxFuture<'static, Result<ReadBooth, Unread>>>;

/// Everything a run uses.
pub struct Context {
    pub(crate) settings: Settings,
    /// The API server and its client, or why there is none (no kubeconfig).
    pub(crate) kube: Result<kubernetes::Cluster, String>,
    pub(crate) booth: BoothSource,
    pub(crate) pods: PodSource,
    pub(crate) hardware: hardware::Hardware,
}

impl Context {
    pub fn new(
        settings: Settings,
        kube: Result<kubernetes::Cluster, String>,
        (booth, pods): (BoothSource, PodSource),
        hardware: hardware::Hardware,
    ) -> Self {
        Self { settings, kube, booth, pods, hardware }
    }

    /// The Booth, read once per run and shared by the groups that need its settings.
    fn booth(&self) -> SharedBooth {
        let (kube, source, settings) = (self.kube.clone(), self.booth.clone(), self.settings.clone());
        async move {
            let unread = |message: String| Unread { not_found: false, message };
            match source {
                BoothSource::Live(handle) => {
                    // Just after start the follower may still be reading it: a moment's grace.
                    let mut latest = handle.subscribe();
                    let _ = tokio::time::timeout(settings.timeout, latest.wait_for(Option::is_some)).await;
                    match handle.current() {
                        Some(booth) => Ok(ReadBooth { booth, refused: handle.refused() }),
                        None => Err(unread(
                            handle.problem().unwrap_or_else(|| "not read yet: the booth is starting".into()),
                        )),
                    }
                }
                BoothSource::Read => {
                    let cluster = kube.map_err(unread)?;
                    let defaults = default_spec(&settings);
                    let read =
                        BoothHandle::read(cluster.client, &settings.booth_namespace, &settings.booth_name, &defaults);
                    match tokio::time::timeout(settings.timeout, read).await {
                        Ok(Ok((booth, refused))) => Ok(ReadBooth { booth, refused }),
                        Ok(Err(kube::Error::Api(status))) if status.code == 404 => {
                            Err(Unread { not_found: true, message: status.message })
                        }
                        Ok(Err(error)) => Err(unread(kubernetes::describe_error(&error))),
                        Err(_) => Err(unread(timed_out(settings.timeout))),
                    }
                }
            }
        }
        .boxed()
        .shared()
    }
}

/// The Booth's settings for the checks that need them: the Booth's, or the defaults the booth
/// would create it with.
fn spec_or_default(booth: &Result<ReadBooth, Unread>, settings: &Settings) -> BoothSpec {
    match booth {
        Ok(read) => read.booth.spec.clone(),
        Err(_) => default_spec(settings),
    }
}

/// The settings the booth would create the Booth with.
fn default_spec(settings: &Settings) -> BoothSpec {
    BoothSpec { campaign_name: settings.default_campaign.clone(), ..BoothSpec::default() }
}

/// Runs the checks of `scope`, the groups concurrently.
pub async fn run(context: &Context, scope: Scope) -> Report {
    let booth = context.booth();
    let api = kubernetes::ApiAnswer::fetch(context);
    let mut checks = match scope {
        Scope::Install => {
            let (kubernetes, permissions, clock) = futures::join!(
                kubernetes::api_checks(context, api.clone()),
                permissions::install(context, api.clone()),
                clock::skew(context, api),
            );
            [kubernetes, permissions, clock].concat()
        }
        Scope::Full => {
            let (kubernetes, permissions, hardware, services, clock) = futures::join!(
                kubernetes::checks(context, api.clone(), booth.clone()),
                permissions::booth(context, api.clone()),
                hardware::checks(context),
                services::checks(context, booth.clone()),
                clock::checks(context, api, booth),
            );
            [kubernetes, permissions, hardware, services, clock].concat()
        }
    };
    checks.sort_by_key(|c| c.group);
    Report { checks }
}

/// Says how long something took to fail: "no answer within 3 s".
pub(crate) fn timed_out(timeout: Duration) -> String {
    format!("no answer within {} s", timeout.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_groups_lines_with_their_hints() {
        let report = Report {
            checks: vec![
                Check::ok(Group::Kubernetes, "API server", "answers (v1.33.5)"),
                Check::fail(Group::Permissions, "pods in demopod", "may not delete", "add delete"),
                Check::warn(Group::Hardware, "printer", "not configured", "set PRINTER_URL"),
            ],
        };
        let text = report.to_text();
        assert_eq!(
            text,
            "Kubernetes\n----------\n✓ API server: answers (v1.33.5)\n\nPermissions\n-----------\n\
             ✗ pods in demopod: may not delete\n    hint: add delete\n\nHardware\n--------\n\
             ‼ printer: not configured\n    hint: set PRINTER_URL\n\n1 check failed, 1 warning, 1 passed.\n"
        );
        assert_eq!(report.failing(), ["Permissions: pods in demopod"]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["checks"][1],
            serde_json::json!({"group": "permissions", "name": "pods in demopod", "status": "fail",
                               "message": "may not delete", "hint": "add delete"})
        );
        assert_eq!(json["checks"][0]["hint"], serde_json::Value::Null);
        let fine = Report { checks: vec![report.checks[0].clone()] };
        assert_eq!(fine.summary(), "All checks passed (1).");
    }
}
