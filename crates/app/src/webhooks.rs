//! Webhooks: subscriptions of the site, a space or a group that receive the change feed's
//! events over HTTP, signed with the subscription's secret; and the dispatcher that delivers
//! them.
//!
//! The change log is the outbox: it is written in the transaction of every change, so an
//! event is never lost between the change and its delivery. Each subscription keeps the
//! revision it has delivered up to; one instance at a time holds it (a lease in the
//! database), sends its events in order and moves it on after each success, so a change is
//! delivered once per subscription whichever instance made it — at least once: an instance
//! that dies after a receiver took an event but before it moved on sends that event again
//! from wherever the subscription is taken up next.

use crate::changes::{ChangeEvent, kind_of};
use crate::{App, Change, check_version};
use cohort_core::auth::{Principal, Scope};
use cohort_core::policy::{Action, site};
use cohort_core::time::{self, Millis};
use cohort_core::webhook::{self as rules, Backoff, Outcome, Webhook};
use cohort_core::{Error, Result, id, input};
use cohort_store::audit::{FeedRow, feed_after};
pub use cohort_store::webhooks::Delivery;
use cohort_store::webhooks::{self as store, Level as StoreLevel};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deliver to loopback and private addresses too (off: only the public internet).
    pub allow_private: bool,
    pub backoff: Backoff,
    /// How long a receiver has to answer.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { allow_private: false, backoff: Backoff::default(), timeout: Duration::from_secs(10) }
    }
}

/// The delivery machinery of one process: its settings and HTTP client.
pub(crate) struct Dispatch {
    settings: Settings,
    client: reqwest::Client,
    /// This process's name on the leases it holds.
    owner: String,
    /// The subscriptions this process is delivering now.
    running: Mutex<HashSet<String>>,
}

/// How long a lease lasts without being renewed (every event renews it): past a receiver's
/// timeout, so a live holder never loses it, and short enough that a dead one's
/// subscriptions are soon taken up elsewhere.
const LEASE: Millis = 30 * time::SECOND;

/// How often each process looks for subscriptions with events due.
const POLL: Duration = Duration::from_millis(500);

/// How long the delivery log is kept.
const KEEP_DELIVERIES: Millis = 30 * time::DAY;

/// The longest URL a subscription may have.
const MAX_URL: usize = 2000;

impl Dispatch {
    fn new(settings: Settings) -> Result<Dispatch> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect could lead anywhere, the service's own network included.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Cohort-Webhooks");
        if !settings.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().map_err(|e| Error::internal(format!("webhook client: {e}")))?;
        let owner = crate::secrets::new_secret("")?;
        Ok(Dispatch { settings, client, owner, running: Mutex::default() })
    }
}

/// Resolves names to their public addresses only: a name that resolves to a private one
/// (or is made to, between a check and the connection) is not reached.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.filter(|a| rules::is_public(a.ip())).collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whose subscriptions: the site's, a space's, a group's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Site,
    Space(String),
    Group(String),
}

