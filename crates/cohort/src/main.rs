//! The `cohort` binary: `serve`, `migrate`, `keys`, `users`, `sync ldap`, `backup`,
//! `restore`.
//!
//! Every command opens the same database the server uses (the SQLite file under
//! `--data-dir`, or `--database-url`), so it works while a server runs.

mod backup;
mod ldap;

use clap::{Args, Parser, Subcommand};
use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_app::users::NewUser;
use cohort_core::auth::Principal;
use cohort_core::model::SiteRole;
use cohort_store::Db;
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

#[derive(Args)]
struct DbArgs {
    /// Where the embedded SQLite database lives.
    #[arg(long, env = "COHORT_DATA_DIR", default_value = "./cohort-data", global = true)]
    data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file.
    #[arg(long, env = "COHORT_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// PostgreSQL connections per process.
    #[arg(long, env = "COHORT_DB_CONNECTIONS", default_value_t = 16, global = true)]
    db_connections: usize,
    /// Seconds a request waits for a database connection (or SQLite's writer) before 503.
    #[arg(long, env = "COHORT_DB_WAIT_TIMEOUT", default_value_t = 5.0, global = true)]
    db_wait_timeout: f64,
    /// Seconds one statement may run, lock waits included, before 503.
    #[arg(long, env = "COHORT_DB_STATEMENT_TIMEOUT", default_value_t = 5.0, global = true)]
    db_statement_timeout: f64,
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
    /// Apply database migrations and exit.
    Migrate,
    /// API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Users.
    #[command(subcommand)]
    Users(UsersCommand),
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
enum KeysCommand {
    /// Create a key and print it (and nothing else) on stdout.
    Create {
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
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
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

/// Changes one user as the site does, and prints them.
async fn change_user(app: &App, who: &str, patch: cohort_app::users::UserPatch) -> Result<(), String> {
    let site = Principal::system();
    let u = app.find_user(&site, who).await.map_err(|e| format!("{who}: {e}"))?;
    let u = app.update_user(&site, &u.id, patch, None).await.map_err(|e| format!("{who}: {e}"))?;
    println!("{}", user_line(&u));
    Ok(())
}

impl DbArgs {
    fn open(&self) -> Result<Db, String> {
        let limits = cohort_store::Limits {
            pool_wait: seconds("db-wait-timeout", self.db_wait_timeout)?,
            statement: seconds("db-statement-timeout", self.db_statement_timeout)?,
            connect: seconds("db-wait-timeout", self.db_wait_timeout)?,
        };
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Db::postgres_with(url, self.db_connections, limits).map_err(|e| e.to_string())
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Db::sqlite_with(std::path::Path::new(path), limits).map_err(|e| e.to_string())
            }
            Some(other) => Err(format!("unsupported database url {other:?}: use postgres://… or sqlite:PATH")),
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| format!("creating {}: {e}", self.data_dir.display()))?;
                private_dir(&self.data_dir)?;
                Db::sqlite_with(&self.data_dir.join("cohort.db"), limits).map_err(|e| e.to_string())
            }
        }
    }
}

/// The data directory is the owner's alone (0700): it holds the database with every record
/// and password hash.
fn private_dir(dir: &std::path::Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("securing {}: {e}", dir.display()))?;
    }
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

