//! The command line and its settings. Every setting is a `--flag` and an environment variable;
//! the variable names are the ones the Python apps used, so an existing booth's environment
//! keeps working.
//!
//! A missing or malformed value stops start-up with exactly one line on stderr that names the
//! variable (and its flag) and says what is expected; a secret's value is never echoed.
//!
//! May call: `crate::automations`, `crate::availability`, `crate::booth`, `crate::demo`,
//! `crate::health`, `crate::labels`, `crate::leads`, `crate::leds`, `crate::secret`,
//! `crate::telemetry`, `crate::theatre`, `crate::visitor`, `crate::web`, `crate::workload`.

use crate::automations::{FogArgs, WebhookArgs};
use crate::booth::BoothDefaults;
use crate::secret::Secret;
use crate::telemetry::{HealthArgs, LogArgs};
use crate::web::auth::{Credentials, StaffCredentials};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};
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
    /// Check the booth's setup (cluster, permissions, hardware, services, clock) like
    /// `linkerd check`: exit 1 when a check fails.
    Check(CheckArgs),
    /// Serve the simulated Kubernetes API alone (demo's cluster and workload, no booth), for
    /// kubectl and other tools; with --token-auth-file, over HTTPS with authentication and RBAC.
    Sim(SimServeArgs),
    /// Print the CustomResourceDefinitions as YAML (crds/ is generated from this).
    Crd(CrdArgs),
    /// DaemonSet mode: show this node's pods on its Blinkt! (NODE_NAME).
    Blinkt(crate::leds::blinkt::BlinktArgs),
    /// Render a label to PNG (--out) and/or print it (--print PRINTER_URL).
    Label(crate::labels::LabelArgs),
    /// The demo workload: a tiny HTTP server answering with its pod name (deploy/demo-workload).
    Workload(crate::workload::WorkloadArgs),
}

/// Settings shared by `run` and `demo`: what to watch and where to serve.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// Namespace of the pods the booth shows and the chaos button may delete.
    #[arg(long = "namespace", env = "K8S_NAMESPACE", default_value = "demopod", value_parser = parse_namespace)]
    pub namespace: String,
    /// Namespace of this app's own resources (the Booth and the Leads).
    #[arg(long, env = "POD_NAMESPACE", default_value = "conferenceli", value_parser = parse_namespace)]
    pub(crate) booth_namespace: String,
    /// Name of the Booth resource holding the booth's settings and counters.
    #[arg(long, env = "BOOTH_NAME", default_value = "booth", value_parser = parse_namespace)]
    pub(crate) booth_name: String,
    /// Address of the private listener (kiosk, staff, /chaos, /metrics).
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8080", value_parser = parse_socket_addr)]
    pub(crate) listen_addr: SocketAddr,
    #[command(flatten)]
    pub health: HealthArgs,
    /// This pod's name (downward API): the chaos button never deletes it.
    #[arg(long, env = "POD_NAME")]
    pub(crate) pod_name: Option<String>,
    /// Username for `/chaos` and the control panel (default `admin`).
    #[arg(long, env = "CHAOS_BASIC_AUTH_USERNAME")]
    pub(crate) chaos_username: Option<String>,
    /// Password for `/chaos` and the control panel; falls back to BASIC_AUTH_PASSWORD.
    #[arg(long, env = "CHAOS_BASIC_AUTH_PASSWORD", hide_env_values = true)]
    pub(crate) chaos_password: Option<Secret>,
    /// Username for `/config`, `/leads.csv` and the label preview (default `admin`).
    #[arg(long, env = "BASIC_AUTH_USERNAME")]
    pub(crate) admin_username: Option<String>,
    /// Password for `/config`, `/leads.csv` and the label preview; falls back to CHAOS_BASIC_AUTH_PASSWORD.
    #[arg(long, env = "BASIC_AUTH_PASSWORD", hide_env_values = true)]
    pub(crate) admin_password: Option<Secret>,
    /// Wrong Basic-auth credentials one client address may send per minute; then its requests
    /// with credentials get 429 until the oldest wrong one is a minute old.
    #[arg(long, env = "AUTH_FAILURES_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) auth_failures_per_minute: u32,
    #[command(flatten)]
    pub(crate) booth_defaults: BoothDefaults,
    /// Seconds each network health check may take (`conferenceli check`, the control panel's
    /// Booth health card).
    #[arg(long, env = "CHECK_TIMEOUT_SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub(crate) check_timeout_seconds: u64,
    /// Seconds a node may be NotReady/Unknown before the target namespace's pods on it are
    /// force-deleted so the StatefulSet replaces them; 0 switches node-loss remediation off.
    #[arg(long, env = "NODE_LOSS_THRESHOLD_SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) node_loss_threshold_seconds: u64,
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
    pub availability: crate::availability::AvailabilityArgs,
    #[command(flatten)]
    pub limits: crate::web::limits::LimitsArgs,
    #[command(flatten)]
    pub visitor: crate::visitor::VisitorArgs,
}

/// The password `demo` uses when none is configured (documented in the README).
pub const DEMO_PASSWORD: &str = "conferenceli";

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

