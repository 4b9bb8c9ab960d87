//! `/scim/v2/Groups`: the groups of the key's space in SCIM's shape. `members` lists every
//! membership (a suspended one too: the directory still has the person in the group).

use super::{
    GROUP_SCHEMA, OpKind, PatchOp, Projection, Scim, ScimError, ScimJson, ScimResult, get_ci, list_response, meta, no_content, opt_string,
    own_schema, patch_ops, projection_of, resource, value_object,
};
use crate::extract::{IfMatch, Path};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use cohort_app::App;
use cohort_app::scim::{GroupChange, MemberOp, ScimMember};
use cohort_core::model::Group;
use cohort_core::model::MemberRef;
use cohort_core::scim_filter::{CompValue, CompareOp, Filter};
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn group_json(g: &Group, members: Option<&[MemberRef]>, base: &str) -> Value {
    let location = format!("{base}/Groups/{}", g.id);
    let mut v = json!({"schemas": [GROUP_SCHEMA], "id": g.id, "displayName": g.name});
    if let Some(e) = &g.external_id {
        v["externalId"] = json!(e);
    }
    if let Some(ms) = members {
        v["members"] = ms.iter().map(|m| member_json(m, base)).collect();
    }
    v["meta"] = meta("Group", g.created_at, g.updated_at, g.version, &location);
    v
}

/// A member as SCIM shows it: `type` and `display` as the directory wrote them (`User` and
/// none when it wrote none).
fn member_json(m: &MemberRef, base: &str) -> Value {
    let mut v = json!({
        "value": m.user_id,
        "$ref": format!("{base}/Users/{}", m.user_id),
        "type": m.kind.as_deref().unwrap_or("User"),
    });
    if let Some(d) = &m.display {
        v["display"] = json!(d);
    }
    v
}

pub(super) async fn render(app: &App, s: &Scim, groups: &[Group], projection: &Projection) -> ScimResult<Vec<Value>> {
    let with_members = projection.wants("members");
    let mut members: HashMap<String, Vec<MemberRef>> = HashMap::new();
    if with_members && !groups.is_empty() {
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        for m in app.scim_group_members(&s.caller, &ids).await? {
            members.entry(m.group_id.clone()).or_default().push(m);
        }
    }
    Ok(groups
        .iter()
        .map(|g| {
            let ms = with_members.then(|| members.get(&g.id).map(Vec::as_slice).unwrap_or(&[]));
            projection.apply(group_json(g, ms, &s.base))
        })
        .collect())
}

async fn one(app: &App, s: &Scim, g: &Group, status: StatusCode, projection: &Projection) -> ScimResult {
    let body = render(app, s, std::slice::from_ref(g), projection).await?.pop().unwrap_or(Value::Null);
    let location = format!("{}/Groups/{}", s.base, g.id);
    Ok(resource(status, g.version, (status == StatusCode::CREATED).then_some(location.as_str()), body))
}

/// The members of a `members` value as written: `[{"value": "usr_…", "type": "User",
/// "display": "…"}]` (bare strings are taken too, as ids).
fn members_written(v: &Value) -> ScimResult<Vec<ScimMember>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(ScimError::invalid_value("members must be a list of {\"value\": user id}")),
    };
    items
        .into_iter()
        .map(|m| match m {
            Value::String(s) => Ok(ScimMember::id(s.clone())),
            Value::Object(_) => match get_ci(m, "value") {
                Some(Value::String(s)) => Ok(ScimMember {
                    user_id: s.clone(),
                    kind: opt_string("members.type", get_ci(m, "type"))?,
                    display: opt_string("members.display", get_ci(m, "display"))?,
                }),
                _ => Err(ScimError::invalid_value("each member needs a value: the user's id")),
            },
            _ => Err(ScimError::invalid_value("each member must be an object {\"value\": user id}")),
        })
        .collect()
}

/// The user ids of a `members` value.
fn member_ids(v: &Value) -> ScimResult<Vec<String>> {
    Ok(members_written(v)?.into_iter().map(|m| m.user_id).collect())
}

/// `displayName`, `externalId` and `members` of a whole resource (POST, PUT); `members` is
/// `None` when the body leaves it out.
fn from_resource(v: &Value) -> ScimResult<(String, Option<String>, Option<Vec<ScimMember>>)> {
    let name = match get_ci(v, "displayName") {
        Some(Value::String(s)) => s.clone(),
        Some(other) if !other.is_null() => return Err(ScimError::invalid_value("displayName must be a string")),
        _ => return Err(ScimError::invalid_value("displayName is required")),
    };
    let external_id = opt_string("externalId", get_ci(v, "externalId"))?;
    let members = match get_ci(v, "members") {
        None => None,
        Some(Value::Null) => Some(vec![]),
        Some(m) => Some(members_written(m)?),
    };
    Ok((name, external_id, members))
}

