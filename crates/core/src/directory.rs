//! A directory's people and groups as a sync reads them (LDAP, Active Directory), and what
//! bringing a space in line with it takes: the plan, worked out from what the directory
//! lists and what the space holds, with no I/O.
//!
//! People and groups are matched by their directory id (`external_id`: `entryUUID`,
//! `objectGUID`), never by name, so renames follow. A group's members are users, its nested
//! groups flattened into their users (a member group's members are the group's members, as
//! in Active Directory). Without `prune` a sync only adds and changes, and reports what the
//! directory no longer lists; with it, members the directory no longer lists in a group are
//! removed, the groups it no longer lists are deleted and the people it no longer lists are
//! deactivated (not deleted: their history stays, and they come back if the directory lists
//! them again).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A person as the directory lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirUser {
    pub external_id: String,
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
}

/// A group as the directory lists it: `members` are the external ids of its users, and
/// `groups` those of the groups nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGroup {
    pub external_id: String,
    pub name: String,
    pub members: Vec<String>,
    pub groups: Vec<String>,
}

/// Every user a group holds, its nested groups' users included (a nesting that loops back is
/// followed once).
pub fn flatten(groups: &[DirGroup]) -> BTreeMap<String, BTreeSet<String>> {
    let by_id: HashMap<&str, &DirGroup> = groups.iter().map(|g| (g.external_id.as_str(), g)).collect();
    let mut out = BTreeMap::new();
    for g in groups {
        let mut users = BTreeSet::new();
        let mut seen = HashSet::new();
        let mut stack = vec![g.external_id.as_str()];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(group) = by_id.get(id) {
                users.extend(group.members.iter().cloned());
                stack.extend(group.groups.iter().map(String::as_str));
            }
        }
        out.insert(g.external_id.clone(), users);
    }
    out
}

/// A user of the space as the sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldUser {
    pub id: String,
    pub external_id: String,
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub active: bool,
    /// Provisioned by the space (by its directory): the sync owns the account, and
    /// deactivates it when the directory drops it.
    pub provisioned: bool,
}

/// A group of the space carrying a directory id, as the sync sees it, with its members' user
/// ids. The directory owns every such group of the space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldGroup {
    pub id: String,
    pub external_id: String,
    pub name: String,
    pub members: BTreeSet<String>,
}

/// What a sync does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub create_users: Vec<DirUser>,
    /// `(user id, as the directory lists them)`.
    pub update_users: Vec<(String, DirUser)>,
    /// Users among `update_users` a pruning sync deactivated that the directory lists again:
    /// they are made active (the directory decides whether the accounts it owns are active).
    pub reactivate: BTreeSet<String>,
    /// New groups and their members' external ids.
    pub create_groups: Vec<(DirGroup, BTreeSet<String>)>,
    /// `(group id, new name)`.
    pub rename_groups: Vec<(String, String)>,
    /// `(group id, external ids of users to add)`.
    pub add: Vec<(String, BTreeSet<String>)>,
    /// `(group id, user ids to remove)`; only with `prune`.
    pub remove: Vec<(String, BTreeSet<String>)>,
    /// Active users the space provisioned that the directory no longer lists: `(id, username)`.
    pub left_users: Vec<(String, String)>,
    /// The space's groups with a directory id the directory no longer lists: `(id, name)`.
    pub left_groups: Vec<(String, String)>,
    /// Whether the users and groups that left are deactivated and deleted, or only reported.
    pub prune: bool,
}

impl Plan {
    /// Nothing to change (what left the directory is only reported unless pruning).
    pub fn is_empty(&self) -> bool {
        let idle = Plan { left_users: Vec::new(), left_groups: Vec::new(), prune: false, ..self.clone() };
        idle == Plan::default() && (!self.prune || (self.left_users.is_empty() && self.left_groups.is_empty()))
    }

    pub fn counts(&self) -> Counts {
        Counts {
            users_made: self.create_users.len(),
            users_changed: self.update_users.len(),
            groups_made: self.create_groups.len(),
            groups_renamed: self.rename_groups.len(),
            members_added: self.add.iter().map(|(_, s)| s.len()).sum::<usize>()
                + self.create_groups.iter().map(|(_, s)| s.len()).sum::<usize>(),
            members_removed: self.remove.iter().map(|(_, s)| s.len()).sum(),
            users_left: self.left_users.len(),
            groups_left: self.left_groups.len(),
        }
    }
}

