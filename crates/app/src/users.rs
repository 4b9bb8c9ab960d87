//! Users: create, read, change, delete.

use crate::secrets::hash_password;
use crate::{App, Change, check_version, unique_as};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::model::{SiteRole, User};
use cohort_core::page::Page;
use cohort_core::{Error, Result, id, input, time};
use cohort_store::list::Listing;
use cohort_store::{audit, members, users};

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub password: Option<String>,
    pub site_role: Option<SiteRole>,
    pub external_id: Option<String>,
    pub active: Option<bool>,
}

/// A merge of a user's fields; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    pub full_name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub password: Option<String>,
    pub site_role: Option<SiteRole>,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
}

fn snapshot(u: &User) -> serde_json::Value {
    serde_json::json!({"username": u.username, "email": u.email, "full_name": u.full_name, "active": u.active, "site_role": u.site_role.as_str()})
}

fn user_conflict(e: cohort_store::StoreError) -> Error {
    if e.is_unique_on("email") {
        Error::conflict(Conflict::Other, "that email is already in use")
    } else if e.is_unique_on("external_id") {
        Error::conflict(Conflict::Other, "that external_id is already in use")
    } else {
        unique_as(e, "username", Conflict::Other, "that username is taken")
    }
}

fn optional_text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    input::text(field, v.filter(|s| !s.is_empty()), max)
}

impl App {
    pub async fn create_user(&self, p: &Principal, new: NewUser) -> Result<User> {
        p.require_superuser(Scope::UsersWrite)?;
        let username = input::username(&new.username)?;
        let email = new.email.filter(|e| !e.trim().is_empty()).map(|e| input::email(&e)).transpose()?;
        let password_hash = match new.password {
            Some(pw) => Some(hash_password(input::password(&pw)?.to_string()).await?),
            None => None,
        };
        let now = time::now();
        let tx = self.begin().await?;
        let user = User {
            id: id::new(id::Kind::User),
            num: audit::next_counter(&tx, "users").await?,
            username,
            email,
            full_name: optional_text("full_name", new.full_name, 200)?,
            avatar_url: optional_text("avatar_url", new.avatar_url, 2000)?,
            external_id: input::external_id(new.external_id)?,
            active: new.active.unwrap_or(true),
            site_role: new.site_role.unwrap_or(SiteRole::User),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        users::insert(&tx, &user, password_hash.as_deref()).await.map_err(user_conflict)?;
        Change::new("user.created", "user", &user.id).user(&user.id).after(snapshot(&user)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(user)
    }

    pub async fn get_user(&self, p: &Principal, id: &str) -> Result<User> {
        if p.user_id() != Some(id) {
            p.require(Scope::UsersRead)?;
        }
        users::get(&self.read().await?, id).await?.ok_or(Error::NotFound("user"))
    }

    pub async fn me(&self, p: &Principal) -> Result<User> {
        let id = p.user_id().ok_or(Error::NotFound("user"))?;
        users::get(&self.read().await?, id).await?.ok_or(Error::NotFound("user"))
    }

    pub async fn list_users(&self, p: &Principal, search: Option<&str>, listing: &Listing) -> Result<Page<User>> {
        p.require(Scope::UsersRead)?;
        users::list(&self.read().await?, search, listing).await
    }

    pub async fn update_user(&self, p: &Principal, id: &str, patch: UserPatch, if_match: Option<i64>) -> Result<User> {
        let myself = p.user_id() == Some(id);
        let superuser = p.is_superuser(Scope::UsersWrite);
        if !superuser {
            if !myself {
                p.require(Scope::UsersWrite)?;
                return Err(Error::denied("only a site administrator may change other users"));
            }
            if patch.site_role.is_some() || patch.active.is_some() || patch.external_id.is_some() {
                return Err(Error::denied("only a site administrator may change site_role, active or external_id"));
            }
        }
        let password_hash = match patch.password {
            Some(pw) => Some(hash_password(input::password(&pw)?.to_string()).await?),
            None => None,
        };
        let tx = self.begin().await?;
        let before = users::get(&tx, id).await?.ok_or(Error::NotFound("user"))?;
        check_version(if_match, before.version)?;
        let mut u = before.clone();
        if let Some(v) = patch.username {
            u.username = input::username(&v)?;
        }
        if let Some(v) = patch.email {
            u.email = v.filter(|e| !e.trim().is_empty()).map(|e| input::email(&e)).transpose()?;
        }
        if let Some(v) = patch.full_name {
            u.full_name = optional_text("full_name", v, 200)?;
        }
        if let Some(v) = patch.avatar_url {
            u.avatar_url = optional_text("avatar_url", v, 2000)?;
        }
        if let Some(v) = patch.external_id {
            u.external_id = input::external_id(v)?;
        }
        if let Some(v) = patch.site_role {
            u.site_role = v;
        }
        if let Some(v) = patch.active {
            u.active = v;
        }
        u.updated_at = time::now();
        u.version += 1;
        users::update(&tx, &u, password_hash.as_deref()).await.map_err(user_conflict)?;
        if !u.active || password_hash.is_some() {
            cohort_store::keys::revoke_user_tokens(&tx, id, u.updated_at).await?;
        }
        Change::new("user.updated", "user", id).user(id).before(snapshot(&before)).after(snapshot(&u)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(u)
    }

    /// Deletes a user and their memberships; refused while they are the last owner of a group.
    pub async fn delete_user(&self, p: &Principal, id: &str) -> Result<()> {
        p.require_superuser(Scope::UsersWrite)?;
        let tx = self.begin().await?;
        let user = users::get(&tx, id).await?.ok_or(Error::NotFound("user"))?;
        for m in members::of_user(&tx, id).await? {
            crate::members::shift_counters(&tx, &m.group_id, id, Some((&m.role, m.status)), None).await.map_err(|e| match e {
                Error::Conflict { kind: Conflict::LastOwner, .. } => {
                    Error::conflict(Conflict::LastOwner, format!("the user is the last owner of group {}", m.group_id))
                }
                other => other,
            })?;
            members::delete(&tx, &m.id).await?;
            Change::new("member.removed", "membership", &m.id).group(&m.group_id).user(id).record(&tx, p).await?;
        }
        users::delete(&tx, id).await?;
        Change::new("user.deleted", "user", id).user(id).before(snapshot(&user)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }
}

impl App {
    /// A user record as group tools show it: any caller who may manage groups may read it.
    pub async fn user_record(&self, p: &Principal, id: &str) -> Result<User> {
        if p.user_id() != Some(id) && !p.allows(Scope::UsersRead) {
            p.require(Scope::GroupsRead)?;
        }
        users::get(&self.read().await?, id).await?.ok_or(Error::NotFound("user"))
    }

    /// The groups a user is a direct member of (any status).
    pub async fn direct_group_ids(&self, user_id: &str) -> Result<Vec<String>> {
        Ok(members::of_user(&self.read().await?, user_id).await?.into_iter().map(|m| m.group_id).collect())
    }
}
