//! The access index against a naive model: over random trees, memberships, roles,
//! permissions and grants — and over random histories of changes to them (add, remove, move,
//! expire, suspend, grant, role change, delete) — every answer equals a recomputation from the
//! raw records by the definitions of effective membership, and the index kept in step change by change
//! equals one built from scratch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_core::access::{AccessIndex, Builder, DirectMembership, GroupCheck, GroupNode, Level};
use cohort_core::auth::{Scope, Scopes};
use cohort_core::model::{CollectionGrant, MemberStatus, Visibility};
use cohort_core::policy::{Caps, Role};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

const NOW: i64 = 1_000_000;
const PERMS: [&str; 4] = ["p0", "p1", "p2", "p3"];
const COLS: [&str; 3] = ["c0", "c1", "c2"];
const ROLES: [&str; 5] = ["owner", "admin", "moderator", "member", "lead"];

#[derive(Debug, Clone)]
struct RawGroup {
    parent: Option<usize>,
    public: bool,
    inherit_members: bool,
    inherit_permissions: bool,
    perms: Vec<usize>,
    access_all: bool,
    /// (collection, level 0 read / 1 edit / 2 manage, hide passwords)
    grants: Vec<(usize, u8, bool)>,
    /// The scope sets attached: indexes into [`SETS`].
    sets: Vec<usize>,
}

/// Scope sets and the scopes each bundles.
const SETS: [(&str, &[Scope]); 3] =
    [("sst_r", &[Scope::GroupsRead]), ("sst_w", &[Scope::GroupsWrite]), ("sst_u", &[Scope::UsersRead, Scope::UsersWrite])];

#[derive(Debug, Clone)]
struct RawMembership {
    user: usize,
    group: usize,
    role: usize,
    active: bool,
    /// 0 none, 1 already expired, 2 later
    expiry: u8,
    extra: Vec<usize>,
}

fn group_strategy(i: usize) -> impl Strategy<Value = RawGroup> {
    let parent = if i == 0 { Just(None).boxed() } else { prop::option::weighted(0.7, 0..i).boxed() };
    (
        parent,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(0..PERMS.len(), 0..3),
        prop::bool::weighted(0.15),
        prop::collection::vec((0..COLS.len(), 0u8..3, any::<bool>()), 0..3),
        prop::collection::btree_set(0..SETS.len(), 0..2),
    )
        .prop_map(|(parent, public, inherit_members, inherit_permissions, perms, access_all, grants, sets)| RawGroup {
            parent,
            public,
            inherit_members,
            inherit_permissions,
            perms,
            access_all,
            grants,
            sets: sets.into_iter().collect(),
        })
}

fn world() -> impl Strategy<Value = (Vec<RawGroup>, Vec<RawMembership>)> {
    (1usize..10).prop_flat_map(|n| {
        let groups: Vec<_> = (0..n).map(|i| group_strategy(i).boxed()).collect();
        let memberships = prop::collection::vec(
            (0usize..4, 0..n, 0..ROLES.len(), prop::bool::weighted(0.8), 0u8..3, prop::collection::vec(0..PERMS.len(), 0..2))
                .prop_map(|(user, group, role, active, expiry, extra)| RawMembership { user, group, role, active, expiry, extra }),
            0..14,
        );
        (groups, memberships)
    })
}

fn gid(i: usize) -> String {
    format!("g{i}")
}

fn uid(i: usize) -> String {
    format!("u{i}")
}

fn level_of(l: u8) -> Level {
    match l {
        0 => Level::Read,
        1 => Level::Edit,
        _ => Level::Manage,
    }
}

/// Dedupes memberships to one per (user, group), as the database's unique index does.
fn dedupe(ms: &[RawMembership]) -> Vec<RawMembership> {
    let mut seen = BTreeSet::new();
    ms.iter().filter(|m| seen.insert((m.user, m.group))).cloned().collect()
}

/// Dedupes grants to one per collection, as the primary key does.
fn grants(g: &RawGroup) -> Vec<(usize, u8, bool)> {
    let mut seen = BTreeSet::new();
    g.grants.iter().filter(|(c, _, _)| seen.insert(*c)).cloned().collect()
}

fn lead_caps() -> Caps {
    Caps::from_names(&["read", "write", "manage_members"]).unwrap()
}

