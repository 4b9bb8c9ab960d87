//! Directory sync (SCIM): what an identity provider's key may do, and the changes SCIM needs
//! that the other services do not offer in one step.
//!
//! A SCIM caller is an API key with the `scim` scope bound to a space, or a site `admin`
//! credential (see [`ScimReach`]). A space's key manages the site's users (site
//! administrators are outside its reach: it neither sees nor changes them) and the groups of
//! its own space (another space's groups do not exist for it); an admin reaches every user
//! and every space's groups. A `scim` key's own scopes stop at `scim`, so it cannot use the
//! native API; the SCIM services act for it with the user and group scopes, and every one of
//! them checks the reach first.
//!
//! Deactivating a user through SCIM also suspends their active memberships, and the audit
//! event of that (`user.scim_deactivated`) lists them; reactivating restores exactly those
//! that are still suspended. A membership that keeps a group's last owner stays active.

use crate::membership::{self, Grant};
use crate::users::{NewUser, UserPatch};
use crate::{App, Change, check_version};
use cohort_core::auth::{Principal, Scope, Scopes};
use cohort_core::error::Conflict;
use cohort_core::group::GroupPatch;
use cohort_core::model::{Group, GroupDraft, MemberStatus, Membership, User};
use cohort_core::policy::site::ScimReach;
use cohort_core::policy::{self, Action, GroupContext};
use cohort_core::scim_filter::{Filter, SortBy};
use cohort_core::{Error, Result, time};
use cohort_store::Conn;
use cohort_store::scim::MemberRef;
use cohort_store::{groups, members, users};
use std::collections::{HashMap, HashSet};

/// The most member ids one SCIM request may name.
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

const DEACTIVATED: &str = "user.scim_deactivated";
const REACTIVATED: &str = "user.scim_reactivated";

/// A caller SCIM has accepted: the credential, and what it reaches.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    acting: Principal,
    reach: ScimReach,
}

impl ScimCaller {
    /// The space the caller is held to (`None`: the whole site).
    fn space(&self) -> Option<&str> {
        self.reach.space()
    }
}

/// The most characters of a member's `type` or `display` kept.
const MEMBER_TEXT_MAX: usize = 300;

/// A member as a directory writes it: the user's id, and the `type` and `display` it gave,
/// which are kept and shown back as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScimMember {
    pub user_id: String,
    pub kind: Option<String>,
    pub display: Option<String>,
}

impl ScimMember {
    /// A member written as its id alone.
    pub fn id(user_id: impl Into<String>) -> ScimMember {
        ScimMember { user_id: user_id.into(), ..ScimMember::default() }
    }
}

/// A change to a group's members, applied in order to the current members.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<ScimMember>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<ScimMember>),
}

/// A PATCH or PUT of a SCIM group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupChange {
    pub name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub members: Vec<MemberOp>,
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
}

/// What was written of each member named (the last writing of a user named twice wins),
/// its texts held to their length.
fn written(members: &[ScimMember]) -> Result<HashMap<&str, &ScimMember>> {
    let mut out = HashMap::new();
    for m in members {
        cohort_core::input::text("members.type", m.kind.clone(), MEMBER_TEXT_MAX)?;
        cohort_core::input::text("members.display", m.display.clone(), MEMBER_TEXT_MAX)?;
        out.insert(m.user_id.as_str(), m);
    }
    Ok(out)
}

/// Keeps in `tx` what was written of these memberships' members (`fresh`: made in `tx`).
async fn keep_written(tx: &Conn, ms: &[Membership], written: &HashMap<&str, &ScimMember>, fresh: bool) -> Result<()> {
    let docs: Vec<(String, Option<String>, Option<String>)> =
        ms.iter().filter_map(|m| written.get(m.user_id.as_str()).map(|w| (m.id.clone(), w.kind.clone(), w.display.clone()))).collect();
    if docs.is_empty() {
        return Ok(());
    }
    cohort_store::scim::put_member_documents(tx, &docs, fresh).await
}

fn group_snapshot(g: &Group) -> serde_json::Value {
    serde_json::json!({"name": g.name, "external_id": g.external_id})
}

impl App {
    /// Accepts a principal for SCIM: a `scim` key bound to a space, or a site `admin`
    /// credential (403 otherwise).
    pub fn scim_caller(&self, p: &Principal) -> Result<ScimCaller> {
        let reach = cohort_core::policy::site::use_scim(p)?;
        let acting = Principal {
            user: None,
            scopes: Scopes::of(&[Scope::GroupsRead, Scope::GroupsWrite, Scope::UsersRead, Scope::UsersWrite]),
            key_id: p.key_id.clone(),
            token_id: None,
            // The SCIM services keep to the reach themselves, with the site's scopes.
            space_id: None,
        };
        Ok(ScimCaller { acting, reach })
    }

