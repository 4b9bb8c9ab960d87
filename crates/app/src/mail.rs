//! Invitation mail: composed and written to the outbox in the invitation's transaction,
//! sent over SMTP by whichever instance takes it, retried with backoff for a day; and
//! resending an invitation (a new link, a new message).

use crate::{App, Change};
use cohort_core::mail::{self, Mail};
use cohort_core::model::{Invitation, InvitationMail, InvitationStatus, MailStatus};
use cohort_core::policy::Action;
use cohort_core::time::{self, Millis};
use cohort_core::webhook::{Backoff, Outcome};
use cohort_core::{Error, Result, auth::Principal, error::Conflict, id};
use cohort_store::mail::{self as outbox, Outgoing};
use cohort_store::{Conn, groups, invitations, users};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Where mail goes out, and what its links lead to.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://…:465` (TLS), or
    /// `smtp://host:25` (plain, for a relay on the same network).
    pub smtp_url: String,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// The accept link, with `{invitation_id}` and `{token}` (see [`mail::link`]).
    pub invitation_url: String,
}

pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    invitation_url: String,
    owner: String,
    backoff: Backoff,
}

/// Who an invitation mail is from: the group's name and the inviter's, when known.
pub(crate) struct Sender {
    group: String,
    inviter: Option<String>,
}

/// How long an instance holds a message it is sending.
const LEASE: Millis = 60 * time::SECOND;

/// How often each process looks for mail to send.
const POLL: Duration = Duration::from_millis(500);

