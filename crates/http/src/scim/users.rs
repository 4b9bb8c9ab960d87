//! `/scim/v2/Users`: Cohort's users in SCIM's shape.
//!
//! Cohort keeps one full name, one email and one photo per user: `name.formatted` and
//! `displayName` are the full name, `name.givenName` its first word and `name.familyName`
//! the rest; `emails` has at most one element (`type: work`, `primary: true`). Attributes
//! Cohort does not keep (titles, phone numbers, the enterprise extension) are accepted and
//! dropped, as identity providers send them whatever the schema says.

use super::kept::Kept;
use super::{
    ENTERPRISE_SCHEMA, OpKind, PatchOp, Projection, Scim, ScimError, ScimJson, ScimResult, USER_SCHEMA, boolean, get_ci, list_response,
    meta, no_content, opt_string, own_schema, patch_ops, projection_of, resource, value_object,
};
use crate::extract::{IfMatch, Path};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use cohort_app::App;
use cohort_app::users::{NewUser, UserPatch};
use cohort_core::Error;
use cohort_core::model::User;
use cohort_core::scim_filter::PatchPath;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The first word of a full name, and the rest.
fn split_name(full: &str) -> (String, Option<String>) {
    match full.trim().split_once(' ') {
        Some((given, family)) => (given.to_string(), Some(family.trim().to_string()).filter(|f| !f.is_empty())),
        None => (full.trim().to_string(), None),
    }
}

