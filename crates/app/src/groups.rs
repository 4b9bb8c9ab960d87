//! Groups: create, read, list, change, delete.

use crate::catalogue::Given;
use crate::{App, Change, check_version};
use cohort_core::access::GroupCheck;
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::group::{GroupInput, GroupPatch, MAX_DEPTH};
use cohort_core::list::Listing;
use cohort_core::model::{Group, GroupDraft};
use cohort_core::page::{Page, PageRequest};
use cohort_core::policy::{self, Action, GroupContext, Role};
use cohort_core::{Error, Result, id, time};
use cohort_store::groups::{self, GroupQuery, Viewer};
use cohort_store::{Conn, audit, members, spaces};

/// A group as loaded for a decision, with the caller's place in it.
pub(crate) struct Loaded {
    pub group: Group,
    pub ctx: GroupContext,
}

/// Resolves a role slug of a group: a built-in role or one of the group's custom roles.
pub(crate) async fn role(c: &Conn, group_id: &str, slug: &str) -> Result<Role> {
    if slug == "owner" {
        return Role::builtin(slug).ok_or(Error::NotFound("role"));
    }
    if let Some(custom) = cohort_store::roles::get(c, group_id, slug).await? {
        return Ok(custom);
    }
    Role::builtin(slug).ok_or_else(|| {
        Error::validation("role", format!("unknown role {slug:?}; the group has owner, admin, moderator, member and its custom roles"))
    })
}

impl App {
    /// Loads group `id` and the caller's standing: their direct membership from the
    /// database, else a membership inherited down the tree from the access index.
    pub(crate) async fn load(&self, c: &Conn, p: &Principal, id: &str) -> Result<Loaded> {
        let now = time::now();
        let row = groups::access(c, id, p.user_id(), now).await?.ok_or(Error::NotFound("group"))?;
        // A space-bound credential knows nothing outside its space.
        if p.space_id.as_ref().is_some_and(|s| *s != row.group.space_id) {
            return Err(Error::NotFound("group"));
        }
        let mut slug = row.role;
        if slug.is_none()
            && let Some(uid) = p.user_id()
        {
            slug = self.index().read(|idx| idx.effective_role(uid, id, now)).map(|e| e.role);
        }
        let role = match slug {
            Some(s) => role(c, id, &s).await.ok(),
            None => None,
        };
        // A site key bound to the group's space stands for that space: its moderation.
        let bound_here = p.user.is_none() && p.space_id.as_deref() == Some(row.group.space_id.as_str());
        let ctx = GroupContext {
            visibility: row.group.visibility,
            space_moderator: row.space_moderator || bound_here,
            role,
            member_permissions: row.member_permissions,
        };
        Ok(Loaded { group: row.group, ctx })
    }

    /// Loads and authorizes in one step.
    pub(crate) async fn load_for(&self, c: &Conn, p: &Principal, id: &str, action: Action<'_>) -> Result<Loaded> {
        let loaded = self.load(c, p, id).await?;
        policy::authorize(p, &loaded.ctx, action)?;
        Ok(loaded)
    }
}

fn snapshot(d: &GroupDraft) -> serde_json::Value {
    serde_json::json!({
        "name": d.name, "description": d.description, "type": d.group_type.as_str(), "visibility": d.visibility.as_str(),
        "external_id": d.external_id, "access_all": d.access_all, "settings": d.settings, "permissions": d.permissions,
        "collections": d.collections, "inherit_permissions": d.inherit_permissions, "inherit_members": d.inherit_members,
    })
}

fn apply_draft(g: &mut Group, d: GroupDraft) {
    g.name = d.name;
    g.description = d.description;
    g.group_type = d.group_type;
    g.visibility = d.visibility;
    g.external_id = d.external_id;
    g.access_all = d.access_all;
    g.settings = d.settings;
    g.permissions = d.permissions;
    g.collections = d.collections;
    g.inherit_permissions = d.inherit_permissions;
    g.inherit_members = d.inherit_members;
}

/// What a list of groups is narrowed by.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub space_id: Option<String>,
    pub parent_id: Option<Option<String>>,
    pub group_type: Option<cohort_core::model::GroupType>,
    pub visibility: Option<cohort_core::model::Visibility>,
    pub member: Option<String>,
    pub search: Option<String>,
}

