//! The rules of a group's own fields: what a create, a replace or a merge may set.

use crate::error::{Error, Result};
use crate::input;
use crate::model::{CollectionGrant, GroupDraft, GroupSettings, GroupType, Visibility};

pub const NAME_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;
pub const MAX_DEPTH: i64 = 32;
pub const MAX_COLLECTIONS: usize = 1000;

/// Checks every field of a draft and normalises it (trimmed name, deduplicated lists).
pub fn validate(mut d: GroupDraft) -> Result<GroupDraft> {
    d.name = input::name("name", &d.name, NAME_MAX)?;
    d.description = input::text("description", d.description, DESCRIPTION_MAX)?;
    d.external_id = input::external_id(d.external_id)?;
    d.settings.max_members = input::max_members(d.settings.max_members)?;
    d.permissions = input::permissions(d.permissions)?;
    if d.collections.len() > MAX_COLLECTIONS {
        return Err(Error::validation("collections", format!("at most {MAX_COLLECTIONS} collections")));
    }
    let mut seen = Vec::with_capacity(d.collections.len());
    for c in &d.collections {
        input::collection_id("collections", &c.id)?;
        if seen.contains(&c.id) {
            return Err(Error::validation("collections", format!("collection {:?} is listed twice", c.id)));
        }
        seen.push(c.id.clone());
    }
    Ok(d)
}

/// A new group's fields before defaults: what a create or a replace carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupInput {
    pub name: String,
    pub description: Option<String>,
    pub group_type: Option<GroupType>,
    pub visibility: Option<Visibility>,
    pub external_id: Option<String>,
    pub access_all: Option<bool>,
    pub allow_join_requests: Option<bool>,
    pub require_approval: Option<bool>,
    pub max_members: Option<i64>,
    pub permissions: Option<Vec<String>>,
    pub collections: Option<Vec<CollectionGrant>>,
    pub inherit_permissions: Option<bool>,
    pub inherit_members: Option<bool>,
}

impl GroupInput {
    /// The draft with defaults for what is missing: a private team that accepts join
    /// requests without approval and has no member limit.
    pub fn into_draft(self) -> Result<GroupDraft> {
        let defaults = GroupSettings::default();
        validate(GroupDraft {
            name: self.name,
            description: self.description,
            group_type: self.group_type.unwrap_or(GroupType::Team),
            visibility: self.visibility.unwrap_or(Visibility::Private),
            external_id: self.external_id,
            access_all: self.access_all.unwrap_or(false),
            settings: GroupSettings {
                allow_join_requests: self.allow_join_requests.unwrap_or(defaults.allow_join_requests),
                require_approval: self.require_approval.unwrap_or(defaults.require_approval),
                max_members: self.max_members,
            },
            permissions: self.permissions.unwrap_or_default(),
            collections: self.collections.unwrap_or_default(),
            inherit_permissions: self.inherit_permissions.unwrap_or(false),
            inherit_members: self.inherit_members.unwrap_or(false),
        })
    }
}

/// A merge: absent fields stay, `Some(None)` clears a nullable field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub group_type: Option<GroupType>,
    pub visibility: Option<Visibility>,
    pub external_id: Option<Option<String>>,
    pub access_all: Option<bool>,
    pub allow_join_requests: Option<bool>,
    pub require_approval: Option<bool>,
    pub max_members: Option<Option<i64>>,
    pub permissions: Option<Vec<String>>,
    pub collections: Option<Vec<CollectionGrant>>,
    pub inherit_permissions: Option<bool>,
    pub inherit_members: Option<bool>,
}

impl GroupPatch {
    pub fn apply(self, mut d: GroupDraft) -> Result<GroupDraft> {
        if let Some(v) = self.name {
            d.name = v;
        }
        if let Some(v) = self.description {
            d.description = v;
        }
        if let Some(v) = self.group_type {
            d.group_type = v;
        }
        if let Some(v) = self.visibility {
            d.visibility = v;
        }
        if let Some(v) = self.external_id {
            d.external_id = v;
        }
        if let Some(v) = self.access_all {
            d.access_all = v;
        }
        if let Some(v) = self.allow_join_requests {
            d.settings.allow_join_requests = v;
        }
        if let Some(v) = self.require_approval {
            d.settings.require_approval = v;
        }
        if let Some(v) = self.max_members {
            d.settings.max_members = v;
        }
        if let Some(v) = self.permissions {
            d.permissions = v;
        }
        if let Some(v) = self.collections {
            d.collections = v;
        }
        if let Some(v) = self.inherit_permissions {
            d.inherit_permissions = v;
        }
        if let Some(v) = self.inherit_members {
            d.inherit_members = v;
        }
        validate(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_merges_settings_key_by_key() {
        let d = GroupInput { name: "Eng".into(), max_members: Some(50), require_approval: Some(true), ..Default::default() }.into_draft();
        let d = d.and_then(|d| GroupPatch { max_members: Some(Some(75)), ..Default::default() }.apply(d));
        let d = d.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.settings.max_members, Some(75));
        assert!(d.settings.require_approval);
    }

    #[test]
    fn bad_fields_are_refused() {
        assert!(GroupInput { name: " ".into(), ..Default::default() }.into_draft().is_err());
        assert!(GroupInput { name: "x".into(), max_members: Some(0), ..Default::default() }.into_draft().is_err());
        let twice = vec![CollectionGrant { id: "c".into(), read_only: false, hide_passwords: false, manage: false }; 2];
        assert!(GroupInput { name: "x".into(), collections: Some(twice), ..Default::default() }.into_draft().is_err());
    }
}
