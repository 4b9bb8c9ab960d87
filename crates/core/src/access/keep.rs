//! Keeping the index in step: one change at a time (a group, a membership, a user, a space),
//! each updating exactly the kept lists it touches, and a [`Builder`] that loads everything
//! at once and works the lists out in one pass.

use super::{AccessIndex, Direct, DirectMembership, Grant, GrantBy, Group, GroupNode, Level, NEVER, NONE, User};
use crate::model::{CollectionGrant, MemberStatus, Visibility};
use crate::time::Millis;
use std::collections::{BTreeMap, BTreeSet};

/// Inserts `x` into a sorted list if missing.
fn insert_sorted(list: &mut Vec<u32>, x: u32) {
    if let Err(i) = list.binary_search(&x) {
        list.insert(i, x);
    }
}

/// Puts `blank` in slot `i` of a list kept beside a [`super::names::Names`]: a new number is
/// the next slot, a reused one is an old slot.
fn fresh<T>(list: &mut Vec<T>, i: u32, blank: T) {
    match list.get_mut(i as usize) {
        Some(slot) => *slot = blank,
        None => list.push(blank),
    }
}

/// Up to this many changes to one group's member list are placed one by one (each a binary
/// search and a shift of the members after it) — and only while they are few beside the list
/// (one change always is); more are merged in one pass over the list.
const FEW: usize = 32;

fn remove_sorted(list: &mut Vec<u32>, x: u32) {
    if let Ok(i) = list.binary_search(&x) {
        list.remove(i);
    }
}

impl AccessIndex {
    // ---- numbers ----

    fn intern_group(&mut self, id: &str) -> u32 {
        let (g, new) = self.group_ids.intern(id);
        if new {
            fresh(&mut self.groups, g, Group { parent: NONE, ..Group::default() });
        }
        g
    }

    fn intern_user(&mut self, id: &str) -> u32 {
        let (u, new) = self.user_ids.intern(id);
        if new {
            fresh(&mut self.users, u, User { next_expiry: NEVER, ..User::default() });
        }
        u
    }

    fn intern_permission(&mut self, name: &str) -> u32 {
        let (p, new) = self.permission_names.intern(name);
        if new {
            fresh(&mut self.holders, p, Vec::new());
        }
        p
    }

    fn intern_collection(&mut self, id: &str) -> u32 {
        let (c, new) = self.collection_ids.intern(id);
        if new {
            fresh(&mut self.grants, c, Vec::new());
        }
        c
    }

    fn intern_space(&mut self, id: &str) -> u32 {
        let (s, new) = self.space_ids.intern(id);
        if new {
            fresh(&mut self.space_collections, s, BTreeMap::new());
        }
        s
    }

    /// Slug numbers are 16 bits; past 65,535 distinct slugs a role reads as one that allows
    /// nothing.
    fn intern_role(&mut self, slug: &str) -> u16 {
        let (r, new) = self.role_names.intern(slug);
        if new {
            fresh(&mut self.builtin, r, None);
        }
        u16::try_from(r).unwrap_or(u16::MAX)
    }

    /// Frees a group number nothing refers to any more.
    fn release_group(&mut self, g: u32) {
        let grp = &self.groups[g as usize];
        if !grp.present && grp.children.is_empty() && grp.members.is_empty() {
            self.group_ids.forget(g);
        }
    }

    fn release_user(&mut self, u: u32) {
        let usr = &self.users[u as usize];
        if !usr.present && usr.directs.is_empty() {
            self.user_ids.forget(u);
        }
    }

    // ---- derived lists ----

    /// `group` and the descendants that inherit permissions from it (transitively): the
    /// groups whose carried permissions change when `group`'s do.
    fn permission_closure(&self, group: u32) -> Vec<u32> {
        let mut out = vec![group];
        let mut at = 0;
        while at < out.len() && out.len() <= 1_000_000 {
            let g = out[at];
            at += 1;
            for &c in &self.g(g).children {
                let child = self.g(c);
                if child.present && child.inherit_permissions && c != group {
                    out.push(c);
                }
            }
        }
        out
    }

