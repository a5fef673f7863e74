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
    #[error("could not create the Booth {name:?} in namespace {namespace:?}: {source}")]
    Create {
        name: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// The latest Booth object as the app sees it (`None` until the first watch event).
#[derive(Clone)]
pub struct BoothHandle {
    api: Api<Booth>,
    name: String,
    latest: watch::Receiver<Option<Booth>>,
}

impl BoothHandle {
    /// Creates the Booth if it does not exist yet, then follows it with one watch.
    pub async fn start(client: Client, namespace: &str, name: &str) -> Result<Self, BoothError> {
        let api: Api<Booth> = Api::namespaced(client, namespace);
        ensure_exists(&api, namespace, name).await?;
        let (tx, latest) = watch::channel(None);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let stream = watcher::watcher(api.clone(), config).default_backoff();
        tokio::spawn(follow(stream, tx, api.clone(), namespace.to_string(), name.to_string()));
        Ok(Self {
            api,
            name: name.into(),
            latest,
        })
    }

    pub fn current(&self) -> Option<Booth> {
        self.latest.borrow().clone()
    }

    pub fn kill_count(&self) -> u64 {
        self.latest
            .borrow()
            .as_ref()
            .and_then(|b| b.status.as_ref())
            .map_or(0, |s| s.kill_count)
    }

    pub fn night_mode(&self) -> bool {
        self.latest.borrow().as_ref().is_some_and(|b| b.spec.night_mode)
    }

    /// Whether the first state of the Booth has arrived.
    pub fn synced(&self) -> bool {
        self.latest.borrow().is_some()
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
        Err(source) => Err(BoothError::Create {
            name: name.into(),
            namespace: namespace.into(),
            source,
        }),
    }
}

/// Feeds the Booth's watch into `tx`; a deleted Booth is created again with default settings.
async fn follow(
    stream: impl futures::Stream<Item = watcher::Result<watcher::Event<Booth>>> + Send,
    tx: watch::Sender<Option<Booth>>,
    api: Api<Booth>,
    namespace: String,
    name: String,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(booth) | watcher::Event::InitApply(booth)) => {
                tx.send_replace(Some(booth));
            }
            Ok(watcher::Event::Delete(_)) => {
                tracing::warn!(
                    booth = name,
                    "the Booth resource was deleted; creating it again with default settings"
                );
                if let Err(error) = ensure_exists(&api, &namespace, &name).await {
                    tracing::error!(%error, "could not recreate the Booth resource");
                }
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, "Booth watch interrupted; resuming"),
        }
    }
}
