//! Directory sync (LDAP, Active Directory): bringing one space's users and groups in line
//! with what a directory lists ([`cohort_core::directory`] works out the plan). Each step
//! goes through the services directory sync over SCIM uses, as a key of the space: a user is
//! made (provisioned by the space, email verified) or changed in its own transaction; a group is made with its members, or
//! renamed with its members added (and, pruning, removed), in one transaction through the
//! membership engine, as directory sync over SCIM does. Pruning, a user the directory dropped
//! is deactivated and a group it dropped is deleted, each in its own transaction. A step that
//! is refused (a username someone else holds, a full group) is reported and the others go on.

use crate::App;
use crate::scim::{GroupChange, MemberOp, ScimCaller, ScimMember};
use crate::users::{NewUser, UserPatch};
use cohort_core::auth::{Principal, Scope, Scopes};
use cohort_core::directory::{self, DirGroup, DirUser, Plan};
use cohort_core::{Error, Result};
use std::collections::HashMap;

/// What a sync did, or (dry run) would do.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub plan: Plan,
    /// The steps refused, each with why.
    pub failed: Vec<String>,
}

impl App {
    /// The caller a sync acts as: the site, held to the space, as a directory's key is.
    fn sync_caller(&self, space_id: &str) -> Result<ScimCaller> {
        let p = Principal {
            user: None,
            scopes: Scopes::of(&[Scope::Admin]),
            key_id: None,
            token_id: None,
            space_id: Some(space_id.to_string()),
        };
        self.scim_caller(&p)
    }

    /// What bringing the space in line with the directory takes.
    pub async fn directory_plan(&self, space_id: &str, users: &[DirUser], groups: &[DirGroup], prune: bool) -> Result<Plan> {
        let c = self.read().await?;
        if cohort_store::spaces::get(&c, space_id).await?.is_none() {
            return Err(Error::NotFound("space"));
        }
        directory::check_prune(users, groups, prune)?;
        let user_ids: Vec<String> = users.iter().map(|u| u.external_id.clone()).collect();
        let held_users = cohort_store::directory::users(&c, space_id, &user_ids).await?;
        let held_groups = cohort_store::directory::groups(&c, space_id).await?;
        Ok(directory::plan(users, groups, &held_users, &held_groups, prune))
    }

    /// Carries out `plan` in the space; `progress` is told after each step (done, of).
    pub async fn directory_apply(&self, space_id: &str, plan: Plan, progress: impl Fn(usize, usize)) -> Result<SyncReport> {
        if plan.is_empty() {
            return Ok(SyncReport { plan, failed: Vec::new() });
        }
        let caller = self.sync_caller(space_id)?;
        let total = plan.create_users.len()
            + plan.update_users.len()
            + plan.create_groups.len()
            + {
                let mut touched: Vec<&String> = plan.rename_groups.iter().map(|(g, _)| g).collect();
                touched.extend(plan.add.iter().map(|(g, _)| g));
                touched.extend(plan.remove.iter().map(|(g, _)| g));
                touched.sort();
                touched.dedup();
                touched.len()
            }
            + if plan.prune { plan.left_users.len() + plan.left_groups.len() } else { 0 };
        let mut done = 0;
        let mut failed = Vec::new();
        let mut step = |r: Result<()>, what: String| {
            if let Err(e) = r {
                failed.push(format!("{what}: {e}"));
            }
            done += 1;
            progress(done, total);
        };
        for u in &plan.create_users {
            let new = NewUser {
                username: u.username.clone(),
                email: u.email.clone(),
                full_name: u.full_name.clone(),
                external_id: Some(u.external_id.clone()),
                ..NewUser::default()
            };
            step(self.scim_create_user(&caller, new).await.map(|_| ()), format!("user {}", u.username));
        }
        for (id, u) in &plan.update_users {
            let patch = UserPatch {
                username: Some(u.username.clone()),
                email: Some(u.email.clone()),
                full_name: Some(u.full_name.clone()),
                active: plan.reactivate.contains(id).then_some(true),
                ..UserPatch::default()
            };
            step(self.scim_update_user(&caller, id, patch, None).await.map(|_| ()), format!("user {}", u.username));
        }
        // Members are named by external id; the users are all made by now. Only the members'
        // ids are read, not the space's other users.
        let mut ext: Vec<String> = plan.create_groups.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
        ext.extend(plan.add.iter().flat_map(|(_, m)| m.iter().cloned()));
        ext.sort();
        ext.dedup();
        let ids: HashMap<String, String> = cohort_store::directory::by_external_id(&self.read().await?, space_id, &ext)
            .await?
            .into_iter()
            .map(|u| (u.external_id, u.id))
            .collect();
        let members = |exts: &std::collections::BTreeSet<String>| -> Vec<ScimMember> {
            exts.iter().filter_map(|e| ids.get(e)).map(|id| ScimMember::id(id.clone())).collect()
        };
        for (g, exts) in &plan.create_groups {
            let r = self.scim_create_group(&caller, g.name.clone(), Some(g.external_id.clone()), members(exts)).await;
            step(r.map(|_| ()), format!("group {}", g.name));
        }
        let mut changes: HashMap<&str, GroupChange> = HashMap::new();
        for (id, name) in &plan.rename_groups {
            changes.entry(id).or_default().name = Some(name.clone());
        }
        for (id, exts) in &plan.add {
            changes.entry(id).or_default().members.push(MemberOp::Add(members(exts)));
        }
        for (id, gone) in &plan.remove {
            changes.entry(id).or_default().members.push(MemberOp::Remove(gone.iter().cloned().collect()));
        }
        let mut changes: Vec<(&str, GroupChange)> = changes.into_iter().collect();
        changes.sort_by(|a, b| a.0.cmp(b.0));
        for (id, change) in changes {
            step(self.scim_change_group(&caller, id, change, None).await.map(|_| ()), format!("group {id}"));
        }
        if plan.prune {
            for (id, name) in &plan.left_groups {
                step(self.scim_delete_group(&caller, id, None).await, format!("deleting group {name}"));
            }
            for (id, username) in &plan.left_users {
                let patch = UserPatch { active: Some(false), ..UserPatch::default() };
                step(self.scim_update_user(&caller, id, patch, None).await.map(|_| ()), format!("deactivating user {username}"));
            }
        }
        Ok(SyncReport { plan, failed })
    }
}