    /// `/Me`: the user a credential belongs to, and the groups they are a member of (any
    /// status, every space: `(group, name)`); 403 for a credential that is no user's.
    pub async fn scim_me(&self, p: &Principal) -> Result<(User, Vec<(String, String)>)> {
        let user = self.me(p).await?;
        let groups = cohort_store::scim::groups_of(&self.read().await?, None, std::slice::from_ref(&user.id)).await?;
        Ok((user, groups.into_iter().map(|(_, g, name)| (g, name)).collect()))
    }

    /// A user the key reaches (404 for anyone else): one its space provisioned or whose
    /// memberships all lie in its space, never a site administrator or another space's
    /// moderator.
    pub async fn scim_get_user(&self, c: &ScimCaller, id: &str) -> Result<User> {
        let conn = self.read().await?;
        if !cohort_store::scim::reaches_user(&conn, c.space(), id).await? {
            return Err(Error::NotFound("user"));
        }
        users::get(&conn, id).await?.ok_or(Error::NotFound("user"))
    }

    /// The users the caller reaches that match `filter`, in `sort`'s order (else oldest
    /// first): the total and `count` of them from the 1-based `start`.
    pub async fn scim_users(
        &self,
        c: &ScimCaller,
        filter: Option<&Filter>,
        sort: Option<&SortBy>,
        start: i64,
        count: i64,
    ) -> Result<(i64, Vec<User>)> {
        cohort_store::scim::list_users(&self.read().await?, filter, sort, c.space(), start.max(1) - 1, count).await
    }

    /// Creates a user (never an administrator) provisioned by the key's space (by the site,
    /// for an admin); they belong to no group, and the email the directory gives is verified.
    pub async fn scim_create_user(&self, c: &ScimCaller, new: NewUser) -> Result<User> {
        let new = NewUser { site_role: None, email_verified: Some(true), scim_space: c.space().map(str::to_string), ..new };
        self.create_user(&c.acting, new).await
    }

    /// Changes a user, in one transaction with what `active` brings: `false` revokes their
    /// tokens and suspends their memberships; `true` restores the memberships a SCIM
    /// deactivation suspended.
    pub async fn scim_update_user(&self, c: &ScimCaller, id: &str, patch: UserPatch, if_match: Option<i64>) -> Result<User> {
        let current = self.scim_get_user(c, id).await?;
        let requested = patch.active;
        let patch = UserPatch { site_role: None, active: patch.active.filter(|a| *a != current.active), ..patch };
        let unchanged = patch.username.is_none()
            && patch.email.is_none()
            && patch.full_name.is_none()
            && patch.avatar_url.is_none()
            && patch.password.is_none()
            && patch.external_id.is_none()
            && patch.active.is_none()
            && patch.scim_document.is_none();
        let vetted = if unchanged { None } else { Some(self.vet_user_change(&c.acting, id, &patch).await?) };
        let tx = self.begin().await?;
        let u = match vetted {
            None => {
                check_version(if_match, current.version)?;
                current
            }
            Some(v) => self.write_user_change(&tx, &c.acting, id, patch, v, if_match).await?,
        };
        // Run even when `active` did not change, so a repeated request finishes what one
        // refused part-way (a restore that found a group full) left.
        match requested {
            Some(false) => scim_suspend(&tx, c, &u.id).await?,
            Some(true) => scim_restore(&tx, c, &u.id).await?,
            None => {}
        }
        self.commit(tx).await?;
        Ok(u)
    }

    /// Deletes a user and their memberships (409 while they are a group's last owner).
    pub async fn scim_delete_user(&self, c: &ScimCaller, id: &str) -> Result<()> {
        self.scim_get_user(c, id).await?;
        self.delete_user(&c.acting, id).await
    }

    /// What SCIM last wrote of these users beyond their columns, by id (the ids come from
    /// reads that already kept to the caller's reach).
    pub async fn scim_user_documents(&self, user_ids: &[String]) -> Result<std::collections::HashMap<String, serde_json::Value>> {
        cohort_store::scim::user_documents(&self.read().await?, user_ids).await
    }

    /// A group the caller reaches (404 for any other).
    pub async fn scim_get_group(&self, c: &ScimCaller, id: &str) -> Result<Group> {
        match groups::get(&self.read().await?, id).await? {
            Some(g) if c.reach.covers(&g.space_id) => Ok(g),
            _ => Err(Error::NotFound("group")),
        }
    }

