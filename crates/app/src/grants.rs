//! Collections granted to a user directly rather than through a group: merged in the access
//! index with the user's groups' grants, the highest level winning (`via` says `direct`).
//! Site administrators grant any; a space's moderators those of their space.

use crate::{App, Change};
use cohort_core::auth::Principal;
use cohort_core::model::CollectionGrant;
use cohort_core::policy::site;
use cohort_core::{Error, Result, time};
use cohort_store::user_collections::{self, DirectGrant};
use cohort_store::{spaces, users};

fn snapshot(g: &DirectGrant) -> serde_json::Value {
    serde_json::json!({
        "collection_id": g.grant.id,
        "space_id": g.space_id,
        "read_only": g.grant.read_only,
        "hide_passwords": g.grant.hide_passwords,
        "manage": g.grant.manage,
    })
}

impl App {
    /// The caller may grant collections of `space_id` (the site's for `None`); 404 for a space
    /// that does not exist or that a bound credential does not reach.
    async fn may_grant_collections(&self, c: &cohort_store::Conn, p: &Principal, space_id: Option<&str>) -> Result<()> {
        let moderator = self.level_moderator(c, p, space_id).await?;
        site::grant_collections(p, space_id.is_some(), moderator)
    }

    /// Grants (or replaces the grant of) a collection to a user, at `grant`'s level.
    pub async fn grant_collection(&self, p: &Principal, user_id: &str, space_id: Option<String>, grant: CollectionGrant) -> Result<()> {
        cohort_core::input::collection_id("collection_id", &grant.id)?;
        let tx = self.begin().await?;
        self.may_grant_collections(&tx, p, space_id.as_deref()).await?;
        if users::get(&tx, user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        let before = user_collections::of_user(&tx, user_id).await?.into_iter().find(|g| g.grant.id == grant.id);
        if let Some(b) = &before {
            // Another space's grant is that space's to change.
            self.may_grant_collections(&tx, p, b.space_id.as_deref()).await?;
        }
        let after = DirectGrant { user_id: user_id.to_string(), grant, space_id };
        user_collections::put(&tx, &after, time::now(), p.actor_id()).await?;
        let mut change = Change::new("user.collection_granted", "user", user_id).user(user_id).after(snapshot(&after));
        if let Some(b) = &before {
            change = change.before(snapshot(b));
        }
        change.record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// The collections of a space (an organization) granted to a user directly.
    pub async fn space_collections_of(&self, p: &Principal, user_id: &str, space_id: &str) -> Result<Vec<CollectionGrant>> {
        self.require_space_manager(p, space_id, cohort_core::auth::Scope::GroupsRead).await?;
        let c = self.read().await?;
        if users::get(&c, user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        let all = user_collections::of_user(&c, user_id).await?;
        Ok(all.into_iter().filter(|g| g.space_id.as_deref() == Some(space_id)).map(|g| g.grant).collect())
    }

    /// Sets the collections of a space granted to a user directly to exactly `grants`, in
    /// one transaction (a collection another space or the site granted the user stays theirs:
    /// naming it is refused).
    pub async fn set_space_collections_of(&self, p: &Principal, user_id: &str, space_id: &str, grants: Vec<CollectionGrant>) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for g in &grants {
            cohort_core::input::collection_id("collections", &g.id)?;
            if !seen.insert(g.id.clone()) {
                return Err(Error::validation("collections", format!("collection {:?} is listed twice", g.id)));
            }
        }
        let tx = self.begin().await?;
        self.may_grant_collections(&tx, p, Some(space_id)).await?;
        if users::get(&tx, user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        let current = user_collections::of_user(&tx, user_id).await?;
        if let Some(theirs) = current.iter().find(|c| c.space_id.as_deref() != Some(space_id) && seen.contains(&c.grant.id)) {
            return Err(Error::validation(
                "collections",
                format!("collection {:?} is granted to the user by another space or the site", theirs.grant.id),
            ));
        }
        let before: Vec<&DirectGrant> = current.iter().filter(|c| c.space_id.as_deref() == Some(space_id)).collect();
        for gone in before.iter().filter(|c| !seen.contains(&c.grant.id)) {
            user_collections::remove(&tx, user_id, &gone.grant.id).await?;
        }
        let now = time::now();
        let after: Vec<DirectGrant> = grants
            .into_iter()
            .map(|grant| DirectGrant { user_id: user_id.to_string(), grant, space_id: Some(space_id.to_string()) })
            .collect();
        for g in &after {
            user_collections::put(&tx, g, now, p.actor_id()).await?;
        }
        Change::new("user.collections_replaced", "user", user_id)
            .user(user_id)
            .before(serde_json::Value::Array(before.into_iter().map(snapshot).collect()))
            .after(serde_json::Value::Array(after.iter().map(snapshot).collect()))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Takes back a collection granted to a user directly (404 if there is none).
    pub async fn revoke_collection(&self, p: &Principal, user_id: &str, collection_id: &str) -> Result<()> {
        let tx = self.begin().await?;
        let before = user_collections::of_user(&tx, user_id).await?.into_iter().find(|g| g.grant.id == collection_id);
        let Some(before) = before else {
            // Whether a grant exists is not told to whoever may grant none anywhere.
            let moderator = match (p.user_id(), &p.space_id) {
                (Some(u), _) => spaces::moderates_any(&tx, u).await?,
                (None, bound) => bound.is_some(),
            };
            site::grant_collections(p, true, moderator)?;
            return Err(Error::NotFound("collection grant"));
        };
        self.may_grant_collections(&tx, p, before.space_id.as_deref()).await?;
        user_collections::remove(&tx, user_id, collection_id).await?;
        Change::new("user.collection_revoked", "user", user_id).user(user_id).before(snapshot(&before)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
