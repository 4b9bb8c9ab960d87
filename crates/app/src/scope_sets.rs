//! Scope sets: named bundles of API scopes attached to groups. Every effective member of a
//! group holds the scopes of its sets on the scoped admin API (seed 004), from the access
//! index, so a change takes effect on the next request, on every instance.
//!
//! A set belongs to the site or to one space; the site's administrators manage every set,
//! a space's moderators their space's ([`site::manage_scope_sets`]). A space's set attaches
//! only to that space's groups. Each change that moves what a group gives (attaching,
//! detaching, changing or deleting a set) is recorded as a change of every group concerned,
//! which the index reloads.

use crate::{App, Change, check_version};
use cohort_core::access::HeldScope;
use cohort_core::auth::{Principal, Scope, Scopes};
use cohort_core::error::Conflict;
use cohort_core::model::ScopeSet;
use cohort_core::policy::{Action, site};
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{Conn, scope_sets};

/// What a new scope set is made of.
#[derive(Debug, Clone, Default)]
pub struct NewScopeSet {
    pub space_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
}

/// A change to a scope set; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ScopeSetPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub scopes: Option<Vec<String>>,
}

fn snapshot(s: &ScopeSet) -> serde_json::Value {
    serde_json::json!({"name": s.name, "description": s.description, "scopes": s.scopes.names(), "space_id": s.space_id})
}

fn scopes_of(names: &[String]) -> Result<Scopes> {
    site::scope_set_scopes(Scopes::parse_list(names)?)
}

impl App {
    /// A set the caller may see (any caller with `groups:read`; a space-bound credential only
    /// its space's).
    async fn visible_set(&self, c: &Conn, p: &Principal, id: &str) -> Result<ScopeSet> {
        p.require(Scope::GroupsRead)?;
        let set = scope_sets::get(c, id).await?.ok_or(Error::NotFound("scope set"))?;
        if p.space_id.is_some() && set.space_id != p.space_id {
            return Err(Error::NotFound("scope set"));
        }
        Ok(set)
    }

    /// A set the caller manages, for a change.
    async fn managed_set(&self, c: &Conn, p: &Principal, id: &str) -> Result<ScopeSet> {
        let set = self.visible_set(c, p, id).await?;
        let moderator = self.level_moderator(c, p, set.space_id.as_deref()).await?;
        site::manage_scope_sets(p, set.space_id.is_some(), moderator)?;
        Ok(set)
    }

    /// The sets of the site (`None`) or of a space.
    pub async fn scope_sets(&self, p: &Principal, space_id: Option<&str>) -> Result<Vec<ScopeSet>> {
        p.require(Scope::GroupsRead)?;
        let c = self.read().await?;
        self.level_moderator(&c, p, space_id).await?;
        if space_id.is_none() && p.space_id.is_some() {
            return Ok(vec![]);
        }
        Ok(scope_sets::list(&c, space_id).await?)
    }

    pub async fn scope_set(&self, p: &Principal, id: &str) -> Result<ScopeSet> {
        self.visible_set(&self.read().await?, p, id).await
    }

