//! Who is calling: a user (through a token or a key they own) or the site (a site key), and
//! the scopes that bound what they may do.

use crate::error::{Error, Result};
use crate::model::SiteRole;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    GroupsRead,
    GroupsWrite,
    UsersRead,
    UsersWrite,
    Scim,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [Scope::GroupsRead, Scope::GroupsWrite, Scope::UsersRead, Scope::UsersWrite, Scope::Scim, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::GroupsRead => "groups:read",
            Scope::GroupsWrite => "groups:write",
            Scope::UsersRead => "users:read",
            Scope::UsersWrite => "users:write",
            Scope::Scim => "scim",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes. A user's own token carries every scope but `scim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub fn session() -> Self {
        Scopes::of(&[Scope::GroupsRead, Scope::GroupsWrite, Scope::UsersRead, Scope::UsersWrite, Scope::Admin])
    }

    pub fn of(scopes: &[Scope]) -> Self {
        Scopes(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    /// Parses a comma list (`groups:read,groups:write`); unknown or empty lists are refused.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::validation("scopes", "at least one scope is needed"));
        }
        let mut out = Scopes::default();
        for item in items {
            let item = item.as_ref().trim();
            let scope = Scope::parse(item).ok_or_else(|| {
                Error::validation(
                    "scopes",
                    format!("unknown scope {item:?}; known: groups:read, groups:write, users:read, users:write, scim, admin"),
                )
            })?;
            out.0 |= scope.bit();
        }
        Ok(out)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether these scopes permit work that needs `need`: `admin` permits everything and a
    /// write scope permits the matching read.
    pub fn allows(self, need: Scope) -> bool {
        self.contains(need)
            || (need != Scope::Scim && self.contains(Scope::Admin))
            || (need == Scope::GroupsRead && self.contains(Scope::GroupsWrite))
            || (need == Scope::UsersRead && self.contains(Scope::UsersWrite))
    }

    /// Whether every scope of `other` is allowed by these.
    pub fn covers(self, other: Scopes) -> bool {
        Scope::ALL.iter().all(|s| !other.contains(*s) || self.allows(*s))
    }

    /// Every scope of either.
    pub fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes themselves, in [`Scope::ALL`]'s order.
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.contains(*s)).collect()
    }

    pub fn names(self) -> Vec<String> {
        Scope::ALL.iter().filter(|s| self.contains(**s)).map(|s| s.as_str().to_string()).collect()
    }
}

/// The user behind a request, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub site_role: SiteRole,
}

/// Everything the policy needs to know about who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user acted for; `None` for a site key.
    pub user: Option<Caller>,
    pub scopes: Scopes,
    /// The key used, if the call came with an API key.
    pub key_id: Option<String>,
    /// The token used, if the call came with a user token (so logout can revoke it).
    pub token_id: Option<String>,
    /// The space the key is bound to: it reaches nothing outside it, and a site key bound to
    /// a space stands for that space's moderation.
    pub space_id: Option<String>,
}

impl Principal {
    /// The CLI and other in-process callers: a site principal with every scope.
    pub fn system() -> Self {
        Principal { user: None, scopes: Scopes::session(), key_id: None, token_id: None, space_id: None }
    }

    /// What kind of credential this is, for logs: `session` (a user's token), `user_key`,
    /// `space_key` (a site key bound to a space), `site_key`, or `system` (the command line).
    pub fn kind(&self) -> &'static str {
        match (&self.token_id, &self.key_id, &self.user, &self.space_id) {
            (Some(_), _, _, _) => "session",
            (None, Some(_), Some(_), _) => "user_key",
            (None, Some(_), None, Some(_)) => "space_key",
            (None, Some(_), None, None) => "site_key",
            (None, None, _, _) => "system",
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.id.as_str())
    }

    /// The id written as the actor of audit events: the user, else the key.
    pub fn actor_id(&self) -> Option<String> {
        self.user.as_ref().map(|u| u.id.clone()).or_else(|| self.key_id.clone())
    }

    pub fn allows(&self, need: Scope) -> bool {
        self.scopes.allows(need)
    }

    /// Site-wide power for work needing `need`: a site administrator, or a site key, whose
    /// scopes allow `need`. A key owned by a user is never more than that user, so a user
    /// who is not a site administrator has no site-wide power whatever their key's scopes
    /// (and a demoted administrator's keys lose it at once).
    pub fn is_superuser(&self, need: Scope) -> bool {
        // A credential bound to a space has no site-wide power at all.
        if !self.allows(need) || self.space_id.is_some() {
            return false;
        }
        match &self.user {
            Some(u) => u.site_role == SiteRole::Admin,
            None => true,
        }
    }

    /// Refuses with 403 unless the scopes allow `need`.
    pub fn require(&self, need: Scope) -> Result<()> {
        if self.allows(need) { Ok(()) } else { Err(Error::denied(format!("this credential lacks the {} scope", need.as_str()))) }
    }

    /// Refuses with 403 unless this is a superuser for `need`.
    pub fn require_superuser(&self, need: Scope) -> Result<()> {
        self.require(need)?;
        if self.is_superuser(need) { Ok(()) } else { Err(Error::denied("only a site administrator may do this")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_imply() {
        let s = Scopes::parse_list(&["groups:write"]).unwrap_or_default();
        assert!(s.allows(Scope::GroupsRead) && s.allows(Scope::GroupsWrite));
        assert!(!s.allows(Scope::UsersRead));
        assert!(Scopes::parse_list(&["groups:everything"]).is_err());
        assert!(Scopes::parse_list::<&str>(&[]).is_err());
        let admin = Scopes::of(&[Scope::Admin]);
        assert!(admin.allows(Scope::UsersWrite) && !admin.allows(Scope::Scim));
    }

    #[test]
    fn a_key_is_never_more_than_its_owner_or_its_scopes() {
        let p = Principal {
            user: Some(Caller { id: "usr_1".into(), site_role: SiteRole::User }),
            scopes: Scopes::of(&[Scope::Admin]),
            key_id: Some("key_1".into()),
            token_id: None,
            space_id: None,
        };
        assert!(!p.is_superuser(Scope::GroupsWrite));
        let admin = Principal { user: Some(Caller { id: "usr_2".into(), site_role: SiteRole::Admin }), ..p.clone() };
        assert!(admin.is_superuser(Scope::GroupsWrite));
        let narrow = Principal { scopes: Scopes::of(&[Scope::GroupsRead]), ..admin };
        assert!(narrow.is_superuser(Scope::GroupsRead) && !narrow.is_superuser(Scope::GroupsWrite));
        let site = Principal { user: None, ..narrow };
        assert!(site.is_superuser(Scope::GroupsRead) && !site.is_superuser(Scope::UsersRead));
    }
}
