//! `expand`: related records for a page of groups, fetched with one query per relation
//! (never one per row).

use crate::App;
use cohort_core::auth::Principal;
use cohort_core::list::{Listing, Paging};
use cohort_core::model::{Group, Member, Space};
use cohort_core::{Error, Result};
use cohort_store::groups::{self, GroupQuery};
use cohort_store::{members, spaces};
use std::collections::HashMap;

/// Members shown per group in an expansion.
pub const EXPAND_LIMIT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The active members' user records.
    Users,
    /// The memberships with their users.
    Members,
    Parent,
    Space,
}

/// Parses `users,members,parent,space` (each at most once; unknown names are refused).
pub fn parse(raw: &str) -> Result<Vec<Relation>> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = match part {
            "users" | "user" => Relation::Users,
            "members" => Relation::Members,
            "parent" => Relation::Parent,
            "space" => Relation::Space,
            other => return Err(Error::invalid(format!("cannot expand {other:?}; expand takes users, members, parent, space"))),
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// What was expanded for one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expanded {
    pub members: Option<Vec<Member>>,
    pub users: Option<Vec<Member>>,
    pub parent: Option<Option<Group>>,
    pub space: Option<Space>,
}

impl App {
    /// Expands `relations` for `groups`, keyed by group id.
    pub async fn expand_groups(&self, p: &Principal, groups: &[Group], relations: &[Relation]) -> Result<HashMap<String, Expanded>> {
        let mut out: HashMap<String, Expanded> = groups.iter().map(|g| (g.id.clone(), Expanded::default())).collect();
        if relations.is_empty() || groups.is_empty() {
            return Ok(out);
        }
        let c = self.read().await?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        for rel in relations {
            match rel {
                Relation::Members | Relation::Users => {
                    let active_only = *rel == Relation::Users;
                    let mut by_group: HashMap<String, Vec<Member>> = HashMap::new();
                    for m in members::of_groups(&c, &ids, active_only, EXPAND_LIMIT).await? {
                        by_group.entry(m.membership.group_id.clone()).or_default().push(m);
                    }
                    for (gid, e) in out.iter_mut() {
                        let list = by_group.remove(gid).unwrap_or_default();
                        if active_only { e.users = Some(list) } else { e.members = Some(list) }
                    }
                }
                Relation::Parent => {
                    let parent_ids: Vec<String> = groups.iter().filter_map(|g| g.parent_id.clone()).collect();
                    let q = GroupQuery { viewer: crate::groups::viewer(p), ids: Some(parent_ids), ..GroupQuery::default() };
                    let paging = Paging::Cursor { after: None, limit: groups.len() as i64 + 1, with_total: false };
                    let parents = groups::list(&c, &q, &Listing { paging, ..Listing::default() }).await?.items;
                    for g in groups {
                        let parent = g.parent_id.as_ref().and_then(|pid| parents.iter().find(|x| &x.id == pid).cloned());
                        if let Some(e) = out.get_mut(&g.id) {
                            e.parent = Some(parent);
                        }
                    }
                }
                Relation::Space => {
                    let mut cache: HashMap<String, Option<Space>> = HashMap::new();
                    for g in groups {
                        if !cache.contains_key(&g.space_id) {
                            cache.insert(g.space_id.clone(), spaces::get(&c, &g.space_id).await?);
                        }
                        if let (Some(e), Some(Some(s))) = (out.get_mut(&g.id), cache.get(&g.space_id)) {
                            e.space = Some(s.clone());
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}