fn node(i: usize, g: &RawGroup) -> GroupNode {
    let mut perms: Vec<String> = g.perms.iter().map(|p| PERMS[*p].to_string()).collect();
    perms.dedup();
    GroupNode {
        id: gid(i),
        space_id: "spc".into(),
        parent_id: g.parent.map(gid),
        visibility: if g.public { Visibility::Public } else { Visibility::Private },
        inherit_members: g.inherit_members,
        inherit_permissions: g.inherit_permissions,
        permissions: perms,
        access_all: g.access_all,
        collections: grants(g)
            .iter()
            .map(|(c, l, h)| CollectionGrant { id: COLS[*c].into(), read_only: *l == 0, hide_passwords: *h, manage: *l == 2 })
            .collect(),
        roles: HashMap::from([("lead".to_string(), lead_caps())]),
        scope_sets: g.sets.iter().map(|s| (SETS[*s].0.to_string(), Scopes::of(SETS[*s].1))).collect(),
    }
}

fn membership(m: &RawMembership) -> DirectMembership {
    DirectMembership {
        group_id: gid(m.group),
        role: ROLES[m.role].into(),
        permissions: m.extra.iter().map(|p| PERMS[*p].to_string()).collect(),
        status: if m.active { MemberStatus::Active } else { MemberStatus::Suspended },
        expires_at: match m.expiry {
            0 => None,
            1 => Some(NOW - 1),
            _ => Some(NOW + 1),
        },
    }
}

/// The world as records: groups by number (`None`: deleted or never made), memberships,
/// users (by number: whether they exist and are site administrators).
#[derive(Debug, Clone, Default)]
struct World {
    groups: Vec<Option<RawGroup>>,
    ms: Vec<RawMembership>,
    users: Vec<Option<bool>>,
    /// Collections granted to each user directly: (collection, level, hide passwords).
    direct: Vec<Vec<(usize, u8, bool)>>,
}

/// The collections granted to user `u` directly, as the index takes them.
fn direct_grants(w: &World, u: usize) -> Vec<CollectionGrant> {
    w.direct[u]
        .iter()
        .map(|(c, l, h)| CollectionGrant { id: COLS[*c].into(), read_only: *l == 0, hide_passwords: *h, manage: *l == 2 })
        .collect()
}

/// The level granted to user `u` directly for collection `c` (the last grant of it counts).
fn direct_level(w: &World, u: usize, c: usize) -> Option<Level> {
    w.direct[u].iter().rev().find(|(x, _, _)| *x == c).map(|(_, l, _)| level_of(*l))
}

impl World {
    fn of(groups: &[RawGroup], ms: &[RawMembership]) -> World {
        // Users 1 and 3 hold collections granted to them directly.
        let direct = vec![vec![], vec![(0, 2, false), (1, 0, true)], vec![], vec![(1, 1, true)]];
        World { groups: groups.iter().cloned().map(Some).collect(), ms: dedupe(ms), users: vec![Some(false); 4], direct }
    }

    fn present(&self, g: usize) -> bool {
        self.groups.get(g).is_some_and(Option::is_some)
    }

    fn group(&self, g: usize) -> &RawGroup {
        self.groups[g].as_ref().unwrap()
    }
}

/// Change by change, as the service feeds the index.
fn build(groups: &[RawGroup], ms: &[RawMembership]) -> AccessIndex {
    let mut idx = AccessIndex::new();
    for (i, g) in groups.iter().enumerate() {
        idx.put_group(node(i, g));
    }
    for m in ms {
        idx.put_membership(&uid(m.user), &gid(m.group), Some(membership(m)));
    }
    let w = World::of(groups, ms);
    for u in 0..w.users.len() {
        idx.put_direct_grants(&uid(u), &direct_grants(&w, u));
    }
    idx
}

/// All at once from the records, as at start-up.
fn rebuild(w: &World) -> AccessIndex {
    let mut b = Builder::at(NOW);
    for (i, g) in w.groups.iter().enumerate() {
        if let Some(g) = g {
            b.group(node(i, g));
        }
    }
    for (u, admin) in w.users.iter().enumerate() {
        if let Some(admin) = admin {
            b.user(&uid(u), *admin);
        }
    }
    for m in &w.ms {
        b.membership(&uid(m.user), &membership(m));
    }
    for u in 0..w.users.len() {
        if w.users[u].is_some() {
            b.direct_grants(&uid(u), &direct_grants(w, u));
        }
    }
    b.finish()
}

// ---- the naive model, straight from the definitions ----

fn counts(m: &RawMembership) -> bool {
    m.active && m.expiry != 1
}

