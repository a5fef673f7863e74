//! Per-client budgets: how many connections and SSE streams (private listener) or requests in
//! flight (public listener) each client address holds, up to a total and a per-client cap. A taken place is a
//! [`Held`] value that gives it back when dropped (the response body holds it, so a stream keeps
//! its place exactly as long as it is open). The booth's own clients ([`TrustedClients`]) count
//! towards the total but are never held to the per-client cap.
//!
//! Pure counting over addresses; the map holds only clients that hold something, so its size is
//! bounded by the total. May call: nothing else in the crate.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The addresses per-address caps never refuse: `127.0.0.1` and `::1` (the kiosk's browser and
/// the red button's `curl` on the Pi) and those of `TRUSTED_CLIENTS` (the node's, which
/// kube-proxy may present the Pi's own traffic from). Other loopback addresses (`127.0.0.2` and
/// up) stay ordinary clients, so the tests can play a crowd from them.
#[derive(Debug, Clone)]
pub struct TrustedClients(Arc<[IpAddr]>);

impl TrustedClients {
    /// The loopback addresses and `extra`.
    pub fn new(extra: &[IpAddr]) -> Self {
        let mut all = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
        all.extend(extra.iter().map(|ip| ip.to_canonical()));
        all.sort();
        all.dedup();
        Self(all.into())
    }

    /// Whether `client` is one of them (a v4-mapped IPv6 address as its IPv4 address).
    pub fn contains(&self, client: IpAddr) -> bool {
        self.0.contains(&client.to_canonical())
    }
}

/// Which cap a refused client ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// All places of the listener are taken.
    Total,
    /// This client already holds its share.
    PerClient,
}

#[derive(Debug)]
struct Budget {
    max_total: usize,
    max_per_client: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

impl Budget {
    fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self { max_total, max_per_client, counts: Mutex::default() })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One place for `client`; `capped`: whether the per-client cap applies to it.
    fn take(self: &Arc<Self>, client: IpAddr, capped: bool) -> Result<Held, Refused> {
        let mut counts = self.counts();
        let mine = counts.by_client.get(&client).copied().unwrap_or(0);
        if capped && mine >= self.max_per_client {
            return Err(Refused::PerClient);
        }
        if counts.total >= self.max_total {
            return Err(Refused::Total);
        }
        counts.total += 1;
        counts.by_client.insert(client, mine + 1);
        Ok(Held { budget: self.clone(), client })
    }

    fn give_back(&self, client: IpAddr) {
        let mut counts = self.counts();
        counts.total -= 1;
        if let Some(mine) = counts.by_client.get_mut(&client) {
            *mine -= 1;
            if *mine == 0 {
                counts.by_client.remove(&client);
            }
        }
    }
}

/// One place in a budget, given back on drop.
#[derive(Debug)]
pub struct Held {
    budget: Arc<Budget>,
    client: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.give_back(self.client);
    }
}

/// Places by TCP peer address (open SSE streams, connections): `max_total` in all,
/// `max_per_client` per address except for the trusted ones.
#[derive(Debug, Clone)]
pub struct PeerBudget {
    budget: Arc<Budget>,
    trusted: TrustedClients,
}

impl PeerBudget {
    pub fn new(max_total: usize, max_per_client: usize, trusted: TrustedClients) -> Self {
        Self { budget: Budget::new(max_total, max_per_client), trusted }
    }

    pub fn take(&self, peer: IpAddr) -> Result<Held, Refused> {
        self.budget.take(peer.to_canonical(), !self.trusted.contains(peer))
    }

    pub fn max_total(&self) -> usize {
        self.budget.max_total
    }

    pub fn max_per_client(&self) -> usize {
        self.budget.max_per_client
    }
}

/// Requests in flight per visitor (the connection limit bounds the total): IPv4 addresses as
/// they are, IPv6 by their /64 like the form's rate limit (one subscriber's network).
#[derive(Debug, Clone)]
pub struct RequestBudget {
    budget: Arc<Budget>,
}

impl RequestBudget {
    pub fn new(max_per_client: usize) -> Self {
        Self { budget: Budget::new(usize::MAX, max_per_client) }
    }

    pub fn take(&self, client: IpAddr) -> Result<Held, Refused> {
        let key = match client.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
            v4 => v4,
        };
        self.budget.take(key, true)
    }

    pub fn max_per_client(&self) -> usize {
        self.budget.max_per_client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn untrusted() -> TrustedClients {
        TrustedClients::new(&[])
    }

    #[test]
    fn streams_are_capped_per_client_then_in_total_and_come_back_when_dropped() {
        let budget = PeerBudget::new(3, 2, untrusted());
        let a1 = budget.take(ip("127.0.0.2")).unwrap();
        let _a2 = budget.take(ip("127.0.0.2")).unwrap();
        assert_eq!(budget.take(ip("127.0.0.2")).unwrap_err(), Refused::PerClient);
        let _b1 = budget.take(ip("127.0.0.3")).unwrap();
        assert_eq!(budget.take(ip("127.0.0.4")).unwrap_err(), Refused::Total);
        drop(a1);
        let _c1 = budget.take(ip("127.0.0.4")).expect("a closed stream's place is free again");
        assert_eq!(budget.take(ip("127.0.0.5")).unwrap_err(), Refused::Total);
        // A v4-mapped IPv6 peer is the same client as its IPv4 address.
        let mapped = PeerBudget::new(10, 1, untrusted());
        let _v4 = mapped.take(ip("127.0.0.2")).unwrap();
        assert_eq!(mapped.take(ip("::ffff:127.0.0.2")).unwrap_err(), Refused::PerClient);
    }

    #[test]
    fn the_map_forgets_clients_that_hold_nothing() {
        let budget = PeerBudget::new(10, 10, untrusted());
        let held: Vec<Held> = (2..10).map(|n| budget.take(ip(&format!("127.0.0.{n}"))).unwrap()).collect();
        assert_eq!(budget.budget.counts().by_client.len(), 8);
        drop(held);
        let counts = budget.budget.counts();
        assert_eq!((counts.total, counts.by_client.len()), (0, 0));
    }

    #[test]
    fn trusted_clients_are_never_capped_per_client_but_count_towards_the_total() {
        let trusted = TrustedClients::new(&[ip("192.168.1.10")]);
        let budget = PeerBudget::new(6, 1, trusted.clone());
        let mut held = Vec::new();
        for client in ["127.0.0.1", "127.0.0.1", "::1", "::1", "192.168.1.10", "::ffff:192.168.1.10"] {
            held.push(budget.take(ip(client)).unwrap_or_else(|e| panic!("{client}: {e:?}")));
        }
        assert_eq!(budget.take(ip("127.0.0.1")).unwrap_err(), Refused::Total, "the total still holds");
        drop(held.pop());
        // Other loopback addresses are ordinary clients.
        let _crowd = budget.take(ip("127.0.0.2")).unwrap();
        assert!(!trusted.contains(ip("127.0.0.2")) && trusted.contains(ip("::ffff:127.0.0.1")));
        let fresh = PeerBudget::new(6, 1, trusted);
        let _first = fresh.take(ip("127.0.0.2")).unwrap();
        assert_eq!(fresh.take(ip("127.0.0.2")).unwrap_err(), Refused::PerClient);
    }

    #[test]
    fn public_requests_are_counted_per_ipv6_64() {
        let budget = RequestBudget::new(1);
        let _first = budget.take(ip("2001:db8::1")).unwrap();
        assert_eq!(budget.take(ip("2001:db8::2")).unwrap_err(), Refused::PerClient);
        assert!(budget.take(ip("2001:db8:0:1::1")).is_ok());
    }
}
