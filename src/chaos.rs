//! The chaos button's logic, without HTTP: which pods may be killed, the uniform pick, the
//! cool-down, and the kill itself (delete with a uid precondition, a `ChaosKill` Event on the
//! pod, the Booth's kill counter, announcements on the [`ChaosBus`]).
//!
//! Candidates come from [`ClusterState`] (the shared watch), never from a list call per press.
//! The side effects go through the small [`ChaosActions`] trait so the logic is tested with an
//! in-memory fake; `KubeActions` is the real one (kube API + Booth status writer). Chaos safety
//! (`spec.chaosSafety` of the Booth: minimum pod age, dry run) is read at every press.
//!
//! May call: `crate::booth`, `crate::cluster`.

use crate::booth::{BoothHandle, ChaosSafety};
use crate::cluster::api_calls::{ApiCall, Scope};
use crate::cluster::{ChaosBus, ChaosEvent, ChaosTarget, ClusterState, PodPhase, PodView, Presser};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use rand::Rng;
use rand::seq::IndexedRandom;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The Event reason recorded on every pod the button deletes.
pub(crate) const EVENT_REASON: &str = "ChaosKill";

/// How many picks one press tries when the chosen pod vanished between pick and delete.
const ATTEMPTS: usize = 3;

/// Which pod a press aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// Any candidate, uniformly.
    Random,
    /// The candidate with this StatefulSet ordinal (the control panel's numbered buttons).
    Ordinal(u32),
}

/// Why a press killed nothing. The messages are what `/chaos` answers.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("No running pods available to delete")]
    NothingToKill,
    #[error("No running pod with ordinal {0} available to delete")]
    NoSuchOrdinal(u32),
    #[error("Cooling down, try again in {:.1} s", .0.as_secs_f64())]
    CoolingDown(Duration),
    #[error("The Kubernetes API refused to delete pod {name}: {reason}")]
    Api { name: String, reason: String },
    #[error("Every running pod is younger than the minimum age of {0} s (chaos safety); try again later")]
    AllTooYoung(u64),
    /// Chaos safety's dry run: the pick was announced, nothing was deleted.
    #[error("Dry run: pod {0} was picked, nothing was deleted (chaos safety)")]
    DryRun(String),
}

/// What a press came to, as the `outcome` label of `conferenceli_chaos_presses_total`. The
/// variants are named as their exported label values: prometheus-client's derive writes the name
/// as it is.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelValue)]
pub(crate) enum PressOutcome {
    killed,
    dry_run,
    /// A visitor's press that was not theirs to make (setting off, unknown or used token).
    refused,
    nothing_to_kill,
    cooling_down,
    api_error,
}

impl PressOutcome {
    pub(crate) fn of<T>(result: &Result<T, ChaosError>) -> Self {
        match result {
            Ok(_) => PressOutcome::killed,
            Err(ChaosError::DryRun(_)) => PressOutcome::dry_run,
            Err(ChaosError::NothingToKill | ChaosError::NoSuchOrdinal(_) | ChaosError::AllTooYoung(_)) => {
                PressOutcome::nothing_to_kill
            }
            Err(ChaosError::CoolingDown(_)) => PressOutcome::cooling_down,
            Err(ChaosError::Api { .. }) => PressOutcome::api_error,
        }
    }
}

/// How a delete can fail.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The pod is already gone or was replaced (404, or 409 on the uid precondition): pick again.
    #[error("the pod is gone")]
    Gone,
    #[error("{0}")]
    Refused(String),
}

/// The API requests of the chaos button (see [`super::api_calls`]): the delete, and a core
/// Event on the pod.
pub(crate) const API_CALLS: [ApiCall; 2] =
    [ApiCall::new(Scope::Target, "", "pods", "delete"), ApiCall::new(Scope::Target, "", "events", "create")];

