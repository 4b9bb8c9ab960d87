//! Users: create, read, change, delete.

use crate::secrets::{hash_password, verify_password};
use crate::{App, Change, check_version};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::list::Listing;
use cohort_core::model::{SiteRole, User};
use cohort_core::page::Page;
use cohort_core::policy::site::{self, UserChange, UserChangeBy};
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{Conn, audit, members, users};

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
    /// Whether the email is confirmed (default: yes, since the site sets it).
    pub email_verified: Option<bool>,
    /// The space whose scim key provisions this user.
    pub scim_space: Option<String>,
    /// What SCIM wrote of the user beyond their columns (see `cohort_store::scim`).
    pub scim_document: Option<serde_json::Value>,
}

/// A user change vetted before its transaction (see `App::vet_user_change`).
pub(crate) struct VettedChange {
    by: UserChangeBy,
    password_hash: Option<String>,
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
    pub email_verified: Option<bool>,
    /// The user's present password, which changing one's own password needs.
    pub current_password: Option<String>,
    /// What SCIM wrote of the user beyond their columns; `Some(None)` forgets it.
    pub scim_document: Option<Option<serde_json::Value>>,
}

impl UserPatch {
    /// What the patch touches, as the policy weighs it.
    fn change(&self) -> UserChange {
        UserChange {
            profile: self.username.is_some()
                || self.email.is_some()
                || self.full_name.is_some()
                || self.avatar_url.is_some()
                || self.scim_document.is_some(),
            password: self.password.is_some(),
            admin_fields: self.site_role.is_some() || self.active.is_some() || self.external_id.is_some() || self.email_verified.is_some(),
            site_role: self.site_role.is_some(),
        }
    }
}

fn snapshot(u: &User) -> serde_json::Value {
    serde_json::json!({"username": u.username, "email": u.email, "email_verified": u.email_verified, "full_name": u.full_name, "active": u.active, "site_role": u.site_role.as_str()})
}

fn optional_text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    input::text(field, v.filter(|s| !s.is_empty()), max)
}