    /// The groups the caller reaches that match `filter`, in `sort`'s order (else oldest
    /// first): the total and `count` of them from the 1-based `start`.
    pub async fn scim_groups(
        &self,
        c: &ScimCaller,
        filter: Option<&Filter>,
        sort: Option<&SortBy>,
        start: i64,
        count: i64,
    ) -> Result<(i64, Vec<Group>)> {
        cohort_store::scim::list_groups(&self.read().await?, c.space(), filter, sort, start.max(1) - 1, count).await
    }

    /// A search of every resource type at once: the users the caller reaches, then its
    /// groups, as one list paged across both (`count` of them from the 1-based `start`), with
    /// the total of both. A filter naming an attribute only one type has matches none of the
    /// other; one that neither can answer is refused.
    pub async fn scim_search_all(
        &self,
        c: &ScimCaller,
        filter: Option<&Filter>,
        sort: Option<&SortBy>,
        start: i64,
        count: i64,
    ) -> Result<(i64, Vec<User>, Vec<Group>)> {
        let users = self.scim_users(c, filter, sort, start, count).await;
        // The groups' window starts where the users run out.
        let user_total = users.as_ref().map_or(0, |(t, _)| *t);
        let user_rows = users.as_ref().map_or(0, |(_, u)| u.len() as i64);
        let groups = self.scim_groups(c, filter, sort, (start - 1 - user_total).max(0) + 1, count - user_rows).await;
        let unknown = |e: &Error| matches!(e, Error::InvalidFilter { .. });
        let ((user_total, users), (group_total, groups)) = match (users, groups) {
            (Err(e), Err(_)) => return Err(e),
            (Err(e), _) | (_, Err(e)) if !unknown(&e) => return Err(e),
            (u, g) => (u.unwrap_or_default(), g.unwrap_or_default()),
        };
        Ok((user_total + group_total, users, groups))
    }

    /// The members of these groups of the caller's space.
    pub async fn scim_group_members(&self, c: &ScimCaller, group_ids: &[String]) -> Result<Vec<MemberRef>> {
        cohort_store::scim::members_of(&self.read().await?, c.space(), group_ids).await
    }

    /// The groups of the caller's space these users belong to: `(user, group, name)`.
    pub async fn scim_user_groups(&self, c: &ScimCaller, user_ids: &[String]) -> Result<Vec<(String, String, String)>> {
        cohort_store::scim::groups_of(&self.read().await?, c.space(), user_ids).await
    }

    /// Creates a group in the caller's space (the default space for an admin) with exactly
    /// `members` (the key does not join), the group and its members in one transaction.
    pub async fn scim_create_group(
        &self,
        c: &ScimCaller,
        name: String,
        external_id: Option<String>,
        members: Vec<ScimMember>,
    ) -> Result<Group> {
        let writes = written(&members)?;
        let members = self.known_users(c, members.iter().map(|m| m.user_id.clone()).collect()).await?;
        let input = cohort_core::group::GroupInput { name, external_id, ..Default::default() };
        let tx = self.begin().await?;
        let g = self.create_group_in(&tx, &c.acting, c.space().map(str::to_string), None, input, false).await?;
        if !members.is_empty() {
            reached(&tx, c.space(), &members).await?;
            let ctx = self.load(&tx, &c.acting, &g.id).await?.ctx;
            let made = add_many(&tx, &c.acting, &ctx, &g.id, members).await?;
            keep_written(&tx, &made, &writes, true).await?;
        }
        self.commit(tx).await?;
        self.scim_get_group(c, &g.id).await
    }

    /// Refuses ids that name no user the key reaches (400-class `validation_failed` on
    /// `members`).
    async fn known_users(&self, c: &ScimCaller, ids: Vec<String>) -> Result<Vec<String>> {
        if ids.len() > MAX_MEMBERS_PER_REQUEST {
            return Err(Error::validation("members", format!("at most {MAX_MEMBERS_PER_REQUEST} members in one request")));
        }
        let ids = dedup(ids);
        reached(&self.read().await?, c.space(), &ids).await?;
        Ok(ids)
    }

