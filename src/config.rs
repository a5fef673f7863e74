//! The command line and its settings. Every setting is a `--flag` and an environment variable;
//! the variable names are the ones the Python apps used, so an existing booth's environment
//! keeps working.
//!
//! A missing or malformed value stops start-up with exactly one line on stderr that names the
//! variable (and its flag) and says what is expected; a secret's value is never echoed.

use crate::automations::{FogSpec, FogTiming};
use crate::booth::{BoothSpec, VoucherType};
use crate::web::auth::Credentials;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// conferenceli: a conference booth's Kubernetes show in one binary.
#[derive(Debug, Parser)]
#[command(name = "conferenceli", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the booth against a real cluster (KUBECONFIG or the in-cluster service account).
    Run(RunArgs),
    /// Run the booth against an embedded simulated cluster: no cluster or hardware needed.
    Demo(DemoArgs),
    /// Print the CustomResourceDefinitions as YAML (crds/ is generated from this).
    Crd(CrdArgs),
    /// DaemonSet mode: show this node's pods on its Blinkt! (NODE_NAME).
    Blinkt(crate::leds::blinkt::BlinktArgs),
    /// Render a label to PNG (--out) and/or print it (--print PRINTER_URL).
    Label(crate::labels::LabelArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors in the cluster.
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log level or filter directives (`info`, `debug`, `info,kube=debug`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true, value_parser = parse_log_level)]
    pub log_level: String,
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
}

fn parse_log_level(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map(|_| value.to_string())
        .map_err(|e| format!("expected a level (error, warn, info, debug, trace) or filter directives: {e}"))
}

/// Settings shared by `run` and `demo`: what to watch and where to serve.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// Namespace of the pods the booth shows and the chaos button may delete.
    #[arg(long = "namespace", env = "K8S_NAMESPACE", default_value = "demopod", value_parser = parse_namespace)]
    pub namespace: String,
    /// Namespace of this app's own resources (the Booth and the Leads).
    #[arg(long, env = "POD_NAMESPACE", default_value = "conferenceli", value_parser = parse_namespace)]
    pub booth_namespace: String,
    /// Name of the Booth resource holding the booth's settings and counters.
    #[arg(long, env = "BOOTH_NAME", default_value = "booth", value_parser = parse_namespace)]
    pub booth_name: String,
    /// Address of the private listener (kiosk, staff, /chaos, /metrics).
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8080", value_parser = parse_socket_addr)]
    pub listen_addr: SocketAddr,
    /// This pod's name (downward API): the chaos button never deletes it.
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// Username for `/chaos` and the control panel (default `admin`).
    #[arg(long, env = "CHAOS_BASIC_AUTH_USERNAME")]
    pub chaos_username: Option<String>,
    /// Password for `/chaos` and the control panel; falls back to BASIC_AUTH_PASSWORD.
    #[arg(long, env = "CHAOS_BASIC_AUTH_PASSWORD", hide_env_values = true)]
    pub chaos_password: Option<Secret>,
    /// Username for `/config`, `/leads.csv` and the label preview (default `admin`).
    #[arg(long, env = "BASIC_AUTH_USERNAME")]
    pub admin_username: Option<String>,
    /// Password for `/config`, `/leads.csv` and the label preview; falls back to CHAOS_BASIC_AUTH_PASSWORD.
    #[arg(long, env = "BASIC_AUTH_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// Wrong Basic-auth credentials one client address may send per minute; then its requests
    /// with credentials get 429 until the oldest wrong one is a minute old.
    #[arg(long, env = "AUTH_FAILURES_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub auth_failures_per_minute: u32,
    #[command(flatten)]
    pub booth_defaults: BoothDefaults,
    /// Seconds a node may be NotReady/Unknown before the target namespace's pods on it are
    /// force-deleted so the StatefulSet replaces them; 0 switches node-loss remediation off.
    #[arg(long, env = "NODE_LOSS_THRESHOLD_SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub node_loss_threshold_seconds: u64,
    #[command(flatten)]
    pub fog: FogArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub leds: crate::leds::LedArgs,
    #[command(flatten)]
    pub printer: crate::labels::PrinterArgs,
    #[command(flatten)]
    pub leads: crate::leads::LeadsArgs,
    #[command(flatten)]
    pub dashboard: crate::web::kiosk::DashboardArgs,
    #[command(flatten)]
    pub visitor: crate::visitor::VisitorArgs,
}

/// Where every chaos kill is announced over HTTP.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Comma-separated URLs that get a JSON POST on every kill (their values are not shown in
    /// `--help`: receivers often take a token in the URL).
    #[arg(long = "chaos-webhook-urls", env = "CHAOS_WEBHOOK_URLS", value_delimiter = ',', value_parser = parse_webhook_url, hide_env_values = true)]
    pub urls: Vec<reqwest::Url>,
    /// Key of the HMAC-SHA256 signature header sent with every webhook.
    #[arg(long = "chaos-webhook-secret", env = "CHAOS_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Seconds a receiver has to answer one delivery.
    #[arg(long = "chaos-webhook-timeout-seconds", env = "CHAOS_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_seconds: u64,
}

