//! The audit trail and the change log, both written inside the transaction of the change.

use crate::db::{Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::AuditEvent;
use cohort_core::page::Page;

/// The next number of a named counter (`users`, `groups`, `changes`). The row lock it takes
/// lasts until commit, so numbers are handed out in commit order.
pub async fn next_counter(c: &Conn, name: &str) -> Result<i64, StoreError> {
    c.query_one("UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", &params![name]).await?.get(0)
}

/// Writes the event and its change-log row; answers the change's sequence number.
pub async fn record(c: &Conn, e: &AuditEvent, user_id: Option<&str>) -> Result<i64, StoreError> {
    insert_event(c, e).await?;
    log_change(c, e, e.action.as_str(), &e.target_id, user_id).await
}

async fn insert_event(c: &Conn, e: &AuditEvent) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_events (id, at, actor_id, action, target_type, target_id, group_id, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            e.id.as_str(),
            e.at,
            e.actor_id.clone(),
            e.action.as_str(),
            e.target_type.as_str(),
            e.target_id.as_str(),
            e.group_id.clone(),
            e.before.as_ref().map(|v| v.to_string()),
            e.after.as_ref().map(|v| v.to_string())
        ],
    )
    .await?;
    Ok(())
}

/// Appends a change-log row for event `e` under the next sequence number, and answers that
/// number. The row names its event so the change feed reads the event exactly.
async fn log_change(c: &Conn, e: &AuditEvent, kind: &str, entity_id: &str, user_id: Option<&str>) -> Result<i64, StoreError> {
    let seq = next_counter(c, "changes").await?;
    c.execute(
        &format!("INSERT INTO change_log (seq, at, kind, entity_id, group_id, user_id, event_id, space_id) VALUES (?, ?, ?, ?, ?, ?, ?, {SPACE_OF})"),
        &params![seq, e.at, kind, entity_id, e.group_id.as_deref(), user_id, e.id.as_str(), e.group_id.as_deref()],
    )
    .await?;
    c.note_change(seq);
    c.note_touch(seq, kind, e.group_id.as_deref(), user_id);
    Ok(seq)
}

/// The space of the change's group, as the change is written: a change is routed to its
/// space's subscribers by it, after the group itself is gone too.
const SPACE_OF: &str = "(SELECT space_id FROM groups WHERE id = ?)";

/// The change-log kind of a batch of membership changes: its entity is the batch's audit
/// event, whose `after` (or `before`) lists the users under `members`.
pub const MEMBER_BATCH: &str = "member.batch";

/// Writes one audit event for a batch of membership changes of `group_id`, and one
/// change-log row ([`MEMBER_BATCH`]) that names it; answers the change's sequence number.
pub async fn record_batch(c: &Conn, e: &AuditEvent) -> Result<i64, StoreError> {
    insert_event(c, e).await?;
    log_change(c, e, MEMBER_BATCH, &e.id, None).await
}

/// One change of the change feed: a change-log row with its audit event, when the row names
/// one (rows older than the feed name none and carry only what the change log says).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub entity_id: String,
    pub group_id: Option<String>,
    /// The space of the group, as it was when the change was made.
    pub space_id: Option<String>,
    pub user_id: Option<String>,
    /// The audit event's action (a batch's row says `member.batch`, its event what was done).
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Up to `limit` changes after `after_seq`, in sequence (commit) order, from `..= upto`.
pub async fn feed_after(c: &Conn, after_seq: i64, upto: i64, limit: i64) -> Result<Vec<FeedRow>, StoreError> {
    let rows = c
        .query(
            "SELECT l.seq, l.at, l.kind, l.entity_id, l.group_id, l.user_id, a.action, a.actor_id, a.target_type, a.target_id, \
             a.before_json, a.after_json, l.space_id FROM change_log l LEFT JOIN audit_events a ON a.id = l.event_id \
             WHERE l.seq > ? AND l.seq <= ? ORDER BY l.seq LIMIT ?",
            &params![after_seq, upto, limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let json = |i: usize| -> Result<Option<serde_json::Value>, StoreError> {
                Ok(r.get::<Option<String>>(i)?.and_then(|s| serde_json::from_str(&s).ok()))
            };
            Ok(FeedRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                entity_id: r.get(3)?,
                group_id: r.get(4)?,
                user_id: r.get(5)?,
                action: r.get(6)?,
                actor_id: r.get(7)?,
                target_type: r.get(8)?,
                target_id: r.get(9)?,
                before: json(10)?,
                after: json(11)?,
                space_id: r.get(12)?,
            })
        })
        .collect()
}

