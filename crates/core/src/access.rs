//! The access index: who effectively belongs where, which permissions and collection grants
//! that brings, and the answers to "may this user do this?" — all from memory.
//!
//! The index holds the group tree (with its inheritance flags), each user's direct
//! memberships, each group's permissions, collection grants and custom roles, the site
//! administrators and the space moderators. It is pure data: the services keep it in step
//! with the database through the change log and ask it questions.
//!
//! Semantics (SPEC §2): a direct membership counts while active and unexpired. Members flow
//! down the tree into children that `inherit_members`, keeping their role. A group carries
//! its parent's permissions when it `inherit_permissions`. Collection access is the highest
//! any effective group grants: manage > edit > read.

use crate::model::{CollectionGrant, MemberStatus, Visibility};
use crate::policy::{Caps, Role};
use crate::time::Millis;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One group as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNode {
    pub id: String,
    pub space_id: String,
    pub parent_id: Option<String>,
    pub visibility: Visibility,
    pub inherit_members: bool,
    pub inherit_permissions: bool,
    pub permissions: Vec<String>,
    pub access_all: bool,
    pub collections: Vec<CollectionGrant>,
    /// Custom roles: slug → what they allow.
    pub roles: HashMap<String, Caps>,
}

/// One direct membership as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectMembership {
    pub group_id: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub status: MemberStatus,
    pub expires_at: Option<Millis>,
}

impl DirectMembership {
    pub fn counts_at(&self, now: Millis) -> bool {
        self.status == MemberStatus::Active && self.expires_at.is_none_or(|t| t > now)
    }
}

/// A group a user effectively belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveGroup {
    pub group_id: String,
    /// The role the user holds there (inherited members keep the role they hold above).
    pub role: String,
    /// Whether the user is a direct member (else the membership flows from an ancestor).
    pub direct: bool,
    /// The group of the direct membership this comes from.
    pub via: String,
}

/// A permission a user holds and the groups that give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPermission {
    pub permission: String,
    pub via: Vec<String>,
}

/// A group permission and where it comes from (`None`: the group itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPermission {
    pub permission: String,
    pub inherited_from: Option<String>,
}

/// Access levels to a collection, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Read,
    Edit,
    Manage,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "read" => Some(Level::Read),
            "edit" | "write" => Some(Level::Edit),
            "manage" => Some(Level::Manage),
            _ => None,
        }
    }

    pub fn of(grant: &CollectionGrant) -> Level {
        if grant.manage {
            Level::Manage
        } else if grant.read_only {
            Level::Read
        } else {
            Level::Edit
        }
    }
}

/// A user's effective access to one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionAccess {
    pub collection_id: String,
    pub level: Level,
    /// Passwords are hidden only if every grant at the highest level hides them.
    pub hide_passwords: bool,
    /// The groups that grant the highest level.
    pub via: Vec<String>,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub via: Vec<String>,
}

impl Decision {
    fn of(via: Vec<String>) -> Decision {
        Decision { allowed: !via.is_empty(), via }
    }
}

/// What a group check asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCheck {
    Read,
    Post,
    ManageMembers,
    ManageSettings,
    Moderate,
    Delete,
}

impl GroupCheck {
    pub fn parse(s: &str) -> Option<GroupCheck> {
        match s {
            "read" => Some(GroupCheck::Read),
            "post" | "write" => Some(GroupCheck::Post),
            "manage_members" => Some(GroupCheck::ManageMembers),
            "manage_settings" => Some(GroupCheck::ManageSettings),
            "moderate" => Some(GroupCheck::Moderate),
            "delete" => Some(GroupCheck::Delete),
            _ => None,
        }
    }

    fn caps(self) -> Caps {
        match self {
            GroupCheck::Read => Caps::READ,
            GroupCheck::Post => Caps::WRITE,
            GroupCheck::ManageMembers => Caps::MANAGE_MEMBERS,
            GroupCheck::ManageSettings => Caps::MANAGE_SETTINGS,
            GroupCheck::Moderate => Caps::MODERATE,
            GroupCheck::Delete => Caps::OWNER,
        }
    }
}

