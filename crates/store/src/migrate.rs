//! Paired migrations: every step has a SQLite and a PostgreSQL file of the same name, listed
//! once in [`MIGRATIONS`]; a test checks that the two folders hold the same names.

use crate::db::{Backend, Conn, Db};
use crate::{StoreError, params};
use cohort_core::time;

#[derive(Debug, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_init"),
    migration!(2, "0002_workflows"),
    migration!(3, "0003_search"),
    migration!(4, "0004_lists"),
    migration!(5, "0005_security"),
    migration!(6, "0006_idempotency"),
    migration!(7, "0007_owners"),
    migration!(8, "0008_compact_memberships"),
    migration!(9, "0009_packed_indexes"),
    migration!(10, "0010_group_details"),
    migration!(11, "0011_scim_user_documents"),
    migration!(12, "0012_scim_member_documents"),
    migration!(13, "0013_scope_sets"),
    migration!(14, "0014_user_collections"),
    migration!(15, "0015_change_events"),
    migration!(16, "0016_webhooks"),
    migration!(17, "0017_invitation_mail"),
    migration!(18, "0018_access_changes"),
];

/// The schema this binary knows: its last migration's version.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Where a database stands against the migrations this binary carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `(version, name, applied_at)` of every applied migration, oldest first.
    pub applied: Vec<(i64, String, time::Millis)>,
    /// The migrations this binary carries that the database has not had.
    pub pending: Vec<&'static Migration>,
    /// Versions applied by a newer binary that this one does not know.
    pub unknown: Vec<i64>,
}

impl Status {
    /// Whether this binary may read and write the database as it stands: nothing pending,
    /// nothing newer than it knows. The error says what to do.
    pub fn require_current(&self) -> Result<(), String> {
        if let Some(v) = self.unknown.iter().max() {
            return Err(format!(
                "the database has migration {v}, newer than this cohort knows (up to {}): run a cohort at least as new as the one that migrated it",
                latest()
            ));
        }
        match self.pending.as_slice() {
            [] => Ok(()),
            pending => {
                let names: Vec<&str> = pending.iter().map(|m| m.name).collect();
                Err(format!("the database needs {} migration(s) ({}): run `cohort migrate` first", pending.len(), names.join(", ")))
            }
        }
    }

    /// A database no migration has touched: no Cohort tables at all.
    pub fn is_new(&self) -> bool {
        self.applied.is_empty() && self.unknown.is_empty()
    }
}

/// Reads which migrations a database has had, changing nothing (a database without the
/// migrations table has had none).
pub async fn status(db: &Db) -> Result<Status, StoreError> {
    let c = db.read().await?;
    let mut applied = Vec::new();
    if tracked(&c).await? {
        for r in c.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", &[]).await? {
            applied.push((r.get(0)?, r.get(1)?, r.get(2)?));
        }
    }
    let done: Vec<i64> = applied.iter().map(|(v, _, _)| *v).collect();
    let pending = MIGRATIONS.iter().filter(|m| !done.contains(&m.version)).collect();
    let unknown = done.iter().copied().filter(|v| !MIGRATIONS.iter().any(|m| m.version == *v)).collect();
    Ok(Status { applied, pending, unknown })
}

/// Applies what is missing and answers the names applied; safe to run from several processes
/// at once.
pub async fn run(db: &Db) -> Result<Vec<&'static str>, StoreError> {
    let tx = db.begin().await?;
    let done = apply(&tx, latest()).await?;
    tx.commit().await?;
    for name in &done {
        tracing::info!(migration = name, "migration applied");
    }
    Ok(done)
}

/// Applies the missing migrations up to version `upto` inside the caller's transaction;
/// answers the names applied. A restore sets up the schema its backup was taken at, loads
/// the rows, then applies the rest, all in one transaction.
pub async fn apply(c: &Conn, upto: i64) -> Result<Vec<&'static str>, StoreError> {
    prepare(c).await?;
    let applied: Vec<i64> =
        c.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version <= upto && !applied.contains(&m.version)) {
        let sql = match c.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        c.batch(sql).await?;
        c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", &params![m.version, m.name, time::now()])
            .await?;
        done.push(m.name);
    }
    Ok(done)
}

/// Takes the migration lock for the rest of the caller's transaction and makes sure the
/// table of applied migrations exists.
pub async fn prepare(c: &Conn) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        // Building an index over a large table may take longer than any request may; and
        // instances starting together take turns (the lock ends with the transaction).
        c.batch("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock(7206147)").await?;
    }
    c.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        .await
}

/// Whether the database `c` reads has the table of applied migrations.
async fn tracked(c: &Conn) -> Result<bool, StoreError> {
    let exists = match c.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    Ok(c.query_one(exists, &[]).await?.get::<i64>(0)? > 0)
}

/// The highest migration applied to the database `c` reads (0 for one with none).
pub async fn version(c: &Conn) -> Result<i64, StoreError> {
    if !tracked(c).await? {
        return Ok(0);
    }
    c.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use std::collections::BTreeSet;

    fn names(dir: &str) -> BTreeSet<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        std::fs::read_dir(path)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn migrations_are_paired_and_listed() {
        let sqlite = names("sqlite");
        let postgres = names("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres, "every migration needs a SQLite and a PostgreSQL file of the same name");
        let listed: BTreeSet<String> = MIGRATIONS.iter().map(|m| format!("{}.sql", m.name)).collect();
        assert_eq!(listed, sqlite, "every migration file must be listed in MIGRATIONS");
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions count up from 1");
        }
    }
}
