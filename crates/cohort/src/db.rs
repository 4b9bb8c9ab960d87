//! Which database a command works on, and whether it may: the SQLite file under
//! `--data-dir` (or a `sqlite:` URL) or PostgreSQL, opened with the limits the flags set;
//! a command other than `serve` neither makes a database nor migrates one unless asked.

use crate::seconds;
use clap::Args;
use cohort_store::Db;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DbArgs {
    /// Where the embedded SQLite database lives (`cohort.db` in it).
    #[arg(long, env = "COHORT_DATA_DIR", default_value = "./cohort-data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file (or
    /// `sqlite:PATH` for a SQLite file elsewhere).
    #[arg(long, env = "COHORT_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL connections per process.
    #[arg(long, env = "COHORT_DB_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_connections: usize,
    /// Seconds a request waits for a database connection (or SQLite's writer) before 503.
    #[arg(long, env = "COHORT_DB_WAIT_TIMEOUT", default_value_t = 5.0, global = true)]
    pub db_wait_timeout: f64,
    /// Seconds one statement may run, lock waits included, before 503.
    #[arg(long, env = "COHORT_DB_STATEMENT_TIMEOUT", default_value_t = 5.0, global = true)]
    pub db_statement_timeout: f64,
    /// Make the database if there is none yet (the SQLite file and its directory, or Cohort's
    /// tables in an empty PostgreSQL database). Without it only `serve`, `migrate` and
    /// `restore` make one; other commands say where they looked.
    #[arg(long, global = true)]
    pub create: bool,
}

impl DbArgs {
    /// The SQLite file these flags name, if they name one.
    fn sqlite_file(&self) -> Option<PathBuf> {
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("sqlite:") => {
                Some(PathBuf::from(url.trim_start_matches("sqlite://").trim_start_matches("sqlite:")))
            }
            Some(_) => None,
            None => Some(self.data_dir.join("cohort.db")),
        }
    }

    /// Opens the database, making a SQLite file (and its private directory) only when
    /// `create`; a missing one is otherwise an error that says where it was looked for.
    pub fn open(&self, create: bool) -> Result<Db, String> {
        let limits = cohort_store::Limits {
            pool_wait: seconds("db-wait-timeout", self.db_wait_timeout)?,
            statement: seconds("db-statement-timeout", self.db_statement_timeout)?,
            connect: seconds("db-wait-timeout", self.db_wait_timeout)?,
        };
        if let Some(file) = self.sqlite_file() {
            if !file.exists() {
                if !create {
                    return Err(format!(
                        "no Cohort database at {}: point --data-dir (COHORT_DATA_DIR) or --database-url at the server's data, \
                         or pass --create to make a new one",
                        file.display()
                    ));
                }
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                    private_dir(dir)?;
                }
            }
            return Db::sqlite_with(&file, limits).map_err(|e| e.to_string());
        }
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Db::postgres_with(url, self.db_connections, limits).map_err(|e| e.to_string())
            }
            Some(other) => {
                let scheme = other.split(':').next().unwrap_or_default();
                Err(format!("unsupported database url scheme {scheme:?}: use postgres://… or sqlite:PATH"))
            }
            None => Err("no database named".into()),
        }
    }
}

/// Checks that `db` is one this binary may read and write as it stands: a database with no
/// Cohort tables is migrated only when `create`; pending migrations are an error that says
/// to run `cohort migrate`, and so is a database a newer binary migrated.
pub async fn require_current(db: &Db, create: bool) -> Result<(), String> {
    let status = cohort_store::migrate::status(db).await.map_err(|e| e.to_string())?;
    if status.is_new() {
        if !create {
            return Err(format!("{} has no Cohort tables: run `cohort migrate` (or pass --create) first", db.location()));
        }
        cohort_store::migrate::run(db).await.map_err(|e| format!("migrating {}: {e}", db.location()))?;
        return Ok(());
    }
    status.require_current().map_err(|e| format!("{}: {e}", db.location()))
}

/// The data directory is the owner's alone (0700): it holds the database with every record
/// and password hash.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("securing {}: {e}", dir.display()))?;
    }
    Ok(())
}
