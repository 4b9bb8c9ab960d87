//! API keys: minted with scopes, shown once, stored as hashes, revoked.

use crate::secrets::{digest, new_secret};
use crate::{App, Change, auth::KEY_PREFIX};
use cohort_core::auth::{Principal, Scope, Scopes};
use cohort_core::model::ApiKey;
use cohort_core::policy::site;
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{keys, spaces, users};

#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    /// The user the key acts as; `None` makes a site key (administrators only).
    pub owner_user_id: Option<String>,
    /// The space a `scim` key is bound to.
    pub space_id: Option<String>,
    pub expires_at: Option<time::Millis>,
}

impl App {
    /// Creates a key; answers it with its secret, which is never shown again.
    pub async fn create_key(&self, p: &Principal, new: NewKey) -> Result<(ApiKey, String)> {
        let name = input::name("name", &new.name, 200)?;
        let scopes = Scopes::parse_list(&new.scopes)?;
        // A key without an owner is a site key for a site administrator, else the caller's own.
        let owner = match (&new.owner_user_id, p.user_id()) {
            (Some(o), _) => Some(o.clone()),
            (None, Some(me)) if !p.is_superuser(Scope::Admin) => Some(me.to_string()),
            (None, _) => None,
        };
        if scopes.contains(Scope::Scim) && new.space_id.is_none() {
            return Err(Error::validation("space_id", "a scim key needs a space"));
        }
        if let Some(t) = new.expires_at
            && t <= time::now()
        {
            return Err(Error::validation("expires_at", "must be in the future"));
        }
        let tx = self.begin().await?;
        // Only those who may mint for the owner learn whether the owner exists.
        let owner_role = match &owner {
            Some(o) if p.is_superuser(Scope::Admin) || p.user_id() == Some(o.as_str()) => {
                Some(users::get(&tx, o).await?.ok_or(Error::NotFound("user"))?.site_role)
            }
            _ => None,
        };
        site::mint_key(p, owner.as_deref(), owner_role, scopes)?;
        if let Some(s) = &new.space_id
            && spaces::get(&tx, s).await?.is_none()
        {
            return Err(Error::NotFound("space"));
        }
        let secret = new_secret(KEY_PREFIX)?;
        let key = ApiKey {
            id: id::new(id::Kind::ApiKey),
            name,
            prefix: secret.chars().take(KEY_PREFIX.len() + 6).collect(),
            scopes: scopes.names(),
            owner_user_id: owner,
            space_id: new.space_id,
            created_at: time::now(),
            created_by: p.actor_id(),
            expires_at: new.expires_at,
            last_used_at: None,
        };
        keys::insert_key(&tx, &key, &digest(&secret)).await?;
        Change::new("api_key.created", "api_key", &key.id)
            .after(serde_json::json!({"name": key.name, "scopes": key.scopes, "owner_user_id": key.owner_user_id}))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok((key, secret))
    }

    /// Live keys: all of them for an administrator, else the caller's own.
    pub async fn list_keys(&self, p: &Principal) -> Result<Vec<ApiKey>> {
        let c = self.read().await?;
        if p.is_superuser(Scope::Admin) {
            Ok(keys::list_keys(&c, None).await?)
        } else {
            let me = p.user_id().ok_or_else(|| Error::denied("a site key cannot list keys"))?;
            Ok(keys::list_keys(&c, Some(me)).await?)
        }
    }

    pub async fn revoke_key(&self, p: &Principal, key_id: &str) -> Result<()> {
        let tx = self.begin().await?;
        let key = keys::get_key(&tx, key_id).await?.ok_or(Error::NotFound("api key"))?;
        site::manage_key(p, key.owner_user_id.as_deref())?;
        keys::revoke_key(&tx, key_id, time::now()).await?;
        Change::new("api_key.revoked", "api_key", key_id).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