fn parse_webhook_url(value: &str) -> Result<reqwest::Url, String> {
    let url =
        reqwest::Url::parse(value.trim()).map_err(|e| format!("expected http(s) URLs separated by commas: {e}"))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(url)
    } else {
        Err("expected http(s) URLs separated by commas".into())
    }
}

/// The fog machine that puffs on every chaos kill.
#[derive(Debug, Clone, Args)]
pub struct FogArgs {
    /// The fog machine's relay: off, virtual (state only) or gpio:<BCM pin>. Default: off for
    /// `run`, virtual for `demo`.
    #[arg(long = "fog", env = "FOG")]
    pub spec: Option<FogSpec>,
    /// The relay switches on with a high level (most relay boards are active-low).
    #[arg(long = "fog-active-high", env = "FOG_ACTIVE_HIGH", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub active_high: bool,
    /// Milliseconds each puff adds to the on-time.
    #[arg(long = "fog-increment-ms", env = "FOG_INCREMENT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub increment_ms: u64,
    /// Longest on-time in one go, in milliseconds.
    #[arg(long = "fog-max-ms", env = "FOG_MAX_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub max_ms: u64,
    /// Milliseconds the relay stays off before it may puff again.
    #[arg(long = "fog-pause-ms", env = "FOG_PAUSE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub pause_ms: u64,
}

impl FogArgs {
    pub fn timing(&self) -> FogTiming {
        FogTiming {
            increment: std::time::Duration::from_millis(self.increment_ms),
            cap: std::time::Duration::from_millis(self.max_ms),
            min_pause: std::time::Duration::from_millis(self.pause_ms),
        }
    }
}

/// Settings that seed the Booth resource when it is created (then `/config` changes them there).
#[derive(Debug, Clone, Args)]
pub struct BoothDefaults {
    /// Odoo campaign the leads are filed under.
    #[arg(long, env = "CAMPAIGN_NAME", default_value = "")]
    pub campaign_name: String,
    /// Header printed on raffle tickets (usually the event's name).
    #[arg(long, env = "LABEL_HEADER", default_value = "")]
    pub label_header: String,
    /// Voucher label printed after a sign-up.
    #[arg(long, env = "VOUCHER_TYPE", value_enum, default_value = "none")]
    pub voucher_type: VoucherType,
    /// Code printed on Servala vouchers.
    #[arg(long, env = "SERVALA_VOUCHER_CODE", default_value = "")]
    pub servala_voucher_code: String,
    /// Print a raffle ticket for every sign-up (true/false).
    #[arg(long, env = "PRINT_RAFFLE_TICKET", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub print_raffle_ticket: bool,
    /// Create CRM leads in Odoo (true/false); when off, leads are kept and marked as not sent.
    #[arg(long = "odoo-createlead-enabled", env = "ODOO_CREATELEAD_ENABLED", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub odoo_create_lead_enabled: bool,
}

impl BoothDefaults {
    pub fn to_spec(&self) -> BoothSpec {
        BoothSpec {
            night_mode: false,
            campaign_name: self.campaign_name.clone(),
            label_header: self.label_header.clone(),
            voucher_type: self.voucher_type,
            servala_voucher_code: self.servala_voucher_code.clone(),
            print_raffle_ticket: self.print_raffle_ticket,
            odoo_create_lead_enabled: self.odoo_create_lead_enabled,
            ..BoothSpec::default()
        }
    }
}

/// The password `demo` uses when none is configured (documented in the README).
pub const DEMO_PASSWORD: &str = "conferenceli";

/// The credentials of the staff routes.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    /// `/chaos`, `/nightmode` and the control panel (upstream: the dashboard's CHAOS_BASIC_AUTH_*).
    pub chaos: Credentials,
    /// `/config`, `/leads.csv`, `/labels/preview.png` (upstream: the contact form's BASIC_AUTH_*).
    pub admin: Credentials,
}

