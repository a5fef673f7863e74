//! The chaos button's logic, without HTTP: which pods may be killed, the uniform pick, the
//! cool-down, and the kill itself (an eviction, or with `chaosSafety.mode: delete` a delete,
//! with a uid precondition; a `ChaosKill` Event on the pod, the Booth's kill counter,
//! announcements on the [`ChaosBus`]).
//!
//! An eviction may be refused: the pod's PodDisruptionBudget allows no disruption now. That is
//! Kubernetes saying no, and the press says so ([`ChaosError::BudgetHeld`], 429) and announces
//! [`ChaosEvent::Refused`] instead of a kill; it keeps the cool-down slot, like a dry run (the
//! refusal is a show of its own on the kiosk, and a button mashed during it must not hammer the
//! API), and it does not try another pod: the budget's answer is the lesson.
//!
//! Candidates come from [`ClusterState`] (the shared watch), never from a list call per press.
//! The side effects go through the small [`ChaosActions`] trait so the logic is tested with an
//! in-memory fake; `KubeActions` is the real one (kube API + Booth status writer). Chaos safety
//! (`spec.chaosSafety` of the Booth: minimum pod age, dry run, evict or delete) is read at every
//! press.
//!
//! May call: `crate::booth`, `crate::cluster`.

use crate::booth::{BoothHandle, ChaosMode, ChaosSafety};
use crate::cluster::api_calls::{ApiCall, Scope};
use crate::cluster::client::Clients;
use crate::cluster::recorder::regarding;
use crate::cluster::{
    BudgetRefusal, ChaosBus, ChaosEvent, ChaosTarget, ClusterState, EvictError, PodPhase, PodView, Presser, eviction,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder};
use rand::Rng;
use rand::seq::IndexedRandom;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The Event reason recorded on every pod the button evicts or deletes.
pub(crate) const EVENT_REASON: &str = "ChaosKill";

/// How many picks one press tries when the chosen pod vanished between pick and kill.
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
    #[error("The Kubernetes API did not take pod {name} away: {reason}")]
    Api { name: String, reason: String },
    /// The pod's disruption budget allows no disruption now: nothing was killed.
    #[error("Kubernetes said no: {budget}")]
    BudgetHeld { pod: String, budget: BudgetRefusal },
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
    /// The eviction was refused: the pod's disruption budget held.
    budget_refused,
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
            Err(ChaosError::BudgetHeld { .. }) => PressOutcome::budget_refused,
        }
    }
}

/// The API requests of the chaos button (see [`super::api_calls`]): the eviction (the
/// default) and the delete (`chaosSafety.mode: delete`, so the Role keeps `delete pods`); its
/// Event on the pod is the app's one recorder's (`cluster::recorder`).
pub(crate) const API_CALLS: [ApiCall; 2] = [eviction::API_CALLS[0], ApiCall::new(Scope::Target, "", "pods", "delete")];

