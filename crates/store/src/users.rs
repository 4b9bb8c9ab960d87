//! Users: the SQL.

use crate::db::{Conn, Row, Value};
use crate::{StoreError, like_pattern, page_of, params};
use cohort_core::model::{SiteRole, User};
use cohort_core::page::{Page, PageRequest};

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

pub async fn list(c: &Conn, search: Option<&str>, page: PageRequest) -> Result<Page<User>, StoreError> {
    let (where_sql, args): (&str, Vec<Value>) = match search {
        Some(s) => {
            let p = like_pattern(s);
            (
                "WHERE u.username_key LIKE ? ESCAPE '\\' OR u.email_key LIKE ? ESCAPE '\\' OR lower(u.full_name) LIKE ? ESCAPE '\\'",
                params![p.as_str(), p.as_str(), p.as_str()].to_vec(),
            )
        }
        None => ("", vec![]),
    };
    let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM users u {where_sql}"), &args).await?.get(0)?;
    let mut page_args = args;
    page_args.push((page.limit + 1).into());
    page_args.push(page.offset().into());
    let rows = c.query(&format!("SELECT {COLS} FROM users u {where_sql} ORDER BY u.created_at, u.id LIMIT ? OFFSET ?"), &page_args).await?;
    page_of(rows, page, Some(total), |r| from_row(r, 0))
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
