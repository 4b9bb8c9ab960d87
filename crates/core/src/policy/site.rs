//! Who may do what on the whole site: users and their own records, keys, spaces, the
//! permission catalogue, checks about a user, and directory sync.
//!
//! A credential is never more than its scopes, and a key owned by a user is never more than
//! that user ([`Principal::is_superuser`]). Each function here answers one question and is
//! the only place its rule is written.

use crate::access::Level;
use crate::auth::{Principal, Scope, Scopes};
use crate::error::{Error, Result};
use crate::model::SiteRole;

/// What a change to a user's record touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChange {
    /// `username`, `email`, `full_name`, `avatar_url`.
    pub profile: bool,
    pub password: bool,
    /// `site_role`, `active`, `external_id`, `email_verified`: the site's own fields.
    pub admin_fields: bool,
    /// `site_role` itself (among the site's fields).
    pub site_role: bool,
}

/// How a permitted change to a user's record is to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChangeBy {
    /// A site administrator (or a site key with `users:write`): any field, emails verified.
    Site,
    /// The user on their own record: emails they set are unverified until confirmed, and a
    /// password change needs the current password.
    Themself,
}

/// Decides a change to user `target`'s record (`target_admin`: they are a site
/// administrator).
///
/// Changing one's own record needs `users:write` like any other write to a user: a
/// `groups:read` key of a user cannot take over its account. Only the site changes the
/// site's fields, or other users; and a site administrator's account, or anyone's site role,
/// only with the `admin` scope (a `users:write` key cannot make an administrator, or become
/// one by taking an administrator's account).
pub fn change_user(p: &Principal, target: &str, target_admin: bool, change: UserChange) -> Result<UserChangeBy> {
    p.require(Scope::UsersWrite)?;
    let own = p.user_id() == Some(target);
    if p.is_superuser(Scope::UsersWrite) && !own {
        if (target_admin || change.site_role) && !p.is_superuser(Scope::Admin) {
            return Err(Error::denied("a site administrator's account and site roles need the admin scope"));
        }
        return Ok(UserChangeBy::Site);
    }
    if p.is_superuser(Scope::UsersWrite) {
        // An administrator on their own record: the site's fields are theirs to change.
        return Ok(UserChangeBy::Site);
    }
    if p.user_id() != Some(target) {
        return Err(Error::denied("only a site administrator may change other users"));
    }
    if change.admin_fields {
        return Err(Error::denied("only a site administrator may change site_role, active, external_id or email_verified"));
    }
    Ok(UserChangeBy::Themself)
}

/// Whether a user setting their own password must prove the current one, and whether they
/// may set one at all: with a password set, the current one is needed; without one, only a
/// session may set it (a key setting its owner's first password would turn a narrow key into
/// a full session).
pub fn own_password_change(p: &Principal, has_password: bool, current_matches: Option<bool>) -> Result<()> {
    match (has_password, current_matches) {
        (true, Some(true)) => Ok(()),
        (true, Some(false)) => Err(Error::denied("current_password is wrong")),
        (true, None) => Err(Error::validation("current_password", "changing your password needs your current password")),
        (false, _) if p.token_id.is_some() => Ok(()),
        (false, _) => Err(Error::denied("a key cannot set its owner's first password; sign in or ask an administrator")),
    }
}

/// Creating and deleting users (`admin`: the user is, or is to be, a site administrator,
/// which needs the `admin` scope).
pub fn manage_users(p: &Principal, admin: bool) -> Result<()> {
    p.require_superuser(if admin { Scope::Admin } else { Scope::UsersWrite })
}

/// Minting a session for a user: a session carries every scope its user has, so only the
/// `admin` scope mints one.
pub fn mint_session(p: &Principal) -> Result<()> {
    p.require_superuser(Scope::Admin)
}

/// Reading one user's record: themself, or anyone whose scopes allow `users:read`
/// (others' private fields stay hidden unless [`sees_private_fields`]).
pub fn read_user(p: &Principal, id: &str) -> Result<()> {
    if p.user_id() == Some(id) { Ok(()) } else { p.require(Scope::UsersRead) }
}

/// Listing users: any caller whose scopes allow `users:read`; only [`sees_all_users`] may
/// filter, sort or search by private fields.
pub fn list_users(p: &Principal) -> Result<()> {
    p.require(Scope::UsersRead)
}

/// Whether the caller sees every field of every user (email, site role, external id).
pub fn sees_all_users(p: &Principal) -> bool {
    p.is_superuser(Scope::UsersRead)
}

