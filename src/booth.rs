//! The `Booth` custom resource: the booth's settings in `spec` (what staff change on `/config`)
//! and what the booth has lived through in `status` (the kill counter, the health of its parts).
//!
//! Keeping them in the cluster rather than in a file means they survive restarts and pod moves,
//! and every replica of every view (kiosks, control panel) reads the same truth through the one
//! watch this module runs on the single Booth object.

use futures::StreamExt;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The booth's settings, changed live from the control panel and `/config`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "conferenceli.dev",
    version = "v1alpha1",
    kind = "Booth",
    namespaced,
    status = "BoothStatus",
    shortname = "booth",
    printcolumn = r#"{"name":"Kills","type":"integer","jsonPath":".status.killCount"}"#,
    printcolumn = r#"{"name":"Night","type":"boolean","jsonPath":".spec.nightMode"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BoothSpec {
    /// Night mode on the kiosk (dark harbour, dimmer LEDs).
    #[serde(default)]
    pub night_mode: bool,
}

/// What the booth has done and how its parts are.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothStatus {
    /// Pods destroyed by the chaos button since the counter was last set.
    #[serde(default)]
    pub kill_count: u64,
}

/// Errors of the Booth resource's upkeep.
#[derive(Debug, thiserror::Error)]
pub enum BoothError {
    #[error("could not create the Booth {name:?} in namespace {namespace:?} (is crds/ applied?): {source}")]
    Create {
        name: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// The latest Booth object as the app sees it (`None` until it has been read once).
#[derive(Clone)]
pub struct BoothHandle {
    api: Api<Booth>,
    name: String,
    latest: watch::Receiver<Option<Booth>>,
    problem: Arc<Mutex<Option<String>>>,
}

impl BoothHandle {
    /// Follows the Booth with one watch, creating it first if it does not exist. Runs in the
    /// background and retries with backoff, so an API that is down at start-up delays
    /// readiness, never the listeners.
    pub fn start(client: Client, namespace: &str, name: &str) -> Self {
        let api: Api<Booth> = Api::namespaced(client, namespace);
        let (tx, latest) = watch::channel(None);
        let problem = Arc::new(Mutex::new(None));
        let handle = Self { api: api.clone(), name: name.into(), latest, problem: problem.clone() };
        let (namespace, name) = (namespace.to_string(), name.to_string());
        tokio::spawn(async move {
            ensure_exists_with_retry(&api, &namespace, &name, &problem).await;
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let stream = watcher::watcher(api.clone(), config).default_backoff();
            follow(stream, tx, api, namespace, name, problem).await;
        });
        handle
    }

    pub fn current(&self) -> Option<Booth> {
        self.latest.borrow().clone()
    }

    pub fn kill_count(&self) -> u64 {
        self.latest.borrow().as_ref().and_then(|b| b.status.as_ref()).map_or(0, |s| s.kill_count)
    }

    pub fn night_mode(&self) -> bool {
        self.latest.borrow().as_ref().is_some_and(|b| b.spec.night_mode)
    }

    /// Whether the Booth has been read at least once.
    pub fn synced(&self) -> bool {
        self.latest.borrow().is_some()
    }

    /// What stands in the way of reading the Booth, if anything (for `/readyz`).
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn api(&self) -> &Api<Booth> {
        &self.api
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Resolves on every change of the Booth.
    pub fn subscribe(&self) -> watch::Receiver<Option<Booth>> {
        self.latest.clone()
    }
}

async fn ensure_exists(api: &Api<Booth>, namespace: &str, name: &str) -> Result<(), BoothError> {
    let booth = Booth::new(name, BoothSpec::default());
    match api.create(&PostParams::default(), &booth).await {
        Ok(_) => {
            tracing::info!(booth = name, namespace, "created the Booth resource");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(source) => Err(BoothError::Create { name: name.into(), namespace: namespace.into(), source }),
    }
}

/// Retries creation with capped exponential backoff, logging once per distinct problem.
async fn ensure_exists_with_retry(api: &Api<Booth>, namespace: &str, name: &str, problem: &Mutex<Option<String>>) {
    let mut delay = Duration::from_millis(250);
    loop {
        match ensure_exists(api, namespace, name).await {
            Ok(()) => {
                *problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
                return;
            }
            Err(error) => {
                let message = error.to_string();
                let mut current = problem.lock().unwrap_or_else(|p| p.into_inner());
                if current.as_deref() != Some(message.as_str()) {
                    tracing::warn!(%message, "Booth resource not available yet; retrying");
                    *current = Some(message);
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Feeds the Booth's watch into `tx`; a deleted Booth is created again with default settings.
async fn follow(
    stream: impl futures::Stream<Item = watcher::Result<watcher::Event<Booth>>> + Send,
    tx: watch::Sender<Option<Booth>>,
    api: Api<Booth>,
    namespace: String,
    name: String,
    problem: Arc<Mutex<Option<String>>>,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(booth) | watcher::Event::InitApply(booth)) => {
                tx.send_replace(Some(booth));
            }
            Ok(watcher::Event::Delete(_)) => {
                tracing::warn!(booth = name, "the Booth resource was deleted; creating it again with default settings");
                ensure_exists_with_retry(&api, &namespace, &name, &problem).await;
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, "Booth watch interrupted; resuming"),
        }
    }
}