impl AppArgs {
    /// Resolves the two credential pairs: each falls back to the other's password, usernames
    /// default to `admin`. `run` refuses to start without any password; `demo` uses
    /// [`DEMO_PASSWORD`].
    pub fn staff_credentials(&self, demo: bool) -> Result<StaffCredentials, String> {
        let chaos_password = self.chaos_password.clone().or_else(|| self.admin_password.clone());
        let admin_password = self.admin_password.clone().or_else(|| self.chaos_password.clone());
        let (chaos_password, admin_password) = match (chaos_password, admin_password) {
            (Some(chaos), Some(admin)) => (chaos, admin),
            _ if demo => (Secret::new(DEMO_PASSWORD), Secret::new(DEMO_PASSWORD)),
            _ => {
                return Err("missing CHAOS_BASIC_AUTH_PASSWORD (--chaos-password) or BASIC_AUTH_PASSWORD \
                            (--admin-password): the staff routes need a password"
                    .into());
            }
        };
        if chaos_password.expose().is_empty() || admin_password.expose().is_empty() {
            return Err("invalid CHAOS_BASIC_AUTH_PASSWORD / BASIC_AUTH_PASSWORD: a password must not be empty".into());
        }
        let user = |name: &Option<String>| name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "admin".into());
        Ok(StaffCredentials {
            chaos: Credentials { username: user(&self.chaos_username), password: chaos_password },
            admin: Credentials { username: user(&self.admin_username), password: admin_password },
        })
    }
}

/// A secret setting: printed as `***` by `Debug` and `Display`, so it cannot reach a log line by
/// accident. [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Kubeconfig file; without it, ~/.kube/config or the in-cluster service account.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// How long to wait for the Kubernetes API to answer at start-up.
    #[arg(long, env = "CONNECT_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout_seconds: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Address of the simulated Kubernetes API (plain HTTP; `kubectl --server http://...`).
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:6443", value_parser = parse_socket_addr)]
    pub sim_listen: SocketAddr,
    /// Pods of the simulated StatefulSet `critical-prod`.
    #[arg(long, env = "DEMO_PODS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub pods: u32,
    /// Nodes of the simulated cluster (the first is the booth Pi, the others PicoCluster nodes).
    #[arg(long, env = "DEMO_NODES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub nodes: u32,
    /// Milliseconds from Pending to Running for a recreated pod (plus up to 75 % jitter).
    #[arg(long, env = "DEMO_START_DELAY_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub start_delay_ms: u64,
    /// Seconds a NotReady node keeps its pods before they are evicted.
    #[arg(long, env = "DEMO_TOLERATION_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub toleration_seconds: u64,
    /// Seconds the simulated API keeps changes for watches to resume from (kube-apiserver
    /// compacts every 5 minutes); a watch resuming from before gets 410 Gone and lists again.
    #[arg(long, env = "DEMO_HISTORY_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub history_seconds: u64,
    /// Seconds an Event lives in the simulated API (kube-apiserver's `--event-ttl`, 1 hour).
    #[arg(long, env = "DEMO_EVENT_TTL_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub event_ttl_seconds: u64,
}

#[derive(Debug, Args)]
pub struct CrdArgs {
    /// Write one file per CRD into this directory instead of printing them.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

fn parse_socket_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| "expected an address and port such as 0.0.0.0:8080".to_string())
}

/// Namespaces and object names: lowercase RFC 1123 labels.
fn parse_namespace(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 63
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(value.to_string())
    } else {
        Err("expected a lowercase name of letters, digits and '-' (at most 63 characters)".into())
    }
}

/// Variables whose values must never be printed, even when they are malformed (webhook
/// receivers often take a token in the URL).
fn is_secret(env: &str) -> bool {
    ["PASSWORD", "SECRET", "API_KEY", "TOKEN", "WEBHOOK_URLS"].iter().any(|word| env.contains(word))
}

/// Finds the argument a clap error is about, by its `--long` flag, in any subcommand.
fn find_arg(command: &clap::Command, flag: &str) -> Option<clap::Arg> {
    let long = flag.split_whitespace().next()?.trim_start_matches("--");
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .cloned()
        .or_else(|| command.get_subcommands().find_map(|sub| find_arg(sub, flag)))
}

fn context_string(error: &clap::Error, kind: ContextKind) -> Option<String> {
    match error.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// Says a command-line error in one line naming the environment variable.
pub fn one_line_error(error: &clap::Error) -> String {
    let command = Cli::command();
    let described = |flag: &str| match find_arg(&command, flag) {
        Some(arg) => match arg.get_env() {
            Some(env) => (
                format!("{} (--{})", env.to_string_lossy(), arg.get_long().unwrap_or_default()),
                Some(env.to_string_lossy().to_string()),
            ),
            None => (format!("--{}", arg.get_long().unwrap_or_default()), None),
        },
        None => (flag.to_string(), None),
    };
    match error.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let flag = context_string(error, ContextKind::InvalidArg).unwrap_or_default();
            let (name, env) = described(&flag);
            let value = context_string(error, ContextKind::InvalidValue).unwrap_or_default();
            let shown =
                if env.as_deref().is_some_and(is_secret) { "(value hidden)".to_string() } else { format!("{value:?}") };
            let expected = match (error.get(ContextKind::ValidValue), std::error::Error::source(error)) {
                (Some(valid), _) => format!("expected one of: {valid}"),
                (None, Some(source)) => source.to_string(),
                (None, None) => "invalid value".to_string(),
            };
            format!("conferenceli: invalid {name} {shown}: {expected}")
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = context_string(error, ContextKind::InvalidArg).unwrap_or_default();
            let names: Vec<String> = missing.split(", ").map(|flag| described(flag).0).collect();
            format!("conferenceli: missing {}: it must be set", names.join(", "))
        }
        _ => {
            let rendered = error.to_string();
            let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid command line");
            format!("conferenceli: {}", first.trim_start_matches("error: "))
        }
    }
}

