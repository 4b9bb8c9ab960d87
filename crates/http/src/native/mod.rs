//! The native API, `/api/v1`: seed 003's shapes plus Cohort's own fields (docs/api.md).

mod activity;
mod audit;
mod auth;
mod catalogue;
mod changes;
pub mod checks;
pub mod filters;
mod grants;
pub mod groups;
mod hierarchy;
mod invitations;
mod keys;
pub mod members;
mod requests;
mod roles;
pub mod schema;
mod scope_sets;
mod spaces;
pub mod users;
mod webhooks;
mod who;

use cohort_app::App;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cohort", description = "Groups, memberships and permissions as a service.", license(name = "Apache-2.0")),
    modifiers(&Security),
    components(schemas(schema::SortOrder, schema::InvitationStatus, schema::RequestStatus, schema::Period, filters::ListName, crate::dialects::seed002_compat::PerPage)),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "auth", description = "Tokens: log in, log out, mint"),
        (name = "users", description = "Users"),
        (name = "spaces", description = "Spaces (tenants) and their moderators"),
        (name = "groups", description = "Groups"),
        (name = "members", description = "Memberships"),
        (name = "roles", description = "Built-in and custom roles of a group"),
        (name = "join-requests", description = "Asking to join, and deciding"),
        (name = "invitations", description = "Inviting, accepting, declining"),
        (name = "hierarchy", description = "Subgroups, moves, permissions"),
        (name = "permissions", description = "The permission catalogue: what may be granted, at site level and per space"),
        (name = "scope-sets", description = "Bundles of API scopes attached to groups: what their members hold on the scoped admin API"),
        (name = "access", description = "Effective groups, permissions, collections, checks"),
        (name = "activity", description = "Posts, activity and analytics"),
        (name = "api-keys", description = "API keys with scopes"),
        (name = "lists", description = "What each list can be filtered and sorted by"),
        (name = "audit", description = "The audit trail"),
        (name = "changes", description = "The change feed: every change after a revision, as pages, a long poll or Server-Sent Events"),
        (name = "webhooks", description = "Subscriptions of the site, a space or a group to the change feed's events, delivered over HTTP and signed"),
        (name = "ops", description = "Health and readiness of this instance"),
        (name = "admin", description = "The scoped admin API (`/api/admin`): groups with `groups:read` / `groups:write` (keys, or users through their groups' scope sets), cursor pages"),
        (name = "organizations", description = "Organization groups (`/api/organizations`, Bitwarden style): an organization is a space; collections, users, bulk deletes"),
        (name = "compat", description = "The compat namespace (`/compat/v1`): a read-only groups listing for site administrators, with integer ids")
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// Every operation documents the error answers any request may get: unreadable input (400),
/// missing credentials (401), refusal (403), unknown ids (404), oversized bodies (413),
/// invalid values (422), a rate limit (429) and a database that is slow or gone or an
/// instance not ready (503), each
/// with the error body.
fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
    let body = ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody"))).build();
    let common: [(&str, &str); 8] = [
        ("400", "The request cannot be read"),
        ("401", "Missing or invalid credentials"),
        ("403", "Not allowed"),
        ("404", "Not found"),
        ("413", "The body is too large"),
        ("422", "A value is not valid"),
        ("429", "Too many requests (or failed sign-ins); `Retry-After` says when to try again"),
        (
            "503",
            "The database is slow or unavailable, the request ran out of time (`unavailable`), or this instance is not ready: its access index is being built or has not yet applied `at_least_revision` (`not_ready`); `Retry-After` says when to try again",
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            for (code, text) in common {
                op.responses.responses.entry(code.to_string()).or_insert_with(|| {
                    RefOr::T(ResponseBuilder::new().description(text).content("application/json", body.clone()).build())
                });
            }
        }
    }
}

/// A path segment is never empty: an empty id would make `/groups//members`, which clients
/// fold into another route. Every string path parameter says so.
fn document_path_parameters(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for param in ops.into_iter().flatten().flat_map(|op| op.parameters.iter_mut().flatten()) {
            if param.parameter_in == ParameterIn::Path
                && let Some(RefOr::T(Schema::Object(o))) = &mut param.schema
                && o.schema_type == SchemaType::Type(Type::String)
            {
                o.min_length = Some(o.min_length.unwrap_or(0).max(1));
            }
        }
    }
}

/// The native routes with their OpenAPI document.
pub fn router() -> OpenApiRouter<App> {
    // Each operation names its whole path (`/api/v1/…`): a nested router would strip the
    // prefix off every request's URI, building a new one each time.
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(users::router())
        .merge(spaces::router())
        .merge(groups::router())
        .merge(members::router())
        .merge(keys::router())
        .merge(roles::router())
        .merge(requests::router())
        .merge(invitations::router())
        .merge(hierarchy::router())
        .merge(checks::router())
        .merge(activity::router())
        .merge(catalogue::router())
        .merge(scope_sets::router())
        .merge(grants::router())
        .merge(audit::router())
        .merge(changes::router())
        .merge(webhooks::router())
        .merge(who::router())
        .merge(filters::router())
        .merge(crate::dialects::seed002_compat::router())
        .merge(crate::dialects::seed004_scoped_admin::router())
        .merge(crate::dialects::seed001_organizations::router())
        .merge(crate::ops::health_router());
    document_errors(router.get_openapi_mut());
    document_path_parameters(router.get_openapi_mut());
    router
}
