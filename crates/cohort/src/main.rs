//! The `cohort` binary: `serve`, `migrate`, `keys`, `users`, `spaces`, `check`, `export`,
//! `import`, `backup`, `restore`, `sync ldap`, `version`.
//!
//! Every command opens the same database the server uses (the SQLite file under
//! `--data-dir`, or `--database-url`), so it works while a server runs. Only `serve` and
//! `migrate` change the schema; other commands refuse a database whose migrations are not
//! current, and make none unless given `--create` ([`db`]).

mod backup;
mod check;
mod db;
mod ldap;
mod reference;
mod sync;
mod transfer;

use clap::{Args, Parser, Subcommand};
use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_app::users::NewUser;
use cohort_core::auth::Principal;
use cohort_core::model::SiteRole;
use db::DbArgs;
use std::path::PathBuf;
use std::process::ExitCode;

// A request builds and drops many small strings from several threads at once; glibc's
// allocator spent a sixth of a list request's CPU there (and contended on its arena
// locks), mimalloc's thread-local pages much less.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "cohort", version, about = "Groups, memberships and permissions as a service")]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    /// How log lines are written: `text` (`key=value` fields) or `json` (one object a line).
    #[arg(long, env = "COHORT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// What a serving process waits for and limits.
#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "COHORT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seconds for a request's headers to arrive (also how long a kept-alive connection waits
    /// for its next request).
    #[arg(long, env = "COHORT_HEADER_TIMEOUT", default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds of silence after which a connection is closed.
    #[arg(long, env = "COHORT_IDLE_TIMEOUT", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, env = "COHORT_REQUEST_TIMEOUT", default_value_t = 30.0)]
    request_timeout: f64,
    /// Proxies whose X-Forwarded-For names the client (comma list of addresses).
    #[arg(long, env = "COHORT_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Requests per second allowed per credential (off when not given).
    #[arg(long, env = "COHORT_RATE_LIMIT_PER_KEY")]
    rate_limit_per_key: Option<u32>,
    /// Requests per second allowed per client address (off when not given).
    #[arg(long, env = "COHORT_RATE_LIMIT_PER_ADDRESS")]
    rate_limit_per_address: Option<u32>,
    /// Log one line per request (`cohort::request`: method, route, status, ms, request id).
    #[arg(long, env = "COHORT_ACCESS_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    access_log: bool,
    /// Origins whose pages may call the API from a browser (comma list of
    /// `https://host[:port]`, or `*` for any; none when not given).
    #[arg(long, env = "COHORT_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Seconds between being asked to stop (SIGTERM, Ctrl-C) and closing the listener: in
    /// them `/readyz` answers 503 while requests are still served, for a load balancer to
    /// notice; open requests are then finished.
    #[arg(long, env = "COHORT_SHUTDOWN_DELAY", default_value_t = 0.0)]
    shutdown_delay: f64,
    /// Sync from LDAP with this configuration (as `cohort sync ldap --config`) while serving
    /// (off when not given).
    #[arg(long, env = "COHORT_LDAP_SYNC_CONFIG")]
    ldap_sync_config: Option<PathBuf>,
    /// Seconds between two scheduled LDAP syncs.
    #[arg(long, env = "COHORT_LDAP_SYNC_INTERVAL", default_value_t = 900.0)]
    ldap_sync_interval: f64,
    /// Scheduled syncs also remove what the directory dropped (`--prune`).
    #[arg(long, env = "COHORT_LDAP_SYNC_PRUNE")]
    ldap_sync_prune: bool,
    /// Deliver webhooks to loopback and private-network addresses too (off: only to the
    /// public internet, so that a subscription cannot reach the service's own network).
    #[arg(long, env = "COHORT_WEBHOOKS_ALLOW_PRIVATE_NETWORKS")]
    webhooks_allow_private_networks: bool,
    /// The longest wait, in seconds, between two attempts at a failing webhook delivery
    /// (waits double from 5 s up to it; an event is retried for 24 hours).
    #[arg(long, env = "COHORT_WEBHOOKS_MAX_RETRY_INTERVAL", default_value_t = 600.0)]
    webhooks_max_retry_interval: f64,
    /// Send invitation mail through this SMTP server: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS), `smtp://host:25` (plain). No mail is
    /// sent when not given. Failed sends are retried as webhooks are.
    #[arg(long, env = "COHORT_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of the service's mail.
    #[arg(long, env = "COHORT_MAIL_FROM", default_value = "Cohort <cohort@localhost>")]
    mail_from: String,
    /// The accept link an invitation's mail carries: the application's page that accepts
    /// invitations, with `{invitation_id}` and `{token}` (and optionally `{group_id}`) in it.
    #[arg(long, env = "COHORT_INVITATION_URL", default_value = "http://localhost:8080/invitations/{invitation_id}?token={token}")]
    invitation_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn seconds(name: &str, s: f64) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--{name} must be a positive number of seconds"))
}

