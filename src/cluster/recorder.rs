//! The booth's Kubernetes Events: one kube-rs [`Recorder`] for the whole app, reporting as
//! controller `conferenceli` from instance `POD_NAME` (`conferenceli` when it is not set). It
//! writes `events.k8s.io/v1` Events, which `kubectl get events` shows through the core API (one
//! storage, two APIs). The chaos button's `ChaosKill` and node-loss remediation's `NodeLost` go
//! through it; nothing writes an Event by hand.
//!
//! May call: nothing else of the crate.

use super::api_calls::{ApiCall, Scope};
use super::views::PodView;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Recorder, Reporter};

/// The API requests of the recorder (see [`super::api_calls`]): it creates an Event, and patches
/// it into a series when the same Event (type, reason, action, object) repeats within minutes.
pub(crate) const API_CALLS: [ApiCall; 2] = [
    ApiCall::new(Scope::Target, "events.k8s.io", "events", "create"),
    ApiCall::new(Scope::Target, "events.k8s.io", "events", "patch"),
];

/// The app's one recorder; `pod_name` (`POD_NAME`) names the reporting instance.
pub(crate) fn recorder(client: kube::Client, pod_name: Option<String>) -> Recorder {
    Recorder::new(client, Reporter { controller: "conferenceli".into(), instance: pod_name })
}

/// The pod an Event is about (its `regarding`), with its uid: an Event about a pod that is gone
/// never attaches to its successor of the same name.
pub(crate) fn regarding(pod: &PodView) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(pod.name.clone()),
        namespace: Some(pod.namespace.clone()),
        uid: Some(pod.uid.clone()).filter(|uid| !uid.is_empty()),
        ..ObjectReference::default()
    }
}
