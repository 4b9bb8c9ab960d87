//! The access index: who effectively belongs where, which permissions and collection grants
//! that brings, and the answers to "may this user do this?" — all from memory.
//!
//! The index holds the group tree (with its inheritance flags), each user's direct
//! memberships, each group's permissions, collection grants and custom roles, the site
//! administrators and the space moderators. It is pure data: the services keep it in step
//! with the database through the change log and ask it questions.
//!
//! Semantics: a direct membership counts while active and unexpired. Members flow
//! down the tree into children that `inherit_members`, keeping their role. A group carries
//! its parent's permissions when it `inherit_permissions`. Collection access is the highest
//! any effective group grants: manage > edit > read.
//!
//! How it stays fast: ids are interned to integers ([`names`]); each user keeps the sorted
//! list of groups they effectively belong to, and each permission and collection the sorted
//! list of groups that carry it, all maintained as changes arrive ([`keep`]). A permission
//! check is then the intersection of two sorted lists, a group check a walk up the few
//! ancestors a membership can flow from; neither allocates unless it allows.
//!
//! Expiry is the one thing that changes with time alone: a user's kept list is right from the
//! moment it was last pruned until that user's next membership expires; past that, answers
//! are worked out from the direct memberships until [`AccessIndex::refresh_expired`] prunes.

mod keep;
mod names;

pub use keep::{Builder, Canonical, MembershipRef};

use crate::auth::{Scope, Scopes};
use crate::model::{CollectionGrant, MemberStatus, Visibility};
use crate::policy::Caps;
use crate::time::Millis;
use names::Names;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// The scope sets attached to the group, with their scopes.
    pub scope_sets: Vec<(String, Scopes)>,
}

/// A scope a user holds through scope sets, and where from: `(group, scope set)` pairs, the
/// group being one the user effectively belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldScope {
    pub scope: Scope,
    pub via: Vec<(String, String)>,
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

impl From<&crate::model::Membership> for DirectMembership {
    fn from(m: &crate::model::Membership) -> Self {
        DirectMembership {
            group_id: m.group_id.clone(),
            role: m.role.clone(),
            permissions: m.permissions.clone(),
            status: m.status,
            expires_at: m.expires_at,
        }
    }
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

/// A user who holds something, and the groups it comes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user_id: String,
    pub via: Vec<String>,
}

/// One step of the way a user holds a permission (see [`AccessIndex::explain_permission`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// `membership` (a direct membership, with its role), `inherits_members` (the group takes
    /// its parent's members), `inherits_permissions` (the group takes its parent's
    /// permissions), `grants` (the group's own permission), `membership_grants` (the
    /// membership carries the permission itself).
    pub kind: &'static str,
    pub group_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Why a user holds a permission (each way, membership first), or, when they do not, the
/// nearest thing that would change it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Explanation {
    pub paths: Vec<Vec<Step>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<String>,
}

/// One line of an access review: a user's effective membership of a group of the space, with
/// what the group gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    pub user_id: String,
    pub group_id: String,
    pub role: String,
    /// The group of the direct membership it comes from.
    pub via: String,
    /// The permissions the group carries (its own and inherited), sorted.
    pub permissions: Vec<String>,
    /// The collections the group grants, with their level.
    pub collections: Vec<(String, Level)>,
}

/// A user who effectively belongs to a group, with their role and the group of the
/// direct membership it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: String,
    pub role: String,
    pub via: String,
}

/// A permission a user holds and the groups that give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPermission {
    pub permission: String,
    pub via: Vec<String>,
}

/// Every permission a user holds, read in place from the index (nothing copied): in name
/// order, each with the groups that give it, in id order.
#[derive(Debug, Default)]
pub struct HeldView<'a> {
    /// A permission's name and where its groups are in `via`.
    held: Vec<(&'a str, std::ops::Range<usize>)>,
    via: Vec<&'a str>,
}

impl<'a> HeldView<'a> {
    /// Each permission and the groups that give it.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &[&'a str])> + '_ {
        self.held.iter().map(|(name, range)| (*name, &self.via[range.clone()]))
    }
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
    /// The level's name, as [`Level::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Edit => "edit",
            Level::Manage => "manage",
        }
    }

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
    /// The groups that grant the highest level, and [`DIRECT`] for a grant to the user.
    pub via: Vec<String>,
}

/// What `via` names for a collection granted to the user directly rather than by a group.
pub const DIRECT: &str = "direct";

/// The answer to a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Denied unless some group grants it (`via`), or the caller's site role does.
    pub allowed: bool,
    pub via: Vec<String>,
}

impl Decision {
    fn of(via: Vec<String>) -> Decision {
        Decision { allowed: !via.is_empty(), via }
    }
}

/// A user's standing in one group, for group checks.
struct Standing {
    /// A site administrator or a moderator of the group's space: may do anything there.
    anything: bool,
    /// The role held there and the group of the membership it comes from.
    role: Option<(u16, u32)>,
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
/// "No group" in a parent link.
const NONE: u32 = u32::MAX;
/// The slug number of `owner` (the first built-in role).
const OWNER: u16 = 0;
/// The most groups [`AccessIndex::users_around`] walks below one group.
const MAX_GROUPS_AROUND: usize = 100_000;
/// "Never" for an expiry.
const NEVER: Millis = Millis::MAX;

/// A group's scope sets: each set's id and its scopes.
type ScopeSets = Vec<(Box<str>, Scopes)>;

/// One group, by numbers.
#[derive(Debug, Clone, Default)]
struct Group {
    /// False for a number only referred to (a parent or a membership's group not loaded yet,
    /// or a removed group that still has children pointing at it).
    present: bool,
    public: bool,
    inherit_members: bool,
    inherit_permissions: bool,
    access_all: bool,
    space: u32,
    parent: u32,
    /// Sorted.
    children: Vec<u32>,
    /// The group's own permissions, in its order.
    perms: Box<[u32]>,
    grants: Box<[Grant]>,
    /// Custom roles: slug number → what they allow.
    roles: Box<[(u16, Caps)]>,
    /// The scope sets attached (most groups have none: one pointer, not a slice's two words).
    scope_sets: Option<Box<ScopeSets>>,
    /// Users with a direct membership here in any status, sorted.
    members: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    collection: u32,
    level: Level,
    hide_passwords: bool,
}

/// One collection grant, seen from the collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GrantBy {
    group: u32,
    level: Level,
    hide_passwords: bool,
}