impl App {
    pub async fn create_user(&self, p: &Principal, new: NewUser) -> Result<User> {
        site::manage_users(p, new.site_role == Some(SiteRole::Admin))?;
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
            email_verified: email.is_some() && new.email_verified.unwrap_or(true),
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
        users::insert(&tx, &user, password_hash.as_deref(), new.scim_space.as_deref()).await?;
        if let Some(doc) = &new.scim_document {
            cohort_store::scim::put_user_document(&tx, &user.id, Some(doc)).await?;
        }
        Change::new("user.created", "user", &user.id).user(&user.id).after(snapshot(&user)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(user)
    }

    pub async fn get_user(&self, p: &Principal, id: &str) -> Result<User> {
        site::read_user(p, id)?;
        users::get(&self.read().await?, id).await?.ok_or(Error::NotFound("user"))
    }

    /// A user by id (`usr_…`) or by username or email, for the site's own tools.
    pub async fn find_user(&self, p: &Principal, who: &str) -> Result<User> {
        if who.starts_with("usr_")
            && let Ok(u) = self.get_user(p, who).await
        {
            return Ok(u);
        }
        let (u, _) = users::by_login(&self.read().await?, who).await?.ok_or(Error::NotFound("user"))?;
        site::read_user(p, &u.id)?;
        Ok(u)
    }

    pub async fn me(&self, p: &Principal) -> Result<User> {
        let id = p.user_id().ok_or_else(|| Error::denied("a site key acts for no user"))?;
        users::get(&self.read().await?, id).await?.ok_or(Error::NotFound("user"))
    }

    /// Users; to callers who may not see private fields (everyone but the site's readers of
    /// users) without them, and with filters, sorts and searches over names only.
    pub async fn list_users(&self, p: &Principal, search: Option<&str>, listing: &Listing) -> Result<Page<User>> {
        site::list_users(p)?;
        let listing = listing.seen_by(site::sees_all_users(p));
        users::list(&self.read().await?, search, &listing).await
    }

    /// Changes a user. The site changes anyone and any field (emails it sets are verified);
    /// a user changes their own profile and password with `users:write`, a password change
    /// needs the current one, and an email they set is unverified until confirmed.
    pub async fn update_user(&self, p: &Principal, id: &str, patch: UserPatch, if_match: Option<i64>) -> Result<User> {
        let vetted = self.vet_user_change(p, id, &patch).await?;
        let tx = self.begin().await?;
        let u = self.write_user_change(&tx, p, id, patch, vetted, if_match).await?;
        self.commit(tx).await?;
        Ok(u)
    }

    /// What a change needs decided before its transaction: who may make it (policy), the
    /// present password for one's own, and the new password's hash (slow by design, so never
    /// inside a transaction).
    pub(crate) async fn vet_user_change(&self, p: &Principal, id: &str, patch: &UserPatch) -> Result<VettedChange> {
        p.require(Scope::UsersWrite)?;
        let target = users::get(&self.read().await?, id).await?;
        let target_admin = target.as_ref().is_some_and(|u| u.site_role == SiteRole::Admin);
        let by = site::change_user(p, id, target_admin, patch.change())?;
        if target.is_none() {
            return Err(Error::NotFound("user"));
        }
        if by == UserChangeBy::Themself && patch.password.is_some() {
            let stored = users::password_hash(&self.read().await?, id).await?;
            let matches = match (&stored, &patch.current_password) {
                (Some(_), Some(current)) => Some(verify_password(current.clone(), stored.clone()).await),
                _ => None,
            };
            site::own_password_change(p, stored.is_some(), matches)?;
        }
        let password_hash = match &patch.password {
            Some(pw) => Some(hash_password(input::password(pw)?.to_string()).await?),
            None => None,
        };
        Ok(VettedChange { by, password_hash })
    }

    /// Writes a vetted change in `tx`: the row, the kept SCIM document, revoked tokens when
    /// the user is deactivated or their password changes, and the audit event.
    pub(crate) async fn write_user_change(
        &self,
        tx: &Conn,
        p: &Principal,
        id: &str,
        patch: UserPatch,
        vetted: VettedChange,
        if_match: Option<i64>,
    ) -> Result<User> {
        let VettedChange { by, password_hash } = vetted;
        let before = users::get(tx, id).await?.ok_or(Error::NotFound("user"))?;
        check_version(if_match, before.version)?;
        let mut u = before.clone();
        if let Some(v) = patch.username {
            u.username = input::username(&v)?;
        }
        if let Some(v) = patch.email {
            u.email = v.filter(|e| !e.trim().is_empty()).map(|e| input::email(&e)).transpose()?;
            let changed = u.email.as_deref().map(str::to_lowercase) != before.email.as_deref().map(str::to_lowercase);
            if changed {
                u.email_verified = u.email.is_some() && by == UserChangeBy::Site;
            }
        }
        if let Some(v) = patch.email_verified {
            u.email_verified = v && u.email.is_some();
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
        users::update(tx, &u, password_hash.as_deref()).await?;
        if let Some(doc) = &patch.scim_document {
            cohort_store::scim::put_user_document(tx, id, doc.as_ref()).await?;
        }
        if !u.active || password_hash.is_some() {
            cohort_store::keys::revoke_user_tokens(tx, id, u.updated_at).await?;
        }
        Change::new("user.updated", "user", id).user(id).before(snapshot(&before)).after(snapshot(&u)).record(tx, p).await?;
        Ok(u)
    }

    /// Deletes a user and their memberships; refused while they are the last owner of a group.
    pub async fn delete_user(&self, p: &Principal, id: &str) -> Result<()> {
        site::manage_users(p, false)?;
        let tx = self.begin().await?;
        let user = users::get(&tx, id).await?.ok_or(Error::NotFound("user"))?;
        site::manage_users(p, user.site_role == SiteRole::Admin)?;
        for m in members::of_user(&tx, id).await? {
            crate::membership::revoke(&tx, p, &m, "member.removed").await.map_err(|e| match e {
                Error::Conflict { kind: Conflict::LastOwner, .. } => {
                    Error::conflict(Conflict::LastOwner, format!("the user is the last owner of group {}", m.group_id))
                }
                other => other,
            })?;
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

/// How long an email confirmation stays usable.
pub const EMAIL_VERIFICATION_TTL: time::Millis = 2 * time::DAY;

/// An email confirmation, shown once: the application sends it to the address, and whoever
/// reads that mailbox confirms it with [`App::verify_email`].
#[derive(Debug, Clone)]
pub struct EmailVerification {
    pub token: String,
    pub user_id: String,
    pub email: String,
    pub expires_at: time::Millis,
}

impl App {
    /// Makes a confirmation for the user's current email (the site only: Cohort sends no mail,
    /// so the application that does asks for it and delivers it).
    pub async fn request_email_verification(&self, p: &Principal, user_id: &str) -> Result<EmailVerification> {
        site::manage_users(p, false)?;
        let token = crate::secrets::new_secret("cev_")?;
        let now = time::now();
        let expires_at = now + EMAIL_VERIFICATION_TTL;
        let tx = self.begin().await?;
        let u = users::get(&tx, user_id).await?.ok_or(Error::NotFound("user"))?;
        let email = u.email.ok_or_else(|| Error::validation("email", "the user has no email to confirm"))?;
        users::insert_verification(&tx, &crate::secrets::digest(&token), user_id, &email, now, expires_at).await?;
        Change::new("user.email_verification_requested", "user", user_id)
            .user(user_id)
            .after(serde_json::json!({"email": email, "expires_at": expires_at}))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok(EmailVerification { token, user_id: user_id.to_string(), email, expires_at })
    }

    /// Confirms an email with the token sent to it; 404 for a token that is unknown, used,
    /// expired, or made for an address the user no longer has.
    pub async fn verify_email(&self, token: &str) -> Result<User> {
        let token = token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(Error::NotFound("email verification"));
        }
        let tx = self.begin().await?;
        let uid = users::use_verification(&tx, &crate::secrets::digest(token), time::now())
            .await?
            .ok_or(Error::NotFound("email verification"))?;
        let u = users::get(&tx, &uid).await?.ok_or(Error::NotFound("user"))?;
        Change::new("user.email_verified", "user", &uid)
            .user(&uid)
            .after(serde_json::json!({"email": u.email}))
            .record(&tx, &Principal::system())
            .await?;
        self.commit(tx).await?;
        Ok(u)
    }
}