/// Whether the caller sees the private fields (email, site role, external id) of `user_id`:
/// the user themself, or a site-wide reader of users.
pub fn sees_private_fields(p: &Principal, user_id: &str) -> bool {
    p.user_id() == Some(user_id) || sees_all_users(p)
}

/// Asking about a user's access (checks, effective groups, permissions, collections): the
/// user themself, or a site-wide reader of groups or users. A user's access spans spaces, so
/// a space-bound credential, which knows nothing outside its space, may not ask.
pub fn ask_about_user(p: &Principal, user_id: &str) -> Result<()> {
    if p.space_id.is_some() {
        return Err(Error::denied("a key bound to a space cannot ask about a user's access across spaces"));
    }
    p.require(Scope::GroupsRead)?;
    if p.is_superuser(Scope::GroupsRead) {
        return Ok(());
    }
    if p.user_id() == Some(user_id) {
        Ok(())
    } else {
        Err(Error::denied("only the user themself or a site administrator may ask about a user's access"))
    }
}

/// Creating, renaming and deleting spaces, and naming their moderators.
pub fn manage_spaces(p: &Principal) -> Result<()> {
    p.require_superuser(Scope::GroupsWrite)
}

/// Managing a space's groups through a space-wide surface (seed 001's organizations): its
/// moderators or the site, with the scope `need`.
pub fn manage_space_groups(p: &Principal, need: Scope, moderator: bool) -> Result<()> {
    p.require(need)?;
    if p.is_superuser(need) || moderator { Ok(()) } else { Err(Error::denied("managing an organization's groups needs its moderators")) }
}

/// Site administrators anywhere, a space's moderators for what is their space's (`what`
/// names it in the refusal).
fn site_or_space(p: &Principal, space_level: bool, moderator: bool, what: &str) -> Result<()> {
    p.require(Scope::GroupsWrite)?;
    if p.is_superuser(Scope::GroupsWrite) || (space_level && moderator) {
        Ok(())
    } else if space_level {
        Err(Error::denied(format!("only the space's moderators or a site administrator manage its {what}")))
    } else {
        Err(Error::denied(format!("only a site administrator manages the site's {what}")))
    }
}

/// Declaring, describing and removing permissions in the catalogue: site administrators
/// anywhere, a space's moderators in their space.
pub fn manage_catalogue(p: &Principal, space_level: bool, moderator: bool) -> Result<()> {
    site_or_space(p, space_level, moderator, "permissions")
}

/// Granting a collection to a user directly: site administrators any collection, a space's
/// moderators their space's (they hold every access there).
pub fn grant_collections(p: &Principal, space_level: bool, moderator: bool) -> Result<()> {
    site_or_space(p, space_level, moderator, "collections")
}

/// Creating, changing, deleting, attaching and detaching scope sets: site administrators for
/// the site's and any space's, a space's moderators for their space's.
pub fn manage_scope_sets(p: &Principal, space_level: bool, moderator: bool) -> Result<()> {
    site_or_space(p, space_level, moderator, "scope sets")
}

/// An access review of a space (every user's access to its groups): its moderators, or
/// site-wide readers of groups.
pub fn review_access(p: &Principal, moderator: bool) -> Result<()> {
    p.require(Scope::GroupsRead)?;
    if p.is_superuser(Scope::GroupsRead) || moderator {
        Ok(())
    } else {
        Err(Error::denied("an access review of a space is for its moderators"))
    }
}

/// Managing webhooks. The site's (every change, users' and keys' included) need the `admin`
/// scope; a space's are for its moderators or the site. A group's follow the group's rule
/// for its settings (`Action::ManageSettings`).
pub fn manage_webhooks(p: &Principal, space_level: bool, moderator: bool) -> Result<()> {
    if space_level { site_or_space(p, true, moderator, "webhooks") } else { p.require_superuser(Scope::Admin) }
}

/// What a scope set may bundle: the group and user scopes. `admin` and `scim` are never
/// handed out through groups (they would make every member a site administrator or a
/// directory).
pub fn scope_set_scopes(scopes: Scopes) -> Result<Scopes> {
    if scopes.is_empty() {
        return Err(Error::validation("scopes", "at least one scope is needed"));
    }
    match scopes.list().into_iter().find(|s| matches!(s, Scope::Admin | Scope::Scim)) {
        Some(s) => Err(Error::validation(
            "scopes",
            format!(
                "{} cannot be held through a group; a scope set bundles groups:read, groups:write, users:read, users:write",
                s.as_str()
            ),
        )),
        None => Ok(scopes),
    }
}