/// The ids a member filter names when it is `value eq "…"` joined by `or`.
fn named_ids(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(s)) if p.urn.is_none() && p.key() == "value" => Some(vec![s.clone()]),
        Filter::Or(a, b) => {
            let mut ids = named_ids(a)?;
            ids.extend(named_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

/// Turns PATCH operations into one change; `members[filter]` beyond `value eq` is matched
/// against the current members.
async fn change_of(app: &App, s: &Scim, id: &str, ops: &[PatchOp]) -> ScimResult<GroupChange> {
    let mut change = GroupChange::default();
    let mut current: Option<Vec<MemberRef>> = None;
    for op in ops {
        let Some(path) = &op.path else {
            let obj = value_object(op.value.as_ref().unwrap_or(&Value::Null))?;
            for (k, v) in obj {
                match k.to_lowercase().as_str() {
                    "id" if v.as_str() != Some(id) => return Err(ScimError::mutability("id cannot be changed")),
                    "displayname" => change.name = Some(display_name(Some(v))?),
                    "externalid" => change.external_id = Some(opt_string("externalId", Some(v))?),
                    "members" => change.members.push(match op.op {
                        OpKind::Replace => MemberOp::Replace(members_written(v)?),
                        _ => MemberOp::Add(members_written(v)?),
                    }),
                    _ => {}
                }
            }
            continue;
        };
        if !own_schema(path.urn.as_deref(), GROUP_SCHEMA) {
            continue;
        }
        let remove = op.op == OpKind::Remove;
        match path.attr_key().as_str() {
            "id" | "meta" => return Err(ScimError::mutability(format!("{} is read-only", path.attr))),
            "displayname" if path.filter.is_none() && path.sub.is_none() => {
                if remove {
                    return Err(ScimError::invalid_value("displayName is required and cannot be removed"));
                }
                change.name = Some(display_name(op.value.as_ref())?);
            }
            "externalid" if path.filter.is_none() && path.sub.is_none() => {
                change.external_id = Some(if remove { None } else { opt_string("externalId", op.value.as_ref())? });
            }
            "members" => match (&path.filter, &path.sub, op.op) {
                (None, None, OpKind::Add) => {
                    change.members.push(MemberOp::Add(members_written(op.value.as_ref().unwrap_or(&Value::Null))?))
                }
                (None, None, OpKind::Replace) => {
                    change.members.push(MemberOp::Replace(members_written(op.value.as_ref().unwrap_or(&Value::Null))?))
                }
                (None, None, OpKind::Remove) => change.members.push(match &op.value {
                    Some(v) => MemberOp::Remove(member_ids(v)?),
                    None => MemberOp::RemoveAll,
                }),
                (Some(filter), None, OpKind::Remove) => {
                    let ids = match named_ids(filter) {
                        Some(ids) => ids,
                        None => {
                            if current.is_none() {
                                current = Some(app.scim_group_members(&s.caller, &[id.to_string()]).await?);
                            }
                            current
                                .iter()
                                .flatten()
                                .filter(|m| filter.matches(&member_json(m, &s.base)))
                                .map(|m| m.user_id.clone())
                                .collect()
                        }
                    };
                    change.members.push(MemberOp::Remove(ids));
                }
                _ => {
                    return Err(ScimError::invalid_path(
                        "members[filter] selects members to remove; add or replace members through the path members",
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(change)
}

fn display_name(v: Option<&Value>) -> ScimResult<String> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ScimError::invalid_value("displayName must be a string")),
    }
}

pub async fn list(State(app): State<App>, s: Scim, uri: Uri) -> ScimResult {
    answer(&app, &s, super::ListQuery::from_uri(uri.query())?).await
}

/// `POST …/.search`: a list asked in a body.
pub async fn search(State(app): State<App>, s: Scim, ScimJson(body): ScimJson) -> ScimResult {
    answer(&app, &s, super::ListQuery::from_search(&body)?).await
}

async fn answer(app: &App, s: &Scim, q: super::ListQuery) -> ScimResult {
    let (total, groups) = app.scim_groups(&s.caller, q.filter.as_ref(), q.sort.as_ref(), q.start, q.count).await?;
    let resources = render(app, s, &groups, &q.projection).await?;
    Ok(list_response(total, q.start, resources))
}

pub async fn get(State(app): State<App>, s: Scim, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> ScimResult {
    let g = app.scim_get_group(&s.caller, &id).await?;
    if let Some(res) = super::not_modified(&headers, g.version) {
        return Ok(res);
    }
    one(&app, &s, &g, StatusCode::OK, &projection_of(uri.query())?).await
}

pub async fn create(State(app): State<App>, s: Scim, uri: Uri, ScimJson(body): ScimJson) -> ScimResult {
    let (name, external_id, members) = from_resource(&body)?;
    let g = app.scim_create_group(&s.caller, name, external_id, members.unwrap_or_default()).await?;
    let g = app.scim_get_group(&s.caller, &g.id).await?;
    one(&app, &s, &g, StatusCode::CREATED, &projection_of(uri.query())?).await
}

pub async fn replace(
    State(app): State<App>,
    s: Scim,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    uri: Uri,
    ScimJson(body): ScimJson,
) -> ScimResult {
    if get_ci(&body, "id").and_then(Value::as_str).is_some_and(|b| b != id) {
        return Err(ScimError::mutability("id cannot be changed"));
    }
    let (name, external_id, members) = from_resource(&body)?;
    // A PUT that leaves `members` out keeps them: providers that PUT only the name must not
    // empty the group. `"members": []` does.
    let change =
        GroupChange { name: Some(name), external_id: Some(external_id), members: members.map(MemberOp::Replace).into_iter().collect() };
    let g = app.scim_change_group(&s.caller, &id, change, if_match).await?;
    one(&app, &s, &g, StatusCode::OK, &projection_of(uri.query())?).await
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
    app.scim_get_group(&s.caller, &id).await?;
    let change = change_of(&app, &s, &id, &ops).await?;
    let g = app.scim_change_group(&s.caller, &id, change, if_match).await?;
    one(&app, &s, &g, StatusCode::OK, &projection_of(uri.query())?).await
}

pub async fn delete(State(app): State<App>, s: Scim, Path(id): Path<String>, IfMatch(if_match): IfMatch) -> ScimResult {
    app.scim_delete_group(&s.caller, &id, if_match).await?;
    Ok(no_content())
}
