//! Paired migrations: every step has a SQLite and a PostgreSQL file of the same name, listed
//! once in [`MIGRATIONS`]; a test checks that the two folders hold the same names.

use crate::db::{Backend, Conn, Db};
use crate::{StoreError, params};
use cohort_core::time;

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
];

/// The schema this binary knows: its last migration's version.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies what is missing; safe to run from several processes at once.
pub async fn run(db: &Db) -> Result<usize, StoreError> {
    let tx = db.begin().await?;
    let count = apply(&tx, latest()).await?;
    tx.commit().await?;
    Ok(count)
}

/// Applies the missing migrations up to version `upto` inside the caller's transaction;
/// answers how many it applied. A restore sets up the schema its backup was taken at, loads
/// the rows, then applies the rest, all in one transaction.
pub async fn apply(c: &Conn, upto: i64) -> Result<usize, StoreError> {
    prepare(c).await?;
    let applied: Vec<i64> =
        c.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
    let mut count = 0;
    for m in MIGRATIONS.iter().filter(|m| m.version <= upto && !applied.contains(&m.version)) {
        let sql = match c.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        c.batch(sql).await?;
        c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", &params![m.version, m.name, time::now()])
            .await?;
        count += 1;
    }
    Ok(count)
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

/// The highest migration applied to the database `c` reads (0 for one with none).
pub async fn version(c: &Conn) -> Result<i64, StoreError> {
    let exists = match c.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    if c.query_one(exists, &[]).await?.get::<i64>(0)? == 0 {
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
