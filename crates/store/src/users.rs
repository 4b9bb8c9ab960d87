//! Users: the SQL.

use crate::db::{Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::{SiteRole, User};
use cohort_core::page::Page;

pub const COLS: &str = "u.id, u.num, u.username, u.email, u.full_name, u.avatar_url, u.external_id, u.active, u.site_role, u.created_at, u.updated_at, u.version, u.email_verified";
pub const NCOLS: usize = 13;

/// Decodes the [`COLS`] found from column `at` on.
pub fn from_row(r: &Row, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.get(at)?,
        num: r.get(at + 1)?,
        username: r.get(at + 2)?,
        email: r.get(at + 3)?,
        full_name: r.get(at + 4)?,
        avatar_url: r.get(at + 5)?,
        external_id: r.get(at + 6)?,
        active: r.get(at + 7)?,
        site_role: SiteRole::parse(&r.get::<String>(at + 8)?).unwrap_or(SiteRole::User),
        created_at: r.get(at + 9)?,
        updated_at: r.get(at + 10)?,
        version: r.get(at + 11)?,
        email_verified: r.get(at + 12)?,
    })
}

fn email_key(email: &Option<String>) -> Option<String> {
    email.as_ref().map(|e| e.to_lowercase())
}

/// Inserts a user; `scim_space` names the space whose scim key provisions them.
pub async fn insert(c: &Conn, u: &User, password_hash: Option<&str>, scim_space: Option<&str>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO users (id, num, username, username_key, email, email_key, full_name, avatar_url, external_id, active, site_role, password_hash, created_at, updated_at, version, email_verified, scim_space_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            u.id.as_str(), u.num, u.username.as_str(), u.username.to_lowercase(), u.email.clone(), email_key(&u.email),
            u.full_name.clone(), u.avatar_url.clone(), u.external_id.clone(), u.active, u.site_role.as_str(),
            password_hash, u.created_at, u.updated_at, u.version, u.email_verified, scim_space
        ],
    )
    .await?;
    Ok(())
}

/// Writes every field of `u` (and the password hash when given) and bumps the version.
pub async fn update(c: &Conn, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET username = ?, username_key = ?, email = ?, email_key = ?, full_name = ?, avatar_url = ?, external_id = ?, active = ?, site_role = ?, \
         password_hash = COALESCE(?, password_hash), updated_at = ?, version = ?, email_verified = ? WHERE id = ?",
        &params![
            u.username.as_str(), u.username.to_lowercase(), u.email.clone(), email_key(&u.email), u.full_name.clone(),
            u.avatar_url.clone(), u.external_id.clone(), u.active, u.site_role.as_str(), password_hash, u.updated_at, u.version,
            u.email_verified, u.id.as_str()
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<User>, StoreError> {
    let row = c.query_opt(&format!("SELECT {COLS} FROM users u WHERE u.id = ?"), &params![id]).await?;
    row.map(|r| from_row(&r, 0)).transpose()
}

/// The password hash of a user, if they have one.
pub async fn password_hash(c: &Conn, id: &str) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt("SELECT password_hash FROM users WHERE id = ?", &params![id]).await?.map(|r| r.get(0)).transpose()?.flatten())
}

/// A user by username or email (case-insensitive), with the password hash.
pub async fn by_login(c: &Conn, login: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
    let key = login.trim().to_lowercase();
    let row = c
        .query_opt(
            &format!("SELECT {COLS}, u.password_hash FROM users u WHERE u.username_key = ? OR u.email_key = ? ORDER BY u.num LIMIT 1"),
            &params![key.as_str(), key.as_str()],
        )
        .await?;
    row.map(|r| Ok((from_row(&r, 0)?, r.get(NCOLS)?))).transpose()
}

pub async fn delete(c: &Conn, id: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM users WHERE id = ?", &params![id]).await
}

