//! Webhooks: subscriptions that receive the change feed's events over HTTP, and the rules
//! they obey — which events a subscription wants, where deliveries may go, how retries back
//! off and when they stop.

use crate::error::{Error, Result};
use crate::time::{self, Millis};
use std::net::IpAddr;

/// A subscription. Its secret signs every delivery; it is shown once, when made.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    /// Where its events come from: a group's, a space's, or (neither) the whole site's.
    pub space_id: Option<String>,
    pub group_id: Option<String>,
    pub url: String,
    pub secret: String,
    /// Event patterns: `*`, a family (`member.*`) or a type (`member.added`).
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub created_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
    /// The revision every event up to which has been delivered (or given up on).
    pub delivered_upto: i64,
    /// Failed attempts at the next event since the last success.
    pub attempts: i64,
    pub next_attempt_at: Millis,
    /// When deliveries started failing (none while they succeed).
    pub failing_since: Option<Millis>,
}

impl Webhook {
    /// Whether a change goes to this subscription: a type it wants, from its group (a
    /// group's), from its space's groups (a space's), or anything (the site's).
    pub fn wants(&self, kind: &str, group_id: Option<&str>, space_id: Option<&str>) -> bool {
        wants(&self.events, kind)
            && match (&self.group_id, &self.space_id) {
                (Some(g), _) => group_id == Some(g.as_str()),
                (None, Some(s)) => space_id == Some(s.as_str()),
                (None, None) => true,
            }
    }
}

/// The families of event types (the part before the dot).
pub const FAMILIES: &[&str] = &[
    "group",
    "member",
    "permissions",
    "join_request",
    "invitation",
    "user",
    "space",
    "role",
    "post",
    "scope_set",
    "permission",
    "api_key",
    "webhook",
];

/// The most patterns one subscription holds.
pub const MAX_EVENTS: usize = 50;

/// Validates a subscription's event patterns; none given means every event.
pub fn events(raw: Option<Vec<String>>) -> Result<Vec<String>> {
    let mut list = raw.unwrap_or_else(|| vec!["*".into()]);
    if list.is_empty() {
        return Err(Error::validation("events", "at least one event type, or * for all"));
    }
    if list.len() > MAX_EVENTS {
        return Err(Error::validation("events", format!("at most {MAX_EVENTS} event types")));
    }
    for e in &list {
        let ok = e == "*"
            || e.split_once('.').is_some_and(|(family, name)| {
                FAMILIES.contains(&family) && !name.is_empty() && (name == "*" || name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            });
        if !ok {
            return Err(Error::validation(
                "events",
                format!("{e:?} is not an event type; use *, a family as member.*, or a type as member.added"),
            ));
        }
    }
    list.sort();
    list.dedup();
    Ok(list)
}

/// Whether a subscription with these patterns wants an event of type `kind`.
pub fn wants(patterns: &[String], kind: &str) -> bool {
    patterns
        .iter()
        .any(|p| p == "*" || p == kind || p.strip_suffix(".*").is_some_and(|family| kind.split_once('.').is_some_and(|(f, _)| f == family)))
}

/// Whether an address is on the public internet. Deliveries go only there unless the
/// service is told otherwise: a webhook is a request the service makes on a caller's
/// behalf, and must not reach what only the service's own network can (its database, a
/// cloud's metadata endpoint, loopback admin ports).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments, 192.0.0.0/24; benchmarking, 198.18.0.0/15.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                // Reserved, 240.0.0.0/4.
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // NAT64 64:ff9b::/96 reaches IPv4 addresses, private ones included.
                || (first == 0x0064 && v6.segments()[1] == 0xff9b))
        }
    }
}

/// Checks a delivery address: `http` or `https`, and — unless private networks are allowed
/// — not an address literal outside the public internet (names are checked when resolved).
pub fn check_url(scheme: &str, has_host: bool, literal: Option<IpAddr>, allow_private: bool) -> Result<()> {
    if scheme != "https" && scheme != "http" {
        return Err(Error::validation("url", "an http or https URL"));
    }
    if !has_host {
        return Err(Error::validation("url", "a URL with a host"));
    }
    if let Some(ip) = literal
        && !allow_private
        && !is_public(ip)
    {
        return Err(Error::validation("url", format!("{ip} is not a public address; deliveries go to the public internet only")));
    }
    Ok(())
}

/// How long deliveries of one event are retried before it is given up on.
pub const RETRY_FOR: Millis = time::DAY;

/// How retries are spaced: the first after `base`, each next one twice as long, never more
/// than `cap` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Millis,
    pub cap: Millis,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: 5 * time::SECOND, cap: 10 * time::MINUTE }
    }
}

impl Backoff {
    /// The wait before the next attempt, after `failed` failed attempts (1 or more).
    pub fn after(self, failed: i64) -> Millis {
        let doublings = failed.clamp(1, 40) - 1;
        self.base.saturating_mul(1_i64 << doublings.min(30)).min(self.cap)
    }
}

/// What came of one attempt at a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It did not; the event is tried again later.
    Failed,
    /// It did not, and the event has been retried for [`RETRY_FOR`]: the subscription moves
    /// on past it (a redelivery can still send it).
    GaveUp,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::GaveUp => "gave_up",
        }
    }

    /// What a failed attempt at an event made at `event_at` comes to at `now`.
    pub fn of_failure(event_at: Millis, now: Millis) -> Outcome {
        if now - event_at >= RETRY_FOR { Outcome::GaveUp } else { Outcome::Failed }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_families_and_everything() {
        let p = events(Some(vec!["member.*".into(), "group.deleted".into()])).unwrap();
        assert!(wants(&p, "member.added"));
        assert!(wants(&p, "member.role_changed"));
        assert!(wants(&p, "group.deleted"));
        assert!(!wants(&p, "group.created"));
        assert!(!wants(&p, "members.added"));
        assert!(wants(&events(None).unwrap(), "user.created"));
        for bad in ["", "member", "nothing.*", "member.", "member.Added", "*.added"] {
            assert!(events(Some(vec![bad.into()])).is_err(), "{bad}");
        }
        assert!(events(Some(vec![])).is_err());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "255.255.255.255",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        assert!(check_url("https", true, Some("127.0.0.1".parse().unwrap()), false).is_err());
        assert!(check_url("https", true, Some("127.0.0.1".parse().unwrap()), true).is_ok());
        assert!(check_url("ftp", true, None, true).is_err());
    }

    #[test]
    fn retries_double_up_to_the_cap_and_stop_after_a_day() {
        let b = Backoff { base: 5_000, cap: 600_000 };
        assert_eq!(b.after(1), 5_000);
        assert_eq!(b.after(2), 10_000);
        assert_eq!(b.after(4), 40_000);
        assert_eq!(b.after(20), 600_000);
        assert_eq!(b.after(i64::MAX), 600_000);
        assert_eq!(Outcome::of_failure(0, RETRY_FOR - 1), Outcome::Failed);
        assert_eq!(Outcome::of_failure(0, RETRY_FOR), Outcome::GaveUp);
    }
}
