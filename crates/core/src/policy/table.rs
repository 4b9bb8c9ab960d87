//! The one table of who may do what: every operation any surface offers, the scope a
//! credential needs for it, and the rule the caller must meet (site, space or group level).
//!
//! Surfaces name, for each of their routes, the operation it performs; the credential
//! extractor refuses a scope the operation needs before any handler runs, and a route that
//! names no operation is refused outright. The finer rules (a role in the group, being the
//! user a request names) are decided by the services through [`super::authorize`] and
//! [`super::site`], and a test drives every route with every kind of caller against this
//! table.

use crate::auth::Scope;

/// What a group-level rule needs of the caller's role (site administrators and the space's
/// moderators pass every one; a private group is 404 to whoever cannot see it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupNeed {
    /// Anyone who can see the group.
    Read,
    /// A role that writes (members and up): post, record activity.
    Post,
    /// Moderators and up, for posts of others.
    ModeratePosts,
    /// Moderators and up: members with role `member`, join requests, invitations as member.
    ManageMembers,
    /// Admins and up: settings, permissions, subgroups, moves.
    ManageSettings,
    /// The owner: delete, roles.
    Owner,
    /// A member of the group acting on their own membership (leave).
    Member,
    /// Anyone allowed to ask to join (a private group that takes requests included).
    Join,
}

/// Whom a rule lets through, once the scope is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, with or without credentials.
    Anyone,
    /// Any valid credential.
    Caller,
    /// Any credential that acts for a user (not a site key).
    User,
    /// A user's session, or the site: credentials are minted from sessions.
    SessionOrSite,
    /// A user's session (not a key).
    Session,
    /// Any credential acting for a user (for what is theirs), or the site with `admin`.
    UserOrAdmin,
    /// The user the request names, or the site.
    SelfOrSite,
    /// The user the request names (whatever their credential's scopes), or any caller whose
    /// scopes allow the rule's scope.
    SelfOrReader,
    /// Site administrators and site keys (never a space-bound credential).
    Site,
    /// The space's moderators, or the site.
    SpaceManager,
    /// The group's rule.
    Group(GroupNeed),
    /// The owner of the thing, or the site; 404 to anyone else.
    OwnerOrSite,
    /// The invited user, or whoever holds the invitation's link.
    Invitee,
    /// The user who filed a join request, or who manages the group's requests.
    Requester,
    /// A `scim` key (bound to a space), or a site `admin` credential (see `site::use_scim`).
    Scim,
}

/// An operation's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The scope the credential needs (`None`: none, or decided with the rule, as for a
    /// user reading their own record).
    pub scope: Option<Scope>,
    pub who: Who,
}

macro_rules! operations {
    ($($(#[$doc:meta])* $op:ident => ($scope:expr, $who:expr);)+) => {
        /// Every operation a surface offers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($(#[$doc])* $op),+ }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$op),+];

            /// The operation's rule.
            pub const fn rule(self) -> Rule {
                match self { $(Operation::$op => Rule { scope: $scope, who: $who }),+ }
            }

            pub const fn name(self) -> &'static str {
                match self { $(Operation::$op => stringify!($op)),+ }
            }
        }
    };
}

use GroupNeed as G;
use Scope::{GroupsRead as GR, GroupsWrite as GW, UsersRead as UR, UsersWrite as UW};
use Who::*;

