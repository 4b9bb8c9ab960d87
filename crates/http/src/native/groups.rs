//! `/groups`: create, read, list, change, replace, delete, bulk delete.

use super::filters::FilterMetadata;
use super::members::MemberOut;
use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged, nullable, ts};
use super::spaces::SpaceOut;
use super::users::UserOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::expand::{Expanded, Relation};
use cohort_app::groups::{Deleted, GroupFilter};
use cohort_core::group::{GroupInput, GroupPatch};
use cohort_core::model::{CollectionGrant, Group, GroupType, Visibility};
use cohort_core::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(bulk_delete))
        .routes(routes!(filters))
        .routes(routes!(get, patch, put, delete))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub allow_join_requests: bool,
    pub require_approval: bool,
    /// At least 1, or null for no limit.
    pub max_members: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    #[schema(min_length = 1, max_length = 300)]
    pub id: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub hide_passwords: bool,
    #[serde(default)]
    pub manage: bool,
}

impl From<Collection> for CollectionGrant {
    fn from(c: Collection) -> Self {
        CollectionGrant { id: c.id, read_only: c.read_only, hide_passwords: c.hide_passwords, manage: c.manage }
    }
}

/// A group as the native API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: String,
    pub group_id: String,
    /// The space's id.
    pub space: String,
    pub space_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = schema::GroupType)]
    pub group_type: String,
    #[schema(value_type = schema::Visibility)]
    pub visibility: String,
    pub is_public: bool,
    pub external_id: Option<String>,
    pub access_all: bool,
    pub settings: Settings,
    pub permissions: Vec<String>,
    pub collections: Vec<Collection>,
    pub inherit_permissions: bool,
    pub inherit_members: bool,
    /// Active direct members.
    pub member_count: i64,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
    pub updated_by: Option<String>,
    pub version: i64,
    /// The scope sets attached to the group (`PUT /groups/{id}/scope-sets/{set_id}`): its
    /// effective members hold their scopes on the scoped admin API.
    pub scope_sets: Vec<String>,
    /// Related records asked for with `expand` (`users`, `members`, `parent`, `space`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub expand: Option<serde_json::Value>,
}

impl From<Group> for GroupOut {
    fn from(g: Group) -> Self {
        GroupOut {
            group_id: g.id.clone(),
            id: g.id,
            space: g.space_id.clone(),
            space_id: g.space_id,
            parent_id: g.parent_id,
            name: g.name,
            description: g.description,
            group_type: g.group_type.as_str().into(),
            visibility: g.visibility.as_str().into(),
            is_public: g.visibility == Visibility::Public,
            external_id: g.external_id,
            access_all: g.access_all,
            settings: Settings {
                allow_join_requests: g.settings.allow_join_requests,
                require_approval: g.settings.require_approval,
                max_members: g.settings.max_members,
            },
            permissions: g.permissions,
            collections: g
                .collections
                .into_iter()
                .map(|c| Collection { id: c.id, read_only: c.read_only, hide_passwords: c.hide_passwords, manage: c.manage })
                .collect(),
            inherit_permissions: g.inherit_permissions,
            inherit_members: g.inherit_members,
            member_count: g.member_count,
            created_at: ts(g.created_at),
            created_by: g.created_by,
            updated_at: ts(g.updated_at),
            updated_by: g.updated_by,
            version: g.version,
            scope_sets: g.scope_sets,
            expand: None,
        }
    }
}

/// `expand` and its aliases `expands` and `hydrate=true` (which expands `users`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandParams {
    /// Comma list of `users`, `members`, `parent`, `space`.
    pub expand: Option<String>,
    pub expands: Option<String>,
    pub hydrate: Option<bool>,
}

impl ExpandParams {
    pub fn relations(&self) -> Result<Vec<Relation>> {
        let mut rels = cohort_app::expand::parse(self.expand.as_deref().or(self.expands.as_deref()).unwrap_or(""))?;
        if self.hydrate == Some(true) && !rels.contains(&Relation::Users) {
            rels.push(Relation::Users);
        }
        Ok(rels)
    }
}