    fn carried_set(&self, group: u32) -> Vec<u32> {
        let mut ps = Vec::new();
        self.carried_into(group, &mut ps);
        ps
    }

    /// The permissions `group` carries, each once, into `out`.
    fn carried_into(&self, group: u32, out: &mut Vec<u32>) {
        out.clear();
        out.extend(self.carried(group).map(|(p, _)| p));
        out.sort_unstable();
        out.dedup();
    }

    fn unhold(&mut self, groups: &[u32]) {
        for &g in groups {
            for p in self.carried_set(g) {
                remove_sorted(&mut self.holders[p as usize], g);
            }
        }
    }

    fn hold(&mut self, groups: &[u32]) {
        for &g in groups {
            for p in self.carried_set(g) {
                insert_sorted(&mut self.holders[p as usize], g);
            }
        }
    }

    fn ungrant(&mut self, g: u32) {
        let grp = &self.groups[g as usize];
        if !grp.present {
            return;
        }
        let (space, grants, all) = (grp.space, grp.grants.clone(), grp.access_all);
        for gr in grants.iter() {
            let list = &mut self.grants[gr.collection as usize];
            if let Ok(i) = list.binary_search_by_key(&g, |x| x.group) {
                list.remove(i);
            }
            let named = &mut self.space_collections[space as usize];
            if let Some(n) = named.get_mut(&gr.collection) {
                *n -= 1;
                if *n == 0 {
                    named.remove(&gr.collection);
                }
            }
        }
        if all {
            remove_sorted(&mut self.access_all, g);
        }
    }

    fn grant(&mut self, g: u32) {
        let grp = &self.groups[g as usize];
        if !grp.present {
            return;
        }
        let (space, grants, all) = (grp.space, grp.grants.clone(), grp.access_all);
        for gr in grants.iter() {
            let list = &mut self.grants[gr.collection as usize];
            let by = GrantBy { group: g, level: gr.level, hide_passwords: gr.hide_passwords };
            match list.binary_search_by_key(&g, |x| x.group) {
                Ok(i) => list[i] = by,
                Err(i) => list.insert(i, by),
            }
            *self.space_collections[space as usize].entry(gr.collection).or_insert(0) += 1;
        }
        if all {
            insert_sorted(&mut self.access_all, g);
        }
    }

    /// Direct members of `group` and of the groups its members flow from.
    fn members_flowing_into(&self, group: u32, into: &mut Vec<u32>) {
        into.extend(&self.g(group).members);
        for s in self.sources(group) {
            into.extend(&self.g(s).members);
        }
    }

    /// Works out a user's kept effective list again (at the time it was last pruned).
    fn recompute(&mut self, u: u32) {
        let usr = &self.users[u as usize];
        let mut out = Vec::new();
        let next = self.flows(usr, usr.pruned_at, &mut out);
        let usr = &mut self.users[u as usize];
        usr.effective = out.into_boxed_slice();
        usr.next_expiry = next;
        usr.extras = usr.directs.iter().any(Direct::extra);
        self.refresh_at = self.refresh_at.min(next);
    }

    fn recompute_all(&mut self, mut users: Vec<u32>) {
        users.sort_unstable();
        users.dedup();
        for u in users {
            self.recompute(u);
        }
    }