    /// Renames a group, changes its external id and its members, all in one transaction:
    /// thousands of members added or removed commit together or not at all.
    pub async fn scim_change_group(&self, c: &ScimCaller, id: &str, change: GroupChange, if_match: Option<i64>) -> Result<Group> {
        let named: usize = change
            .members
            .iter()
            .map(|op| match op {
                MemberOp::Add(v) | MemberOp::Replace(v) => v.len(),
                MemberOp::Remove(v) => v.len(),
                MemberOp::RemoveAll => 0,
            })
            .sum();
        if named > MAX_MEMBERS_PER_REQUEST {
            return Err(Error::validation("members", format!("at most {MAX_MEMBERS_PER_REQUEST} members in one request")));
        }
        let p = &c.acting;
        let tx = self.begin().await?;
        groups::lock(&tx, id).await?;
        let loaded = self.load(&tx, p, id).await?;
        if !c.reach.covers(&loaded.group.space_id) {
            return Err(Error::NotFound("group"));
        }
        let ctx = loaded.ctx;
        let mut g = loaded.group;
        check_version(if_match, g.version)?;

        if change.name.is_some() || change.external_id.is_some() {
            let before = GroupDraft::of(&g);
            let draft = GroupPatch { name: change.name.clone(), external_id: change.external_id.clone(), ..GroupPatch::default() }
                .apply(before.clone())?;
            if draft != before {
                let snapshot_before = group_snapshot(&g);
                let expected = g.version;
                g.name = draft.name;
                g.external_id = draft.external_id;
                g.version += 1;
                g.updated_at = time::now();
                g.updated_by = p.actor_id();
                let written = groups::update(&tx, &g, expected).await?;
                if !written {
                    return Err(Error::conflict(Conflict::Other, "the group changed while this update ran; read it again and retry"));
                }
                Change::new("group.updated", "group", id)
                    .group(id)
                    .before(snapshot_before)
                    .after(group_snapshot(&g))
                    .record(&tx, p)
                    .await?;
            }
        }

        if !change.members.is_empty() {
            let current = cohort_store::scim::memberships(&tx, id).await?;
            let mut wanted: Vec<String> = current.iter().map(|m| m.user_id.clone()).collect();
            // Every member an add or replace names is kept as it was last written there.
            let named: Vec<ScimMember> = change
                .members
                .iter()
                .flat_map(|op| match op {
                    MemberOp::Add(ms) | MemberOp::Replace(ms) => ms.as_slice(),
                    MemberOp::Remove(_) | MemberOp::RemoveAll => &[],
                })
                .cloned()
                .collect();
            let writes = written(&named)?;
            for op in change.members {
                match op {
                    MemberOp::Add(ms) => wanted.extend(ms.into_iter().map(|m| m.user_id)),
                    MemberOp::Remove(ids) => {
                        let gone: HashSet<String> = ids.into_iter().collect();
                        wanted.retain(|u| !gone.contains(u));
                    }
                    MemberOp::RemoveAll => wanted.clear(),
                    MemberOp::Replace(ms) => wanted = ms.into_iter().map(|m| m.user_id).collect(),
                }
            }
            let wanted = dedup(wanted);
            let wanted_set: HashSet<&String> = wanted.iter().collect();
            let present: HashSet<&String> = current.iter().map(|m| &m.user_id).collect();
            let adding: Vec<String> = wanted.iter().filter(|u| !present.contains(u)).cloned().collect();
            reached(&tx, c.space(), &adding).await?;
            let removing: Vec<Membership> = current.iter().filter(|m| !wanted_set.contains(&m.user_id)).cloned().collect();
            let staying: Vec<Membership> = current.into_iter().filter(|m| wanted_set.contains(&m.user_id)).collect();
            remove_many(&tx, p, &ctx, id, removing).await?;
            let made = add_many(&tx, p, &ctx, id, adding).await?;
            keep_written(&tx, &staying, &writes, false).await?;
            keep_written(&tx, &made, &writes, true).await?;
        }
        self.commit(tx).await?;
        self.scim_get_group(c, id).await
    }

    /// Deletes a group the caller reaches and its memberships; its users stay.
    pub async fn scim_delete_group(&self, c: &ScimCaller, id: &str, if_match: Option<i64>) -> Result<()> {
        self.scim_get_group(c, id).await?;
        self.delete_group(&c.acting, id, false, if_match).await.map(|_| ())
    }
}

/// Refuses ids that name no user, or a user the space's key does not reach (as if unknown).
async fn reached(c: &Conn, space_id: Option<&str>, ids: &[String]) -> Result<()> {
    let known: HashSet<String> = cohort_store::scim::reached_users(c, space_id, ids).await?.into_iter().collect();
    match ids.iter().find(|id| !known.contains(*id)) {
        Some(missing) => Err(Error::validation("members", format!("no user {missing}"))),
        None => Ok(()),
    }
}