/// How many of each step a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub users_made: usize,
    pub users_changed: usize,
    pub groups_made: usize,
    pub groups_renamed: usize,
    pub members_added: usize,
    pub members_removed: usize,
    /// Users and groups the directory no longer lists (deactivated and deleted when pruning).
    pub users_left: usize,
    pub groups_left: usize,
}

/// A pruning sync that read nothing at all would deactivate every synced user and delete
/// every synced group: that is a wrong base DN or filter far more often than an emptied
/// directory, so it is refused.
pub fn check_prune(users: &[DirUser], groups: &[DirGroup], prune: bool) -> crate::Result<()> {
    if prune && users.is_empty() && groups.is_empty() {
        return Err(crate::Error::InvalidRequest(
            "the directory listed no people and no groups: refusing to prune the whole space (check the base DNs and filters)".into(),
        ));
    }
    Ok(())
}

/// What it takes to bring the space's users and groups in line with the directory.
pub fn plan(users: &[DirUser], groups: &[DirGroup], held_users: &[HeldUser], held_groups: &[HeldGroup], prune: bool) -> Plan {
    let held_by_ext: HashMap<&str, &HeldUser> = held_users.iter().map(|u| (u.external_id.as_str(), u)).collect();
    let mut p = Plan { prune, ..Plan::default() };
    for u in users {
        match held_by_ext.get(u.external_id.as_str()) {
            None => p.create_users.push(u.clone()),
            // A person the directory lists again after a pruning sync deactivated them is
            // active again.
            Some(h) if h.username != u.username || h.email != u.email || h.full_name != u.full_name || (h.provisioned && !h.active) => {
                if h.provisioned && !h.active {
                    p.reactivate.insert(h.id.clone());
                }
                p.update_users.push((h.id.clone(), u.clone()))
            }
            Some(_) => {}
        }
    }
    // Users the directory lists by external id; a group's member it does not list is skipped.
    let listed: HashSet<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
    p.left_users = held_users
        .iter()
        .filter(|h| h.provisioned && h.active && !listed.contains(h.external_id.as_str()))
        .map(|h| (h.id.clone(), h.username.clone()))
        .collect();
    let listed_groups: HashSet<&str> = groups.iter().map(|g| g.external_id.as_str()).collect();
    p.left_groups =
        held_groups.iter().filter(|h| !listed_groups.contains(h.external_id.as_str())).map(|h| (h.id.clone(), h.name.clone())).collect();
    let ext_of: HashMap<&str, &str> = held_users.iter().map(|u| (u.id.as_str(), u.external_id.as_str())).collect();
    let flat = flatten(groups);
    let held_group: HashMap<&str, &HeldGroup> = held_groups.iter().map(|g| (g.external_id.as_str(), g)).collect();
    for g in groups {
        let wanted: BTreeSet<String> =
            flat.get(&g.external_id).into_iter().flatten().filter(|u| listed.contains(u.as_str())).cloned().collect();
        let Some(h) = held_group.get(g.external_id.as_str()) else {
            p.create_groups.push((g.clone(), wanted));
            continue;
        };
        if h.name != g.name {
            p.rename_groups.push((h.id.clone(), g.name.clone()));
        }
        let present: BTreeSet<&str> = h.members.iter().filter_map(|id| ext_of.get(id.as_str()).copied()).collect();
        let add: BTreeSet<String> = wanted.iter().filter(|u| !present.contains(u.as_str())).cloned().collect();
        if !add.is_empty() {
            p.add.push((h.id.clone(), add));
        }
        if prune {
            // Members the directory does not list in the group: synced ones that left it, and
            // anyone added by hand.
            let gone: BTreeSet<String> =
                h.members.iter().filter(|id| ext_of.get(id.as_str()).is_none_or(|e| !wanted.contains(*e))).cloned().collect();
            if !gone.is_empty() {
                p.remove.push((h.id.clone(), gone));
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(e: &str) -> DirUser {
        DirUser { external_id: e.into(), username: format!("u-{e}"), email: None, full_name: None }
    }

    fn group(e: &str, members: &[&str], groups: &[&str]) -> DirGroup {
        DirGroup {
            external_id: e.into(),
            name: format!("G {e}"),
            members: members.iter().map(|m| m.to_string()).collect(),
            groups: groups.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn nested_groups_flatten_and_loops_end() {
        let gs = [group("a", &["1"], &["b"]), group("b", &["2"], &["c"]), group("c", &["3"], &["a"])];
        let flat = flatten(&gs);
        assert_eq!(flat["a"], BTreeSet::from(["1".to_string(), "2".into(), "3".into()]));
        assert_eq!(flat["c"].len(), 3);
    }

    #[test]
    fn a_sync_adds_changes_and_prunes_only_when_asked() {
        let users = [user("1"), user("2"), DirUser { full_name: Some("Three".into()), ..user("3") }];
        let held_users = vec![
            HeldUser {
                id: "usr_2".into(),
                external_id: "2".into(),
                username: "u-2".into(),
                email: None,
                full_name: None,
                active: true,
                provisioned: true,
            },
            HeldUser {
                id: "usr_3".into(),
                external_id: "3".into(),
                username: "u-3".into(),
                email: None,
                full_name: None,
                active: true,
                provisioned: true,
            },
            HeldUser {
                id: "usr_9".into(),
                external_id: "9".into(),
                username: "u-9".into(),
                email: None,
                full_name: None,
                active: true,
                provisioned: false,
            },
        ];
        let groups = [group("g", &["1", "2", "404"], &[]), group("h", &["3"], &[])];
        let held_groups = vec![HeldGroup {
            id: "grp_g".into(),
            external_id: "g".into(),
            name: "Old".into(),
            members: BTreeSet::from(["usr_2".to_string(), "usr_9".into()]),
        }];
        let p = plan(&users, &groups, &held_users, &held_groups, false);
        assert_eq!(p.create_users, vec![user("1")]);
        assert_eq!(p.update_users.len(), 1);
        assert_eq!(p.rename_groups, vec![("grp_g".to_string(), "G g".to_string())]);
        assert_eq!(p.add, vec![("grp_g".to_string(), BTreeSet::from(["1".to_string()]))]);
        assert_eq!(p.create_groups.len(), 1);
        assert!(p.remove.is_empty(), "nothing is removed without prune");
        let pruned = plan(&users, &groups, &held_users, &held_groups, true);
        assert_eq!(pruned.remove, vec![("grp_g".to_string(), BTreeSet::from(["usr_9".to_string()]))]);
        let c = pruned.counts();
        assert_eq!(
            [c.users_made, c.users_changed, c.groups_made, c.groups_renamed, c.members_added, c.members_removed],
            [1, 1, 1, 1, 2, 1]
        );
        // usr_9 was not provisioned by the space: the sync does not own the account.
        assert_eq!((c.users_left, c.groups_left), (0, 0));
    }

    #[test]
    fn what_left_the_directory_is_reported_and_pruned_only_when_asked() {
        let held = |id: &str, e: &str, active: bool| HeldUser {
            id: id.into(),
            external_id: e.into(),
            username: format!("u-{e}"),
            email: None,
            full_name: None,
            active,
            provisioned: true,
        };
        let held_users = vec![held("usr_1", "1", true), held("usr_2", "2", true), held("usr_3", "3", false)];
        let held_groups = vec![
            HeldGroup { id: "grp_g".into(), external_id: "g".into(), name: "G g".into(), members: BTreeSet::new() },
            HeldGroup { id: "grp_x".into(), external_id: "x".into(), name: "Gone".into(), members: BTreeSet::new() },
        ];
        let users = [user("1"), user("3")];
        let groups = [group("g", &[], &[])];
        let kept = plan(&users, &groups, &held_users, &held_groups, false);
        assert_eq!(kept.left_users, vec![("usr_2".to_string(), "u-2".to_string())]);
        assert_eq!(kept.left_groups, vec![("grp_x".to_string(), "Gone".to_string())]);
        // usr_3 was deactivated when it left; listed again, it is made active.
        assert_eq!(kept.update_users, vec![("usr_3".to_string(), user("3"))]);
        assert_eq!(kept.reactivate, BTreeSet::from(["usr_3".to_string()]));
        assert!(!kept.prune);
        let idle = plan(&users[..1], &groups, &held_users[..2], &held_groups, false);
        assert!(idle.is_empty(), "what left is only reported without prune");
        assert!(!plan(&users[..1], &groups, &held_users[..2], &held_groups, true).is_empty());
        assert!(check_prune(&[], &[], true).is_err());
        assert!(check_prune(&[], &[], false).is_ok());
    }
}
