//! Answers kept for POSTs sent with an `Idempotency-Key`: the SQL.

use crate::db::Conn;
use crate::{StoreError, params};
use cohort_core::time::Millis;

/// A kept answer (`status` 0 while its request still runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub request_hash: String,
    pub status: i64,
    pub etag: Option<String>,
    pub body: Option<String>,
    pub created_at: Millis,
}

/// Claims `(caller, key)` for a request; answers whether it was free. A claim older than
/// `stale_before` that never finished (its process died) is taken over.
pub async fn claim(c: &Conn, caller: &str, key: &str, hash: &str, now: Millis, stale_before: Millis) -> Result<bool, StoreError> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE caller = ? AND key = ? AND ((status = 0 AND created_at < ?) OR created_at < ?)",
        &params![caller, key, stale_before, now - 24 * 3600 * 1000],
    )
    .await?;
    let n = c
        .execute(
            "INSERT INTO idempotency_keys (caller, key, request_hash, status, created_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
            &params![caller, key, hash, now],
        )
        .await?;
    Ok(n == 1)
}

pub async fn get(c: &Conn, caller: &str, key: &str) -> Result<Option<Kept>, StoreError> {
    let Some(r) = c
        .query_opt(
            "SELECT request_hash, status, etag, body, created_at FROM idempotency_keys WHERE caller = ? AND key = ?",
            &params![caller, key],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Kept { request_hash: r.get(0)?, status: r.get(1)?, etag: r.get(2)?, body: r.get(3)?, created_at: r.get(4)? }))
}

/// Keeps the answer of a claimed request.
pub async fn finish(c: &Conn, caller: &str, key: &str, status: i64, etag: Option<&str>, body: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE idempotency_keys SET status = ?, etag = ?, body = ? WHERE caller = ? AND key = ?",
        &params![status, etag, body, caller, key],
    )
    .await?;
    Ok(())
}

/// Gives up a claim (the request failed in a way worth trying again).
pub async fn release(c: &Conn, caller: &str, key: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM idempotency_keys WHERE caller = ? AND key = ? AND status = 0", &params![caller, key]).await?;
    Ok(())
}

/// Forgets answers kept since before `before`.
pub async fn sweep(c: &Conn, before: Millis) -> Result<u64, StoreError> {
    c.execute("DELETE FROM idempotency_keys WHERE created_at < ?", &params![before]).await
}
