//! Memberships: add (one or many), read, change role/permissions/status, remove, join, leave.
//!
//! Each command decides who may, then asks the membership engine ([`crate::membership`]),
//! which keeps the seats, the last owner, the history and the audit trail.

use crate::groups::role;
use crate::membership::{self, Grant};
use crate::{App, check_version};
use cohort_core::auth::Principal;
use cohort_core::list::Listing;
use cohort_core::list::MemberQuery;
use cohort_core::model::{Member, MemberStatus, Membership, User};
use cohort_core::page::{Page, PageRequest};
use cohort_core::policy::site;
use cohort_core::policy::{self, Action, Role};
use cohort_core::{Error, Result, input, time};
use cohort_store::{Conn, members, users};

#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub user_id: String,
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub status: Option<MemberStatus>,
    pub expires_at: Option<time::Millis>,
    /// Whether the caller asked for the user to be told; recorded on the audit event.
    pub notify: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub status: Option<MemberStatus>,
    pub expires_at: Option<Option<time::Millis>>,
}

/// How one item of a bulk add went.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkOutcome {
    Added(Membership),
    Exists,
    Failed(Error),
}

/// The result of removing a membership.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub group_id: String,
    pub user_id: String,
    pub removed_at: time::Millis,
}

/// A role slug that no longer resolves (its custom role was removed): it grants nothing.
fn orphan_role(slug: &str) -> Role {
    Role { slug: slug.to_string(), name: slug.to_string(), caps: cohort_core::policy::Caps::default(), builtin: false }
}

fn validate_expiry(t: Option<time::Millis>) -> Result<Option<time::Millis>> {
    match t {
        Some(t) if t <= time::now() => Err(Error::validation("expires_at", "must be in the future")),
        other => Ok(other),
    }
}

impl App {
    /// Adds one member (201), or refuses: `member_exists`, `group_full`, 403, 404.
    pub async fn add_member(&self, p: &Principal, group_id: &str, new: NewMember) -> Result<Membership> {
        let tx = self.begin().await?;
        let m = self.add_in(&tx, p, group_id, new, None).await?;
        self.commit(tx).await?;
        Ok(m)
    }

    /// Adds a member inside the caller's transaction.
    pub(crate) async fn add_member_in(&self, c: &Conn, p: &Principal, group_id: &str, new: NewMember) -> Result<Membership> {
        self.add_in(c, p, group_id, new, None).await
    }

