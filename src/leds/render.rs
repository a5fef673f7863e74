//! The renderer: turns the cluster picture (and chaos announcements) into frames, published on a
//! `watch` channel that the device driver and `/api/state` read.
//!
//! It renders when the cluster changes and, only while something blinks, strobes or fades, on a
//! timer; never faster than `FRAME_INTERVAL`. When nothing moves it sleeps until the next
//! change: no busy loop. It reads [`crate::cluster::ClusterState`] and the [`crate::cluster::ChaosBus`].
//!
//! May call: `crate::booth`, `crate::cluster`.

use super::colour::Colours;
use super::frame::{self, FirstSeen, Frame, GroupLayout, Strobes};
use crate::booth::Booth;
use crate::cluster::{ChaosEvent, ChaosListener, ClusterState, NodeStatus, PodView, Snapshot};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The shortest time between two frames (a 40 frames per second bound), and the animation tick.
pub(crate) const FRAME_INTERVAL: Duration = Duration::from_millis(25);

/// What a strip shows: a frame for a cluster picture at a moment.
pub trait Scene: Send + 'static {
    fn frame(&mut self, snapshot: &Snapshot, at: Duration) -> Frame;
    /// Whether the frame would change with time alone.
    fn animating(&self, snapshot: &Snapshot, at: Duration) -> bool;
    /// A chaos announcement arrived.
    fn chaos(&mut self, _event: &ChaosEvent, _at: Duration) {}
    /// Resolves when the scene's own settings changed (night mode); never, by default.
    fn settings_changed(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// The BlinkStick's scene: one group of LEDs per StatefulSet ordinal of the target namespace,
/// strobing when the chaos button picks that pod, dimmed in the Booth's night mode.
pub struct GroupScene {
    colours: Colours,
    layout: GroupLayout,
    /// Chaos picks in other namespaces are not ours to show.
    namespace: String,
    strobes: Strobes,
    booth: Option<watch::Receiver<Option<Booth>>>,
}

impl GroupScene {
    pub fn new(colours: Colours, layout: GroupLayout, namespace: &str) -> Self {
        Self { colours, layout, namespace: namespace.to_string(), strobes: Strobes::default(), booth: None }
    }

    /// Follows the Booth's `nightMode` (dimmer LEDs at night).
    pub(crate) fn with_booth(self, booth: watch::Receiver<Option<Booth>>) -> Self {
        Self { booth: Some(booth), ..self }
    }

    fn night(&self) -> bool {
        self.booth.as_ref().is_some_and(|b| b.borrow().as_ref().is_some_and(|b| b.spec.night_mode))
    }
}

impl Scene for GroupScene {
    fn frame(&mut self, snapshot: &Snapshot, at: Duration) -> Frame {
        self.strobes.expire(at);
        let colours = if self.night() { self.colours.at_night() } else { self.colours };
        frame::group_frame(&snapshot.pods, at, &colours, &self.layout, &self.strobes)
    }

    async fn settings_changed(&mut self) {
        let followed = match self.booth.as_mut() {
            Some(booth) => booth.changed().await.is_ok(),
            None => false,
        };
        if !followed {
            // No Booth to follow (or it is gone): nothing will ever change.
            std::future::pending::<()>().await;
        }
    }

    fn animating(&self, snapshot: &Snapshot, _at: Duration) -> bool {
        frame::group_animating(&snapshot.pods, &self.strobes)
    }

    /// The strobe says "this pod was taken": it starts when the API accepted the kill, or at a
    /// dry run's pick (its rehearsal), never for a pick the disruption budget then refused.
    fn chaos(&mut self, event: &ChaosEvent, at: Duration) {
        let target = match event {
            ChaosEvent::Killed { target, .. } | ChaosEvent::Picked { target, dry_run: true, .. } => target,
            ChaosEvent::Picked { .. } | ChaosEvent::Refused { .. } => return,
        };
        if target.namespace == self.namespace
            && let Some(index) = target.index
        {
            self.strobes.start(index, at);
        }
    }
}

/// The Blinkt!'s scene: the pods of one node, one LED each.
pub(crate) struct NodeScene {
    pub colours: Colours,
    pub node: String,
    pub seen: FirstSeen,
}

impl NodeScene {
    pub fn new(colours: Colours, node: String) -> Self {
        Self { colours, node, seen: FirstSeen::default() }
    }

    fn pods(&self, snapshot: &Snapshot) -> Vec<PodView> {
        snapshot.pods.iter().filter(|p| p.node.as_deref() == Some(self.node.as_str())).cloned().collect()
    }

    /// Ready unless the node says otherwise (unknown until its watch has listed it).
    fn node_ready(&self, snapshot: &Snapshot) -> bool {
        snapshot.nodes.iter().find(|n| n.name == self.node).is_none_or(|n| n.status == NodeStatus::KubeletReady)
    }
}

impl Scene for NodeScene {
    fn frame(&mut self, snapshot: &Snapshot, at: Duration) -> Frame {
        let pods = self.pods(snapshot);
        self.seen.update(&pods, at);
        frame::node_frame(&pods, self.node_ready(snapshot), at, &self.colours, &self.seen)
    }

    fn animating(&self, snapshot: &Snapshot, at: Duration) -> bool {
        frame::node_animating(&self.pods(snapshot), self.node_ready(snapshot), at, &self.seen)
    }
}

/// Renders `scene` into `frames` until `shutdown`.
pub async fn render(
    mut scene: impl Scene,
    cluster: ClusterState,
    mut chaos: Option<ChaosListener>,
    frames: watch::Sender<Frame>,
    shutdown: CancellationToken,
) {
    let start = Instant::now();
    let mut versions = cluster.versions();
    loop {
        versions.borrow_and_update();
        let snapshot = cluster.snapshot();
        let rendered_at = Instant::now();
        let at = rendered_at - start;
        let frame = scene.frame(&snapshot, at);
        frames.send_if_modified(|current| {
            let changed = *current != frame;
            if changed {
                *current = frame;
            }
            changed
        });
        let animating = scene.animating(&snapshot, at);
        let tick = tokio::time::sleep_until(rendered_at + FRAME_INTERVAL);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = versions.changed() => if changed.is_err() { return },
            event = async { chaos.as_mut().expect("only polled with a bus").next().await }, if chaos.is_some() => {
                match event {
                    // Missed announcements are just missed.
                    Some(event) => scene.chaos(&event, Instant::now() - start),
                    // A closed bus is gone for good.
                    None => chaos = None,
                }
            }
            _ = tick, if animating => {}
            _ = scene.settings_changed() => {}
        }
        // Coalesce: whatever else happens within the frame interval goes into the next frame.
        tokio::time::sleep_until(rendered_at + FRAME_INTERVAL).await;
    }
}