impl Level {
    fn of(w: &Webhook) -> Level {
        match (&w.group_id, &w.space_id) {
            (Some(g), _) => Level::Group(g.clone()),
            (None, Some(s)) => Level::Space(s.clone()),
            (None, None) => Level::Site,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub events: Option<Vec<String>>,
    /// Made up when not given.
    pub secret: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

fn snapshot(w: &Webhook) -> serde_json::Value {
    serde_json::json!({"url": w.url, "events": w.events, "description": w.description, "active": w.active,
        "space_id": w.space_id, "group_id": w.group_id})
}

/// The host of a URL as an address, when it is one (`[::1]` included).
fn literal_host(url: &reqwest::Url) -> Option<IpAddr> {
    url.host_str().and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse().ok())
}

fn secret(raw: Option<String>) -> Result<String> {
    match raw {
        None => crate::secrets::new_secret("whsec_"),
        Some(s) if (16..=200).contains(&s.len()) && !s.chars().any(char::is_control) => Ok(s),
        Some(_) => Err(Error::validation("secret", "16 to 200 characters")),
    }
}

impl App {
    /// Sets how deliveries are made; before [`App::start_background`], once.
    pub fn configure_webhooks(&self, settings: Settings) -> Result<()> {
        let dispatch = Dispatch::new(settings)?;
        self.dispatch.set(dispatch).map_err(|_| Error::internal("webhook delivery is already configured"))
    }

    /// How retries of deliveries (webhooks and mail) are spaced.
    pub(crate) fn dispatch_backoff(&self) -> Backoff {
        self.dispatch().map(|d| d.settings.backoff).unwrap_or_default()
    }

    fn dispatch(&self) -> Result<&Dispatch> {
        if let Some(d) = self.dispatch.get() {
            return Ok(d);
        }
        let made = Dispatch::new(Settings::default())?;
        Ok(self.dispatch.get_or_init(|| made))
    }

    fn check_url(&self, raw: &str) -> Result<String> {
        let raw = raw.trim();
        if raw.len() > MAX_URL {
            return Err(Error::validation("url", format!("at most {MAX_URL} characters")));
        }
        let url = reqwest::Url::parse(raw).map_err(|e| Error::validation("url", format!("not a URL: {e}")))?;
        rules::check_url(url.scheme(), url.host_str().is_some(), literal_host(&url), self.dispatch()?.settings.allow_private)?;
        Ok(url.to_string())
    }

    /// Refuses unless the caller manages the webhooks of `level`; answers the level's space.
    async fn authorize_webhooks(&self, c: &cohort_store::Conn, p: &Principal, level: &Level) -> Result<Option<String>> {
        match level {
            Level::Site => site::manage_webhooks(p, false, false).map(|()| None),
            Level::Space(s) => {
                let moderator = self.level_moderator(c, p, Some(s)).await?;
                site::manage_webhooks(p, true, moderator).map(|()| Some(s.clone()))
            }
            Level::Group(g) => {
                p.require(Scope::GroupsWrite)?;
                Ok(Some(self.load_for(c, p, g, Action::ManageSettings).await?.group.space_id))
            }
        }
    }

    /// Subscribes `level` to events; answers the subscription with its secret.
    pub async fn create_webhook(&self, p: &Principal, level: Level, new: NewWebhook) -> Result<Webhook> {
        let url = self.check_url(&new.url)?;
        let events = rules::events(new.events)?;
        let description = input::text("description", new.description, 2000)?;
        let secret = secret(new.secret)?;
        let tx = self.begin().await?;
        let space_id = self.authorize_webhooks(&tx, p, &level).await?;
        let now = time::now();
        let w = Webhook {
            id: id::new(id::Kind::Webhook),
            space_id,
            group_id: match &level {
                Level::Group(g) => Some(g.clone()),
                _ => None,
            },
            url,
            secret,
            events,
            description,
            active: new.active.unwrap_or(true),
            created_by: p.actor_id(),
            created_at: now,
            updated_at: now,
            version: 1,
            // Events from now on: what happened before it was made is in the feed.
            delivered_upto: cohort_store::access::last_seq(&tx).await?,
            attempts: 0,
            next_attempt_at: 0,
            failing_since: None,
        };
        store::insert(&tx, &w).await?;
        let mut change = Change::new("webhook.created", "webhook", &w.id).after(snapshot(&w));
        if let Some(g) = &w.group_id {
            change = change.group(g);
        }
        change.record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(w)
    }

    pub async fn list_webhooks(&self, p: &Principal, level: Level) -> Result<Vec<Webhook>> {
        let c = self.read().await?;
        self.authorize_webhooks(&c, p, &level).await?;
        let of = match &level {
            Level::Site => StoreLevel::Site,
            Level::Space(s) => StoreLevel::Space(s),
            Level::Group(g) => StoreLevel::Group(g),
        };
        Ok(store::list(&c, of).await?)
    }

    /// A subscription, for whoever manages its level's webhooks.
    async fn load_webhook(&self, c: &cohort_store::Conn, p: &Principal, id: &str) -> Result<Webhook> {
        let w = store::get(c, id).await?.ok_or(Error::NotFound("webhook"))?;
        self.authorize_webhooks(c, p, &Level::of(&w)).await?;
        Ok(w)
    }

    pub async fn get_webhook(&self, p: &Principal, id: &str) -> Result<Webhook> {
        self.load_webhook(&self.read().await?, p, id).await
    }

    pub async fn update_webhook(&self, p: &Principal, id: &str, patch: WebhookPatch, if_match: Option<i64>) -> Result<Webhook> {
        let tx = self.begin().await?;
        let before = self.load_webhook(&tx, p, id).await?;
        check_version(if_match, before.version)?;
        let mut w = before.clone();
        if let Some(u) = patch.url {
            w.url = self.check_url(&u)?;
        }
        if let Some(e) = patch.events {
            w.events = rules::events(Some(e))?;
        }
        if let Some(s) = patch.secret {
            w.secret = secret(Some(s))?;
        }
        if let Some(d) = patch.description {
            w.description = input::text("description", d, 2000)?;
        }
        if let Some(a) = patch.active {
            w.active = a;
        }
        w.updated_at = time::now();
        w.version += 1;
        if !store::update(&tx, &w, before.version).await? {
            return Err(Error::PreconditionFailed { current: before.version });
        }
        let mut after = snapshot(&w);
        if w.secret != before.secret {
            after["secret_changed"] = true.into();
        }
        let mut change = Change::new("webhook.updated", "webhook", id).before(snapshot(&before)).after(after);
        if let Some(g) = &w.group_id {
            change = change.group(g);
        }
        change.record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(w)
    }

    pub async fn delete_webhook(&self, p: &Principal, id: &str, if_match: Option<i64>) -> Result<()> {
        let tx = self.begin().await?;
        let w = self.load_webhook(&tx, p, id).await?;
        check_version(if_match, w.version)?;
        store::delete(&tx, id).await?;
        let mut change = Change::new("webhook.deleted", "webhook", id).before(snapshot(&w));
        if let Some(g) = &w.group_id {
            change = change.group(g);
        }
        change.record(&tx, p).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// A subscription's delivery log, newest first, before delivery `before`.
    pub async fn webhook_deliveries(&self, p: &Principal, id: &str, before: Option<&str>, limit: i64) -> Result<Vec<Delivery>> {
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "between 1 and 100"));
        }
        let c = self.read().await?;
        self.load_webhook(&c, p, id).await?;
        Ok(store::deliveries(&c, id, before, limit).await?)
    }