impl App {
    /// Sets where mail goes out; before [`App::start_background`], once.
    pub fn configure_mail(&self, s: Settings) -> Result<()> {
        mail::check_link_template(&s.invitation_url)?;
        let from: Mailbox = s.from.parse().map_err(|e| Error::validation("mail-from", format!("not a mailbox: {e}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&s.smtp_url)
            .map_err(|e| Error::validation("smtp-url", format!("{e}")))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let mailer = Mailer {
            transport,
            from,
            invitation_url: s.invitation_url,
            owner: crate::secrets::new_secret("")?,
            backoff: self.dispatch_backoff(),
        };
        self.mailer.set(mailer).map_err(|_| Error::internal("mail is already configured"))
    }

    /// What every invitation mail of one request says of where and who: the group's name and
    /// the inviter's (read once, however many are invited).
    pub(crate) async fn invitation_sender(&self, c: &Conn, p: &Principal, group_id: &str) -> Result<Sender> {
        let group = groups::get(c, group_id).await?.map(|g| g.name).unwrap_or_default();
        let inviter = match p.actor_id() {
            Some(u) => users::get(c, &u).await?.map(|u| u.full_name.unwrap_or(u.username)),
            None => None,
        };
        Ok(Sender { group, inviter })
    }

    /// Writes an invitation's mail to the outbox, in the invitation's transaction, and
    /// answers how its mail stands. Nothing is written for an invitation without an email,
    /// nor where no mail server is configured (the status says so).
    pub(crate) async fn queue_invitation_mail(&self, c: &Conn, from: &Sender, i: &Invitation, link: &str) -> Result<InvitationMail> {
        let Some(to) = i.email.clone() else { return Ok(InvitationMail::default()) };
        let Some(mailer) = self.mailer.get() else {
            return Ok(InvitationMail { status: Some(MailStatus::NotConfigured), ..Default::default() });
        };
        let url = mail::link(&mailer.invitation_url, i, link);
        let message = mail::invitation(i, &to, &from.group, from.inviter.as_deref(), &url);
        outbox::forget_invitation(c, &i.id).await?;
        let queued =
            Outgoing { id: id::new(id::Kind::Message), invitation_id: i.id.clone(), mail: message, created_at: time::now(), attempts: 0 };
        outbox::insert(c, &queued).await?;
        Ok(InvitationMail { status: Some(MailStatus::Queued), attempts: 0, ..Default::default() })
    }

    /// Sends an open invitation again: a new link (the old one stops working) in a new
    /// message. Answers the invitation and the new link's secret.
    pub async fn resend_invitation(&self, p: &Principal, group_id: &str, invitation_id: &str) -> Result<(Invitation, String)> {
        let tx = self.begin().await?;
        let mut i = invitations::get(&tx, invitation_id).await?.filter(|i| i.group_id == group_id).ok_or(Error::NotFound("invitation"))?;
        let r = crate::groups::role(&tx, group_id, &i.role).await?;
        self.load_for(&tx, p, group_id, Action::Invite { role: &r }).await?;
        if i.status_at(time::now()) != InvitationStatus::Sent {
            return Err(Error::conflict(
                Conflict::Other,
                format!("the invitation is {}; only an open one is resent", i.status_at(time::now()).as_str()),
            ));
        }
        if i.email.is_none() {
            return Err(Error::conflict(Conflict::Other, "the invitation names no email to send it to"));
        }
        if self.mailer.get().is_none() {
            return Err(Error::conflict(Conflict::Other, "no mail server is configured (cohort serve --smtp-url)"));
        }
        let link = crate::secrets::new_secret("cin_")?;
        invitations::set_link(&tx, &i.id, &crate::secrets::digest(&link)).await?;
        let from = self.invitation_sender(&tx, p, group_id).await?;
        i.mail = self.queue_invitation_mail(&tx, &from, &i, &link).await?;
        invitations::set_mail(&tx, &i.id, &i.mail).await?;
        Change::new("invitation.resent", "invitation", &i.id)
            .group(group_id)
            .after(serde_json::json!({"email": i.email, "user_id": i.user_id, "role": i.role}))
            .record(&tx, p)
            .await?;
        self.commit(tx).await?;
        Ok((i, link))
    }

    /// Sends what the outbox holds, every [`POLL`], until the process ends (nothing without
    /// a mail server).
    pub(crate) fn start_mail(&self) {
        if self.mailer.get().is_none() {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.send_due_mail().await {
                    tracing::warn!(error = %e, "sending mail");
                }
            }
        });
    }

    async fn send_due_mail(&self) -> Result<()> {
        let Some(mailer) = self.mailer.get() else { return Ok(()) };
        let now = time::now();
        let tx = self.begin().await?;
        let due = outbox::take_due(&tx, &mailer.owner, now, now + LEASE, 20).await?;
        tx.commit().await?;
        for o in due {
            self.send_one(mailer, o).await?;
        }
        Ok(())
    }

    async fn send_one(&self, mailer: &Mailer, o: Outgoing) -> Result<()> {
        let open =
            invitations::get(&self.read().await?, &o.invitation_id).await?.filter(|i| i.status_at(time::now()) == InvitationStatus::Sent);
        let Some(i) = open else {
            // Accepted, declined, revoked or expired before its mail went: nothing to send.
            let tx = self.begin().await?;
            outbox::remove(&tx, &o.id, &mailer.owner).await?;
            tx.commit().await?;
            return Ok(());
        };
        let sent = match compose(&mailer.from, &o.mail) {
            Ok(m) => mailer.transport.send(m).await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let now = time::now();
        let attempts = o.attempts + 1;
        let tx = self.begin().await?;
        let state = match sent {
            Ok(()) => {
                outbox::remove(&tx, &o.id, &mailer.owner).await?;
                InvitationMail { status: Some(MailStatus::Sent), sent_at: Some(now), error: None, attempts }
            }
            Err(e) => {
                tracing::warn!(invitation = %i.id, error = %e, "sending an invitation's mail");
                if Outcome::of_failure(o.created_at, now) == Outcome::GaveUp {
                    outbox::remove(&tx, &o.id, &mailer.owner).await?;
                    InvitationMail { status: Some(MailStatus::Failed), sent_at: None, error: Some(e), attempts }
                } else {
                    outbox::failed(&tx, &o.id, &mailer.owner, now + mailer.backoff.after(attempts)).await?;
                    InvitationMail { status: Some(MailStatus::Queued), sent_at: None, error: Some(e), attempts }
                }
            }
        };
        invitations::set_mail(&tx, &i.id, &state).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The message as SMTP carries it: plain text and HTML alternatives.
fn compose(from: &Mailbox, m: &Mail) -> std::result::Result<Message, String> {
    let to: Mailbox = m.to.parse().map_err(|e| format!("the address {:?}: {e}", m.to))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&m.subject)
        .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
        .map_err(|e| e.to_string())
}
