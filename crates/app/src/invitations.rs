//! Invitations: invite by email or user id with a role; list, revoke, accept, decline.

use crate::groups::role;
use crate::requests::admit;
use crate::secrets::{digest, new_secret};
use crate::{App, Change};
use cohort_core::auth::{Principal, Scope};
use cohort_core::error::Conflict;
use cohort_core::list::Listing;
use cohort_core::model::{Invitation, InvitationStatus, Membership};
use cohort_core::page::Page;
use cohort_core::policy::Action;
use cohort_core::{Error, Result, id, input, time};
use cohort_store::{invitations, members, users};

#[derive(Debug, Clone, Default)]
pub struct Invite {
    pub emails: Vec<String>,
    pub user_ids: Vec<String>,
    pub role: Option<String>,
    pub message: Option<String>,
    /// Days until it expires (default 7; 0 expires at once). `expires_at` wins when given.
    pub expires_in_days: Option<i64>,
    pub expires_at: Option<time::Millis>,
    /// Mail the invitation (with its link) to its email, through the configured mail server.
    pub notify: bool,
}

/// How one invitee went.
#[derive(Debug, Clone, PartialEq)]
pub enum Invited {
    /// Sent, with the secret of its link: shown once, for the inviter to send to the
    /// invitee (holding it proves the invitation reached them).
    Sent(Box<Invitation>, String),
    Failed {
        target: String,
        error: Error,
    },
}

fn snapshot(i: &Invitation) -> serde_json::Value {
    serde_json::json!({"email": i.email, "user_id": i.user_id, "role": i.role, "status": i.status.as_str(), "expires_at": i.expires_at})
}