/// Whose view of the groups a list shows: `None` sees every group (a superuser, or a key
/// acting for no user once it has passed its checks); a space-bound credential sees only
/// its space.
pub(crate) fn viewer(p: &Principal) -> Option<Viewer> {
    if p.is_superuser(Scope::GroupsRead) {
        return None;
    }
    let user_id = p.user_id().map(str::to_string);
    if user_id.is_none() && p.space_id.is_none() {
        return None;
    }
    Some(Viewer { user_id, space_id: p.space_id.clone(), now: time::now() })
}

/// Like [`viewer`] for lists across groups, which a key acting for no user (and bound to no
/// space) cannot ask for.
pub(crate) fn list_viewer(p: &Principal, what: &str) -> Result<Option<Viewer>> {
    if !p.is_superuser(Scope::GroupsRead) && p.user_id().is_none() && p.space_id.is_none() {
        return Err(Error::denied(format!("this key cannot list {what}")));
    }
    Ok(viewer(p))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    pub group_id: String,
    pub members_removed: i64,
}

impl App {
    /// Creates a group; a user creating it becomes its owner. `scope_sets` are attached in
    /// the same transaction, by whoever manages them (a refused set makes no group).
    pub async fn create_group(
        &self,
        p: &Principal,
        space_id: Option<String>,
        parent_id: Option<String>,
        input: GroupInput,
        scope_sets: Vec<String>,
    ) -> Result<Group> {
        let tx = self.begin().await?;
        let group = self.create_group_in(&tx, p, space_id, parent_id, input, true).await?;
        if !scope_sets.is_empty() {
            self.set_scope_sets_in(&tx, p, &group, scope_sets).await?;
        }
        self.commit(tx).await?;
        Ok(self.shown(group))
    }

    /// Creates a group and adds `initial` members in the same transaction (all or nothing);
    /// a member who is no user is refused as a validation failure of `field`.
    pub async fn create_group_with(
        &self,
        p: &Principal,
        space_id: Option<String>,
        input: GroupInput,
        initial: Vec<crate::members::NewMember>,
        field: &str,
    ) -> Result<Group> {
        let ids: Vec<String> = initial.iter().map(|m| m.user_id.clone()).collect();
        let tx = self.begin().await?;
        let mut group = self.create_group_in(&tx, p, space_id, None, input, true).await?;
        let known = cohort_store::users::existing(&tx, &ids).await?;
        if let Some(missing) = ids.iter().find(|u| !known.contains(u)) {
            return Err(Error::validation(field, format!("no user {missing}")));
        }
        for m in initial {
            if p.user_id() == Some(m.user_id.as_str()) {
                continue;
            }
            self.add_member_in(&tx, p, &group.id, m).await?;
            group.member_count += 1;
        }
        self.commit(tx).await?;
        Ok(group)
    }

    /// Creates a group; with `creator_joins` a user creating it becomes its owner, without it
    /// the group starts with no members (seed 001's groups list their users explicitly).
    pub async fn create_group_as(
        &self,
        p: &Principal,
        space_id: Option<String>,
        parent_id: Option<String>,
        input: GroupInput,
        creator_joins: bool,
    ) -> Result<Group> {
        let tx = self.begin().await?;
        let group = self.create_group_in(&tx, p, space_id, parent_id, input, creator_joins).await?;
        self.commit(tx).await?;
        Ok(group)
    }

