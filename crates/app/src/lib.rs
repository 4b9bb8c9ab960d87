//! Cohort's services. Each command opens one transaction, loads what it needs through the
//! store, asks the core's policy and rules, applies the change with its audit event, and
//! commits. Surfaces call these and nothing below them.
//!
//! - [`auth`]: who a secret belongs to; login, logout, tokens.
//! - [`users`], [`spaces`], [`keys`]: the site's records.
//! - [`groups`], [`members`]: groups and memberships; every membership is made, changed and
//!   removed by one engine (`membership`).
//! - [`audit`]: the trail of changes.
//! - [`scim`]: directory sync: what a `scim` key may do, in its space.
//! - [`changes`], [`webhooks`]: the change feed, and its events delivered over HTTP.

mod access_changes;
pub mod activity;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod changes;
pub mod checks;
mod credentials;
pub mod directory;
pub mod expand;
pub mod grants;
pub mod groups;
pub mod hierarchy;
pub mod idempotency;
pub mod index;
pub mod invitations;
pub mod keys;
pub mod mail;
pub mod members;
mod membership;
pub mod organizations;
pub mod pocketbase;
pub mod realtime;
pub mod requests;
pub mod roles;
pub mod scim;
pub mod scope_sets;
mod secrets;
pub mod spaces;
pub mod stats;
pub mod transfer;
pub mod users;
pub mod webhooks;
pub mod who;

pub use cohort_core::{Error, Result};
pub use cohort_store::Db;

use cohort_core::model::AuditEvent;
use cohort_core::{auth::Principal, id, time};
use cohort_store::Tx;

/// How long a token from `POST /auth/token` lives.
pub const TOKEN_TTL: time::Millis = 7 * time::DAY;

/// The application: a database handle and the services over it. Cheap to clone (one
/// reference count: every request's extractors and middleware clone it).
#[derive(Clone)]
pub struct App(std::sync::Arc<Parts>);