    /// A group record's fields from its node (numbers interned).
    fn fill_group(&mut self, g: u32, node: &GroupNode) {
        let space = self.intern_space(&node.space_id);
        let mut perms: Vec<u32> = Vec::with_capacity(node.permissions.len());
        for p in &node.permissions {
            let p = self.intern_permission(p);
            if !perms.contains(&p) {
                perms.push(p);
            }
        }
        let mut grants: Vec<Grant> = Vec::with_capacity(node.collections.len());
        for c in &node.collections {
            let collection = self.intern_collection(&c.id);
            let grant = Grant { collection, level: Level::of(c), hide_passwords: c.hide_passwords };
            match grants.iter_mut().find(|x| x.collection == collection) {
                Some(x) => *x = grant,
                None => grants.push(grant),
            }
        }
        let mut roles: Vec<(u16, super::Caps)> = node.roles.iter().map(|(slug, caps)| (self.intern_role(slug), *caps)).collect();
        roles.sort_unstable_by_key(|r| r.0);
        let grp = &mut self.groups[g as usize];
        grp.present = true;
        grp.public = node.visibility == Visibility::Public;
        grp.inherit_members = node.inherit_members;
        grp.inherit_permissions = node.inherit_permissions;
        grp.access_all = node.access_all;
        grp.space = space;
        grp.perms = perms.into_boxed_slice();
        grp.grants = grants.into_boxed_slice();
        grp.roles = roles.into_boxed_slice();
        grp.scope_sets =
            (!node.scope_sets.is_empty()).then(|| Box::new(node.scope_sets.iter().map(|(id, s)| (id.as_str().into(), *s)).collect()));
    }

    fn direct_of(&mut self, u: u32, m: &DirectMembership) -> Direct {
        self.direct_from(u, MembershipRef::of(m))
    }

    fn direct_from(&mut self, u: u32, m: MembershipRef<'_>) -> Direct {
        let group = self.intern_group(m.group_id);
        let role = self.intern_role(m.role);
        let extra = !m.permissions.is_empty();
        if extra {
            let ps: Vec<u32> = m.permissions.iter().map(|p| self.intern_permission(p)).collect();
            self.extras.insert((u, group), ps.into_boxed_slice());
        } else {
            self.extras.remove(&(u, group));
        }
        self.users[u as usize].set_expiry(group, m.expires_at);
        let flags = if m.status == MemberStatus::Active { Direct::ACTIVE } else { 0 }
            | if extra { Direct::EXTRA } else { 0 }
            | if m.expires_at.is_some() { Direct::EXPIRES } else { 0 };
        Direct { group, role, flags }
    }

    // ---- changes ----

    /// Adds or replaces a group; its children and memberships stay.
    pub fn put_group(&mut self, node: GroupNode) {
        let g = self.intern_group(&node.id);
        let parent = match &node.parent_id {
            Some(p) if *p != node.id => self.intern_group(p),
            _ => NONE,
        };
        let old = &self.groups[g as usize];
        let moved = !old.present || old.parent != parent;
        let flows = moved || old.inherit_members != node.inherit_members;
        let mut affected = Vec::new();
        if flows {
            self.members_flowing_into(g, &mut affected);
        }
        let closure = self.permission_closure(g);
        self.unhold(&closure);
        self.ungrant(g);
        let old_parent = self.groups[g as usize].parent;
        if moved && old_parent != parent {
            if old_parent != NONE {
                remove_sorted(&mut self.groups[old_parent as usize].children, g);
            }
            if parent != NONE {
                insert_sorted(&mut self.groups[parent as usize].children, g);
            }
            self.groups[g as usize].parent = parent;
        }
        self.fill_group(g, &node);
        self.grant(g);
        self.hold(&closure);
        if flows {
            self.members_flowing_into(g, &mut affected);
            self.recompute_all(affected);
        }
        if moved && old_parent != parent && old_parent != NONE {
            self.release_group(old_parent);
        }
    }

    /// Forgets a group and every membership in it.
    pub fn remove_group(&mut self, id: &str) {
        let Some(g) = self.group_ix(id) else { return };
        let mut affected = Vec::new();
        self.members_flowing_into(g, &mut affected);
        let closure = self.permission_closure(g);
        self.unhold(&closure);
        self.ungrant(g);
        for u in std::mem::take(&mut self.groups[g as usize].members) {
            let usr = &mut self.users[u as usize];
            if let Ok(i) = usr.directs.binary_search_by_key(&g, |d| d.group) {
                usr.directs.remove(i);
            }
            usr.set_expiry(g, None);
            self.extras.remove(&(u, g));
        }
        let parent = self.groups[g as usize].parent;
        if parent != NONE {
            remove_sorted(&mut self.groups[parent as usize].children, g);
        }
        let grp = &mut self.groups[g as usize];
        *grp = Group { children: std::mem::take(&mut grp.children), parent: NONE, ..Group::default() };
        self.hold(&closure[1..]);
        self.recompute_all(affected.clone());
        for u in affected {
            self.release_user(u);
        }
        if parent != NONE {
            self.release_group(parent);
        }
        self.release_group(g);
    }

