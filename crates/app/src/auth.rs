//! Authentication: turning a secret into a [`Principal`], logging in and out, and tokens.

use crate::credentials::Cached;
use crate::secrets::{digest, new_token, token_signed, verify_password};
use crate::stats::LoginOutcome;
use crate::{App, Change, TOKEN_TTL};
use cohort_core::auth::{Caller, Principal, Scopes};
use cohort_core::model::User;
use cohort_core::policy::site;
use cohort_core::{Error, Result, id, throttle, time};
use cohort_store::{keys, users};
use std::net::IpAddr;

/// API keys start with this; anything else is taken for a user token.
pub const KEY_PREFIX: &str = "ck_";

/// A token handed to a user, shown once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: time::Millis,
    pub user: User,
}

fn rate_limited(wait: time::Millis) -> Error {
    let secs = (wait + 999) / 1000;
    Error::RateLimited { retry_after: secs.max(1) as u64, message: format!("too many failed sign-ins; try again in {secs} s") }
}

/// The part of a client address throttling counts by: the address, or for IPv6 its /64
/// (one host commonly holds a whole /64).
fn address_key(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn unauthenticated() -> Error {
    Error::Unauthenticated("missing, expired or unknown credentials".into())
}

impl App {
    /// Who holds `secret` (a user token or an API key); 401 when nobody does.
    ///
    /// Answered from memory when the secret was verified lately ([`crate::credentials`]);
    /// while the database is unavailable, a credential verified before still answers.
    pub async fn authenticate(&self, secret: &str) -> Result<std::sync::Arc<Principal>> {
        let secret = secret.trim();
        if secret.is_empty() || secret.len() > 1024 {
            return Err(unauthenticated());
        }
        let is_key = secret.starts_with(KEY_PREFIX);
        // A token we did not sign is refused before anything is looked up.
        if !is_key && !token_signed(&self.token_key, secret) {
            return Err(unauthenticated());
        }
        let now = time::now();
        let hash = digest(secret);
        let stale = match self.credentials.get(&hash, now) {
            Cached::Fresh(p) => return Ok(p),
            Cached::Stale(p) => Some(p),
            Cached::Missing => None,
        };
        let generation = self.credentials.generation();
        match self.look_up(is_key, &hash, now).await {
            Ok((p, expires_at)) => {
                let p = std::sync::Arc::new(p);
                self.credentials.put(hash, p.clone(), expires_at, generation);
                Ok(p)
            }
            Err(e @ Error::Unavailable { .. }) => stale.ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// Reads who holds the secret with this hash, and until when the credential is valid.
    async fn look_up(&self, is_key: bool, hash: &str, now: time::Millis) -> Result<(Principal, Option<time::Millis>)> {
        let c = self.read().await?;
        if is_key {
            let (key, owner) = keys::key_by_hash(&c, hash, now).await?.ok_or_else(unauthenticated)?;
            let scopes = Scopes::parse_list(&key.scopes).map_err(|_| unauthenticated())?;
            let user = match (key.owner_user_id, owner) {
                (None, _) => None,
                (Some(_), Some(u)) if u.active => Some(Caller { id: u.id, site_role: u.site_role }),
                _ => return Err(unauthenticated()),
            };
            let p = Principal { user, scopes, key_id: Some(key.id), token_id: None, space_id: key.space_id };
            return Ok((p, key.expires_at));
        }
        let (token_id, expires_at, user) = keys::token_by_hash(&c, hash, now).await?.ok_or_else(unauthenticated)?;
        if !user.active {
            return Err(unauthenticated());
        }
        let p = Principal {
            user: Some(Caller { id: user.id, site_role: user.site_role }),
            scopes: Scopes::session(),
            key_id: None,
            token_id: Some(token_id),
            space_id: None,
        };
        Ok((p, Some(expires_at)))
    }

    /// Exchanges a username or email and a password for a token, as the client at `from`.
    ///
    /// Failures slow down per account and per client address ([`throttle`]); while either
    /// waits, every attempt is 429 with the seconds to wait, a right password included.
    pub async fn login(&self, login: &str, password: &str, from: Option<IpAddr>) -> Result<IssuedToken> {
        if login.len() > 320 || password.len() > 1024 {
            return Err(Error::Unauthenticated("wrong login or password".into()));
        }
        let account = format!("account:{}", login.trim().to_lowercase());
        let address = from.map(|a| format!("address:{}", address_key(a)));
        let mut keys: Vec<(&str, throttle::Throttle)> = vec![(&account, throttle::ACCOUNT)];
        if let Some(a) = &address {
            keys.push((a, throttle::ADDRESS));
        }
        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        let now = time::now();
        let until = cohort_store::throttle::locked_until(&self.read().await?, &names).await?;
        if until > now {
            self.stats().logged_in(LoginOutcome::Throttled);
            return Err(rate_limited(until - now));
        }
        let found = users::by_login(&self.read().await?, login).await?;
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), h),
            None => (None, None),
        };
        let ok = verify_password(password.to_string(), hash).await;
        match user {
            Some(u) if ok && u.active => {
                let tx = self.begin().await?;
                cohort_store::throttle::clear(&tx, &account).await?;
                tx.commit().await?;
                self.stats().logged_in(LoginOutcome::Ok);
                let actor = Principal {
                    user: Some(Caller { id: u.id.clone(), site_role: u.site_role }),
                    scopes: Scopes::session(),
                    key_id: None,
                    token_id: None,
                    space_id: None,
                };
                self.issue_token(&actor, u, "auth.login").await
            }
            _ => {
                let now = time::now();
                let tx = self.begin().await?;
                for (key, rule) in &keys {
                    let failures = cohort_store::throttle::fail(&tx, key, now, now - throttle::FORGET_AFTER).await?;
                    let wait = rule.wait_after(failures);
                    if wait > 0 {
                        cohort_store::throttle::lock(&tx, key, now + wait).await?;
                    }
                }
                tx.commit().await?;
                self.stats().logged_in(LoginOutcome::Failed);
                Err(Error::Unauthenticated("wrong login or password".into()))
            }
        }
    }

    /// An administrator mints a token for `user_id`.
    pub async fn mint_token(&self, p: &Principal, user_id: &str) -> Result<IssuedToken> {
        site::mint_session(p)?;
        let user = users::get(&self.read().await?, user_id).await?.ok_or(Error::NotFound("user"))?;
        if !user.active {
            return Err(Error::validation("user_id", "the user is not active"));
        }
        self.issue_token(p, user, "auth.token_minted").await
    }

    pub(crate) async fn issue_session(&self, actor: &Principal, user: User) -> Result<IssuedToken> {
        self.issue_token(actor, user, "auth.refresh").await
    }

    async fn issue_token(&self, actor: &Principal, user: User, action: &str) -> Result<IssuedToken> {
        let now = time::now();
        let expires_at = now + TOKEN_TTL;
        let token = new_token(&self.token_key, &user.id, expires_at)?;
        let token_id = id::new(id::Kind::Token);
        let tx = self.begin().await?;
        keys::insert_token(&tx, &token_id, &digest(&token), &user.id, now, expires_at).await?;
        Change::new(action, "token", &token_id).user(&user.id).record(&tx, actor).await?;
        self.commit(tx).await?;
        Ok(IssuedToken { token, expires_at, user })
    }

    /// Revokes the token the caller used.
    pub async fn logout(&self, p: &Principal) -> Result<()> {
        let Some(token_id) = &p.token_id else {
            return Err(Error::invalid("logout ends a user token; API keys are revoked with DELETE /api/v1/api-keys/{id}"));
        };
        let tx = self.begin().await?;
        keys::revoke_token(&tx, token_id, time::now()).await?;
        Change::new("auth.logout", "token", token_id).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