    /// Sends a delivered (or failed) event again, now, outside the subscription's order;
    /// answers the new attempt.
    pub async fn redeliver(&self, p: &Principal, id: &str, delivery_id: &str) -> Result<Delivery> {
        let c = self.read().await?;
        let w = self.load_webhook(&c, p, id).await?;
        let d = store::delivery(&c, id, delivery_id).await?.ok_or(Error::NotFound("delivery"))?;
        let row = feed_after(&c, d.revision - 1, d.revision, 1).await?.pop().ok_or(Error::NotFound("event"))?;
        drop(c);
        let sent = self.send(&w, &row).await?;
        let attempt = Delivery {
            id: id::new(id::Kind::Delivery),
            webhook_id: w.id.clone(),
            revision: row.seq,
            event_type: kind_of(&row).to_string(),
            attempt: 1,
            redelivery: true,
            at: sent.at,
            duration_ms: sent.ms,
            status: sent.status,
            error: sent.error.clone(),
            outcome: if sent.ok() { Outcome::Delivered } else { Outcome::Failed }.as_str().to_string(),
        };
        let tx = self.begin().await?;
        store::log_delivery(&tx, &attempt).await?;
        tx.commit().await?;
        Ok(attempt)
    }

    /// Sends one event to a subscription's URL, signed.
    async fn send(&self, w: &Webhook, row: &FeedRow) -> Result<Sent> {
        let dispatch = self.dispatch()?;
        let event = ChangeEvent::from(row.clone());
        let body = serde_json::to_vec(&event).map_err(Error::internal)?;
        let at = time::now();
        let started = Instant::now();
        let stamp = at / 1000;
        let mut signed = format!("{stamp}.").into_bytes();
        signed.extend_from_slice(&body);
        let signature = hex(&crate::secrets::hmac_sha256(w.secret.as_bytes(), &signed)?);
        let refused = reqwest::Url::parse(&w.url)
            .ok()
            .and_then(|u| literal_host(&u))
            .filter(|ip| !dispatch.settings.allow_private && !rules::is_public(*ip));
        let result = match refused {
            Some(ip) => Err(format!("{ip} is not a public address")),
            None => dispatch
                .client
                .post(&w.url)
                .header("Content-Type", "application/json")
                .header("Cohort-Webhook-Id", &w.id)
                .header("Cohort-Delivery", id::new(id::Kind::Delivery))
                .header("Cohort-Event", &event.kind)
                .header("Cohort-Revision", event.revision.to_string())
                .header("Cohort-Signature", format!("t={stamp},v1={signature}"))
                .body(body)
                .send()
                .await
                .map_err(|e| describe(&e)),
        };
        let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        Ok(match result {
            Ok(res) => {
                let status = res.status();
                Sent {
                    at,
                    ms,
                    status: Some(i64::from(status.as_u16())),
                    error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
                }
            }
            Err(e) => Sent { at, ms, status: None, error: Some(e) },
        })
    }