impl App {
    pub async fn invite(&self, p: &Principal, group_id: &str, inv: Invite) -> Result<Vec<Invited>> {
        if inv.emails.is_empty() && inv.user_ids.is_empty() {
            return Err(Error::validation("emails", "name at least one email or user id"));
        }
        if inv.emails.len() + inv.user_ids.len() > 1000 {
            return Err(Error::validation("emails", "at most 1000 invitees at once"));
        }
        let emails = inv.emails.iter().map(|e| input::email(e)).collect::<Result<Vec<_>>>()?;
        let message = input::text("message", inv.message, 2000)?;
        let now = time::now();
        let expires_at = match (inv.expires_at, inv.expires_in_days) {
            (Some(t), _) => t,
            (None, Some(d)) if !(0..=365).contains(&d) => return Err(Error::validation("expires_in_days", "must be 0 to 365")),
            (None, d) => now + d.unwrap_or(7) * time::DAY,
        };
        let tx = self.begin().await?;
        let r = role(&tx, group_id, inv.role.as_deref().unwrap_or("member")).await?;
        self.load_for(&tx, p, group_id, Action::Invite { role: &r }).await?;
        let from = if inv.notify { Some(self.invitation_sender(&tx, p, group_id).await?) } else { None };
        let mut out = Vec::new();
        let mut targets: Vec<(Option<String>, Option<String>)> = emails.into_iter().map(|e| (Some(e), None)).collect();
        targets.extend(inv.user_ids.into_iter().map(|u| (None, Some(u))));
        for (email, user_id) in targets {
            // An invitation to an email a user has confirmed is bound to that user now; an
            // address nobody has confirmed binds nobody, so claiming it later takes either
            // confirming it or the link sent to it.
            let existing = match (&email, &user_id) {
                (Some(e), _) => users::by_login(&tx, e)
                    .await?
                    .map(|(u, _)| u)
                    .filter(|u| u.email_verified && u.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(e))),
                (None, Some(u)) => match users::get(&tx, u).await? {
                    Some(found) => Some(found),
                    None => {
                        out.push(Invited::Failed { target: u.clone(), error: Error::NotFound("user") });
                        continue;
                    }
                },
                (None, None) => None,
            };
            if let Some(u) = &existing
                && members::get(&tx, group_id, &u.id).await?.is_some()
            {
                let who = email.clone().or(user_id.clone()).unwrap_or_default();
                return Err(Error::conflict(Conflict::MemberExists, format!("{who} is already a member of this group")));
            }
            let i = Invitation {
                id: id::new(id::Kind::Invitation),
                group_id: group_id.to_string(),
                email: email.clone().or_else(|| existing.as_ref().and_then(|u| u.email.clone())),
                user_id: user_id.clone().or_else(|| existing.as_ref().map(|u| u.id.clone())),
                role: r.slug.clone(),
                message: message.clone(),
                status: InvitationStatus::Sent,
                invited_by: p.actor_id(),
                created_at: now,
                expires_at,
                decided_at: None,
                mail: Default::default(),
            };
            let link = new_secret("cin_")?;
            invitations::insert(&tx, &i, &digest(&link)).await?;
            let mut i = i;
            if let Some(from) = &from {
                i.mail = self.queue_invitation_mail(&tx, from, &i, &link).await?;
                invitations::set_mail(&tx, &i.id, &i.mail).await?;
            }
            let mut after = snapshot(&i);
            after["notify"] = inv.notify.into();
            Change::new("invitation.sent", "invitation", &i.id).group(group_id).after(after).record(&tx, p).await?;
            out.push(Invited::Sent(Box::new(i), link));
        }
        self.commit(tx).await?;
        Ok(out)
    }

    pub async fn list_invitations(
        &self,
        p: &Principal,
        group_id: &str,
        status: Option<InvitationStatus>,
        listing: &Listing,
    ) -> Result<Page<Invitation>> {
        let c = self.read().await?;
        self.load_for(&c, p, group_id, Action::SeeInvitations).await?;
        invitations::list(&c, group_id, status, listing).await
    }

    pub async fn revoke_invitation(&self, p: &Principal, group_id: &str, invitation_id: &str) -> Result<Invitation> {
        let tx = self.begin().await?;
        let i = invitations::get(&tx, invitation_id).await?.filter(|i| i.group_id == group_id).ok_or(Error::NotFound("invitation"))?;
        let r = role(&tx, group_id, &i.role).await?;
        self.load_for(&tx, p, group_id, Action::Invite { role: &r }).await?;
        self.close_invitation(tx, p, i, InvitationStatus::Revoked).await
    }

    /// The invited user accepts: they become a member with the invitation's role. `link` is
    /// the secret of the invitation's link, for an invitee not known by a confirmed email.
    pub async fn accept_invitation(&self, p: &Principal, invitation_id: &str, link: Option<&str>) -> Result<Membership> {
        p.require(Scope::GroupsWrite)?;
        let tx = self.begin().await?;
        let i = self.invitation_for_caller(&tx, p, invitation_id, link).await?;
        let uid = p.user_id().unwrap_or_default().to_string();
        let m = admit(&tx, p, &i.group_id, &uid, &i.role, "member.added").await?;
        if !invitations::decide(&tx, &i.id, InvitationStatus::Accepted, time::now()).await? {
            return Err(Error::conflict(Conflict::Other, "the invitation was closed meanwhile"));
        }
        let mut after = snapshot(&i);
        after["status"] = "accepted".into();
        Change::new("invitation.accepted", "invitation", &i.id).group(&i.group_id).user(&uid).after(after).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(m)
    }

    pub async fn decline_invitation(&self, p: &Principal, invitation_id: &str, link: Option<&str>) -> Result<Invitation> {
        p.require(Scope::GroupsWrite)?;
        let tx = self.begin().await?;
        let i = self.invitation_for_caller(&tx, p, invitation_id, link).await?;
        self.close_invitation(tx, p, i, InvitationStatus::Declined).await
    }

    /// The open invitation, if it is the caller's: 404 if unknown, 403 if someone else's,
    /// 410 if expired, 409 if already closed.
    ///
    /// An invitation bound to a user is theirs alone. One to an email is the caller's when
    /// their confirmed email is that address, or when they hold the link sent to it; an
    /// email the caller set without confirming it claims nothing.
    async fn invitation_for_caller(
        &self,
        c: &cohort_store::Conn,
        p: &Principal,
        invitation_id: &str,
        link: Option<&str>,
    ) -> Result<Invitation> {
        let i = invitations::get(c, invitation_id).await?.ok_or(Error::NotFound("invitation"))?;
        let uid = p.user_id().ok_or_else(|| Error::denied("only the invited user can answer an invitation"))?;
        let me = users::get(c, uid).await?.ok_or(Error::NotFound("user"))?;
        let mine = match &i.user_id {
            Some(bound) => bound == uid,
            None => {
                let by_email = me.email_verified && matches!((&i.email, &me.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
                let by_link = match link.map(str::trim).filter(|l| !l.is_empty() && l.len() <= 200) {
                    Some(l) => invitations::link_matches(c, &i.id, &digest(l)).await?,
                    None => false,
                };
                by_email || by_link
            }
        };
        if !mine {
            return Err(Error::denied("this invitation is for someone else"));
        }
        match i.status_at(time::now()) {
            InvitationStatus::Sent => Ok(i),
            InvitationStatus::Expired => Err(Error::Gone("the invitation has expired".into())),
            other => Err(Error::conflict(Conflict::Other, format!("the invitation is already {other}"))),
        }
    }

    async fn close_invitation(
        &self,
        tx: cohort_store::Tx,
        p: &Principal,
        mut i: Invitation,
        status: InvitationStatus,
    ) -> Result<Invitation> {
        if i.status != InvitationStatus::Sent {
            return Err(Error::conflict(Conflict::Other, format!("the invitation is already {}", i.status)));
        }
        let before = snapshot(&i);
        let now = time::now();
        if !invitations::decide(&tx, &i.id, status, now).await? {
            return Err(Error::conflict(Conflict::Other, "the invitation was closed meanwhile"));
        }
        i.status = status;
        i.decided_at = Some(now);
        let action = format!("invitation.{status}");
        Change::new(&action, "invitation", &i.id).group(&i.group_id).before(before).after(snapshot(&i)).record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(i)
    }
}