/// What a kill does to the world.
pub trait ChaosActions: Send + Sync {
    /// Evicts or deletes the pod, as `mode` says, only if it still has `pod.uid` (never its
    /// successor of the same name). [`EvictError::Gone`] makes the press pick again.
    fn remove_pod(&self, pod: &PodView, mode: ChaosMode) -> impl Future<Output = Result<(), EvictError>> + Send;
    /// Records the kill as a Kubernetes Event on the pod (one per kill, evicted or deleted);
    /// failures are only logged.
    fn record_event(&self, pod: &PodView, message: &str, mode: ChaosMode) -> impl Future<Output = ()> + Send;
    /// Counts the kill in the Booth status; returns the counter including this kill.
    fn count_kill(&self) -> u64;
    /// Chaos safety as set now (minimum pod age, dry run, evict or delete).
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
    /// rehearses the pace too; so does a refusal by the disruption budget, a show of its own).
    /// Returns the killed pod.
    pub async fn press(&self, aim: Aim, by: Presser) -> Result<Taken, ChaosError> {
        let previous = self.reserve(Instant::now())?;
        let result = self.kill(aim, by).await;
        if result.as_ref().is_err_and(|e| !matches!(e, ChaosError::DryRun(_) | ChaosError::BudgetHeld { .. })) {
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

    async fn kill(&self, aim: Aim, by: Presser) -> Result<Taken, ChaosError> {
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
            match self.actions.remove_pod(&pod, safety.mode).await {
                Ok(()) => {
                    let kill_count = self.actions.count_kill();
                    let at = jiff::Timestamp::now();
                    self.bus.announce(ChaosEvent::Killed { target: target_of(&pod), at, kill_count, by: by.clone() });
                    let done = removed(safety.mode);
                    let message = match &by {
                        Presser::Visitor { first_name } => {
                            format!("Pod {} {done} by the chaos button, pressed by visitor {first_name}", pod.name)
                        }
                        Presser::Autopilot => format!("Pod {} {done} by the chaos autopilot", pod.name),
                        Presser::Button => format!("Pod {} {done} by the chaos button", pod.name),
                    };
                    self.actions.record_event(&pod, &message, safety.mode).await;
                    tracing::info!(pod = %pod.name, how = done, "chaos: pod taken away");
                    return Ok(Taken { pod, mode: safety.mode });
                }
                Err(EvictError::Gone) => tried.push(pod.name.clone()),
                Err(EvictError::Refused(budget)) => {
                    tracing::info!(pod = %pod.name, %budget, "chaos: the disruption budget refused the eviction");
                    self.bus.announce(ChaosEvent::Refused { target: target_of(&pod), by, budget: budget.clone() });
                    return Err(ChaosError::BudgetHeld { pod: pod.name, budget });
                }
                Err(EvictError::Failed(reason)) => return Err(ChaosError::Api { name: pod.name, reason }),
            }
        }
        Err(match aim {
            Aim::Random => ChaosError::NothingToKill,
            Aim::Ordinal(n) => ChaosError::NoSuchOrdinal(n),
        })
    }
}

/// What a kill did to the pod, as its messages say it.
fn removed(mode: ChaosMode) -> &'static str {
    match mode {
        ChaosMode::Evict => "evicted",
        ChaosMode::Delete => "deleted",
    }
}

/// A press that killed: the pod, and whether it was evicted or deleted.
#[derive(Debug, Clone)]
pub struct Taken {
    pub pod: PodView,
    pub mode: ChaosMode,
}

impl Taken {
    /// What `/chaos` answers: "Pod critical-prod-3 evicted".
    pub fn message(&self) -> String {
        format!("Pod {} {}", self.pod.name, removed(self.mode))
    }
}

/// The chaos button wired to the real cluster; its Events go through the app's `recorder`.
pub(crate) fn kube_chaos(
    settings: ChaosSettings,
    (clients, recorder): (Clients, Recorder),
    cluster: ClusterState,
    booth: BoothHandle,
    bus: ChaosBus,
) -> Chaos<KubeActions> {
    Chaos::new(settings, cluster, bus, KubeActions { clients, recorder, booth })
}

/// The real actions: the Kubernetes API, the app's Event recorder and the Booth's status writer.
pub(crate) struct KubeActions {
    clients: Clients,
    recorder: Recorder,
    booth: BoothHandle,
}

/// The Event recorded on a killed pod, about [`regarding`] it (pure, so its fields are tested).
pub(crate) fn kill_event(message: &str, mode: ChaosMode) -> Event {
    Event {
        type_: EventType::Warning,
        reason: EVENT_REASON.into(),
        note: Some(message.into()),
        action: match mode {
            ChaosMode::Evict => "Evict",
            ChaosMode::Delete => "Delete",
        }
        .into(),
        secondary: None,
    }
}