    /// Creates a group inside the caller's transaction.
    pub(crate) async fn create_group_in(
        &self,
        tx: &Conn,
        p: &Principal,
        space_id: Option<String>,
        parent_id: Option<String>,
        input: GroupInput,
        creator_joins: bool,
    ) -> Result<Group> {
        p.require(Scope::GroupsWrite)?;
        // A space-bound credential creates in its space only.
        let space_id = match (&p.space_id, space_id) {
            (Some(bound), Some(s)) if *bound != s => {
                return Err(Error::validation("space_id", format!("this key is bound to space {bound}")));
            }
            (Some(bound), _) => Some(bound.clone()),
            (None, s) => s,
        };
        if p.user.is_none() && !p.is_superuser(Scope::GroupsWrite) && p.space_id.is_none() {
            return Err(Error::denied("this key cannot create groups"));
        }
        let draft = input.into_draft()?;
        let (space_id, depth, space_moderator) = match &parent_id {
            Some(pid) => {
                let parent = self.load_for(tx, p, pid, Action::ManageSettings).await?;
                if space_id.as_ref().is_some_and(|s| *s != parent.group.space_id) {
                    return Err(Error::validation("space_id", "a subgroup lives in its parent's space"));
                }
                let depth = groups::depth(tx, pid).await? + 1;
                if depth >= MAX_DEPTH {
                    return Err(Error::validation("parent_id", format!("groups nest at most {MAX_DEPTH} deep")));
                }
                (parent.group.space_id, depth, parent.ctx.space_moderator)
            }
            None => {
                let sid = space_id.unwrap_or_else(|| crate::spaces::DEFAULT_SPACE.to_string());
                if spaces::get(tx, &sid).await?.is_none() {
                    return Err(Error::validation("space_id", format!("no space {sid}")));
                }
                let moderator = self.moderates(tx, p, &sid).await?;
                (sid, 0, moderator)
            }
        };
        let given = self.given(&draft, parent_id.as_deref());
        self.check_grants(tx, p, &space_id, space_moderator, &Given::default(), &given).await?;
        let now = time::now();
        let mut group = Group {
            id: id::new(id::Kind::Group),
            num: audit::next_counter(tx, "groups").await?,
            space_id,
            parent_id,
            name: String::new(),
            description: None,
            group_type: draft.group_type,
            visibility: draft.visibility,
            external_id: None,
            access_all: false,
            settings: draft.settings.clone(),
            permissions: vec![],
            collections: vec![],
            inherit_permissions: false,
            inherit_members: false,
            member_count: 0,
            owner_count: 0,
            created_at: now,
            created_by: p.actor_id(),
            updated_at: now,
            updated_by: p.actor_id(),
            version: 1,
            scope_sets: vec![],
        };
        let after = snapshot(&draft);
        apply_draft(&mut group, draft);
        groups::insert(tx, &group, depth).await?;
        Change::new("group.created", "group", &group.id).group(&group.id).after(after).record(tx, p).await?;
        if let Some(uid) = p.user_id().filter(|_| creator_joins) {
            crate::membership::grant(tx, p, &group.id, crate::membership::Grant::active(uid, "owner"), "member.added").await?;
            group.member_count = 1;
            group.owner_count = 1;
        }
        Ok(group)
    }

    pub async fn get_group(&self, p: &Principal, id: &str) -> Result<Group> {
        let c = self.read().await?;
        Ok(self.shown(self.load_for(&c, p, id, Action::Read).await?.group))
    }

    /// A group as it is shown: with the scope sets attached to it (from the index).
    pub(crate) fn shown(&self, mut g: Group) -> Group {
        g.scope_sets = self.group_scope_sets(&g.id);
        g
    }

    /// Groups as they are shown ([`App::shown`]), under one look at the index.
    pub(crate) fn shown_page(&self, mut page: Page<Group>) -> Page<Group> {
        self.index().read(|idx| page.items.iter_mut().for_each(|g| g.scope_sets = idx.group_scope_sets(&g.id)));
        page
    }

    pub async fn list_groups(&self, p: &Principal, f: GroupFilter, listing: &Listing) -> Result<Page<Group>> {
        p.require(Scope::GroupsRead)?;
        let q = GroupQuery {
            viewer: list_viewer(p, "groups")?,
            space_id: f.space_id,
            parent_id: f.parent_id,
            group_type: f.group_type,
            visibility: f.visibility,
            member: f.member,
            search: f.search,
            ids: None,
        };
        Ok(self.shown_page(groups::list(&self.read().await?, &q, listing).await?))
    }

