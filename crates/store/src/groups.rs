//! Groups, their permissions and collection grants, and the counters their rules rest on.

use crate::db::{Backend, Conn, Row, Value};
use crate::filter::{Field, Kind};
use crate::list::{self, ColKind, Conditions, ListSql, Listing, SortColumn, Source};
use crate::search::{self, Plan};
use crate::{StoreError, json_list, params};
use cohort_core::input::name_key;
use cohort_core::model::{Group, GroupSettings, GroupType, Visibility};
use cohort_core::page::Page;
use std::sync::LazyLock;

pub const COLS: &str = "g.id, g.num, g.space_id, g.parent_id, g.name, g.description, g.type, g.visibility, g.external_id, g.access_all, \
    g.allow_join_requests, g.require_approval, g.max_members, g.inherit_permissions, g.inherit_members, g.active_members, g.owner_count, \
    g.created_at, g.created_by, g.updated_at, g.updated_by, g.version, g.permissions, g.collections";
pub const NCOLS: usize = 24;

/// Decodes [`COLS`] from column `at` on.
pub fn from_row(r: &Row, at: usize) -> Result<Group, StoreError> {
    Ok(Group {
        id: r.get(at)?,
        num: r.get(at + 1)?,
        space_id: r.get(at + 2)?,
        parent_id: r.get(at + 3)?,
        name: r.get(at + 4)?,
        description: r.get(at + 5)?,
        group_type: GroupType::parse(&r.get::<String>(at + 6)?).unwrap_or(GroupType::Custom),
        visibility: Visibility::parse(&r.get::<String>(at + 7)?).unwrap_or(Visibility::Private),
        external_id: r.get(at + 8)?,
        access_all: r.get(at + 9)?,
        settings: GroupSettings { allow_join_requests: r.get(at + 10)?, require_approval: r.get(at + 11)?, max_members: r.get(at + 12)? },
        permissions: r.get::<Option<String>>(at + 22)?.map(|s| json_list(&s)).unwrap_or_default(),
        collections: r.get::<Option<String>>(at + 23)?.map(|s| serde_json::from_str(&s).unwrap_or_default()).unwrap_or_default(),
        inherit_permissions: r.get(at + 13)?,
        inherit_members: r.get(at + 14)?,
        member_count: r.get(at + 15)?,
        owner_count: r.get(at + 16)?,
        created_at: r.get(at + 17)?,
        created_by: r.get(at + 18)?,
        updated_at: r.get(at + 19)?,
        updated_by: r.get(at + 20)?,
        version: r.get(at + 21)?,
        scope_sets: Vec::new(),
    })
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Group>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| format!("SELECT {COLS} FROM groups g WHERE g.id = ?"));
    c.query_opt(&SQL, &params![id]).await?.map(|row| from_row(&row, 0)).transpose()
}

/// The groups with these ids, in no order (a list sorted by the database sorted whole rows
/// in a temporary table first).
pub async fn by_ids(c: &Conn, ids: &[String]) -> Result<Vec<Group>, StoreError> {
    let sql = format!("SELECT {COLS} FROM groups g WHERE g.id IN (SELECT j.value FROM {})", crate::each(c.backend(), "j"));
    c.query(&sql, &[crate::texts(ids)]).await?.iter().map(|row| from_row(row, 0)).collect()
}

/// The group with the caller's effective membership (role, extra permissions) and whether
/// the caller moderates its space.
pub struct AccessRow {
    pub group: Group,
    pub role: Option<String>,
    pub member_permissions: Vec<String>,
    pub space_moderator: bool,
}

/// The group and, for a caller who is a user, their standing in it; a caller who is no user
/// (a site key) has none, so only the row is read.
pub async fn access(c: &Conn, id: &str, user_id: Option<&str>, now: i64) -> Result<Option<AccessRow>, StoreError> {
    static AS_USER: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {COLS}, m.role, m.permissions, (SELECT COUNT(*) FROM space_moderators sm WHERE sm.space_id = g.space_id AND sm.user_id = ?) \
             FROM groups g LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = ? AND m.status = 'active' AND (m.expires_at IS NULL OR m.expires_at > ?) \
             WHERE g.id = ?"
        )
    });
    let Some(user) = user_id else {
        return Ok(get(c, id).await?.map(|group| AccessRow { group, role: None, member_permissions: vec![], space_moderator: false }));
    };
    let Some(r) = c.query_opt(&AS_USER, &params![user, user, now, id]).await? else {
        return Ok(None);
    };
    Ok(Some(AccessRow {
        group: from_row(&r, 0)?,
        role: r.get(NCOLS)?,
        member_permissions: r.get::<Option<String>>(NCOLS + 1)?.map(|s| json_list(&s)).unwrap_or_default(),
        space_moderator: r.get::<i64>(NCOLS + 2)? > 0,
    }))
}

