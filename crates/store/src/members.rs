//! Memberships: the SQL. The counters they feed live in [`crate::groups`].

use crate::db::{Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, json_list, params, to_json_list};
use cohort_core::model::{Member, MemberStatus, Membership, User};
use cohort_core::page::Page;

pub const COLS: &str = "m.id, m.group_id, m.user_id, m.role, m.permissions, m.status, m.joined_at, m.expires_at, m.last_active, m.added_by, m.updated_at, m.version";
pub const NCOLS: usize = 12;

pub fn from_row(r: &Row, at: usize) -> Result<Membership, StoreError> {
    Ok(Membership {
        id: r.get(at)?,
        group_id: r.get(at + 1)?,
        user_id: r.get(at + 2)?,
        role: r.get(at + 3)?,
        permissions: json_list(&r.get::<String>(at + 4)?),
        status: MemberStatus::parse(&r.get::<String>(at + 5)?).unwrap_or(MemberStatus::Pending),
        joined_at: r.get(at + 6)?,
        expires_at: r.get(at + 7)?,
        last_active: r.get(at + 8)?,
        added_by: r.get(at + 9)?,
        updated_at: r.get(at + 10)?,
        version: r.get(at + 11)?,
    })
}

/// When an active membership's open period began: a new one's starts as it is made.
fn active_since(m: &Membership) -> Option<i64> {
    (m.status == MemberStatus::Active).then_some(m.joined_at)
}

pub async fn insert(c: &Conn, m: &Membership) -> Result<(), StoreError> {
    insert_many(c, std::slice::from_ref(m)).await
}

/// Writes a membership's fields; an active one keeps its open period (or opens one now, at
/// `updated_at`), any other status has none. Close the period first ([`history_close`]).
pub async fn update(c: &Conn, m: &Membership) -> Result<(), StoreError> {
    c.execute(
        "UPDATE memberships SET role = ?, permissions = ?, status = ?, expires_at = ?, last_active = ?, updated_at = ?, version = ?, \
         active_since = CASE WHEN ? = 'active' THEN COALESCE(active_since, ?) END WHERE id = ?",
        &params![
            m.role.as_str(),
            to_json_list(&m.permissions),
            m.status.as_str(),
            m.expires_at,
            m.last_active,
            m.updated_at,
            m.version,
            m.status.as_str(),
            m.updated_at,
            m.id.as_str()
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, group_id: &str, user_id: &str) -> Result<Option<Membership>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM memberships m WHERE m.group_id = ? AND m.user_id = ?"), &params![group_id, user_id])
        .await?
        .map(|r| from_row(&r, 0))
        .transpose()
}

/// A membership with its user.
pub async fn get_member(c: &Conn, group_id: &str, user_id: &str) -> Result<Option<Member>, StoreError> {
    let sql = format!(
        "SELECT {COLS}, {} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? AND m.user_id = ?",
        crate::users::COLS
    );
    c.query_opt(&sql, &params![group_id, user_id]).await?.map(|r| member_from_row(&r)).transpose()
}

fn member_from_row(r: &Row) -> Result<Member, StoreError> {
    Ok(Member { membership: from_row(r, 0)?, user: crate::users::from_row(r, NCOLS)? })
}

pub async fn delete(c: &Conn, id: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM memberships WHERE id = ?", &params![id]).await
}

/// When each direct membership in a space's groups began: (group, user, joined_at).
pub async fn joined_in_space(c: &Conn, space_id: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
    c.query(
        "SELECT m.group_id, m.user_id, m.joined_at FROM memberships m JOIN groups g ON g.id = m.group_id WHERE g.space_id = ?",
        &params![space_id],
    )
    .await?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .collect()
}

/// Every membership of a group (for deleting the group).
pub async fn of_group(c: &Conn, group_id: &str) -> Result<Vec<Membership>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM memberships m WHERE m.group_id = ? ORDER BY m.user_id"), &params![group_id])
        .await?
        .iter()
        .map(|r| from_row(r, 0))
        .collect()
}

/// Every membership a user holds (for deleting the user).
pub async fn of_user(c: &Conn, user_id: &str) -> Result<Vec<Membership>, StoreError> {
    c.query(&format!("SELECT {COLS} FROM memberships m WHERE m.user_id = ? ORDER BY m.group_id"), &params![user_id])
        .await?
        .iter()
        .map(|r| from_row(r, 0))
        .collect()
}