    /// Those of `ids` that `p` may read now, by the rule every group read follows.
    pub(crate) fn readable_groups<'a>(&self, p: &Principal, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
        let viewer = viewer(p);
        self.index().read(|idx| {
            ids.filter(|g| match &viewer {
                None => idx.group_space(g).is_some(),
                Some(v) => {
                    v.space_id.as_deref().is_none_or(|s| idx.group_space(g) == Some(s))
                        && v.user_id.as_deref().is_none_or(|u| idx.check_group_seen(u, g, GroupCheck::Read, v.now, false).is_some())
                }
            })
            .map(str::to_string)
            .collect()
        })
    }

    /// Whether the caller may list groups at all (the `groups:read` scope).
    pub fn may_list_groups(&self, p: &Principal) -> Result<()> {
        p.require(Scope::GroupsRead)
    }

    /// Merges `patch` into the group (PATCH); `scope_sets`, when given, are the sets the
    /// group is to carry (attached and detached in the same transaction).
    pub async fn update_group(
        &self,
        p: &Principal,
        id: &str,
        patch: GroupPatch,
        scope_sets: Option<Vec<String>>,
        if_match: Option<i64>,
    ) -> Result<Group> {
        self.change_group(p, id, if_match, scope_sets, |_, d| patch.apply(d)).await
    }

    /// Replaces the group's editable fields (PUT); `scope_sets` as for [`App::update_group`]
    /// (absent: kept as they are).
    #[allow(clippy::too_many_arguments)]
    pub async fn replace_group(
        &self,
        p: &Principal,
        id: &str,
        space_id: Option<String>,
        parent_id: Option<String>,
        input: GroupInput,
        scope_sets: Option<Vec<String>>,
        if_match: Option<i64>,
    ) -> Result<Group> {
        self.change_group(p, id, if_match, scope_sets, |g, _| {
            // A replace keeps the group where it is: spaces never change, parents via a move.
            if space_id.is_some_and(|s| s != g.space_id) {
                return Err(Error::validation("space_id", "a group cannot change space"));
            }
            if parent_id.is_some_and(|pid| Some(&pid) != g.parent_id.as_ref()) {
                return Err(Error::validation("parent_id", "move a group with POST /groups/{id}/move"));
            }
            input.into_draft()
        })
        .await
    }

    async fn change_group(
        &self,
        p: &Principal,
        id: &str,
        if_match: Option<i64>,
        scope_sets: Option<Vec<String>>,
        change: impl FnOnce(&Group, GroupDraft) -> Result<GroupDraft>,
    ) -> Result<Group> {
        let tx = self.begin().await?;
        let g = self.change_group_in(&tx, p, id, if_match, change).await?;
        if let Some(sets) = scope_sets {
            self.set_scope_sets_in(&tx, p, &g, sets).await?;
        }
        self.commit(tx).await?;
        Ok(self.shown(g))
    }

    /// Merges `patch` into the group inside the caller's transaction (a dialect request that
    /// also changes members is one command).
    pub(crate) async fn update_group_in(
        &self,
        tx: &Conn,
        p: &Principal,
        id: &str,
        patch: GroupPatch,
        if_match: Option<i64>,
    ) -> Result<Group> {
        self.change_group_in(tx, p, id, if_match, |_, d| patch.apply(d)).await
    }

    async fn change_group_in(
        &self,
        tx: &Conn,
        p: &Principal,
        id: &str,
        if_match: Option<i64>,
        change: impl FnOnce(&Group, GroupDraft) -> Result<GroupDraft>,
    ) -> Result<Group> {
        let loaded = self.load_for(tx, p, id, Action::ManageSettings).await?;
        let mut g = loaded.group;
        check_version(if_match, g.version)?;
        let before = GroupDraft::of(&g);
        let draft = change(&g, before.clone())?;
        if draft == before {
            return Ok(g);
        }
        let (was, will) = (self.given_now(id, &g), self.given(&draft, g.parent_id.as_deref()));
        self.check_grants(tx, p, &g.space_id, loaded.ctx.space_moderator, &was, &will).await?;
        let after = snapshot(&draft);
        let expected = g.version;
        apply_draft(&mut g, draft);
        g.version += 1;
        g.updated_at = time::now();
        g.updated_by = p.actor_id();
        if !groups::update(tx, &g, expected).await? {
            return Err(Error::conflict(Conflict::Other, "the group changed while this update ran; read it again and retry"));
        }
        Change::new("group.updated", "group", id).group(id).before(snapshot(&before)).after(after).record(tx, p).await?;
        Ok(g)
    }

    /// Deletes a group; with `cascade` its whole subtree, else 409 `has_subgroups` if it has any.
    pub async fn delete_group(&self, p: &Principal, id: &str, cascade: bool, if_match: Option<i64>) -> Result<Deleted> {
        let tx = self.begin().await?;
        let removed = self.delete_in(&tx, p, id, cascade, if_match).await?;
        self.commit(tx).await?;
        Ok(removed)
    }

    async fn delete_in(&self, tx: &Conn, p: &Principal, id: &str, cascade: bool, if_match: Option<i64>) -> Result<Deleted> {
        let g = self.load_for(tx, p, id, Action::Delete).await?.group;
        check_version(if_match, g.version)?;
        let mut order = vec![id.to_string()];
        let mut i = 0;
        while i < order.len() {
            let children = groups::child_ids(tx, &order[i]).await?;
            if !children.is_empty() && !cascade {
                return Err(Error::conflict(Conflict::HasSubgroups, "the group has subgroups; delete them first or pass cascade=true"));
            }
            order.extend(children);
            i += 1;
        }
        let mut members_removed = 0;
        for gid in order.iter().rev() {
            // Its memberships go through the engine (and are told as removed); the deletion
            // is recorded while the change log can still name the group's space.
            members_removed += crate::membership::dissolve(tx, p, gid).await?;
            Change::new("group.deleted", "group", gid).group(gid).record(tx, p).await?;
            groups::delete(tx, gid).await?;
        }
        Ok(Deleted { group_id: id.to_string(), members_removed })
    }

    /// Deletes each group it may; answers one result per id, in order.
    pub async fn bulk_delete_groups(&self, p: &Principal, ids: &[String], cascade: bool) -> Result<Vec<(String, Result<Deleted>)>> {
        if ids.len() > 1000 {
            return Err(Error::validation("ids", "at most 1000 ids"));
        }
        let tx = self.begin().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.delete_in(&tx, p, id, cascade, None).await {
                Err(e) if e.is_fatal() => return Err(e),
                r => out.push((id.clone(), r)),
            }
        }
        self.commit(tx).await?;
        Ok(out)
    }
}

