//! The permission catalogue: permissions declared at site level or for a space, with their
//! descriptions, and the rule every grant of a permission to a group goes through.

use crate::{App, Change};
use cohort_core::access::Level;
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::model::{CollectionGrant, DeclaredPermission, GroupDraft};
use cohort_core::policy::site::{self, Granted, PermissionGrant};
use cohort_core::{Error, Result, input, time};
use cohort_store::{Conn, catalogue};

/// What a group gives its effective members: the permissions it carries (inherited ones
/// included) and its collection grants.
#[derive(Debug, Clone, Default)]
pub(crate) struct Given {
    pub permissions: Vec<String>,
    pub collections: Vec<CollectionGrant>,
    pub access_all: bool,
}

impl Given {
    /// Whether these grants lack what `grant` gives for its collection (it is new, of a
    /// higher level, or shows passwords these hid).
    fn lacks(&self, grant: &CollectionGrant) -> bool {
        match self.collections.iter().find(|c| c.id == grant.id) {
            None => true,
            Some(was) => Level::of(grant) > Level::of(was) || (was.hide_passwords && !grant.hide_passwords),
        }
    }
}

fn snapshot(d: &DeclaredPermission) -> serde_json::Value {
    serde_json::json!({"name": d.name, "description": d.description, "space_id": d.space_id})
}

impl App {
    /// The entries of the site (`None`) or of a space.
    pub async fn catalogue(&self, p: &Principal, space_id: Option<&str>) -> Result<Vec<DeclaredPermission>> {
        p.require(Scope::GroupsRead)?;
        let c = self.read().await?;
        self.level_moderator(&c, p, space_id).await?;
        Ok(catalogue::list(&c, space_id).await?)
    }