/// Which of `user_ids` already have a membership in the group.
pub async fn existing_users(c: &Conn, group_id: &str, user_ids: &[String]) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT m.user_id FROM {} CROSS JOIN memberships m WHERE m.group_id = ? AND m.user_id = j.value",
        crate::each(c.backend(), "j")
    );
    c.query(&sql, &[crate::texts(user_ids), group_id.into()]).await?.iter().map(|r| r.get(0)).collect()
}

pub use cohort_core::list::MemberQuery;

/// Memberships with their users; filtered by [`FIELDS`], sorted by [`SORT`].
pub static LIST: Source = Source {
    from: "memberships m JOIN users u ON u.id = m.user_id",
    cols: &[COLS, crate::users::COLS],
    ncols: NCOLS + crate::users::NCOLS,
    id: "m.id",
    fields: FIELDS,
    sort: SORT,
    default_sort: "created",
};

/// The members of a group.
pub async fn list(c: &Conn, group_id: &str, q: &MemberQuery, listing: &Listing) -> cohort_core::Result<Page<Member>> {
    let plan = match &q.search {
        Some(term) => Some(crate::search::plan(c, crate::search::users(!listing.hide_private), term).await?),
        None => None,
    };
    crate::list::fetch(c, &LIST, conditions(c.backend(), group_id, q, listing, plan), listing, member_from_row).await
}

/// What [`list`] narrows [`LIST`] to (`plan`: how a search runs, when there is one).
pub fn conditions(
    backend: crate::Backend,
    group_id: &str,
    q: &MemberQuery,
    listing: &Listing,
    plan: Option<crate::search::Plan>,
) -> Conditions {
    let mut cond = Conditions::new();
    match &q.inherited_from {
        None => {
            cond.and("m.group_id = ?", [group_id.into()]);
        }
        Some(ancestors) => {
            let mut chain: Vec<Value> = vec![group_id.into()];
            chain.extend(ancestors.iter().map(Value::from));
            let marks = vec!["?"; chain.len()].join(", ");
            let now = cohort_core::time::now();
            let mut args = chain.clone();
            args.push(now.into());
            args.extend(chain);
            args.push(now.into());
            cond.and(
                format!(
                    "m.group_id IN ({marks}) AND m.status = 'active' AND (m.expires_at IS NULL OR m.expires_at > ?) \
                     AND m.id = (SELECT m2.id FROM memberships m2 JOIN groups g2 ON g2.id = m2.group_id \
                       WHERE m2.user_id = m.user_id AND m2.group_id IN ({marks}) AND m2.status = 'active' \
                         AND (m2.expires_at IS NULL OR m2.expires_at > ?) ORDER BY g2.depth DESC, m2.id LIMIT 1)"
                ),
                args,
            );
        }
    }
    if let Some(r) = &q.role {
        cond.and("m.role = ?", [r.into()]);
    }
    if let Some(s) = q.status {
        cond.and("m.status = ?", [s.as_str().into()]);
    }
    if let Some(term) = &q.search {
        let searched = crate::search::users(!listing.hide_private);
        let (sql, args) = crate::search::clause(backend, searched, term, plan.unwrap_or(crate::search::Plan::Rows));
        cond.and(sql, args);
    }
    cond
}

/// The users of a group with an active membership: filtered by the user's fields
/// ([`crate::users::FIELDS`]), in the order they joined unless asked otherwise.
pub static USERS: Source = Source {
    from: "memberships m JOIN users u ON u.id = m.user_id",
    cols: &[crate::users::COLS],
    ncols: crate::users::NCOLS,
    id: "u.id",
    fields: crate::users::FIELDS,
    sort: USER_SORT,
    default_sort: "joined_at",
};

static USER_SORT: &[SortColumn] = &[
    SortColumn { names: &["joined_at", "joined"], sql: "m.joined_at", kind: ColKind::Int },
    SortColumn { names: &["created_at", "created"], sql: "u.created_at", kind: ColKind::Int },
    SortColumn { names: &["username"], sql: "u.username_key", kind: ColKind::Text },
    SortColumn { names: &["email"], sql: "COALESCE(u.email_key, '')", kind: ColKind::Text },
    SortColumn { names: &["full_name", "name"], sql: "COALESCE(u.full_name, '')", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "u.id", kind: ColKind::Text },
];

