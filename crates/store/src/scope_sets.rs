//! Scope sets and the groups they are attached to: the SQL. Site-level sets are kept under
//! the space key `''`.

use crate::db::{Conn, Row};
use crate::{StoreError, json_list, params, to_json_list};
use cohort_core::auth::Scopes;
use cohort_core::model::ScopeSet;

const COLS: &str = "id, space_key, name, description, scopes, created_at, updated_at, version";

fn key(space_id: Option<&str>) -> &str {
    space_id.unwrap_or("")
}

fn from_row(r: &Row) -> Result<ScopeSet, StoreError> {
    let space: String = r.get(1)?;
    Ok(ScopeSet {
        id: r.get(0)?,
        space_id: (!space.is_empty()).then_some(space),
        name: r.get(2)?,
        description: r.get(3)?,
        scopes: Scopes::parse_list(&json_list(&r.get::<String>(4)?)).unwrap_or_default(),
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        version: r.get(7)?,
    })
}

/// The sets of one level (the site's for `None`), by name.
pub async fn list(c: &Conn, space_id: Option<&str>) -> Result<Vec<ScopeSet>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM scope_sets WHERE space_key = ? ORDER BY name_key, id"), &params![key(space_id)])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<ScopeSet>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM scope_sets WHERE id = ?"), &params![id]).await?.map(|r| from_row(&r)).transpose()
}

/// Writes a new set (a name taken at its level is a unique-constraint conflict).
pub async fn insert(c: &Conn, s: &ScopeSet) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO scope_sets (id, space_key, name, name_key, description, scopes, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            s.id.as_str(),
            key(s.space_id.as_deref()),
            s.name.as_str(),
            cohort_core::input::name_key(&s.name),
            s.description.clone(),
            to_json_list(&s.scopes.names()),
            s.created_at,
            s.updated_at,
            s.version
        ],
    )
    .await?;
    Ok(())
}

/// Writes a set's name, description and scopes if it is still at version `expected`.
pub async fn update(c: &Conn, s: &ScopeSet, expected: i64) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE scope_sets SET name = ?, name_key = ?, description = ?, scopes = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?",
            &params![
                s.name.as_str(),
                cohort_core::input::name_key(&s.name),
                s.description.clone(),
                to_json_list(&s.scopes.names()),
                s.updated_at,
                s.version,
                s.id.as_str(),
                expected
            ],
        )
        .await?;
    Ok(n > 0)
}

/// Deletes a set; its attachments go with it.
pub async fn delete(c: &Conn, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM scope_sets WHERE id = ?", &params![id]).await? > 0)
}

/// Deletes a space's sets (the space is going, with no group left to hold them).
pub async fn delete_of_space(c: &Conn, space_id: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM scope_sets WHERE space_key = ?", &params![space_id]).await
}

/// The groups a set is attached to, by id.
pub async fn groups_of(c: &Conn, id: &str) -> Result<Vec<String>, StoreError> {
    c.query("SELECT group_id FROM group_scope_sets WHERE scope_set_id = ? ORDER BY group_id", &params![id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The sets attached to a group, by id.
pub async fn of_group(c: &Conn, group_id: &str) -> Result<Vec<String>, StoreError> {
    c.query("SELECT scope_set_id FROM group_scope_sets WHERE group_id = ? ORDER BY scope_set_id", &params![group_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Attaches a set to a group; answers whether it was not attached yet.
pub async fn attach(c: &Conn, group_id: &str, id: &str) -> Result<bool, StoreError> {
    let n = c
        .execute("INSERT INTO group_scope_sets (group_id, scope_set_id) VALUES (?, ?) ON CONFLICT DO NOTHING", &params![group_id, id])
        .await?;
    Ok(n > 0)
}

/// Detaches a set from a group; answers whether it was attached.
pub async fn detach(c: &Conn, group_id: &str, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM group_scope_sets WHERE group_id = ? AND scope_set_id = ?", &params![group_id, id]).await? > 0)
}