    /// Sets (or with `None` removes) one user's membership in one group.
    pub fn put_membership(&mut self, user_id: &str, group_id: &str, m: Option<DirectMembership>) {
        self.put_memberships(group_id, &[(user_id.to_string(), m)]);
    }

    /// Sets (or with `None` removes) users' memberships in one group, in order; the group's
    /// member list is brought up to date once (a bulk add of thousands would otherwise shift
    /// it thousands of times).
    pub fn put_memberships(&mut self, group_id: &str, changes: &[(String, Option<DirectMembership>)]) {
        let g = self.intern_group(group_id);
        let mut touched = Vec::with_capacity(changes.len());
        for (user_id, m) in changes {
            let u = self.intern_user(user_id);
            self.set_direct(u, g, m.as_ref().map(|m| MembershipRef { group_id, ..MembershipRef::of(m) }));
            self.recompute(u);
            touched.push(u);
        }
        touched.sort_unstable();
        touched.dedup();
        // Each user is a member as the last change for them left them.
        let (kept, gone): (Vec<u32>, Vec<u32>) = touched.iter().partition(|&&u| self.direct(&self.users[u as usize], g).is_some());
        let members = &mut self.groups[g as usize].members;
        if touched.len() <= FEW.min(1 + members.len() / 64) {
            // A few changes to a group of any size: each found by binary search and moved
            // into place, rather than a pass over every member.
            for u in gone {
                remove_sorted(members, u);
            }
            for u in kept {
                insert_sorted(members, u);
            }
        } else {
            members.retain(|u| gone.binary_search(u).is_err());
            members.extend(kept);
            // Two sorted runs: the stable sort merges them in one pass.
            members.sort();
            members.dedup();
        }
        for u in touched {
            self.release_user(u);
        }
        self.release_group(g);
    }

    /// Writes user `u`'s direct membership in group `g` (`None`: removes it) with what it
    /// carries beside (extra permissions, expiry).
    fn set_direct(&mut self, u: u32, g: u32, m: Option<MembershipRef<'_>>) {
        let d = m.map(|m| self.direct_from(u, m));
        if d.is_none() {
            self.extras.remove(&(u, g));
            self.users[u as usize].set_expiry(g, None);
        }
        let usr = &mut self.users[u as usize];
        match (usr.directs.binary_search_by_key(&g, |d| d.group), d) {
            (Ok(i), Some(d)) => usr.directs[i] = d,
            (Err(i), Some(d)) => usr.directs.insert(i, d),
            (Ok(i), None) => {
                usr.directs.remove(i);
            }
            (Err(_), None) => {}
        }
    }

    /// Replaces all of a user's memberships (or forgets the user).
    pub fn put_user(&mut self, user_id: &str, site_admin: bool, memberships: Vec<DirectMembership>) {
        let u = self.intern_user(user_id);
        let old = std::mem::take(&mut self.users[u as usize].directs);
        for d in &old {
            remove_sorted(&mut self.groups[d.group as usize].members, u);
            self.extras.remove(&(u, d.group));
        }
        self.users[u as usize].expiries = Box::default();
        let mut directs: Vec<Direct> = memberships.iter().map(|m| self.direct_of(u, m)).collect();
        directs.sort_unstable_by_key(|d| d.group);
        directs.dedup_by_key(|d| d.group);
        for d in &directs {
            insert_sorted(&mut self.groups[d.group as usize].members, u);
        }
        let usr = &mut self.users[u as usize];
        usr.present = true;
        usr.admin = site_admin;
        usr.directs = directs;
        self.recompute(u);
        for d in old {
            self.release_group(d.group);
        }
    }

