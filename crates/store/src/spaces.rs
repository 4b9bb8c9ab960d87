//! Spaces and their moderators: the SQL.

use crate::db::{Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::Space;
use cohort_core::page::Page;

const COLS: &str = "s.id, s.name, s.description, s.created_at, s.created_by, s.updated_at, s.version";
const NCOLS: usize = 7;

fn from_row(r: &Row) -> Result<Space, StoreError> {
    Ok(Space {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        moderators: Vec::new(),
        created_at: r.get(3)?,
        created_by: r.get(4)?,
        updated_at: r.get(5)?,
        version: r.get(6)?,
    })
}

async fn moderators(c: &Conn, space_id: &str) -> Result<Vec<String>, StoreError> {
    c.query("SELECT user_id FROM space_moderators WHERE space_id = ? ORDER BY user_id", &params![space_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Space>, StoreError> {
    let Some(row) = c.query_opt(&format!("SELECT {COLS} FROM spaces s WHERE s.id = ?"), &params![id]).await? else {
        return Ok(None);
    };
    let mut space = from_row(&row)?;
    space.moderators = moderators(c, id).await?;
    Ok(Some(space))
}

/// The space named `name` (case-insensitive), e.g. `default`.
pub async fn id_by_name(c: &Conn, name: &str) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT id FROM spaces WHERE name_key = ?", &params![name.to_lowercase()]).await?.map(|r| r.get(0)).transpose()
}

pub async fn insert(c: &Conn, s: &Space) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO spaces (id, name, name_key, description, created_at, created_by, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            s.id.as_str(),
            s.name.as_str(),
            s.name.to_lowercase(),
            s.description.clone(),
            s.created_at,
            s.created_by.clone(),
            s.updated_at,
            s.version
        ],
    )
    .await?;
    set_moderators(c, &s.id, &s.moderators).await
}

pub async fn update(c: &Conn, s: &Space) -> Result<(), StoreError> {
    c.execute(
        "UPDATE spaces SET name = ?, name_key = ?, description = ?, updated_at = ?, version = ? WHERE id = ?",
        &params![s.name.as_str(), s.name.to_lowercase(), s.description.clone(), s.updated_at, s.version, s.id.as_str()],
    )
    .await?;
    set_moderators(c, &s.id, &s.moderators).await
}

async fn set_moderators(c: &Conn, space_id: &str, users: &[String]) -> Result<(), StoreError> {
    c.execute("DELETE FROM space_moderators WHERE space_id = ?", &params![space_id]).await?;
    for u in users {
        c.execute("INSERT INTO space_moderators (space_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", &params![space_id, u.as_str()])
            .await?;
    }
    Ok(())
}

pub async fn delete(c: &Conn, id: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM spaces WHERE id = ?", &params![id]).await
}

pub async fn group_count(c: &Conn, id: &str) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM groups WHERE space_id = ?", &params![id]).await?.get(0)
}

pub async fn is_moderator(c: &Conn, space_id: &str, user_id: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM space_moderators WHERE space_id = ? AND user_id = ?", &params![space_id, user_id]).await?.is_some())
}

/// Whether the user moderates any space.
pub async fn moderates_any(c: &Conn, user_id: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM space_moderators WHERE user_id = ? LIMIT 1", &params![user_id]).await?.is_some())
}

/// What spaces may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "s.id" },
    Field { name: "name", kind: Kind::Text, sql: "s.name" },
    Field { name: "description", kind: Kind::Text, sql: "s.description" },
    Field { name: "created_by", kind: Kind::Text, sql: "s.created_by" },
    Field { name: "created_at", kind: Kind::Time, sql: "s.created_at" },
    Field { name: "created", kind: Kind::Time, sql: "s.created_at" },
    Field { name: "updated_at", kind: Kind::Time, sql: "s.updated_at" },
    Field { name: "updated", kind: Kind::Time, sql: "s.updated_at" },
    Field { name: "moderators", kind: Kind::TextList, sql: "SELECT sm.user_id FROM space_moderators sm WHERE sm.space_id = s.id" },
];

/// What spaces may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created_at", "created"], sql: "s.created_at", kind: ColKind::Int },
    SortColumn { names: &["updated_at", "updated"], sql: "s.updated_at", kind: ColKind::Int },
    SortColumn { names: &["name"], sql: "s.name_key", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "s.id", kind: ColKind::Text },
];

pub static LIST: Source =
    Source { from: "spaces s", cols: &[COLS], ncols: NCOLS, id: "s.id", fields: FIELDS, sort: SORT, default_sort: "created_at" };

/// Spaces (only `only` when given).
pub async fn list(c: &Conn, only: Option<&str>, listing: &Listing) -> cohort_core::Result<Page<Space>> {
    let mut out = crate::list::fetch(c, &LIST, conditions(only), listing, from_row).await?;
    if out.items.is_empty() {
        return Ok(out);
    }
    // The page's moderators in one query.
    let marks = vec!["?"; out.items.len()].join(", ");
    let ids: Vec<Value> = out.items.iter().map(|s| Value::from(&s.id)).collect();
    let sql = format!("SELECT space_id, user_id FROM space_moderators WHERE space_id IN ({marks}) ORDER BY space_id, user_id");
    for r in c.query(&sql, &ids).await? {
        let (space, user): (String, String) = (r.get(0)?, r.get(1)?);
        if let Some(s) = out.items.iter_mut().find(|s| s.id == space) {
            s.moderators.push(user);
        }
    }
    Ok(out)
}

/// What [`list`] narrows [`LIST`] to.
pub fn conditions(only: Option<&str>) -> Conditions {
    let mut cond = Conditions::new();
    if let Some(id) = only {
        cond.and("s.id = ?", [id.into()]);
    }
    cond
}
