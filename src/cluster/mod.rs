//! The cluster as the booth sees it: the kube client, the one watch per resource for the whole
//! process, the derived views of pods and nodes, and the fan-out of their changes.
//!
//! Everything that shows or acts on the cluster (web, LEDs, controllers) reads [`ClusterState`]
//! rather than asking the API, so a thousand browsers cost the API server nothing. This module
//! calls the Kubernetes API, owns evicting a pod the way its disruption budget allows
//! (`eviction`) and the app's one Kubernetes Event recorder (`recorder`). [`resource`] holds
//! what the booth's own resources share in the Kubernetes convention (conditions, timestamps,
//! merge patches).
//!
//! May call: `crate::tasks`.

pub mod api_calls;
pub mod client;
pub(crate) mod drain;
pub mod events;
pub(crate) mod eviction;
pub(crate) mod recorder;
pub(crate) mod remediation;
pub mod resource;
pub mod state;
pub(crate) mod views;
pub mod watch;

pub use events::{ChaosBus, ChaosEvent, ChaosListener, ChaosTarget, Kill, Presser};
pub use eviction::{BudgetRefusal, EvictError};
pub use resource::{Condition, ConditionStatus};
pub use state::{Change, ClusterState, Snapshot, Subscription, Update};
pub use views::{NodeStatus, NodeView, PodPhase, PodView};
pub use watch::{PodScope, WatchRestarts};