/// What users may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "u.id" },
    Field { name: "username", kind: Kind::Text, sql: "u.username" },
    Field { name: "email", kind: Kind::Text, sql: "u.email" },
    Field { name: "full_name", kind: Kind::Text, sql: "u.full_name" },
    Field { name: "name", kind: Kind::Text, sql: "u.full_name" },
    Field { name: "external_id", kind: Kind::Text, sql: "u.external_id" },
    Field { name: "active", kind: Kind::Bool, sql: "u.active" },
    Field { name: "site_role", kind: Kind::Text, sql: "u.site_role" },
    Field { name: "email_verified", kind: Kind::Bool, sql: "u.email_verified" },
    Field { name: "created_at", kind: Kind::Time, sql: "u.created_at" },
    Field { name: "created", kind: Kind::Time, sql: "u.created_at" },
    Field { name: "updated_at", kind: Kind::Time, sql: "u.updated_at" },
    Field { name: "updated", kind: Kind::Time, sql: "u.updated_at" },
];

/// What users may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created_at", "created"], sql: "u.created_at", kind: ColKind::Int },
    SortColumn { names: &["updated_at", "updated"], sql: "u.updated_at", kind: ColKind::Int },
    SortColumn { names: &["username"], sql: "u.username_key", kind: ColKind::Text },
    SortColumn { names: &["email"], sql: "COALESCE(u.email_key, '')", kind: ColKind::Text },
    SortColumn { names: &["full_name", "name"], sql: "COALESCE(u.full_name, '')", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "u.id", kind: ColKind::Text },
];

pub static LIST: Source =
    Source { from: "users u", cols: &[COLS], ncols: NCOLS, id: "u.id", fields: FIELDS, sort: SORT, default_sort: "created_at" };

/// Users, optionally matching `search` in username, email or full name.
pub async fn list(c: &Conn, search: Option<&str>, listing: &Listing) -> cohort_core::Result<Page<User>> {
    let plan = match search {
        Some(term) => Some(crate::search::plan(c, crate::search::users(!listing.hide_private), term).await?),
        None => None,
    };
    crate::list::fetch(c, &LIST, conditions(c.backend(), search, listing, plan), listing, |r| from_row(r, 0)).await
}

/// What [`list`] narrows [`LIST`] to (`plan`: how a search runs, when there is one).
pub fn conditions(backend: crate::Backend, search: Option<&str>, listing: &Listing, plan: Option<crate::search::Plan>) -> Conditions {
    let mut cond = Conditions::new();
    if let Some(term) = search {
        let searched = crate::search::users(!listing.hide_private);
        let (sql, args) = crate::search::clause(backend, searched, term, plan.unwrap_or(crate::search::Plan::Rows));
        cond.and(sql, args);
    }
    cond
}

/// Which of `ids` exist.
pub async fn existing(c: &Conn, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let sql = format!("SELECT u.id FROM {} CROSS JOIN users u WHERE u.id = j.value", crate::each(c.backend(), "j"));
    c.query(&sql, &[crate::texts(ids)]).await?.iter().map(|r| r.get(0)).collect()
}

/// The numbers of these users, by id.
pub async fn nums(c: &Conn, ids: &[String]) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&format!("SELECT id, num FROM users WHERE id IN ({marks})"), &args).await? {
            out.insert(r.get(0)?, r.get(1)?);
        }
    }
    Ok(out)
}

/// Keeps the hash of an email confirmation for `user_id`'s current `email`.
pub async fn insert_verification(c: &Conn, hash: &str, user_id: &str, email: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO email_verifications (token_hash, user_id, email_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        &params![hash, user_id, email.to_lowercase(), now, expires_at],
    )
    .await?;
    Ok(())
}

/// Uses an unexpired, unused confirmation: marks it used and, if the user's email is still the
/// one it was made for, the email verified. Answers the user it confirmed.
pub async fn use_verification(c: &Conn, hash: &str, now: i64) -> Result<Option<String>, StoreError> {
    let Some(r) = c
        .query_opt(
            "UPDATE email_verifications SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id, email_key",
            &params![now, hash, now],
        )
        .await?
    else {
        return Ok(None);
    };
    let (user_id, email_key): (String, String) = (r.get(0)?, r.get(1)?);
    let n = c
        .execute(
            "UPDATE users SET email_verified = 1, version = version + 1, updated_at = ? WHERE id = ? AND email_key = ?",
            &params![now, user_id.as_str(), email_key.as_str()],
        )
        .await?;
    Ok((n > 0).then_some(user_id))
}