/// Writes a group's permissions and collection grants: on its row (as read) and in the
/// tables that look groups up by them (filters, the catalogue, the access index).
async fn write_details(c: &Conn, g: &Group) -> Result<(), StoreError> {
    let permissions = (!g.permissions.is_empty()).then(|| crate::to_json_list(&g.permissions));
    let collections = (!g.collections.is_empty()).then(|| serde_json::to_string(&g.collections).unwrap_or_else(|_| "[]".into()));
    c.execute("UPDATE groups SET permissions = ?, collections = ? WHERE id = ?", &params![permissions, collections, g.id.as_str()]).await?;
    c.execute("DELETE FROM group_permissions WHERE group_id = ?", &params![g.id.as_str()]).await?;
    for (i, p) in g.permissions.iter().enumerate() {
        c.execute(
            "INSERT INTO group_permissions (group_id, permission, position) VALUES (?, ?, ?)",
            &params![g.id.as_str(), p.as_str(), i as i64],
        )
        .await?;
    }
    c.execute("DELETE FROM group_collections WHERE group_id = ?", &params![g.id.as_str()]).await?;
    for (i, col) in g.collections.iter().enumerate() {
        c.execute(
            "INSERT INTO group_collections (group_id, collection_id, read_only, hide_passwords, manage, position) VALUES (?, ?, ?, ?, ?, ?)",
            &params![g.id.as_str(), col.id.as_str(), col.read_only, col.hide_passwords, col.manage, i as i64],
        )
        .await?;
    }
    Ok(())
}

/// Rewrites every group's row copy of its permissions and collection grants from the
/// tables, for loaders that fill the tables directly (the benchmark's).
pub async fn copy_details_to_rows(c: &Conn) -> Result<(), StoreError> {
    let sql = match c.backend() {
        Backend::Sqlite => {
            "UPDATE groups SET \
             permissions = (SELECT json_group_array(permission) FROM (SELECT permission FROM group_permissions p WHERE p.group_id = groups.id ORDER BY position)), \
             collections = (SELECT json_group_array(json_object('id', collection_id, \
                 'read_only', json(CASE WHEN read_only <> 0 THEN 'true' ELSE 'false' END), \
                 'hide_passwords', json(CASE WHEN hide_passwords <> 0 THEN 'true' ELSE 'false' END), \
                 'manage', json(CASE WHEN manage <> 0 THEN 'true' ELSE 'false' END))) \
                 FROM (SELECT * FROM group_collections k WHERE k.group_id = groups.id ORDER BY position)); \
             UPDATE groups SET permissions = NULL WHERE permissions = '[]'; \
             UPDATE groups SET collections = NULL WHERE collections = '[]'"
        }
        Backend::Postgres => {
            "UPDATE groups g SET permissions = (SELECT json_agg(permission ORDER BY position)::text FROM group_permissions p WHERE p.group_id = g.id), \
             collections = (SELECT json_agg(json_build_object('id', collection_id, 'read_only', read_only <> 0, \
                 'hide_passwords', hide_passwords <> 0, 'manage', manage <> 0) ORDER BY position)::text \
                 FROM group_collections k WHERE k.group_id = g.id)"
        }
    };
    c.batch(sql).await
}

pub async fn insert(c: &Conn, g: &Group, depth: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO groups (id, num, space_id, parent_id, parent_key, name, name_key, description, type, visibility, external_id, access_all, \
         allow_join_requests, require_approval, max_members, inherit_permissions, inherit_members, active_members, owner_count, depth, \
         created_at, created_by, updated_at, updated_by, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?)",
        &params![
            g.id.as_str(), g.num, g.space_id.as_str(), g.parent_id.clone(), g.parent_id.clone().unwrap_or_default(), g.name.as_str(),
            name_key(&g.name), g.description.clone(), g.group_type.as_str(), g.visibility.as_str(), g.external_id.clone(), g.access_all,
            g.settings.allow_join_requests, g.settings.require_approval, g.settings.max_members, g.inherit_permissions, g.inherit_members,
            depth, g.created_at, g.created_by.clone(), g.updated_at, g.updated_by.clone(), g.version
        ],
    )
    .await?;
    write_details(c, g).await
}