/// Adds known users who are not members yet as active `member`s, in the caller's
/// transaction and in one batch (the seats all at once, or `group_full` and none).
async fn add_many(tx: &Conn, p: &Principal, ctx: &GroupContext, group_id: &str, user_ids: Vec<String>) -> Result<Vec<Membership>> {
    if user_ids.is_empty() {
        return Ok(vec![]);
    }
    let role = crate::groups::role(tx, group_id, "member").await?;
    policy::authorize(p, ctx, Action::AddMember { role: &role })?;
    let grants = user_ids.into_iter().map(|u| Grant::active(u, role.slug.clone())).collect();
    membership::grant_many(tx, p, group_id, grants, "member.added").await
}

/// Removes memberships of one group in the caller's transaction and in one batch; the
/// group keeps its last active owner.
async fn remove_many(tx: &Conn, p: &Principal, ctx: &GroupContext, group_id: &str, gone: Vec<Membership>) -> Result<()> {
    if gone.is_empty() {
        return Ok(());
    }
    let mut roles = HashSet::new();
    for m in &gone {
        // A role that no longer resolves grants nothing, so removing it needs no more than
        // removing a member.
        if roles.insert(m.role.clone()) {
            let role = match crate::groups::role(tx, group_id, &m.role).await {
                Ok(r) => r,
                Err(_) => crate::groups::role(tx, group_id, "member").await?,
            };
            policy::authorize(p, ctx, Action::RemoveMember { role: &role })?;
        }
    }
    membership::revoke_many(tx, p, group_id, gone).await
}

/// Suspends the user's active memberships in `tx`, recording which.
async fn scim_suspend(tx: &Conn, c: &ScimCaller, user_id: &str) -> Result<()> {
    let mut suspended = Vec::new();
    let mut kept = Vec::new();
    for before in members::of_user(tx, user_id).await?.into_iter().filter(|m| m.status == MemberStatus::Active) {
        let after = Membership { status: MemberStatus::Suspended, ..before.clone() };
        match membership::change(tx, &c.acting, &before, after, Some("scim_deactivated")).await {
            Ok(m) => suspended.push(serde_json::json!({"group": m.group_id, "membership": m.id})),
            Err(Error::Conflict { kind: Conflict::LastOwner, .. }) => kept.push(before.group_id.clone()),
            Err(e) => return Err(e),
        }
    }
    if !suspended.is_empty() || !kept.is_empty() {
        Change::new(DEACTIVATED, "user", user_id)
            .user(user_id)
            .after(serde_json::json!({"suspended": suspended, "kept_last_owner": kept}))
            .record(tx, &c.acting)
            .await?;
    }
    Ok(())
}

/// Restores in `tx` the memberships SCIM deactivations suspended since the last
/// reactivation, where they are still suspended and the group has a seat.
async fn scim_restore(tx: &Conn, c: &ScimCaller, user_id: &str) -> Result<()> {
    // Most users have nothing suspended: that answer comes from an index on memberships,
    // before the audit trail is read.
    if !members::of_user(tx, user_id).await?.iter().any(|m| m.status == MemberStatus::Suspended) {
        return Ok(());
    }
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut pending = false;
    for (action, after) in cohort_store::scim::events(tx, user_id, &[DEACTIVATED, REACTIVATED]).await? {
        if action == REACTIVATED {
            break;
        }
        pending = true;
        for item in after.as_ref().and_then(|a| a["suspended"].as_array().cloned()).unwrap_or_default() {
            if let (Some(g), Some(m)) = (item["group"].as_str(), item["membership"].as_str()) {
                listed.push((g.to_string(), m.to_string()));
            }
        }
    }
    if !pending {
        return Ok(());
    }
    let mut restored = Vec::new();
    let mut full = Vec::new();
    let mut seen = HashSet::new();
    for (group_id, membership_id) in listed {
        if !seen.insert(membership_id.clone()) {
            continue;
        }
        // The same membership, still suspended: one removed and made again since is not
        // this deactivation's to restore.
        let Some(before) = members::get(tx, &group_id, user_id).await? else {
            continue;
        };
        if before.id != membership_id || before.status != MemberStatus::Suspended {
            continue;
        }
        let after = Membership { status: MemberStatus::Active, ..before.clone() };
        match membership::change(tx, &c.acting, &before, after, Some("scim_reactivated")).await {
            Ok(_) => restored.push(group_id),
            Err(Error::GroupFull { .. }) => full.push(group_id),
            Err(e) => return Err(e),
        }
    }
    Change::new(REACTIVATED, "user", user_id)
        .user(user_id)
        .after(serde_json::json!({"restored": restored, "group_full": full}))
        .record(tx, &c.acting)
        .await?;
    Ok(())
}
