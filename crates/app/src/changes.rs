//! The change feed: the change log's events after a revision, in commit order, as far as the
//! caller may read them — a page at a time, or waiting for the next change (long poll).

use crate::App;
use crate::groups::list_viewer;
use cohort_core::access::GroupCheck;
use cohort_core::auth::{Principal, Scope};
use cohort_core::{Error, Result, time};
pub use cohort_store::audit::FeedRow;
use cohort_store::groups::Viewer;
use std::collections::HashSet;
use std::time::Duration;

/// The most events one page holds, and how many it holds unless asked.
pub const MAX_LIMIT: i64 = 1000;
pub const DEFAULT_LIMIT: i64 = 100;

/// The longest a request waits for a change: below the request deadline (30 s by default),
/// so that a long poll answers an empty page rather than a timeout.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// How often a waiting request looks at the index's revision (an atomic read).
const POLL: Duration = Duration::from_millis(100);

/// One change as the feed, its event streams and webhooks show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeEvent {
    /// Its place in the change log: revisions increase in commit order.
    pub revision: i64,
    pub at: String,
    /// What happened (`member.added`, `group.moved`, …).
    #[serde(rename = "type")]
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

impl From<FeedRow> for ChangeEvent {
    fn from(r: FeedRow) -> Self {
        ChangeEvent {
            revision: r.seq,
            at: time::rfc3339(r.at),
            // A batch's row says `member.batch`; its event says what was done to whom.
            kind: r.action.unwrap_or(r.kind),
            group_id: r.group_id,
            space_id: r.space_id,
            user_id: r.user_id,
            actor_id: r.actor_id,
            target_type: r.target_type,
            target_id: r.target_id.or(Some(r.entity_id)),
            before: r.before,
            after: r.after,
        }
    }
}

/// The type of the change a row records.
pub fn kind_of(r: &FeedRow) -> &str {
    r.action.as_deref().unwrap_or(&r.kind)
}

/// One page of the feed. `next_revision` is the last change looked at, seen or not, so that
/// asking from it again neither rescans nor misses anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub events: Vec<FeedRow>,
    pub next_revision: i64,
}

impl App {
    /// Events after revision `after`, at most `limit`; when none the caller may see has
    /// happened yet, waits up to `wait` (capped at [`MAX_WAIT`]) for one.
    pub async fn changes(&self, p: &Principal, after: i64, limit: i64, wait: Duration) -> Result<Changes> {
        self.changes_knowing(p, after, limit, wait, &HashSet::new()).await
    }

    /// [`App::changes`], with the deletions of the groups in `known` as well: the access
    /// index forgets a deleted group, so whether the caller could read it is for the caller
    /// to remember (a realtime client knows the groups it was shown).
    pub async fn changes_knowing(&self, p: &Principal, after: i64, limit: i64, wait: Duration, known: &HashSet<String>) -> Result<Changes> {
        p.require(Scope::GroupsRead)?;
        let viewer = list_viewer(p, "changes")?;
        if after < 0 {
            return Err(Error::validation("after", "a revision is 0 or more"));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("limit", format!("between 1 and {MAX_LIMIT}")));
        }
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        let mut from = after;
        loop {
            // Only changes this instance's index has applied are served: whether a caller may
            // read a group is decided from it, and a change it has not applied yet would be
            // decided wrongly, then passed for good. The index follows other instances'
            // changes in the background, so waiting is a look at its revision, not a query.
            let upto = self.index().revision();
            if upto > from {
                let page = self.changes_between(viewer.as_ref(), from, upto, limit, known).await?;
                if !page.events.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(page);
                }
                // More applied changes to look at: straight on (a page with no row at all
                // waits, rather than spin).
                let moved = page.next_revision > from;
                from = page.next_revision;
                if moved && from < upto {
                    continue;
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(Changes { events: vec![], next_revision: from });
            }
            tokio::time::sleep(POLL.min(left)).await;
        }
    }

    /// The events of `(after, upto]` the viewer may read, from at most `limit` changes.
    async fn changes_between(
        &self,
        viewer: Option<&Viewer>,
        after: i64,
        upto: i64,
        limit: i64,
        known: &HashSet<String>,
    ) -> Result<Changes> {
        let rows = cohort_store::audit::feed_after(&self.read().await?, after, upto, limit).await?;
        let next_revision = rows.last().map_or(after, |r| r.seq);
        let events = match viewer {
            None => rows,
            Some(v) => {
                let now = time::now();
                self.index().read(|idx| {
                    rows.into_iter()
                        .filter(|r| {
                            let mine = v.user_id.is_some() && r.user_id == v.user_id;
                            // What a user gained and lost is theirs (and the site's) to see.
                            if r.kind == "access.changed" {
                                return mine;
                            }
                            let group = r.group_id.as_deref();
                            if r.kind == "group.deleted" && group.is_some_and(|g| known.contains(g)) {
                                return true;
                            }
                            // A space-bound credential knows nothing outside its space.
                            if let Some(space) = &v.space_id
                                && r.space_id.as_deref().or_else(|| group.and_then(|g| idx.group_space(g))) != Some(space.as_str())
                            {
                                return false;
                            }
                            // A key bound to a space acting for no user stands for its moderation.
                            let Some(user) = v.user_id.as_deref() else { return true };
                            // Invitations and join requests name people who are not members
                            // (an invitee's email): they are for those who manage the group's
                            // members, as their lists are. Everything else is for the group's
                            // readers, by the rule every group read follows.
                            // A group's webhooks are for those who manage its settings.
                            let needs = if r.kind.starts_with("invitation.") || r.kind.starts_with("join_request.") {
                                GroupCheck::ManageMembers
                            } else if r.kind.starts_with("webhook.") {
                                GroupCheck::ManageSettings
                            } else {
                                GroupCheck::Read
                            };
                            mine || group.is_some_and(|g| idx.check_group_seen(user, g, needs, now, false).is_some_and(|d| d.allowed))
                        })
                        .collect()
                })
            }
        };
        Ok(Changes { events, next_revision })
    }
}