    /// Delivers what is due, every [`POLL`], until the process ends.
    pub(crate) fn start_webhooks(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_prune = 0;
            loop {
                tick.tick().await;
                if let Err(e) = app.deliver_due().await {
                    tracing::warn!(error = %e, "delivering webhooks");
                }
                let now = time::now();
                if now - last_prune > time::HOUR {
                    last_prune = now;
                    if let Err(e) = app.prune_deliveries(now).await {
                        tracing::warn!(error = %e, "forgetting old webhook deliveries");
                    }
                }
            }
        });
    }

    async fn prune_deliveries(&self, now: Millis) -> Result<()> {
        let tx = self.begin().await?;
        store::prune_deliveries(&tx, now - KEEP_DELIVERIES).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a delivery run for each subscription with events due that no one is running.
    async fn deliver_due(&self) -> Result<()> {
        if !self.index().is_built() {
            return Ok(());
        }
        let dispatch = self.dispatch()?;
        // Only changes this instance has applied: their order is settled (a change is
        // applied once every change before it is).
        let upto = self.index().revision();
        let due = store::due(&self.read().await?, &dispatch.owner, time::now(), upto).await?;
        for id in due {
            let fresh = dispatch.running.lock().map(|mut r| r.insert(id.clone())).unwrap_or(false);
            if !fresh {
                continue;
            }
            let app = self.clone();
            tokio::spawn(async move {
                if let Err(e) = app.deliver(&id, upto).await {
                    tracing::warn!(webhook = %id, error = %e, "delivering webhook events");
                }
                if let Ok(d) = app.dispatch()
                    && let Ok(mut r) = d.running.lock()
                {
                    r.remove(&id);
                }
            });
        }
        Ok(())
    }

    /// Takes a subscription's lease, holds it while sending its events up to `upto` in
    /// order, and lets it go; stops at the first failure (its retry is scheduled).
    async fn deliver(&self, id: &str, upto: i64) -> Result<()> {
        if !self.lease(id).await? {
            return Ok(());
        }
        let result = self.deliver_held(id, upto).await;
        let tx = self.begin().await?;
        store::release(&tx, id, &self.dispatch()?.owner).await?;
        tx.commit().await?;
        result
    }

    async fn deliver_held(&self, id: &str, upto: i64) -> Result<()> {
        let owner = self.dispatch()?.owner.as_str();
        let backoff = self.dispatch()?.settings.backoff;
        let Some(w) = store::get(&self.read().await?, id).await? else { return Ok(()) };
        if !w.active {
            return Ok(());
        }
        let mut cursor = w.delivered_upto;
        let mut attempt = w.attempts + 1;
        loop {
            let rows = feed_after(&self.read().await?, cursor, upto, 200).await?;
            let Some(last) = rows.last().map(|r| r.seq) else { break };
            for row in rows {
                if !w.wants(kind_of(&row), row.group_id.as_deref(), row.space_id.as_deref()) {
                    cursor = row.seq;
                    continue;
                }
                // Renewed before each send: a receiver that takes its whole timeout leaves
                // the lease held.
                if !self.lease(id).await? {
                    return Ok(());
                }
                let sent = self.send(&w, &row).await?;
                let outcome = if sent.ok() { Outcome::Delivered } else { Outcome::of_failure(row.at, time::now()) };
                let log = Delivery {
                    id: id::new(id::Kind::Delivery),
                    webhook_id: w.id.clone(),
                    revision: row.seq,
                    event_type: kind_of(&row).to_string(),
                    attempt,
                    redelivery: false,
                    at: sent.at,
                    duration_ms: sent.ms,
                    status: sent.status,
                    error: sent.error,
                    outcome: outcome.as_str().to_string(),
                };
                let seq = row.seq;
                let tx = self.begin().await?;
                store::log_delivery(&tx, &log).await?;
                let still_held = match outcome {
                    Outcome::Delivered | Outcome::GaveUp => store::advance(&tx, id, owner, seq).await?,
                    Outcome::Failed => {
                        store::advance(&tx, id, owner, cursor).await?;
                        let now = time::now();
                        store::failed(&tx, id, owner, now, now + backoff.after(attempt)).await?
                    }
                };
                tx.commit().await?;
                if outcome == Outcome::Failed || !still_held {
                    return Ok(());
                }
                cursor = seq;
                attempt = 1;
            }
            cursor = cursor.max(last);
        }
        if cursor > w.delivered_upto {
            let tx = self.begin().await?;
            store::advance(&tx, id, owner, cursor).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Takes or renews this process's lease on a subscription; false when another holds it.
    async fn lease(&self, id: &str) -> Result<bool> {
        let now = time::now();
        let tx = self.begin().await?;
        let held = store::lease(&tx, id, &self.dispatch()?.owner, now, now + LEASE).await?;
        tx.commit().await?;
        Ok(held)
    }
}

/// What came of sending one event.
struct Sent {
    at: Millis,
    ms: i64,
    status: Option<i64>,
    error: Option<String>,
}

impl Sent {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A failed request, said without the URL (it is the subscription's own).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "the receiver did not answer in time"
    } else if e.is_connect() {
        "could not connect to the receiver"
    } else if e.is_redirect() {
        "the receiver redirected (redirects are not followed)"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() { what.to_string() } else { format!("{what}: {cause}") }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