/// One user, by numbers.
#[derive(Debug, Clone, Default)]
struct User {
    /// False for a number only a membership refers to.
    present: bool,
    admin: bool,
    /// Whether some direct membership carries permissions of its own.
    extras: bool,
    /// Sorted by group.
    directs: Vec<Direct>,
    /// The groups the user effectively belongs to, sorted: right for any time from
    /// `pruned_at` until `next_expiry`.
    effective: Box<[u32]>,
    pruned_at: Millis,
    next_expiry: Millis,
    /// When the direct memberships that expire do, by group, sorted (most never do, so
    /// the instant is not kept in every [`Direct`]).
    expiries: Box<[(u32, Millis)]>,
}

impl User {
    /// When direct membership `d` stops counting ([`NEVER`] for most).
    fn expiry(&self, d: &Direct) -> Millis {
        if !d.expires() {
            return NEVER;
        }
        self.expiries.binary_search_by_key(&d.group, |e| e.0).map_or(NEVER, |i| self.expiries[i].1)
    }

    /// Whether direct membership `d` counts at `now`: active and not yet expired.
    fn counts(&self, d: &Direct, now: Millis) -> bool {
        d.active() && self.expiry(d) > now
    }

    fn set_expiry(&mut self, group: u32, at: Option<Millis>) {
        let mut list = std::mem::take(&mut self.expiries).into_vec();
        match (list.binary_search_by_key(&group, |e| e.0), at) {
            (Ok(i), Some(t)) => list[i].1 = t,
            (Err(i), Some(t)) => list.insert(i, (group, t)),
            (Ok(i), None) => {
                list.remove(i);
            }
            (Err(_), None) => {}
        }
        self.expiries = list.into_boxed_slice();
    }
}

/// One direct membership, by numbers (8 bytes: a million memberships take 8 MB here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Direct {
    group: u32,
    role: u16,
    /// [`Direct::ACTIVE`], [`Direct::EXTRA`], [`Direct::EXPIRES`].
    flags: u8,
}

impl Direct {
    const ACTIVE: u8 = 1;
    /// Carries permissions of its own (kept beside, in `AccessIndex::extras`).
    const EXTRA: u8 = 2;
    /// Has an expiry (kept beside, in `User::expiries`).
    const EXPIRES: u8 = 4;

    fn active(&self) -> bool {
        self.flags & Self::ACTIVE != 0
    }

    fn extra(&self) -> bool {
        self.flags & Self::EXTRA != 0
    }

    fn expires(&self) -> bool {
        self.flags & Self::EXPIRES != 0
    }
}

#[derive(Debug, Clone)]
pub struct AccessIndex {
    group_ids: Names,
    groups: Vec<Group>,
    user_ids: Names,
    users: Vec<User>,
    permission_names: Names,
    /// Permission → the groups that carry it (their own or inherited), sorted.
    holders: Vec<Vec<u32>>,
    collection_ids: Names,
    /// Collection → the groups that grant it, sorted by group.
    grants: Vec<Vec<GrantBy>>,
    /// Groups with `access_all`, sorted.
    access_all: Vec<u32>,
    space_ids: Names,
    /// Space → collection → how many of the space's groups name it.
    space_collections: Vec<BTreeMap<u32, u32>>,
    /// Space → its moderators.
    space_moderators: HashMap<u32, HashSet<Box<str>>>,
    role_names: Names,
    /// Role slug number → what the built-in role of that slug allows.
    builtin: Vec<Option<Caps>>,
    /// (user, group) → the permissions a direct membership carries of its own.
    extras: HashMap<(u32, u32), Box<[u32]>>,
    /// User → the collections granted to them directly (few users have any).
    direct_grants: HashMap<u32, Box<[Grant]>>,
    /// The earliest `next_expiry` of any user: no refresh is due before it.
    refresh_at: Millis,
}

