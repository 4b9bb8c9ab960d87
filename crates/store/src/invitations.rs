//! Invitations: the SQL.

use crate::db::{Conn, Row};
use crate::{StoreError, page_of, params};
use cohort_core::model::{Invitation, InvitationStatus};
use cohort_core::page::{Page, PageRequest};

const COLS: &str =
    "i.id, i.group_id, i.email, i.user_id, i.role, i.message, i.status, i.invited_by, i.created_at, i.expires_at, i.decided_at";

fn from_row(r: &Row) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: r.get(0)?,
        group_id: r.get(1)?,
        email: r.get(2)?,
        user_id: r.get(3)?,
        role: r.get(4)?,
        message: r.get(5)?,
        status: InvitationStatus::parse(&r.get::<String>(6)?).unwrap_or(InvitationStatus::Sent),
        invited_by: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        decided_at: r.get(10)?,
    })
}

pub async fn insert(c: &Conn, i: &Invitation) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO invitations (id, group_id, email, email_key, user_id, role, message, status, invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            i.id.as_str(),
            i.group_id.as_str(),
            i.email.clone(),
            i.email.as_ref().map(|e| e.to_lowercase()),
            i.user_id.clone(),
            i.role.as_str(),
            i.message.clone(),
            i.status.as_str(),
            i.invited_by.clone(),
            i.created_at,
            i.expires_at
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Invitation>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM invitations i WHERE i.id = ?"), &params![id]).await?.map(|r| from_row(&r)).transpose()
}

/// Moves a `sent` invitation to `status`; answers whether it was still open.
pub async fn decide(c: &Conn, id: &str, status: InvitationStatus, at: i64) -> Result<bool, StoreError> {
    let n = c
        .execute("UPDATE invitations SET status = ?, decided_at = ? WHERE id = ? AND status = 'sent'", &params![status.as_str(), at, id])
        .await?;
    Ok(n == 1)
}

/// An open invitation to the group for this email or user, if any.
pub async fn open_for(c: &Conn, group_id: &str, email: Option<&str>, user_id: Option<&str>, now: i64) -> Result<bool, StoreError> {
    let r = c
        .query_opt(
            "SELECT 1 FROM invitations WHERE group_id = ? AND status = 'sent' AND expires_at > ? AND (email_key = ? OR user_id = ?)",
            &params![group_id, now, email.map(str::to_lowercase), user_id],
        )
        .await?;
    Ok(r.is_some())
}

pub async fn list(c: &Conn, group_id: &str, status: Option<InvitationStatus>, page: PageRequest) -> Result<Page<Invitation>, StoreError> {
    let (filter, args) = match status {
        Some(s) => ("AND i.status = ?", vec![group_id.into(), s.as_str().into()]),
        None => ("", vec![group_id.into()]),
    };
    let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM invitations i WHERE i.group_id = ? {filter}"), &args).await?.get(0)?;
    let mut page_args = args;
    page_args.push((page.limit + 1).into());
    page_args.push(page.offset().into());
    let rows = c
        .query(
            &format!("SELECT {COLS} FROM invitations i WHERE i.group_id = ? {filter} ORDER BY i.created_at, i.id LIMIT ? OFFSET ?"),
            &page_args,
        )
        .await?;
    page_of(rows, page, Some(total), from_row)
}