/// How deep the tree may go; walks stop there even if the data says otherwise.
const MAX_WALK: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct AccessIndex {
    groups: HashMap<String, GroupNode>,
    children: HashMap<String, BTreeSet<String>>,
    memberships: HashMap<String, Vec<DirectMembership>>,
    /// Every user, so a check about one who does not exist says so.
    users: HashSet<String>,
    site_admins: HashSet<String>,
    /// space id → its moderators.
    space_moderators: HashMap<String, HashSet<String>>,
}

impl AccessIndex {
    pub fn new() -> Self {
        Self::default()
    }

    // ---- keeping it in step ----

    /// Adds or replaces a group; its children and memberships stay.
    pub fn put_group(&mut self, node: GroupNode) {
        if let Some(old) = self.groups.get(&node.id)
            && old.parent_id != node.parent_id
            && let Some(p) = &old.parent_id
            && let Some(set) = self.children.get_mut(p)
        {
            set.remove(&node.id);
        }
        if let Some(p) = &node.parent_id {
            self.children.entry(p.clone()).or_default().insert(node.id.clone());
        }
        self.groups.insert(node.id.clone(), node);
    }

    /// Forgets a group and every membership in it.
    pub fn remove_group(&mut self, id: &str) {
        if let Some(old) = self.groups.remove(id)
            && let Some(p) = &old.parent_id
            && let Some(set) = self.children.get_mut(p)
        {
            set.remove(id);
        }
        self.children.remove(id);
        for list in self.memberships.values_mut() {
            list.retain(|m| m.group_id != id);
        }
    }

    /// Sets (or with `None` removes) one user's membership in one group.
    pub fn put_membership(&mut self, user_id: &str, group_id: &str, m: Option<DirectMembership>) {
        let list = self.memberships.entry(user_id.to_string()).or_default();
        list.retain(|x| x.group_id != group_id);
        if let Some(m) = m {
            list.push(m);
        }
        if list.is_empty() {
            self.memberships.remove(user_id);
        }
    }

    /// Replaces all of a user's memberships (or forgets the user).
    pub fn put_user(&mut self, user_id: &str, site_admin: bool, memberships: Vec<DirectMembership>) {
        self.users.insert(user_id.to_string());
        if site_admin {
            self.site_admins.insert(user_id.to_string());
        } else {
            self.site_admins.remove(user_id);
        }
        if memberships.is_empty() {
            self.memberships.remove(user_id);
        } else {
            self.memberships.insert(user_id.to_string(), memberships);
        }
    }

    pub fn remove_user(&mut self, user_id: &str) {
        self.users.remove(user_id);
        self.site_admins.remove(user_id);
        self.memberships.remove(user_id);
        for mods in self.space_moderators.values_mut() {
            mods.remove(user_id);
        }
    }

    pub fn put_space(&mut self, space_id: &str, moderators: Vec<String>) {
        self.space_moderators.insert(space_id.to_string(), moderators.into_iter().collect());
    }

    pub fn remove_space(&mut self, space_id: &str) {
        self.space_moderators.remove(space_id);
    }

    /// The ancestors whose effective members are effective members of `group_id` too: its
    /// parent while the group inherits members, that parent's parent while it does, and so on.
    pub fn member_sources(&self, group_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.groups.get(group_id);
        while let Some(node) = cur.filter(|n| n.inherit_members) {
            let Some(parent) = &node.parent_id else { break };
            if out.contains(parent) || out.len() > 64 {
                break;
            }
            out.push(parent.clone());
            cur = self.groups.get(parent);
        }
        out
    }

    /// Whether the user exists.
    pub fn knows_user(&self, user_id: &str) -> bool {
        self.users.contains(user_id)
    }