impl Default for AccessIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// Where `x` is (`Ok`) or would go (`Err`) in the sorted `list`, by a search that doubles
/// its step from the front: a walk through two sorted lists in step costs what the distance
/// covered costs, and touches only memory near where it already is.
fn gallop_by<T>(list: &[T], x: u32, key: impl Fn(&T) -> u32) -> Result<usize, usize> {
    let mut hi = 1;
    while hi < list.len() && key(&list[hi - 1]) < x {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(list.len());
    match list[lo..hi].binary_search_by_key(&x, key) {
        Ok(i) => Ok(lo + i),
        Err(i) => Err(lo + i),
    }
}

/// Calls `f` with every number in both sorted lists, walking the shorter and galloping
/// through the longer: a user in 50 groups against a permission held by 100,000 groups
/// costs 50 short searches; two lists of a thousand cost about a merge.
fn intersect(a: &[u32], b: &[u32], mut f: impl FnMut(u32)) {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut rest = long;
    for &x in short {
        match gallop_by(rest, x, |v| *v) {
            Ok(i) => {
                f(x);
                rest = &rest[i + 1..];
            }
            Err(i) => rest = &rest[i..],
        }
        if rest.is_empty() {
            break;
        }
    }
}

impl AccessIndex {
    pub fn new() -> Self {
        let mut role_names = Names::default();
        let mut builtin = Vec::new();
        for slug in crate::policy::BUILTIN_ROLES {
            role_names.intern(slug);
            builtin.push(crate::policy::Role::builtin(slug).map(|r| r.caps));
        }
        debug_assert_eq!(role_names.get("owner"), Some(OWNER as u32));
        AccessIndex {
            group_ids: Names::default(),
            groups: Vec::new(),
            user_ids: Names::default(),
            users: Vec::new(),
            permission_names: Names::default(),
            holders: Vec::new(),
            collection_ids: Names::default(),
            grants: Vec::new(),
            access_all: Vec::new(),
            space_ids: Names::default(),
            space_collections: Vec::new(),
            space_moderators: HashMap::new(),
            role_names,
            builtin,
            extras: HashMap::new(),
            direct_grants: HashMap::new(),
            refresh_at: NEVER,
        }
    }

    // ---- lookups ----

    fn group_ix(&self, id: &str) -> Option<u32> {
        self.group_ids.get(id).filter(|&g| self.groups[g as usize].present)
    }

    fn user_ix(&self, id: &str) -> Option<u32> {
        self.user_ids.get(id)
    }

    fn g(&self, ix: u32) -> &Group {
        &self.groups[ix as usize]
    }

    fn gname(&self, ix: u32) -> String {
        self.group_ids.name(ix).to_string()
    }

    /// Group names, sorted (ordered as names, copied once each).
    /// [`AccessIndex::gnames`], with [`NONE`] (a grant to the user) named [`DIRECT`], last.
    fn via_names(&self, ixs: impl IntoIterator<Item = u32>) -> Vec<String> {
        let (direct, groups): (Vec<u32>, Vec<u32>) = ixs.into_iter().partition(|g| *g == NONE);
        let mut names = self.gnames(groups);
        if !direct.is_empty() {
            names.push(DIRECT.to_string());
        }
        names
    }

    fn gnames(&self, ixs: impl IntoIterator<Item = u32>) -> Vec<String> {
        let mut ixs: Vec<u32> = ixs.into_iter().collect();
        ixs.sort_unstable();
        ixs.dedup();
        let mut names: Vec<&str> = ixs.into_iter().map(|g| self.group_ids.name(g)).collect();
        names.sort_unstable();
        names.into_iter().map(str::to_string).collect()
    }

    fn direct<'a>(&self, u: &'a User, group: u32) -> Option<&'a Direct> {
        u.directs.binary_search_by_key(&group, |d| d.group).ok().map(|i| &u.directs[i])
    }

    /// Whether the user exists.
    pub fn knows_user(&self, user_id: &str) -> bool {
        self.present_user(user_id).is_some()
    }

    /// The number of a user who exists (an id may be interned for a user since gone).
    fn present_user(&self, user_id: &str) -> Option<u32> {
        self.user_ix(user_id).filter(|&u| self.users[u as usize].present)
    }

    /// Whether the group exists.
    pub fn knows_group(&self, group_id: &str) -> bool {
        self.group_ix(group_id).is_some()
    }

    /// The space of a group that exists.
    pub fn group_space(&self, group_id: &str) -> Option<&str> {
        self.group_ix(group_id).map(|gx| self.space_ids.name(self.g(gx).space))
    }

    pub fn group_count(&self) -> usize {
        self.groups.iter().filter(|g| g.present).count()
    }

    // ---- flows ----

    /// The groups these direct memberships make one a member of, counting those that count
    /// at `at`, sorted; and the earliest expiry among them (when the answer changes).
    fn flows(&self, u: &User, at: Millis, out: &mut Vec<u32>) -> Millis {
        out.clear();
        let mut next = NEVER;
        let mut frontier: Vec<(u32, usize)> = Vec::new();
        for d in &u.directs {
            if !u.counts(d, at) || !self.g(d.group).present {
                continue;
            }
            next = next.min(u.expiry(d));
            out.push(d.group);
            frontier.push((d.group, 0));
            while let Some((g, depth)) = frontier.pop() {
                if depth >= MAX_WALK {
                    continue;
                }
                for &c in &self.g(g).children {
                    let child = self.g(c);
                    if child.present && child.inherit_members {
                        out.push(c);
                        frontier.push((c, depth + 1));
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        next
    }

    /// The user's effective groups at `now`: the kept list while it is right, else worked
    /// out into `buf`.
    fn effective_of<'a>(&'a self, u: &'a User, now: Millis, buf: &'a mut Vec<u32>) -> &'a [u32] {
        if u.pruned_at <= now && now < u.next_expiry {
            &u.effective
        } else {
            self.flows(u, now, buf);
            buf
        }
    }

    /// The ancestors whose members flow into `group`: its parent while it inherits members,
    /// that parent's parent while that one does, and so on (stopping at a missing group).
    fn sources(&self, group: u32) -> impl Iterator<Item = u32> + '_ {
        let mut cur = group;
        let mut steps = 0;
        std::iter::from_fn(move || {
            let g = self.g(cur);
            if !g.present || !g.inherit_members || g.parent == NONE || steps >= MAX_WALK {
                return None;
            }
            steps += 1;
            cur = g.parent;
            Some(cur)
        })
    }

    /// The ancestors whose members are effective members of `group_id` too, nearest first.
    pub fn member_sources(&self, group_id: &str) -> Vec<String> {
        self.group_ix(group_id).map(|g| self.sources(g).map(|s| self.gname(s)).collect()).unwrap_or_default()
    }

    fn caps(&self, group: &Group, role: u16) -> Caps {
        // A custom role may redefine a built-in one below owner.
        if role == OWNER {
            return Caps::ALL;
        }
        group
            .roles
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, c)| *c)
            .or_else(|| self.builtin.get(role as usize).copied().flatten())
            .unwrap_or_default()
    }

    /// The role a user holds in `group` at `now` and the group of the membership it comes
    /// from: the direct membership, else the most senior one flowing down (the nearest
    /// among equals).
    fn role_in(&self, u: &User, group: u32, now: Millis) -> Option<(u16, u32)> {
        let g = self.g(group);
        if !g.present {
            return None;
        }
        if let Some(d) = self.direct(u, group).filter(|d| u.counts(d, now)) {
            return Some((d.role, group));
        }
        let mut best: Option<(u16, u32, u8)> = None;
        for s in self.sources(group) {
            if !self.g(s).present {
                break;
            }
            if let Some(d) = self.direct(u, s).filter(|d| u.counts(d, now)) {
                let rank = self.caps(g, d.role).rank();
                if best.is_none_or(|(_, _, r)| rank > r) {
                    best = Some((d.role, s, rank));
                }
            }
        }
        best.map(|(role, via, _)| (role, via))
    }

    /// The permissions `group` carries, nearest source first: (permission, source group).
    fn carried(&self, group: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut cur = Some(group);
        let mut steps = 0;
        std::iter::from_fn(move || {
            let c = cur?;
            let g = self.g(c);
            if !g.present {
                return None;
            }
            steps += 1;
            cur = (g.inherit_permissions && g.parent != NONE && steps <= MAX_WALK).then_some(g.parent);
            Some(g.perms.iter().map(move |&p| (p, c)))
        })
        .flatten()
    }

    // ---- questions ----

    /// The groups `user_id` effectively belongs to at `now`, sorted by group id.
    pub fn effective_groups(&self, user_id: &str, now: Millis) -> Vec<EffectiveGroup> {
        let Some(ux) = self.user_ix(user_id) else { return vec![] };
        let u = &self.users[ux as usize];
        let mut buf = Vec::new();
        let mut out: Vec<EffectiveGroup> = self
            .effective_of(u, now, &mut buf)
            .iter()
            .filter_map(|&g| {
                let (role, via) = self.role_in(u, g, now)?;
                Some(EffectiveGroup {
                    group_id: self.gname(g),
                    role: self.role_names.name(role as u32).to_string(),
                    direct: via == g,
                    via: self.gname(via),
                })
            })
            .collect();
        out.sort_unstable_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// The scopes `user_id` holds through the scope sets of the groups they effectively
    /// belong to at `now` (a subgroup that inherits its parent's members gives them its sets
    /// too).
    pub fn granted_scopes(&self, user_id: &str, now: Millis) -> Scopes {
        let Some(ux) = self.user_ix(user_id) else { return Scopes::default() };
        let mut buf = Vec::new();
        self.effective_of(&self.users[ux as usize], now, &mut buf)
            .iter()
            .flat_map(|&g| self.g(g).scope_sets.iter().flat_map(|sets| sets.iter().map(|(_, s)| *s)))
            .fold(Scopes::default(), Scopes::union)
    }

    /// Each scope `user_id` holds through scope sets at `now`, with the groups and sets that
    /// give it, sorted.
    pub fn held_scopes(&self, user_id: &str, now: Millis) -> Vec<HeldScope> {
        let Some(ux) = self.user_ix(user_id) else { return vec![] };
        let mut buf = Vec::new();
        let mut out: Vec<HeldScope> = Vec::new();
        for &g in self.effective_of(&self.users[ux as usize], now, &mut buf).iter() {
            for (set, scopes) in self.g(g).scope_sets.iter().flat_map(|sets| sets.iter()) {
                for scope in scopes.list() {
                    let at = match out.iter().position(|h| h.scope == scope) {
                        Some(at) => at,
                        None => {
                            out.push(HeldScope { scope, via: Vec::new() });
                            out.len() - 1
                        }
                    };
                    out[at].via.push((self.gname(g), set.to_string()));
                }
            }
        }
        out.sort_by_key(|h| Scope::ALL.iter().position(|s| *s == h.scope));
        out.iter_mut().for_each(|h| h.via.sort());
        out
    }

    /// The scope sets attached to a group, by id (sorted).
    pub fn group_scope_sets(&self, group_id: &str) -> Vec<String> {
        let Some(g) = self.group_ix(group_id) else { return vec![] };
        let mut ids: Vec<String> = self.g(g).scope_sets.iter().flat_map(|sets| sets.iter().map(|(id, _)| id.to_string())).collect();
        ids.sort();
        ids
    }

    /// The user's effective role in a group, if any.
    pub fn effective_role(&self, user_id: &str, group_id: &str, now: Millis) -> Option<EffectiveGroup> {
        let u = &self.users[self.user_ix(user_id)? as usize];
        let g = self.group_ix(group_id)?;
        let (role, via) = self.role_in(u, g, now)?;
        Some(EffectiveGroup {
            group_id: group_id.to_string(),
            role: self.role_names.name(role as u32).to_string(),
            direct: via == g,
            via: self.gname(via),
        })
    }

    /// A group's permissions with where each comes from; the nearest source wins.
    pub fn group_permissions(&self, group_id: &str) -> Vec<GroupPermission> {
        let Some(g) = self.group_ix(group_id) else { return vec![] };
        let mut out: Vec<GroupPermission> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for (p, from) in self.carried(g) {
            if !seen.contains(&p) {
                seen.push(p);
                out.push(GroupPermission {
                    permission: self.permission_names.name(p).to_string(),
                    inherited_from: (from != g).then(|| self.gname(from)),
                });
            }
        }
        out
    }

    /// The permissions a user's counting direct memberships carry of their own: (permission,
    /// group).
    fn extra_permissions<'a>(&'a self, ux: u32, u: &'a User, now: Millis) -> impl Iterator<Item = (u32, u32)> + 'a {
        u.directs
            .iter()
            .filter(move |d| u.extras && d.extra() && u.counts(d, now) && self.g(d.group).present)
            .flat_map(move |d| self.extras.get(&(ux, d.group)).into_iter().flatten().map(move |&p| (p, d.group)))
    }

    /// The users whose access a change to `group_id` may change: those with a direct
    /// membership in it, in any group below it (its permissions flow down), or in any group
    /// above it (their members may flow into it). Sorted; at most `limit` (`None`: more).
    pub fn users_around(&self, group_id: &str, limit: usize) -> Option<Vec<String>> {
        let Some(start) = self.group_ids.get(group_id) else { return Some(vec![]) };
        let mut groups = vec![start];
        let mut i = 0;
        while i < groups.len() && groups.len() <= MAX_GROUPS_AROUND {
            groups.extend(self.g(groups[i]).children.iter().copied());
            i += 1;
        }
        let mut cur = self.g(start).parent;
        let mut steps = 0;
        while cur != NONE && steps < MAX_WALK {
            groups.push(cur);
            cur = self.g(cur).parent;
            steps += 1;
        }
        let mut users: Vec<u32> = Vec::new();
        for g in groups {
            users.extend_from_slice(&self.g(g).members);
            if users.len() > limit.saturating_mul(2) {
                users.sort_unstable();
                users.dedup();
                if users.len() > limit {
                    return None;
                }
            }
        }
        users.sort_unstable();
        users.dedup();
        (users.len() <= limit).then(|| users.into_iter().map(|u| self.user_ids.name(u).to_string()).collect())
    }

    /// The names of the permissions the user holds at `now`, sorted.
    pub fn permission_names(&self, user_id: &str, now: Millis) -> Vec<String> {
        self.held_view(user_id, now).iter().map(|(p, _)| p.to_string()).collect()
    }

    /// Every permission the user holds at `now`, with the groups that give it.
    pub fn user_permissions(&self, user_id: &str, now: Millis) -> Vec<HeldPermission> {
        let view = self.held_view(user_id, now);
        view.iter()
            .map(|(permission, via)| HeldPermission {
                permission: permission.to_string(),
                via: via.iter().map(|g| g.to_string()).collect(),
            })
            .collect()
    }

    /// [`AccessIndex::user_permissions`] read in place: two allocations whatever the count
    /// (a list of ~500 permissions built one string per name and group spent most of its
    /// time allocating and copying them).
    pub fn held_view(&self, user_id: &str, now: Millis) -> HeldView<'_> {
        let Some(ux) = self.user_ix(user_id) else { return HeldView::default() };
        let u = &self.users[ux as usize];
        let mut buf = Vec::new();
        // (permission, group) packed so that one sort of integers orders them.
        let mut pairs: Vec<u64> = Vec::new();
        let pack = |(p, g): (u32, u32)| (u64::from(p) << 32) | u64::from(g);
        for &g in self.effective_of(u, now, &mut buf) {
            pairs.extend(self.carried(g).map(|(p, _)| pack((p, g))));
        }
        pairs.extend(self.extra_permissions(ux, u, now).map(pack));
        pairs.sort_unstable();
        pairs.dedup();
        let mut view = HeldView { held: Vec::new(), via: Vec::with_capacity(pairs.len()) };
        for run in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
            let start = view.via.len();
            view.via.extend(run.iter().map(|&pg| self.group_ids.name(pg as u32)));
            view.via[start..].sort_unstable();
            view.held.push((self.permission_names.name((run[0] >> 32) as u32), start..view.via.len()));
        }
        view.held.sort_unstable_by(|a, b| a.0.cmp(b.0));
        view
    }

    // ---- the reverse questions: who ----

    /// The users who effectively belong to `group` at `now` (a direct membership that counts
    /// in it, or in an ancestor whose members flow into it), each once, by user number.
    fn members_of(&self, group: u32, now: Millis, mut f: impl FnMut(u32)) {
        for s in std::iter::once(group).chain(self.sources(group)) {
            for &ux in &self.g(s).members {
                let u = &self.users[ux as usize];
                if u.present && self.direct(u, s).is_some_and(|d| u.counts(d, now)) {
                    f(ux);
                }
            }
        }
    }

    /// Every user who holds `permission` at `now`, sorted by id, each with the groups it
    /// comes through (as [`AccessIndex::check_permission`] would answer for them).
    pub fn permission_holders(&self, permission: &str, now: Millis) -> Vec<Holder> {
        let Some(p) = self.permission_names.get(permission) else { return vec![] };
        let mut found: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for &g in &self.holders[p as usize] {
            if !self.g(g).present {
                continue;
            }
            self.members_of(g, now, |ux| found.entry(self.user_ids.name(ux)).or_default().push(g));
        }
        for (&(ux, g), perms) in &self.extras {
            let u = &self.users[ux as usize];
            let counts = u.present && self.g(g).present && self.direct(u, g).is_some_and(|d| d.extra() && u.counts(d, now));
            if counts && perms.contains(&p) {
                found.entry(self.user_ids.name(ux)).or_default().push(g);
            }
        }
        found.into_iter().map(|(u, via)| Holder { user_id: u.to_string(), via: self.gnames(via) }).collect()
    }

    /// Every user who has `level` (or more) on `collection_id` at `now`, sorted by id, each
    /// with the groups it comes through (`direct` for a grant to the user), as
    /// [`AccessIndex::check_collection`] would answer for them.
    pub fn collection_holders(&self, collection_id: &str, level: Level, now: Millis) -> Vec<Holder> {
        let c = self.collection_ids.get(collection_id);
        let mut groups: Vec<u32> = Vec::new();
        if let Some(c) = c {
            groups.extend(self.grants[c as usize].iter().filter(|x| x.level >= level).map(|x| x.group));
        }
        if level <= Level::Edit {
            groups.extend(self.access_all.iter().copied());
        }
        let mut found: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for g in groups.into_iter().filter(|&g| self.g(g).present) {
            self.members_of(g, now, |ux| found.entry(self.user_ids.name(ux)).or_default().push(g));
        }
        if let Some(c) = c {
            for (&ux, list) in &self.direct_grants {
                if self.users[ux as usize].present && list.iter().any(|d| d.collection == c && d.level >= level) {
                    found.entry(self.user_ids.name(ux)).or_default().push(NONE);
                }
            }
        }
        found.into_iter().map(|(u, via)| Holder { user_id: u.to_string(), via: self.via_names(via) }).collect()
    }

    /// Every effective membership of every group of `space_id` at `now`, by group then
    /// user; `None` for a space the index does not know.
    pub fn access_review(&self, space_id: &str, now: Millis) -> Option<Vec<ReviewRow>> {
        let space = self.space_ids.get(space_id)?;
        let mut groups: Vec<u32> = (0..self.groups.len() as u32).filter(|&g| self.g(g).present && self.g(g).space == space).collect();
        groups.sort_unstable_by(|a, b| self.group_ids.name(*a).cmp(self.group_ids.name(*b)));
        let mut out = Vec::new();
        for g in groups {
            let mut permissions: Vec<String> = self.carried(g).map(|(p, _)| self.permission_names.name(p).to_string()).collect();
            permissions.sort_unstable();
            permissions.dedup();
            let collections: Vec<(String, Level)> =
                self.g(g).grants.iter().map(|c| (self.collection_ids.name(c.collection).to_string(), c.level)).collect();
            for m in self.group_members(self.group_ids.name(g), None, now).unwrap_or_default() {
                out.push(ReviewRow {
                    user_id: m.user_id,
                    group_id: self.gname(g),
                    role: m.role,
                    via: m.via,
                    permissions: permissions.clone(),
                    collections: collections.clone(),
                });
            }
        }
        Some(out)
    }

    /// Every user who effectively belongs to `group_id` at `now` (and, given `what`, may do
    /// it there by their role), sorted by id; `None` for a group that does not exist.
    pub fn group_members(&self, group_id: &str, what: Option<GroupCheck>, now: Millis) -> Option<Vec<GroupMember>> {
        let g = self.group_ix(group_id)?;
        let mut users: Vec<u32> = Vec::new();
        self.members_of(g, now, |ux| users.push(ux));
        users.sort_unstable();
        users.dedup();
        let group = self.g(g);
        let mut out: Vec<GroupMember> = users
            .into_iter()
            .filter_map(|ux| {
                let (role, via) = self.role_in(&self.users[ux as usize], g, now)?;
                if what.is_some_and(|w| !self.caps(group, role).has(w.caps())) {
                    return None;
                }
                Some(GroupMember {
                    user_id: self.user_ids.name(ux).to_string(),
                    role: self.role_names.name(role as u32).to_string(),
                    via: self.gname(via),
                })
            })
            .collect();
        out.sort_unstable_by(|a, b| a.user_id.cmp(&b.user_id));
        Some(out)
    }

    /// The ways `user_id` holds `permission` at `now`, each from their membership to the
    /// group that grants it, with the inheritance used; when they hold it no way, the nearest
    /// thing that would change that. `None`: no such user.
    /// A caller who does not see every group (`sees_all` false: the user asking about
    /// themself) is named only the groups the user may read.
    pub fn explain_permission(&self, user_id: &str, permission: &str, now: Millis, sees_all: bool) -> Option<Explanation> {
        let ux = self.present_user(user_id)?;
        let u = &self.users[ux as usize];
        let Some(p) = self.permission_names.get(permission) else {
            return Some(Explanation { paths: vec![], nearest: Some(format!("no group grants {permission}")) });
        };
        let mut buf = Vec::new();
        let eff: Vec<u32> = self.effective_of(u, now, &mut buf).to_vec();
        let mut paths = Vec::new();
        intersect(&eff, &self.holders[p as usize], |g| paths.push(self.path_to(u, g, p, now)));
        for (_, g) in self.extra_permissions(ux, u, now).filter(|(x, _)| *x == p) {
            let role = self.direct(u, g).map(|d| self.role_names.name(d.role as u32).to_string());
            paths.push(vec![
                Step { kind: "membership", group_id: self.gname(g), role },
                Step { kind: "membership_grants", group_id: self.gname(g), role: None },
            ]);
        }
        let shown = |g: u32| sees_all || self.check_group_seen(user_id, self.group_ids.name(g), GroupCheck::Read, now, false).is_some();
        let nearest = paths.is_empty().then(|| self.nearest_to(u, &eff, p, permission, now, shown));
        Some(Explanation { paths, nearest })
    }

    /// The way `u` holds permission `p` through group `g`: the membership it comes from, the
    /// groups members flow down through, and the ancestors the permission is inherited from.
    fn path_to(&self, u: &User, g: u32, p: u32, now: Millis) -> Vec<Step> {
        let mut steps = Vec::new();
        if let Some((role, via)) = self.role_in(u, g, now) {
            steps.push(Step { kind: "membership", group_id: self.gname(via), role: Some(self.role_names.name(role as u32).to_string()) });
            let mut down = Vec::new();
            let mut cur = g;
            while cur != via && cur != NONE && down.len() < MAX_WALK {
                down.push(cur);
                cur = self.g(cur).parent;
            }
            steps.extend(down.into_iter().rev().map(|c| Step { kind: "inherits_members", group_id: self.gname(c), role: None }));
        }
        let from = self.carried(g).find(|(x, _)| *x == p).map_or(g, |(_, f)| f);
        let mut cur = g;
        let mut hops = 0;
        while cur != from && cur != NONE && hops < MAX_WALK {
            steps.push(Step { kind: "inherits_permissions", group_id: self.gname(cur), role: None });
            cur = self.g(cur).parent;
            hops += 1;
        }
        steps.push(Step { kind: "grants", group_id: self.gname(from), role: None });
        steps
    }

    /// For a user who does not hold `p`: the nearest thing that would give it them.
    fn nearest_to(&self, u: &User, eff: &[u32], p: u32, permission: &str, now: Millis, shown: impl Fn(u32) -> bool) -> String {
        // A group of theirs under one that grants it, cut off by a group that does not inherit.
        for &g in eff {
            let mut cur = g;
            let mut cut: Option<u32> = None;
            let mut hops = 0;
            while self.g(cur).parent != NONE && hops < MAX_WALK {
                let parent = self.g(cur).parent;
                if !self.g(cur).inherit_permissions && cut.is_none() {
                    cut = Some(cur);
                }
                if self.g(parent).present && self.g(parent).perms.contains(&p) {
                    if let Some(c) = cut {
                        return format!(
                            "member of {}, which does not hold {permission} from {}: {} does not inherit permissions from its parent",
                            self.gname(g),
                            self.gname(parent),
                            self.gname(c)
                        );
                    }
                    break;
                }
                cur = parent;
                hops += 1;
            }
        }
        // A membership of a group that grants it, which does not count now.
        let holders = &self.holders[p as usize];
        for d in &u.directs {
            if !u.counts(d, now) && holders.binary_search(&d.group).is_ok() {
                let why = if d.active() { "has expired" } else { "is not active (suspended or pending)" };
                return format!("their membership of {}, which grants {permission}, {why}", self.gname(d.group));
            }
        }
        // The groups that grant it, as far as they may be named to the caller.
        let named: Vec<u32> = holders.iter().copied().filter(|&g| self.g(g).present && shown(g)).collect();
        let some: Vec<String> = named.iter().take(5).map(|&g| self.gname(g)).collect();
        if some.is_empty() && !holders.iter().any(|&g| self.g(g).present) {
            format!("no group grants {permission}")
        } else if some.is_empty() {
            format!("no group the user may see grants {permission}")
        } else {
            format!(
                "a member of none of the groups that grant {permission} ({}{})",
                some.join(", "),
                if named.len() > 5 { ", …" } else { "" }
            )
        }
    }

    /// Does `user_id` hold `permission`, and through which groups? `None`: no such user.
    pub fn check_permission(&self, user_id: &str, permission: &str, now: Millis) -> Option<Decision> {
        let ux = self.present_user(user_id)?;
        let Some(p) = self.permission_names.get(permission) else { return Some(Decision::default()) };
        let u = &self.users[ux as usize];
        let mut buf = Vec::new();
        let mut via: Vec<u32> = Vec::new();
        intersect(self.effective_of(u, now, &mut buf), &self.holders[p as usize], |g| via.push(g));
        via.extend(self.extra_permissions(ux, u, now).filter(|(x, _)| *x == p).map(|(_, g)| g));
        Some(Decision::of(self.gnames(via)))
    }

    /// May `user_id` do `what` to `group_id`? Site administrators and the space's moderators
    /// may do anything (`via` is then empty but `allowed` true); any user may read a public group.
    pub fn check_group(&self, user_id: &str, group_id: &str, what: GroupCheck, now: Millis) -> Decision {
        match self.group_ix(group_id) {
            Some(gx) => self.decision(self.allowance(&self.standing(user_id, gx, now), gx, what)),
            None => Decision::default(),
        }
    }

    /// [`AccessIndex::check_group`] as asked by someone who sees only what `user_id` sees
    /// (unless `sees_all`): `None` when the group does not exist or the user may not read it,
    /// so a hidden group answers as a missing one. The user's standing is worked out once.
    pub fn check_group_seen(&self, user_id: &str, group_id: &str, what: GroupCheck, now: Millis, sees_all: bool) -> Option<Decision> {
        let gx = self.group_ix(group_id)?;
        let standing = self.standing(user_id, gx, now);
        if !sees_all && self.allowance(&standing, gx, GroupCheck::Read).is_none() {
            return None;
        }
        Some(self.decision(self.allowance(&standing, gx, what)))
    }

    /// What a group check needs of a user: whether they may do anything there (a site
    /// administrator, the space's moderator), else their role and the group it comes from.
    fn standing(&self, user_id: &str, gx: u32, now: Millis) -> Standing {
        let group = self.g(gx);
        let user = self.user_ix(user_id).map(|u| &self.users[u as usize]);
        let anything = user.is_some_and(|u| u.admin) || self.space_moderators.get(&group.space).is_some_and(|m| m.contains(user_id));
        Standing { anything, role: if anything { None } else { user.and_then(|u| self.role_in(u, gx, now)) } }
    }

    /// Whether `s` may do `what` in group `gx`: `None` if not, else the group of the membership
    /// that allows it (`Some(None)`: allowed by site or space standing, or a public read).
    fn allowance(&self, s: &Standing, gx: u32, what: GroupCheck) -> Option<Option<u32>> {
        let group = self.g(gx);
        if s.anything {
            return Some(None);
        }
        if let Some((role, via)) = s.role
            && self.caps(group, role).has(what.caps())
        {
            return Some(Some(via));
        }
        (what == GroupCheck::Read && group.public).then_some(None)
    }

    fn decision(&self, allowance: Option<Option<u32>>) -> Decision {
        match allowance {
            Some(via) => Decision { allowed: true, via: via.map(|g| self.gname(g)).into_iter().collect() },
            None => Decision::default(),
        }
    }

    /// The user's effective access to every collection some effective group grants, sorted by
    /// collection id. `access_all` grants edit on every collection named in the group's space.
    pub fn user_collections(&self, user_id: &str, now: Millis) -> Vec<CollectionAccess> {
        let Some(ux) = self.user_ix(user_id) else { return vec![] };
        let u = &self.users[ux as usize];
        let mut buf = Vec::new();
        // (collection, level, hides passwords, group)
        let mut rows: Vec<(u32, Level, bool, u32)> = Vec::new();
        for &gx in self.effective_of(u, now, &mut buf) {
            let g = self.g(gx);
            rows.extend(g.grants.iter().map(|c| (c.collection, c.level, c.hide_passwords, gx)));
            if g.access_all
                && let Some(named) = self.space_collections.get(g.space as usize)
            {
                rows.extend(named.keys().map(|&c| (c, Level::Edit, false, gx)));
            }
        }
        if let Some(direct) = self.direct_grants.get(&ux) {
            rows.extend(direct.iter().map(|c| (c.collection, c.level, c.hide_passwords, NONE)));
            // `access_all` covers a collection granted directly too, as a check says it does,
            // whether or not a group of the space names it.
            let all: Vec<u32> = self.effective_of(u, now, &mut buf).iter().copied().filter(|&g| self.g(g).access_all).collect();
            for c in direct.iter() {
                rows.extend(all.iter().map(|&g| (c.collection, Level::Edit, false, g)));
            }
        }
        rows.sort_unstable_by_key(|r| r.0);
        let mut out: Vec<CollectionAccess> = rows
            .chunk_by(|a, b| a.0 == b.0)
            .filter_map(|run| {
                let level = run.iter().map(|r| r.1).max()?;
                let top = || run.iter().filter(|r| r.1 == level);
                Some(CollectionAccess {
                    collection_id: self.collection_ids.name(run[0].0).to_string(),
                    level,
                    hide_passwords: top().all(|r| r.2),
                    via: self.via_names(top().map(|r| r.3)),
                })
            })
            .collect();
        out.sort_unstable_by(|a, b| a.collection_id.cmp(&b.collection_id));
        out
    }

    /// May `user_id` use the collection at `level`, and through which groups? `None`: no
    /// such user.
    pub fn check_collection(&self, user_id: &str, collection_id: &str, level: Level, now: Millis) -> Option<Decision> {
        let ux = self.present_user(user_id)?;
        let u = &self.users[ux as usize];
        let mut buf = Vec::new();
        let eff = self.effective_of(u, now, &mut buf);
        let mut via: Vec<u32> = Vec::new();
        if let Some(c) = self.collection_ids.get(collection_id) {
            let grants = &self.grants[c as usize];
            let mut rest = &grants[..];
            for &g in eff {
                match gallop_by(rest, g, |x| x.group) {
                    Ok(i) => {
                        if rest[i].level >= level {
                            via.push(g);
                        }
                        rest = &rest[i + 1..];
                    }
                    Err(i) => rest = &rest[i..],
                }
                if rest.is_empty() {
                    break;
                }
            }
        }
        if level <= Level::Edit {
            intersect(eff, &self.access_all, |g| via.push(g));
        }
        if let (Some(direct), Some(c)) = (self.direct_grants.get(&ux), self.collection_ids.get(collection_id))
            && direct.iter().any(|d| d.collection == c && d.level >= level)
        {
            via.push(NONE);
        }
        Some(Decision::of(self.via_names(via)))
    }
}

#[cfg(test)]
mod tests {
    use super::{gallop_by, intersect};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn intersect_finds_exactly_the_common_numbers(
            a in prop::collection::btree_set(0u32..3000, 0..600),
            b in prop::collection::btree_set(0u32..3000, 0..600),
        ) {
            let (a, b): (Vec<u32>, Vec<u32>) = (a.into_iter().collect(), b.into_iter().collect());
            let mut got = Vec::new();
            intersect(&a, &b, |x| got.push(x));
            let want: Vec<u32> = a.iter().copied().filter(|x| b.contains(x)).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn gallop_agrees_with_binary_search(list in prop::collection::btree_set(0u32..500, 0..200), x in 0u32..520) {
            let list: Vec<u32> = list.into_iter().collect();
            prop_assert_eq!(gallop_by(&list, x, |v| *v), list.binary_search(&x));
        }
    }
}
