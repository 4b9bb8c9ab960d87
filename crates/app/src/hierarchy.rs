//! The group tree: subgroups, moves, and permissions with where they come from.

use crate::{App, Change};
use cohort_core::access::GroupPermission;
use cohort_core::auth::Principal;
use cohort_core::error::Conflict;
use cohort_core::group::MAX_DEPTH;
use cohort_core::list::Listing;
use cohort_core::model::{Group, GroupDraft};
use cohort_core::page::Page;
use cohort_core::policy::Action;
use cohort_core::{Error, Result, input, time};
use cohort_store::groups::{self, GroupQuery};
use cohort_store::{Conn, params};

/// The group's subtree (itself first), walked in the database.
async fn subtree(c: &Conn, id: &str) -> Result<Vec<String>> {
    let mut out = vec![id.to_string()];
    let mut i = 0;
    while i < out.len() {
        let children = groups::child_ids(c, &out[i]).await?;
        out.extend(children);
        i += 1;
        if out.len() > 100_000 {
            return Err(Error::validation("parent_id", "the subtree is too large to move"));
        }
    }
    Ok(out)
}

impl App {
    /// Lists a group's children, or with `recursive` its whole subtree, as the caller sees them.
    pub async fn list_subgroups(&self, p: &Principal, id: &str, recursive: bool, listing: &Listing) -> Result<Page<Group>> {
        let c = self.read().await?;
        self.load_for(&c, p, id, Action::Read).await?;
        let ids = if recursive { subtree(&c, id).await?.split_off(1) } else { groups::child_ids(&c, id).await? };
        let q = GroupQuery { viewer: crate::groups::viewer(p), ids: Some(ids), ..GroupQuery::default() };
        Ok(self.shown_page(groups::list(&c, &q, listing).await?))
    }

    /// Moves a group under another (or to the top with `None`): 422 `cycle` under its own
    /// subtree, 422 when the tree would grow deeper than 32.
    pub async fn move_group(&self, p: &Principal, id: &str, new_parent: Option<String>, if_match: Option<i64>) -> Result<Group> {
        let tx = self.begin().await?;
        // Moves take turns (on PostgreSQL this row lock spans instances), so two moves can
        // never build a cycle between them.
        tx.execute("UPDATE counters SET value = value WHERE name = 'groups'", &[]).await?;
        let loaded = self.load_for(&tx, p, id, Action::ManageSettings).await?;
        let g = loaded.group;
        crate::check_version(if_match, g.version)?;
        if let Some(pid) = &new_parent {
            let parent = self.load_for(&tx, p, pid, Action::ManageSettings).await?.group;
            if parent.space_id != g.space_id {
                return Err(Error::validation("parent_id", "a group can only move within its space"));
            }
        }
        // Under a new parent, a group that inherits permissions carries the new parent's.
        let (was, will) = (self.given_now(id, &g), self.given(&GroupDraft::of(&g), new_parent.as_deref()));
        self.check_grants(&tx, p, &g.space_id, loaded.ctx.space_moderator, &was, &will).await?;
        let tree = subtree(&tx, id).await?;
        if let Some(pid) = &new_parent
            && tree.contains(pid)
        {
            return Err(Error::Cycle);
        }
        let old_depth = groups::depth(&tx, id).await?;
        let new_depth = match &new_parent {
            Some(pid) => groups::depth(&tx, pid).await? + 1,
            None => 0,
        };
        let mut deepest = old_depth;
        for gid in &tree {
            deepest = deepest.max(groups::depth(&tx, gid).await?);
        }
        if new_depth + (deepest - old_depth) >= MAX_DEPTH {
            return Err(Error::validation("parent_id", format!("groups nest at most {MAX_DEPTH} deep")));
        }
        let now = time::now();
        tx.execute(
            "UPDATE groups SET parent_id = ?, parent_key = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
            &params![new_parent.clone(), new_parent.clone().unwrap_or_default(), now, p.actor_id(), id],
        )
        .await?;
        let shift = new_depth - old_depth;
        if shift != 0 {
            for gid in &tree {
                tx.execute("UPDATE groups SET depth = depth + ? WHERE id = ?", &params![shift, gid.as_str()]).await?;
            }
        }
        Change::new("group.moved", "group", id)
            .group(id)
            .before(serde_json::json!({"parent_id": g.parent_id}))
            .after(serde_json::json!({"parent_id": new_parent}))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        self.get_group(p, id).await
    }

    /// A group's permissions, each with the ancestor it comes from (or null) and its
    /// description in the catalogue.
    pub async fn group_permissions(&self, p: &Principal, id: &str) -> Result<Vec<(GroupPermission, Option<String>)>> {
        let c = self.read().await?;
        let g = self.load_for(&c, p, id, Action::Read).await?.group;
        let held = self.index().read(|idx| idx.group_permissions(id));
        self.described(&c, &g.space_id, held).await
    }

    async fn described(&self, c: &Conn, space_id: &str, held: Vec<GroupPermission>) -> Result<Vec<(GroupPermission, Option<String>)>> {
        let names: Vec<String> = held.iter().map(|h| h.permission.clone()).collect();
        let about = self.descriptions(c, space_id, &names).await?;
        Ok(held
            .into_iter()
            .map(|h| {
                let d = about.get(&h.permission).cloned().flatten();
                (h, d)
            })
            .collect())
    }

    /// Adds and removes a group's own permissions.
    pub async fn change_permissions(
        &self,
        p: &Principal,
        id: &str,
        add: Vec<String>,
        remove: Vec<String>,
        if_match: Option<i64>,
    ) -> Result<Vec<(GroupPermission, Option<String>)>> {
        let add = input::permissions(add)?;
        let remove = input::permissions(remove)?;
        let tx = self.begin().await?;
        let loaded = self.load_for(&tx, p, id, Action::ManageSettings).await?;
        let mut g = loaded.group;
        crate::check_version(if_match, g.version)?;
        let before = g.permissions.clone();
        let mut perms: Vec<String> = g.permissions.iter().filter(|x| !remove.contains(x)).cloned().collect();
        for a in add {
            if !perms.contains(&a) {
                perms.push(a);
            }
        }
        let was = self.given_now(id, &g);
        g.permissions = input::permissions(perms)?;
        let will = self.given(&GroupDraft::of(&g), g.parent_id.as_deref());
        self.check_grants(&tx, p, &g.space_id, loaded.ctx.space_moderator, &was, &will).await?;
        let expected = g.version;
        g.version += 1;
        g.updated_at = time::now();
        g.updated_by = p.actor_id();
        if !groups::update(&tx, &g, expected).await? {
            return Err(Error::conflict(Conflict::Other, "the group changed while this update ran; retry"));
        }
        Change::new("permissions.changed", "group", id)
            .group(id)
            .before(serde_json::json!({"permissions": before}))
            .after(serde_json::json!({"permissions": g.permissions}))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        let held = self.index().read(|idx| idx.group_permissions(id));
        self.described(&self.read().await?, &g.space_id, held).await
    }
}