/// Renders groups with what was expanded for them.
pub async fn with_expansions(app: &App, p: &cohort_core::auth::Principal, groups: Vec<Group>, rels: &[Relation]) -> Result<Vec<GroupOut>> {
    if rels.is_empty() {
        return Ok(groups.into_iter().map(GroupOut::from).collect());
    }
    let mut expanded = app.expand_groups(p, &groups, rels).await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let e = expanded.remove(&g.id);
            let mut out = GroupOut::from(g);
            if let Some(e) = e.filter(|_| !rels.is_empty()) {
                out.expand = Some(expansion_json(e, p));
            }
            out
        })
        .collect())
}

fn expansion_json(e: Expanded, p: &cohort_core::auth::Principal) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    if let Some(users) = e.users {
        let list: Vec<UserOut> = users.into_iter().map(|m| UserOut::shown_to(m.user, p)).collect();
        obj.insert("users".into(), serde_json::to_value(list).unwrap_or_default());
    }
    if let Some(members) = e.members {
        let list: Vec<MemberOut> = members.into_iter().map(|m| MemberOut::shown_to(m, p)).collect();
        obj.insert("members".into(), serde_json::to_value(list).unwrap_or_default());
    }
    if let Some(parent) = e.parent {
        obj.insert("parent".into(), serde_json::to_value(parent.map(GroupOut::from)).unwrap_or_default());
    }
    if let Some(space) = e.space {
        obj.insert("space".into(), serde_json::to_value(SpaceOut::from(space)).unwrap_or_default());
    }
    serde_json::Value::Object(obj)
}

fn respond(g: Group, status: StatusCode) -> Response {
    with_etag(g.version, status, Json(GroupOut::from(g)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsIn {
    pub allow_join_requests: Option<bool>,
    pub require_approval: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub max_members: Option<Option<i64>>,
}

/// The body of a create (POST) or a replace (PUT).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupWrite {
    /// 1-200 characters, unique (case-insensitive) among siblings in a space.
    #[schema(
        example = "Engineering Team",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<schema::GroupType>)]
    pub group_type: Option<GroupType>,
    #[schema(value_type = Option<schema::Visibility>)]
    pub visibility: Option<Visibility>,
    /// Mirror of `visibility`; `visibility` wins when both are sent.
    pub is_public: Option<bool>,
    /// The space id (default: the `default` space).
    pub space: Option<String>,
    pub space_id: Option<String>,
    pub parent_id: Option<String>,
    #[schema(min_length = 1, max_length = 300)]
    pub external_id: Option<String>,
    pub access_all: Option<bool>,
    pub settings: Option<SettingsIn>,
    #[schema(value_type = Option<Vec<schema::Permission>>)]
    pub permissions: Option<Vec<String>>,
    pub collections: Option<Vec<Collection>>,
    pub inherit_permissions: Option<bool>,
    pub inherit_members: Option<bool>,
    /// Scope sets by id: on a create, attached to the new group; on a replace, the sets the
    /// group is to carry (absent: kept as they are). Only those who manage a set (the site,
    /// or its space's moderators) may attach or detach it.
    pub scope_sets: Option<Vec<String>>,
}

fn visibility(v: Option<Visibility>, is_public: Option<bool>) -> Option<Visibility> {
    v.or(is_public.map(|p| if p { Visibility::Public } else { Visibility::Private }))
}

impl GroupWrite {
    pub fn space(&self) -> Result<Option<String>> {
        match (&self.space, &self.space_id) {
            (Some(a), Some(b)) if a != b => Err(Error::validation("space_id", "space and space_id differ")),
            (a, b) => Ok(a.clone().or(b.clone())),
        }
    }

