//! The records Cohort keeps, as the services hand them to surfaces.

use crate::time::Millis;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A user's standing on the whole site.
    SiteRole { Admin = "admin", User = "user" }
);
text_enum!(GroupType { Team = "team", Department = "department", Project = "project", Custom = "custom" });
text_enum!(Visibility { Public = "public", Private = "private" });
text_enum!(MemberStatus { Active = "active", Pending = "pending", Suspended = "suspended" });

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub num: i64,
    pub username: String,
    pub email: Option<String>,
    /// Whether the email was confirmed: set by an administrator or a directory, or confirmed
    /// by the user. An email a user set themself is not, until confirmed.
    pub email_verified: bool,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    pub site_role: SiteRole,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub moderators: Vec<String>,
    pub created_at: Millis,
    pub created_by: Option<String>,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSettings {
    pub allow_join_requests: bool,
    pub require_approval: bool,
    pub max_members: Option<i64>,
}

impl Default for GroupSettings {
    fn default() -> Self {
        GroupSettings { allow_join_requests: true, require_approval: false, max_members: None }
    }
}

/// One collection a group grants access to (seed 001).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionGrant {
    pub id: String,
    pub read_only: bool,
    pub hide_passwords: bool,
    pub manage: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub num: i64,
    pub space_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub visibility: Visibility,
    pub external_id: Option<String>,
    pub access_all: bool,
    pub settings: GroupSettings,
    pub permissions: Vec<String>,
    pub collections: Vec<CollectionGrant>,
    pub inherit_permissions: bool,
    pub inherit_members: bool,
    pub member_count: i64,
    pub owner_count: i64,
    pub created_at: Millis,
    pub created_by: Option<String>,
    pub updated_at: Millis,
    pub updated_by: Option<String>,
    pub version: i64,
    /// The scope sets attached, by id (filled from the access index where a group is shown).
    pub scope_sets: Vec<String>,
}

/// The editable part of a group: what a create or a replace sets in full.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDraft {
    pub name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub visibility: Visibility,
    pub external_id: Option<String>,
    pub access_all: bool,
    pub settings: GroupSettings,
    pub permissions: Vec<String>,
    pub collections: Vec<CollectionGrant>,
    pub inherit_permissions: bool,
    pub inherit_members: bool,
}

impl GroupDraft {
    pub fn of(group: &Group) -> Self {
        GroupDraft {
            name: group.name.clone(),
            description: group.description.clone(),
            group_type: group.group_type,
            visibility: group.visibility,
            external_id: group.external_id.clone(),
            access_all: group.access_all,
            settings: group.settings.clone(),
            permissions: group.permissions.clone(),
            collections: group.collections.clone(),
            inherit_permissions: group.inherit_permissions,
            inherit_members: group.inherit_members,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub status: MemberStatus,
    pub joined_at: Millis,
    pub expires_at: Option<Millis>,
    pub last_active: Option<Millis>,
    pub added_by: Option<String>,
    pub updated_at: Millis,
    pub version: i64,
}

impl Membership {
    /// Active and not expired at `now`: the membership counts.
    pub fn is_effective(&self, now: Millis) -> bool {
        self.status == MemberStatus::Active && self.expires_at.is_none_or(|t| t > now)
    }
}

/// A membership together with the user it belongs to, as member lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub membership: Membership,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub owner_user_id: Option<String>,
    pub space_id: Option<String>,
    pub created_at: Millis,
    pub created_by: Option<String>,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub at: Millis,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub group_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

text_enum!(RequestStatus { Pending = "pending", Approved = "approved", Rejected = "rejected", Cancelled = "cancelled" });
text_enum!(InvitationStatus { Sent = "sent", Accepted = "accepted", Declined = "declined", Revoked = "revoked", Expired = "expired" });
text_enum!(MailStatus { Queued = "queued", Sent = "sent", Failed = "failed", NotConfigured = "not_configured" });

/// How an invitation's mail went (`status` none: no mail was asked for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvitationMail {
    pub status: Option<MailStatus>,
    pub sent_at: Option<Millis>,
    /// Why the last attempt failed, while it is being retried or after it was given up.
    pub error: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub message: Option<String>,
    pub referred_by: Option<String>,
    pub status: RequestStatus,
    pub submitted_at: Millis,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// The role an approval granted.
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: String,
    pub group_id: String,
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub role: String,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub invited_by: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub decided_at: Option<Millis>,
    pub mail: InvitationMail,
}

impl Invitation {
    /// The status as a reader sees it at `now`: an open invitation past its time is expired.
    pub fn status_at(&self, now: Millis) -> InvitationStatus {
        if self.status == InvitationStatus::Sent && self.expires_at <= now { InvitationStatus::Expired } else { self.status }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: String,
    pub group_id: String,
    pub author_id: Option<String>,
    pub title: Option<String>,
    pub body: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A permission declared in the catalogue: at site level (`space_id` `None`) or for one space.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredPermission {
    pub name: String,
    pub description: Option<String>,
    pub space_id: Option<String>,
    pub created_at: Millis,
    pub created_by: Option<String>,
}

/// A scope set: a named bundle of API scopes attached to groups, whose effective members
/// hold those scopes on the scoped admin API (seed 004). At site level (`space_id` `None`)
/// or for one space.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeSet {
    pub id: String,
    pub space_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub scopes: crate::auth::Scopes,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// One member of a group as directory sync lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRef {
    pub group_id: String,
    pub user_id: String,
    /// The member's `type` as the directory wrote it (`None`: it wrote none; a `User`).
    pub kind: Option<String>,
    /// The member's `display` as the directory wrote it.
    pub display: Option<String>,
}
