//! Invitations: the SQL.

use crate::db::{Conn, Row};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::{Invitation, InvitationMail, InvitationStatus, MailStatus};
use cohort_core::page::Page;

const COLS: &str = "i.id, i.group_id, i.email, i.user_id, i.role, i.message, i.status, i.invited_by, i.created_at, i.expires_at, i.decided_at, \
                    i.mail_status, i.mail_sent_at, i.mail_error, i.mail_attempts";
const NCOLS: usize = 15;

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
        mail: InvitationMail {
            status: r.get::<Option<String>>(11)?.and_then(|s| MailStatus::parse(&s)),
            sent_at: r.get(12)?,
            error: r.get(13)?,
            attempts: r.get(14)?,
        },
    })
}

/// Inserts an invitation with the hash of the link sent with it.
pub async fn insert(c: &Conn, i: &Invitation, token_hash: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO invitations (id, group_id, email, email_key, user_id, role, message, status, invited_by, created_at, expires_at, token_hash, mail_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            i.expires_at,
            token_hash,
            i.mail.status.map(|s| s.as_str())
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Invitation>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM invitations i WHERE i.id = ?"), &params![id]).await?.map(|r| from_row(&r)).transpose()
}

/// Gives an invitation a new link (the old one stops working).
pub async fn set_link(c: &Conn, id: &str, token_hash: &str) -> Result<(), StoreError> {
    c.execute("UPDATE invitations SET token_hash = ? WHERE id = ?", &params![token_hash, id]).await?;
    Ok(())
}

/// Writes how an invitation's mail is going.
pub async fn set_mail(c: &Conn, id: &str, m: &InvitationMail) -> Result<(), StoreError> {
    c.execute(
        "UPDATE invitations SET mail_status = ?, mail_sent_at = ?, mail_error = ?, mail_attempts = ? WHERE id = ?",
        &params![m.status.map(|s| s.as_str()), m.sent_at, m.error.clone(), m.attempts, id],
    )
    .await?;
    Ok(())
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

/// What invitations may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "i.id" },
    Field { name: "email", kind: Kind::Text, sql: "i.email" },
    Field { name: "user", kind: Kind::Text, sql: "i.user_id" },
    Field { name: "user_id", kind: Kind::Text, sql: "i.user_id" },
    Field { name: "role", kind: Kind::Text, sql: "i.role" },
    Field { name: "status", kind: Kind::Text, sql: "i.status" },
    Field { name: "invited_by", kind: Kind::Text, sql: "i.invited_by" },
    Field { name: "created_at", kind: Kind::Time, sql: "i.created_at" },
    Field { name: "created", kind: Kind::Time, sql: "i.created_at" },
    Field { name: "expires_at", kind: Kind::Time, sql: "i.expires_at" },
    Field { name: "decided_at", kind: Kind::Time, sql: "i.decided_at" },
];

/// What invitations may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created_at", "created"], sql: "i.created_at", kind: ColKind::Int },
    SortColumn { names: &["expires_at"], sql: "i.expires_at", kind: ColKind::Int },
    SortColumn { names: &["email"], sql: "COALESCE(i.email_key, '')", kind: ColKind::Text },
    SortColumn { names: &["status"], sql: "i.status", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "i.id", kind: ColKind::Text },
];

pub static LIST: Source =
    Source { from: "invitations i", cols: &[COLS], ncols: NCOLS, id: "i.id", fields: FIELDS, sort: SORT, default_sort: "created_at" };

/// A group's invitations, of one status when given.
pub async fn list(c: &Conn, group_id: &str, status: Option<InvitationStatus>, listing: &Listing) -> cohort_core::Result<Page<Invitation>> {
    crate::list::fetch(c, &LIST, conditions(group_id, status), listing, from_row).await
}

/// What [`list`] narrows [`LIST`] to.
pub fn conditions(group_id: &str, status: Option<InvitationStatus>) -> Conditions {
    let mut cond = Conditions::new();
    cond.and("i.group_id = ?", [group_id.into()]);
    if let Some(s) = status {
        cond.and("i.status = ?", [s.as_str().into()]);
    }
    cond
}

/// Whether `hash` is the hash of the link sent with invitation `id`.
pub async fn link_matches(c: &Conn, id: &str, hash: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM invitations WHERE id = ? AND token_hash = ?", &params![id, hash]).await?.is_some())
}