/// Writes the editable fields of `g` if the stored version is still `expected_version`;
/// answers whether it did. Member counters are left alone.
pub async fn update(c: &Conn, g: &Group, expected_version: i64) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE groups SET name = ?, name_key = ?, description = ?, type = ?, visibility = ?, external_id = ?, access_all = ?, \
             allow_join_requests = ?, require_approval = ?, max_members = ?, inherit_permissions = ?, inherit_members = ?, \
             updated_at = ?, updated_by = ?, version = ? WHERE id = ? AND version = ?",
            &params![
                g.name.as_str(),
                name_key(&g.name),
                g.description.clone(),
                g.group_type.as_str(),
                g.visibility.as_str(),
                g.external_id.clone(),
                g.access_all,
                g.settings.allow_join_requests,
                g.settings.require_approval,
                g.settings.max_members,
                g.inherit_permissions,
                g.inherit_members,
                g.updated_at,
                g.updated_by.clone(),
                g.version,
                g.id.as_str(),
                expected_version
            ],
        )
        .await?;
    if n == 1 {
        write_details(c, g).await?;
    }
    Ok(n == 1)
}

/// Deletes the group (its memberships, permissions and grants go with it); answers how many
/// memberships it had.
pub async fn delete(c: &Conn, id: &str) -> Result<i64, StoreError> {
    let members: i64 = c.query_one("SELECT COUNT(*) FROM memberships WHERE group_id = ?", &params![id]).await?.get(0)?;
    c.execute("DELETE FROM groups WHERE id = ?", &params![id]).await?;
    Ok(members)
}

pub async fn child_ids(c: &Conn, id: &str) -> Result<Vec<String>, StoreError> {
    c.query("SELECT id FROM groups WHERE parent_id = ? ORDER BY created_at, id", &params![id]).await?.iter().map(|r| r.get(0)).collect()
}

/// Takes a seat if the group has one free: the `max_members` rule, safe under concurrency.
pub async fn take_seat(c: &Conn, id: &str) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE groups SET active_members = active_members + 1 WHERE id = ? AND (max_members IS NULL OR active_members < max_members)",
            &params![id],
        )
        .await?;
    Ok(n == 1)
}

pub async fn free_seat(c: &Conn, id: &str) -> Result<(), StoreError> {
    c.execute("UPDATE groups SET active_members = active_members - 1 WHERE id = ? AND active_members > 0", &params![id]).await?;
    Ok(())
}

pub async fn add_owner(c: &Conn, id: &str) -> Result<(), StoreError> {
    c.execute("UPDATE groups SET owner_count = owner_count + 1 WHERE id = ?", &params![id]).await?;
    Ok(())
}

/// Gives up one active owner unless it is the last: the `last_owner` rule.
pub async fn drop_owner(c: &Conn, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("UPDATE groups SET owner_count = owner_count - 1 WHERE id = ? AND owner_count > 1", &params![id]).await? == 1)
}

/// Takes the group's row lock until the transaction ends (a no-op update: portable, and on
/// PostgreSQL it makes concurrent changes to one group's members wait their turn).
pub async fn lock(c: &Conn, group_id: &str) -> Result<(), StoreError> {
    c.execute("UPDATE groups SET version = version WHERE id = ?", &params![group_id]).await?;
    Ok(())
}

/// Takes `n` seats at once if the group has that many free: `max_members` as
/// [`take_seat`] keeps it, for a batch.
pub async fn take_seats(c: &Conn, group_id: &str, n: i64) -> Result<bool, StoreError> {
    let changed = c
        .execute(
            "UPDATE groups SET active_members = active_members + ? WHERE id = ? AND (max_members IS NULL OR active_members + ? <= max_members)",
            &params![n, group_id, n],
        )
        .await?;
    Ok(changed == 1)
}

/// Gives back `n` seats (never below zero).
pub async fn free_seats(c: &Conn, group_id: &str, n: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE groups SET active_members = CASE WHEN active_members > ? THEN active_members - ? ELSE 0 END WHERE id = ?",
        &params![n, n, group_id],
    )
    .await?;
    Ok(())
}