/// The users a batch event (see [`record_batch`]) is about.
pub async fn batch_users(c: &Conn, event_id: &str) -> Result<Vec<String>, StoreError> {
    let Some(r) = c.query_opt("SELECT before_json, after_json FROM audit_events WHERE id = ?", &params![event_id]).await? else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for i in 0..2 {
        let Some(text) = r.get::<Option<String>>(i)? else { continue };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        for m in v["members"].as_array().into_iter().flatten() {
            if let Some(u) = m["user_id"].as_str() {
                out.push(u.to_string());
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub group_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

fn from_row(r: &Row) -> Result<AuditEvent, StoreError> {
    let json = |i: usize| -> Result<Option<serde_json::Value>, StoreError> {
        Ok(r.get::<Option<String>>(i)?.and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEvent {
        id: r.get(0)?,
        at: r.get(1)?,
        actor_id: r.get(2)?,
        action: r.get(3)?,
        target_type: r.get(4)?,
        target_id: r.get(5)?,
        group_id: r.get(6)?,
        before: json(7)?,
        after: json(8)?,
    })
}

/// What audit events may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "a.id" },
    Field { name: "at", kind: Kind::Time, sql: "a.at" },
    Field { name: "created", kind: Kind::Time, sql: "a.at" },
    Field { name: "actor", kind: Kind::Text, sql: "a.actor_id" },
    Field { name: "actor_id", kind: Kind::Text, sql: "a.actor_id" },
    Field { name: "action", kind: Kind::Text, sql: "a.action" },
    Field { name: "target_type", kind: Kind::Text, sql: "a.target_type" },
    Field { name: "target_id", kind: Kind::Text, sql: "a.target_id" },
    Field { name: "group", kind: Kind::Text, sql: "a.group_id" },
    Field { name: "group_id", kind: Kind::Text, sql: "a.group_id" },
];

/// What audit events may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["at", "created"], sql: "a.at", kind: ColKind::Int },
    SortColumn { names: &["action"], sql: "a.action", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "a.id", kind: ColKind::Text },
];

pub static LIST: Source = Source {
    from: "audit_events a",
    cols: &["a.id, a.at, a.actor_id, a.action, a.target_type, a.target_id, a.group_id, a.before_json, a.after_json"],
    ncols: 9,
    id: "a.id",
    fields: FIELDS,
    sort: SORT,
    default_sort: "-at",
};

/// Newest first unless asked otherwise.
pub async fn list(c: &Conn, q: &AuditQuery, listing: &Listing) -> cohort_core::Result<Page<AuditEvent>> {
    crate::list::fetch(c, &LIST, conditions(q), listing, from_row).await
}

/// What [`list`] narrows [`LIST`] to.
pub fn conditions(q: &AuditQuery) -> Conditions {
    let mut cond = Conditions::new();
    if let Some(g) = &q.group_id {
        cond.and("a.group_id = ?", [g.into()]);
    }
    if let Some(a) = &q.actor_id {
        cond.and("a.actor_id = ?", [a.into()]);
    }
    if let Some(a) = &q.action {
        cond.and("a.action = ?", [a.into()]);
    }
    if let Some(t) = q.since {
        cond.and("a.at >= ?", [t.into()]);
    }
    if let Some(t) = q.until {
        cond.and("a.at <= ?", [t.into()]);
    }
    cond
}

/// Rows per multi-row statement: well under both databases' parameter limits.
const ROWS: usize = 400;

fn marks(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

/// Writes audit events and their change-log rows as [`record`] does for one,
/// many rows per statement; the change numbers come from one counter update, whose row
/// lock lasts until commit as the single form's does. Each pair is an event and the user it
/// is about.
pub async fn record_many(c: &Conn, events: &[(AuditEvent, Option<String>)]) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS) {
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 9);
        for (e, _) in chunk {
            args.extend(params![
                e.id.as_str(),
                e.at,
                e.actor_id.clone(),
                e.action.as_str(),
                e.target_type.as_str(),
                e.target_id.as_str(),
                e.group_id.clone(),
                e.before.as_ref().map(|v| v.to_string()),
                e.after.as_ref().map(|v| v.to_string())
            ]);
        }
        let sql = format!(
            "INSERT INTO audit_events (id, at, actor_id, action, target_type, target_id, group_id, before_json, after_json) VALUES {}",
            marks(chunk.len(), 9)
        );
        c.execute(&sql, &args).await?;
        let n = chunk.len() as i64;
        let last: i64 =
            c.query_one("UPDATE counters SET value = value + ? WHERE name = 'changes' RETURNING value", &params![n]).await?.get(0)?;
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
        for (i, (e, user)) in chunk.iter().enumerate() {
            args.extend(params![
                last - n + 1 + i as i64,
                e.at,
                e.action.as_str(),
                e.target_id.as_str(),
                e.group_id.clone(),
                user.clone(),
                e.id.as_str(),
                e.group_id.clone()
            ]);
        }
        let row = format!("(?, ?, ?, ?, ?, ?, ?, {SPACE_OF})");
        let sql = format!(
            "INSERT INTO change_log (seq, at, kind, entity_id, group_id, user_id, event_id, space_id) VALUES {}",
            vec![row; chunk.len()].join(", ")
        );
        c.execute(&sql, &args).await?;
        for (i, (e, user)) in chunk.iter().enumerate() {
            let seq = last - n + 1 + i as i64;
            c.note_change(seq);
            c.note_touch(seq, &e.action, e.group_id.as_deref(), user.as_deref());
        }
    }
    Ok(())
}

/// Users and what they held before a change, waiting for their `access.changed` events.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessPending {
    pub id: String,
    pub at: i64,
    /// The change (its last row) that may have moved their access.
    pub cause_seq: i64,
    pub group_id: Option<String>,
    /// Each user and the permissions they held, sorted.
    pub before: Vec<(String, Vec<String>)>,
}