/// Parses the command line and environment, or exits: help and version print as usual, any
/// other problem prints one line and exits with status 2.
pub fn parse_or_exit() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            error.exit()
        }
        Err(error) => {
            eprintln!("{}", one_line_error(&error));
            std::process::exit(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(args: &[&str]) -> String {
        one_line_error(&Cli::try_parse_from(args).expect_err("should be refused"))
    }

    #[test]
    fn malformed_values_name_the_variable_in_one_line() {
        let line = error_for(&["conferenceli", "demo", "--listen-addr", "nonsense"]);
        assert_eq!(
            line,
            r#"conferenceli: invalid LISTEN_ADDR (--listen-addr) "nonsense": expected an address and port such as 0.0.0.0:8080"#
        );
        let line = error_for(&["conferenceli", "demo", "--pods=lots"]);
        assert!(line.contains("DEMO_PODS (--pods)"), "{line}");
        let line = error_for(&["conferenceli", "--log-format", "xml", "demo"]);
        assert!(line.contains("LOG_FORMAT (--log-format)") && line.contains("text, json"), "{line}");
        let line = error_for(&["conferenceli", "run", "--namespace", "Bad_NS"]);
        assert!(line.starts_with("conferenceli: invalid K8S_NAMESPACE (--namespace)"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn staff_credentials_fall_back_and_run_requires_a_password() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Run(run) => run.app,
            Command::Demo(demo) => demo.app,
            Command::Crd(_) | Command::Blinkt(_) | Command::Label(_) => unreachable!(),
        };
        let run = parse(&["conferenceli", "run"]);
        assert!(run.staff_credentials(false).unwrap_err().contains("CHAOS_BASIC_AUTH_PASSWORD"));
        let demo = parse(&["conferenceli", "demo"]);
        let creds = demo.staff_credentials(true).unwrap();
        assert!(creds.chaos.matches("admin", DEMO_PASSWORD));
        let one = parse(&["conferenceli", "run", "--chaos-username", "booth", "--chaos-password", "pw"]);
        let creds = one.staff_credentials(false).unwrap();
        assert!(creds.chaos.matches("booth", "pw") && creds.admin.matches("admin", "pw"));
        assert_eq!(format!("{:?}", creds.chaos.password), "Secret(***)");
        let empty = parse(&["conferenceli", "run", "--admin-password="]);
        assert!(empty.staff_credentials(false).is_err());
    }

    #[test]
    fn booth_defaults_come_from_the_upstream_variables() {
        let cli = Cli::try_parse_from([
            "conferenceli",
            "demo",
            "--campaign-name",
            "KubeCon",
            "--voucher-type",
            "servala",
            "--print-raffle-ticket",
            "yes",
            "--odoo-createlead-enabled",
            "0",
        ])
        .unwrap();
        let Command::Demo(demo) = cli.command else { unreachable!() };
        let spec = demo.app.booth_defaults.to_spec();
        assert_eq!(spec.campaign_name, "KubeCon");
        assert_eq!(spec.voucher_type, VoucherType::Servala);
        assert!(spec.print_raffle_ticket && !spec.odoo_create_lead_enabled);
        let line = error_for(&["conferenceli", "demo", "--print-raffle-ticket", "maybe"]);
        assert!(line.contains("PRINT_RAFFLE_TICKET"), "{line}");
    }

    #[test]
    fn secrets_are_never_echoed() {
        assert!(is_secret("ODOO_PASSWORD") && is_secret("CHAOS_WEBHOOK_SECRET") && is_secret("ODOO_API_KEY"));
        assert!(!is_secret("LISTEN_ADDR"));
    }

    #[test]
    fn every_flag_with_a_value_has_an_environment_variable() {
        fn check(command: &clap::Command) {
            for arg in command.get_arguments() {
                let takes_value = arg.get_action().takes_values();
                let builtin = matches!(arg.get_id().as_str(), "help" | "version" | "out_dir");
                if takes_value && !builtin {
                    assert!(arg.get_env().is_some(), "--{} has no environment variable", arg.get_id());
                }
            }
            command.get_subcommands().for_each(check);
        }
        check(&Cli::command());
    }
}
