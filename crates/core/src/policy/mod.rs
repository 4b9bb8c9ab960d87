//! Who may do what: to a group (site power first, then space moderation, then the caller's
//! role in the group; private groups do not exist for callers who cannot see them), and on
//! the site ([`site`]).

pub mod site;
pub mod table;

use crate::auth::{Principal, Scope};
use crate::error::{Error, Result};
use crate::model::Visibility;

/// What a role lets its holder do in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps(u8);

impl Caps {
    pub const READ: Caps = Caps(1);
    pub const WRITE: Caps = Caps(2);
    pub const MODERATE: Caps = Caps(4);
    pub const MANAGE_MEMBERS: Caps = Caps(8);
    pub const MANAGE_SETTINGS: Caps = Caps(16);
    pub const OWNER: Caps = Caps(32);
    pub const ALL: Caps = Caps(63);

    const NAMED: [(Caps, &'static str); 5] = [
        (Caps::MANAGE_MEMBERS, "manage_members"),
        (Caps::MANAGE_SETTINGS, "manage_settings"),
        (Caps::MODERATE, "moderate"),
        (Caps::READ, "read"),
        (Caps::WRITE, "write"),
    ];

    pub fn has(self, other: Caps) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }

    /// From a custom role's permission names; unknown names are refused.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Caps> {
        let mut caps = Caps::default();
        for n in names {
            let n = n.as_ref();
            let (cap, _) = Caps::NAMED.iter().find(|(_, name)| *name == n).ok_or_else(|| {
                Error::validation(
                    "permissions",
                    format!("unknown role permission {n:?}; known: manage_members, manage_settings, moderate, read, write"),
                )
            })?;
            caps = caps.union(*cap);
        }
        Ok(caps)
    }

    /// The names seed 003 lists for a role (`["all"]` for an owner).
    pub fn names(self) -> Vec<String> {
        if self.has(Caps::OWNER) {
            return vec!["all".to_string()];
        }
        Caps::NAMED.iter().filter(|(c, _)| self.has(*c)).map(|(_, n)| n.to_string()).collect()
    }

    /// How senior a role with these caps is: owner 4, admin-like 3, moderator-like 2, member 1.
    pub fn rank(self) -> u8 {
        if self.has(Caps::OWNER) {
            4
        } else if self.has(Caps::MANAGE_SETTINGS) {
            3
        } else if self.has(Caps::MANAGE_MEMBERS) || self.has(Caps::MODERATE) {
            2
        } else {
            1
        }
    }

    /// The most senior role whose holders these caps may add, change or remove.
    fn manages_up_to(self) -> u8 {
        if !self.has(Caps::MANAGE_MEMBERS) {
            return 0;
        }
        match self.rank() {
            4 => 4,
            3 => 3,
            _ => 1,
        }
    }
}

/// A role as the policy sees it: its slug and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub slug: String,
    pub name: String,
    pub caps: Caps,
    pub builtin: bool,
}

pub const BUILTIN_ROLES: [&str; 4] = ["owner", "admin", "moderator", "member"];

impl Role {
    pub fn builtin(slug: &str) -> Option<Role> {
        let (name, caps) = match slug {
            "owner" => ("Owner", Caps::ALL),
            "admin" => (
                "Administrator",
                Caps::READ.union(Caps::WRITE).union(Caps::MODERATE).union(Caps::MANAGE_MEMBERS).union(Caps::MANAGE_SETTINGS),
            ),
            "moderator" => ("Moderator", Caps::READ.union(Caps::WRITE).union(Caps::MODERATE).union(Caps::MANAGE_MEMBERS)),
            "member" => ("Member", Caps::READ.union(Caps::WRITE)),
            _ => return None,
        };
        Some(Role { slug: slug.to_string(), name: name.to_string(), caps, builtin: true })
    }

    pub fn is_owner(&self) -> bool {
        self.caps.has(Caps::OWNER)
    }
}

/// What the policy needs to know about the group and the caller's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupContext {
    pub visibility: Visibility,
    /// The caller moderates the group's space.
    pub space_moderator: bool,
    /// The caller's role through an effective membership, if any.
    pub role: Option<Role>,
    /// Extra permissions on the caller's membership.
    pub member_permissions: Vec<String>,
}

/// Something a caller wants to do to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read the group and its member list.
    Read,
    /// Change name, description, settings, permissions, access, subgroups.
    ManageSettings,
    Delete,
    ManageRoles,
    AddMember {
        role: &'a Role,
    },
    ChangeMember {
        from: &'a Role,
        to: &'a Role,
    },
    RemoveMember {
        role: &'a Role,
    },
    ManageJoinRequests,
    /// Read the queue of join requests (those who decide them).
    SeeJoinRequests,
    Invite {
        role: &'a Role,
    },
    /// Read the invitations (those who may invite).
    SeeInvitations,
    ModeratePosts,
    Post,
}

impl Action<'_> {
    fn scope(self) -> Scope {
        match self {
            Action::Read | Action::SeeJoinRequests | Action::SeeInvitations => Scope::GroupsRead,
            _ => Scope::GroupsWrite,
        }
    }
}

/// Whether the caller can see the group at all.
pub fn can_see(p: &Principal, ctx: &GroupContext) -> bool {
    p.is_superuser(Scope::GroupsRead) || ctx.space_moderator || ctx.visibility == Visibility::Public || ctx.role.is_some()
}

