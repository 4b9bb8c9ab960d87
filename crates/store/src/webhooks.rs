//! Webhook subscriptions, their delivery state and their delivery log: the SQL.
//!
//! A subscription's state (`delivered_upto`, `attempts`, `next_attempt_at`) is written only by
//! the instance holding its lease, and every such write names the holder: an instance whose
//! lease ran out and was taken over changes nothing.

use crate::db::{Conn, Row};
use crate::{StoreError, json_list, params, to_json_list};
use cohort_core::time::Millis;
use cohort_core::webhook::Webhook;

const COLS: &str = "id, space_id, group_id, url, secret, events, description, active, created_by, created_at, updated_at, version, \
                    delivered_upto, attempts, next_attempt_at, failing_since";

fn from_row(r: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: r.get(0)?,
        space_id: r.get(1)?,
        group_id: r.get(2)?,
        url: r.get(3)?,
        secret: r.get(4)?,
        events: json_list(&r.get::<String>(5)?),
        description: r.get(6)?,
        active: r.get::<i64>(7)? != 0,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        version: r.get(11)?,
        delivered_upto: r.get(12)?,
        attempts: r.get(13)?,
        next_attempt_at: r.get(14)?,
        failing_since: r.get(15)?,
    })
}

pub async fn insert(c: &Conn, w: &Webhook) -> Result<(), StoreError> {
    c.execute(
        &format!("INSERT INTO webhooks ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        &params![
            w.id.as_str(),
            w.space_id.clone(),
            w.group_id.clone(),
            w.url.as_str(),
            w.secret.as_str(),
            to_json_list(&w.events),
            w.description.clone(),
            w.active,
            w.created_by.clone(),
            w.created_at,
            w.updated_at,
            w.version,
            w.delivered_upto,
            w.attempts,
            w.next_attempt_at,
            w.failing_since
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Webhook>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM webhooks WHERE id = ?"), &params![id]).await?.map(|r| from_row(&r)).transpose()
}

/// Whose subscriptions a list is of.
#[derive(Debug, Clone, Copy)]
pub enum Level<'a> {
    Site,
    Space(&'a str),
    Group(&'a str),
}

/// The subscriptions of one level, oldest first.
pub async fn list(c: &Conn, level: Level<'_>) -> Result<Vec<Webhook>, StoreError> {
    let (cond, args) = match level {
        Level::Site => ("space_id IS NULL AND group_id IS NULL", vec![]),
        Level::Space(s) => ("space_id = ? AND group_id IS NULL", params![s].to_vec()),
        Level::Group(g) => ("group_id = ?", params![g].to_vec()),
    };
    c.query(&format!("SELECT {COLS} FROM webhooks WHERE {cond} ORDER BY created_at, id"), &args).await?.iter().map(from_row).collect()
}

/// Writes what a caller may change (url, secret, events, description, active) if the
/// subscription is still at version `expected`. Turning it back on retries at once.
pub async fn update(c: &Conn, w: &Webhook, expected: i64) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE webhooks SET url = ?, secret = ?, events = ?, description = ?, active = ?, updated_at = ?, version = ?, \
             next_attempt_at = CASE WHEN ? = 1 THEN 0 ELSE next_attempt_at END WHERE id = ? AND version = ?",
            &params![
                w.url.as_str(),
                w.secret.as_str(),
                to_json_list(&w.events),
                w.description.clone(),
                w.active,
                w.updated_at,
                w.version,
                w.active,
                w.id.as_str(),
                expected
            ],
        )
        .await?;
    Ok(n > 0)
}

pub async fn delete(c: &Conn, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM webhooks WHERE id = ?", &params![id]).await? > 0)
}

/// Active subscriptions with events up to `upto` to deliver, whose next attempt is due and
/// whose lease is free (or `owner`'s).
pub async fn due(c: &Conn, owner: &str, now: Millis, upto: i64) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT id FROM webhooks WHERE active = 1 AND delivered_upto < ? AND next_attempt_at <= ? AND (lease_until < ? OR lease_owner = ?) \
         ORDER BY next_attempt_at, id LIMIT 100",
        &params![upto, now, now, owner],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Takes (or extends) the lease on a subscription until `until`; false when another
/// instance holds it.
pub async fn lease(c: &Conn, id: &str, owner: &str, now: Millis, until: Millis) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE webhooks SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_until < ? OR lease_owner = ?)",
            &params![owner, until, id, now, owner],
        )
        .await?;
    Ok(n > 0)
}

