//! Spaces (tenants) and their moderators.

use crate::{App, Change, check_version};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::list::Listing;
use cohort_core::model::Space;
use cohort_core::page::Page;
use cohort_core::policy::site;
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{Tx, spaces, users};

pub const DEFAULT_SPACE: &str = "spc_default";

#[derive(Debug, Clone, Default)]
pub struct SpacePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub moderators: Option<Vec<String>>,
}

fn snapshot(s: &Space) -> serde_json::Value {
    serde_json::json!({"name": s.name, "description": s.description, "moderators": s.moderators})
}

async fn check_users(tx: &Tx, ids: &[String]) -> Result<Vec<String>> {
    let mut wanted: Vec<String> = ids.to_vec();
    wanted.sort();
    wanted.dedup();
    let found = users::existing(tx, &wanted).await?;
    match wanted.iter().find(|id| !found.contains(id)) {
        Some(missing) => Err(Error::validation("moderators", format!("no user {missing}"))),
        None => Ok(wanted),
    }
}

impl App {
    pub async fn create_space(&self, p: &Principal, name: &str, description: Option<String>, moderators: Vec<String>) -> Result<Space> {
        site::manage_spaces(p)?;
        let name = input::name("name", name, 200)?;
        let description = input::text("description", description, 2000)?;
        let tx = self.begin().await?;
        let now = time::now();
        let space = Space {
            id: id::new(id::Kind::Space),
            name,
            description,
            moderators: check_users(&tx, &moderators).await?,
            created_at: now,
            created_by: p.actor_id(),
            updated_at: now,
            version: 1,
        };
        spaces::insert(&tx, &space).await?;
        Change::new("space.created", "space", &space.id).after(snapshot(&space)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(space)
    }

    pub async fn get_space(&self, p: &Principal, id: &str) -> Result<Space> {
        p.require(Scope::GroupsRead)?;
        // A space-bound credential knows no other space.
        if p.space_id.as_deref().is_some_and(|s| s != id) {
            return Err(Error::NotFound("space"));
        }
        spaces::get(&self.read().await?, id).await?.ok_or(Error::NotFound("space"))
    }

    /// Spaces; a space-bound credential sees its own only.
    pub async fn list_spaces(&self, p: &Principal, listing: &Listing) -> Result<Page<Space>> {
        p.require(Scope::GroupsRead)?;
        spaces::list(&self.read().await?, p.space_id.as_deref(), listing).await
    }

    pub async fn update_space(&self, p: &Principal, id: &str, patch: SpacePatch, if_match: Option<i64>) -> Result<Space> {
        site::manage_spaces(p)?;
        let tx = self.begin().await?;
        let before = spaces::get(&tx, id).await?.ok_or(Error::NotFound("space"))?;
        check_version(if_match, before.version)?;
        let mut s = before.clone();
        if let Some(n) = patch.name {
            if id == DEFAULT_SPACE && input::name_key(&n) != "default" {
                return Err(Error::validation("name", "the default space keeps its name"));
            }
            s.name = input::name("name", &n, 200)?;
        }
        if let Some(d) = patch.description {
            s.description = input::text("description", d, 2000)?;
        }
        if let Some(m) = patch.moderators {
            s.moderators = check_users(&tx, &m).await?;
        }
        s.updated_at = time::now();
        s.version += 1;
        spaces::update(&tx, &s).await?;
        Change::new("space.updated", "space", id).before(snapshot(&before)).after(snapshot(&s)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(s)
    }

    /// Deletes an empty space; the default space stays.
    pub async fn delete_space(&self, p: &Principal, id: &str) -> Result<()> {
        site::manage_spaces(p)?;
        let tx = self.begin().await?;
        let space = spaces::get(&tx, id).await?.ok_or(Error::NotFound("space"))?;
        if id == DEFAULT_SPACE {
            return Err(Error::conflict(Conflict::Other, "the default space cannot be deleted"));
        }
        if spaces::group_count(&tx, id).await? > 0 {
            return Err(Error::conflict(Conflict::Other, "the space still has groups"));
        }
        spaces::delete(&tx, id).await?;
        // Its scope sets go with it: they could only ever attach to its groups.
        cohort_store::scope_sets::delete_of_space(&tx, id).await?;
        Change::new("space.deleted", "space", id).before(snapshot(&space)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// For something kept at site level (`None`) or a space's: 404 unless the space exists
    /// and the credential is not bound to another; whether the caller moderates it (`false`
    /// at site level).
    pub(crate) async fn level_moderator(&self, c: &cohort_store::Conn, p: &Principal, space_id: Option<&str>) -> Result<bool> {
        let Some(s) = space_id else { return Ok(false) };
        if spaces::get(c, s).await?.is_none() || p.space_id.as_deref().is_some_and(|bound| bound != s) {
            return Err(Error::NotFound("space"));
        }
        self.moderates(c, p, s).await
    }

    /// Whether the caller moderates `space_id`: one of its moderators, or a site key bound to
    /// it (which stands for the space's moderation).
    pub(crate) async fn moderates(&self, c: &cohort_store::Conn, p: &Principal, space_id: &str) -> Result<bool> {
        Ok(match p.user_id() {
            Some(u) => spaces::is_moderator(c, space_id, u).await?,
            None => p.space_id.as_deref() == Some(space_id),
        })
    }

    /// Refuses unless the caller manages the space's groups (a site administrator or one of
    /// its moderators) with the scope `need`; 404 for a space that does not exist.
    pub async fn require_space_manager(&self, p: &Principal, space_id: &str, need: Scope) -> Result<()> {
        p.require(need)?;
        let c = self.read().await?;
        if spaces::get(&c, space_id).await?.is_none() {
            return Err(Error::NotFound("organization"));
        }
        let moderator = self.moderates(&c, p, space_id).await?;
        site::manage_space_groups(p, need, moderator)
    }
}
