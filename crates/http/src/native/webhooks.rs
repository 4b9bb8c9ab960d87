//! `/webhooks`: subscriptions of the site, a space (`/spaces/{id}/webhooks`) or a group
//! (`/groups/{id}/webhooks`) to the change feed's events, delivered over HTTP and signed;
//! their delivery log, and redelivery.

use super::schema::{nullable, opt_ts, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::webhooks::{Delivery, Level, NewWebhook, WebhookPatch};
use cohort_core::webhook::Webhook;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_site, create_site))
        .routes(routes!(list_space, create_space))
        .routes(routes!(list_group, create_group))
        .routes(routes!(get, update, delete))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    #[schema(example = "whk_01j9z6k3v2m8q4r5s6t7u8v9w0")]
    pub id: String,
    /// The space whose groups' events it receives (a group's subscription names its group's
    /// space too); null for the site's.
    pub space_id: Option<String>,
    /// The group whose events it receives; null for a space's or the site's.
    pub group_id: Option<String>,
    #[schema(example = "https://example.com/hooks/cohort")]
    pub url: String,
    /// Event types it receives: `*`, a family (`member.*`) or a type (`member.added`).
    #[schema(example = json!(["member.*", "group.deleted"]))]
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// The signing secret: shown when the subscription is made, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "whsec_k3v2m8q4r5s6t7u8v9w0")]
    pub secret: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Every event up to this revision has been delivered (or given up on).
    pub delivered_upto: i64,
    /// Failed attempts at the next event since the last success.
    pub failed_attempts: i64,
    /// When the next attempt is due, while deliveries fail.
    pub next_attempt_at: Option<String>,
    /// Since when deliveries have been failing (null while they succeed).
    pub failing_since: Option<String>,
}