    /// Declares a permission (409 if it is already declared at that level).
    pub async fn declare_permission(
        &self,
        p: &Principal,
        space_id: Option<String>,
        name: &str,
        description: Option<String>,
    ) -> Result<DeclaredPermission> {
        let name = input::permission(name)?;
        let description = input::text("description", description, 500)?;
        let tx = self.begin().await?;
        let moderator = self.level_moderator(&tx, p, space_id.as_deref()).await?;
        site::manage_catalogue(p, space_id.is_some(), moderator)?;
        let d = DeclaredPermission { name, description, space_id, created_at: time::now(), created_by: p.actor_id() };
        if !catalogue::declare(&tx, &d).await? {
            return Err(Error::conflict(Conflict::Other, format!("{:?} is already declared here", d.name)));
        }
        Change::new("permission.declared", "permission", &d.name).after(snapshot(&d)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(d)
    }

    /// The entry a caller who manages this level of the catalogue is about to change.
    async fn entry_to_change(&self, tx: &Conn, p: &Principal, space_id: Option<&str>, name: &str) -> Result<DeclaredPermission> {
        let moderator = self.level_moderator(tx, p, space_id).await?;
        site::manage_catalogue(p, space_id.is_some(), moderator)?;
        catalogue::get(tx, space_id, name).await?.ok_or(Error::NotFound("permission"))
    }

    /// Changes an entry's description.
    pub async fn describe_permission(
        &self,
        p: &Principal,
        space_id: Option<String>,
        name: &str,
        description: Option<String>,
    ) -> Result<DeclaredPermission> {
        let description = input::text("description", description, 500)?;
        let tx = self.begin().await?;
        let before = self.entry_to_change(&tx, p, space_id.as_deref(), name).await?;
        catalogue::describe(&tx, space_id.as_deref(), name, description.as_deref()).await?;
        let after = DeclaredPermission { description, ..before.clone() };
        Change::new("permission.described", "permission", name).before(snapshot(&before)).after(snapshot(&after)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    /// Removes an entry; refused (409) while groups it declares still grant the permission.
    pub async fn remove_permission(&self, p: &Principal, space_id: Option<String>, name: &str) -> Result<()> {
        let tx = self.begin().await?;
        let before = self.entry_to_change(&tx, p, space_id.as_deref(), name).await?;
        let using = catalogue::groups_granting(&tx, space_id.as_deref(), name).await?;
        if using > 0 {
            return Err(Error::conflict(Conflict::Other, format!("{using} groups still grant {name:?}; remove it from them first")));
        }
        catalogue::remove(&tx, space_id.as_deref(), name).await?;
        Change::new("permission.removed", "permission", name).before(snapshot(&before)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Checks what a change gives a group of `space_id` that it did not have before: every
    /// permission it comes to carry (its own, and through `inherit_permissions` its
    /// parent's) must be declared and held by the caller, unless the caller moderates the
    /// space or the site, who declare what is missing, in the space; every collection grant
    /// must be within the caller's own access; `access_all` is the space's to give.
    pub(crate) async fn check_grants(
        &self,
        tx: &Conn,
        p: &Principal,
        space_id: &str,
        space_moderator: bool,
        before: &Given,
        after: &Given,
    ) -> Result<()> {
        if after.access_all && !before.access_all {
            site::grant_access_all(p, space_moderator)?;
        }
        let now = time::now();
        let mine = match p.user_id() {
            Some(u) if after.collections.iter().any(|c| before.lacks(c)) => self.index().read(|idx| idx.user_collections(u, now)),
            _ => Vec::new(),
        };
        for c in after.collections.iter().filter(|c| before.lacks(c)) {
            let held = mine.iter().find(|m| m.collection_id == c.id).map(|m| (m.level, m.hide_passwords));
            site::grant_collection(p, &c.id, Level::of(c), !c.hide_passwords, held, space_moderator)?;
        }
        let added: Vec<String> = after.permissions.iter().filter(|x| !before.permissions.contains(x)).cloned().collect();
        if added.is_empty() {
            return Ok(());
        }
        let declared = catalogue::declared(tx, space_id, &added).await?;
        for name in &added {
            let held = p.user_id().is_some_and(|u| self.index().read(|idx| idx.check_permission(u, name, now).is_some_and(|d| d.allowed)));
            let grant = PermissionGrant { declared: declared.contains_key(name), held, space_moderator };
            if site::grant_permission(p, name, grant)? == Granted::Declares {
                let d = DeclaredPermission {
                    name: name.clone(),
                    description: None,
                    space_id: Some(space_id.to_string()),
                    created_at: now,
                    created_by: p.actor_id(),
                };
                if catalogue::declare(tx, &d).await? {
                    Change::new("permission.declared", "permission", name).after(snapshot(&d)).record(tx, p).await?;
                }
            }
        }
        Ok(())
    }

    /// What group `id` gives now, from the access index.
    pub(crate) fn given_now(&self, id: &str, g: &cohort_core::model::Group) -> Given {
        let permissions = self.index().read(|idx| idx.group_permissions(id)).into_iter().map(|gp| gp.permission).collect();
        Given { permissions, collections: g.collections.clone(), access_all: g.access_all }
    }

    /// What a group with these fields, under `parent`, gives its members: its own permissions
    /// and, when it inherits them, everything its parent carries (from the access index).
    pub(crate) fn given(&self, draft: &GroupDraft, parent: Option<&str>) -> Given {
        let mut permissions = draft.permissions.clone();
        if draft.inherit_permissions
            && let Some(pid) = parent
        {
            for gp in self.index().read(|idx| idx.group_permissions(pid)) {
                if !permissions.contains(&gp.permission) {
                    permissions.push(gp.permission);
                }
            }
        }
        Given { permissions, collections: draft.collections.clone(), access_all: draft.access_all }
    }

    /// The catalogue's descriptions of `names` for groups of `space_id`.
    pub(crate) async fn descriptions(
        &self,
        c: &Conn,
        space_id: &str,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, Option<String>>> {
        Ok(catalogue::declared(c, space_id, names).await?)
    }
}