async fn run(cli: Cli) -> Result<(), String> {
    if matches!(cli.command, Command::Version) {
        println!("cohort {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if matches!(cli.command, Command::Backup(_)) && cli.db.database_url.is_none() && !cli.db.data_dir.join("cohort.db").exists() {
        // Opening it would make an empty one.
        return Err(format!("there is no database in {}: nothing to back up", cli.db.data_dir.display()));
    }
    let db = cli.db.open()?;
    // A database that cannot be reached is said with where and why, before anything else.
    drop(db.read().await.map_err(|e| e.to_string())?);
    // Neither migrates: a backup copies the database as it is, and a restore sets up the
    // backup's own schema before it loads the rows.
    match &cli.command {
        Command::Backup(args) => return backup::run_backup(&db, args).await,
        Command::Restore(args) => return backup::run_restore(&db, args).await,
        _ => {}
    }
    let app = App::connect(db).await.map_err(|e| format!("opening the database: {e}"))?;
    match cli.command {
        Command::Migrate => {
            eprintln!("migrations applied");
        }
        Command::Serve(args) => {
            let opts = args.options()?;
            let listen = &args.listen;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("listening on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            // Listen first: /readyz answers 503 not_ready while the index is built.
            let building = app.clone();
            tokio::spawn(async move { building.build_index_then_start().await });
            if let Some(config) = args.ldap_sync_config.clone() {
                let every = seconds("ldap-sync-interval", args.ldap_sync_interval)?;
                let (syncing, prune) = (app.clone(), args.ldap_sync_prune);
                tokio::spawn(async move { scheduled_ldap_sync(syncing, config, every, prune).await });
            }
            println!("cohort listening on http://{addr}");
            tracing::info!(%addr, "listening");
            cohort_http::serve_with(listener, app, opts, shutdown_signal()).await.map_err(|e| e.to_string())?;
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
        Command::Version | Command::Backup(_) | Command::Restore(_) => {}
        Command::Users(UsersCommand::List) => {
            let site = Principal::system();
            let mut page = 1;
            loop {
                let listing = cohort_core::list::Listing::page(cohort_core::page::PageRequest { page, limit: 500, with_total: false });
                let found = app.list_users(&site, None, &listing).await.map_err(|e| e.to_string())?;
                for u in &found.items {
                    println!("{}", user_line(u));
                }
                if found.items.len() < 500 {
                    break;
                }
                page += 1;
            }
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
        Command::Sync(SyncCommand::Ldap { config, dry_run, prune }) => sync_ldap(&app, &config, dry_run, prune).await?,
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
    Ok(())
}

/// The sync `serve` runs every `every` (the first at once); each run's outcome is logged.
async fn scheduled_ldap_sync(app: App, config: PathBuf, every: std::time::Duration, prune: bool) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let run = async {
            let config = ldap::Config::read(&config)?;
            let (users, groups) = ldap::read(&config).await?;
            let plan = app.directory_plan(&config.space, &users, &groups, prune).await.map_err(|e| e.to_string())?;
            let counts = plan.counts();
            let report = app.directory_apply(&config.space, plan, |_, _| {}).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((counts, report.failed))
        };
        match run.await {
            Ok((c, failed)) => {
                tracing::info!(
                    made = c.users_made,
                    changed = c.users_changed,
                    groups = c.groups_made,
                    renamed = c.groups_renamed,
                    added = c.members_added,
                    removed = c.members_removed,
                    users_left = c.users_left,
                    groups_left = c.groups_left,
                    pruned = prune,
                    refused = failed.len(),
                    "ldap sync"
                );
                for f in failed {
                    tracing::warn!(step = %f, "ldap sync step refused");
                }
            }
            Err(e) => tracing::warn!(error = %e, "ldap sync failed"),
        }
    }
}

/// `cohort sync ldap`: reads the directory, prints the plan (dry run) or carries it out with a
/// progress bar, then a summary; fails if any step was refused.
async fn sync_ldap(app: &App, config: &std::path::Path, dry_run: bool, prune: bool) -> Result<(), String> {
    let config = ldap::Config::read(config)?;
    let (users, groups) = ldap::read(&config).await?;
    eprintln!("{}: {} people, {} groups", config.url, users.len(), groups.len());
    let plan = app.directory_plan(&config.space, &users, &groups, prune).await.map_err(|e| e.to_string())?;
    let c = plan.counts();
    let summary = format!(
        "users: {} to make, {} to change; groups: {} to make, {} to rename; members: {} to add, {} to remove",
        c.users_made, c.users_changed, c.groups_made, c.groups_renamed, c.members_added, c.members_removed
    );
    // What the directory no longer lists: acted on with --prune, else only said.
    let left = if prune {
        format!("; left the directory: {} users to deactivate, {} groups to delete", c.users_left, c.groups_left)
    } else {
        format!("; left the directory (kept without --prune): {} users, {} groups", c.users_left, c.groups_left)
    };
    let summary = summary + &left;
    if dry_run {
        for u in &plan.create_users {
            println!("make user {} ({})", u.username, u.external_id);
        }
        for (id, u) in &plan.update_users {
            println!("change user {id} to {} {:?} {:?}", u.username, u.email, u.full_name);
        }
        for (g, members) in &plan.create_groups {
            println!("make group {} ({}) with {} members", g.name, g.external_id, members.len());
        }
        for (id, name) in &plan.rename_groups {
            println!("rename group {id} to {name}");
        }
        for (id, add) in &plan.add {
            println!("add {} members to group {id}", add.len());
        }
        for (id, gone) in &plan.remove {
            println!("remove {} members from group {id}: {}", gone.len(), gone.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        let (user_verb, group_verb) = if prune { ("deactivate", "delete") } else { ("keep", "keep") };
        for (id, username) in &plan.left_users {
            println!("{user_verb} user {username} ({id}): no longer in the directory");
        }
        for (id, name) in &plan.left_groups {
            println!("{group_verb} group {name} ({id}): no longer in the directory");
        }
        println!("dry run, nothing changed: {summary}");
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = app
        .directory_apply(&config.space, plan, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "synced: {}",
        summary
            .replace("to make", "made")
            .replace("to change", "changed")
            .replace("to rename", "renamed")
            .replace("to add", "added")
            .replace("to remove", "removed")
            .replace("to deactivate", "deactivated")
            .replace("to delete", "deleted")
    );
    if report.failed.is_empty() {
        return Ok(());
    }
    for f in &report.failed {
        eprintln!("refused: {f}");
    }
    Err(format!("{} steps were refused", report.failed.len()))
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
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cohort: {e}");
            ExitCode::FAILURE
        }
    }
}