    pub fn into_input(self) -> GroupInput {
        let settings = self.settings.unwrap_or_default();
        GroupInput {
            name: self.name,
            description: self.description,
            group_type: self.group_type,
            visibility: visibility(self.visibility, self.is_public),
            external_id: self.external_id,
            access_all: self.access_all,
            allow_join_requests: settings.allow_join_requests,
            require_approval: settings.require_approval,
            max_members: settings.max_members.flatten(),
            permissions: self.permissions,
            collections: self.collections.map(|c| c.into_iter().map(Into::into).collect()),
            inherit_permissions: self.inherit_permissions,
            inherit_members: self.inherit_members,
        }
    }
}

/// A merge: absent fields stay; `settings` merges key by key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupUpdate {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<schema::GroupType>)]
    pub group_type: Option<GroupType>,
    #[schema(value_type = Option<schema::Visibility>)]
    pub visibility: Option<Visibility>,
    pub is_public: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 300)]
    pub external_id: Option<Option<String>>,
    pub access_all: Option<bool>,
    pub settings: Option<SettingsIn>,
    #[schema(value_type = Option<Vec<schema::Permission>>)]
    pub permissions: Option<Vec<String>>,
    pub collections: Option<Vec<Collection>>,
    pub inherit_permissions: Option<bool>,
    pub inherit_members: Option<bool>,
    /// The scope sets the group is to carry, by id: those not listed are detached (by whoever
    /// manages them: the site, or the set's space's moderators).
    pub scope_sets: Option<Vec<String>>,
}

impl From<GroupUpdate> for GroupPatch {
    fn from(b: GroupUpdate) -> Self {
        let settings = b.settings.unwrap_or_default();
        GroupPatch {
            name: b.name,
            description: b.description,
            group_type: b.group_type,
            visibility: visibility(b.visibility, b.is_public),
            external_id: b.external_id,
            access_all: b.access_all,
            allow_join_requests: settings.allow_join_requests,
            require_approval: settings.require_approval,
            max_members: settings.max_members,
            permissions: b.permissions,
            collections: b.collections.map(|c| c.into_iter().map(Into::into).collect()),
            inherit_permissions: b.inherit_permissions,
            inherit_members: b.inherit_members,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<schema::GroupType>)]
    pub group_type: Option<GroupType>,
    #[param(value_type = Option<schema::Visibility>)]
    pub visibility: Option<Visibility>,
    /// Groups this user id is an active member of.
    pub member: Option<String>,
    /// Case-insensitive match in name and description.
    pub search: Option<String>,
    /// Space id.
    pub space: Option<String>,
    /// Parent group id.
    pub parent: Option<String>,
}