    async fn add_in(
        &self,
        c: &Conn,
        p: &Principal,
        group_id: &str,
        new: NewMember,
        loaded: Option<&crate::groups::Loaded>,
    ) -> Result<Membership> {
        let owned;
        let loaded = match loaded {
            Some(l) => l,
            None => {
                owned = self.load(c, p, group_id).await?;
                &owned
            }
        };
        let r = role(c, group_id, new.role.as_deref().unwrap_or("member")).await?;
        let user_id = new.user_id.clone();
        let grant = self.decide_grant(p, loaded, &r, new)?;
        if users::get(c, &user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        membership::grant(c, p, group_id, grant, "member.added").await
    }

    /// Adds many members in one transaction; each item reports its own outcome.
    pub async fn bulk_add_members(&self, p: &Principal, group_id: &str, mut items: Vec<NewMember>) -> Result<Vec<(String, BulkOutcome)>> {
        if items.len() > 10_000 {
            return Err(Error::validation("members", "at most 10000 members in one request"));
        }
        // A malformed item refuses the whole batch before anything is applied; per-item
        // outcomes report what the group and its users decide.
        for (i, item) in items.iter_mut().enumerate() {
            if let Some(perms) = item.permissions.take() {
                item.permissions = Some(input::permissions(perms).map_err(|e| match e {
                    Error::Validation { message, .. } => Error::validation(format!("members[{i}].permissions"), message),
                    other => other,
                })?);
            }
        }
        let tx = self.begin().await?;
        let loaded = self.load(&tx, p, group_id).await?;
        // A caller who may add nobody is refused for the batch; the roles of the items are
        // then decided one by one.
        let member = crate::groups::role(&tx, group_id, "member").await?;
        policy::authorize(p, &loaded.ctx, Action::AddMember { role: &member })?;
        let ids: Vec<String> = items.iter().map(|i| i.user_id.clone()).collect();
        let present: std::collections::HashSet<String> = members::existing_users(&tx, group_id, &ids).await?.into_iter().collect();
        let known: std::collections::HashSet<String> = users::existing(&tx, &ids).await?.into_iter().collect();
        let mut free = self.free_seats(&tx, group_id).await?;
        let mut out: Vec<(String, BulkOutcome)> = Vec::with_capacity(items.len());
        // Each item is decided here; those that pass are made in one batch below, and their
        // outcomes filled in by position.
        let mut grants = Vec::new();
        let mut granted_at = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut roles: std::collections::HashMap<String, Role> = std::collections::HashMap::new();
        for item in items {
            let uid = item.user_id.clone();
            if present.contains(&uid) || !seen.insert(uid.clone()) {
                out.push((uid, BulkOutcome::Exists));
                continue;
            }
            if !known.contains(&uid) {
                out.push((uid, BulkOutcome::Failed(Error::NotFound("user"))));
                continue;
            }
            let slug = item.role.clone().unwrap_or_else(|| "member".into());
            let r = match roles.get(&slug) {
                Some(r) => r.clone(),
                None => match role(&tx, group_id, &slug).await {
                    Ok(r) => {
                        roles.insert(slug, r.clone());
                        r
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        out.push((uid, BulkOutcome::Failed(e)));
                        continue;
                    }
                },
            };
            match self.decide_grant(p, &loaded, &r, item) {
                Err(e) => out.push((uid, BulkOutcome::Failed(e))),
                Ok(g) if g.status == MemberStatus::Active && free == Some(0) => {
                    // No seat is left for this one (the batch takes the seats in order).
                    let (current, max) = cohort_store::groups::seats(&tx, group_id).await?;
                    let full = Error::GroupFull { max_members: max.unwrap_or(current), current_members: current + grants.len() as i64 };
                    out.push((uid, BulkOutcome::Failed(full)));
                }
                Ok(g) => {
                    if g.status == MemberStatus::Active {
                        free = free.map(|f| f - 1);
                    }
                    granted_at.push(out.len());
                    out.push((uid, BulkOutcome::Exists));
                    grants.push(g);
                }
            }
        }
        let made = membership::grant_many(&tx, p, group_id, grants, "member.added").await?;
        for (at, m) in granted_at.into_iter().zip(made) {
            out[at].1 = BulkOutcome::Added(m);
        }
        self.commit(tx).await?;
        Ok(out)
    }

    /// Decides one new membership of `role`: the caller may add it and grant its extra
    /// permissions, and its expiry lies ahead.
    fn decide_grant(&self, p: &Principal, loaded: &crate::groups::Loaded, r: &Role, new: NewMember) -> Result<Grant> {
        policy::authorize(p, &loaded.ctx, Action::AddMember { role: r })?;
        let permissions = input::permissions(new.permissions.unwrap_or_default())?;
        policy::may_grant_permissions(p, &loaded.ctx, &permissions)?;
        let expires_at = validate_expiry(new.expires_at)?;
        Ok(Grant {
            user_id: new.user_id,
            role: r.slug.clone(),
            permissions,
            status: new.status.unwrap_or(MemberStatus::Active),
            expires_at,
            notify: new.notify,
        })
    }

    pub async fn get_member(&self, p: &Principal, group_id: &str, user_id: &str) -> Result<Member> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        members::get_member(&c, group_id, user_id).await?.ok_or(Error::NotFound("member"))
    }

