//! Posts, recorded activity, and the analytics computed from them and from membership history.

use crate::{App, Change};
use cohort_core::auth::Principal;
use cohort_core::list::Listing;
use cohort_core::model::Post;
use cohort_core::page::Page;
use cohort_core::policy::Action;
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{members, posts, requests};

/// Seed 003's analytics, computed over `period_days` back from now.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytics {
    pub group_id: String,
    pub period_days: i64,
    /// Active members now, and at the start of the period (from membership history).
    pub current: i64,
    pub previous: i64,
    pub growth_rate: f64,
    pub messages_sent: i64,
    pub tasks_completed: i64,
    /// Mean seconds from a join request to its decision, for decisions in the period.
    pub avg_response_time: f64,
    /// Active members whose last activity falls in the period.
    pub active_members: i64,
    pub engagement_rate: f64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl App {
    pub async fn create_post(&self, p: &Principal, group_id: &str, title: Option<String>, body: &str) -> Result<Post> {
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 20_000 {
            return Err(Error::validation("body", "must be 1 to 20000 characters"));
        }
        let title = input::text("title", title, 300)?;
        let tx = self.begin().await?;
        self.load_for(&tx, p, group_id, Action::Post).await?;
        let now = time::now();
        let post = Post {
            id: id::new(id::Kind::Post),
            group_id: group_id.to_string(),
            author_id: p.user_id().map(str::to_string),
            title,
            body: body.to_string(),
            created_at: now,
            updated_at: now,
        };
        posts::insert(&tx, &post).await?;
        if let Some(u) = p.user_id() {
            posts::touch_member(&tx, group_id, u, now).await?;
        }
        Change::new("post.created", "post", &post.id).group(group_id).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(post)
    }

    pub async fn list_posts(&self, p: &Principal, group_id: &str, listing: &Listing) -> Result<Page<Post>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::Read).await?;
        posts::list(&c, group_id, listing).await
    }

    /// Authors delete their own posts; moderators delete anyone's.
    pub async fn delete_post(&self, p: &Principal, post_id: &str) -> Result<Post> {
        let tx = self.begin().await?;
        let post = posts::get(&tx, post_id).await?.ok_or(Error::NotFound("post"))?;
        let loaded = self.load(&tx, p, &post.group_id).await.map_err(|_| Error::NotFound("post"))?;
        if !cohort_core::policy::can_see(p, &loaded.ctx) {
            return Err(Error::NotFound("post"));
        }
        let own = post.author_id.is_some() && post.author_id.as_deref() == p.user_id();
        let action = if own { Action::Post } else { Action::ModeratePosts };
        cohort_core::policy::authorize(p, &loaded.ctx, action)?;
        posts::delete(&tx, post_id).await?;
        Change::new("post.deleted", "post", post_id).group(&post.group_id).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(post)
    }

    /// Records activity of `kind` for a member (themself, or anyone by a member manager).
    pub async fn record_activity(&self, p: &Principal, group_id: &str, kind: &str, user_id: Option<String>) -> Result<()> {
        let kind = kind.trim();
        if kind.is_empty() || kind.chars().count() > 100 {
            return Err(Error::validation("type", "must be 1 to 100 characters"));
        }
        let user_id = user_id.or_else(|| p.user_id().map(str::to_string));
        let tx = self.begin().await?;
        // Recording activity is a write: a member's own needs what posting does.
        let loaded = self.load_for(&tx, p, group_id, Action::Post).await?;
        let for_self = user_id.is_some() && user_id.as_deref() == p.user_id();
        if !for_self {
            let member = cohort_core::policy::Role::builtin("member").ok_or(Error::NotFound("role"))?;
            cohort_core::policy::authorize(p, &loaded.ctx, Action::AddMember { role: &member })?;
        }
        let now = time::now();
        posts::record_activity(&tx, &id::new(id::Kind::Event), group_id, user_id.as_deref(), kind, now).await?;
        if let Some(u) = &user_id {
            if members::get(&tx, group_id, u).await?.is_none() {
                return Err(Error::NotFound("member"));
            }
            posts::touch_member(&tx, group_id, u, now).await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn analytics(&self, p: &Principal, group_id: &str, period_days: i64) -> Result<Analytics> {
        let c = self.read().await?;
        let g = self.load_for(&c, p, group_id, Action::Read).await?.group;
        let now = time::now();
        let from = now - period_days * time::DAY;
        let current = g.member_count;
        let previous = members::active_at(&c, group_id, from).await?;
        let growth_rate = match (previous, current) {
            (0, 0) => 0.0,
            (0, _) => 1.0,
            (p0, c0) => round2((c0 - p0) as f64 / p0 as f64),
        };
        let active_members = posts::active_members_since(&c, group_id, from).await?;
        Ok(Analytics {
            group_id: group_id.to_string(),
            period_days,
            current,
            previous,
            growth_rate,
            messages_sent: posts::messages_between(&c, group_id, from, now + 1).await?,
            tasks_completed: posts::activity_between(&c, group_id, "task_completed", from, now + 1).await?,
            avg_response_time: requests::mean_decision_seconds(&c, group_id, from, now + 1).await?.map(f64::round).unwrap_or(0.0),
            active_members,
            engagement_rate: if current > 0 { round2(active_members as f64 / current as f64) } else { 0.0 },
        })
    }

    /// Removes memberships whose expiry has passed; answers how many went.
    pub async fn sweep_expired(&self) -> Result<usize> {
        let now = time::now();
        let due = members::expired(&self.read().await?, now, 500).await?;
        let system = Principal::system();
        let mut removed = 0;
        for (group_id, user_id) in due {
            let tx = self.begin().await?;
            let Some(m) = members::get(&tx, &group_id, &user_id).await? else { continue };
            if m.expires_at.is_none_or(|t| t > now) {
                continue;
            }
            match crate::membership::revoke(&tx, &system, &m, "member.expired").await {
                Ok(()) => {}
                Err(Error::Conflict { .. }) => {
                    tracing::warn!(%group_id, %user_id, "an expired membership is the group's last owner; kept");
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.commit(tx).await?;
            removed += 1;
        }
        Ok(removed)
    }
}