/// Trimmed, runs of whitespace as one space; `None` when nothing is left.
fn normalise(s: &str) -> Option<String> {
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

fn join(given: Option<&str>, family: Option<&str>) -> Option<String> {
    normalise(&format!("{} {}", given.unwrap_or(""), family.unwrap_or("")))
}

/// A user as SCIM shows it; `groups` are the caller's space's groups they belong to, `kept`
/// what SCIM wrote beyond the columns that still agrees with them.
pub fn user_json(u: &User, groups: Option<&[(String, String)]>, base: &str, kept: &Kept) -> Value {
    let location = format!("{base}/Users/{}", u.id);
    let mut v = json!({
        "schemas": [USER_SCHEMA],
        "id": u.id,
        "userName": u.username,
        "active": u.active,
    });
    if let Some(e) = &u.external_id {
        v["externalId"] = json!(e);
    }
    if let Some(full) = u.full_name.as_deref().filter(|f| !f.trim().is_empty()) {
        let (given, family) = split_name(full);
        let mut name = json!({"formatted": full, "givenName": given});
        if let Some(f) = family {
            name["familyName"] = json!(f);
        }
        v["name"] = name;
        v["displayName"] = json!(full);
    }
    if let Some(e) = &u.email {
        v["emails"] = json!([{"value": e, "type": "work", "primary": true}]);
    }
    if let Some(p) = &u.avatar_url {
        v["photos"] = json!([{"value": p, "type": "photo", "primary": true}]);
    }
    if let Some(gs) = groups {
        v["groups"] = gs
            .iter()
            .map(|(id, name)| json!({"value": id, "$ref": format!("{base}/Groups/{id}"), "display": name, "type": "direct"}))
            .collect();
    }
    kept.show(&mut v);
    v["meta"] = meta("User", u.created_at, u.updated_at, u.version, &location);
    v
}

/// The user's fields as SCIM writes them: a whole resource (POST, PUT) or the current user
/// that PATCH operations change.
#[derive(Debug, Clone, Default)]
struct Draft {
    user_name: Option<String>,
    external_id: Option<String>,
    /// `name.formatted` (or `displayName`); the full name unless the parts changed since.
    formatted: Option<String>,
    given: Option<String>,
    family: Option<String>,
    parts_changed: bool,
    email: Option<String>,
    photo: Option<String>,
    active: Option<bool>,
    password: Option<String>,
    /// What SCIM wrote beyond the columns, changed alongside them.
    kept: Kept,
}

impl Draft {
    fn of(u: &User, kept: Kept) -> Self {
        let mut d = Draft {
            user_name: Some(u.username.clone()),
            external_id: u.external_id.clone(),
            email: u.email.clone(),
            photo: u.avatar_url.clone(),
            kept,
            ..Draft::default()
        };
        d.set_formatted(u.full_name.clone());
        // The parts as the directory wrote them, rather than the full name's first word and
        // the rest, while they are kept.
        if let Some((given, family)) = d.kept.name_parts() {
            if let Some(g) = given {
                d.given = normalise(&g);
            }
            if let Some(f) = family {
                d.family = normalise(&f);
            }
        }
        d
    }

    fn full_name(&self) -> Option<String> {
        if self.parts_changed { join(self.given.as_deref(), self.family.as_deref()) } else { self.formatted.clone() }
    }

    fn set_formatted(&mut self, v: Option<String>) {
        self.formatted = v.as_deref().and_then(normalise);
        let (given, family) = match &self.formatted {
            Some(f) => {
                let (g, f) = split_name(f);
                (Some(g), f)
            }
            None => (None, None),
        };
        self.given = given;
        self.family = family;
        self.parts_changed = false;
    }

    /// Sets the parts present in a `name` object (`formatted` wins over the parts).
    fn set_name(&mut self, name: &Value) -> ScimResult<()> {
        if !name.is_object() {
            return Err(ScimError::invalid_value("name must be an object"));
        }
        if let Some(f) = get_ci(name, "formatted").filter(|f| !f.is_null()) {
            self.set_formatted(opt_string("name.formatted", Some(f))?);
            return Ok(());
        }
        if let Some(g) = get_ci(name, "givenName") {
            self.given = opt_string("name.givenName", Some(g))?.as_deref().and_then(normalise);
            self.parts_changed = true;
        }
        if let Some(f) = get_ci(name, "familyName") {
            self.family = opt_string("name.familyName", Some(f))?.as_deref().and_then(normalise);
            self.parts_changed = true;
        }
        Ok(())
    }

    /// After a change to the name's parts, the kept name's full form is the one the columns
    /// will hold (Cohort keeps one full name, made of the parts once they change).
    fn name_parts_kept(&mut self) {
        if self.parts_changed {
            self.kept.set_formatted(self.full_name().as_deref());
        }
    }

    /// A whole resource (POST, PUT): everything it carries, defaults for the rest.
    fn from_resource(v: &Value) -> ScimResult<Self> {
        let mut d = Draft::default();
        match get_ci(v, "userName") {
            Some(Value::String(s)) => d.user_name = Some(s.clone()),
            Some(other) if !other.is_null() => return Err(ScimError::invalid_value("userName must be a string")),
            _ => return Err(ScimError::invalid_value("userName is required")),
        }
        d.external_id = opt_string("externalId", get_ci(v, "externalId"))?;
        d.set_formatted(opt_string("displayName", get_ci(v, "displayName"))?);
        if let Some(name) = get_ci(v, "name").filter(|n| !n.is_null()) {
            d.set_name(name)?;
        }
        if let Some(e) = get_ci(v, "emails").filter(|e| !e.is_null()) {
            d.email = pick("emails", e, "work")?;
        }
        if let Some(p) = get_ci(v, "photos").filter(|p| !p.is_null()) {
            d.photo = pick("photos", p, "photo")?;
        }
        if let Some(a) = get_ci(v, "active").filter(|a| !a.is_null()) {
            d.active = Some(boolean("active", a)?);
        }
        d.password = opt_string("password", get_ci(v, "password"))?;
        d.kept = Kept::from_resource(v);
        Ok(d)
    }

    /// Applies one PATCH operation.
    fn apply(&mut self, op: &PatchOp, id: &str) -> ScimResult<()> {
        match &op.path {
            Some(path) => self.apply_path(op.op, path, op.value.as_ref()),
            None => {
                let obj = value_object(op.value.as_ref().unwrap_or(&Value::Null))?;
                for (k, v) in obj {
                    if k.eq_ignore_ascii_case("id") {
                        if v.as_str() != Some(id) {
                            return Err(ScimError::mutability("id cannot be changed"));
                        }
                        continue;
                    }
                    if k.eq_ignore_ascii_case("schemas") || k.eq_ignore_ascii_case("meta") {
                        continue;
                    }
                    // Keys may be paths (`name.givenName`) or schema URNs (ignored).
                    let Ok(path) = cohort_core::scim_filter::parse_path(k) else {
                        continue;
                    };
                    self.apply_path(op.op, &path, Some(v))?;
                }
                Ok(())
            }
        }
    }

    fn apply_path(&mut self, op: OpKind, path: &PatchPath, value: Option<&Value>) -> ScimResult<()> {
        // The enterprise extension, whole (`urn:…:enterprise:2.0:User`, which reads as the
        // attribute `User` of the schema before it) or by attribute (`urn:…:User:department`).
        let whole = path.urn.as_deref().map(|u| format!("{u}:{}", path.attr));
        if whole.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)) {
            self.kept.patch_enterprise(op, None, None, value);
            return Ok(());
        }
        if path.urn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)) {
            self.kept.patch_enterprise(op, Some(&path.attr), path.sub.as_deref(), value);
            return Ok(());
        }
        if !own_schema(path.urn.as_deref(), USER_SCHEMA) {
            return Ok(());
        }
        let remove = op == OpKind::Remove;
        let attr = path.attr_key();
        let sub = path.sub_key();
        if path.filter.is_some() && attr != "emails" && attr != "photos" {
            return if matches!(attr.as_str(), "id" | "meta" | "groups") {
                Err(ScimError::mutability(format!("{} is read-only", path.attr)))
            } else {
                Ok(())
            };
        }
        match (attr.as_str(), sub.as_deref()) {
            ("id" | "meta" | "groups", _) => Err(ScimError::mutability(format!("{} is read-only", path.attr))),
            ("username", None) => {
                if remove {
                    return Err(ScimError::invalid_value("userName is required and cannot be removed"));
                }
                match value {
                    Some(Value::String(s)) => {
                        self.user_name = Some(s.clone());
                        Ok(())
                    }
                    _ => Err(ScimError::invalid_value("userName must be a string")),
                }
            }
            ("externalid", None) => {
                self.external_id = if remove { None } else { opt_string("externalId", value)? };
                Ok(())
            }
            ("displayname", None) | ("name", Some("formatted")) => {
                self.set_formatted(if remove { None } else { opt_string("displayName", value)? });
                self.kept.set_formatted(self.formatted.as_deref());
                Ok(())
            }
            ("name", None) => {
                let before = self.full_name();
                match (remove, value) {
                    (true, _) => self.set_formatted(None),
                    (false, Some(v)) => self.set_name(v)?,
                    (false, None) => {}
                }
                self.kept.patch_name(op, None, value, before.as_deref());
                self.name_parts_kept();
                Ok(())
            }
            ("name", Some(part @ ("givenname" | "familyname"))) => {
                let before = self.full_name();
                let v = if remove {
                    None
                } else {
                    opt_string(&format!("name.{}", path.sub.as_deref().unwrap_or(part)), value)?.as_deref().and_then(normalise)
                };
                if part == "givenname" {
                    self.given = v;
                } else {
                    self.family = v;
                }
                self.parts_changed = true;
                self.kept.patch_name(op, path.sub.as_deref(), value, before.as_deref());
                self.name_parts_kept();
                Ok(())
            }
            ("active", None) => {
                // Removed, the user stays as they are and SCIM shows `active` unassigned.
                if remove {
                    self.kept.remove_active();
                    return Ok(());
                }
                self.active = Some(boolean("active", value.unwrap_or(&Value::Null))?);
                self.kept.set_active();
                Ok(())
            }
            ("password", None) => {
                if !remove {
                    self.password = opt_string("password", value)?;
                }
                Ok(())
            }
            // `multi` refuses what the operation cannot mean (a value that is no string, a
            // replace whose filter matches nothing); the column is then the element the kept
            // list chooses, so the two agree.
            ("emails", _) => {
                multi(op, path, value, self.email.clone(), "emails", "work")?;
                self.email = self.kept.patch_list("emails", "work", self.email.as_deref(), op, path, value)?;
                Ok(())
            }
            ("photos", _) => {
                multi(op, path, value, self.photo.clone(), "photos", "photo")?;
                self.photo = self.kept.patch_list("photos", "photo", self.photo.as_deref(), op, path, value)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The one value Cohort keeps of a multi-valued attribute (`emails`, `photos`): the
/// primary element, else the one of type `kind`, else the first.
fn pick(name: &str, v: &Value, kind: &str) -> ScimResult<Option<String>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        Value::Null => vec![],
        _ => return Err(ScimError::invalid_value(format!("{name} must be a list of {{value, type, primary}}"))),
    };
    let primary = |e: &&Value| get_ci(e, "primary").and_then(|p| boolean("primary", p).ok()).unwrap_or(false);
    let typed = |e: &&Value| get_ci(e, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind));
    let chosen = items.iter().copied().find(primary).or_else(|| items.iter().copied().find(typed)).or_else(|| items.first().copied());
    match chosen {
        None => Ok(None),
        Some(e) if e.is_object() => opt_string(&format!("{name}.value"), get_ci(e, "value")),
        Some(_) => Err(ScimError::invalid_value(format!("each of {name} must be an object with a value"))),
    }
}