impl ServeArgs {
    fn webhooks(&self) -> Result<cohort_app::webhooks::Settings, String> {
        let cap = seconds("webhooks-max-retry-interval", self.webhooks_max_retry_interval)?;
        let mut settings = cohort_app::webhooks::Settings { allow_private: self.webhooks_allow_private_networks, ..Default::default() };
        settings.backoff.cap = i64::try_from(cap.as_millis()).unwrap_or(i64::MAX);
        settings.backoff.base = settings.backoff.base.min(settings.backoff.cap);
        Ok(settings)
    }

    fn options(&self) -> Result<cohort_http::ServeOptions, String> {
        Ok(cohort_http::ServeOptions {
            header_timeout: seconds("header-timeout", self.header_timeout)?,
            idle_timeout: seconds("idle-timeout", self.idle_timeout)?,
            request_timeout: seconds("request-timeout", self.request_timeout)?,
            trusted_proxies: self.trusted_proxies.clone(),
            limits: cohort_http::limits::RateLimits { per_key: self.rate_limit_per_key, per_address: self.rate_limit_per_address },
            cors_origins: cohort_http::cors::CorsOrigins::parse(&self.cors_origins)?,
            access_log: self.access_log,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Apply the database migrations this binary carries, and exit.
    Migrate {
        /// Only say which migrations are applied and which are pending; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Spaces.
    #[command(subcommand)]
    Spaces(SpacesCommand),
    /// Write users, spaces, groups (with parents and permissions), custom roles, memberships
    /// and direct collection grants as JSON Lines or CSV, for `cohort import` here or
    /// elsewhere.
    Export(transfer::ExportArgs),
    /// Read records written by `cohort export` (or by hand) through the same rules as the
    /// API: users and groups matched by external_id, spaces by name, so a second run of the
    /// same file changes nothing. Refused rows are said with their line; exits 2 if any was.
    Import(transfer::ImportArgs),
    /// May this user do this? Prints `{"allowed":…,"via":[…]}`; exits 0 when allowed, 1 when
    /// denied (2 when the question could not be answered).
    Check(check::CheckArgs),
    /// Bring a space in line with a directory.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Write every table to a backup file, from a consistent snapshot taken while the server
    /// runs (one portable format for SQLite and PostgreSQL).
    Backup(backup::BackupArgs),
    /// Load a backup into an empty database of either kind (SQLite → PostgreSQL is the
    /// upgrade path), then apply the migrations this binary has beyond the backup's.
    Restore(backup::RestoreArgs),
    /// Print this binary's version.
    Version,
    /// Print the command-line reference in Markdown (docs/cli.md).
    #[command(hide = true)]
    Reference,
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Read people and groups from LDAP or Active Directory into a space: users and groups
    /// matched by their directory ids, nested groups flattened, members added (and with
    /// `--prune` removed) through the membership engine.
    Ldap {
        /// The JSON configuration (URL, bind DN and password source, base DNs, preset, space).
        #[arg(long)]
        config: PathBuf,
        /// Print what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also remove members the directory no longer lists in a group.
        #[arg(long)]
        prune: bool,
    },
}

#[derive(Subcommand)]
enum SpacesCommand {
    /// Create a space and print it as JSON.
    Create {
        /// The space's name (unique on the site).
        #[arg(long)]
        name: String,
        /// What the space is for.
        #[arg(long)]
        description: Option<String>,
        /// Comma list of the space's moderators (ids, usernames or emails).
        #[arg(long, value_delimiter = ',')]
        moderators: Vec<String>,
    },
    /// List the spaces, one JSON object a line.
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (and nothing else) on stdout.
    Create {
        /// A name to know the key by (the secret is never shown again).
        #[arg(long)]
        name: String,
        /// Comma list: groups:read, groups:write, users:read, users:write, scim, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// The user the key acts as; without it the key is a site key.
        #[arg(long)]
        user: Option<String>,
        /// The space a `scim` key is bound to.
        #[arg(long)]
        space: Option<String>,
    },
    /// List the keys, one JSON object a line (never their secrets: only the prefix).
    List,
    /// Revoke a key by its id (`key_…`): requests made with it are refused from then on.
    Revoke {
        /// The key's id, as `keys list` prints it.
        id: String,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user and print it as JSON.
    Create {
        /// The name the user signs in with (unique).
        #[arg(long)]
        username: String,
        /// The user's email address (unique; also a sign-in name).
        #[arg(long)]
        email: Option<String>,
        /// The name shown for the user.
        #[arg(long)]
        full_name: Option<String>,
        /// The password; also read from COHORT_PASSWORD.
        #[arg(long, env = "COHORT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Make the user a site administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List the users, one JSON object a line.
    List,
    /// Set a user's password, read from standard input (one line), never from the command
    /// line; the user's sessions end.
    SetPassword {
        /// The user's id, username or email.
        user: String,
    },
    /// Make a user a site administrator.
    Promote {
        /// The user's id, username or email.
        user: String,
    },
    /// Make a site administrator an ordinary user again.
    Demote {
        /// The user's id, username or email.
        user: String,
    },
    /// Deactivate a user: they can no longer sign in, and their sessions end.
    Deactivate {
        /// The user's id, username or email.
        user: String,
    },
    /// Make a deactivated user active again.
    Activate {
        /// The user's id, username or email.
        user: String,
    },
}

/// A user as the CLI prints them (no secret, no hash).
fn user_line(u: &cohort_core::model::User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id, "username": u.username, "email": u.email, "full_name": u.full_name,
        "site_role": u.site_role.as_str(), "active": u.active, "created_at": cohort_core::time::rfc3339(u.created_at),
    })
}

/// A space as the CLI prints it.
fn space_line(s: &cohort_core::model::Space) -> serde_json::Value {
    serde_json::json!({
        "id": s.id, "name": s.name, "description": s.description, "moderators": s.moderators,
        "created_at": cohort_core::time::rfc3339(s.created_at),
    })
}

/// Walks a list 500 at a time, handing each item to `each`.
async fn for_each_page<T>(
    mut list: impl AsyncFnMut(&cohort_core::list::Listing) -> cohort_core::Result<cohort_core::page::Page<T>>,
    mut each: impl FnMut(&T),
) -> Result<(), String> {
    const PAGE: i64 = 500;
    for page in 1.. {
        let listing = cohort_core::list::Listing::page(cohort_core::page::PageRequest { page, limit: PAGE, with_total: false });
        let found = list(&listing).await.map_err(|e| e.to_string())?;
        found.items.iter().for_each(&mut each);
        if !found.has_more {
            break;
        }
    }
    Ok(())
}

/// The exit code of a check: 0 allowed, 1 denied.
fn allowed(yes: bool) -> ExitCode {
    if yes { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `cohort migrate --status`: each migration applied (with when) and each pending.
async fn migration_status(db: &cohort_store::Db) -> Result<(), String> {
    let status = cohort_store::migrate::status(db).await.map_err(|e| e.to_string())?;
    println!("{}", db.location());
    for (version, name, at) in &status.applied {
        println!("applied  {version:>4} {name} {}", cohort_core::time::rfc3339(*at));
    }
    for m in &status.pending {
        println!("pending  {:>4} {}", m.version, m.name);
    }
    for v in &status.unknown {
        println!("unknown  {v:>4} (applied by a newer cohort)");
    }
    Ok(())
}

/// A rate limit as the configuration line says it.
fn per_second(limit: Option<u32>) -> String {
    limit.map_or_else(|| "off".into(), |n| format!("{n}/s"))
}

/// The settings a server starts with, logged once (no secret: the database is named by
/// where it is, never by its URL's password).
fn log_configuration(db_args: &DbArgs, args: &ServeArgs, db: &cohort_store::Db) {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        database = db.location(),
        db_connections = db_args.db_connections,
        db_wait_timeout = db_args.db_wait_timeout,
        db_statement_timeout = db_args.db_statement_timeout,
        listen = args.listen,
        header_timeout = args.header_timeout,
        idle_timeout = args.idle_timeout,
        request_timeout = args.request_timeout,
        trusted_proxies = ?args.trusted_proxies,
        rate_limit_per_key = per_second(args.rate_limit_per_key),
        rate_limit_per_address = per_second(args.rate_limit_per_address),
        access_log = args.access_log,
        shutdown_delay = args.shutdown_delay,
        cors_origins = ?args.cors_origins,
        ldap_sync_config = ?args.ldap_sync_config,
        ldap_sync_interval = args.ldap_sync_interval,
        ldap_sync_prune = args.ldap_sync_prune,
        "configuration"
    );
}

/// Changes one user as the site does, and prints them.
async fn change_user(app: &App, who: &str, patch: cohort_app::users::UserPatch) -> Result<(), String> {
    let site = Principal::system();
    let u = app.find_user(&site, who).await.map_err(|e| format!("{who}: {e}"))?;
    let u = app.update_user(&site, &u.id, patch, None).await.map_err(|e| format!("{who}: {e}"))?;
    println!("{}", user_line(&u));
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Runs a command; answers the exit code (a check that is denied exits 1, see [`Command::Check`]).
async fn run(cli: Cli) -> Result<ExitCode, String> {
    if matches!(cli.command, Command::Version) {
        println!("cohort {}", env!("CARGO_PKG_VERSION"));
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(cli.command, Command::Reference) {
        print!("{}", reference::markdown(<Cli as clap::CommandFactory>::command()));
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Check(args) = &cli.command
        && args.remote()
    {
        return Ok(allowed(check::ask_service(args).await?));
    }
    // `serve`, `migrate` and `restore` make a new database; other commands only when asked.
    let makes = matches!(cli.command, Command::Serve(_) | Command::Migrate { status: false } | Command::Restore(_));
    let db = cli.db.open(cli.db.create || makes)?;
    if let Command::Serve(args) = &cli.command {
        log_configuration(&cli.db, args, &db);
    }
    // A database that cannot be reached is said with where and why, before anything else.
    drop(db.read().await.map_err(|e| e.to_string())?);
    let app = match &cli.command {
        // Neither migrates: a backup copies the database as it is, and a restore sets up the
        // backup's own schema before it loads the rows.
        Command::Backup(args) => return backup::run_backup(&db, args).await.map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => return backup::run_restore(&db, args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate { status: true } => return migration_status(&db).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate { status: false } => {
            // A binary older than the database has nothing to apply and must not say "now at"
            // a version the database has passed.
            let status = cohort_store::migrate::status(&db).await.map_err(|e| e.to_string())?;
            if !status.unknown.is_empty() {
                return Err(format!("{}: {}", db.location(), status.require_current().err().unwrap_or_default()));
            }
            let applied = cohort_store::migrate::run(&db).await.map_err(|e| format!("migrating {}: {e}", db.location()))?;
            for name in &applied {
                eprintln!("applied {name}");
            }
            let at = cohort_store::migrate::latest();
            eprintln!("{}: {} migration(s) applied, now at {at}", db.location(), applied.len());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Serve(_) => {
            let app = App::connect(db.clone()).await.map_err(|e| format!("opening the database: {e}"))?;
            // Several instances upgrade one at a time: an older one keeps serving a database a
            // newer one migrated (migrations add, they do not take away), and says so.
            if let Ok(status) = cohort_store::migrate::status(&db).await
                && let Err(newer) = status.require_current()
            {
                tracing::warn!(database = db.location(), "{newer}");
            }
            app
        }
        _ => {
            db::require_current(&db, cli.db.create).await?;
            App::attach(db).await.map_err(|e| format!("opening the database: {e}"))?
        }
    };
    match cli.command {
        Command::Migrate { .. } | Command::Version | Command::Reference | Command::Backup(_) | Command::Restore(_) => {}
        Command::Check(args) => return Ok(allowed(check::ask_data(&app, &args).await?)),
        Command::Serve(args) => {
            let opts = args.options()?;
            app.configure_webhooks(args.webhooks()?).map_err(|e| e.to_string())?;
            if let Some(smtp_url) = args.smtp_url.clone() {
                let mail =
                    cohort_app::mail::Settings { smtp_url, from: args.mail_from.clone(), invitation_url: args.invitation_url.clone() };
                app.configure_mail(mail).map_err(|e| format!("mail: {e}"))?;
            }
            let listen = &args.listen;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("listening on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            // Listen first: /readyz answers 503 not_ready while the index is built.
            let building = app.clone();
            tokio::spawn(async move { building.build_index_then_start().await });
            if let Some(config) = args.ldap_sync_config.clone() {
                let every = seconds("ldap-sync-interval", args.ldap_sync_interval)?;
                let (syncing, prune) = (app.clone(), args.ldap_sync_prune);
                tokio::spawn(async move { sync::scheduled_ldap_sync(syncing, config, every, prune).await });
            }
            println!("cohort listening on http://{addr}");
            tracing::info!(%addr, "listening");
            let grace = std::time::Duration::try_from_secs_f64(args.shutdown_delay)
                .map_err(|_| "--shutdown-delay must be a number of seconds, 0 or more".to_string())?;
            let stopping = app.clone();
            let stop = async move {
                shutdown_signal().await;
                // Say "not ready" first and keep serving a while, so that a load balancer stops
                // sending requests here before the listener closes; then finish what is open.
                stopping.stop_taking_traffic();
                tracing::info!(seconds = grace.as_secs_f64(), "stopping: /readyz answers 503, still serving for the shutdown delay");
                tokio::time::sleep(grace).await;
                tracing::info!("stopping: no new connections; finishing open requests");
            };
            cohort_http::serve_with(listener, app, opts, stop).await.map_err(|e| e.to_string())?;
            tracing::info!("stopped");
        }
        Command::Spaces(SpacesCommand::Create { name, description, moderators }) => {
            let site = Principal::system();
            let mut ids = Vec::with_capacity(moderators.len());
            for who in &moderators {
                ids.push(app.find_user(&site, who).await.map_err(|e| format!("{who}: {e}"))?.id);
            }
            let space = app.create_space(&site, &name, description, ids).await.map_err(|e| format!("{name}: {e}"))?;
            println!("{}", space_line(&space));
        }
        Command::Export(args) => transfer::export(&app, &args).await?,
        Command::Import(args) => transfer::import(&app, &args).await?,
        Command::Spaces(SpacesCommand::List) => {
            let site = Principal::system();
            for_each_page(async |listing| app.list_spaces(&site, listing).await, |s| println!("{}", space_line(s))).await?;
        }
        Command::Keys(KeysCommand::Create { name, scopes, user, space }) => {
            let new = NewKey { name, scopes, owner_user_id: user, space_id: space, expires_at: None };
            let (_, secret) = app.create_key(&Principal::system(), new).await.map_err(|e| e.to_string())?;
            println!("{secret}");
        }
        Command::Keys(KeysCommand::List) => {
            for k in app.list_keys(&Principal::system()).await.map_err(|e| e.to_string())? {
                let out = serde_json::json!({
                    "id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes, "user_id": k.owner_user_id,
                    "space_id": k.space_id, "created_at": cohort_core::time::rfc3339(k.created_at),
                    "expires_at": k.expires_at.map(cohort_core::time::rfc3339), "last_used_at": k.last_used_at.map(cohort_core::time::rfc3339),
                });
                println!("{out}");
            }
        }
        Command::Keys(KeysCommand::Revoke { id }) => {
            app.revoke_key(&Principal::system(), &id).await.map_err(|e| format!("revoking {id}: {e}"))?;
            eprintln!("revoked {id}");
        }
        Command::Users(UsersCommand::List) => {
            let site = Principal::system();
            for_each_page(async |listing| app.list_users(&site, None, listing).await, |u| println!("{}", user_line(u))).await?;
        }
        Command::Users(UsersCommand::SetPassword { user }) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = line.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() {
                return Err("no password on standard input (e.g. `cohort users set-password alice < file`)".into());
            }
            change_user(&app, &user, cohort_app::users::UserPatch { password: Some(password), ..Default::default() }).await?;
        }
        Command::Users(UsersCommand::Promote { user }) => {
            change_user(&app, &user, cohort_app::users::UserPatch { site_role: Some(SiteRole::Admin), ..Default::default() }).await?;
        }
        Command::Users(UsersCommand::Demote { user }) => {
            change_user(&app, &user, cohort_app::users::UserPatch { site_role: Some(SiteRole::User), ..Default::default() }).await?;
        }
        Command::Users(UsersCommand::Deactivate { user }) => {
            change_user(&app, &user, cohort_app::users::UserPatch { active: Some(false), ..Default::default() }).await?;
        }
        Command::Users(UsersCommand::Activate { user }) => {
            change_user(&app, &user, cohort_app::users::UserPatch { active: Some(true), ..Default::default() }).await?;
        }
        Command::Sync(SyncCommand::Ldap { config, dry_run, prune }) => sync::sync_ldap(&app, &config, dry_run, prune).await?,
        Command::Users(UsersCommand::Create { username, email, full_name, password, admin }) => {
            let new = NewUser {
                username,
                email,
                full_name,
                password,
                site_role: Some(if admin { SiteRole::Admin } else { SiteRole::User }),
                ..NewUser::default()
            };
            let u = app.create_user(&Principal::system(), new).await.map_err(|e| e.to_string())?;
            let out = serde_json::json!({"id": u.id, "username": u.username, "email": u.email, "site_role": u.site_role.as_str()});
            println!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    // Colours only on a terminal: a log file or collector gets plain `key=value` fields, or
    // JSON objects with `--log-format json`.
    let filter = tracing_subscriber::EnvFilter::try_from_env("COHORT_LOG").unwrap_or_else(|_| default_level.into());
    // Lines go through a queue to a writer thread; the guard flushes it when `main` returns.
    // Past 128,000 lines waiting (a stalled stderr), new lines are dropped, not waited for.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking(std::io::stderr());
    let logs = tracing_subscriber::fmt().with_writer(writer).with_env_filter(filter);
    match cli.log_format {
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cohort: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cohort: {e}");
            ExitCode::from(2)
        }
    }
}