impl ChaosActions for KubeActions {
    async fn remove_pod(&self, pod: &PodView, mode: ChaosMode) -> Result<(), EvictError> {
        if mode == ChaosMode::Evict {
            return eviction::evict(&self.clients.evictions, &pod.namespace, &pod.name, &pod.uid).await;
        }
        let api: Api<Pod> = Api::namespaced(self.clients.client.clone(), &pod.namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(pod.uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        match api.delete(&pod.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Err(EvictError::Gone),
            Err(error) => Err(EvictError::Failed(error.to_string())),
        }
    }

    async fn record_event(&self, pod: &PodView, message: &str, mode: ChaosMode) {
        if let Err(error) = self.recorder.publish(&kill_event(message, mode), &regarding(pod)).await {
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

    /// Deletes from a shared in-memory set; names in `gone` answer "already gone" once; while
    /// `budget` is set, evictions are refused by it (deletes are not).
    #[derive(Default, Clone)]
    struct Fake {
        deleted: Arc<Mutex<Vec<String>>>,
        events: Arc<Mutex<Vec<(String, String)>>>,
        kills: Arc<Mutex<u64>>,
        gone: Arc<Mutex<Vec<String>>>,
        safety: Arc<Mutex<ChaosSafety>>,
        budget: Arc<Mutex<Option<BudgetRefusal>>>,
    }

    impl ChaosActions for Fake {
        async fn remove_pod(&self, pod: &PodView, mode: ChaosMode) -> Result<(), EvictError> {
            let mut gone = self.gone.lock().unwrap();
            if let Some(i) = gone.iter().position(|n| n == &pod.name) {
                gone.remove(i);
                return Err(EvictError::Gone);
            }
            if let (ChaosMode::Evict, Some(budget)) = (mode, self.budget.lock().unwrap().clone()) {
                return Err(EvictError::Refused(budget));
            }
            self.deleted.lock().unwrap().push(pod.name.clone());
            Ok(())
        }
        async fn record_event(&self, pod: &PodView, message: &str, _: ChaosMode) {
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
        assert_eq!(killed.message(), "Pod critical-prod-5 evicted");
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
    fn the_event_names_the_pod_the_reason_and_the_action() {
        let event = kill_event("boom", ChaosMode::Evict);
        assert_eq!(
            (event.type_, event.reason.as_str(), event.action.as_str()),
            (EventType::Warning, "ChaosKill", "Evict")
        );
        assert_eq!(event.note.as_deref(), Some("boom"));
        assert_eq!(kill_event("boom", ChaosMode::Delete).action, "Delete");
        let about = regarding(&pod("critical-prod-2", 2, PodPhase::Running));
        assert_eq!((about.kind.as_deref(), about.name.as_deref()), (Some("Pod"), Some("critical-prod-2")));
        assert_eq!((about.namespace.as_deref(), about.uid.as_deref()), (Some("demopod"), Some("uid-critical-prod-2")));
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
            assert_eq!(chaos.press(Aim::Random, Presser::Autopilot).await.unwrap().pod.name, "critical-prod-5");
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

    #[tokio::test]
    async fn a_refused_eviction_kills_nothing_says_why_and_keeps_the_pace() {
        let bus = ChaosBus::new();
        let mut announcements = bus.listen();
        let fake = Fake::default();
        let budget = BudgetRefusal {
            budget: Some("critical-prod".into()),
            needs: Some(3),
            has: Some(3),
            message: "The disruption budget critical-prod needs 3 healthy pods and has 3 currently".into(),
        };
        *fake.budget.lock().unwrap() = Some(budget.clone());
        let chaos = Chaos::new(settings(60_000), cluster(), bus, fake.clone());
        let refused = chaos.press(Aim::Ordinal(5), Presser::Button).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Kubernetes said no: the disruption budget critical-prod needs 3 healthy pods and has 3"
        );
        assert_eq!(PressOutcome::of::<()>(&Err(refused)), PressOutcome::budget_refused);
        assert!(fake.deleted.lock().unwrap().is_empty() && fake.events.lock().unwrap().is_empty(), "no kill, no Event");
        assert_eq!(*fake.kills.lock().unwrap(), 0, "not counted as a kill");
        assert!(matches!(announcements.try_next(), Some(ChaosEvent::Picked { dry_run: false, .. })));
        match announcements.try_next() {
            Some(ChaosEvent::Refused { target, by, budget: said }) => {
                assert_eq!((target.name.as_str(), by, said), ("critical-prod-5", Presser::Button, budget))
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        assert!(announcements.try_next().is_none(), "no Killed");
        assert!(matches!(chaos.press(Aim::Random, Presser::Button).await, Err(ChaosError::CoolingDown(_))));

        // With chaosSafety.mode delete, no budget applies.
        fake.safety.lock().unwrap().mode = ChaosMode::Delete;
        let chaos = Chaos::new(settings(0), cluster(), ChaosBus::new(), fake.clone());
        assert_eq!(chaos.press(Aim::Ordinal(5), Presser::Autopilot).await.unwrap().pod.name, "critical-prod-5");
        let (pod, message) = fake.events.lock().unwrap()[0].clone();
        assert_eq!(
            (pod.as_str(), message.as_str()),
            ("critical-prod-5", "Pod critical-prod-5 deleted by the chaos autopilot")
        );
    }
}