/// A PATCH of `emails`/`photos` (with or without a value filter) against one kept value: the
/// checks an operation must pass (see `Draft::apply_path`), and the value that would be kept.
fn multi(
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    current: Option<String>,
    name: &str,
    kind: &str,
) -> ScimResult<Option<String>> {
    let element = |v: &str| json!({"value": v, "type": kind, "primary": true});
    let sub = path.sub_key();
    if sub.as_deref().is_some_and(|s| s != "value") {
        // `type`, `primary`, `display`: Cohort's single element has fixed ones.
        return Ok(current);
    }
    let new_value = |v: Option<&Value>| -> ScimResult<Option<String>> {
        match (sub.as_deref(), v) {
            (Some(_), v) => opt_string(&format!("{name}.value"), v),
            (None, Some(v)) => pick(name, v, kind),
            (None, None) => Ok(None),
        }
    };
    let Some(filter) = &path.filter else {
        return match op {
            OpKind::Remove => Ok(None),
            OpKind::Replace => new_value(value),
            // Adding to a list Cohort keeps one of: the new one wins when it is primary or
            // of the kept kind, or when there is none yet.
            OpKind::Add => match value {
                Some(v) if sub.is_none() => {
                    let picked = pick(name, v, kind)?;
                    Ok(if current.is_none() || primary_or_kind(v, kind) { picked.or(current) } else { current })
                }
                v => Ok(new_value(v)?.or(current)),
            },
        };
    };
    let matches_current = current.as_deref().is_some_and(|c| filter.matches(&element(c)));
    match op {
        OpKind::Remove => Ok(if matches_current { None } else { current }),
        OpKind::Add | OpKind::Replace => {
            let Some(new) = new_value(value)? else {
                return Ok(if matches_current { None } else { current });
            };
            if matches_current || filter.matches(&element(&new)) {
                Ok(Some(new))
            } else if op == OpKind::Add {
                Ok(current)
            } else {
                Err(ScimError::no_target(format!("no element of {name} matches the path's filter")))
            }
        }
    }
}