/// Counts `n` more active owners.
pub async fn add_owners(c: &Conn, id: &str, n: i64) -> Result<(), StoreError> {
    c.execute("UPDATE groups SET owner_count = owner_count + ? WHERE id = ?", &params![n, id]).await?;
    Ok(())
}

/// Current `(active_members, max_members)`.
pub async fn seats(c: &Conn, id: &str) -> Result<(i64, Option<i64>), StoreError> {
    let r = c.query_one("SELECT active_members, max_members FROM groups WHERE id = ?", &params![id]).await?;
    Ok((r.get(0)?, r.get(1)?))
}

/// Who is listing: `None` sees every group; a user sees public groups, groups they belong
/// to, and groups of spaces they moderate.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user whose view it is; `None` for a key acting for no user.
    pub user_id: Option<String>,
    /// The one space a space-bound credential sees.
    pub space_id: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    pub viewer: Option<Viewer>,
    pub space_id: Option<String>,
    /// `Some(None)`: top-level groups only.
    pub parent_id: Option<Option<String>>,
    pub group_type: Option<GroupType>,
    pub visibility: Option<Visibility>,
    /// Groups this user is an active member of.
    pub member: Option<String>,
    pub search: Option<String>,
    /// Only these groups.
    pub ids: Option<Vec<String>>,
}

/// What groups may be filtered by: native names, and the PocketBase names seed 000 uses.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "g.id" },
    Field { name: "name", kind: Kind::Text, sql: "g.name" },
    Field { name: "description", kind: Kind::Text, sql: "g.description" },
    Field { name: "type", kind: Kind::Text, sql: "g.type" },
    Field { name: "visibility", kind: Kind::Text, sql: "g.visibility" },
    Field { name: "is_public", kind: Kind::Bool, sql: "CASE WHEN g.visibility = 'public' THEN 1 ELSE 0 END" },
    Field { name: "isPublic", kind: Kind::Bool, sql: "CASE WHEN g.visibility = 'public' THEN 1 ELSE 0 END" },
    Field { name: "space", kind: Kind::Text, sql: "g.space_id" },
    Field { name: "space_id", kind: Kind::Text, sql: "g.space_id" },
    Field { name: "parent_id", kind: Kind::Text, sql: "g.parent_id" },
    Field { name: "parent", kind: Kind::Text, sql: "g.parent_id" },
    Field { name: "external_id", kind: Kind::Text, sql: "g.external_id" },
    Field { name: "access_all", kind: Kind::Bool, sql: "g.access_all" },
    Field { name: "member_count", kind: Kind::Int, sql: "g.active_members" },
    Field { name: "settings.max_members", kind: Kind::Int, sql: "g.max_members" },
    Field { name: "settings.allow_join_requests", kind: Kind::Bool, sql: "g.allow_join_requests" },
    Field { name: "settings.require_approval", kind: Kind::Bool, sql: "g.require_approval" },
    Field { name: "inherit_members", kind: Kind::Bool, sql: "g.inherit_members" },
    Field { name: "inherit_permissions", kind: Kind::Bool, sql: "g.inherit_permissions" },
    Field { name: "created_at", kind: Kind::Time, sql: "g.created_at" },
    Field { name: "created", kind: Kind::Time, sql: "g.created_at" },
    Field { name: "updated_at", kind: Kind::Time, sql: "g.updated_at" },
    Field { name: "updated", kind: Kind::Time, sql: "g.updated_at" },
    Field { name: "created_by", kind: Kind::Text, sql: "g.created_by" },
    Field { name: "permissions", kind: Kind::TextList, sql: "SELECT gp.permission FROM group_permissions gp WHERE gp.group_id = g.id" },
    Field { name: "collections", kind: Kind::TextList, sql: "SELECT gc.collection_id FROM group_collections gc WHERE gc.group_id = g.id" },
    Field {
        name: "moderators",
        kind: Kind::TextList,
        sql: "SELECT mm.user_id FROM memberships mm WHERE mm.group_id = g.id AND mm.role IN ('moderator', 'admin', 'owner') AND mm.status = 'active'",
    },
];

