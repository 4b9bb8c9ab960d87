//! `/groups/{id}/analytics`, `/groups/{id}/activity`, `/groups/{id}/posts`, `/posts/{id}`.

use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::activity::Analytics;
use cohort_core::Error;
use cohort_core::model::Post;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(analytics))
        .routes(routes!(record))
        .routes(routes!(create_post, list_posts))
        .routes(routes!(delete_post))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// `7d`, `30d` (default) or `90d`.
    #[param(value_type = Option<schema::Period>)]
    pub period: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberGrowth {
    pub current: i64,
    /// Active members at the start of the period.
    pub last_month: i64,
    pub growth_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityStats {
    pub messages_sent: i64,
    pub tasks_completed: i64,
    /// Mean seconds from a join request to its decision.
    pub avg_response_time: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Engagement {
    pub active_members: i64,
    pub engagement_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsBody {
    pub member_growth: MemberGrowth,
    pub activity: ActivityStats,
    pub engagement: Engagement,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsOut {
    pub group_id: String,
    pub analytics: AnalyticsBody,
    pub period: String,
}

impl AnalyticsOut {
    fn of(a: Analytics, period: String) -> Self {
        AnalyticsOut {
            group_id: a.group_id,
            analytics: AnalyticsBody {
                member_growth: MemberGrowth { current: a.current, last_month: a.previous, growth_rate: a.growth_rate },
                activity: ActivityStats {
                    messages_sent: a.messages_sent,
                    tasks_completed: a.tasks_completed,
                    avg_response_time: a.avg_response_time,
                },
                engagement: Engagement { active_members: a.active_members, engagement_rate: a.engagement_rate },
            },
            period,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    /// `message`, `task_completed`, or any other kind of activity.
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub kind: String,
    /// Whose activity (default: the caller).
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    pub recorded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    pub id: String,
    pub post_id: String,
    pub group_id: String,
    pub author_id: Option<String>,
    pub title: Option<String>,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Post> for PostOut {
    fn from(p: Post) -> Self {
        PostOut {
            post_id: p.id.clone(),
            id: p.id,
            group_id: p.group_id,
            author_id: p.author_id,
            title: p.title,
            body: p.body,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostIn {
    pub title: Option<String>,
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostList {
    pub posts: Vec<PostOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostDeleted {
    pub deleted: bool,
    pub post_id: String,
}

/// Parses `7d`, `30d` or `90d`.
pub fn period_days(raw: &str) -> Result<i64, Error> {
    match raw {
        "7d" => Ok(7),
        "30d" => Ok(30),
        "90d" => Ok(90),
        other => Err(Error::invalid(format!("period {other:?} is not 7d, 30d or 90d"))),
    }
}

/// Group activity analytics over a period.
#[utoipa::path(get, path = "/api/v1/groups/{id}/analytics", operation_id = "getGroupAnalytics", tag = "activity", params(("id" = String, Path, description = "Group id"), AnalyticsParams),
    responses((status = 200, body = AnalyticsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn analytics(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<AnalyticsParams>,
) -> ApiResult<Json<AnalyticsOut>> {
    let period = q.period.unwrap_or_else(|| "30d".into());
    let a = app.analytics(&p, &id, period_days(&period)?).await?;
    Ok(Json(AnalyticsOut::of(a, period)))
}

/// Record activity of a member (messages, completed tasks, …).
#[utoipa::path(post, path = "/api/v1/groups/{id}/activity", operation_id = "recordGroupActivity", tag = "activity", request_body = ActivityIn, params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = Recorded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(b): Body<ActivityIn>,
) -> ApiResult<(StatusCode, Json<Recorded>)> {
    app.record_activity(&p, &id, &b.kind, b.user_id).await?;
    Ok((StatusCode::CREATED, Json(Recorded { recorded: true })))
}

/// Post in a group (members).
#[utoipa::path(post, path = "/api/v1/groups/{id}/posts", operation_id = "createGroupPost", tag = "activity", request_body = PostIn, params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = PostOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_post(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(b): Body<PostIn>,
) -> ApiResult<(StatusCode, Json<PostOut>)> {
    Ok((StatusCode::CREATED, Json(app.create_post(&p, &id, b.title, &b.body).await?.into())))
}

/// A group's posts, newest first.
///
/// Filter fields and sort keys: `GET /filters/posts`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/posts", operation_id = "listGroupPosts", tag = "activity", params(("id" = String, Path, description = "Group id"), PageParams, ListParams),
    responses((status = 200, body = PostList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_posts(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<PostList>> {
    let listing = lp.listing(&pp)?;
    let page = app.list_posts(&p, &id, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(PostList { posts: page.items.into_iter().map(Into::into).collect(), page: meta }))
}

/// Delete a post: its author, or a moderator of its group.
#[utoipa::path(delete, path = "/api/v1/posts/{id}", operation_id = "deletePost", tag = "activity", params(("id" = String, Path, description = "Post id")),
    responses((status = 200, body = PostDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_post(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<PostDeleted>> {
    app.delete_post(&p, &id).await?;
    Ok(Json(PostDeleted { deleted: true, post_id: id }))
}