fn direct(w: &World, u: usize, g: usize) -> Option<&RawMembership> {
    w.ms.iter().find(|m| m.user == u && m.group == g && counts(m) && w.present(g))
}

fn effective(w: &World, u: usize, g: usize) -> bool {
    w.present(g) && (direct(w, u, g).is_some() || (w.group(g).inherit_members && w.group(g).parent.is_some_and(|p| effective(w, u, p))))
}

fn group_perms(w: &World, g: usize) -> BTreeSet<&'static str> {
    if !w.present(g) {
        return BTreeSet::new();
    }
    let mut out: BTreeSet<&'static str> = w.group(g).perms.iter().map(|p| PERMS[*p]).collect();
    if w.group(g).inherit_permissions
        && let Some(p) = w.group(g).parent
    {
        out.extend(group_perms(w, p));
    }
    out
}

fn caps_of(role: &str) -> Caps {
    if role == "lead" { lead_caps() } else { Role::builtin(role).unwrap().caps }
}

/// The role a user holds in g: the direct one, else the most senior one flowing down.
fn naive_role(w: &World, u: usize, g: usize) -> Option<&'static str> {
    if !w.present(g) {
        return None;
    }
    if let Some(m) = direct(w, u, g) {
        return Some(ROLES[m.role]);
    }
    let mut best: Option<&'static str> = None;
    let mut cur = g;
    while w.group(cur).inherit_members {
        let Some(p) = w.group(cur).parent else { break };
        if !w.present(p) {
            break;
        }
        if let Some(m) = direct(w, u, p) {
            let r = ROLES[m.role];
            if best.is_none_or(|b| caps_of(r).rank() > caps_of(b).rank()) {
                best = Some(r);
            }
        }
        cur = p;
    }
    best
}

fn grant_level(w: &World, g: usize, c: usize) -> Option<Level> {
    let explicit = grants(w.group(g)).iter().find(|(x, _, _)| *x == c).map(|(_, l, _)| level_of(*l));
    let all = w.group(g).access_all.then_some(Level::Edit);
    explicit.max(all)
}