impl AppArgs {
    /// What the health checks read of these settings (`leds`: the LED mode in effect, as `run`
    /// and `demo` default it differently).
    pub(crate) fn health_settings(&self, leds: crate::leds::LedMode) -> crate::health::Settings {
        crate::health::Settings {
            namespace: self.namespace.clone(),
            booth_namespace: self.booth_namespace.clone(),
            booth_name: self.booth_name.clone(),
            leds,
            blinkstick_device: self.leds.blinkstick_device.clone(),
            printer: self.printer.resolve(None),
            printer_model: self.printer.printer_model,
            label_size: self.printer.label_size,
            fog: self.fog.spec.clone().unwrap_or(crate::automations::FogSpec::Off),
            odoo: self.leads.odoo_settings(),
            source_name: self.leads.source_name.clone(),
            tag_name: self.leads.tag_name.clone(),
            default_campaign: self.booth_defaults.campaign_name.clone(),
            public_url: self.dashboard.public_url.clone(),
            webhooks: self.webhooks.urls.clone(),
            timeout: std::time::Duration::from_secs(self.check_timeout_seconds),
        }
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
    pub(crate) connect_timeout_seconds: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Address of the simulated Kubernetes API (plain HTTP; `kubectl --server http://...`).
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:6443", value_parser = parse_socket_addr)]
    pub(crate) sim_listen: SocketAddr,
    #[command(flatten)]
    pub cluster: crate::demo::SimArgs,
}

/// How `conferenceli check` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A line per check with ✓, ‼ or ✗, and the hint under each problem.
    Text,
    /// `{"checks": [{"group", "name", "status", "message", "hint"}]}`.
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The settings `run` reads (the same environment), and the same kubeconfig.
    #[command(flatten)]
    pub run: RunArgs,
    /// Only what installing needs: the API, its version, the clock, and the rights to create
    /// what crds/ and deploy/base hold.
    #[arg(long)]
    pub pre: bool,
    /// text (✓ ‼ ✗ lines) or json.
    #[arg(long, env = "CHECK_OUTPUT", value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// Address of the simulated Kubernetes API.
    #[arg(long = "listen", env = "SIM_LISTEN", default_value = "127.0.0.1:6443", value_parser = parse_socket_addr)]
    pub(crate) listen: SocketAddr,
    /// kube-apiserver's static token file (CSV `token,user,uid,"group1,group2"`): every request
    /// then needs a bearer token from it and is authorised by RBAC, and the API is served over
    /// HTTPS (kubectl sends tokens only over TLS).
    #[arg(long, env = "TOKEN_AUTH_FILE")]
    pub(crate) token_auth_file: Option<PathBuf>,
    /// Where the HTTPS certificates are written (`ca.crt` for `kubectl --certificate-authority`);
    /// default `<temp dir>/conferenceli-sim-<port>`.
    #[arg(long, env = "SIM_CERT_DIR")]
    pub(crate) cert_dir: Option<PathBuf>,
    /// Namespace of the simulated workload (the StatefulSet `critical-prod`).
    #[arg(long = "namespace", env = "K8S_NAMESPACE", default_value = "demopod", value_parser = parse_namespace)]
    pub(crate) namespace: String,
    /// The booth's own namespace, which exists from the start as in `demo`.
    #[arg(long, env = "POD_NAMESPACE", default_value = "conferenceli", value_parser = parse_namespace)]
    pub(crate) booth_namespace: String,
    #[command(flatten)]
    pub cluster: crate::demo::SimArgs,
}

#[derive(Debug, Args)]
pub struct CrdArgs {
    /// Write one file per CRD into this directory instead of printing them.
    #[arg(long)]
    pub(crate) out_dir: Option<PathBuf>,
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
            Command::Check(check) => check.run.app,
            Command::Crd(_) | Command::Blinkt(_) | Command::Label(_) | Command::Workload(_) | Command::Sim(_) => {
                unreachable!()
            }
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
        assert_eq!(spec.voucher_type, crate::booth::VoucherType::Servala);
        assert!(spec.print_raffle_ticket && !spec.odoo_create_lead_enabled);
        let line = error_for(&["conferenceli", "demo", "--print-raffle-ticket", "maybe"]);
        assert!(line.contains("PRINT_RAFFLE_TICKET"), "{line}");
    }

    #[test]
    fn malformed_printer_settings_are_one_line_errors_naming_the_variable() {
        let error = |args: &[&str]| {
            let mut all = vec!["conferenceli", "run"];
            all.extend_from_slice(args);
            error_for(&all)
        };
        let line = error(&["--printer-url", "lpr://x"]);
        assert!(
            line.starts_with(r#"conferenceli: invalid PRINTER_URL (--printer-url) "lpr://x": expected tcp://"#),
            "{line}"
        );
        assert!(error(&["--printer-ip", "printer.local"]).contains("PRINTER_IP (--printer-ip)"));
        assert!(error(&["--label-size", "29"]).contains("LABEL_SIZE (--label-size) \"29\": expected 54 or 62"));
        assert!(error(&["--printer-model", "QL-500"]).contains("PRINTER_MODEL"));
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
