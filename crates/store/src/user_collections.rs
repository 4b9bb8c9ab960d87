//! Collections granted to a user directly: the SQL. A grant of the site is kept under the
//! space key `''`.

use crate::db::{Conn, Row};
use crate::{StoreError, params};
use cohort_core::model::CollectionGrant;

/// A direct grant as kept: the grant, and the space whose moderators may change it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectGrant {
    pub user_id: String,
    pub grant: CollectionGrant,
    pub space_id: Option<String>,
}

fn from_row(r: &Row) -> Result<DirectGrant, StoreError> {
    let space: String = r.get(2)?;
    Ok(DirectGrant {
        user_id: r.get(0)?,
        grant: CollectionGrant { id: r.get(1)?, read_only: r.get(3)?, hide_passwords: r.get(4)?, manage: r.get(5)? },
        space_id: (!space.is_empty()).then_some(space),
    })
}

const COLS: &str = "user_id, collection_id, space_key, read_only, hide_passwords, manage";

/// A user's direct grants, by collection.
pub async fn of_user(c: &Conn, user_id: &str) -> Result<Vec<DirectGrant>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM user_collections WHERE user_id = ? ORDER BY collection_id"), &params![user_id])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Every direct grant, by user (for building the access index).
pub async fn all(c: &Conn) -> Result<Vec<DirectGrant>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM user_collections ORDER BY user_id, collection_id"), &[]).await?.iter().map(from_row).collect()
}

/// Grants (or replaces the grant of) a collection to a user.
pub async fn put(c: &Conn, g: &DirectGrant, at: i64, by: Option<String>) -> Result<(), StoreError> {
    let space = g.space_id.clone().unwrap_or_default();
    c.execute(
        "INSERT INTO user_collections (user_id, collection_id, space_key, read_only, hide_passwords, manage, granted_at, granted_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, collection_id) DO UPDATE SET space_key = excluded.space_key, \
         read_only = excluded.read_only, hide_passwords = excluded.hide_passwords, manage = excluded.manage, \
         granted_at = excluded.granted_at, granted_by = excluded.granted_by",
        &params![g.user_id.as_str(), g.grant.id.as_str(), space, g.grant.read_only, g.grant.hide_passwords, g.grant.manage, at, by],
    )
    .await?;
    Ok(())
}

/// Takes a direct grant back; answers whether there was one.
pub async fn remove(c: &Conn, user_id: &str, collection_id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM user_collections WHERE user_id = ? AND collection_id = ?", &params![user_id, collection_id]).await? > 0)
}
