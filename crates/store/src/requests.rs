//! Join requests: the SQL.

use crate::db::{Conn, Row};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::{JoinRequest, RequestStatus, User};
use cohort_core::page::Page;

const COLS: &str =
    "r.id, r.group_id, r.user_id, r.message, r.referred_by, r.status, r.submitted_at, r.decided_at, r.decided_by, r.note, r.role";
const NCOLS: usize = 11;

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

/// What join requests may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "r.id" },
    Field { name: "user", kind: Kind::Text, sql: "r.user_id" },
    Field { name: "user_id", kind: Kind::Text, sql: "r.user_id" },
    Field { name: "status", kind: Kind::Text, sql: "r.status" },
    Field { name: "message", kind: Kind::Text, sql: "r.message" },
    Field { name: "referred_by", kind: Kind::Text, sql: "r.referred_by" },
    Field { name: "role", kind: Kind::Text, sql: "r.role" },
    Field { name: "decided_by", kind: Kind::Text, sql: "r.decided_by" },
    Field { name: "submitted_at", kind: Kind::Time, sql: "r.submitted_at" },
    Field { name: "created", kind: Kind::Time, sql: "r.submitted_at" },
    Field { name: "decided_at", kind: Kind::Time, sql: "r.decided_at" },
    Field { name: "user.username", kind: Kind::Text, sql: "u.username" },
    Field { name: "user.email", kind: Kind::Text, sql: "u.email" },
    Field { name: "user.full_name", kind: Kind::Text, sql: "u.full_name" },
];

/// What join requests may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["submitted_at", "created"], sql: "r.submitted_at", kind: ColKind::Int },
    SortColumn { names: &["decided_at"], sql: "COALESCE(r.decided_at, 0)", kind: ColKind::Int },
    SortColumn { names: &["status"], sql: "r.status", kind: ColKind::Text },
    SortColumn { names: &["username", "user.username"], sql: "u.username_key", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "r.id", kind: ColKind::Text },
];

pub static LIST: Source = Source {
    from: "join_requests r JOIN users u ON u.id = r.user_id",
    cols: &[COLS, crate::users::COLS],
    ncols: NCOLS + crate::users::NCOLS,
    id: "r.id",
    fields: FIELDS,
    sort: SORT,
    default_sort: "submitted_at",
};

/// Requests of a group with their users, of one status when given.
pub async fn list(
    c: &Conn,
    group_id: &str,
    status: Option<RequestStatus>,
    listing: &Listing,
) -> cohort_core::Result<Page<(JoinRequest, User)>> {
    crate::list::fetch(c, &LIST, conditions(group_id, status), listing, |r| Ok((from_row(r)?, crate::users::from_row(r, NCOLS)?))).await
}

/// What [`list`] narrows [`LIST`] to.
pub fn conditions(group_id: &str, status: Option<RequestStatus>) -> Conditions {
    let mut cond = Conditions::new();
    cond.and("r.group_id = ?", [group_id.into()]);
    if let Some(s) = status {
        cond.and("r.status = ?", [s.as_str().into()]);
    }
    cond
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