/// The scoped admin API (seed 004): a site key by its own scopes; a user's credential needs
/// `need` from the scope sets of the groups they effectively belong to (`granted`) as well,
/// and a user's key within its own scopes too (a key never exceeds what it was minted
/// with). Site administrators hold every scope.
pub fn use_scoped_api(p: &Principal, granted: Scopes, need: Scope) -> Result<()> {
    p.require(need)?;
    match &p.user {
        None => Ok(()),
        Some(_) if p.is_superuser(need) => Ok(()),
        Some(_) if granted.allows(need) => Ok(()),
        Some(_) => Err(Error::denied(format!("this API needs the {} scope, which your groups' scope sets do not give you", need.as_str()))),
    }
}

/// What granting a permission to a group needs to know about it and the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionGrant {
    /// The permission is in the catalogue (the site's or the group's space's).
    pub declared: bool,
    /// The caller holds it themself (through their own groups).
    pub held: bool,
    /// The caller moderates the group's space.
    pub space_moderator: bool,
}

/// How a permitted grant is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Declared already.
    Declared,
    /// Not declared yet: the caller manages the catalogue, so the grant declares it in the
    /// group's space.
    Declares,
}

/// Nobody grants a permission they do not hold: a group may be given a declared permission
/// by someone who holds it, or by a space moderator or a site administrator. Undeclared
/// permissions are refused, except from those who may declare them, whose grant declares
/// it in the group's space.
pub fn grant_permission(p: &Principal, name: &str, g: PermissionGrant) -> Result<Granted> {
    p.require(Scope::GroupsWrite)?;
    let manager = p.is_superuser(Scope::GroupsWrite) || g.space_moderator;
    match (g.declared, manager, g.held) {
        (true, true, _) | (true, _, true) => Ok(Granted::Declared),
        (false, true, _) => Ok(Granted::Declares),
        (true, false, false) => Err(Error::denied(format!("you cannot grant the permission {name:?}: you do not hold it"))),
        (false, false, _) => Err(Error::validation(
            "permissions",
            format!("{name:?} is not in the permission catalogue; a space moderator or site administrator declares it first"),
        )),
    }
}

/// Nobody grants access to a collection beyond their own: giving a group `level` on a
/// collection (or showing its passwords) needs the caller to hold at least that (`held`:
/// their own level, and whether passwords are hidden from them), unless they moderate the
/// space or the site.
pub fn grant_collection(
    p: &Principal,
    id: &str,
    level: Level,
    shows_passwords: bool,
    held: Option<(Level, bool)>,
    space_moderator: bool,
) -> Result<()> {
    p.require(Scope::GroupsWrite)?;
    if p.is_superuser(Scope::GroupsWrite) || space_moderator {
        return Ok(());
    }
    match held {
        Some((have, hidden)) if have >= level && (!shows_passwords || !hidden) => Ok(()),
        _ => Err(Error::denied(format!("you cannot grant {level:?} access to collection {id:?}: you do not hold it").to_lowercase())),
    }
}

/// `access_all` (edit on every collection of the space) is the space's to give: its
/// moderators or the site.
pub fn grant_access_all(p: &Principal, space_moderator: bool) -> Result<()> {
    p.require(Scope::GroupsWrite)?;
    if p.is_superuser(Scope::GroupsWrite) || space_moderator {
        Ok(())
    } else {
        Err(Error::denied("only the space's moderators or a site administrator give access to all collections"))
    }
}

/// Minting an API key with `scopes`, for `owner` (`None`: a site key).
///
/// A user mints keys for themself, from a session, with scopes their session holds (never
/// `admin` or `scim`): a key does not mint keys, or a leaked short-lived key could outlive
/// its revocation through a copy. Site administrators mint any key. A key for a user is
/// never more than that user, so `admin` on a key for someone who is not a site
/// administrator is refused.
pub fn mint_key(p: &Principal, owner: Option<&str>, owner_role: Option<SiteRole>, scopes: Scopes) -> Result<()> {
    let site = p.is_superuser(Scope::Admin);
    if p.key_id.is_some() && !site {
        return Err(Error::denied("keys are minted from a session, not from another key"));
    }
    match owner {
        Some(o) if !site && p.user_id() != Some(o) => {
            return Err(Error::denied("only a site administrator may create keys for other users"));
        }
        None if !site => return Err(Error::denied("only a site administrator may create site keys")),
        _ => {}
    }
    if !site && (scopes.contains(Scope::Admin) || scopes.contains(Scope::Scim) || !p.scopes.covers(scopes)) {
        return Err(Error::denied("nobody grants a scope they do not hold"));
    }
    if scopes.contains(Scope::Admin) && owner.is_some() && owner_role != Some(SiteRole::Admin) {
        return Err(Error::validation("scopes", "an admin key acts as its owner, who must be a site administrator"));
    }
    Ok(())
}