    /// A group's members; `effective` adds those who are members through an ancestor whose
    /// members flow down to it (each user once, by the nearest membership; active ones only).
    pub async fn list_members(
        &self,
        p: &Principal,
        group_id: &str,
        q: &MemberQuery,
        effective: bool,
        listing: &Listing,
    ) -> Result<Page<Member>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        let mut q = q.clone();
        if effective {
            q.inherited_from = Some(self.index().read(|idx| idx.member_sources(group_id)));
        }
        members::list(&c, group_id, &q, &listing.seen_by(site::sees_all_users(p))).await
    }

    pub async fn group_users(&self, p: &Principal, group_id: &str, listing: &Listing) -> Result<Page<User>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        members::users(&c, group_id, &listing.seen_by(site::sees_all_users(p))).await
    }

    /// Changes a member's role, permissions, status or expiry.
    pub async fn update_member(
        &self,
        p: &Principal,
        group_id: &str,
        user_id: &str,
        patch: MemberPatch,
        if_match: Option<i64>,
    ) -> Result<Membership> {
        let tx = self.begin().await?;
        let loaded = self.load(&tx, p, group_id).await?;
        policy::authorize(p, &loaded.ctx, Action::Read)?;
        let before = members::get(&tx, group_id, user_id).await?.ok_or(Error::NotFound("member"))?;
        check_version(if_match, before.version)?;
        let from = role(&tx, group_id, &before.role).await.unwrap_or_else(|_| orphan_role(&before.role));
        let to = match &patch.role {
            Some(slug) => role(&tx, group_id, slug).await?,
            None => from.clone(),
        };
        policy::authorize(p, &loaded.ctx, Action::ChangeMember { from: &from, to: &to })?;
        let mut m = before.clone();
        if let Some(perms) = patch.permissions {
            let perms = input::permissions(perms)?;
            policy::may_grant_permissions(p, &loaded.ctx, &perms)?;
            m.permissions = perms;
        }
        if let Some(s) = patch.status {
            m.status = s;
        }
        if let Some(t) = patch.expires_at {
            m.expires_at = validate_expiry(t)?;
        }
        m.role = to.slug.clone();
        let m = membership::change(&tx, p, &before, m, None).await?;
        self.commit(tx).await?;
        Ok(m)
    }

    /// Removes a member; a member may remove themself (leave).
    pub async fn remove_member(&self, p: &Principal, group_id: &str, user_id: &str, if_match: Option<i64>) -> Result<Removed> {
        let tx = self.begin().await?;
        let loaded = self.load(&tx, p, group_id).await?;
        policy::authorize(p, &loaded.ctx, Action::Read)?;
        let m = members::get(&tx, group_id, user_id).await?.ok_or(Error::NotFound("member"))?;
        crate::check_version(if_match, m.version)?;
        if p.user_id() != Some(user_id) {
            let r = role(&tx, group_id, &m.role).await.unwrap_or_else(|_| orphan_role(&m.role));
            policy::authorize(p, &loaded.ctx, Action::RemoveMember { role: &r })?;
        } else {
            p.require(cohort_core::auth::Scope::GroupsWrite)?;
        }
        membership::revoke(&tx, p, &m, "member.removed").await?;
        let removed_at = time::now();
        self.commit(tx).await?;
        Ok(Removed { group_id: group_id.to_string(), user_id: user_id.to_string(), removed_at })
    }

    /// The caller leaves the group.
    pub async fn leave_group(&self, p: &Principal, group_id: &str) -> Result<Removed> {
        let uid = p.user_id().ok_or_else(|| Error::denied("only a user can leave a group; a site key acts for no user"))?.to_string();
        self.remove_member(p, group_id, &uid, None).await
    }

    /// Makes the group's members exactly `user_ids`: missing ones join as `member`, others
    /// leave (an owner only while another owner stays). One transaction.
    pub async fn set_group_users(&self, p: &Principal, group_id: &str, user_ids: &[String]) -> Result<Vec<String>> {
        let tx = self.begin().await?;
        let wanted = self.set_users_in(&tx, p, group_id, user_ids).await?;
        self.commit(tx).await?;
        Ok(wanted)
    }

    /// [`App::set_group_users`] inside the caller's transaction.
    pub(crate) async fn set_users_in(&self, tx: &Conn, p: &Principal, group_id: &str, user_ids: &[String]) -> Result<Vec<String>> {
        let loaded = self.load(tx, p, group_id).await?;
        policy::authorize(p, &loaded.ctx, Action::Read)?;
        let mut wanted: Vec<String> = user_ids.to_vec();
        wanted.sort();
        wanted.dedup();
        let known = users::existing(tx, &wanted).await?;
        if let Some(missing) = wanted.iter().find(|u| !known.contains(u)) {
            return Err(Error::validation("users", format!("no user {missing}")));
        }
        let current = members::list(tx, group_id, &MemberQuery::default(), &everyone()).await?.items;
        for m in current.iter().filter(|m| !wanted.contains(&m.membership.user_id)) {
            let r = role(tx, group_id, &m.membership.role).await.unwrap_or_else(|_| orphan_role(&m.membership.role));
            policy::authorize(p, &loaded.ctx, Action::RemoveMember { role: &r })?;
            membership::revoke(tx, p, &m.membership, "member.removed").await?;
        }
        for uid in wanted.iter().filter(|u| !current.iter().any(|m| &m.membership.user_id == *u)) {
            self.add_in(tx, p, group_id, NewMember { user_id: uid.clone(), ..NewMember::default() }, Some(&loaded)).await?;
        }
        Ok(wanted)
    }

    /// Makes exactly `owners` the group's owners inside the caller's transaction: new ones
    /// join or are promoted, others step down to member (the last owner stays); a user who
    /// does not exist is a validation failure of `field`.
    pub(crate) async fn set_owners_in(&self, tx: &Conn, p: &Principal, group_id: &str, owners: &[String], field: &str) -> Result<()> {
        let known = users::existing(tx, owners).await?;
        if let Some(missing) = owners.iter().find(|o| !known.contains(o)) {
            return Err(Error::validation(field, format!("no user {missing}")));
        }
        let loaded = self.load(tx, p, group_id).await?;
        policy::authorize(p, &loaded.ctx, Action::Read)?;
        let owner = role(tx, group_id, "owner").await?;
        let member = role(tx, group_id, "member").await?;
        let current = members::list(tx, group_id, &MemberQuery::default(), &everyone()).await?.items;
        for o in owners {
            match current.iter().find(|m| &m.membership.user_id == o) {
                Some(m) if m.membership.role == "owner" => {}
                Some(m) => {
                    let from = role(tx, group_id, &m.membership.role).await.unwrap_or_else(|_| orphan_role(&m.membership.role));
                    policy::authorize(p, &loaded.ctx, Action::ChangeMember { from: &from, to: &owner })?;
                    let after = Membership { role: owner.slug.clone(), ..m.membership.clone() };
                    membership::change(tx, p, &m.membership, after, None).await?;
                }
                None => {
                    policy::authorize(p, &loaded.ctx, Action::AddMember { role: &owner })?;
                    membership::grant(tx, p, group_id, Grant::active(o.clone(), "owner"), "member.added").await?;
                }
            }
        }
        for m in current.iter().filter(|m| m.membership.role == "owner" && !owners.contains(&m.membership.user_id)) {
            policy::authorize(p, &loaded.ctx, Action::ChangeMember { from: &owner, to: &member })?;
            let after = Membership { role: member.slug.clone(), ..m.membership.clone() };
            membership::change(tx, p, &m.membership, after, None).await?;
        }
        Ok(())
    }

    /// The ids of a group's members (every status).
    pub async fn group_user_ids(&self, p: &Principal, group_id: &str) -> Result<Vec<String>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        let all = members::list(&c, group_id, &MemberQuery::default(), &everyone()).await?;
        Ok(all.items.into_iter().map(|m| m.membership.user_id).collect())
    }
}

/// Every row of a list, in its default order.
fn everyone() -> Listing {
    Listing::page(PageRequest { page: 1, limit: 1_000_000, with_total: false })
}
