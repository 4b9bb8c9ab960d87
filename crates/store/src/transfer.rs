//! What `cohort import` and `cohort export` read in bulk: every user's and group's
//! reference (its external id, else its own id) to resolve an import's rows in memory, and
//! the rows of an export in keyset pages of [`PAGE`] (a database of millions is never held
//! whole).

use crate::db::Conn;
use crate::{StoreError, json_list, params};
use cohort_core::model::{Group, User};

/// Rows an export reads at a time.
pub const PAGE: i64 = 5000;

/// `(id, external_id)` of every user.
pub async fn user_refs(c: &Conn) -> Result<Vec<(String, Option<String>)>, StoreError> {
    c.query("SELECT id, external_id FROM users", &[]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// `(id, space_id, external_id)` of every group.
pub async fn group_refs(c: &Conn) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
    c.query("SELECT id, space_id, external_id FROM groups", &[]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).collect()
}

/// `(id, name)` of every space.
pub async fn space_refs(c: &Conn) -> Result<Vec<(String, String)>, StoreError> {
    c.query("SELECT id, name FROM spaces ORDER BY created_at, id", &[]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// The roles these users hold in a group, for those who are members.
pub async fn member_roles(c: &Conn, group_id: &str, user_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    let sql = format!(
        "SELECT m.user_id, m.role FROM {} CROSS JOIN memberships m WHERE m.group_id = ? AND m.user_id = j.value",
        crate::each(c.backend(), "j")
    );
    c.query(&sql, &[crate::texts(user_ids), group_id.into()]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// Users after `after` (an id), oldest id first.
pub async fn users_after(c: &Conn, after: &str) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {} FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?", crate::users::COLS);
    c.query(&sql, &params![after, PAGE]).await?.iter().map(|r| crate::users::from_row(r, 0)).collect()
}

/// Every group, each after its parent (groups are few beside memberships: read whole).
pub async fn groups(c: &Conn) -> Result<Vec<Group>, StoreError> {
    let sql = format!("SELECT {} FROM groups g ORDER BY g.created_at, g.id", crate::groups::COLS);
    let mut all: Vec<Group> = c.query(&sql, &[]).await?.iter().map(|r| crate::groups::from_row(r, 0)).collect::<Result<_, _>>()?;
    // Parents first, whatever order they were made in (a group may be moved under a newer one).
    let mut placed = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(all.len());
    while !all.is_empty() {
        let before = out.len();
        let (ready, wait): (Vec<Group>, Vec<Group>) =
            all.into_iter().partition(|g| g.parent_id.as_ref().is_none_or(|p| placed.contains(p)));
        placed.extend(ready.iter().map(|g| g.id.clone()));
        out.extend(ready);
        all = wait;
        if out.len() == before {
            // A parent that is not there (the foreign key forbids it): keep the rest as they are.
            out.append(&mut all);
        }
    }
    Ok(out)
}

/// `(group_id, slug, name, permissions, description)` of every custom role.
pub async fn roles(c: &Conn) -> Result<Vec<(String, String, String, Vec<String>, Option<String>)>, StoreError> {
    c.query("SELECT group_id, slug, name, permissions, description FROM group_roles ORDER BY group_id, created_at, slug", &[])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, json_list(&r.get::<String>(3)?), r.get(4)?)))
        .collect()
}

/// `(group_id, user_id, role, status)` of memberships after `(group_id, user_id)`.
pub async fn memberships_after(c: &Conn, after: (&str, &str)) -> Result<Vec<(String, String, String, String)>, StoreError> {
    let sql = "SELECT group_id, user_id, role, status FROM memberships \
               WHERE group_id > ? OR (group_id = ? AND user_id > ?) ORDER BY group_id, user_id LIMIT ?";
    c.query(sql, &params![after.0, after.0, after.1, PAGE])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .collect()
}

/// `(user_id, collection_id, space name, read_only, hide_passwords, manage)` of every direct
/// collection grant.
pub async fn direct_grants(c: &Conn) -> Result<Vec<(String, String, Option<String>, bool, bool, bool)>, StoreError> {
    let sql = "SELECT uc.user_id, uc.collection_id, s.name, uc.read_only, uc.hide_passwords, uc.manage \
               FROM user_collections uc LEFT JOIN spaces s ON s.id = uc.space_key ORDER BY uc.user_id, uc.collection_id";
    c.query(sql, &[]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))).collect()
}