/// Listing and revoking keys: site administrators all of them, a user their own.
pub fn manage_key(p: &Principal, key_owner: Option<&str>) -> Result<()> {
    let own = key_owner.is_some() && key_owner == p.user_id();
    if own || p.is_superuser(Scope::Admin) { Ok(()) } else { Err(Error::NotFound("api key")) }
}

/// Reading the audit trail.
pub fn read_audit(p: &Principal) -> Result<()> {
    p.require_superuser(Scope::Admin)
}

/// What a SCIM caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimReach {
    /// Every user and every space's groups: a site `admin` credential (an admin key may do
    /// everything). Groups it creates without a space land in the default space.
    Site,
    /// One space: its groups, and the users it provisioned or whose memberships all lie in
    /// it, never site administrators or another space's moderators (the store keeps that
    /// rule as one SQL condition, for lists and single reads alike).
    Space(String),
}

impl ScimReach {
    /// Whether a group of `space_id` exists for the caller.
    pub fn covers(&self, space_id: &str) -> bool {
        match self {
            ScimReach::Site => true,
            ScimReach::Space(s) => s == space_id,
        }
    }

    /// The space the caller is held to, if any.
    pub fn space(&self) -> Option<&str> {
        match self {
            ScimReach::Site => None,
            ScimReach::Space(s) => Some(s),
        }
    }
}

