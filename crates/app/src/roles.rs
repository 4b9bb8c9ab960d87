//! Roles of a group: the built-in four and the group's custom roles.
//!
//! A custom role named like a built-in role below owner (seed 003 creates "Moderator")
//! redefines that role for the group; deleting it restores the built-in meaning.

use crate::{App, Change};
use cohort_core::auth::Principal;
use cohort_core::error::Conflict;
use cohort_core::policy::{Action, BUILTIN_ROLES, Caps, Role};
use cohort_core::{Error, Result, input, time};
use cohort_store::roles::{self, CustomRole};

/// A role as listed: what it allows and how many members hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleView {
    pub role: Role,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub member_count: i64,
}

#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub description: Option<Option<String>>,
}

fn snapshot(r: &CustomRole) -> serde_json::Value {
    serde_json::json!({"role_id": r.role.slug, "name": r.role.name, "permissions": r.permissions, "description": r.description})
}

impl App {
    pub async fn list_roles(&self, p: &Principal, group_id: &str) -> Result<Vec<RoleView>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        let custom = roles::list(&c, group_id).await?;
        let counts = roles::member_counts(&c, group_id).await?;
        let count = |slug: &str| counts.iter().find(|(s, _)| s == slug).map(|(_, n)| *n).unwrap_or(0);
        let mut out = Vec::new();
        for slug in BUILTIN_ROLES {
            if custom.iter().any(|r| r.role.slug == slug) {
                continue;
            }
            if let Some(role) = Role::builtin(slug) {
                out.push(RoleView { permissions: role.caps.names(), description: None, member_count: count(slug), role });
            }
        }
        for r in custom {
            out.push(RoleView { member_count: count(&r.role.slug), role: r.role, description: r.description, permissions: r.permissions });
        }
        Ok(out)
    }

    pub async fn create_role(
        &self,
        p: &Principal,
        group_id: &str,
        name: &str,
        permissions: Vec<String>,
        description: Option<String>,
    ) -> Result<RoleView> {
        let name = input::name("name", name, 100)?;
        let slug = input::slug(&name);
        if slug.is_empty() {
            return Err(Error::validation("name", "a role name needs at least one letter or digit"));
        }
        let caps = Caps::from_names(&permissions)?;
        let description = input::text("description", description, 1000)?;
        let tx = self.begin().await?;
        self.load_for(&tx, p, group_id, Action::ManageRoles).await?;
        if slug == "owner" {
            return Err(Error::conflict(Conflict::Other, "the owner role cannot be redefined"));
        }
        if roles::get(&tx, group_id, &slug).await?.is_some() {
            return Err(Error::conflict(Conflict::Other, format!("the group already has a role {slug:?}")));
        }
        let mut names = permissions;
        names.dedup();
        let custom = CustomRole { role: Role { slug: slug.clone(), name, caps, builtin: false }, description, permissions: names };
        roles::insert(&tx, group_id, &custom, time::now()).await?;
        Change::new("role.created", "role", &slug).group(group_id).after(snapshot(&custom)).record(&tx, p).await?;
        let member_count = roles::member_counts(&tx, group_id).await?.into_iter().find(|(s, _)| *s == slug).map(|(_, n)| n).unwrap_or(0);
        self.commit(tx).await?;
        Ok(RoleView { role: custom.role, description: custom.description, permissions: custom.permissions, member_count })
    }

    pub async fn update_role(&self, p: &Principal, group_id: &str, slug: &str, patch: RolePatch) -> Result<RoleView> {
        let tx = self.begin().await?;
        self.load_for(&tx, p, group_id, Action::ManageRoles).await?;
        let Some(before) = roles::get_full(&tx, group_id, slug).await? else {
            return Err(if BUILTIN_ROLES.contains(&slug) {
                Error::conflict(Conflict::Other, "built-in roles cannot be changed; create a custom role with its name to redefine it")
            } else {
                Error::NotFound("role")
            });
        };
        let mut r = before.clone();
        if let Some(n) = patch.name {
            r.role.name = input::name("name", &n, 100)?;
        }
        if let Some(perms) = patch.permissions {
            r.role.caps = Caps::from_names(&perms)?;
            r.permissions = perms;
        }
        if let Some(d) = patch.description {
            r.description = input::text("description", d, 1000)?;
        }
        roles::update(&tx, group_id, &r, time::now()).await?;
        Change::new("role.updated", "role", slug).group(group_id).before(snapshot(&before)).after(snapshot(&r)).record(&tx, p).await?;
        let member_count = roles::member_counts(&tx, group_id).await?.into_iter().find(|(s, _)| s == slug).map(|(_, n)| n).unwrap_or(0);
        self.commit(tx).await?;
        Ok(RoleView { role: r.role, description: r.description, permissions: r.permissions, member_count })
    }

    /// Deletes a custom role; 409 while members hold it or for a built-in role.
    pub async fn delete_role(&self, p: &Principal, group_id: &str, slug: &str) -> Result<()> {
        let tx = self.begin().await?;
        self.load_for(&tx, p, group_id, Action::ManageRoles).await?;
        let Some(before) = roles::get_full(&tx, group_id, slug).await? else {
            return Err(if BUILTIN_ROLES.contains(&slug) {
                Error::conflict(Conflict::Other, "built-in roles cannot be deleted")
            } else {
                Error::NotFound("role")
            });
        };
        let in_use = roles::member_counts(&tx, group_id).await?.into_iter().any(|(s, n)| s == slug && n > 0);
        if in_use && !BUILTIN_ROLES.contains(&slug) {
            return Err(Error::conflict(Conflict::Other, "the role is in use; give its members another role first"));
        }
        roles::delete(&tx, group_id, slug).await?;
        Change::new("role.deleted", "role", slug).group(group_id).before(snapshot(&before)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