    /// Replaces the collections granted to a user directly.
    pub fn put_direct_grants(&mut self, user_id: &str, grants: &[CollectionGrant]) {
        let u = self.intern_user(user_id);
        if grants.is_empty() {
            self.direct_grants.remove(&u);
            return;
        }
        let mut list: Vec<Grant> = Vec::with_capacity(grants.len());
        for c in grants {
            let collection = self.intern_collection(&c.id);
            let grant = Grant { collection, level: Level::of(c), hide_passwords: c.hide_passwords };
            match list.iter_mut().find(|x| x.collection == collection) {
                Some(x) => *x = grant,
                None => list.push(grant),
            }
        }
        self.direct_grants.insert(u, list.into_boxed_slice());
    }

    pub fn remove_user(&mut self, user_id: &str) {
        let Some(u) = self.user_ix(user_id) else { return };
        self.direct_grants.remove(&u);
        for d in std::mem::take(&mut self.users[u as usize].directs) {
            remove_sorted(&mut self.groups[d.group as usize].members, u);
            self.extras.remove(&(u, d.group));
            self.release_group(d.group);
        }
        for mods in self.space_moderators.values_mut() {
            mods.remove(user_id);
        }
        self.users[u as usize] = User { next_expiry: NEVER, ..User::default() };
        self.release_user(u);
    }

    pub fn put_space(&mut self, space_id: &str, moderators: Vec<String>) {
        let s = self.intern_space(space_id);
        self.space_moderators.insert(s, moderators.into_iter().map(String::into_boxed_str).collect());
    }

    pub fn remove_space(&mut self, space_id: &str) {
        if let Some(s) = self.space_ids.get(space_id) {
            self.space_moderators.remove(&s);
        }
    }

    // ---- time ----

    /// Whether some membership has expired since the kept lists were last pruned.
    pub fn refresh_due(&self, now: Millis) -> bool {
        now >= self.refresh_at
    }

    /// Prunes expired memberships out of the kept lists (until then checks about the users
    /// concerned are worked out from their memberships); answers how many users changed.
    pub fn refresh_expired(&mut self, now: Millis) -> usize {
        if !self.refresh_due(now) {
            return 0;
        }
        self.refresh_at = NEVER;
        let mut changed = 0;
        for u in 0..self.users.len() {
            let usr = &mut self.users[u];
            if usr.next_expiry <= now {
                usr.pruned_at = now;
                self.recompute(u as u32);
                changed += 1;
            } else {
                self.refresh_at = self.refresh_at.min(usr.next_expiry);
            }
        }
        changed
    }

    // ---- size ----

    /// The direct memberships the index holds (for metrics).
    pub fn membership_count(&self) -> usize {
        self.users.iter().map(|u| u.directs.len()).sum()
    }