/// Accepts a credential for SCIM: a `scim` key, bound to the space it answers, or a site
/// `admin` credential, which reaches the whole site. A credential bound to a space never
/// reaches past it, whatever its scopes.
pub fn use_scim(p: &Principal) -> Result<ScimReach> {
    let scim = p.scopes.contains(Scope::Scim);
    let admin = p.scopes.contains(Scope::Admin);
    match &p.space_id {
        Some(space) if scim || admin => Ok(ScimReach::Space(space.clone())),
        None if admin && p.is_superuser(Scope::Admin) => Ok(ScimReach::Site),
        None if scim => Err(Error::denied("a scim key must be bound to a space")),
        _ => Err(Error::denied("this credential lacks the scim scope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Caller;

    fn user(id: &str, role: SiteRole, scopes: &[Scope], key: bool) -> Principal {
        Principal {
            user: Some(Caller { id: id.into(), site_role: role }),
            scopes: Scopes::of(scopes),
            key_id: key.then(|| "key_1".to_string()),
            token_id: (!key).then(|| "tok_1".to_string()),
            space_id: None,
        }
    }

    #[test]
    fn scim_reaches_the_site_for_an_admin_and_one_space_for_a_bound_key() {
        let key = |scopes: &[Scope], space: Option<&str>| Principal {
            user: None,
            scopes: Scopes::of(scopes),
            key_id: Some("key_1".into()),
            token_id: None,
            space_id: space.map(str::to_string),
        };
        assert_eq!(use_scim(&key(&[Scope::Admin], None)), Ok(ScimReach::Site));
        assert_eq!(use_scim(&key(&[Scope::Scim], Some("spc_a"))), Ok(ScimReach::Space("spc_a".into())));
        // A space-bound admin key stays in its space.
        assert_eq!(use_scim(&key(&[Scope::Admin], Some("spc_a"))), Ok(ScimReach::Space("spc_a".into())));
        assert!(matches!(use_scim(&key(&[Scope::Scim], None)), Err(Error::PermissionDenied(_))));
        assert!(matches!(use_scim(&key(&[Scope::GroupsWrite, Scope::UsersWrite], None)), Err(Error::PermissionDenied(_))));
        // A user who is not a site administrator gets no site-wide SCIM from an admin scope.
        let member = user("usr_a", SiteRole::User, &[Scope::Admin], true);
        assert!(matches!(use_scim(&member), Err(Error::PermissionDenied(_))));
        let admin = user("usr_b", SiteRole::Admin, &[Scope::Admin], true);
        assert_eq!(use_scim(&admin), Ok(ScimReach::Site));
    }

    #[test]
    fn a_read_only_key_cannot_change_its_own_user() {
        let p = user("usr_a", SiteRole::User, &[Scope::GroupsRead], true);
        let profile = UserChange { profile: true, ..UserChange::default() };
        assert!(matches!(change_user(&p, "usr_a", false, profile), Err(Error::PermissionDenied(_))));
        let w = user("usr_a", SiteRole::User, &[Scope::UsersWrite], true);
        assert_eq!(change_user(&w, "usr_a", false, profile), Ok(UserChangeBy::Themself));
        assert!(change_user(&w, "usr_b", false, profile).is_err());
        assert!(change_user(&w, "usr_a", false, UserChange { admin_fields: true, ..profile }).is_err());
        let admin = user("usr_x", SiteRole::Admin, &[Scope::UsersWrite], true);
        assert_eq!(change_user(&admin, "usr_a", false, UserChange { admin_fields: true, ..profile }), Ok(UserChangeBy::Site));
    }

    #[test]
    fn users_write_does_not_reach_administrators() {
        let site_key = Principal {
            user: None,
            scopes: Scopes::of(&[Scope::UsersWrite]),
            key_id: Some("key_s".into()),
            token_id: None,
            space_id: None,
        };
        let profile = UserChange { profile: true, ..UserChange::default() };
        assert_eq!(change_user(&site_key, "usr_a", false, profile), Ok(UserChangeBy::Site));
        assert!(change_user(&site_key, "usr_root", true, profile).is_err(), "an administrator's account");
        let promote = UserChange { admin_fields: true, site_role: true, ..UserChange::default() };
        assert!(change_user(&site_key, "usr_a", false, promote).is_err(), "making an administrator");
        assert!(manage_users(&site_key, false).is_ok() && manage_users(&site_key, true).is_err());
        assert!(mint_session(&site_key).is_err());
    }

    #[test]
    fn own_passwords_need_the_current_one() {
        let key = user("usr_a", SiteRole::User, &[Scope::UsersWrite], true);
        let session = user("usr_a", SiteRole::User, &[Scope::UsersWrite], false);
        assert!(own_password_change(&key, true, None).is_err());
        assert!(own_password_change(&key, true, Some(false)).is_err());
        assert!(own_password_change(&key, true, Some(true)).is_ok());
        assert!(own_password_change(&key, false, None).is_err());
        assert!(own_password_change(&session, false, None).is_ok());
    }

    #[test]
    fn grants_need_the_catalogue_and_the_permission() {
        let member = user("usr_a", SiteRole::User, &[Scope::GroupsWrite], false);
        let g = |declared, held, space_moderator| PermissionGrant { declared, held, space_moderator };
        assert!(grant_permission(&member, "kb.admin", g(true, false, false)).is_err());
        assert!(grant_permission(&member, "kb.admin", g(false, true, false)).is_err());
        assert_eq!(grant_permission(&member, "kb.read", g(true, true, false)), Ok(Granted::Declared));
        assert_eq!(grant_permission(&member, "kb.new", g(false, false, true)), Ok(Granted::Declares));
        let admin = user("usr_x", SiteRole::Admin, &[Scope::GroupsWrite], false);
        assert_eq!(grant_permission(&admin, "kb.new", g(false, false, false)), Ok(Granted::Declares));
    }

    #[test]
    fn admin_keys_are_for_site_administrators() {
        let admin = user("usr_x", SiteRole::Admin, &[Scope::Admin], false);
        let scopes = Scopes::of(&[Scope::Admin]);
        assert!(mint_key(&admin, Some("usr_x"), Some(SiteRole::Admin), scopes).is_ok());
        assert!(mint_key(&admin, Some("usr_a"), Some(SiteRole::User), scopes).is_err());
        assert!(mint_key(&admin, None, None, scopes).is_ok());
        let member = user("usr_a", SiteRole::User, &[Scope::GroupsRead, Scope::GroupsWrite], false);
        assert!(mint_key(&member, Some("usr_a"), Some(SiteRole::User), Scopes::of(&[Scope::GroupsRead])).is_ok());
        let key = user("usr_a", SiteRole::User, &[Scope::GroupsRead, Scope::GroupsWrite], true);
        assert!(mint_key(&key, Some("usr_a"), Some(SiteRole::User), Scopes::of(&[Scope::GroupsRead])).is_err());
        assert!(mint_key(&member, Some("usr_a"), Some(SiteRole::User), Scopes::of(&[Scope::UsersRead])).is_err());
        assert!(mint_key(&member, None, None, Scopes::of(&[Scope::GroupsRead])).is_err());
    }
}
