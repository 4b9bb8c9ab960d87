//! Import and export: users, spaces, groups (with their parents and permissions), custom
//! roles, memberships and direct collection grants as [`Record`]s, one a line.
//!
//! An import goes through the same services as the API, as the site: each record is one
//! command (a membership batch of up to [`BATCH`] rows of one group is one bulk add, through
//! the membership engine), so every rule holds and every change is audited and reaches the
//! access index. It is idempotent: users and groups are matched by `external_id` (or by
//! their own id, for an export of records that had none), spaces by name, roles by name in
//! their group, memberships by group and user; what already matches is counted unchanged,
//! what differs is changed, and a second run of the same file changes nothing.

use crate::App;
use crate::members::{BulkOutcome, MemberPatch, NewMember};
use cohort_core::auth::Principal;
use cohort_core::group::{GroupInput, GroupPatch};
use cohort_core::model::{CollectionGrant, SiteRole, Visibility};
use cohort_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Memberships of one group added in one transaction.
pub const BATCH: usize = 10_000;

/// One line of an import or export. References name users and groups by their external id
/// (or their id), groups within a space named by `space` (the default space when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    Space {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    User {
        external_id: String,
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<bool>,
        /// `user` or `admin`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site_role: Option<String>,
    },
    Group {
        external_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// The parent group's reference, in the same space.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visibility: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        permissions: Option<Vec<String>>,
    },
    Role {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        name: String,
        /// The capabilities the role gives (`manage_members`, `post`, …).
        #[serde(default)]
        permissions: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    Membership {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        user: String,
        /// The role's slug (`member` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    Grant {
        user: String,
        collection: String,
        /// `read`, `edit` or `manage` (`read` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        access: Option<String>,
        /// The space whose moderators may change the grant (the site's when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
    },
}

/// What an import did, counted by outcome; refused rows by line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub made: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// `(line, why)` of every row refused.
    pub failed: Vec<(u64, String)>,
}

impl Report {
    pub fn rows(&self) -> u64 {
        self.made + self.changed + self.unchanged + self.failed.len() as u64
    }
}

/// A membership waiting for its group's batch.
struct Pending {
    line: u64,
    user_id: String,
    role: String,
}

/// An import in progress: the references resolved so far, and the memberships of the group
/// being filled. Feed it records in file order with [`Importer::push`], then
/// [`Importer::finish`].
pub struct Importer<'a> {
    app: &'a App,
    site: Principal,
    /// External id (and id) → user id.
    users: HashMap<String, String>,
    /// Space name, lower-cased → space id.
    spaces: HashMap<String, String>,
    /// (space id, external id or id) → group id.
    groups: HashMap<(String, String), String>,
    batch: Option<(String, Vec<Pending>)>,
    pub report: Report,
}

/// The space every group is in unless it names another.
const DEFAULT_SPACE: &str = "spc_default";

impl App {
    /// Starts an import: reads every user's, group's and space's reference once.
    pub async fn importer(&self) -> Result<Importer<'_>> {
        let c = self.read().await?;
        let mut users = HashMap::new();
        for (id, external) in cohort_store::transfer::user_refs(&c).await? {
            if let Some(e) = external {
                users.insert(e, id.clone());
            }
            users.entry(id.clone()).or_insert(id);
        }
        let spaces = cohort_store::transfer::space_refs(&c).await?.into_iter().map(|(id, name)| (name.to_lowercase(), id)).collect();
        let mut groups = HashMap::new();
        for (id, space, external) in cohort_store::transfer::group_refs(&c).await? {
            if let Some(e) = external {
                groups.insert((space.clone(), e), id.clone());
            }
            groups.entry((space, id.clone())).or_insert(id);
        }
        Ok(Importer { app: self, site: Principal::system(), users, spaces, groups, batch: None, report: Report::default() })
    }
}