/// What a kill does to the world.
pub trait ChaosActions: Send + Sync {
    /// Deletes the pod only if it still has `pod.uid` (never its successor of the same name).
    fn delete_pod(&self, pod: &PodView) -> impl Future<Output = Result<(), DeleteError>> + Send;
    /// Records the kill as a Kubernetes Event on the pod; failures are only logged.
    fn record_event(&self, pod: &PodView, message: &str) -> impl Future<Output = ()> + Send;
    /// Counts the kill in the Booth status; returns the counter including this kill.
    fn count_kill(&self) -> u64;
    /// Chaos safety as set now (minimum pod age, dry run).
    fn safety(&self) -> ChaosSafety {
        ChaosSafety::default()
    }
}

/// Settings of the button.
#[derive(Debug, Clone)]
pub struct ChaosSettings {
    /// Namespace whose pods may be killed.
    pub namespace: String,
    /// This app's own pod (`POD_NAME`): never a candidate.
    pub(crate) own_pod: Option<String>,
    /// Minimum time between two kills.
    pub(crate) cooldown: Duration,
}

/// Pods a press may kill: Running (not terminating) pods of the namespace, neither ours nor
/// protected, in name order.
pub fn candidates<'a>(pods: &'a [PodView], settings: &ChaosSettings) -> Vec<&'a PodView> {
    pods.iter()
        .filter(|p| p.namespace == settings.namespace)
        .filter(|p| p.status == PodPhase::Running)
        .filter(|p| !p.protected)
        .filter(|p| settings.own_pod.as_deref() != Some(p.name.as_str()))
        .collect()
}

/// Whether a pod is at least `minimum_age` old at `now`; a pod of unknown age counts as old
/// enough only when there is no minimum.
pub(crate) fn old_enough(pod: &PodView, minimum_age: Duration, now: jiff::Timestamp) -> bool {
    if minimum_age.is_zero() {
        return true;
    }
    let Some(created) = pod.created else { return false };
    now.duration_since(created).as_secs_f64() >= minimum_age.as_secs_f64()
}

/// Chooses among the candidates: uniformly for [`Aim::Random`], by ordinal otherwise.
pub(crate) fn pick<'a>(candidates: &[&'a PodView], aim: Aim, rng: &mut impl Rng) -> Result<&'a PodView, ChaosError> {
    match aim {
        Aim::Random => candidates.choose(rng).copied().ok_or(ChaosError::NothingToKill),
        Aim::Ordinal(n) => candidates.iter().find(|p| p.index == Some(n)).copied().ok_or(ChaosError::NoSuchOrdinal(n)),
    }
}

/// The target as announced on the bus.
pub(crate) fn target_of(pod: &PodView) -> ChaosTarget {
    ChaosTarget { namespace: pod.namespace.clone(), name: pod.name.clone(), index: pod.index, node: pod.node.clone() }
}

/// The button: cool-down and kill, shared by `/chaos` and the control panel.
pub struct Chaos<A> {
    settings: ChaosSettings,
    cluster: ClusterState,
    bus: ChaosBus,
    actions: A,
    /// Until when the button is cooling down.
    cooling_until: Mutex<Option<Instant>>,
}

impl<A: ChaosActions> Chaos<A> {
    pub fn new(settings: ChaosSettings, cluster: ClusterState, bus: ChaosBus, actions: A) -> Self {
        Self { settings, cluster, bus, actions, cooling_until: Mutex::new(None) }
    }

    pub fn settings(&self) -> &ChaosSettings {
        &self.settings
    }

    /// One press by `by`: reserves the cool-down slot first (so concurrent presses cannot both
    /// kill), kills, and gives the slot back if nothing was killed (a dry run keeps it: it
    /// rehearses the pace too). Returns the killed pod.
    pub async fn press(&self, aim: Aim, by: Presser) -> Result<PodView, ChaosError> {
        let previous = self.reserve(Instant::now())?;
        let result = self.kill(aim, by).await;
        if result.as_ref().is_err_and(|e| !matches!(e, ChaosError::DryRun(_))) {
            *self.cooling_until.lock().unwrap_or_else(|p| p.into_inner()) = previous;
        }
        result
    }

