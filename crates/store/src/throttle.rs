//! Failed sign-ins per account and per client address: the SQL. Shared by every instance,
//! so spreading guesses over several does not multiply them.

use crate::db::Conn;
use crate::{StoreError, params};
use cohort_core::time::Millis;

/// The latest `locked_until` among `keys` (0 when none waits).
pub async fn locked_until(c: &Conn, keys: &[&str]) -> Result<Millis, StoreError> {
    let mut until = 0;
    for k in keys {
        if let Some(r) = c.query_opt("SELECT locked_until FROM login_throttle WHERE key = ?", &params![*k]).await? {
            until = until.max(r.get::<i64>(0)?);
        }
    }
    Ok(until)
}

/// Counts a failure for `key` (from zero again if the last was before `forget_before`);
/// answers the failures in a row.
pub async fn fail(c: &Conn, key: &str, now: Millis, forget_before: Millis) -> Result<i64, StoreError> {
    c.query_one(
        "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES (?, 1, ?, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.last_failure_at < ? THEN 1 ELSE login_throttle.failures + 1 END, \
           last_failure_at = excluded.last_failure_at \
         RETURNING failures",
        &params![key, now, forget_before],
    )
    .await?
    .get(0)
}

pub async fn lock(c: &Conn, key: &str, until: Millis) -> Result<(), StoreError> {
    c.execute("UPDATE login_throttle SET locked_until = ? WHERE key = ?", &params![until, key]).await?;
    Ok(())
}

/// Forgets `key`'s failures (a successful sign-in).
pub async fn clear(c: &Conn, key: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM login_throttle WHERE key = ?", &params![key]).await?;
    Ok(())
}