fn primary_or_kind(v: &Value, kind: &str) -> bool {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items.iter().any(|e| {
        get_ci(e, "primary").and_then(|p| boolean("primary", p).ok()).unwrap_or(false)
            || get_ci(e, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

/// What changed between the user (with the document SCIM keeps of them) and the draft.
fn patch_of(u: &User, stored: Option<&Value>, d: Draft) -> UserPatch {
    let document = d.kept.document();
    let scim_document = (document.as_ref() != stored).then_some(document);
    let changed = |old: &Option<String>, new: Option<String>| if *old == new { None } else { Some(new) };
    UserPatch {
        username: d.user_name.clone().filter(|n| *n != u.username),
        email: changed(&u.email, d.email.clone()),
        full_name: changed(&u.full_name, d.full_name()),
        avatar_url: changed(&u.avatar_url, d.photo.clone()),
        password: d.password.clone(),
        site_role: None,
        external_id: changed(&u.external_id, d.external_id.clone()),
        active: d.active,
        email_verified: None,
        current_password: None,
        scim_document,
    }
}

pub(super) async fn render(app: &App, s: &Scim, users: &[User], projection: &Projection) -> ScimResult<Vec<Value>> {
    let mut groups: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let with_groups = projection.wants("groups");
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    if with_groups && !users.is_empty() {
        for (user, group, name) in app.scim_user_groups(&s.caller, &ids).await? {
            groups.entry(user).or_default().push((group, name));
        }
    }
    let docs = if users.is_empty() { HashMap::new() } else { app.scim_user_documents(&ids).await? };
    Ok(users
        .iter()
        .map(|u| {
            let gs = with_groups.then(|| groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]));
            projection.apply(user_json(u, gs, &s.base, &Kept::stored(docs.get(&u.id)).agreeing(u)))
        })
        .collect())
}

async fn one(app: &App, s: &Scim, u: &User, status: StatusCode, projection: &Projection) -> ScimResult<Response> {
    let body = render(app, s, std::slice::from_ref(u), projection).await?.pop().unwrap_or(Value::Null);
    let location = format!("{}/Users/{}", s.base, u.id);
    Ok(resource(status, u.version, (status == StatusCode::CREATED).then_some(location.as_str()), body))
}

/// `GET /Me` (RFC 7644 §3.11): the user the credential belongs to (their session or one of
/// their keys), with every group they are a member of. A credential that is no user's is 403.
pub async fn me(State(app): State<App>, who: super::Subject, uri: Uri) -> ScimResult {
    let (u, groups) = app.scim_me(&who.principal).await?;
    let docs = app.scim_user_documents(std::slice::from_ref(&u.id)).await?;
    let kept = Kept::stored(docs.get(&u.id)).agreeing(&u);
    let body = projection_of(uri.query())?.apply(user_json(&u, Some(&groups), &who.base, &kept));
    Ok(resource(StatusCode::OK, u.version, None, body))
}

pub async fn list(State(app): State<App>, s: Scim, uri: Uri) -> ScimResult {
    answer(&app, &s, super::ListQuery::from_uri(uri.query())?).await
}

/// `POST …/.search`: a list asked in a body.
pub async fn search(State(app): State<App>, s: Scim, ScimJson(body): ScimJson) -> ScimResult {
    answer(&app, &s, super::ListQuery::from_search(&body)?).await
}

async fn answer(app: &App, s: &Scim, q: super::ListQuery) -> ScimResult {
    let (total, users) = app.scim_users(&s.caller, q.filter.as_ref(), q.sort.as_ref(), q.start, q.count).await?;
    let resources = render(app, s, &users, &q.projection).await?;
    Ok(list_response(total, q.start, resources))
}

pub async fn get(State(app): State<App>, s: Scim, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> ScimResult {
    let u = app.scim_get_user(&s.caller, &id).await?;
    if let Some(res) = super::not_modified(&headers, u.version) {
        return Ok(res);
    }
    one(&app, &s, &u, StatusCode::OK, &projection_of(uri.query())?).await
}

pub async fn create(State(app): State<App>, s: Scim, uri: Uri, ScimJson(body): ScimJson) -> ScimResult {
    let d = Draft::from_resource(&body)?;
    let new = NewUser {
        username: d.user_name.clone().unwrap_or_default(),
        email: d.email.clone(),
        full_name: d.full_name(),
        avatar_url: d.photo.clone(),
        password: d.password.clone(),
        site_role: None,
        external_id: d.external_id.clone(),
        active: d.active,
        scim_document: d.kept.document(),
        ..NewUser::default()
    };
    let u = app.scim_create_user(&s.caller, new).await?;
    one(&app, &s, &u, StatusCode::CREATED, &projection_of(uri.query())?).await
}

pub async fn replace(
    State(app): State<App>,
    s: Scim,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    uri: Uri,
    ScimJson(body): ScimJson,
) -> ScimResult {
    let current = app.scim_get_user(&s.caller, &id).await?;
    if get_ci(&body, "id").and_then(Value::as_str).is_some_and(|b| b != id) {
        return Err(ScimError::mutability("id cannot be changed"));
    }
    let d = Draft::from_resource(&body)?;
    let stored = app.scim_user_documents(std::slice::from_ref(&id)).await?.remove(&id);
    let u = app.scim_update_user(&s.caller, &id, patch_of(&current, stored.as_ref(), d), if_match).await?;
    one(&app, &s, &u, StatusCode::OK, &projection_of(uri.query())?).await
}

pub async fn patch(
    State(app): State<App>,
    s: Scim,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    uri: Uri,
    ScimJson(body): ScimJson,
) -> ScimResult {
    let ops = patch_ops(&body)?;
    let mut attempt = 0;
    loop {
        let current = app.scim_get_user(&s.caller, &id).await?;
        let stored = app.scim_user_documents(std::slice::from_ref(&id)).await?.remove(&id);
        let mut d = Draft::of(&current, Kept::stored(stored.as_ref()).agreeing(&current));
        for op in &ops {
            d.apply(op, &id)?;
        }
        // The operations apply to the user as read; a change in between is retried unless
        // the caller pinned a version with If-Match (every change, the kept document's too,
        // moves the version).
        match app.scim_update_user(&s.caller, &id, patch_of(&current, stored.as_ref(), d), if_match.or(Some(current.version))).await {
            Err(Error::PreconditionFailed { .. }) if if_match.is_none() && attempt < 3 => attempt += 1,
            r => return one(&app, &s, &r?, StatusCode::OK, &projection_of(uri.query())?).await,
        }
    }
}

pub async fn delete(State(app): State<App>, s: Scim, Path(id): Path<String>, IfMatch(if_match): IfMatch) -> ScimResult {
    if let Some(v) = if_match {
        let u = app.scim_get_user(&s.caller, &id).await?;
        cohort_app::check_version(Some(v), u.version)?;
    }
    app.scim_delete_user(&s.caller, &id).await?;
    Ok(no_content())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_join() {
        assert_eq!(split_name("Barbara Jensen"), ("Barbara".into(), Some("Jensen".into())));
        assert_eq!(split_name("Juan de la Cruz"), ("Juan".into(), Some("de la Cruz".into())));
        assert_eq!(split_name("Cher"), ("Cher".into(), None));
        assert_eq!(join(Some(" Mary  Ann "), Some("Smith")), Some("Mary Ann Smith".into()));
        assert_eq!(join(None, None), None);
    }

    #[test]
    fn sequential_name_parts_keep_a_two_word_given_name() {
        let mut d = Draft::default();
        d.set_formatted(Some("Mary Ann Smith".into()));
        d.given = Some("Mary Ann".into());
        d.parts_changed = true;
        d.family = Some("Smyth".into());
        assert_eq!(d.full_name().as_deref(), Some("Mary Ann Smyth"));
    }
}