    fn reserve(&self, now: Instant) -> Result<Option<Instant>, ChaosError> {
        let mut until = self.cooling_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(end) = *until
            && now < end
        {
            return Err(ChaosError::CoolingDown(end - now));
        }
        let previous = *until;
        *until = Some(now + self.settings.cooldown);
        Ok(previous)
    }

    async fn kill(&self, aim: Aim, by: Presser) -> Result<PodView, ChaosError> {
        let safety = self.actions.safety();
        let mut tried: Vec<String> = Vec::new();
        for _ in 0..ATTEMPTS {
            let pods = self.cluster.pods();
            let mut candidates = candidates(&pods, &self.settings);
            candidates.retain(|p| !tried.contains(&p.name));
            let running = !candidates.is_empty();
            let now = jiff::Timestamp::now();
            candidates.retain(|p| old_enough(p, safety.minimum_age(), now));
            if running && candidates.is_empty() {
                return Err(ChaosError::AllTooYoung(safety.minimum_age_seconds));
            }
            let pod = pick(&candidates, aim, &mut rand::rng())?.clone();
            self.bus.announce(ChaosEvent::Picked { target: target_of(&pod), by: by.clone(), dry_run: safety.dry_run });
            if safety.dry_run {
                tracing::info!(pod = %pod.name, "chaos: dry run, nothing deleted");
                return Err(ChaosError::DryRun(pod.name));
            }
            match self.actions.delete_pod(&pod).await {
                Ok(()) => {
                    let kill_count = self.actions.count_kill();
                    let at = jiff::Timestamp::now();
                    self.bus.announce(ChaosEvent::Killed { target: target_of(&pod), at, kill_count, by: by.clone() });
                    let message = match &by {
                        Presser::Visitor { first_name } => {
                            format!("Pod {} deleted by the chaos button, pressed by visitor {first_name}", pod.name)
                        }
                        Presser::Autopilot => format!("Pod {} deleted by the chaos autopilot", pod.name),
                        Presser::Button => format!("Pod {} deleted by the chaos button", pod.name),
                    };
                    self.actions.record_event(&pod, &message).await;
                    tracing::info!(pod = %pod.name, "chaos: pod deleted");
                    return Ok(pod);
                }
                Err(DeleteError::Gone) => tried.push(pod.name.clone()),
                Err(DeleteError::Refused(reason)) => return Err(ChaosError::Api { name: pod.name, reason }),
            }
        }
        Err(match aim {
            Aim::Random => ChaosError::NothingToKill,
            Aim::Ordinal(n) => ChaosError::NoSuchOrdinal(n),
        })
    }
}

/// The chaos button wired to the real cluster: `POD_NAME` names the Events' reporting instance.
pub(crate) fn kube_chaos(
    settings: ChaosSettings,
    client: kube::Client,
    cluster: ClusterState,
    booth: BoothHandle,
    bus: ChaosBus,
) -> Chaos<KubeActions> {
    let instance = settings.own_pod.clone().unwrap_or_else(|| "conferenceli".into());
    Chaos::new(settings, cluster, bus, KubeActions::new(client, booth, instance))
}

/// The real actions: the Kubernetes API and the Booth's status writer.
pub(crate) struct KubeActions {
    client: kube::Client,
    booth: BoothHandle,
    /// `reportingInstance` of the Events (the pod name, or `conferenceli`).
    instance: String,
}

impl KubeActions {
    pub fn new(client: kube::Client, booth: BoothHandle, instance: String) -> Self {
        Self { client, booth, instance }
    }
}