    /// Roughly how many bytes the index holds on the heap.
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        let groups: usize = self
            .groups
            .iter()
            .map(|g| {
                g.children.capacity() * 4
                    + g.perms.len() * 4
                    + g.grants.len() * size_of::<Grant>()
                    + g.roles.len() * size_of::<(u16, super::Caps)>()
                    + g.members.capacity() * 4
            })
            .sum();
        let users: usize = self
            .users
            .iter()
            .map(|u| u.directs.capacity() * size_of::<Direct>() + u.effective.len() * 4 + u.expiries.len() * size_of::<(u32, Millis)>())
            .sum();
        let lists: usize = self.holders.iter().map(|h| h.capacity() * 4 + size_of::<Vec<u32>>()).sum::<usize>()
            + self.grants.iter().map(|h| h.capacity() * size_of::<GrantBy>() + size_of::<Vec<GrantBy>>()).sum::<usize>();
        self.groups.capacity() * size_of::<Group>()
            + groups
            + self.users.capacity() * size_of::<User>()
            + users
            + lists
            + self.extras.len() * 48
            + self.group_ids.bytes()
            + self.user_ids.bytes()
            + self.permission_names.bytes()
            + self.collection_ids.bytes()
    }

    // ---- comparison ----

    /// Everything the index holds and keeps, by ids: two indexes that answer alike compare
    /// equal however they were filled (one kept in step change by change, one rebuilt).
    pub fn canonical(&self, now: Millis) -> Canonical {
        let mut c = Canonical::default();
        for (i, g) in self.groups.iter().enumerate().filter(|(_, g)| g.present) {
            let id = self.gname(i as u32);
            let parent = (g.parent != NONE).then(|| self.gname(g.parent));
            let perms: Vec<String> = g.perms.iter().map(|p| self.permission_names.name(*p).to_string()).collect();
            let grants: Vec<String> =
                g.grants.iter().map(|x| format!("{}:{:?}:{}", self.collection_ids.name(x.collection), x.level, x.hide_passwords)).collect();
            let mut roles: Vec<String> = g.roles.iter().map(|(r, caps)| format!("{}:{caps:?}", self.role_names.name(*r as u32))).collect();
            roles.sort();
            let members: BTreeSet<String> = g.members.iter().map(|u| self.user_ids.name(*u).to_string()).collect();
            let sets: BTreeSet<String> = g.scope_sets.iter().flat_map(|s| s.iter()).map(|(id, s)| format!("{id}:{s:?}")).collect();
            c.groups.insert(
                id,
                format!(
                    "space={} parent={parent:?} public={} im={} ip={} all={} perms={perms:?} grants={grants:?} roles={roles:?} members={members:?} scope_sets={sets:?}",
                    self.space_ids.name(g.space),
                    g.public,
                    g.inherit_members,
                    g.inherit_permissions,
                    g.access_all
                ),
            );
            let children: BTreeSet<String> = g.children.iter().filter(|x| self.g(**x).present).map(|x| self.gname(*x)).collect();
            if !children.is_empty() {
                c.children.insert(self.gname(i as u32), children);
            }
        }
        for (i, u) in self.users.iter().enumerate() {
            if !u.present && u.directs.is_empty() {
                continue;
            }
            let id = self.user_ids.name(i as u32).to_string();
            let directs: BTreeSet<String> = u
                .directs
                .iter()
                .map(|d| {
                    let extra = self
                        .extras
                        .get(&(i as u32, d.group))
                        .map(|ps| ps.iter().map(|p| self.permission_names.name(*p)).collect::<Vec<_>>());
                    format!("{}:{}:{}:{}:{extra:?}", self.gname(d.group), self.role_names.name(d.role as u32), d.active(), u.expiry(d))
                })
                .collect();
            let granted: BTreeSet<String> = self
                .direct_grants
                .get(&(i as u32))
                .into_iter()
                .flat_map(|gs| gs.iter())
                .map(|x| format!("{}:{:?}:{}", self.collection_ids.name(x.collection), x.level, x.hide_passwords))
                .collect();
            c.users.insert(id.clone(), format!("present={} admin={} directs={directs:?} granted={granted:?}", u.present, u.admin));
            let mut buf = Vec::new();
            let eff: BTreeSet<String> = self.effective_of(u, now, &mut buf).iter().map(|g| self.gname(*g)).collect();
            c.effective.insert(id, eff);
        }
        for (p, hs) in self.holders.iter().enumerate().filter(|(_, h)| !h.is_empty()) {
            c.holders.insert(self.permission_names.name(p as u32).to_string(), hs.iter().map(|g| self.gname(*g)).collect());
        }
        for (col, gs) in self.grants.iter().enumerate().filter(|(_, h)| !h.is_empty()) {
            let by: BTreeSet<String> = gs.iter().map(|x| format!("{}:{:?}:{}", self.gname(x.group), x.level, x.hide_passwords)).collect();
            c.grants.insert(self.collection_ids.name(col as u32).to_string(), by);
        }
        c.access_all = self.access_all.iter().map(|g| self.gname(*g)).collect();
        for (s, named) in self.space_collections.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
            let named: BTreeMap<String, u32> = named.iter().map(|(col, n)| (self.collection_ids.name(*col).to_string(), *n)).collect();
            c.space_collections.insert(self.space_ids.name(s as u32).to_string(), named);
        }
        for (s, mods) in &self.space_moderators {
            c.space_moderators.insert(self.space_ids.name(*s).to_string(), mods.iter().map(|m| m.to_string()).collect());
        }
        c
    }
}

