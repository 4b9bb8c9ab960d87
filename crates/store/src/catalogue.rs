//! The permission catalogue: the SQL. Site-level entries are kept under the space key `''`.

use crate::db::{Conn, Row, Value};
use crate::{StoreError, params};
use cohort_core::model::DeclaredPermission;
use std::collections::{HashMap, HashSet};

const COLS: &str = "space_key, name, description, created_at, created_by";

fn key(space_id: Option<&str>) -> &str {
    space_id.unwrap_or("")
}

fn from_row(r: &Row) -> Result<DeclaredPermission, StoreError> {
    let space: String = r.get(0)?;
    Ok(DeclaredPermission {
        space_id: (!space.is_empty()).then_some(space),
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: r.get(3)?,
        created_by: r.get(4)?,
    })
}

/// The entries at one level (the site's for `None`), by name.
pub async fn list(c: &Conn, space_id: Option<&str>) -> Result<Vec<DeclaredPermission>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM permission_catalogue WHERE space_key = ? ORDER BY name"), &params![key(space_id)])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn get(c: &Conn, space_id: Option<&str>, name: &str) -> Result<Option<DeclaredPermission>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM permission_catalogue WHERE space_key = ? AND name = ?"), &params![key(space_id), name])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Declares `p`; answers whether it was new (an existing entry is left as it is).
pub async fn declare(c: &Conn, p: &DeclaredPermission) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "INSERT INTO permission_catalogue (space_key, name, description, created_at, created_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &params![key(p.space_id.as_deref()), p.name.as_str(), p.description.clone(), p.created_at, p.created_by.clone()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn describe(c: &Conn, space_id: Option<&str>, name: &str, description: Option<&str>) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE permission_catalogue SET description = ? WHERE space_key = ? AND name = ?",
            &params![description, key(space_id), name],
        )
        .await?;
    Ok(n > 0)
}

pub async fn remove(c: &Conn, space_id: Option<&str>, name: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM permission_catalogue WHERE space_key = ? AND name = ?", &params![key(space_id), name]).await? > 0)
}

/// How many groups grant `name` where this entry declares it (a space's groups, or for a
/// site entry, groups of spaces that do not declare it themselves).
pub async fn groups_granting(c: &Conn, space_id: Option<&str>, name: &str) -> Result<i64, StoreError> {
    let row = match space_id {
        Some(s) => {
            c.query_one(
                "SELECT COUNT(*) FROM group_permissions gp JOIN groups g ON g.id = gp.group_id WHERE gp.permission = ? AND g.space_id = ?",
                &params![name, s],
            )
            .await?
        }
        None => {
            c.query_one(
                "SELECT COUNT(*) FROM group_permissions gp JOIN groups g ON g.id = gp.group_id WHERE gp.permission = ? \
                 AND NOT EXISTS (SELECT 1 FROM permission_catalogue pc WHERE pc.space_key = g.space_id AND pc.name = gp.permission)",
                &params![name],
            )
            .await?
        }
    };
    row.get(0)
}

/// Which of `names` are declared for groups of `space_id` (by the space or the site), with
/// their descriptions (the space's entry wins over the site's).
pub async fn declared(c: &Conn, space_id: &str, names: &[String]) -> Result<HashMap<String, Option<String>>, StoreError> {
    let mut out: HashMap<String, Option<String>> = HashMap::new();
    let wanted: Vec<&String> = names.iter().collect::<HashSet<_>>().into_iter().collect();
    for chunk in wanted.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut args: Vec<Value> = vec![space_id.into()];
        args.extend(chunk.iter().map(|n| Value::from(n.as_str())));
        let rows = c
            .query(
                &format!(
                    "SELECT name, description, space_key FROM permission_catalogue WHERE space_key IN ('', ?) AND name IN ({marks}) ORDER BY space_key"
                ),
                &args,
            )
            .await?;
        // Site entries ('') sort first, so a space's own entry overwrites them.
        for r in rows {
            out.insert(r.get(0)?, r.get(1)?);
        }
    }
    Ok(out)
}