operations! {
    /// Health, readiness, the OpenAPI document, the docs, SCIM's discovery documents.
    Operations => (None, Anyone);
    SignIn => (None, Anyone);
    /// Confirming an email with the token sent to it.
    VerifyEmail => (None, Anyone);
    SignOut => (None, Caller);
    /// A fresh session from a session (PocketBase's auth-refresh).
    RefreshSession => (None, Session);
    RequestEmailVerification => (Some(UW), Site);
    /// A session carries all its user's scopes, so only `admin` mints one.
    MintToken => (Some(Scope::Admin), Site);

    UserCreate => (Some(UW), Site);
    UserList => (Some(UR), Caller);
    UserMe => (None, User);
    UserRead => (Some(UR), SelfOrReader);
    UserUpdate => (Some(UW), SelfOrSite);
    UserDelete => (Some(UW), Site);
    /// A user's effective groups, permissions and collections, and checks about them.
    UserAccess => (Some(GR), SelfOrSite);
    /// Who holds a permission or a collection: each caller sees the holders through groups
    /// it may read (`App::permission_users`, `App::collection_users`).
    PermissionUsers => (Some(GR), Caller);
    /// A space's access review: its moderators, or site-wide readers.
    AccessReview => (Some(GR), SpaceManager);
    /// Who belongs to a group (and may do what there).
    EffectiveMembers => (Some(GR), Group(G::Read));

    KeyCreate => (None, SessionOrSite);
    KeyList => (None, UserOrAdmin);
    KeyRevoke => (None, OwnerOrSite);
    AuditRead => (Some(Scope::Admin), Site);
    /// The change feed: each caller sees the changes of the groups they may read (and their
    /// own); site-wide readers see all (`App::changes`).
    ChangesRead => (Some(GR), Caller);
    /// Webhooks carry events and sign with secrets, so reading them is managing them: the
    /// site's need `admin`, a space's its moderators, a group's those who manage its settings
    /// (`policy::site::manage_webhooks`).
    SiteWebhooks => (Some(Scope::Admin), Site);
    SpaceWebhooks => (Some(GW), SpaceManager);
    GroupWebhooks => (Some(GW), Group(G::ManageSettings));
    /// One subscription, by the rule of its level (the table names a group's).
    WebhookManage => (Some(GW), Group(G::ManageSettings));

    SpaceCreate => (Some(GW), Site);
    SpaceList => (Some(GR), Caller);
    SpaceRead => (Some(GR), Caller);
    SpaceUpdate => (Some(GW), Site);
    SpaceDelete => (Some(GW), Site);

    CatalogueRead => (Some(GR), Caller);
    /// Scope sets: anyone may read them; the site's administrators manage every set, a
    /// space's moderators their space's (`policy::site::manage_scope_sets`).
    ScopeSetRead => (Some(GR), Caller);
    ScopeSetChange => (Some(GW), SpaceManager);
    /// A collection granted to a user directly: site administrators, a space's moderators for
    /// its collections (`policy::site::grant_collections`).
    CollectionGrant => (Some(GW), SpaceManager);
    SiteCatalogueChange => (Some(GW), Site);
    SpaceCatalogueChange => (Some(GW), SpaceManager);

    /// What lists can be filtered and sorted by.
    ListMetadata => (Some(GR), Caller);
    GroupCreate => (Some(GW), Caller);
    GroupList => (Some(GR), Caller);
    GroupBulkDelete => (Some(GW), Caller);
    GroupRead => (Some(GR), Group(G::Read));
    GroupUpdate => (Some(GW), Group(G::ManageSettings));
    GroupDelete => (Some(GW), Group(G::Owner));
    GroupMove => (Some(GW), Group(G::ManageSettings));
    SubgroupCreate => (Some(GW), Group(G::ManageSettings));
    SubgroupList => (Some(GR), Group(G::Read));
    PermissionsRead => (Some(GR), Group(G::Read));
    PermissionsChange => (Some(GW), Group(G::ManageSettings));

    MemberList => (Some(GR), Group(G::Read));
    MemberRead => (Some(GR), Group(G::Read));
    MemberAdd => (Some(GW), Group(G::ManageMembers));
    MemberChange => (Some(GW), Group(G::ManageMembers));
    MemberRemove => (Some(GW), Group(G::ManageMembers));
    /// Setting a group's members to a list (seed 001's PUT of users).
    MembersReplace => (Some(GW), SpaceManager);
    GroupJoin => (Some(GW), Group(G::Join));
    GroupLeave => (Some(GW), Group(G::Member));

    RoleList => (Some(GR), Group(G::Read));
    RoleChange => (Some(GW), Group(G::Owner));

    JoinRequestCreate => (Some(GW), Group(G::Join));
    JoinRequestList => (Some(GR), Group(G::ManageMembers));
    JoinRequestDecide => (Some(GW), Group(G::ManageMembers));
    JoinRequestCancel => (Some(GW), Requester);

    InvitationCreate => (Some(GW), Group(G::ManageMembers));
    InvitationList => (Some(GR), Group(G::ManageMembers));
    InvitationRevoke => (Some(GW), Group(G::ManageMembers));
    InvitationResend => (Some(GW), Group(G::ManageMembers));
    InvitationAnswer => (Some(GW), Invitee);

    PostList => (Some(GR), Group(G::Read));
    PostCreate => (Some(GW), Group(G::Post));
    /// Authors their own, moderators anyone's.
    PostDelete => (Some(GW), Group(G::ModeratePosts));
    ActivityRecord => (Some(GW), Group(G::Post));
    AnalyticsRead => (Some(GR), Group(G::Read));

    /// Memberships across every group the caller can see (PocketBase's group_members).
    MembershipList => (Some(GR), Caller);
    /// PocketBase's realtime stream: anyone may open one (an EventSource sends no
    /// credentials); it tells nothing until subscribed.
    RealtimeConnect => (None, Anyone);
    /// Subscribing a realtime client: it is then told of what the caller may read, by the
    /// rule every group read follows (`App::realtime_subscribe`).
    RealtimeSubscribe => (Some(GR), Caller);

    /// Seed 002: every group, for the site.
    SiteGroupsRead => (Some(GR), Site);
    /// Seed 001: an organization's groups, for its moderators.
    SpaceGroupsRead => (Some(GR), SpaceManager);
    SpaceGroupsChange => (Some(GW), SpaceManager);

    /// Directory sync: a scim key in its space, a site `admin` credential over the site.
    Scim => (None, Scim);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn reads_need_a_read_scope_and_changes_a_write_scope() {
        const CHANGES: [&str; 15] = [
            "Create", "Update", "Delete", "Change", "Add", "Remove", "Move", "Join", "Leave", "Decide", "Cancel", "Revoke", "Answer",
            "Record", "Replace",
        ];
        for op in Operation::ALL {
            let r = op.rule();
            if r.who == Who::Group(GroupNeed::Read) {
                assert_eq!(r.scope, Some(Scope::GroupsRead), "{op:?}");
            }
            if CHANGES.iter().any(|c| op.name().ends_with(c))
                && let Some(s) = r.scope
            {
                assert!(matches!(s, Scope::GroupsWrite | Scope::UsersWrite | Scope::Admin), "{op:?} changes with {s:?}");
            }
        }
    }
}