pub async fn users(c: &Conn, group_id: &str, listing: &Listing) -> cohort_core::Result<Page<User>> {
    crate::list::fetch(c, &USERS, user_conditions(group_id), listing, |r| crate::users::from_row(r, 0)).await
}

/// What [`users`] narrows [`USERS`] to.
pub fn user_conditions(group_id: &str) -> Conditions {
    let mut cond = Conditions::new();
    cond.and("m.group_id = ? AND m.status = 'active'", [group_id.into()]);
    cond
}

/// Closes the user's open period of active membership in the group, if any, into the
/// history (the row's own `active_since` is cleared by the update or delete that follows).
pub async fn history_close(c: &Conn, history_id: &str, group_id: &str, user_id: &str, at: i64) -> Result<(), StoreError> {
    history_close_many(c, group_id, &[(history_id.to_string(), user_id.to_string())], at).await
}

/// Members active at instant `at`: the closed periods that cover it, and the open ones that
/// began by then.
pub async fn active_at(c: &Conn, group_id: &str, at: i64) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT (SELECT COUNT(*) FROM membership_history WHERE group_id = ? AND active_from <= ? AND active_to > ?) \
              + (SELECT COUNT(*) FROM memberships WHERE group_id = ? AND active_since <= ?)",
        &params![group_id, at, at, group_id, at],
    )
    .await?
    .get(0)
}

/// Active memberships whose expiry has passed.
pub async fn expired(c: &Conn, now: i64, limit: i64) -> Result<Vec<(String, String)>, StoreError> {
    c.query(
        "SELECT group_id, user_id FROM memberships WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        &params![now, limit],
    )
    .await?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// Members (with users) of many groups in one query, oldest first per group; at most
/// `per_group` each.
pub async fn of_groups(c: &Conn, group_ids: &[String], active_only: bool, per_group: usize) -> Result<Vec<Member>, StoreError> {
    let mut out: Vec<Member> = Vec::new();
    for chunk in group_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let status = if active_only { "AND m.status = 'active'" } else { "" };
        let sql = format!(
            "SELECT {COLS}, {} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({marks}) {status} ORDER BY m.group_id, m.joined_at, m.id",
            crate::users::COLS
        );
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for r in c.query(&sql, &args).await? {
            let m = member_from_row(&r)?;
            let n = count.entry(m.membership.group_id.clone()).or_default();
            if *n < per_group {
                *n += 1;
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The active owners of these groups, in the order they joined: `(group, user)`.
pub async fn owners_of(c: &Conn, group_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT group_id, user_id FROM memberships WHERE group_id IN ({marks}) AND role = 'owner' AND status = 'active' ORDER BY group_id, joined_at, user_id"
        );
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&sql, &args).await? {
            out.push((r.get(0)?, r.get(1)?));
        }
    }
    Ok(out)
}

/// What memberships may be filtered by (PocketBase's `group_members` names, and native ones).
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "m.id" },
    Field { name: "group", kind: Kind::Text, sql: "m.group_id" },
    Field { name: "group_id", kind: Kind::Text, sql: "m.group_id" },
    Field { name: "user", kind: Kind::Text, sql: "m.user_id" },
    Field { name: "user_id", kind: Kind::Text, sql: "m.user_id" },
    Field { name: "role", kind: Kind::Text, sql: "m.role" },
    Field { name: "status", kind: Kind::Text, sql: "m.status" },
    Field { name: "created", kind: Kind::Time, sql: "m.joined_at" },
    Field { name: "joined_at", kind: Kind::Time, sql: "m.joined_at" },
    Field { name: "updated", kind: Kind::Time, sql: "m.updated_at" },
    Field { name: "updated_at", kind: Kind::Time, sql: "m.updated_at" },
    Field { name: "expires_at", kind: Kind::Time, sql: "m.expires_at" },
    Field { name: "last_active", kind: Kind::Time, sql: "m.last_active" },
    Field { name: "added_by", kind: Kind::Text, sql: "m.added_by" },
    Field { name: "user.username", kind: Kind::Text, sql: "u.username" },
    Field { name: "user.email", kind: Kind::Text, sql: "u.email" },
    Field { name: "user.full_name", kind: Kind::Text, sql: "u.full_name" },
];