/// Every answer of the index equals the model's.
fn answers_match(idx: &AccessIndex, w: &World) -> Result<(), TestCaseError> {
    for u in 0..4 {
        let user = uid(u);
        prop_assert_eq!(idx.knows_user(&user), w.users[u].is_some());
        let admin = w.users[u] == Some(true);
        let eff: BTreeSet<usize> = (0..w.groups.len()).filter(|g| effective(w, u, *g)).collect();
        let got: BTreeSet<String> = idx.effective_groups(&user, NOW).into_iter().map(|e| e.group_id).collect();
        prop_assert_eq!(got, eff.iter().map(|g| gid(*g)).collect::<BTreeSet<_>>());

        for p in PERMS {
            let via: BTreeSet<String> = eff
                .iter()
                .filter(|g| group_perms(w, **g).contains(p) || direct(w, u, **g).is_some_and(|m| m.extra.iter().any(|x| PERMS[*x] == p)))
                .map(|g| gid(*g))
                .collect();
            let d = idx.check_permission(&user, p, NOW);
            prop_assert_eq!(d.is_some(), w.users[u].is_some(), "a check about no such user says so");
            let d = d.unwrap_or_default();
            prop_assert_eq!(d.allowed, !via.is_empty());
            prop_assert_eq!(d.via.into_iter().collect::<BTreeSet<_>>(), via.clone());
            let listed: Option<BTreeSet<String>> =
                idx.user_permissions(&user, NOW).into_iter().find(|h| h.permission == p).map(|h| h.via.into_iter().collect());
            prop_assert_eq!(listed.unwrap_or_default(), via);
        }

        // Scopes: those of every scope set of every group the user effectively belongs to.
        let granted = eff.iter().flat_map(|g| w.group(*g).sets.iter()).fold(Scopes::default(), |acc, s| acc.union(Scopes::of(SETS[*s].1)));
        prop_assert_eq!(idx.granted_scopes(&user, NOW), granted);
        let held: Scopes = idx.held_scopes(&user, NOW).iter().fold(Scopes::default(), |acc, h| acc.union(Scopes::of(&[h.scope])));
        prop_assert_eq!(held, granted);

        for (c, col) in COLS.iter().enumerate() {
            for level in [Level::Read, Level::Edit, Level::Manage] {
                let mut via: BTreeSet<String> =
                    eff.iter().filter(|g| grant_level(w, **g, c).is_some_and(|l| l >= level)).map(|g| gid(*g)).collect();
                if w.users[u].is_some() && direct_level(w, u, c).is_some_and(|l| l >= level) {
                    via.insert("direct".into());
                }
                let d = idx.check_collection(&user, col, level, NOW);
                prop_assert_eq!(d.is_some(), w.users[u].is_some(), "a check about no such user says so");
                let d = d.unwrap_or_default();
                prop_assert_eq!(d.allowed, !via.is_empty());
                prop_assert_eq!(d.via.into_iter().collect::<BTreeSet<_>>(), via);
            }
        }
        for a in &idx.user_collections(&user, NOW) {
            let c = COLS.iter().position(|x| *x == a.collection_id).unwrap();
            let best = eff.iter().filter_map(|g| grant_level(w, *g, c)).max().max(direct_level(w, u, c));
            prop_assert_eq!(Some(a.level), best);
            prop_assert_eq!(a.via.contains(&"direct".to_string()), direct_level(w, u, c) == best);
        }

        for g in 0..w.groups.len() {
            for (what, cap) in [
                (GroupCheck::Read, Caps::READ),
                (GroupCheck::Post, Caps::WRITE),
                (GroupCheck::ManageMembers, Caps::MANAGE_MEMBERS),
                (GroupCheck::Delete, Caps::OWNER),
            ] {
                let want = w.present(g)
                    && (admin
                        || naive_role(w, u, g).is_some_and(|r| caps_of(r).has(cap))
                        || (what == GroupCheck::Read && w.group(g).public));
                prop_assert_eq!(idx.check_group(&user, &gid(g), what, NOW).allowed, want, "user {} group {} {:?}", u, g, what);
                // Asked as the user sees it: a group they may not read is as one that is not there.
                let readable = w.present(g) && (admin || naive_role(w, u, g).is_some() || w.group(g).public);
                let seen = idx.check_group_seen(&user, &gid(g), what, NOW, false).map(|d| d.allowed);
                prop_assert_eq!(seen, readable.then_some(want), "seen: user {} group {} {:?}", u, g, what);
                let all = idx.check_group_seen(&user, &gid(g), what, NOW, true).map(|d| d.allowed);
                prop_assert_eq!(all, w.present(g).then_some(want), "sees all: user {} group {} {:?}", u, g, what);
            }
            let role = idx.effective_role(&user, &gid(g), NOW).map(|e| e.role);
            let want = naive_role(w, u, g);
            // Equal ranks may differ in name; what they allow may not.
            prop_assert_eq!(role.as_deref().map(|r| caps_of(r).rank()), want.map(|r| caps_of(r).rank()));
        }
    }
    for g in 0..w.groups.len() {
        let got: BTreeSet<String> = idx.group_permissions(&gid(g)).into_iter().map(|p| p.permission).collect();
        prop_assert_eq!(got, group_perms(w, g).into_iter().map(str::to_string).collect::<BTreeSet<_>>());
        prop_assert_eq!(idx.knows_group(&gid(g)), w.present(g));
    }
    Ok(())
}

/// One change to the records.
#[derive(Debug, Clone)]
enum Step {
    /// Makes or replaces group `.0` (a move when its parent changes).
    PutGroup(usize, RawGroup),
    DeleteGroup(usize),
    /// Adds or changes a membership (role, status, expiry, own permissions).
    PutMembership(RawMembership),
    RemoveMembership(usize, usize),
    /// Adds, changes and removes several users' memberships of one group in one call (a
    /// bulk add, a SCIM PATCH of members): `(user, Some(membership) or None)`, in order; two
    /// users only, so one is often changed twice in a call.
    Batch(usize, Vec<(usize, Option<RawMembership>)>),
    /// Makes or changes a user (site administrator or not).
    PutUser(usize, bool),
    DeleteUser(usize),
    /// Time passes: expired memberships are pruned from the kept lists.
    Prune,
}

