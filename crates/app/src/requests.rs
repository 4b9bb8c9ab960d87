//! Join requests: file, list, approve or reject, cancel.

use crate::groups::role;
use crate::{App, Change};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::list::Listing;
use cohort_core::model::{JoinRequest, Membership, RequestStatus, User, Visibility};
use cohort_core::page::Page;
use cohort_core::policy::site;
use cohort_core::policy::{self, Action};
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{Conn, members, requests};

/// What filing a request came to: a pending request, or (for a public group that needs no
/// approval) a membership at once.
#[derive(Debug, Clone, PartialEq)]
pub enum Filed {
    Pending(JoinRequest),
    Joined(JoinRequest, Box<Membership>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

fn snapshot(j: &JoinRequest) -> serde_json::Value {
    serde_json::json!({"status": j.status.as_str(), "message": j.message, "referred_by": j.referred_by, "role": j.role, "note": j.note})
}

/// Makes `user_id` an active member with `role_slug`, through the membership engine.
pub(crate) async fn admit(c: &Conn, p: &Principal, group_id: &str, user_id: &str, role_slug: &str, action: &str) -> Result<Membership> {
    crate::membership::grant(c, p, group_id, crate::membership::Grant::active(user_id, role_slug), action).await
}

impl App {
    /// The caller asks to join (`POST /join` and `POST /join-requests`). A public group that
    /// needs no approval is joined at once; otherwise a request is filed if the group accepts
    /// them. Private groups that do not stay 404 to outsiders.
    pub async fn request_join(&self, p: &Principal, group_id: &str, message: Option<String>, referred_by: Option<String>) -> Result<Filed> {
        p.require(Scope::GroupsWrite)?;
        let uid = p.user_id().ok_or_else(|| Error::denied("only a user can ask to join a group; a site key acts for no user"))?.to_string();
        let message = input::text("message", message, 2000)?;
        let tx = self.begin().await?;
        let loaded = self.load(&tx, p, group_id).await?;
        let g = &loaded.group;
        let visible = policy::can_see(p, &loaded.ctx);
        let direct = g.visibility == Visibility::Public && !g.settings.require_approval;
        if !direct && !g.settings.allow_join_requests {
            return Err(if visible { Error::denied("this group does not accept join requests") } else { Error::NotFound("group") });
        }
        if members::get(&tx, group_id, &uid).await?.is_some() {
            return Err(Error::conflict(Conflict::MemberExists, "User is already a member of this group"));
        }
        let now = time::now();
        let mut j = JoinRequest {
            id: id::new(id::Kind::JoinRequest),
            group_id: group_id.to_string(),
            user_id: uid.clone(),
            message,
            referred_by,
            status: RequestStatus::Pending,
            submitted_at: now,
            decided_at: None,
            decided_by: None,
            note: None,
            role: None,
        };
        requests::insert(&tx, &j).await?;
        Change::new("join_request.created", "join_request", &j.id).group(group_id).user(&uid).after(snapshot(&j)).record(&tx, p).await?;
        if direct {
            j.status = RequestStatus::Approved;
            j.decided_at = Some(now);
            j.role = Some("member".into());
            requests::decide(&tx, &j).await?;
            let m = admit(&tx, p, group_id, &uid, "member", "member.joined").await?;
            self.commit(tx).await?;
            return Ok(Filed::Joined(j, Box::new(m)));
        }
        self.commit(tx).await?;
        Ok(Filed::Pending(j))
    }

    /// A group's join requests: those of `status`; without one, the pending queue a manager
    /// works through, unless the caller filters (then every status).
    pub async fn list_join_requests(
        &self,
        p: &Principal,
        group_id: &str,
        status: Option<RequestStatus>,
        listing: &Listing,
    ) -> Result<Page<(JoinRequest, User)>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::SeeJoinRequests).await?;
        let status = status.or_else(|| listing.filter.is_none().then_some(RequestStatus::Pending));
        requests::list(&c, group_id, status, &listing.seen_by(site::sees_all_users(p))).await
    }

    /// Approves (with a role, default `member`) or rejects a pending request.
    pub async fn decide_join_request(
        &self,
        p: &Principal,
        group_id: &str,
        request_id: &str,
        decision: Decision,
        role_slug: Option<String>,
        note: Option<String>,
    ) -> Result<(JoinRequest, Option<Membership>)> {
        let note = input::text("note", note, 2000)?;
        let tx = self.begin().await?;
        let loaded = self.load_for(&tx, p, group_id, Action::ManageJoinRequests).await?;
        let mut j = requests::get(&tx, group_id, request_id).await?.ok_or(Error::NotFound("join request"))?;
        if j.status != RequestStatus::Pending {
            return Err(Error::conflict(Conflict::Other, format!("the request is already {}", j.status)));
        }
        let before = snapshot(&j);
        j.decided_at = Some(time::now());
        j.decided_by = p.actor_id();
        j.note = note;
        let mut membership = None;
        match decision {
            Decision::Approve => {
                let r = role(&tx, group_id, role_slug.as_deref().unwrap_or("member")).await?;
                policy::authorize(p, &loaded.ctx, Action::AddMember { role: &r })?;
                j.status = RequestStatus::Approved;
                j.role = Some(r.slug.clone());
                membership = Some(admit(&tx, p, group_id, &j.user_id, &r.slug, "member.added").await?);
            }
            Decision::Reject => j.status = RequestStatus::Rejected,
        }
        if !requests::decide(&tx, &j).await? {
            return Err(Error::conflict(Conflict::Other, "the request was decided meanwhile"));
        }
        let action = if decision == Decision::Approve { "join_request.approved" } else { "join_request.rejected" };
        Change::new(action, "join_request", &j.id)
            .group(group_id)
            .user(&j.user_id)
            .before(before)
            .after(snapshot(&j))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok((j, membership))
    }

    /// The requester withdraws a pending request.
    pub async fn cancel_join_request(&self, p: &Principal, group_id: &str, request_id: &str) -> Result<JoinRequest> {
        let tx = self.begin().await?;
        let mut j = requests::get(&tx, group_id, request_id).await?.ok_or(Error::NotFound("join request"))?;
        if p.user_id() != Some(j.user_id.as_str()) {
            self.load_for(&tx, p, group_id, Action::ManageJoinRequests).await.map_err(|_| Error::NotFound("join request"))?;
        }
        if j.status != RequestStatus::Pending {
            return Err(Error::conflict(Conflict::Other, format!("the request is already {}", j.status)));
        }
        let before = snapshot(&j);
        j.status = RequestStatus::Cancelled;
        j.decided_at = Some(time::now());
        j.decided_by = p.actor_id();
        requests::decide(&tx, &j).await?;
        Change::new("join_request.cancelled", "join_request", &j.id)
            .group(group_id)
            .user(&j.user_id)
            .before(before)
            .after(snapshot(&j))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok(j)
    }
}
