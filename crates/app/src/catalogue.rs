//! The permission catalogue: permissions declared at site level or for a space, with their
//! descriptions, and the rule every grant of a permission to a group goes through.

use crate::{App, Change};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::model::DeclaredPermission;
use cohort_core::policy::site::{self, Granted, PermissionGrant};
use cohort_core::{Error, Result, input, time};
use cohort_store::{Conn, catalogue, spaces};

fn snapshot(d: &DeclaredPermission) -> serde_json::Value {
    serde_json::json!({"name": d.name, "description": d.description, "space_id": d.space_id})
}

impl App {
    /// 404 unless the space exists; whether the caller moderates it.
    async fn catalogue_space(&self, c: &Conn, p: &Principal, space_id: Option<&str>) -> Result<bool> {
        let Some(s) = space_id else { return Ok(false) };
        if spaces::get(c, s).await?.is_none() {
            return Err(Error::NotFound("space"));
        }
        Ok(match p.user_id() {
            Some(u) => spaces::is_moderator(c, s, u).await?,
            None => false,
        })
    }

    /// The entries of the site (`None`) or of a space.
    pub async fn catalogue(&self, p: &Principal, space_id: Option<&str>) -> Result<Vec<DeclaredPermission>> {
        p.require(Scope::GroupsRead)?;
        let c = self.read().await?;
        self.catalogue_space(&c, p, space_id).await?;
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
        let moderator = self.catalogue_space(&tx, p, space_id.as_deref()).await?;
        site::manage_catalogue(p, space_id.is_some(), moderator)?;
        let d = DeclaredPermission { name, description, space_id, created_at: time::now(), created_by: p.actor_id() };
        if !catalogue::declare(&tx, &d).await? {
            return Err(Error::conflict(Conflict::Other, format!("{:?} is already declared here", d.name)));
        }
        Change::new("permission.declared", "permission", &d.name).after(snapshot(&d)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(d)
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
        let moderator = self.catalogue_space(&tx, p, space_id.as_deref()).await?;
        site::manage_catalogue(p, space_id.is_some(), moderator)?;
        let before = catalogue::get(&tx, space_id.as_deref(), name).await?.ok_or(Error::NotFound("permission"))?;
        catalogue::describe(&tx, space_id.as_deref(), name, description.as_deref()).await?;
        let after = DeclaredPermission { description, ..before.clone() };
        Change::new("permission.described", "permission", name).before(snapshot(&before)).after(snapshot(&after)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    /// Removes an entry; refused (409) while groups it declares still grant the permission.
    pub async fn remove_permission(&self, p: &Principal, space_id: Option<String>, name: &str) -> Result<()> {
        let tx = self.begin().await?;
        let moderator = self.catalogue_space(&tx, p, space_id.as_deref()).await?;
        site::manage_catalogue(p, space_id.is_some(), moderator)?;
        let before = catalogue::get(&tx, space_id.as_deref(), name).await?.ok_or(Error::NotFound("permission"))?;
        let using = catalogue::groups_granting(&tx, space_id.as_deref(), name).await?;
        if using > 0 {
            return Err(Error::conflict(Conflict::Other, format!("{using} groups still grant {name:?}; remove it from them first")));
        }
        catalogue::remove(&tx, space_id.as_deref(), name).await?;
        Change::new("permission.removed", "permission", name).before(snapshot(&before)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Checks the permissions a change gives a group of `space_id` that it did not have
    /// (`after` less `before`): each must be declared and held by the caller, unless the
    /// caller moderates the space or the site; those declare what is missing, in the space.
    pub(crate) async fn check_grants(
        &self,
        tx: &Conn,
        p: &Principal,
        space_id: &str,
        space_moderator: bool,
        before: &[String],
        after: &[String],
    ) -> Result<()> {
        let added: Vec<String> = after.iter().filter(|x| !before.contains(x)).cloned().collect();
        if added.is_empty() {
            return Ok(());
        }
        let declared = catalogue::declared(tx, space_id, &added).await?;
        let now = time::now();
        for name in &added {
            let held = p.user_id().is_some_and(|u| self.index().read(|idx| idx.check_permission(u, name, now).allowed));
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
