//! Who is submitting, and how often: the client address behind the tunnel (trusting
//! `X-Forwarded-For` only from configured proxies) and a per-client limit of form submissions
//! (the booth's one sliding window, `crate::rate`, keyed by client: IPv6 per /64).
//!
//! Pure logic over addresses, headers and instants; the public router calls it.
//!
//! May call: `crate::rate`.

use crate::rate::SlidingWindow;
use axum::http::HeaderMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Networks whose `X-Forwarded-For` we believe (the tunnel's connector, a reverse proxy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    /// `10.0.0.0/8, 127.0.0.1, ::1` — addresses or CIDR networks, comma separated.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut networks = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let addr: IpAddr =
                addr.parse().map_err(|_| format!("{item:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => {
                    p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix in {item:?}"))?
                }
                None => max,
            };
            networks.push((addr, prefix));
        }
        Ok(Self(networks))
    }
}

fn in_network(ip: IpAddr, (network, prefix): (IpAddr, u8)) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

impl TrustedProxies {
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| in_network(ip, *net))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left are
    /// whatever the client claimed and are ignored).
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|entry| entry.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical())
            .collect();
        forwarded.iter().rev().find(|ip| !self.trusts(**ip)).copied().unwrap_or(peer)
    }
}

/// The rate-limit key of an address: IPv4 as is, IPv6 by its /64 (one subscriber's network).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
    }
}

/// Form submissions per client: `per_minute` in any minute (the key of [`key`]), 10,000
/// clients tracked at most.
pub(crate) struct RateLimiter(SlidingWindow<IpAddr>);

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self(SlidingWindow::new(per_minute, Duration::from_secs(60), 10_000))
    }

    /// Counts a submission of `ip` at `now`; `Err(wait)` when the client must wait.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.0.admit(key(ip), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        let visitor: IpAddr = "203.0.113.7".parse().unwrap();
        let headers = xff("198.51.100.1, 203.0.113.7, 10.1.2.3");
        assert_eq!(proxies.client_ip("10.0.0.5".parse().unwrap(), &headers), visitor);
        assert_eq!(proxies.client_ip("::1".parse().unwrap(), &xff("203.0.113.7")), visitor);
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(proxies.client_ip(stranger, &headers), stranger, "a spoofed header is ignored");
        assert_eq!(
            proxies.client_ip("10.0.0.5".parse().unwrap(), &HeaderMap::new()),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(TrustedProxies::default().client_ip(stranger, &headers), stranger);
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
        assert_eq!("".parse::<TrustedProxies>().unwrap(), TrustedProxies::default());
    }

    #[test]
    fn a_client_may_submit_per_minute_as_many_as_allowed_then_waits_for_the_oldest_to_age() {
        let limiter = RateLimiter::new(3);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.check(ip, start + Duration::from_secs(i * 10)), Ok(()));
        }
        assert_eq!(limiter.check(ip, start + Duration::from_secs(30)), Err(Duration::from_secs(30)));
        assert!(limiter.check("203.0.113.8".parse().unwrap(), start).is_ok(), "other clients are not affected");
        assert_eq!(limiter.check(ip, start + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        assert!(limiter.check("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(limiter.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(limiter.check("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
    }
}