/// What group lists can be filtered and sorted by.
#[utoipa::path(get, path = "/api/v1/groups/filters", operation_id = "getGroupFilters", tag = "groups",
    responses((status = 200, body = FilterMetadata), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn filters(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<FilterMetadata>> {
    app.may_list_groups(&p)?;
    Ok(Json(app.list_metadata(&p, cohort_core::list::ListKind::Groups).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete the whole subtree.
    pub cascade: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDeleted {
    pub deleted: bool,
    pub group_id: String,
    pub members_removed: i64,
}

impl From<Deleted> for GroupDeleted {
    fn from(d: Deleted) -> Self {
        GroupDeleted { deleted: true, group_id: d.group_id, members_removed: d.members_removed }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    pub ids: Vec<String>,
    #[serde(default)]
    pub cascade: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleteItem {
    pub group_id: String,
    pub deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_removed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleted {
    pub deleted: i64,
    pub failed: i64,
    pub results: Vec<BulkDeleteItem>,
}

/// Create a group; the creating user becomes its owner.
#[utoipa::path(post, path = "/api/v1/groups", operation_id = "createGroup", tag = "groups", request_body = GroupWrite,
    responses((status = 201, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Body(mut b): Body<GroupWrite>) -> ApiResult<Response> {
    let space = b.space()?;
    let (parent, sets) = (b.parent_id.clone(), b.scope_sets.take().unwrap_or_default());
    let g = app.create_group(&p, space, parent, b.into_input(), sets).await?;
    Ok(respond(g, StatusCode::CREATED))
}

/// List the groups the caller can see, in every space.
#[utoipa::path(get, path = "/api/v1/groups", operation_id = "listGroups", tag = "groups", params(GroupListParams, PageParams, ListParams, ExpandParams),
    responses((status = 200, body = GroupList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<GroupListParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
    Query(ep): Query<ExpandParams>,
) -> ApiResult<Json<GroupList>> {
    let rels = ep.relations()?;
    let f = GroupFilter {
        space_id: q.space,
        parent_id: q.parent.map(Some),
        group_type: q.group_type,
        visibility: q.visibility,
        member: q.member,
        search: q.search.filter(|s| !s.is_empty()),
    };
    let listing = lp.listing(&pp)?;
    let page = app.list_groups(&p, f, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(GroupList { groups: with_expansions(&app, &p, page.items, &rels).await?, page: meta }))
}

/// Get a group; private groups are 404 to those who cannot see them.
#[utoipa::path(get, path = "/api/v1/groups/{id}", operation_id = "getGroup", tag = "groups", params(("id" = String, Path, description = "Group id"), ExpandParams),
    responses((status = 200, body = GroupOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Query(ep): Query<ExpandParams>) -> ApiResult<Response> {
    let rels = ep.relations()?;
    let g = app.get_group(&p, &id).await?;
    let version = g.version;
    let out = with_expansions(&app, &p, vec![g], &rels).await?.pop().ok_or(Error::NotFound("group"))?;
    Ok(with_etag(version, StatusCode::OK, Json(out)))
}

/// Merge changes into a group.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", operation_id = "updateGroup", tag = "groups", request_body = GroupUpdate,
    params(("id" = String, Path, description = "Group id"), ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(mut b): Body<GroupUpdate>,
) -> ApiResult<Response> {
    let sets = b.scope_sets.take();
    Ok(respond(app.update_group(&p, &id, b.into(), sets, v).await?, StatusCode::OK))
}

/// Replace a group's fields; what is left out returns to its default.
#[utoipa::path(put, path = "/api/v1/groups/{id}", operation_id = "replaceGroup", tag = "groups", request_body = GroupWrite,
    params(("id" = String, Path, description = "Group id"), ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(mut b): Body<GroupWrite>,
) -> ApiResult<Response> {
    let (space, parent, sets) = (b.space()?, b.parent_id.clone(), b.scope_sets.take());
    Ok(respond(app.replace_group(&p, &id, space, parent, b.into_input(), sets, v).await?, StatusCode::OK))
}

/// Delete a group (owners, space moderators, administrators).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", operation_id = "deleteGroup", tag = "groups",
    params(("id" = String, Path, description = "Group id"), DeleteParams, ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = GroupDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn delete(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Query(q): Query<DeleteParams>,
) -> ApiResult<Json<GroupDeleted>> {
    Ok(Json(app.delete_group(&p, &id, q.cascade.unwrap_or(false), v).await?.into()))
}

/// Delete several groups; each id reports its own result.
#[utoipa::path(post, path = "/api/v1/groups/bulk-delete", operation_id = "deleteGroups", tag = "groups", request_body = BulkDelete,
    responses((status = 200, body = BulkDeleted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn bulk_delete(State(app): State<App>, Auth(p): Auth, Body(b): Body<BulkDelete>) -> ApiResult<Json<BulkDeleted>> {
    let results = app.bulk_delete_groups(&p, &b.ids, b.cascade).await?;
    let mut out = BulkDeleted { deleted: 0, failed: 0, results: Vec::with_capacity(results.len()) };
    for (id, r) in results {
        match r {
            Ok(d) => {
                out.deleted += 1;
                out.results.push(BulkDeleteItem {
                    group_id: id,
                    deleted: true,
                    members_removed: Some(d.members_removed),
                    error: None,
                    message: None,
                });
            }
            Err(e) => {
                out.failed += 1;
                let (_, code, _) = crate::error::parts(&e);
                out.results.push(BulkDeleteItem {
                    group_id: id,
                    deleted: false,
                    members_removed: None,
                    error: Some(code.into()),
                    message: Some(e.to_string()),
                });
            }
        }
    }
    Ok(Json(out))
}