impl WebhookOut {
    fn from(w: Webhook, show_secret: bool) -> Self {
        WebhookOut {
            id: w.id,
            space_id: w.space_id,
            group_id: w.group_id,
            url: w.url,
            events: w.events,
            description: w.description,
            active: w.active,
            secret: show_secret.then_some(w.secret),
            created_by: w.created_by,
            created_at: ts(w.created_at),
            updated_at: ts(w.updated_at),
            version: w.version,
            delivered_upto: w.delivered_upto,
            failed_attempts: w.attempts,
            next_attempt_at: (w.attempts > 0).then(|| ts(w.next_attempt_at)),
            failing_since: opt_ts(w.failing_since),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// Where deliveries are POSTed: an http or https URL on the public internet.
    #[schema(example = "https://example.com/hooks/cohort", max_length = 2000)]
    pub url: String,
    /// Event types to receive (`*` unless given).
    #[schema(example = json!(["member.*"]))]
    pub events: Option<Vec<String>>,
    /// The signing secret (16 to 200 characters); one is made up when not given.
    pub secret: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Whether deliveries are made (true unless given).
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new signing secret; deliveries are signed with it from now on.
    pub secret: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    /// Pausing keeps the subscription's place: turned back on, it delivers what it missed.
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeleted {
    pub deleted: bool,
    pub id: String,
}

/// One attempt at delivering one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    #[schema(example = "dlv_01j9z6k3v2m8q4r5s6t7u8v9w0")]
    pub id: String,
    pub webhook_id: String,
    /// The event's revision (its place in the change feed; the receiver's dedupe key).
    pub revision: i64,
    #[schema(example = "member.added")]
    pub event_type: String,
    /// Which attempt at this event it was (1 for the first).
    pub attempt: i64,
    /// Asked for through the redeliver endpoint, outside the subscription's order.
    pub redelivery: bool,
    pub at: String,
    pub duration_ms: i64,
    /// The receiver's status code, when it answered.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// `delivered`, `failed` (tried again later) or `gave_up` (retried for 24 hours).
    #[schema(example = "delivered")]
    pub outcome: String,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        DeliveryOut {
            id: d.id,
            webhook_id: d.webhook_id,
            revision: d.revision,
            event_type: d.event_type,
            attempt: d.attempt,
            redelivery: d.redelivery,
            at: ts(d.at),
            duration_ms: d.duration_ms,
            status: d.status,
            error: d.error,
            outcome: d.outcome,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Deliveries made before this one (the last id of the page before).
    pub before: Option<String>,
    /// At most this many (1 to 100; 30 unless asked).
    pub limit: Option<i64>,
}

fn made(w: Webhook) -> Response {
    with_etag(w.version, StatusCode::CREATED, Json(WebhookOut::from(w, true)))
}

fn one(w: Webhook) -> Response {
    with_etag(w.version, StatusCode::OK, Json(WebhookOut::from(w, false)))
}

fn listed(all: Vec<Webhook>) -> Json<WebhookList> {
    Json(WebhookList { webhooks: all.into_iter().map(|w| WebhookOut::from(w, false)).collect() })
}

fn new(b: WebhookCreate) -> NewWebhook {
    NewWebhook { url: b.url, events: b.events, secret: b.secret, description: b.description, active: b.active }
}

/// The site's webhooks: every change, users' and keys' included (site `admin`).
#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "listSiteWebhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_site(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<WebhookList>> {
    Ok(listed(app.list_webhooks(&p, Level::Site).await?))
}

/// Subscribe to every change of the site (site `admin`). The answer holds the signing
/// secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "createSiteWebhook", tag = "webhooks", request_body = WebhookCreate,
    responses((status = 201, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_site(State(app): State<App>, Auth(p): Auth, Body(b): Body<WebhookCreate>) -> ApiResult<Response> {
    Ok(made(app.create_webhook(&p, Level::Site, new(b)).await?))
}

/// A space's webhooks (its moderators, or the site).
#[utoipa::path(get, path = "/api/v1/spaces/{id}/webhooks", operation_id = "listSpaceWebhooks", tag = "webhooks",
    params(("id" = String, Path, description = "Space id")),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_space(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<WebhookList>> {
    Ok(listed(app.list_webhooks(&p, Level::Space(id)).await?))
}

/// Subscribe to the changes of a space's groups (its moderators, or the site).
#[utoipa::path(post, path = "/api/v1/spaces/{id}/webhooks", operation_id = "createSpaceWebhook", tag = "webhooks", request_body = WebhookCreate,
    params(("id" = String, Path, description = "Space id")),
    responses((status = 201, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_space(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Body(b): Body<WebhookCreate>) -> ApiResult<Response> {
    Ok(made(app.create_webhook(&p, Level::Space(id), new(b)).await?))
}

/// A group's webhooks (those who manage its settings).
#[utoipa::path(get, path = "/api/v1/groups/{id}/webhooks", operation_id = "listGroupWebhooks", tag = "webhooks",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<WebhookList>> {
    Ok(listed(app.list_webhooks(&p, Level::Group(id)).await?))
}

/// Subscribe to a group's changes (those who manage its settings).
#[utoipa::path(post, path = "/api/v1/groups/{id}/webhooks", operation_id = "createGroupWebhook", tag = "webhooks", request_body = WebhookCreate,
    params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Body(b): Body<WebhookCreate>) -> ApiResult<Response> {
    Ok(made(app.create_webhook(&p, Level::Group(id), new(b)).await?))
}

/// A webhook subscription and its delivery state (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(one(app.get_webhook(&p, &id).await?))
}

/// Change a subscription: its URL, events, secret, description, or pause it.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", operation_id = "updateWebhook", tag = "webhooks", request_body = WebhookUpdate,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<WebhookUpdate>,
) -> ApiResult<Response> {
    let patch = WebhookPatch { url: b.url, events: b.events, secret: b.secret, description: b.description, active: b.active };
    Ok(one(app.update_webhook(&p, &id, patch, v).await?))
}

/// Delete a subscription and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 412, body = ErrorBody)))]
async fn delete(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, IfMatch(v): IfMatch) -> ApiResult<Json<WebhookDeleted>> {
    app.delete_webhook(&p, &id, v).await?;
    Ok(Json(WebhookDeleted { deleted: true, id }))
}

/// A subscription's delivery log: every attempt, newest first (kept 30 days).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn deliveries(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<DeliveryParams>,
) -> ApiResult<Json<DeliveryList>> {
    let all = app.webhook_deliveries(&p, &id, q.before.as_deref(), q.limit.unwrap_or(30)).await?;
    Ok(Json(DeliveryList { deliveries: all.into_iter().map(DeliveryOut::from).collect() }))
}

/// Send a delivery's event again, now; answers the new attempt (logged as a redelivery).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", operation_id = "redeliverWebhookDelivery", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn redeliver(State(app): State<App>, Auth(p): Auth, Path((id, delivery)): Path<(String, String)>) -> ApiResult<Json<DeliveryOut>> {
    Ok(Json(DeliveryOut::from(app.redeliver(&p, &id, &delivery).await?)))
}