/// The site-administrator view of groups that seed 002 serves: every group, with member
/// and creator numbers.
pub struct AdminGroup {
    pub group: Group,
    /// Numbers of the active members.
    pub member_nums: Vec<i64>,
    pub created_by_num: Option<i64>,
    pub updated_by_num: Option<i64>,
}

impl App {
    /// Every group, for site administrators only.
    pub async fn admin_groups(&self, p: &Principal, page: PageRequest) -> Result<(Page<AdminGroup>, Vec<cohort_core::model::User>)> {
        p.require_superuser(Scope::GroupsRead)?;
        let c = self.read().await?;
        let list = groups::list(&c, &GroupQuery::default(), &Listing::page(page)).await?;
        self.admin_view(&c, list).await
    }

    /// One group by its number, for site administrators only.
    pub async fn admin_group(&self, p: &Principal, num: i64) -> Result<(AdminGroup, Vec<cohort_core::model::User>)> {
        p.require_superuser(Scope::GroupsRead)?;
        let c = self.read().await?;
        let id = groups::id_by_num(&c, num).await?.ok_or(Error::NotFound("group"))?;
        let q = GroupQuery { ids: Some(vec![id]), ..GroupQuery::default() };
        let page = groups::list(&c, &q, &Listing::default()).await?;
        let (mut view, users) = self.admin_view(&c, page).await?;
        let one = view.items.pop().ok_or(Error::NotFound("group"))?;
        Ok((one, users))
    }

    async fn admin_view(&self, c: &Conn, page: Page<Group>) -> Result<(Page<AdminGroup>, Vec<cohort_core::model::User>)> {
        let ids: Vec<String> = page.items.iter().map(|g| g.id.clone()).collect();
        let members = members::of_groups(c, &ids, true, usize::MAX).await?;
        let mut people: Vec<String> = page.items.iter().flat_map(|g| [g.created_by.clone(), g.updated_by.clone()]).flatten().collect();
        people.sort();
        people.dedup();
        let nums = cohort_store::users::nums(c, &people).await?;
        let mut users: Vec<cohort_core::model::User> = Vec::new();
        for m in &members {
            if !users.iter().any(|u| u.id == m.user.id) {
                users.push(m.user.clone());
            }
        }
        let view = page.map(|g| AdminGroup {
            member_nums: members.iter().filter(|m| m.membership.group_id == g.id).map(|m| m.user.num).collect(),
            created_by_num: g.created_by.as_ref().and_then(|u| nums.get(u).copied()),
            updated_by_num: g.updated_by.as_ref().and_then(|u| nums.get(u).copied()),
            group: g,
        });
        Ok((view, users))
    }
}

impl App {
    /// What a list can be filtered and sorted by, for this caller (users' private fields only
    /// for those who may see them).
    pub fn list_metadata(&self, p: &Principal, kind: cohort_core::list::ListKind) -> cohort_core::list::ListMetadata {
        cohort_store::list::metadata(kind, cohort_core::policy::site::sees_all_users(p))
    }
}