/// What groups may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created_at", "created"], sql: "g.created_at", kind: ColKind::Int },
    SortColumn { names: &["updated_at", "updated"], sql: "g.updated_at", kind: ColKind::Int },
    SortColumn { names: &["name"], sql: "g.name_key", kind: ColKind::Text },
    SortColumn { names: &["member_count"], sql: "g.active_members", kind: ColKind::Int },
    SortColumn { names: &["type"], sql: "g.type", kind: ColKind::Text },
    SortColumn { names: &["visibility"], sql: "g.visibility", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "g.id", kind: ColKind::Text },
];

/// The rows of a group list.
pub static LIST: Source =
    Source { from: "groups g", cols: &[COLS], ncols: NCOLS, id: "g.id", fields: FIELDS, sort: SORT, default_sort: "created_at" };

/// The condition that keeps groups `viewer` can see (`g` is the group's alias): for a user,
/// public ones, those they are an active member of, and those of the spaces they moderate;
/// for a space-bound credential, only groups of its space.
pub fn visible_to(v: &Viewer, g: &str) -> (String, Vec<Value>) {
    let mut parts = Vec::new();
    let mut args = Vec::new();
    if let Some(u) = &v.user_id {
        parts.push(format!(
            "({g}.visibility = 'public' \
              OR EXISTS (SELECT 1 FROM memberships vm WHERE vm.group_id = {g}.id AND vm.user_id = ? AND vm.status = 'active' AND (vm.expires_at IS NULL OR vm.expires_at > ?)) \
              OR EXISTS (SELECT 1 FROM space_moderators sm WHERE sm.space_id = {g}.space_id AND sm.user_id = ?))"
        ));
        args.extend(params![u.as_str(), v.now, u.as_str()]);
    }
    if let Some(s) = &v.space_id {
        parts.push(format!("{g}.space_id = ?"));
        args.push(s.into());
    }
    if parts.is_empty() {
        parts.push("1 = 1".into());
    }
    (format!("({})", parts.join(" AND ")), args)
}

/// Builds the statements for a group list (also used to check their query plans).
pub fn list_sql(backend: Backend, q: &GroupQuery, listing: &Listing) -> cohort_core::Result<ListSql> {
    list_sql_with(backend, q, listing, Plan::Index)
}

fn list_sql_with(backend: Backend, q: &GroupQuery, listing: &Listing, search: Plan) -> cohort_core::Result<ListSql> {
    let mut cond = Conditions::new();
    if let Some(v) = &q.viewer {
        let (sql, args) = visible_to(v, "g");
        cond.and(sql, args);
    }
    if let Some(s) = &q.space_id {
        cond.and("g.space_id = ?", [s.into()]);
    }
    match &q.parent_id {
        Some(Some(p)) => {
            cond.and("g.parent_id = ?", [p.into()]);
        }
        Some(None) => {
            cond.and("g.parent_id IS NULL", []);
        }
        None => {}
    }
    if let Some(t) = q.group_type {
        cond.and("g.type = ?", [t.as_str().into()]);
    }
    if let Some(v) = q.visibility {
        cond.and("g.visibility = ?", [v.as_str().into()]);
    }
    if let Some(m) = &q.member {
        cond.and("EXISTS (SELECT 1 FROM memberships fm WHERE fm.group_id = g.id AND fm.user_id = ? AND fm.status = 'active')", [m.into()]);
    }
    if let Some(s) = &q.search {
        let (clause, search_args) = search::clause(backend, &search::GROUPS, s, search);
        cond.and(clause, search_args);
    }
    if let Some(ids) = &q.ids {
        cond.and(format!("g.id IN (SELECT j.value FROM {})", crate::each(backend, "j")), [crate::texts(ids)]);
    }
    list::statements(&LIST, cond, listing)
}

pub async fn list(c: &Conn, q: &GroupQuery, listing: &Listing) -> cohort_core::Result<Page<Group>> {
    let plan = match &q.search {
        Some(term) => search::plan(c, &search::GROUPS, term).await?,
        None => Plan::Rows,
    };
    let sql = list_sql_with(c.backend(), q, listing, plan)?;
    list::run(c, &LIST, &sql, &listing.paging, |r| from_row(r, 0)).await
}

pub async fn depth(c: &Conn, id: &str) -> Result<i64, StoreError> {
    c.query_one("SELECT depth FROM groups WHERE id = ?", &params![id]).await?.get(0)
}

/// The id of the group with this number.
pub async fn id_by_num(c: &Conn, num: i64) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT id FROM groups WHERE num = ?", &params![num]).await?.map(|r| r.get(0)).transpose()
}
