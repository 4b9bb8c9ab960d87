//! The access index against a naive model: over random trees, memberships, roles,
//! permissions and grants, every answer equals a recomputation from the raw records by the
//! definitions of SPEC §2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_core::access::{AccessIndex, DirectMembership, GroupCheck, GroupNode, Level};
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
}

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
    )
        .prop_map(|(parent, public, inherit_members, inherit_permissions, perms, access_all, grants)| RawGroup {
            parent,
            public,
            inherit_members,
            inherit_permissions,
            perms,
            access_all,
            grants,
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

fn build(groups: &[RawGroup], ms: &[RawMembership]) -> AccessIndex {
    let mut idx = AccessIndex::new();
    for (i, g) in groups.iter().enumerate() {
        let mut perms: Vec<String> = g.perms.iter().map(|p| PERMS[*p].to_string()).collect();
        perms.dedup();
        idx.put_group(GroupNode {
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
        });
    }
    for m in ms {
        idx.put_membership(
            &uid(m.user),
            &gid(m.group),
            Some(DirectMembership {
                group_id: gid(m.group),
                role: ROLES[m.role].into(),
                permissions: m.extra.iter().map(|p| PERMS[*p].to_string()).collect(),
                status: if m.active { MemberStatus::Active } else { MemberStatus::Suspended },
                expires_at: match m.expiry {
                    0 => None,
                    1 => Some(NOW - 1),
                    _ => Some(NOW + 1),
                },
            }),
        );
    }
    idx
}

// ---- the naive model, straight from the definitions ----

fn counts(m: &RawMembership) -> bool {
    m.active && m.expiry != 1
}

fn direct(ms: &[RawMembership], u: usize, g: usize) -> Option<&RawMembership> {
    ms.iter().find(|m| m.user == u && m.group == g && counts(m))
}

fn effective(groups: &[RawGroup], ms: &[RawMembership], u: usize, g: usize) -> bool {
    direct(ms, u, g).is_some() || (groups[g].inherit_members && groups[g].parent.is_some_and(|p| effective(groups, ms, u, p)))
}

fn group_perms(groups: &[RawGroup], g: usize) -> BTreeSet<&'static str> {
    let mut out: BTreeSet<&'static str> = groups[g].perms.iter().map(|p| PERMS[*p]).collect();
    if groups[g].inherit_permissions
        && let Some(p) = groups[g].parent
    {
        out.extend(group_perms(groups, p));
    }
    out
}

fn caps_of(role: &str) -> Caps {
    if role == "lead" { lead_caps() } else { Role::builtin(role).unwrap().caps }
}

/// The role a user holds in g: the direct one, else the most senior one flowing down.
fn naive_role(groups: &[RawGroup], ms: &[RawMembership], u: usize, g: usize) -> Option<&'static str> {
    if let Some(m) = direct(ms, u, g) {
        return Some(ROLES[m.role]);
    }
    let mut best: Option<&'static str> = None;
    let mut cur = g;
    while groups[cur].inherit_members {
        let Some(p) = groups[cur].parent else { break };
        if let Some(m) = direct(ms, u, p) {
            let r = ROLES[m.role];
            if best.is_none_or(|b| caps_of(r).rank() > caps_of(b).rank()) {
                best = Some(r);
            }
        }
        cur = p;
    }
    best
}

fn grant_level(groups: &[RawGroup], g: usize, c: usize) -> Option<Level> {
    let explicit = grants(&groups[g]).iter().find(|(x, _, _)| *x == c).map(|(_, l, _)| level_of(*l));
    let all = groups[g].access_all.then_some(Level::Edit);
    explicit.max(all)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_answers_match_the_definitions((groups, raw) in world()) {
        let ms = dedupe(&raw);
        let idx = build(&groups, &ms);
        for u in 0..4 {
            let user = uid(u);
            let eff: BTreeSet<usize> = (0..groups.len()).filter(|g| effective(&groups, &ms, u, *g)).collect();
            let got: BTreeSet<String> = idx.effective_groups(&user, NOW).into_iter().map(|e| e.group_id).collect();
            prop_assert_eq!(got, eff.iter().map(|g| gid(*g)).collect::<BTreeSet<_>>());

            for p in PERMS {
                let via: BTreeSet<String> = eff
                    .iter()
                    .filter(|g| group_perms(&groups, **g).contains(p) || direct(&ms, u, **g).is_some_and(|m| m.extra.iter().any(|x| PERMS[*x] == p)))
                    .map(|g| gid(*g))
                    .collect();
                let d = idx.check_permission(&user, p, NOW);
                prop_assert_eq!(d.allowed, !via.is_empty());
                prop_assert_eq!(d.via.into_iter().collect::<BTreeSet<_>>(), via);
            }

            for (c, col) in COLS.iter().enumerate() {
                for level in [Level::Read, Level::Edit, Level::Manage] {
                    let via: BTreeSet<String> = eff.iter().filter(|g| grant_level(&groups, **g, c).is_some_and(|l| l >= level)).map(|g| gid(*g)).collect();
                    let d = idx.check_collection(&user, col, level, NOW);
                    prop_assert_eq!(d.allowed, !via.is_empty());
                    prop_assert_eq!(d.via.into_iter().collect::<BTreeSet<_>>(), via);
                }
            }
            let listed = idx.user_collections(&user, NOW);
            for a in &listed {
                let c = COLS.iter().position(|x| *x == a.collection_id).unwrap();
                let best = eff.iter().filter_map(|g| grant_level(&groups, *g, c)).max();
                prop_assert_eq!(Some(a.level), best);
            }

            for g in 0..groups.len() {
                for (what, cap) in [(GroupCheck::Read, Caps::READ), (GroupCheck::Post, Caps::WRITE), (GroupCheck::ManageMembers, Caps::MANAGE_MEMBERS), (GroupCheck::Delete, Caps::OWNER)] {
                    let by_role = naive_role(&groups, &ms, u, g).is_some_and(|r| caps_of(r).has(cap));
                    let want = by_role || (what == GroupCheck::Read && groups[g].public);
                    prop_assert_eq!(idx.check_group(&user, &gid(g), what, NOW).allowed, want, "user {} group {} {:?}", u, g, what);
                }
            }
        }
        for g in 0..groups.len() {
            let got: BTreeSet<String> = idx.group_permissions(&gid(g)).into_iter().map(|p| p.permission).collect();
            prop_assert_eq!(got, group_perms(&groups, g).into_iter().map(str::to_string).collect::<BTreeSet<_>>());
        }
    }

    #[test]
    fn removing_a_group_forgets_its_memberships((groups, raw) in world()) {
        let ms = dedupe(&raw);
        let mut idx = build(&groups, &ms);
        idx.remove_group(&gid(0));
        for u in 0..4 {
            prop_assert!(idx.effective_groups(&uid(u), NOW).iter().all(|e| e.group_id != gid(0)));
        }
    }
}
