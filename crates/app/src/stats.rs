//! Counts the service keeps of what it did, for the metrics a running server exports: checks
//! by kind and outcome, sign-ins by outcome. Plain atomics, bumped where the thing happens;
//! the HTTP layer renders them. Nothing here decides anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a check asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Permission = 0,
    Group = 1,
    Collection = 2,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Allowed = 0,
    Denied = 1,
    /// A user or group that does not exist.
    Unknown = 2,
}

/// How a sign-in came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok = 0,
    Failed = 1,
    /// Refused unheard while the account or address waits after failures.
    Throttled = 2,
}

#[derive(Debug, Default)]
pub struct Stats {
    checks: [[AtomicU64; 3]; 3],
    logins: [AtomicU64; 3],
}

impl Stats {
    pub fn checked(&self, kind: CheckKind, outcome: CheckOutcome) {
        self.checks[kind as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn logged_in(&self, outcome: LoginOutcome) {
        self.logins[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Checks so far: `(kind, outcome, count)` for every pair.
    pub fn checks(&self) -> Vec<(&'static str, &'static str, u64)> {
        let kinds = ["permission", "group", "collection"];
        let outcomes = ["allowed", "denied", "unknown"];
        let mut out = Vec::with_capacity(9);
        for (k, kind) in kinds.iter().enumerate() {
            for (o, outcome) in outcomes.iter().enumerate() {
                out.push((*kind, *outcome, self.checks[k][o].load(Ordering::Relaxed)));
            }
        }
        out
    }

    /// Sign-ins so far: `(outcome, count)`.
    pub fn logins(&self) -> Vec<(&'static str, u64)> {
        ["ok", "failed", "throttled"].iter().enumerate().map(|(i, o)| (*o, self.logins[i].load(Ordering::Relaxed))).collect()
    }
}
