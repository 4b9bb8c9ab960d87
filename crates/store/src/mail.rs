//! The mail outbox: messages written in the transaction that asked for them, taken by one
//! instance at a time (a lease), and removed once sent.

use crate::db::Conn;
use crate::{StoreError, params};
use cohort_core::mail::Mail;
use cohort_core::time::Millis;

/// A message waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub id: String,
    pub invitation_id: String,
    pub mail: Mail,
    pub created_at: Millis,
    /// Failed attempts so far.
    pub attempts: i64,
}

pub async fn insert(c: &Conn, o: &Outgoing) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO mail_outbox (id, invitation_id, to_address, subject, text_body, html_body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![
            o.id.as_str(),
            o.invitation_id.as_str(),
            o.mail.to.as_str(),
            o.mail.subject.as_str(),
            o.mail.text.as_str(),
            o.mail.html.as_str(),
            o.created_at
        ],
    )
    .await?;
    Ok(())
}

/// Drops what is still waiting for an invitation (a resend replaces it).
pub async fn forget_invitation(c: &Conn, invitation_id: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM mail_outbox WHERE invitation_id = ?", &params![invitation_id]).await?;
    Ok(())
}

/// Takes the lease on up to `limit` messages due at `now` that no one else holds; answers
/// them.
pub async fn take_due(c: &Conn, owner: &str, now: Millis, until: Millis, limit: i64) -> Result<Vec<Outgoing>, StoreError> {
    let ids: Vec<String> = c
        .query(
            "SELECT id FROM mail_outbox WHERE next_attempt_at <= ? AND (lease_until < ? OR lease_owner = ?) ORDER BY created_at, id LIMIT ?",
            &params![now, now, owner, limit],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        let taken = c
            .execute(
                "UPDATE mail_outbox SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_until < ? OR lease_owner = ?)",
                &params![owner, until, id.as_str(), now, owner],
            )
            .await?;
        if taken == 0 {
            continue;
        }
        let Some(r) = c
            .query_opt(
                "SELECT id, invitation_id, to_address, subject, text_body, html_body, created_at, attempts FROM mail_outbox WHERE id = ?",
                &params![id.as_str()],
            )
            .await?
        else {
            continue;
        };
        out.push(Outgoing {
            id: r.get(0)?,
            invitation_id: r.get(1)?,
            mail: Mail { to: r.get(2)?, subject: r.get(3)?, text: r.get(4)?, html: r.get(5)? },
            created_at: r.get(6)?,
            attempts: r.get(7)?,
        });
    }
    Ok(out)
}

/// Removes a message (sent, or given up on) that `owner` holds; false when it no longer does.
pub async fn remove(c: &Conn, id: &str, owner: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM mail_outbox WHERE id = ? AND lease_owner = ?", &params![id, owner]).await? > 0)
}

/// Records a failed attempt: the next is due at `retry_at`.
pub async fn failed(c: &Conn, id: &str, owner: &str, retry_at: Millis) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
            &params![retry_at, id, owner],
        )
        .await?;
    Ok(n > 0)
}