/// Lets go of a lease, for another instance to take at once.
pub async fn release(c: &Conn, id: &str, owner: &str) -> Result<(), StoreError> {
    c.execute("UPDATE webhooks SET lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?", &params![id, owner]).await?;
    Ok(())
}

/// Moves a subscription past revision `upto` (delivered, not wanted, or given up on) and
/// clears its failures; false when `owner` no longer holds the lease.
pub async fn advance(c: &Conn, id: &str, owner: &str, upto: i64) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE webhooks SET delivered_upto = ?, attempts = 0, next_attempt_at = 0, failing_since = NULL \
             WHERE id = ? AND lease_owner = ? AND delivered_upto < ?",
            &params![upto, id, owner, upto],
        )
        .await?;
    Ok(n > 0)
}

/// Records a failed attempt: the next is due at `retry_at`.
pub async fn failed(c: &Conn, id: &str, owner: &str, now: Millis, retry_at: Millis) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE webhooks SET attempts = attempts + 1, next_attempt_at = ?, failing_since = COALESCE(failing_since, ?) \
             WHERE id = ? AND lease_owner = ?",
            &params![retry_at, now, id, owner],
        )
        .await?;
    Ok(n > 0)
}

/// One attempt at delivering one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub revision: i64,
    pub event_type: String,
    /// Which attempt at this event it was (1 for the first).
    pub attempt: i64,
    /// Asked for by a caller, outside the subscription's order.
    pub redelivery: bool,
    pub at: Millis,
    pub duration_ms: i64,
    /// The receiver's status code, when it answered.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// `delivered`, `failed` or `gave_up`.
    pub outcome: String,
}

const DELIVERY_COLS: &str = "id, webhook_id, revision, event_type, attempt, redelivery, at, duration_ms, status, error, outcome";

fn delivery_from_row(r: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        revision: r.get(2)?,
        event_type: r.get(3)?,
        attempt: r.get(4)?,
        redelivery: r.get::<i64>(5)? != 0,
        at: r.get(6)?,
        duration_ms: r.get(7)?,
        status: r.get(8)?,
        error: r.get(9)?,
        outcome: r.get(10)?,
    })
}

pub async fn log_delivery(c: &Conn, d: &Delivery) -> Result<(), StoreError> {
    c.execute(
        &format!("INSERT INTO webhook_deliveries ({DELIVERY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        &params![
            d.id.as_str(),
            d.webhook_id.as_str(),
            d.revision,
            d.event_type.as_str(),
            d.attempt,
            d.redelivery,
            d.at,
            d.duration_ms,
            d.status,
            d.error.clone(),
            d.outcome.as_str()
        ],
    )
    .await?;
    Ok(())
}

/// A subscription's deliveries, newest first, before `before` (an earlier page's last id).
pub async fn deliveries(c: &Conn, webhook_id: &str, before: Option<&str>, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let rows = match before {
        Some(b) => {
            c.query(
                &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = ? AND id < ? ORDER BY id DESC LIMIT ?"),
                &params![webhook_id, b, limit],
            )
            .await?
        }
        None => {
            c.query(
                &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?"),
                &params![webhook_id, limit],
            )
            .await?
        }
    };
    rows.iter().map(delivery_from_row).collect()
}

pub async fn delivery(c: &Conn, webhook_id: &str, id: &str) -> Result<Option<Delivery>, StoreError> {
    c.query_opt(&format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = ? AND id = ?"), &params![webhook_id, id])
        .await?
        .map(|r| delivery_from_row(&r))
        .transpose()
}

/// Forgets deliveries made before `before`.
pub async fn prune_deliveries(c: &Conn, before: Millis) -> Result<u64, StoreError> {
    c.execute("DELETE FROM webhook_deliveries WHERE at < ?", &params![before]).await
}
