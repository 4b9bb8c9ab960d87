//! What the access index is built from and refreshed with: the tree, memberships, roles,
//! site administrators, space moderators, and the change log.

use crate::db::{Conn, Row, Value};
use crate::{StoreError, json_list, params};
use cohort_core::access::{DirectMembership, GroupNode, MembershipRef};
use cohort_core::model::{CollectionGrant, MemberStatus, Visibility};
use cohort_core::policy::Caps;
use std::collections::HashMap;

const NODE_COLS: &str = "g.id, g.space_id, g.parent_id, g.visibility, g.inherit_members, g.inherit_permissions, g.access_all";

fn node(mut r: Row) -> Result<GroupNode, StoreError> {
    let mut text = |i| r.take_text(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")));
    let (id, space_id) = (text(0)?, text(1)?);
    Ok(GroupNode {
        id,
        space_id,
        parent_id: r.take_text(2)?,
        visibility: r.text(3)?.and_then(Visibility::parse).unwrap_or(Visibility::Private),
        inherit_members: r.get(4)?,
        inherit_permissions: r.get(5)?,
        access_all: r.get(6)?,
        permissions: Vec::new(),
        collections: Vec::new(),
        roles: HashMap::new(),
        scope_sets: Vec::new(),
    })
}

/// Fills in the permissions, collections and roles of `nodes` from the rows `where_sql`
/// picks (found by id through a sorted list of positions: the database's order of text
/// need not be Rust's).
async fn fill(c: &Conn, nodes: &mut [GroupNode], where_sql: &str, args: &[Value]) -> Result<(), StoreError> {
    let mut by_id: Vec<usize> = (0..nodes.len()).collect();
    by_id.sort_unstable_by(|a, b| nodes[*a].id.cmp(&nodes[*b].id));
    let find = |nodes: &[GroupNode], r: &Row| -> Result<Option<usize>, StoreError> {
        let Some(id) = r.text(0)? else { return Ok(None) };
        Ok(by_id.binary_search_by(|i| nodes[*i].id.as_str().cmp(id)).ok().map(|at| by_id[at]))
    };
    for mut r in
        c.query(&format!("SELECT group_id, permission FROM group_permissions {where_sql} ORDER BY group_id, position"), args).await?
    {
        let permission = r.take_text(1)?;
        if let (Some(n), Some(p)) = (find(nodes, &r)?, permission) {
            nodes[n].permissions.push(p);
        }
    }
    for mut r in c
        .query(&format!("SELECT group_id, collection_id, read_only, hide_passwords, manage FROM group_collections {where_sql} ORDER BY group_id, position"), args)
        .await?
    {
        let id = r.take_text(1)?.unwrap_or_default();
        let grant = CollectionGrant { id, read_only: r.get(2)?, hide_passwords: r.get(3)?, manage: r.get(4)? };
        if let Some(n) = find(nodes, &r)? {
            nodes[n].collections.push(grant);
        }
    }
    let sets = format!(
        "SELECT group_id, scope_set_id, s.scopes FROM group_scope_sets JOIN scope_sets s ON s.id = scope_set_id {where_sql} ORDER BY group_id, scope_set_id"
    );
    for r in c.query(&sets, args).await? {
        if let Some(n) = find(nodes, &r)? {
            let scopes = cohort_core::auth::Scopes::parse_list(&json_list(&r.get::<String>(2)?)).unwrap_or_default();
            nodes[n].scope_sets.push((r.get(1)?, scopes));
        }
    }
    for r in c.query(&format!("SELECT group_id, slug, permissions FROM group_roles {where_sql}"), args).await? {
        if let Some(n) = find(nodes, &r)? {
            let caps = Caps::from_names(&json_list(&r.get::<String>(2)?)).unwrap_or_default();
            nodes[n].roles.insert(r.get(1)?, caps);
        }
    }
    Ok(())
}

/// A page of group nodes in id order, after `after` (the last id of the previous page).
pub async fn groups_page(c: &Conn, after: &str, limit: i64) -> Result<Vec<GroupNode>, StoreError> {
    let rows = c.query(&format!("SELECT {NODE_COLS} FROM groups g WHERE g.id > ? ORDER BY g.id LIMIT ?"), &params![after, limit]).await?;
    let mut nodes = rows.into_iter().map(node).collect::<Result<Vec<_>, _>>()?;
    // The page's last id (in the database's own order) bounds the details read below.
    let Some(last) = nodes.last().map(|n| n.id.clone()) else { return Ok(nodes) };
    fill(c, &mut nodes, "WHERE group_id > ? AND group_id <= ?", &params![after, last.as_str()]).await?;
    Ok(nodes)
}

/// One group node, or `None` if it is gone.
pub async fn group(c: &Conn, id: &str) -> Result<Option<GroupNode>, StoreError> {
    let Some(r) = c.query_opt(&format!("SELECT {NODE_COLS} FROM groups g WHERE g.id = ?"), &params![id]).await? else {
        return Ok(None);
    };
    let mut nodes = [node(r)?];
    fill(c, &mut nodes, "WHERE group_id = ?", &params![id]).await?;
    let [n] = nodes;
    Ok(Some(n))
}

/// A membership's columns as [`membership_row`] reads them, the user's id first.
const MEMBERSHIP_COLS: &str = "user_id, group_id, role, NULLIF(permissions, '[]'), status, expires_at";

/// A row of [`MEMBERSHIP_COLS`] as owned values: (user id, membership).
fn membership(r: &Row) -> Result<(String, DirectMembership), StoreError> {
    membership_row(r, |u, m| (u.to_string(), m.to_membership()))
}

/// A page of memberships in (user, group) order, after the given pair; read each row in
/// place with [`membership_row`] (a whole table of them is never copied twice).
pub async fn memberships_page(c: &Conn, after: (&str, &str), limit: i64) -> Result<Vec<Row>, StoreError> {
    let sql = format!("SELECT {MEMBERSHIP_COLS} FROM memberships WHERE (user_id, group_id) > (?, ?) ORDER BY user_id, group_id LIMIT ?");
    c.query(&sql, &params![after.0, after.1, limit]).await
}

/// One row of [`memberships_page`]: the user, and the membership (its own permissions are
/// handed to `with` beside it).
pub fn membership_row<T>(r: &Row, with: impl FnOnce(&str, MembershipRef<'_>) -> T) -> Result<T, StoreError> {
    let text = |i| r.text(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")));
    let permissions = r.text(3)?.map(json_list).unwrap_or_default();
    let m = MembershipRef {
        group_id: text(1)?,
        role: text(2)?,
        permissions: &permissions,
        status: MemberStatus::parse(text(4)?).unwrap_or(MemberStatus::Pending),
        expires_at: r.get(5)?,
    };
    Ok(with(text(0)?, m))
}

/// A user's site role (`Some(is_admin)`) and memberships; `None` if the user is gone.
pub async fn user(c: &Conn, user_id: &str) -> Result<Option<(bool, Vec<DirectMembership>)>, StoreError> {
    let Some(r) = c.query_opt("SELECT site_role FROM users WHERE id = ?", &params![user_id]).await? else { return Ok(None) };
    let admin = r.get::<String>(0)? == "admin";
    let list = c
        .query(&format!("SELECT {MEMBERSHIP_COLS} FROM memberships WHERE user_id = ?"), &params![user_id])
        .await?
        .iter()
        .map(|r| membership(r).map(|(_, m)| m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((admin, list)))
}

/// Every user, and whether they are a site administrator.
pub async fn all_users(c: &Conn) -> Result<Vec<(String, bool)>, StoreError> {
    c.query("SELECT id, site_role FROM users", &[]).await?.iter().map(|r| Ok((r.get(0)?, r.get::<String>(1)? == "admin"))).collect()
}

/// Space id → moderators, for every space (spaces without moderators included).
pub async fn space_moderators(c: &Conn) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in c.query("SELECT id FROM spaces", &[]).await? {
        out.entry(r.get(0)?).or_default();
    }
    for r in c.query("SELECT space_id, user_id FROM space_moderators", &[]).await? {
        out.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    Ok(out)
}

/// One space's moderators; `None` if the space is gone.
pub async fn space(c: &Conn, space_id: &str) -> Result<Option<Vec<String>>, StoreError> {
    if c.query_opt("SELECT 1 FROM spaces WHERE id = ?", &params![space_id]).await?.is_none() {
        return Ok(None);
    }
    let mods = c.query("SELECT user_id FROM space_moderators WHERE space_id = ?", &params![space_id]).await?;
    Ok(Some(mods.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?))
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub seq: i64,
    pub kind: String,
    pub entity_id: String,
    pub group_id: Option<String>,
    pub user_id: Option<String>,
}

/// The highest sequence committed so far.
pub async fn last_seq(c: &Conn) -> Result<i64, StoreError> {
    c.query_one("SELECT value FROM counters WHERE name = 'changes'", &[]).await?.get(0)
}

/// Changes after `seq`, oldest first.
pub async fn changes_after(c: &Conn, seq: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError> {
    c.query("SELECT seq, kind, entity_id, group_id, user_id FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?", &params![seq, limit])
        .await?
        .iter()
        .map(|r| Ok(ChangeRow { seq: r.get(0)?, kind: r.get(1)?, entity_id: r.get(2)?, group_id: r.get(3)?, user_id: r.get(4)? }))
        .collect()
}

/// Many memberships at once, by (group, user); pairs with no membership are absent.
pub async fn memberships_of(c: &Conn, pairs: &[(String, String)]) -> Result<Vec<(String, DirectMembership)>, StoreError> {
    // One group's users at a time: a join of `group_id = ?` and the listed users is a probe
    // of the (group, user) index per user on both databases.
    let mut by_group: HashMap<&str, Vec<&str>> = HashMap::new();
    for (g, u) in pairs {
        by_group.entry(g.as_str()).or_default().push(u.as_str());
    }
    // (No column of MEMBERSHIP_COLS is one of the id table's.)
    let sql = format!(
        "SELECT {MEMBERSHIP_COLS} FROM {} CROSS JOIN memberships m WHERE m.group_id = ? AND m.user_id = j.value",
        crate::each(c.backend(), "j")
    );
    let mut out = Vec::with_capacity(pairs.len());
    for (g, users) in by_group {
        for r in c.query(&sql, &[crate::texts(&users), Value::from(g)]).await? {
            out.push(membership(&r)?);
        }
    }
    Ok(out)
}
