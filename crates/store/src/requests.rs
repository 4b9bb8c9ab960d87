//! Join requests: the SQL.

use crate::db::{Conn, Row};
use crate::{StoreError, page_of, params};
use cohort_core::model::{JoinRequest, RequestStatus, User};
use cohort_core::page::{Page, PageRequest};

const COLS: &str =
    "r.id, r.group_id, r.user_id, r.message, r.referred_by, r.status, r.submitted_at, r.decided_at, r.decided_by, r.note, r.role";

fn from_row(r: &Row) -> Result<JoinRequest, StoreError> {
    Ok(JoinRequest {
        id: r.get(0)?,
        group_id: r.get(1)?,
        user_id: r.get(2)?,
        message: r.get(3)?,
        referred_by: r.get(4)?,
        status: RequestStatus::parse(&r.get::<String>(5)?).unwrap_or(RequestStatus::Pending),
        submitted_at: r.get(6)?,
        decided_at: r.get(7)?,
        decided_by: r.get(8)?,
        note: r.get(9)?,
        role: r.get(10)?,
    })
}

pub async fn insert(c: &Conn, j: &JoinRequest) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO join_requests (id, group_id, user_id, message, referred_by, status, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![
            j.id.as_str(),
            j.group_id.as_str(),
            j.user_id.as_str(),
            j.message.clone(),
            j.referred_by.clone(),
            j.status.as_str(),
            j.submitted_at
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, group_id: &str, id: &str) -> Result<Option<JoinRequest>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM join_requests r WHERE r.group_id = ? AND r.id = ?"), &params![group_id, id])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Moves a pending request to `status`; answers whether it was still pending.
pub async fn decide(c: &Conn, j: &JoinRequest) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE join_requests SET status = ?, decided_at = ?, decided_by = ?, note = ?, role = ? WHERE id = ? AND status = 'pending'",
            &params![j.status.as_str(), j.decided_at, j.decided_by.clone(), j.note.clone(), j.role.clone(), j.id.as_str()],
        )
        .await?;
    Ok(n == 1)
}

/// Requests of a group (pending first unless a status is given), with their users.
pub async fn list(
    c: &Conn,
    group_id: &str,
    status: Option<RequestStatus>,
    page: PageRequest,
) -> Result<Page<(JoinRequest, User)>, StoreError> {
    let status = status.unwrap_or(RequestStatus::Pending);
    let total: i64 = c
        .query_one("SELECT COUNT(*) FROM join_requests r WHERE r.group_id = ? AND r.status = ?", &params![group_id, status.as_str()])
        .await?
        .get(0)?;
    let sql = format!(
        "SELECT {COLS}, {} FROM join_requests r JOIN users u ON u.id = r.user_id WHERE r.group_id = ? AND r.status = ? ORDER BY r.submitted_at, r.id LIMIT ? OFFSET ?",
        crate::users::COLS
    );
    let rows = c.query(&sql, &params![group_id, status.as_str(), page.limit + 1, page.offset()]).await?;
    page_of(rows, page, Some(total), |r| Ok((from_row(r)?, crate::users::from_row(r, 11)?)))
}

/// Mean seconds from submission to decision for requests decided in `[from, to)`.
pub async fn mean_decision_seconds(c: &Conn, group_id: &str, from: i64, to: i64) -> Result<Option<f64>, StoreError> {
    let r = c
        .query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(decided_at - submitted_at), 0) AS BIGINT) FROM join_requests WHERE group_id = ? AND decided_at IS NOT NULL AND decided_at >= ? AND decided_at < ?",
            &params![group_id, from, to],
        )
        .await?;
    let n: i64 = r.get(0)?;
    let sum: f64 = r.get(1)?;
    Ok((n > 0).then(|| sum / n as f64 / 1000.0))
}
