//! Custom roles of a group: the SQL.

use crate::db::{Conn, Row};
use crate::{StoreError, json_list, params, to_json_list};
use cohort_core::policy::{Caps, Role};

/// A custom role as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomRole {
    pub role: Role,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

fn from_row(r: &Row) -> Result<CustomRole, StoreError> {
    let permissions = json_list(&r.get::<String>(2)?);
    let caps = Caps::from_names(&permissions).unwrap_or_default();
    Ok(CustomRole { role: Role { slug: r.get(0)?, name: r.get(1)?, caps, builtin: false }, description: r.get(3)?, permissions })
}

pub async fn get(c: &Conn, group_id: &str, slug: &str) -> Result<Option<Role>, StoreError> {
    Ok(get_full(c, group_id, slug).await?.map(|r| r.role))
}

pub async fn get_full(c: &Conn, group_id: &str, slug: &str) -> Result<Option<CustomRole>, StoreError> {
    c.query_opt("SELECT slug, name, permissions, description FROM group_roles WHERE group_id = ? AND slug = ?", &params![group_id, slug])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

pub async fn list(c: &Conn, group_id: &str) -> Result<Vec<CustomRole>, StoreError> {
    c.query("SELECT slug, name, permissions, description FROM group_roles WHERE group_id = ? ORDER BY created_at, slug", &params![group_id])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn insert(c: &Conn, group_id: &str, r: &CustomRole, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO group_roles (group_id, slug, name, description, permissions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![group_id, r.role.slug.as_str(), r.role.name.as_str(), r.description.clone(), to_json_list(&r.permissions), now, now],
    )
    .await?;
    Ok(())
}

pub async fn update(c: &Conn, group_id: &str, r: &CustomRole, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE group_roles SET name = ?, description = ?, permissions = ?, updated_at = ? WHERE group_id = ? AND slug = ?",
        &params![r.role.name.as_str(), r.description.clone(), to_json_list(&r.permissions), now, group_id, r.role.slug.as_str()],
    )
    .await?;
    Ok(())
}

pub async fn delete(c: &Conn, group_id: &str, slug: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM group_roles WHERE group_id = ? AND slug = ?", &params![group_id, slug]).await
}

/// Members holding each role in the group (every status).
pub async fn member_counts(c: &Conn, group_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    c.query("SELECT role, COUNT(*) FROM memberships WHERE group_id = ? GROUP BY role", &params![group_id])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}