/// What memberships may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created", "joined_at"], sql: "m.joined_at", kind: ColKind::Int },
    SortColumn { names: &["updated", "updated_at"], sql: "m.updated_at", kind: ColKind::Int },
    SortColumn { names: &["role"], sql: "m.role", kind: ColKind::Text },
    SortColumn { names: &["status"], sql: "m.status", kind: ColKind::Text },
    SortColumn { names: &["username", "user.username"], sql: "u.username_key", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "m.id", kind: ColKind::Text },
];

/// Memberships in the groups `viewer` can see (all groups for `None`), filtered and sorted.
pub async fn list_visible(c: &Conn, viewer: Option<&crate::groups::Viewer>, listing: &Listing) -> cohort_core::Result<Page<Member>> {
    let mut cond = Conditions::new();
    if let Some(v) = viewer {
        let (sql, args) = crate::groups::visible_to(v, "g");
        cond.and(format!("EXISTS (SELECT 1 FROM groups g WHERE g.id = m.group_id AND {sql})"), args);
    }
    crate::list::fetch(c, &LIST, cond, listing, member_from_row).await
}

/// One membership by its id, with its user.
pub async fn by_id(c: &Conn, id: &str) -> Result<Option<Member>, StoreError> {
    let sql = format!("SELECT {COLS}, {} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.id = ?", crate::users::COLS);
    c.query_opt(&sql, &params![id]).await?.map(|r| member_from_row(&r)).transpose()
}

/// Rows per multi-row statement: well under both databases' parameter limits.
/// Rows one multi-row statement writes.
pub(crate) const ROWS: usize = 400;

/// `(?, ?), (?, ?)`: the placeholders of `rows` rows of `cols` values.
pub(crate) fn marks(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

/// Inserts memberships, many rows per statement.
pub async fn insert_many(c: &Conn, ms: &[Membership]) -> Result<(), StoreError> {
    for chunk in ms.chunks(ROWS) {
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 13);
        for m in chunk {
            args.extend(params![
                m.id.as_str(),
                m.group_id.as_str(),
                m.user_id.as_str(),
                m.role.as_str(),
                to_json_list(&m.permissions),
                m.status.as_str(),
                m.joined_at,
                m.expires_at,
                m.last_active,
                m.added_by.clone(),
                m.updated_at,
                m.version,
                active_since(m)
            ]);
        }
        let sql = format!(
            "INSERT INTO memberships (id, group_id, user_id, role, permissions, status, joined_at, expires_at, last_active, added_by, updated_at, version, active_since) VALUES {}",
            marks(chunk.len(), 13)
        );
        c.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Deletes memberships by id.
pub async fn delete_many(c: &Conn, ids: &[String]) -> Result<(), StoreError> {
    for chunk in ids.chunks(ROWS) {
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        c.execute(&format!("DELETE FROM memberships WHERE id IN ({})", vec!["?"; chunk.len()].join(", ")), &args).await?;
    }
    Ok(())
}

/// Closes the open periods of these users' memberships of one group into the history:
/// `(history id, user)` pairs, each period copied out of its membership row.
pub async fn history_close_many(c: &Conn, group_id: &str, rows: &[(String, String)], at: i64) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS) {
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 2 + 2);
        for (id, user) in chunk {
            args.extend(params![id.as_str(), user.as_str()]);
        }
        args.extend(params![at, group_id]);
        let sql = format!(
            "WITH closing (id, user_id) AS (VALUES {}) \
             INSERT INTO membership_history (id, group_id, user_id, active_from, active_to) \
             SELECT c.id, m.group_id, m.user_id, m.active_since, CAST(? AS BIGINT) FROM closing c \
             JOIN memberships m ON m.group_id = ? AND m.user_id = c.user_id WHERE m.active_since IS NOT NULL",
            marks(chunk.len(), 2)
        );
        c.execute(&sql, &args).await?;
    }
    Ok(())
}
