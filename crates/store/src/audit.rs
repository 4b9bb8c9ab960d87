//! The audit trail and the change log, both written inside the transaction of the change.

use crate::db::{Conn, Row};
use crate::{StoreError, params};
use cohort_core::model::AuditEvent;
use cohort_core::page::{Page, PageRequest};

/// The next number of a named counter (`users`, `groups`, `changes`). The row lock it takes
/// lasts until commit, so numbers are handed out in commit order.
pub async fn next_counter(c: &Conn, name: &str) -> Result<i64, StoreError> {
    c.query_one("UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", &params![name]).await?.get(0)
}

/// Writes the event and its change-log row; answers the change's sequence number.
pub async fn record(c: &Conn, e: &AuditEvent, user_id: Option<&str>) -> Result<i64, StoreError> {
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
    let seq = next_counter(c, "changes").await?;
    c.execute(
        "INSERT INTO change_log (seq, at, kind, entity_id, group_id, user_id) VALUES (?, ?, ?, ?, ?, ?)",
        &params![seq, e.at, e.action.as_str(), e.target_id.as_str(), e.group_id.clone(), user_id],
    )
    .await?;
    Ok(seq)
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

/// Newest first.
pub async fn list(c: &Conn, q: &AuditQuery, page: PageRequest) -> Result<Page<AuditEvent>, StoreError> {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if let Some(g) = &q.group_id {
        clauses.push("group_id = ?");
        args.push(g.into());
    }
    if let Some(a) = &q.actor_id {
        clauses.push("actor_id = ?");
        args.push(a.into());
    }
    if let Some(a) = &q.action {
        clauses.push("action = ?");
        args.push(a.into());
    }
    if let Some(t) = q.since {
        clauses.push("at >= ?");
        args.push(t.into());
    }
    if let Some(t) = q.until {
        clauses.push("at <= ?");
        args.push(t.into());
    }
    let where_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM audit_events {where_sql}"), &args).await?.get(0)?;
    let mut page_args = args.clone();
    page_args.push((page.limit + 1).into());
    page_args.push(page.offset().into());
    let rows = c
        .query(
            &format!("SELECT id, at, actor_id, action, target_type, target_id, group_id, before_json, after_json FROM audit_events {where_sql} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?"),
            &page_args,
        )
        .await?;
    crate::page_of(rows, page, Some(total), from_row)
}
