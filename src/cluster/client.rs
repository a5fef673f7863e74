//! Connecting to the Kubernetes API: from `KUBECONFIG`, the in-cluster service account, or a
//! plain URL (the simulated API of `demo` and the tests), and checking up front that it answers.
//!
//! The booth keeps two clients of the one API server ([`Clients`]): kube-rs's default client
//! retries 429, 503 and 504 by itself (up to 15 times, honouring `Retry-After`), which is right
//! for watches, the Booth and the Leads; but for an eviction a 429 is the disruption budget's
//! answer, which the chaos button must show at once and a drain retries on its own schedule, so
//! evictions go through a client without that retry layer (`Config::default_retry` off).
//!
//! May call: nothing else of the crate.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::Path;
use std::time::Duration;

/// Why no client could be made, worded for the operator reading the one line `run` prints.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the kubeconfig {path}: {source}")]
    Kubeconfig { path: String, source: kube::config::KubeconfigError },
    #[error("no Kubernetes configuration found: set KUBECONFIG (--kubeconfig) or run inside a cluster ({0})")]
    Infer(#[from] kube::config::InferConfigError),
    #[error("invalid Kubernetes API URL {0:?}")]
    InvalidUrl(String),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("the Kubernetes API at {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("the Kubernetes API at {url} is not reachable: {source}")]
    Unreachable { url: String, source: kube::Error },
}

/// Loads the configuration: an explicit kubeconfig file, else what kube-rs infers
/// (`KUBECONFIG`, `~/.kube/config`, the in-cluster service account).
pub(crate) async fn load_config(kubeconfig: Option<&Path>) -> Result<Config, ConnectError> {
    match kubeconfig {
        Some(path) => {
            let display = path.display().to_string();
            let file = Kubeconfig::read_from(path)
                .map_err(|source| ConnectError::Kubeconfig { path: display.clone(), source })?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|source| ConnectError::Kubeconfig { path: display, source })
        }
        None => Ok(Config::infer().await?),
    }
}

/// The booth's two clients of one API server (see the module's doc). Cheap to clone.
#[derive(Clone)]
pub struct Clients {
    /// Every request but evictions: kube-rs retries 429, 503 and 504 by itself.
    pub client: Client,
    /// Evictions: no retries of its own, so a disruption budget's 429 comes back at once.
    pub evictions: Client,
}

impl Clients {
    /// Both clients for `config`.
    pub fn new(config: Config) -> Result<Self, ConnectError> {
        let mut once = config.clone();
        once.default_retry = false;
        Ok(Self {
            client: Client::try_from(config).map_err(ConnectError::Client)?,
            evictions: Client::try_from(once).map_err(ConnectError::Client)?,
        })
    }
}

fn config_for_url(url: &str) -> Result<Config, ConnectError> {
    let uri: axum::http::Uri = url.parse().map_err(|_| ConnectError::InvalidUrl(url.into()))?;
    Ok(Config::new(uri))
}

/// A client for a plain URL with no credentials (the simulated API).
pub fn client_for_url(url: &str) -> Result<Client, ConnectError> {
    Client::try_from(config_for_url(url)?).map_err(ConnectError::Client)
}

/// The booth's [`Clients`] for a plain URL with no credentials (the simulated API).
pub fn clients_for_url(url: &str) -> Result<Clients, ConnectError> {
    Clients::new(config_for_url(url)?)
}

/// Makes the clients and proves the API answers (`GET /version`) within `timeout`.
pub async fn connect(config: Config, timeout: Duration) -> Result<Clients, ConnectError> {
    let url = config.cluster_url.to_string();
    let clients = Clients::new(config)?;
    check_reachable(&clients.client, &url, timeout).await?;
    Ok(clients)
}

pub(crate) async fn check_reachable(client: &Client, url: &str, timeout: Duration) -> Result<(), ConnectError> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(version)) => {
            tracing::info!(url, version = %version.git_version, "connected to the Kubernetes API");
            Ok(())
        }
        Ok(Err(source)) => Err(ConnectError::Unreachable { url: url.into(), source }),
        Err(_) => Err(ConnectError::Timeout { url: url.into(), seconds: timeout.as_secs() }),
    }
}