const HISTORY_GROUPS: usize = 7;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..HISTORY_GROUPS).prop_flat_map(|i| (Just(i), group_strategy(i))).prop_map(|(i, g)| Step::PutGroup(i, g)),
        1 => (0..HISTORY_GROUPS).prop_map(Step::DeleteGroup),
        5 => (0usize..4, 0..HISTORY_GROUPS, 0..ROLES.len(), prop::bool::weighted(0.8), 0u8..3, prop::collection::vec(0..PERMS.len(), 0..2))
            .prop_map(|(user, group, role, active, expiry, extra)| Step::PutMembership(RawMembership { user, group, role, active, expiry, extra })),
        2 => (0usize..4, 0..HISTORY_GROUPS).prop_map(|(u, g)| Step::RemoveMembership(u, g)),
        2 => (0..HISTORY_GROUPS, prop::collection::vec(
                (0usize..2, prop::option::weighted(0.6, (0..ROLES.len(), prop::bool::weighted(0.8), 0u8..3, prop::collection::vec(0..PERMS.len(), 0..2)))),
                2..6,
            ))
            .prop_map(|(group, items)| Step::Batch(
                group,
                items
                    .into_iter()
                    .map(|(user, m)| (user, m.map(|(role, active, expiry, extra)| RawMembership { user, group, role, active, expiry, extra })))
                    .collect(),
            )),
        1 => (0usize..4, prop::bool::weighted(0.2)).prop_map(|(u, a)| Step::PutUser(u, a)),
        1 => (0usize..4).prop_map(Step::DeleteUser),
        1 => Just(Step::Prune),
    ]
}

/// Applies a step to the records and the index as the service would, or answers false when
/// the database would refuse it (a parent or a group that does not exist).
fn apply(idx: &mut AccessIndex, w: &mut World, s: &Step) -> bool {
    match s {
        Step::PutGroup(i, g) => {
            if g.parent.is_some_and(|p| !w.present(p)) {
                return false;
            }
            w.groups[*i] = Some(g.clone());
            idx.put_group(node(*i, g));
        }
        Step::DeleteGroup(i) => {
            if !w.present(*i) {
                return false;
            }
            w.groups[*i] = None;
            w.ms.retain(|m| m.group != *i);
            idx.remove_group(&gid(*i));
        }
        Step::PutMembership(m) => {
            if !w.present(m.group) || w.users[m.user].is_none() {
                return false;
            }
            w.ms.retain(|x| (x.user, x.group) != (m.user, m.group));
            w.ms.push(m.clone());
            idx.put_membership(&uid(m.user), &gid(m.group), Some(membership(m)));
        }
        Step::RemoveMembership(u, g) => {
            w.ms.retain(|x| (x.user, x.group) != (*u, *g));
            idx.put_membership(&uid(*u), &gid(*g), None);
        }
        Step::Batch(g, items) => {
            if !w.present(*g) || items.iter().any(|(u, m)| m.is_some() && w.users[*u].is_none()) {
                return false;
            }
            let mut changes = Vec::new();
            for (u, m) in items {
                w.ms.retain(|x| (x.user, x.group) != (*u, *g));
                w.ms.extend(m.clone());
                changes.push((uid(*u), m.as_ref().map(membership)));
            }
            idx.put_memberships(&gid(*g), &changes);
        }
        Step::PutUser(u, admin) => {
            w.users[*u] = Some(*admin);
            let mine: Vec<DirectMembership> = w.ms.iter().filter(|m| m.user == *u).map(membership).collect();
            idx.put_user(&uid(*u), *admin, mine);
        }
        Step::DeleteUser(u) => {
            w.users[*u] = None;
            w.ms.retain(|m| m.user != *u);
            idx.remove_user(&uid(*u));
        }
        Step::Prune => {
            idx.refresh_expired(NOW);
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_answers_match_the_definitions((groups, raw) in world()) {
        let w = World::of(&groups, &raw);
        let mut idx = build(&groups, &w.ms);
        for u in 0..4 {
            idx.put_user(&uid(u), false, w.ms.iter().filter(|m| m.user == u).map(membership).collect());
        }
        // Before the kept lists are pruned, expired memberships are worked out on the fly...
        answers_match(&idx, &w)?;
        // ...and after, from the lists.
        idx.refresh_expired(NOW);
        answers_match(&idx, &w)?;
        prop_assert_eq!(idx.canonical(NOW), rebuild(&w).canonical(NOW));
        answers_match(&rebuild(&w), &w)?;
    }

    #[test]
    fn the_index_kept_in_step_answers_right_after_every_change(steps in prop::collection::vec(step(), 1..40)) {
        let mut w = World { groups: vec![None; HISTORY_GROUPS], ms: vec![], users: vec![None; 4], direct: vec![vec![]; 4] };
        let mut idx = AccessIndex::new();
        for s in &steps {
            if apply(&mut idx, &mut w, s) {
                answers_match(&idx, &w)?;
                prop_assert_eq!(idx.canonical(NOW), rebuild(&w).canonical(NOW), "after {:?}", s);
            }
        }
    }
}
