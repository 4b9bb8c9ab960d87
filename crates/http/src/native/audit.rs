//! `/audit`: the trail of changes, newest first.

use super::schema::{ListParams, PageMeta, PageParams, instant, meta_paged, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Query};
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_app::audit::AuditQuery;
use cohort_core::model::AuditEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: String,
    pub event_id: String,
    pub at: String,
    pub actor_id: Option<String>,
    #[schema(example = "member.added")]
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub group_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl From<AuditEvent> for EventOut {
    fn from(e: AuditEvent) -> Self {
        EventOut {
            event_id: e.id.clone(),
            id: e.id,
            at: ts(e.at),
            actor_id: e.actor_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            group_id: e.group_id,
            before: e.before,
            after: e.after,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub group_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339; events at or after.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; events at or before.
    #[param(format = DateTime)]
    pub until: Option<String>,
}

/// Read the audit trail (site administrators), newest first.
///
/// Filter fields and sort keys: `GET /filters/audit`.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "listAuditEvents", tag = "audit", params(AuditParams, PageParams, ListParams),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<AuditParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<EventList>> {
    let listing = lp.listing(&pp)?;
    let query = AuditQuery {
        group_id: q.group_id,
        actor_id: q.actor_id,
        action: q.action,
        since: q.since.as_deref().map(|s| instant("since", s)).transpose()?,
        until: q.until.as_deref().map(|s| instant("until", s)).transpose()?,
    };
    let page = app.audit(&p, &query, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(EventList { events: page.items.into_iter().map(EventOut::from).collect(), page: meta }))
}
