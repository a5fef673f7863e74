//! The director: follows the chaos bus and, for every kill, picks the kill animation once, on
//! the server, so every kiosk plays the same one; then cues it on the [`Theatre`] with the pod's
//! name. The animation is decoration only: what happens to the container (Terminating, gone,
//! back) is what the pod watch says, never what the animation shows.
//!
//! Kill animations are dealt like a shuffled deck: every one plays once before any plays again,
//! and a new deck never starts with the last card of the previous one, so the same animation
//! never comes twice in a row and eight kills show at least seven different ones.
//!
//! May call: `crate::cluster`.

use super::catalogue::{self, SceneKind};
use super::{Cue, Theatre};
use crate::cluster::ChaosBus;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

/// The kill animations still to play in this round, and the last one played.
#[derive(Debug, Default)]
pub(crate) struct KillDeck {
    /// Drawn from the end.
    left: Vec<&'static str>,
    last: Option<&'static str>,
}

impl KillDeck {
    /// The next kill animation (pure: only `rng` and the deck decide).
    pub fn draw(&mut self, rng: &mut impl Rng) -> &'static str {
        if self.left.is_empty() {
            self.left = catalogue::of_kind(SceneKind::Kill).map(|s| s.name).collect();
            self.left.shuffle(rng);
            // The next card is the vector's last: it must not repeat the previous round's last.
            if self.left.len() > 1 && self.left.last().copied() == self.last {
                let end = self.left.len() - 1;
                self.left.swap(0, end);
            }
        }
        let name = self.left.pop().expect("the catalogue has kill animations");
        self.last = Some(name);
        name
    }
}

/// Cues a kill animation for every kill announced on `bus` until `shutdown`.
pub async fn direct(bus: ChaosBus, theatre: Theatre, shutdown: CancellationToken) {
    let mut kills = bus.listen();
    let mut deck = KillDeck::default();
    let mut rng = rand::rngs::StdRng::from_os_rng();
    loop {
        let kill = tokio::select! {
            _ = shutdown.cancelled() => return,
            kill = kills.next_kill() => kill,
        };
        let Some(kill) = kill else { return };
        theatre.cue(Cue { name: deck.draw(&mut rng), pod: Some(kill.target.name) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ChaosEvent, ChaosTarget, Presser};
    use std::collections::BTreeSet;

    fn kills() -> BTreeSet<&'static str> {
        catalogue::of_kind(SceneKind::Kill).map(|s| s.name).collect()
    }

    #[test]
    fn the_same_kill_animation_never_comes_twice_in_a_row() {
        for seed in 0..200 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut deck = KillDeck::default();
            let drawn: Vec<&str> = (0..100).map(|_| deck.draw(&mut rng)).collect();
            for pair in drawn.windows(2) {
                assert_ne!(pair[0], pair[1], "seed {seed}: {drawn:?}");
            }
            // Every round of the deck plays each animation once.
            for round in drawn.chunks(kills().len()) {
                let round: BTreeSet<&str> = round.iter().copied().collect();
                if round.len() == kills().len() {
                    assert_eq!(round, kills(), "seed {seed}");
                }
            }
            assert!(drawn.iter().all(|name| kills().contains(name)));
        }
    }

    #[test]
    fn the_order_is_random() {
        let first_rounds: BTreeSet<Vec<&str>> = (0..20)
            .map(|seed| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                let mut deck = KillDeck::default();
                (0..kills().len()).map(|_| deck.draw(&mut rng)).collect()
            })
            .collect();
        assert!(first_rounds.len() > 10, "{first_rounds:?}");
    }

    #[tokio::test]
    async fn every_kill_gets_one_cue_with_its_pod_and_nothing_else_does() {
        let bus = ChaosBus::new();
        let theatre = Theatre::new();
        let mut kiosk = theatre.subscribe();
        let shutdown = CancellationToken::new();
        let director = tokio::spawn(direct(bus.clone(), theatre.clone(), shutdown.clone()));
        tokio::task::yield_now().await;
        let target =
            |name: &str| ChaosTarget { namespace: "demopod".into(), name: name.into(), index: None, node: None };
        let mut cues = Vec::new();
        for i in 0..8 {
            bus.announce(ChaosEvent::Picked {
                target: target(&format!("web-{i}")),
                by: Presser::Button,
                dry_run: false,
            });
            bus.announce(ChaosEvent::Killed {
                target: target(&format!("web-{i}")),
                at: jiff::Timestamp::now(),
                kill_count: i,
                by: Presser::Button,
            });
            let cue = tokio::time::timeout(std::time::Duration::from_secs(5), kiosk.recv()).await.unwrap().unwrap();
            assert_eq!(cue.pod.as_deref(), Some(format!("web-{i}").as_str()));
            assert_eq!(catalogue::find(cue.name).unwrap().kind, SceneKind::Kill);
            cues.push(cue.name);
        }
        assert!(kiosk.try_recv().is_err(), "one cue per kill, none for a pick");
        assert_eq!(cues.iter().collect::<BTreeSet<_>>().len(), kills().len(), "eight kills show every one: {cues:?}");
        shutdown.cancel();
        director.await.unwrap();
    }
}