pub async fn insert_access_pending(c: &Conn, p: &AccessPending) -> Result<(), StoreError> {
    let before: Vec<serde_json::Value> =
        p.before.iter().map(|(u, perms)| serde_json::json!({"user_id": u, "permissions": perms})).collect();
    c.execute(
        "INSERT INTO access_pending (id, at, cause_seq, group_id, before_json) VALUES (?, ?, ?, ?, ?)",
        &params![p.id.as_str(), p.at, p.cause_seq, p.group_id.clone(), serde_json::Value::from(before).to_string()],
    )
    .await?;
    Ok(())
}

/// Takes a pending entry away; false when another transaction took it first.
pub async fn take_access_pending(c: &Conn, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM access_pending WHERE id = ?", &params![id]).await? == 1)
}

/// Entries written before `before` (left by a process that stopped after its commit).
pub async fn stale_access_pending(c: &Conn, before: i64) -> Result<Vec<AccessPending>, StoreError> {
    let rows = c
        .query(
            "SELECT id, at, cause_seq, group_id, before_json FROM access_pending WHERE at < ? ORDER BY cause_seq LIMIT 100",
            &params![before],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let json: serde_json::Value = serde_json::from_str(&r.get::<String>(4)?).unwrap_or_default();
            let before = json
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let user = e["user_id"].as_str()?.to_string();
                    let perms = e["permissions"].as_array()?.iter().filter_map(|p| p.as_str().map(str::to_string)).collect();
                    Some((user, perms))
                })
                .collect();
            Ok(AccessPending { id: r.get(0)?, at: r.get(1)?, cause_seq: r.get(2)?, group_id: r.get(3)?, before })
        })
        .collect()
}