/// A direct membership as a loader reads it, borrowing its text.
#[derive(Debug, Clone, Copy)]
pub struct MembershipRef<'a> {
    pub group_id: &'a str,
    pub role: &'a str,
    pub permissions: &'a [String],
    pub status: MemberStatus,
    pub expires_at: Option<Millis>,
}

impl<'a> MembershipRef<'a> {
    pub fn of(m: &'a DirectMembership) -> Self {
        MembershipRef { group_id: &m.group_id, role: &m.role, permissions: &m.permissions, status: m.status, expires_at: m.expires_at }
    }

    pub fn to_membership(&self) -> DirectMembership {
        DirectMembership {
            group_id: self.group_id.to_string(),
            role: self.role.to_string(),
            permissions: self.permissions.to_vec(),
            status: self.status,
            expires_at: self.expires_at,
        }
    }
}

/// What [`AccessIndex::canonical`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Canonical {
    pub groups: BTreeMap<String, String>,
    pub children: BTreeMap<String, BTreeSet<String>>,
    pub users: BTreeMap<String, String>,
    /// Each user's effective groups at the time asked.
    pub effective: BTreeMap<String, BTreeSet<String>>,
    pub holders: BTreeMap<String, BTreeSet<String>>,
    pub grants: BTreeMap<String, BTreeSet<String>>,
    pub access_all: BTreeSet<String>,
    pub space_collections: BTreeMap<String, BTreeMap<String, u32>>,
    pub space_moderators: BTreeMap<String, BTreeSet<String>>,
}

/// Loads a whole index at once: add everything in any order, then [`Builder::finish`] works
/// out the kept lists (adding groups one by one would re-sort them each time). Fed groups
/// first and then memberships user by user, as the service loads them, it works out the
/// tree's lists when the first membership comes and each user's list as soon as the next
/// user's memberships start, so most of the work is done while the rest is still read.
#[derive(Debug)]
pub struct Builder {
    idx: AccessIndex,
    now: Millis,
    last_user: Option<(Box<str>, u32)>,
    /// The tree's lists are worked out (and no group came after).
    tree: bool,
    /// Users whose lists are worked out (and no membership of theirs came after).
    settled: Vec<bool>,
}

impl Builder {
    /// A builder for an index pruned of what has expired by `now`.
    pub fn at(now: Millis) -> Builder {
        Builder { idx: AccessIndex::new(), now, last_user: None, tree: false, settled: Vec::new() }
    }

    pub fn group(&mut self, node: GroupNode) {
        self.tree = false;
        let idx = &mut self.idx;
        let g = idx.intern_group(&node.id);
        idx.groups[g as usize].parent = match &node.parent_id {
            Some(p) if *p != node.id => idx.intern_group(p),
            _ => NONE,
        };
        idx.fill_group(g, &node);
    }

    pub fn user(&mut self, user_id: &str, site_admin: bool) {
        let u = self.idx.intern_user(user_id);
        let usr = &mut self.idx.users[u as usize];
        usr.present = true;
        usr.admin = site_admin;
    }

    pub fn membership(&mut self, user_id: &str, m: &DirectMembership) {
        self.membership_ref(user_id, MembershipRef::of(m));
    }