/// The Event recorded on a killed pod (pure, so its fields are tested).
pub(crate) fn kill_event(pod: &PodView, message: &str, instance: &str, now: jiff::Timestamp) -> Event {
    Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.chaos-", pod.name)),
            namespace: Some(pod.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            uid: Some(pod.uid.clone()).filter(|u| !u.is_empty()),
            ..ObjectReference::default()
        },
        reason: Some(EVENT_REASON.into()),
        message: Some(message.into()),
        type_: Some("Warning".into()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        source: Some(EventSource { component: Some("conferenceli".into()), host: None }),
        reporting_component: Some("conferenceli".into()),
        reporting_instance: Some(instance.into()),
        action: Some("Delete".into()),
        ..Event::default()
    }
}

impl ChaosActions for KubeActions {
    async fn delete_pod(&self, pod: &PodView) -> Result<(), DeleteError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(pod.uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        match api.delete(&pod.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Err(DeleteError::Gone),
            Err(error) => Err(DeleteError::Refused(error.to_string())),
        }
    }

    async fn record_event(&self, pod: &PodView, message: &str) {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &pod.namespace);
        let event = kill_event(pod, message, &self.instance, jiff::Timestamp::now());
        if let Err(error) = api.create(&PostParams::default(), &event).await {
            tracing::warn!(pod = %pod.name, %error, "could not record the ChaosKill event");
        }
    }

    fn safety(&self) -> ChaosSafety {
        self.booth.spec().chaos_safety
    }

    fn count_kill(&self) -> u64 {
        // The cool-down spaces kills by seconds: the previous one has long reached the Booth.
        let count = self.booth.kill_count() + 1;
        self.booth.add_kills(1);
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn pod(name: &str, index: u32, status: PodPhase) -> PodView {
        PodView {
            name: name.into(),
            namespace: "demopod".into(),
            status,
            index: Some(index),
            node: Some("n".into()),
            ready: status == PodPhase::Running,
            restarts: 0,
            protected: false,
            uid: format!("uid-{name}"),
            blinkt_color: None,
            created: None,
        }
    }

    fn settings(cooldown_ms: u64) -> ChaosSettings {
        ChaosSettings {
            namespace: "demopod".into(),
            own_pod: Some("critical-prod-0".into()),
            cooldown: Duration::from_millis(cooldown_ms),
        }
    }

    fn cluster() -> ClusterState {
        let state = ClusterState::new();
        let mut protected = pod("critical-prod-1", 1, PodPhase::Running);
        protected.protected = true;
        let mut elsewhere = pod("other-9", 9, PodPhase::Running);
        elsewhere.namespace = "kube-system".into();
        state.replace_pods(vec![
            pod("critical-prod-0", 0, PodPhase::Running),
            protected,
            pod("critical-prod-2", 2, PodPhase::Running),
            pod("critical-prod-3", 3, PodPhase::Terminating),
            pod("critical-prod-4", 4, PodPhase::Pending),
            pod("critical-prod-5", 5, PodPhase::Running),
            elsewhere,
        ]);
        state
    }

    /// Deletes from a shared in-memory set; names in `gone` answer "already gone" once.
    #[derive(Default, Clone)]
    struct Fake {
        deleted: Arc<Mutex<Vec<String>>>,
        events: Arc<Mutex<Vec<(String, String)>>>,
        kills: Arc<Mutex<u64>>,
        gone: Arc<Mutex<Vec<String>>>,
        safety: Arc<Mutex<ChaosSafety>>,
    }

    impl ChaosActions for Fake {
        async fn delete_pod(&self, pod: &PodView) -> Result<(), DeleteError> {
            let mut gone = self.gone.lock().unwrap();
            if let Some(i) = gone.iter().position(|n| n == &pod.name) {
                gone.remove(i);
                return Err(DeleteError::Gone);
            }
            self.deleted.lock().unwrap().push(pod.name.clone());
            Ok(())
        }
        async fn record_event(&self, pod: &PodView, message: &str) {
            self.events.lock().unwrap().push((pod.name.clone(), message.into()));
        }
        fn count_kill(&self) -> u64 {
            let mut kills = self.kills.lock().unwrap();
            *kills += 1;
            *kills
        }
        fn safety(&self) -> ChaosSafety {
            self.safety.lock().unwrap().clone()
        }
    }

    #[test]
    fn only_running_unprotected_foreign_pods_of_the_namespace_are_candidates() {
        let pods = cluster().pods();
        let names: Vec<&str> = candidates(&pods, &settings(0)).iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["critical-prod-2", "critical-prod-5"]);
    }

    #[test]
    fn the_random_pick_is_uniform() {
        let pods: Vec<PodView> = (0..5).map(|i| pod(&format!("p-{i}"), i, PodPhase::Running)).collect();
        let refs: Vec<&PodView> = pods.iter().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..10_000 {
            *counts.entry(pick(&refs, Aim::Random, &mut rng).unwrap().name.clone()).or_default() += 1;
        }
        assert_eq!(counts.len(), 5);
        for (name, n) in counts {
            assert!((1_800..=2_200).contains(&n), "{name} picked {n} times out of 10,000");
        }
        assert!(matches!(pick(&[], Aim::Random, &mut rng), Err(ChaosError::NothingToKill)));
        assert_eq!(pick(&refs, Aim::Ordinal(3), &mut rng).unwrap().name, "p-3");
        assert!(matches!(pick(&refs, Aim::Ordinal(9), &mut rng), Err(ChaosError::NoSuchOrdinal(9))));
    }

    #[tokio::test]
    async fn a_press_kills_announces_counts_and_records_an_event() {
        let bus = ChaosBus::new();
        let mut announcements = bus.listen();
        let fake = Fake::default();
        let chaos = Chaos::new(settings(0), cluster(), bus, fake.clone());
        let killed = chaos.press(Aim::Ordinal(5), Presser::Button).await.unwrap();
        assert_eq!(killed.name, "critical-prod-5");
        assert_eq!(*fake.deleted.lock().unwrap(), ["critical-prod-5"]);
        assert_eq!(*fake.kills.lock().unwrap(), 1);
        assert_eq!(fake.events.lock().unwrap()[0].0, "critical-prod-5");
        match announcements.try_next().unwrap() {
            ChaosEvent::Picked { target, .. } => {
                assert_eq!((target.name.as_str(), target.index), ("critical-prod-5", Some(5)))
            }
            other => panic!("expected Picked first, got {other:?}"),
        }
        assert!(matches!(announcements.try_next().unwrap(), ChaosEvent::Killed { .. }));
        for aim in [Aim::Ordinal(0), Aim::Ordinal(1), Aim::Ordinal(3), Aim::Ordinal(4)] {
            assert!(matches!(chaos.press(aim, Presser::Button).await, Err(ChaosError::NoSuchOrdinal(_))), "{aim:?}");
        }
    }

    #[tokio::test]
    async fn the_cool_down_refuses_presses_until_it_ends_and_failures_do_not_start_it() {
        let fake = Fake::default();
        let chaos = Chaos::new(settings(800), cluster(), ChaosBus::new(), fake.clone());
        assert!(matches!(chaos.press(Aim::Ordinal(8), Presser::Button).await, Err(ChaosError::NoSuchOrdinal(8))));
        chaos.press(Aim::Random, Presser::Button).await.expect("a failed press does not start the cool-down");
        match chaos.press(Aim::Random, Presser::Button).await {
            Err(error @ ChaosError::CoolingDown(left)) => {
                assert!(left <= Duration::from_millis(800));
                assert!(error.to_string().starts_with("Cooling down, try again in 0."), "{error}");
            }
            other => panic!("expected the cool-down, got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(850)).await;
        chaos.press(Aim::Random, Presser::Button).await.expect("after the cool-down");
        assert_eq!(fake.deleted.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_pod_gone_before_the_delete_makes_the_press_pick_another() {
        let fake = Fake::default();
        fake.gone.lock().unwrap().push("critical-prod-2".into());
        let chaos = Chaos::new(settings(0), cluster(), ChaosBus::new(), fake.clone());
        // Either pick lands on prod-5 eventually: prod-2 answers "gone" once and is excluded.
        for _ in 0..2 {
            chaos.press(Aim::Random, Presser::Button).await.unwrap();
        }
        let deleted = fake.deleted.lock().unwrap().clone();
        assert!(deleted.contains(&"critical-prod-5".to_string()), "{deleted:?}");
        assert!(!deleted.contains(&"critical-prod-0".to_string()), "never our own pod");
    }

    #[test]
    fn the_event_names_the_pod_and_the_reason() {
        let p = pod("critical-prod-2", 2, PodPhase::Running);
        let now: jiff::Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let event = serde_json::to_value(kill_event(&p, "boom", "booth-pod", now)).unwrap();
        assert_eq!(event["reason"], "ChaosKill");
        assert_eq!(event["type"], "Warning");
        assert_eq!(event["involvedObject"]["kind"], "Pod");
        assert_eq!(event["involvedObject"]["name"], "critical-prod-2");
        assert_eq!(event["involvedObject"]["uid"], "uid-critical-prod-2");
        assert_eq!(event["metadata"]["namespace"], "demopod");
        assert_eq!(event["lastTimestamp"], "2026-11-21T10:00:00Z");
        assert_eq!(event["reportingInstance"], "booth-pod");
    }

    #[tokio::test]
    async fn pods_younger_than_the_minimum_age_are_never_picked() {
        let state = ClusterState::new();
        let now = jiff::Timestamp::now();
        let mut young = pod("critical-prod-2", 2, PodPhase::Running);
        young.created = Some(now - jiff::SignedDuration::from_secs(10));
        let mut old = pod("critical-prod-5", 5, PodPhase::Running);
        old.created = Some(now - jiff::SignedDuration::from_secs(120));
        state.replace_pods(vec![young.clone(), old]);
        let fake = Fake::default();
        *fake.safety.lock().unwrap() = ChaosSafety { minimum_age_seconds: 60, ..ChaosSafety::default() };
        let chaos = Chaos::new(settings(0), state.clone(), ChaosBus::new(), fake.clone());
        for _ in 0..5 {
            assert_eq!(chaos.press(Aim::Random, Presser::Autopilot).await.unwrap().name, "critical-prod-5");
        }
        state.replace_pods(vec![young]);
        let refused = chaos.press(Aim::Random, Presser::Button).await.unwrap_err();
        assert!(matches!(refused, ChaosError::AllTooYoung(60)), "{refused}");
        assert!(refused.to_string().contains("minimum age of 60 s"));
        assert!(!old_enough(&pod("no-age", 1, PodPhase::Running), Duration::from_secs(1), now));
        assert!(old_enough(&pod("no-age", 1, PodPhase::Running), Duration::ZERO, now));
    }

    #[tokio::test]
    async fn a_dry_run_announces_the_pick_and_deletes_nothing() {
        let bus = ChaosBus::new();
        let mut announcements = bus.listen();
        let fake = Fake::default();
        fake.safety.lock().unwrap().dry_run = true;
        let chaos = Chaos::new(settings(60_000), cluster(), bus, fake.clone());
        let answer = chaos.press(Aim::Ordinal(5), Presser::Autopilot).await.unwrap_err();
        assert_eq!(answer.to_string(), "Dry run: pod critical-prod-5 was picked, nothing was deleted (chaos safety)");
        assert!(fake.deleted.lock().unwrap().is_empty() && fake.events.lock().unwrap().is_empty());
        assert_eq!(*fake.kills.lock().unwrap(), 0);
        match announcements.try_next().unwrap() {
            ChaosEvent::Picked { target, by, dry_run } => {
                assert_eq!((target.name.as_str(), by, dry_run), ("critical-prod-5", Presser::Autopilot, true))
            }
            other => panic!("expected Picked, got {other:?}"),
        }
        assert!(announcements.try_next().is_none(), "no Killed");
        assert!(
            matches!(chaos.press(Aim::Random, Presser::Button).await, Err(ChaosError::CoolingDown(_))),
            "a rehearsal keeps the pace"
        );
    }
}
