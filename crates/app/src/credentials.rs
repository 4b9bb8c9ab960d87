//! Credentials verified from memory: a short cache of key and token lookups, so a check costs
//! the same on both databases and keeps answering while the database is slow or gone.
//!
//! An entry is the principal a secret's hash stood for when it was last read from the
//! database. It is dropped the moment the change log says its token, key or user changed
//! (on this instance right after the commit; on others at their next poll, 250 ms), and is
//! read again at least every [`MAX_AGE`] in any case. While the database cannot answer, an
//! entry older than that is still used, for at most [`OUTAGE_GRACE`]: nothing can be revoked
//! in a database that takes no writes.

use cohort_core::auth::Principal;
use cohort_core::time::{self, Millis};
use cohort_store::access::ChangeRow;
use hashbrown::HashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// How long an entry is used before the database is asked again.
pub const MAX_AGE: Millis = 60 * 1000;
/// How long past [`MAX_AGE`] an entry still serves while the database is unavailable.
pub const OUTAGE_GRACE: Millis = 15 * 60 * 1000;
/// Entries kept at most; past it the cache starts again empty (only verified secrets are
/// ever kept, so this bounds memory, not correctness).
const CAPACITY: usize = 100_000;

#[derive(Clone)]
struct Entry {
    principal: Arc<Principal>,
    /// When the credential itself stops being valid.
    expires_at: Option<Millis>,
    read_at: Millis,
}

/// How fresh a cached entry is.
pub enum Cached {
    Fresh(Arc<Principal>),
    /// Older than [`MAX_AGE`] but within the outage grace: usable if the database fails.
    Stale(Arc<Principal>),
    Missing,
}

#[derive(Default)]
pub struct Credentials {
    entries: RwLock<HashMap<String, Entry>>,
    /// Counts evictions, so a lookup that raced one does not put back what it read before.
    generation: AtomicU64,
}

impl Credentials {
    /// The entry for a secret's hash at `now`.
    pub fn get(&self, hash: &str, now: Millis) -> Cached {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(hash) {
            Some(e) if e.expires_at.is_some_and(|t| t <= now) => Cached::Missing,
            Some(e) if now - e.read_at < MAX_AGE => Cached::Fresh(e.principal.clone()),
            Some(e) if now - e.read_at < MAX_AGE + OUTAGE_GRACE => Cached::Stale(e.principal.clone()),
            _ => Cached::Missing,
        }
    }

    /// The eviction count now; pass it to [`Credentials::put`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a lookup read, unless something was evicted since it began (`generation`):
    /// the read may predate a revocation.
    pub fn put(&self, hash: String, principal: Arc<Principal>, expires_at: Option<Millis>, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(hash, Entry { principal, expires_at, read_at: time::now() });
    }

    /// Drops what these changes make stale: a token logged out, a key revoked, and every
    /// credential of a user who changed (deactivated, a new password or site role, deleted).
    pub fn observe(&self, rows: &[ChangeRow]) {
        let (mut users, mut tokens, mut keys) = (HashSet::new(), HashSet::new(), HashSet::new());
        for row in rows {
            if row.kind.starts_with("user.") {
                users.insert(row.user_id.as_deref().unwrap_or(&row.entity_id));
            } else if row.kind == "auth.logout" {
                tokens.insert(row.entity_id.as_str());
            } else if row.kind == "api_key.revoked" {
                keys.insert(row.entity_id.as_str());
            }
        }
        if users.is_empty() && tokens.is_empty() && keys.is_empty() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| {
            let p = &e.principal;
            !(p.user_id().is_some_and(|u| users.contains(u))
                || p.token_id.as_deref().is_some_and(|t| tokens.contains(t))
                || p.key_id.as_deref().is_some_and(|k| keys.contains(k)))
        });
    }
}
