//! Users: the SQL.

use crate::db::{Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::{SiteRole, User};
use cohort_core::page::Page;

pub const COLS: &str = "u.id, u.num, u.username, u.email, u.full_name, u.avatar_url, u.external_id, u.active, u.site_role, u.created_at, u.updated_at, u.version";
pub const NCOLS: usize = 12;

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
    })
}

fn email_key(email: &Option<String>) -> Option<String> {
    email.as_ref().map(|e| e.to_lowercase())
}

pub async fn insert(c: &Conn, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO users (id, num, username, username_key, email, email_key, full_name, avatar_url, external_id, active, site_role, password_hash, created_at, updated_at, version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            u.id.as_str(), u.num, u.username.as_str(), u.username.to_lowercase(), u.email.clone(), email_key(&u.email),
            u.full_name.clone(), u.avatar_url.clone(), u.external_id.clone(), u.active, u.site_role.as_str(),
            password_hash, u.created_at, u.updated_at, u.version
        ],
    )
    .await?;
    Ok(())
}

/// Writes every field of `u` (and the password hash when given) and bumps the version.
pub async fn update(c: &Conn, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET username = ?, username_key = ?, email = ?, email_key = ?, full_name = ?, avatar_url = ?, external_id = ?, active = ?, site_role = ?, \
         password_hash = COALESCE(?, password_hash), updated_at = ?, version = ? WHERE id = ?",
        &params![
            u.username.as_str(), u.username.to_lowercase(), u.email.clone(), email_key(&u.email), u.full_name.clone(),
            u.avatar_url.clone(), u.external_id.clone(), u.active, u.site_role.as_str(), password_hash, u.updated_at, u.version, u.id.as_str()
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<User>, StoreError> {
    let row = c.query_opt(&format!("SELECT {COLS} FROM users u WHERE u.id = ?"), &params![id]).await?;
    row.map(|r| from_row(&r, 0)).transpose()
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
    let mut cond = Conditions::new();
    if let Some(term) = search {
        let plan = crate::search::plan(c, &crate::search::USERS, term).await?;
        let (sql, args) = crate::search::clause(c.backend(), &crate::search::USERS, term, plan);
        cond.and(sql, args);
    }
    crate::list::fetch(c, &LIST, cond, listing, |r| from_row(r, 0)).await
}

/// Which of `ids` exist.
pub async fn existing(c: &Conn, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&format!("SELECT id FROM users WHERE id IN ({marks})"), &args).await? {
            out.push(r.get(0)?);
        }
    }
    Ok(out)
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