/// A refused row's words: the error and the field it names.
fn said(e: &Error) -> String {
    match e {
        Error::Validation { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

impl Importer<'_> {
    /// Applies one record read at `line`. A refused row is recorded in the report; only a
    /// failure of the database itself is returned (the import cannot go on).
    pub async fn push(&mut self, line: u64, record: Record) -> Result<()> {
        if let Record::Membership { group, space, user, role } = record {
            return self.membership(line, group, space, user, role).await;
        }
        // Anything else may depend on the memberships before it being made: send them first.
        self.flush().await?;
        let outcome = match record {
            Record::Space { name, description } => self.space(name, description).await,
            Record::User { external_id, username, email, full_name, active, site_role } => {
                self.user(external_id, username, email, full_name, active, site_role).await
            }
            Record::Group { external_id, space, name, description, parent, visibility, permissions } => {
                self.group(external_id, space, name, description, parent, visibility, permissions).await
            }
            Record::Role { group, space, name, permissions, description } => self.role(group, space, name, permissions, description).await,
            Record::Grant { user, collection, access, space } => self.grant(user, collection, access, space).await,
            Record::Membership { .. } => Ok(Outcome::Unchanged),
        };
        self.count(line, outcome)
    }

    /// Sends what is waiting, and answers the report.
    pub async fn finish(mut self) -> Result<Report> {
        self.flush().await?;
        Ok(self.report)
    }

    fn count(&mut self, line: u64, outcome: Result<Outcome>) -> Result<()> {
        match outcome {
            Ok(Outcome::Made) => self.report.made += 1,
            Ok(Outcome::Changed) => self.report.changed += 1,
            Ok(Outcome::Unchanged) => self.report.unchanged += 1,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => self.report.failed.push((line, said(&e))),
        }
        Ok(())
    }

    fn space_id(&self, space: Option<&str>) -> Result<String> {
        match space {
            None => Ok(DEFAULT_SPACE.into()),
            Some(name) => {
                self.spaces.get(&name.to_lowercase()).cloned().ok_or_else(|| Error::validation("space", format!("no space {name:?}")))
            }
        }
    }

    fn user_id(&self, reference: &str) -> Result<String> {
        self.users.get(reference).cloned().ok_or_else(|| Error::validation("user", format!("no user {reference:?}")))
    }

    fn group_id(&self, space_id: &str, reference: &str) -> Result<String> {
        self.groups
            .get(&(space_id.to_string(), reference.to_string()))
            .cloned()
            .ok_or_else(|| Error::validation("group", format!("no group {reference:?} in this space")))
    }

    async fn space(&mut self, name: String, description: Option<String>) -> Result<Outcome> {
        if let Some(id) = self.spaces.get(&name.to_lowercase()).cloned() {
            let space = self.app.get_space(&self.site, &id).await?;
            if description.is_none() || space.description == description {
                return Ok(Outcome::Unchanged);
            }
            let patch = crate::spaces::SpacePatch { description: Some(description), ..Default::default() };
            self.app.update_space(&self.site, &id, patch, None).await?;
            return Ok(Outcome::Changed);
        }
        let space = self.app.create_space(&self.site, &name, description, vec![]).await?;
        self.spaces.insert(name.to_lowercase(), space.id);
        Ok(Outcome::Made)
    }

    async fn user(
        &mut self,
        external_id: String,
        username: String,
        email: Option<String>,
        full_name: Option<String>,
        active: Option<bool>,
        site_role: Option<String>,
    ) -> Result<Outcome> {
        let site_role = match site_role.as_deref() {
            None => None,
            Some(r) => Some(SiteRole::parse(r).ok_or_else(|| Error::validation("site_role", format!("{r:?} is not user or admin")))?),
        };
        if let Some(id) = self.users.get(&external_id).cloned() {
            let u = self.app.get_user(&self.site, &id).await?;
            let patch = crate::users::UserPatch {
                username: (u.username != username).then_some(username),
                email: email.filter(|e| u.email.as_deref() != Some(e.as_str())).map(Some),
                full_name: full_name.filter(|f| u.full_name.as_deref() != Some(f.as_str())).map(Some),
                active: active.filter(|a| *a != u.active),
                site_role: site_role.filter(|r| *r != u.site_role),
                ..Default::default()
            };
            if patch.username.is_none()
                && patch.email.is_none()
                && patch.full_name.is_none()
                && patch.active.is_none()
                && patch.site_role.is_none()
            {
                return Ok(Outcome::Unchanged);
            }
            self.app.update_user(&self.site, &id, patch, None).await?;
            return Ok(Outcome::Changed);
        }
        let new = crate::users::NewUser {
            username,
            email,
            full_name,
            external_id: Some(external_id.clone()),
            active,
            site_role,
            ..Default::default()
        };
        let u = self.app.create_user(&self.site, new).await?;
        self.users.insert(external_id, u.id);
        Ok(Outcome::Made)
    }

    #[allow(clippy::too_many_arguments)]
    async fn group(
        &mut self,
        external_id: String,
        space: Option<String>,
        name: String,
        description: Option<String>,
        parent: Option<String>,
        visibility: Option<String>,
        permissions: Option<Vec<String>>,
    ) -> Result<Outcome> {
        let space_id = self.space_id(space.as_deref())?;
        let parent_id = parent
            .as_deref()
            .map(|p| self.group_id(&space_id, p).map_err(|_| Error::validation("parent", format!("no group {p:?} in this space"))))
            .transpose()?;
        let visibility = match visibility.as_deref() {
            None => None,
            Some(v) => Some(Visibility::parse(v).ok_or_else(|| Error::validation("visibility", format!("{v:?} is not a visibility")))?),
        };
        if let Some(id) = self.groups.get(&(space_id.clone(), external_id.clone())).cloned() {
            let g = self.app.get_group(&self.site, &id).await?;
            let mut changed = false;
            if g.parent_id != parent_id {
                self.app.move_group(&self.site, &id, parent_id, None).await?;
                changed = true;
            }
            let patch = GroupPatch {
                name: (g.name != name).then_some(name),
                description: description.filter(|d| g.description.as_deref() != Some(d.as_str())).map(Some),
                visibility: visibility.filter(|v| *v != g.visibility),
                permissions: permissions.filter(|p| *p != g.permissions),
                ..Default::default()
            };
            if patch != GroupPatch::default() {
                self.app.update_group(&self.site, &id, patch, None, None).await?;
                changed = true;
            }
            return Ok(if changed { Outcome::Changed } else { Outcome::Unchanged });
        }
        let input = GroupInput { name, description, visibility, external_id: Some(external_id.clone()), permissions, ..Default::default() };
        let g = self.app.create_group_as(&self.site, Some(space_id.clone()), parent_id, input, false).await?;
        self.groups.insert((space_id, external_id), g.id);
        Ok(Outcome::Made)
    }

    async fn role(
        &mut self,
        group: String,
        space: Option<String>,
        name: String,
        permissions: Vec<String>,
        description: Option<String>,
    ) -> Result<Outcome> {
        let group_id = self.group_id(&self.space_id(space.as_deref())?, &group)?;
        let slug = cohort_core::input::slug(&name);
        let existing = self.app.list_roles(&self.site, &group_id).await?.into_iter().find(|r| r.role.slug == slug);
        match existing {
            None => {
                self.app.create_role(&self.site, &group_id, &name, permissions, description).await?;
                Ok(Outcome::Made)
            }
            Some(r) if r.role.builtin => Ok(Outcome::Unchanged),
            Some(r) => {
                let patch = crate::roles::RolePatch {
                    name: (r.role.name != name).then_some(name),
                    permissions: (r.permissions != permissions).then_some(permissions),
                    description: description.filter(|d| r.description.as_deref() != Some(d.as_str())).map(Some),
                };
                if patch.name.is_none() && patch.permissions.is_none() && patch.description.is_none() {
                    return Ok(Outcome::Unchanged);
                }
                self.app.update_role(&self.site, &group_id, &slug, patch).await?;
                Ok(Outcome::Changed)
            }
        }
    }

    async fn grant(&mut self, user: String, collection: String, access: Option<String>, space: Option<String>) -> Result<Outcome> {
        let user_id = self.user_id(&user)?;
        let space_id = space.as_deref().map(|s| self.space_id(Some(s))).transpose()?;
        let level = access.as_deref().unwrap_or("read");
        let grant = match level {
            "read" => CollectionGrant { id: collection.clone(), read_only: true, hide_passwords: false, manage: false },
            "edit" => CollectionGrant { id: collection.clone(), read_only: false, hide_passwords: false, manage: false },
            "manage" => CollectionGrant { id: collection.clone(), read_only: false, hide_passwords: false, manage: true },
            other => return Err(Error::validation("access", format!("{other:?} is not read, edit or manage"))),
        };
        let c = self.app.read().await?;
        let held = cohort_store::user_collections::of_user(&c, &user_id).await?.into_iter().find(|g| g.grant.id == collection);
        drop(c);
        if let Some(h) = &held
            && h.grant == grant
            && h.space_id == space_id
        {
            return Ok(Outcome::Unchanged);
        }
        self.app.grant_collection(&self.site, &user_id, space_id, grant).await?;
        Ok(if held.is_some() { Outcome::Changed } else { Outcome::Made })
    }

    /// Queues a membership; a batch goes when it is full or the group changes.
    async fn membership(&mut self, line: u64, group: String, space: Option<String>, user: String, role: Option<String>) -> Result<()> {
        let resolved = self.space_id(space.as_deref()).and_then(|s| self.group_id(&s, &group)).and_then(|g| Ok((g, self.user_id(&user)?)));
        let (group_id, user_id) = match resolved {
            Ok(ids) => ids,
            Err(e) => return self.count(line, Err(e)),
        };
        if self.batch.as_ref().is_some_and(|(g, items)| *g != group_id || items.len() >= BATCH) {
            self.flush().await?;
        }
        let (_, items) = self.batch.get_or_insert_with(|| (group_id, Vec::new()));
        items.push(Pending { line, user_id, role: role.unwrap_or_else(|| "member".into()) });
        Ok(())
    }

    /// Adds the waiting memberships of one group in one bulk add; members already there
    /// with another role are changed one by one. (A file's end calls it, so that its rows'
    /// outcomes are known before the next file's.)
    pub async fn flush(&mut self) -> Result<()> {
        let Some((group_id, items)) = self.batch.take() else { return Ok(()) };
        let ids: Vec<String> = items.iter().map(|p| p.user_id.clone()).collect();
        let held: HashMap<String, String> = {
            let c = self.app.read().await?;
            cohort_store::transfer::member_roles(&c, &group_id, &ids).await?.into_iter().collect()
        };
        let mut fresh = Vec::new();
        let mut lines = Vec::new();
        for p in items {
            match held.get(&p.user_id) {
                Some(role) if *role == p.role => self.report.unchanged += 1,
                Some(_) => {
                    let patch = MemberPatch { role: Some(p.role), ..Default::default() };
                    let changed = self.app.update_member(&self.site, &group_id, &p.user_id, patch, None).await.map(|_| Outcome::Changed);
                    self.count(p.line, changed)?;
                }
                None => {
                    lines.push(p.line);
                    fresh.push(NewMember {
                        user_id: p.user_id,
                        role: Some(p.role),
                        permissions: None,
                        status: None,
                        expires_at: None,
                        notify: false,
                    });
                }
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        match self.app.bulk_add_members(&self.site, &group_id, fresh).await {
            Ok(outcomes) => {
                for (line, (_, outcome)) in lines.into_iter().zip(outcomes) {
                    let counted = match outcome {
                        BulkOutcome::Added(_) => Ok(Outcome::Made),
                        // The same user twice in the batch: the second is already there.
                        BulkOutcome::Exists => Ok(Outcome::Unchanged),
                        BulkOutcome::Failed(e) => Err(e),
                    };
                    self.count(line, counted)?;
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            // The whole batch refused (the group's seats, say): every row says why.
            Err(e) => {
                let why = said(&e);
                self.report.failed.extend(lines.into_iter().map(|l| (l, why.clone())));
            }
        }
        Ok(())
    }
}

/// What one record did.
enum Outcome {
    Made,
    Changed,
    Unchanged,
}

impl App {
    /// Every record an import takes, in an order it can take them back (spaces, users,
    /// groups parents first, roles, memberships, grants), handed to `each` one by one; the
    /// memberships in pages, never all at once.
    pub async fn export(&self, mut each: impl FnMut(Record) -> std::result::Result<(), String>) -> Result<u64> {
        let fail = |e: String| Error::internal(format!("writing the export: {e}"));
        let c = self.read().await?;
        let mut count = 0u64;
        let spaces = cohort_store::transfer::space_refs(&c).await?;
        let space_name: HashMap<String, String> = spaces.iter().cloned().collect();
        for (id, _) in &spaces {
            let s = cohort_store::spaces::get(&c, id).await?.ok_or(Error::NotFound("space"))?;
            each(Record::Space { name: s.name, description: s.description }).map_err(fail)?;
            count += 1;
        }
        let mut user_ref: HashMap<String, String> = HashMap::new();
        let mut after = String::new();
        loop {
            let page = cohort_store::transfer::users_after(&c, &after).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for u in page {
                let reference = u.external_id.clone().unwrap_or_else(|| u.id.clone());
                user_ref.insert(u.id, reference.clone());
                let r = Record::User {
                    external_id: reference,
                    username: u.username,
                    email: u.email,
                    full_name: u.full_name,
                    active: Some(u.active),
                    site_role: Some(u.site_role.as_str().to_string()),
                };
                each(r).map_err(fail)?;
                count += 1;
            }
        }
        let groups = cohort_store::transfer::groups(&c).await?;
        let group_ref: HashMap<String, (String, Option<String>)> = groups
            .iter()
            .map(|g| {
                let space = (g.space_id != DEFAULT_SPACE).then(|| space_name.get(&g.space_id).cloned()).flatten();
                (g.id.clone(), (g.external_id.clone().unwrap_or_else(|| g.id.clone()), space))
            })
            .collect();
        for g in groups {
            let (reference, space) = group_ref.get(&g.id).cloned().unwrap_or_default();
            let r = Record::Group {
                external_id: reference,
                space,
                name: g.name,
                description: g.description,
                parent: g.parent_id.and_then(|p| group_ref.get(&p).map(|(r, _)| r.clone())),
                visibility: Some(g.visibility.as_str().to_string()),
                permissions: (!g.permissions.is_empty()).then_some(g.permissions),
            };
            each(r).map_err(fail)?;
            count += 1;
        }
        for (group_id, _, name, permissions, description) in cohort_store::transfer::roles(&c).await? {
            let Some((group, space)) = group_ref.get(&group_id).cloned() else { continue };
            each(Record::Role { group, space, name, permissions, description }).map_err(fail)?;
            count += 1;
        }
        let mut after = (String::new(), String::new());
        loop {
            let page = cohort_store::transfer::memberships_after(&c, (&after.0, &after.1)).await?;
            let Some(last) = page.last() else { break };
            after = (last.0.clone(), last.1.clone());
            for (group_id, user_id, role, _status) in page {
                let (Some((group, space)), Some(user)) = (group_ref.get(&group_id).cloned(), user_ref.get(&user_id).cloned()) else {
                    continue;
                };
                each(Record::Membership { group, space, user, role: (role != "member").then_some(role) }).map_err(fail)?;
                count += 1;
            }
        }
        for (user_id, collection, space, read_only, _hide, manage) in cohort_store::transfer::direct_grants(&c).await? {
            let Some(user) = user_ref.get(&user_id).cloned() else { continue };
            let access = if manage {
                "manage"
            } else if read_only {
                "read"
            } else {
                "edit"
            };
            each(Record::Grant { user, collection, access: Some(access.into()), space }).map_err(fail)?;
            count += 1;
        }
        Ok(count)
    }
}