/// Decides an action: `Ok`, 404 for a group the caller cannot see, or 403.
pub fn authorize(p: &Principal, ctx: &GroupContext, action: Action<'_>) -> Result<()> {
    if !can_see(p, ctx) {
        return Err(Error::NotFound("group"));
    }
    let need = action.scope();
    p.require(need)?;
    if p.is_superuser(need) || ctx.space_moderator {
        return Ok(());
    }
    if action == Action::Read {
        return Ok(());
    }
    let Some(role) = &ctx.role else {
        return Err(Error::denied("You don't have permission to manage this group"));
    };
    let caps = role.caps;
    let reach = caps.manages_up_to();
    let allowed = match action {
        Action::Read => true,
        Action::ManageSettings => caps.has(Caps::MANAGE_SETTINGS),
        Action::Delete | Action::ManageRoles => caps.has(Caps::OWNER),
        Action::AddMember { role } | Action::RemoveMember { role } | Action::Invite { role } => {
            role.caps.rank() <= reach && grants_only_held(caps, role.caps)
        }
        Action::ChangeMember { from, to } => from.caps.rank() <= reach && to.caps.rank() <= reach && grants_only_held(caps, to.caps),
        Action::ManageJoinRequests | Action::SeeJoinRequests => caps.has(Caps::MANAGE_MEMBERS) || caps.has(Caps::MODERATE),
        Action::SeeInvitations => reach >= 1,
        Action::ModeratePosts => caps.has(Caps::MODERATE),
        Action::Post => caps.has(Caps::WRITE),
    };
    if allowed { Ok(()) } else { Err(Error::denied("You don't have permission to manage this group")) }
}

fn grants_only_held(actor: Caps, granted: Caps) -> bool {
    actor.has(Caps::OWNER) || actor.has(granted)
}

/// Refuses extra member permissions the caller does not hold themself.
pub fn may_grant_permissions(p: &Principal, ctx: &GroupContext, permissions: &[String]) -> Result<()> {
    if p.is_superuser(Scope::GroupsWrite) || ctx.space_moderator {
        return Ok(());
    }
    let Some(role) = &ctx.role else {
        return Err(Error::denied("You don't have permission to manage this group"));
    };
    if role.is_owner() {
        return Ok(());
    }
    let held = role.caps.names();
    match permissions.iter().find(|perm| !held.contains(perm) && !ctx.member_permissions.contains(perm)) {
        Some(perm) => Err(Error::denied(format!("you cannot grant the permission {perm:?}: you do not hold it"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Caller, Scopes};
    use crate::model::SiteRole;

    fn user() -> Principal {
        Principal {
            user: Some(Caller { id: "usr_a".into(), site_role: SiteRole::User }),
            scopes: Scopes::session(),
            key_id: None,
            token_id: None,
            space_id: None,
        }
    }

    fn ctx(role: Option<&str>, visibility: Visibility) -> GroupContext {
        GroupContext { visibility, space_moderator: false, role: role.and_then(Role::builtin), member_permissions: vec![] }
    }

    fn r(slug: &str) -> Role {
        Role::builtin(slug).unwrap_or_else(|| Role { slug: slug.into(), name: slug.into(), caps: Caps::default(), builtin: false })
    }

    #[test]
    fn private_groups_are_not_found_for_outsiders() {
        assert_eq!(authorize(&user(), &ctx(None, Visibility::Private), Action::Read), Err(Error::NotFound("group")));
        assert!(authorize(&user(), &ctx(None, Visibility::Public), Action::Read).is_ok());
        assert!(matches!(authorize(&user(), &ctx(None, Visibility::Public), Action::ManageSettings), Err(Error::PermissionDenied(_))));
    }

    #[test]
    fn role_table() {
        let (owner, admin, moderator, member) = (r("owner"), r("admin"), r("moderator"), r("member"));
        let cases: &[(&str, Action, bool)] = &[
            ("owner", Action::Delete, true),
            ("admin", Action::Delete, false),
            ("admin", Action::ManageSettings, true),
            ("moderator", Action::ManageSettings, false),
            ("admin", Action::AddMember { role: &admin }, true),
            ("admin", Action::AddMember { role: &owner }, false),
            ("moderator", Action::AddMember { role: &member }, true),
            ("moderator", Action::AddMember { role: &moderator }, false),
            ("moderator", Action::RemoveMember { role: &admin }, false),
            ("member", Action::AddMember { role: &member }, false),
            ("member", Action::Post, true),
            ("member", Action::ModeratePosts, false),
            ("moderator", Action::ModeratePosts, true),
            ("admin", Action::ChangeMember { from: &member, to: &owner }, false),
            ("owner", Action::ChangeMember { from: &member, to: &owner }, true),
        ];
        for (role, action, allowed) in cases {
            let got = authorize(&user(), &ctx(Some(role), Visibility::Private), *action).is_ok();
            assert_eq!(got, *allowed, "{role} {action:?}");
        }
    }

    #[test]
    fn nobody_grants_a_permission_they_lack() {
        let c = ctx(Some("admin"), Visibility::Private);
        assert!(may_grant_permissions(&user(), &c, &["read".into(), "write".into()]).is_ok());
        assert!(may_grant_permissions(&user(), &c, &["delete".into()]).is_err());
        let o = ctx(Some("owner"), Visibility::Private);
        assert!(may_grant_permissions(&user(), &o, &["delete".into()]).is_ok());
    }
}
