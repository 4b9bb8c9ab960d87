//! A directory's people and groups as a sync reads them (LDAP, Active Directory), and what
//! bringing a space in line with it takes: the plan, worked out from what the directory
//! lists and what the space holds, with no I/O.
//!
//! People and groups are matched by their directory id (`external_id`: `entryUUID`,
//! `objectGUID`), never by name, so renames follow. A group's members are users, its nested
//! groups flattened into their users (a member group's members are the group's members, as
//! in Active Directory). Without `prune` a sync only adds and changes; with it, members the
//! directory no longer lists are removed as well.

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
}

/// A group of the space as the sync sees it, with its members' user ids.
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
    /// New groups and their members' external ids.
    pub create_groups: Vec<(DirGroup, BTreeSet<String>)>,
    /// `(group id, new name)`.
    pub rename_groups: Vec<(String, String)>,
    /// `(group id, external ids of users to add)`.
    pub add: Vec<(String, BTreeSet<String>)>,
    /// `(group id, user ids to remove)`; only with `prune`.
    pub remove: Vec<(String, BTreeSet<String>)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        *self == Plan::default()
    }

    /// `(users made, users changed, groups made, groups renamed, members added, members removed)`.
    pub fn counts(&self) -> [usize; 6] {
        [
            self.create_users.len(),
            self.update_users.len(),
            self.create_groups.len(),
            self.rename_groups.len(),
            self.add.iter().map(|(_, s)| s.len()).sum::<usize>() + self.create_groups.iter().map(|(_, s)| s.len()).sum::<usize>(),
            self.remove.iter().map(|(_, s)| s.len()).sum(),
        ]
    }
}

/// What it takes to bring the space's users and groups in line with the directory.
pub fn plan(users: &[DirUser], groups: &[DirGroup], held_users: &[HeldUser], held_groups: &[HeldGroup], prune: bool) -> Plan {
    let mut p = Plan::default();
    let held_by_ext: HashMap<&str, &HeldUser> = held_users.iter().map(|u| (u.external_id.as_str(), u)).collect();
    for u in users {
        match held_by_ext.get(u.external_id.as_str()) {
            None => p.create_users.push(u.clone()),
            Some(h) if h.username != u.username || h.email != u.email || h.full_name != u.full_name => {
                p.update_users.push((h.id.clone(), u.clone()))
            }
            Some(_) => {}
        }
    }
    // Users the directory lists by external id; a group's member it does not list is skipped.
    let listed: HashSet<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
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
            HeldUser { id: "usr_2".into(), external_id: "2".into(), username: "u-2".into(), email: None, full_name: None },
            HeldUser { id: "usr_3".into(), external_id: "3".into(), username: "u-3".into(), email: None, full_name: None },
            HeldUser { id: "usr_9".into(), external_id: "9".into(), username: "u-9".into(), email: None, full_name: None },
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
        assert_eq!(pruned.counts(), [1, 1, 1, 1, 2, 1]);
    }
}