/// What an [`App`] holds.
pub struct Parts {
    db: Db,
    index: index::Index,
    token_key: secrets::TokenKey,
    credentials: credentials::Credentials,
    stats: stats::Stats,
    /// How webhooks are delivered (set once, see [`App::configure_webhooks`]).
    dispatch: std::sync::OnceLock<webhooks::Dispatch>,
    /// Where invitation mail goes out (none: no mail is sent; see [`App::configure_mail`]).
    mailer: std::sync::OnceLock<mail::Mailer>,
    /// Seed 000's realtime clients connected to this instance.
    realtime: realtime::Clients,
    /// Set when the process is asked to stop: `/readyz` says so, so that a load balancer
    /// sends no new requests while the open ones finish.
    stopping: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for App {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl App {
    /// Opens the service over `db`, applying any missing migrations first and building the
    /// access index.
    pub async fn open(db: Db) -> Result<App> {
        let app = App::connect(db).await?;
        app.build_index().await?;
        Ok(app)
    }

    /// Opens the service over `db`, applying any missing migrations, without building the
    /// access index: enough for commands that create records, and for a server that builds
    /// the index while it already answers `/readyz` (503 until built).
    pub async fn connect(db: Db) -> Result<App> {
        cohort_store::migrate::run(&db).await?;
        App::attach(db).await
    }

    /// Opens the service over `db` as its migrations stand (the caller has checked they are
    /// current, see [`cohort_store::migrate::Status::require_current`]), building nothing:
    /// for commands that only read or write records.
    pub async fn attach(db: Db) -> Result<App> {
        let token_key = {
            let tx = db.begin().await?;
            let secret = cohort_store::keys::site_secret(&tx, "token_signing", &secrets::new_secret("")?).await?;
            tx.commit().await?;
            secrets::TokenKey::new(&secret)
        };
        let index = index::Index::empty();
        Ok(App(std::sync::Arc::new(Parts {
            db,
            index,
            token_key,
            credentials: Default::default(),
            stats: Default::default(),
            dispatch: Default::default(),
            mailer: Default::default(),
            realtime: Default::default(),
            stopping: Default::default(),
        })))
    }

    /// Builds the access index from the tables (see [`index::Index::build`]).
    pub async fn build_index(&self) -> Result<()> {
        self.index.build(&self.db).await
    }

    /// Builds the access index, trying again every few seconds while the database does not
    /// answer, then starts the background work. For a server that is already listening.
    pub async fn build_index_then_start(&self) {
        loop {
            match self.build_index().await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "building the access index; trying again in 2 s");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
        }
        self.start_background();
    }

    pub fn index(&self) -> &index::Index {
        &self.index
    }

    /// Commits `tx`, then brings the access index up to date with it; answers the revision.
    /// Users whose permissions the transaction's changes move get `access.changed` events
    /// right after (see [`access_changes`]).
    async fn commit(&self, tx: Tx) -> Result<i64> {
        let watch = self.watch_access(&tx).await?;
        let revision = match self.commit_only(tx).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(w) = &watch {
                    self.index.watched(w.cause_seq);
                }
                return Err(e);
            }
        };
        if let Some(w) = watch
            && let Err(e) = self.finish_access(w).await
        {
            // The entry stays: a sweep finishes it.
            tracing::warn!(error = %e, "writing access.changed events");
        }
        Ok(revision)
    }

    /// Commits `tx` and brings the access index up to date with it, watching nothing.
    async fn commit_only(&self, tx: Tx) -> Result<i64> {
        let notes = tx.commit().await?;
        self.index.apply_committed(&self.db, notes, |rows| self.credentials.observe(rows)).await
    }

    /// What the service has counted (checks, sign-ins), for metrics.
    pub fn stats(&self) -> &stats::Stats {
        &self.stats
    }

    /// The newest change in the change log (what every instance's index follows).
    pub async fn change_log_head(&self) -> Result<i64> {
        Ok(cohort_store::access::last_seq(&self.read().await?).await?)
    }

    /// Applies changes other processes made (and any of ours not yet applied).
    pub async fn sync(&self) -> Result<i64> {
        self.index.catch_up(&self.db, |rows| self.credentials.observe(rows)).await
    }

    /// Background work for a serving process: follow other instances' changes, deliver
    /// webhooks, and sweep expired memberships. Runs until the process ends.
    pub fn start_background(&self) {
        self.start_webhooks();
        self.start_mail();
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.sync().await {
                    tracing::warn!(error = %e, "following the change log");
                }
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
            loop {
                tick.tick().await;
                if let Err(e) = app.sweep_expired().await {
                    tracing::warn!(error = %e, "sweeping expired memberships");
                }
                if let Err(e) = app.sweep_access_pending().await {
                    tracing::warn!(error = %e, "finishing access.changed events");
                }
                if let Err(e) = app.sweep_idempotency().await {
                    tracing::warn!(error = %e, "forgetting old idempotency keys");
                }
            }
        });
    }

    /// 503 `not_ready` (with `Retry-After`) until the access index is built.
    pub fn index_built(&self) -> Result<()> {
        if self.index.is_built() {
            Ok(())
        } else {
            Err(Error::NotReady { retry_after: 1, message: "the access index is still being built; try again".into() })
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.db.begin().await?)
    }

    async fn read(&self) -> Result<cohort_store::Conn> {
        Ok(self.db.read().await?)
    }

    /// Marks the instance as stopping: from now on [`App::ready`] answers 503 `not_ready`,
    /// while every other request is still served.
    pub fn stop_taking_traffic(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this instance can answer: 503 `not_ready` while it stops and while the access index is being
    /// built, 503 `unavailable` when the database does not answer.
    pub async fn ready(&self) -> Result<()> {
        if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::NotReady { retry_after: 1, message: "this instance is shutting down".into() });
        }
        self.index_built()?;
        let answered = async { self.read().await?.query("SELECT 1", &[]).await.map_err(Error::from) }.await;
        match answered {
            Ok(_) => Ok(()),
            Err(e @ Error::Unavailable { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "readiness probe");
                Err(Error::unavailable("the database does not answer"))
            }
        }
    }
}

/// What an audited change is about.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub group_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> Change<'a> {
    pub fn new(action: &'a str, target_type: &'a str, target_id: &'a str) -> Self {
        Change { action, target_type, target_id, group_id: None, user_id: None, before: None, after: None }
    }

    pub fn group(mut self, id: &'a str) -> Self {
        self.group_id = Some(id);
        self
    }

    pub fn user(mut self, id: &'a str) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn before(mut self, v: serde_json::Value) -> Self {
        self.before = Some(v);
        self
    }

    pub fn after(mut self, v: serde_json::Value) -> Self {
        self.after = Some(v);
        self
    }

    /// Writes the audit event and the change-log row inside the caller's transaction.
    pub async fn record(self, tx: &cohort_store::Conn, p: &Principal) -> Result<i64> {
        let event = AuditEvent {
            id: id::new(id::Kind::Event),
            at: time::now(),
            actor_id: p.actor_id(),
            action: self.action.to_string(),
            target_type: self.target_type.to_string(),
            target_id: self.target_id.to_string(),
            group_id: self.group_id.map(str::to_string),
            before: self.before,
            after: self.after,
        };
        Ok(cohort_store::audit::record(tx, &event, self.user_id).await?)
    }
}

/// Checks `If-Match` against the current version: 412 when they differ.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(Error::PreconditionFailed { current }),
        _ => Ok(()),
    }
}