    /// A membership read in place (a loader need not build a [`DirectMembership`]).
    pub fn membership_ref(&mut self, user_id: &str, m: MembershipRef<'_>) {
        if !self.tree {
            self.derive_tree();
        }
        // Loaders read memberships user by user: the same user's number again and again.
        let u = match &self.last_user {
            Some((name, u)) if **name == *user_id => *u,
            _ => {
                if let Some((_, before)) = self.last_user.take() {
                    self.settle(before);
                }
                let u = self.idx.intern_user(user_id);
                self.last_user = Some((user_id.into(), u));
                u
            }
        };
        if let Some(done) = self.settled.get_mut(u as usize) {
            *done = false;
        }
        let idx = &mut self.idx;
        let d = idx.direct_from(u, m);
        idx.users[u as usize].directs.push(d);
        idx.groups[d.group as usize].members.push(u);
    }

    pub fn space(&mut self, space_id: &str, moderators: Vec<String>) {
        self.idx.put_space(space_id, moderators);
    }

    /// The collections granted to a user directly.
    pub fn direct_grants(&mut self, user_id: &str, grants: &[CollectionGrant]) {
        self.idx.put_direct_grants(user_id, grants);
    }

    /// Children, permission holders and collection grants, from the groups.
    fn derive_tree(&mut self) {
        let idx = &mut self.idx;
        for g in &mut idx.groups {
            g.children.clear();
        }
        idx.holders.iter_mut().for_each(Vec::clear);
        idx.grants.iter_mut().for_each(Vec::clear);
        idx.access_all.clear();
        idx.space_collections.iter_mut().for_each(BTreeMap::clear);
        for g in 0..idx.groups.len() {
            let parent = idx.groups[g].parent;
            if idx.groups[g].present && parent != NONE {
                idx.groups[parent as usize].children.push(g as u32);
            }
        }
        let mut carried = Vec::new();
        for g in 0..idx.groups.len() {
            idx.groups[g].children.shrink_to_fit();
            if !idx.groups[g].present {
                continue;
            }
            idx.carried_into(g as u32, &mut carried);
            for &p in &carried {
                idx.holders[p as usize].push(g as u32);
            }
            let grp = &idx.groups[g];
            let (space, grants, all) = (grp.space, grp.grants.clone(), grp.access_all);
            for gr in grants.iter() {
                idx.grants[gr.collection as usize].push(GrantBy { group: g as u32, level: gr.level, hide_passwords: gr.hide_passwords });
                *idx.space_collections[space as usize].entry(gr.collection).or_insert(0) += 1;
            }
            if all {
                idx.access_all.push(g as u32);
            }
        }
        // Groups were visited in number order, so these lists are sorted already.
        idx.holders.iter_mut().for_each(Vec::shrink_to_fit);
        idx.grants.iter_mut().for_each(Vec::shrink_to_fit);
        self.tree = true;
        self.settled.clear();
    }

    /// Works out one user's list from their memberships.
    fn settle(&mut self, u: u32) {
        let usr = &mut self.idx.users[u as usize];
        usr.directs.sort_by_key(|d| d.group);
        // The last one loaded wins, as one by one.
        usr.directs.reverse();
        usr.directs.dedup_by_key(|d| d.group);
        usr.directs.reverse();
        usr.directs.shrink_to_fit();
        usr.pruned_at = self.now;
        self.idx.recompute(u);
        if self.settled.len() <= u as usize {
            self.settled.resize(self.idx.users.len().max(u as usize + 1), false);
        }
        self.settled[u as usize] = true;
    }

    /// The index, every list worked out.
    pub fn finish(mut self) -> AccessIndex {
        if !self.tree {
            self.derive_tree();
        }
        self.last_user = None;
        for u in 0..self.idx.users.len() as u32 {
            if !self.settled.get(u as usize).copied().unwrap_or(false) {
                self.settle(u);
            }
        }
        let mut idx = self.idx;
        for grp in &mut idx.groups {
            grp.members.sort_unstable();
            grp.members.dedup();
            grp.members.shrink_to_fit();
        }
        let placeholders: Vec<u32> = (0..idx.groups.len() as u32).filter(|g| !idx.groups[*g as usize].present).collect();
        for g in placeholders {
            idx.release_group(g);
        }
        idx
    }
}
