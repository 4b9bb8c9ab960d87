//! `/changes`: the change feed, as pages, as a long poll, or as Server-Sent Events.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Query};
use crate::limits::Deadline;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_app::changes::{ChangeEvent, Changes, DEFAULT_LIMIT, FeedRow, MAX_LIMIT, MAX_WAIT};
use cohort_core::Error;
use cohort_core::auth::Principal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list))
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    /// Its place in the change log: revisions increase in commit order.
    #[schema(example = 42)]
    pub revision: i64,
    pub at: String,
    /// What happened (`member.added`, `group.moved`, …).
    #[serde(rename = "type")]
    #[schema(example = "member.added")]
    pub kind: String,
    pub group_id: Option<String>,
    /// The space of the group, as it was when the change was made.
    pub space_id: Option<String>,
    /// The user the change is about, if one.
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl From<FeedRow> for ChangeOut {
    fn from(r: FeedRow) -> Self {
        let e = ChangeEvent::from(r);
        ChangeOut {
            revision: e.revision,
            at: e.at,
            kind: e.kind,
            group_id: e.group_id,
            space_id: e.space_id,
            user_id: e.user_id,
            actor_id: e.actor_id,
            target_type: e.target_type,
            target_id: e.target_id,
            before: e.before,
            after: e.after,
        }
    }
}

/// A page of changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub events: Vec<ChangeOut>,
    /// Where to ask from next (`after`): the last change looked at, seen or not.
    #[schema(example = 42)]
    pub next_revision: i64,
}

impl From<Changes> for ChangePage {
    fn from(c: Changes) -> Self {
        ChangePage { events: c.events.into_iter().map(ChangeOut::from).collect(), next_revision: c.next_revision }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeParams {
    /// The revision to read after (0: from the start). An event stream resumes from
    /// `Last-Event-ID` instead when it is sent.
    #[param(example = 41)]
    pub after: Option<i64>,
    /// At most this many changes looked at (1 to 1000; 100 unless asked).
    #[param(example = 100)]
    pub limit: Option<i64>,
    /// Seconds to wait for a change when there is none yet (`30` or `30s`; at most 25 are waited).
    #[param(example = "30s")]
    pub wait: Option<String>,
}

fn seconds(wait: Option<&str>) -> Result<Duration, Error> {
    let Some(w) = wait else { return Ok(Duration::ZERO) };
    let n = w.strip_suffix('s').unwrap_or(w);
    n.parse::<u64>().map(Duration::from_secs).map_err(|_| Error::validation("wait", "whole seconds, as 30 or 30s"))
}

/// How long before the request's deadline a long poll answers and an event stream ends (for
/// the client to resume with `Last-Event-ID`): a poll past it would answer 503, and a stream
/// past it would hold a stopping server's shutdown open.
const MARGIN: Duration = Duration::from_secs(1);

/// Read the change feed: the events after a revision, in commit order.
///
/// A caller with site-wide `groups:read` sees every change; anyone else the changes of groups
/// they may read and those about themselves; a space-bound key only its space's groups'.
/// `next_revision` is where to ask from next. With `wait`, an empty answer waits for the next
/// change. With `Accept: text/event-stream`, Server-Sent Events (`id` the revision, `event`
/// the type, `data` the change), resuming after `Last-Event-ID`; the stream ends before the
/// request deadline, and the client reconnects with `Last-Event-ID`.
#[utoipa::path(get, path = "/api/v1/changes", operation_id = "listChanges", tag = "changes", params(ChangeParams),
    responses((status = 200, description = "A page of changes, or an event stream", content(
        (ChangePage = "application/json", example = json!({"events": [{"revision": 42, "at": "2026-01-05T10:00:00Z", "type": "member.added",
            "group_id": "grp_01J", "user_id": "usr_01J", "actor_id": "usr_01K", "target_type": "membership", "target_id": "grp_01J:usr_01J",
            "before": null, "after": {"role": "member"}}], "next_revision": 42})),
        (String = "text/event-stream", example = json!("id: 42\nevent: member.added\ndata: {\"revision\":42,\"type\":\"member.added\"}\n\n"))
    )), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    deadline: Deadline,
    headers: HeaderMap,
    Query(q): Query<ChangeParams>,
) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let end = deadline.0.checked_sub(MARGIN).unwrap_or(deadline.0);
    let wait = seconds(q.wait.as_deref())?.min(end.saturating_duration_since(Instant::now()));
    let streaming = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    if !streaming {
        let page = app.changes(&p, q.after.unwrap_or(0), limit, wait).await?;
        return Ok(Json(ChangePage::from(page)).into_response());
    }
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()).ok_or_else(|| Error::validation("Last-Event-ID", "a revision"))?,
        ),
        None => None,
    };
    let after = resume.or(q.after).unwrap_or(0);
    // Refusals (scope, bad values) answer as errors before the stream starts.
    let first = app.changes(&p, after, limit.min(MAX_LIMIT), Duration::ZERO).await?;
    let state = Stream { app, p, limit, next: first.next_revision, pending: first.events.into(), end };
    let events = futures_util::stream::unfold(state, Stream::step);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// An event stream's place: the changes read and not yet sent, and where to read next.
struct Stream {
    app: App,
    p: std::sync::Arc<Principal>,
    limit: i64,
    next: i64,
    pending: VecDeque<FeedRow>,
    end: Instant,
}

impl Stream {
    async fn step(mut self) -> Option<(Result<Event, std::convert::Infallible>, Stream)> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                let change = ChangeOut::from(row);
                let event = Event::default().id(change.revision.to_string()).event(change.kind.clone());
                // A change always serializes; were it not to, the stream ends and the client resumes.
                let event = event.json_data(&change).ok()?;
                return Some((Ok(event), self));
            }
            let left = self.end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.app.changes(&self.p, self.next, self.limit, left.min(MAX_WAIT)).await {
                Ok(page) => {
                    self.next = page.next_revision;
                    self.pending = page.events.into();
                }
                Err(e) => {
                    tracing::debug!(error = %e, "change stream ended");
                    return None;
                }
            }
        }
    }
}
