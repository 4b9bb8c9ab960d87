//! How failed sign-ins slow down: per account and per client address, each failure past a
//! free allowance doubles the wait, up to a ceiling; a quiet spell forgets them.
//!
//! While an account or an address waits, every sign-in through it is refused with 429
//! `rate_limited` and `Retry-After`, a correct password included: otherwise the lock would
//! tell an attacker when they had guessed right.

use crate::time::{Millis, SECOND};

/// The rule for one kind of key (an account, or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures allowed before any wait.
    pub free: i64,
    /// The first wait; each further failure doubles it.
    pub base: Millis,
    /// The longest wait.
    pub max: Millis,
}

/// Failures this long after the last one start counting again from zero.
pub const FORGET_AFTER: Millis = 15 * 60 * SECOND;

/// Per account (the login name as typed, whether or not such a user exists): 5 free
/// failures, then 1 s, 2 s, 4 s, … up to 15 minutes.
pub const ACCOUNT: Throttle = Throttle { free: 5, base: SECOND, max: 15 * 60 * SECOND };

/// Per client address: 20 free failures (people behind one address share it), then the same.
pub const ADDRESS: Throttle = Throttle { free: 20, base: SECOND, max: 15 * 60 * SECOND };

impl Throttle {
    /// How long sign-ins wait after `failures` failures in a row.
    pub fn wait_after(&self, failures: i64) -> Millis {
        let over = failures - self.free;
        if over <= 0 {
            return 0;
        }
        let doublings = (over - 1).min(40) as u32;
        self.base.saturating_mul(1i64 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_past_the_allowance_up_to_the_ceiling() {
        assert_eq!(ACCOUNT.wait_after(5), 0);
        assert_eq!(ACCOUNT.wait_after(6), SECOND);
        assert_eq!(ACCOUNT.wait_after(7), 2 * SECOND);
        assert_eq!(ACCOUNT.wait_after(10), 16 * SECOND);
        assert_eq!(ACCOUNT.wait_after(500), 15 * 60 * SECOND);
        assert_eq!(ADDRESS.wait_after(20), 0);
        assert_eq!(ADDRESS.wait_after(21), SECOND);
    }
}