    /// Makes a set (409 `name_taken` if its level has one of that name, any case).
    pub async fn create_scope_set(&self, p: &Principal, new: NewScopeSet) -> Result<ScopeSet> {
        let name = input::name("name", &new.name, 100)?;
        let description = input::text("description", new.description, 500)?;
        let scopes = scopes_of(&new.scopes)?;
        let tx = self.begin().await?;
        let moderator = self.level_moderator(&tx, p, new.space_id.as_deref()).await?;
        site::manage_scope_sets(p, new.space_id.is_some(), moderator)?;
        let now = time::now();
        let set = ScopeSet {
            id: id::new(id::Kind::ScopeSet),
            space_id: new.space_id,
            name,
            description,
            scopes,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        scope_sets::insert(&tx, &set).await?;
        Change::new("scope_set.created", "scope_set", &set.id).after(snapshot(&set)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(set)
    }

    /// Changes a set's name, description or scopes; what its groups' members hold changes
    /// with it.
    pub async fn update_scope_set(&self, p: &Principal, id: &str, patch: ScopeSetPatch, if_match: Option<i64>) -> Result<ScopeSet> {
        let tx = self.begin().await?;
        let before = self.managed_set(&tx, p, id).await?;
        check_version(if_match, before.version)?;
        let mut after = before.clone();
        if let Some(n) = &patch.name {
            after.name = input::name("name", n, 100)?;
        }
        if let Some(d) = patch.description {
            after.description = input::text("description", d, 500)?;
        }
        if let Some(s) = &patch.scopes {
            after.scopes = scopes_of(s)?;
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = time::now();
        after.version = before.version + 1;
        if !scope_sets::update(&tx, &after, before.version).await? {
            return Err(Error::conflict(Conflict::Other, "the scope set changed while this update ran; read it again and retry"));
        }
        Change::new("scope_set.updated", "scope_set", id).before(snapshot(&before)).after(snapshot(&after)).record(&tx, p).await?;
        if after.scopes != before.scopes {
            for g in scope_sets::groups_of(&tx, id).await? {
                group_changed(&tx, p, &g, id, "group.scope_set_changed").await?;
            }
        }
        self.commit(tx).await?;
        Ok(after)
    }

    /// Deletes a set; the groups it was attached to stop giving its scopes.
    pub async fn delete_scope_set(&self, p: &Principal, id: &str, if_match: Option<i64>) -> Result<()> {
        let tx = self.begin().await?;
        let before = self.managed_set(&tx, p, id).await?;
        check_version(if_match, before.version)?;
        let groups = scope_sets::groups_of(&tx, id).await?;
        scope_sets::delete(&tx, id).await?;
        Change::new("scope_set.deleted", "scope_set", id).before(snapshot(&before)).record(&tx, p).await?;
        for g in groups {
            group_changed(&tx, p, &g, id, "group.scope_set_detached").await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Attaches (`true`) or detaches a set to a group the caller sees; answers whether that
    /// changed anything. A space's set attaches only to that space's groups.
    pub async fn attach_scope_set(&self, p: &Principal, group_id: &str, set_id: &str, attach: bool) -> Result<bool> {
        let tx = self.begin().await?;
        // Who manages the set decides first: nobody else learns whether the group exists.
        let set = self.managed_set(&tx, p, set_id).await?;
        let loaded = self.load_for(&tx, p, group_id, Action::Read).await?;
        fits(&set, &loaded.group.space_id, "scope_set")?;
        let changed = put_attachment(&tx, p, group_id, set_id, attach).await?;
        self.commit(tx).await?;
        Ok(changed)
    }

    /// Makes `group` carry exactly the sets `wanted`, in the caller's transaction: each set
    /// attached or detached needs the caller to manage it (and a space's set the group to be
    /// of that space); sets left as they are need nothing.
    pub(crate) async fn set_scope_sets_in(
        &self,
        tx: &Conn,
        p: &Principal,
        group: &cohort_core::model::Group,
        wanted: Vec<String>,
    ) -> Result<()> {
        let current: std::collections::BTreeSet<String> = scope_sets::of_group(tx, &group.id).await?.into_iter().collect();
        let wanted: std::collections::BTreeSet<String> = wanted.into_iter().collect();
        for id in wanted.symmetric_difference(&current) {
            let attach = wanted.contains(id);
            let set = self.managed_set(tx, p, id).await.map_err(|e| match e {
                Error::NotFound(_) => Error::validation("scope_sets", format!("no scope set {id}")),
                other => other,
            })?;
            if attach {
                fits(&set, &group.space_id, "scope_sets")?;
            }
            put_attachment(tx, p, &group.id, id, attach).await?;
        }
        Ok(())
    }

    /// The scope sets attached to a group, by id (from the index).
    pub fn group_scope_sets(&self, group_id: &str) -> Vec<String> {
        self.index().read(|idx| idx.group_scope_sets(group_id))
    }

    /// The scopes a user holds through their groups' scope sets, and from where.
    pub async fn user_scopes(&self, p: &Principal, user_id: &str, at_least: Option<i64>) -> Result<Vec<HeldScope>> {
        self.about_user(p, user_id, at_least).await?;
        Ok(self.index().read(|idx| idx.held_scopes(user_id, time::now())))
    }

    /// Refuses a credential the scoped admin API does not admit for `need`
    /// ([`site::use_scoped_api`]). A user's scopes are read after the index has caught up
    /// with the change log, so a membership or set removed on another instance counts at once.
    pub async fn scoped_api(&self, p: &Principal, need: Scope) -> Result<()> {
        let granted = match p.user_id() {
            Some(u) if !p.is_superuser(need) => {
                self.sync().await?;
                self.index().read(|idx| idx.granted_scopes(u, time::now()))
            }
            _ => Scopes::default(),
        };
        site::use_scoped_api(p, granted, need)
    }
}

/// A space's set attaches only to the groups of that space (`field` names it in the refusal).
fn fits(set: &ScopeSet, group_space: &str, field: &str) -> Result<()> {
    if set.space_id.as_deref().is_some_and(|s| s != group_space) {
        return Err(Error::validation(field, "a space's scope set attaches only to the groups of that space"));
    }
    Ok(())
}

/// Attaches (`true`) or detaches a set in `tx`, recording the group's change when there is
/// one; answers whether there was.
async fn put_attachment(tx: &Conn, p: &Principal, group_id: &str, set_id: &str, attach: bool) -> Result<bool> {
    let changed = if attach { scope_sets::attach(tx, group_id, set_id).await? } else { scope_sets::detach(tx, group_id, set_id).await? };
    if changed {
        let action = if attach { "group.scope_set_attached" } else { "group.scope_set_detached" };
        group_changed(tx, p, group_id, set_id, action).await?;
    }
    Ok(changed)
}

/// Records that what `group_id` gives changed through scope set `set_id`: an audit event
/// about the group, and the change-log row the index reloads the group by.
async fn group_changed(tx: &Conn, p: &Principal, group_id: &str, set_id: &str, action: &str) -> Result<()> {
    Change::new(action, "group", group_id).group(group_id).after(serde_json::json!({"scope_set": set_id})).record(tx, p).await.map(|_| ())
}