    pub fn group(&self, id: &str) -> Option<&GroupNode> {
        self.groups.get(id)
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    // ---- questions ----

    fn role_caps(&self, group: &GroupNode, slug: &str) -> Caps {
        // A custom role may redefine a built-in one below owner.
        if slug == "owner" {
            return Caps::ALL;
        }
        group.roles.get(slug).copied().or_else(|| Role::builtin(slug).map(|r| r.caps)).unwrap_or_default()
    }

    fn rank(&self, group_id: &str, slug: &str) -> u8 {
        self.groups.get(group_id).map(|g| self.role_caps(g, slug).rank()).unwrap_or(0)
    }

    /// The groups `user_id` effectively belongs to at `now`, sorted by group id.
    pub fn effective_groups(&self, user_id: &str, now: Millis) -> Vec<EffectiveGroup> {
        let mut found: BTreeMap<String, EffectiveGroup> = BTreeMap::new();
        let Some(direct) = self.memberships.get(user_id) else { return vec![] };
        for m in direct.iter().filter(|m| m.counts_at(now) && self.groups.contains_key(&m.group_id)) {
            self.offer(
                &mut found,
                EffectiveGroup { group_id: m.group_id.clone(), role: m.role.clone(), direct: true, via: m.group_id.clone() },
            );
            // Members flow down into children that inherit members.
            let mut frontier = vec![(m.group_id.clone(), 0usize)];
            while let Some((g, depth)) = frontier.pop() {
                if depth >= MAX_WALK {
                    continue;
                }
                for child in self.children.get(&g).into_iter().flatten() {
                    if self.groups.get(child).is_some_and(|c| c.inherit_members) {
                        self.offer(
                            &mut found,
                            EffectiveGroup { group_id: child.clone(), role: m.role.clone(), direct: false, via: m.group_id.clone() },
                        );
                        frontier.push((child.clone(), depth + 1));
                    }
                }
            }
        }
        found.into_values().collect()
    }

    /// Keeps, per group, a direct membership over an inherited one, then the higher role.
    fn offer(&self, found: &mut BTreeMap<String, EffectiveGroup>, e: EffectiveGroup) {
        match found.get(&e.group_id) {
            Some(old) if old.direct && !e.direct => {}
            Some(old) if old.direct == e.direct && self.rank(&old.group_id, &old.role) >= self.rank(&e.group_id, &e.role) => {}
            _ => {
                found.insert(e.group_id.clone(), e);
            }
        }
    }

    /// The user's effective role in a group, if any.
    pub fn effective_role(&self, user_id: &str, group_id: &str, now: Millis) -> Option<EffectiveGroup> {
        self.effective_groups(user_id, now).into_iter().find(|e| e.group_id == group_id)
    }

    /// A group's permissions with where each comes from; the nearest source wins.
    pub fn group_permissions(&self, group_id: &str) -> Vec<GroupPermission> {
        let mut out: Vec<GroupPermission> = Vec::new();
        let mut current = self.groups.get(group_id);
        let mut first = true;
        let mut steps = 0;
        while let Some(g) = current {
            for p in &g.permissions {
                if !out.iter().any(|x| &x.permission == p) {
                    out.push(GroupPermission { permission: p.clone(), inherited_from: (!first).then(|| g.id.clone()) });
                }
            }
            steps += 1;
            if !g.inherit_permissions || steps > MAX_WALK {
                break;
            }
            current = g.parent_id.as_ref().and_then(|p| self.groups.get(p));
            first = false;
        }
        out
    }

    /// Every permission the user holds at `now`, with the groups that give it.
    pub fn user_permissions(&self, user_id: &str, now: Millis) -> Vec<HeldPermission> {
        let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let direct = self.memberships.get(user_id);
        for e in self.effective_groups(user_id, now) {
            for p in self.group_permissions(&e.group_id) {
                held.entry(p.permission).or_default().insert(e.group_id.clone());
            }
            if e.direct
                && let Some(m) = direct.and_then(|list| list.iter().find(|m| m.group_id == e.group_id))
            {
                for p in &m.permissions {
                    held.entry(p.clone()).or_default().insert(e.group_id.clone());
                }
            }
        }
        held.into_iter().map(|(permission, via)| HeldPermission { permission, via: via.into_iter().collect() }).collect()
    }

    pub fn check_permission(&self, user_id: &str, permission: &str, now: Millis) -> Decision {
        let via = self.user_permissions(user_id, now).into_iter().find(|h| h.permission == permission).map(|h| h.via).unwrap_or_default();
        Decision::of(via)
    }

    /// May `user_id` do `what` to `group_id`? Site administrators and the space's moderators
    /// may do anything (`via` is then empty but `allowed` true); any user may read a public group.
    pub fn check_group(&self, user_id: &str, group_id: &str, what: GroupCheck, now: Millis) -> Decision {
        let Some(group) = self.groups.get(group_id) else { return Decision { allowed: false, via: vec![] } };
        if self.site_admins.contains(user_id) || self.space_moderators.get(&group.space_id).is_some_and(|m| m.contains(user_id)) {
            return Decision { allowed: true, via: vec![] };
        }
        if let Some(e) = self.effective_role(user_id, group_id, now)
            && self.role_caps(group, &e.role).has(what.caps())
        {
            return Decision { allowed: true, via: vec![e.via] };
        }
        if what == GroupCheck::Read && group.visibility == Visibility::Public {
            return Decision { allowed: true, via: vec![] };
        }
        Decision { allowed: false, via: vec![] }
    }

    /// The user's effective access to every collection some effective group grants, sorted by
    /// collection id. `access_all` grants edit on every collection named in the group's space.
    pub fn user_collections(&self, user_id: &str, now: Millis) -> Vec<CollectionAccess> {
        let groups = self.effective_groups(user_id, now);
        let mut grants: BTreeMap<String, Vec<(Level, bool, String)>> = BTreeMap::new();
        for e in &groups {
            let Some(g) = self.groups.get(&e.group_id) else { continue };
            for c in &g.collections {
                grants.entry(c.id.clone()).or_default().push((Level::of(c), c.hide_passwords, g.id.clone()));
            }
            if g.access_all {
                for c in self.collections_in_space(&g.space_id) {
                    grants.entry(c).or_default().push((Level::Edit, false, g.id.clone()));
                }
            }
        }
        grants
            .into_iter()
            .filter_map(|(collection_id, list)| {
                let level = list.iter().map(|(l, _, _)| *l).max()?;
                let top: Vec<&(Level, bool, String)> = list.iter().filter(|(l, _, _)| *l == level).collect();
                let hide_passwords = top.iter().all(|(_, h, _)| *h);
                let mut via: Vec<String> = top.iter().map(|(_, _, g)| g.clone()).collect();
                via.sort();
                via.dedup();
                Some(CollectionAccess { collection_id, level, hide_passwords, via })
            })
            .collect()
    }

    fn collections_in_space(&self, space_id: &str) -> BTreeSet<String> {
        self.groups.values().filter(|g| g.space_id == space_id).flat_map(|g| g.collections.iter().map(|c| c.id.clone())).collect()
    }

    pub fn check_collection(&self, user_id: &str, collection_id: &str, level: Level, now: Millis) -> Decision {
        let groups = self.effective_groups(user_id, now);
        let mut via = Vec::new();
        for e in &groups {
            let Some(g) = self.groups.get(&e.group_id) else { continue };
            let granted = g.collections.iter().filter(|c| c.id == collection_id).map(Level::of).max();
            let all = g.access_all.then_some(Level::Edit);
            if granted.max(all).is_some_and(|l| l >= level) {
                via.push(g.id.clone());
            }
        }
        Decision::of(via)
    }

    /// The ids of a group's descendants, breadth first.
    pub fn descendants(&self, group_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut frontier = vec![group_id.to_string()];
        while let Some(g) = frontier.pop() {
            for c in self.children.get(&g).into_iter().flatten() {
                if !out.contains(c) && out.len() < 1_000_000 {
                    out.push(c.clone());
                    frontier.push(c.clone());
                }
            }
        }
        out
    }
}
