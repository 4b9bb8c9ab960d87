//! What a restore's load goes faster without, set aside before the rows go in and put back
//! once they are all in, inside the restore's transaction.
//!
//! - Secondary indexes (on both databases): one built from all the rows at once sorts them
//!   a single time, where one kept up row by row walks its tree for every row (PostgreSQL
//!   took 25 s to insert a million memberships with their indexes, 2 s without, and builds
//!   those indexes in 6 s).
//! - Foreign keys on PostgreSQL: added back, each is checked for the whole table by one
//!   join, where kept it fires a trigger and a lookup for every row (another 22 s for those
//!   million memberships; 0.7 s added back). SQLite's are deferred to the commit instead,
//!   and its parent lookups go through primary keys, which stay.
//! - SQLite's page cache: the writer's few megabytes would spill pages of a large load to
//!   the WAL and read them back many times over.
//!
//! A backup of 1,085,567 rows (a million memberships) restored in 45 s into PostgreSQL
//! and 27 s into SQLite with everything in place; 20 s and 9 s like this.

use super::tables::quote;
use crate::StoreError;
use crate::db::{Backend, Conn};

/// The page cache, in KiB, of SQLite's writer during a restore.
const LOAD_CACHE_KIB: i64 = 256 * 1024;

/// The statements that put back what [`set_aside`] took away, in order.
pub struct SetAside(Vec<String>);

/// Drops the schema's secondary indexes (and on PostgreSQL its foreign keys), and answers
/// how to make them again as they were.
pub async fn set_aside(c: &Conn) -> Result<SetAside, StoreError> {
    let mut again = Vec::new();
    match c.backend() {
        Backend::Sqlite => {
            let cache: i64 = c.query_one("PRAGMA cache_size", &[]).await?.get(0)?;
            // Those with SQL of their own: the rest back a primary key or a UNIQUE column.
            for index in c.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name", &[]).await? {
                let (name, sql): (String, String) = (index.get(0)?, index.get(1)?);
                c.batch(&format!("DROP INDEX {}", quote(&name))).await?;
                again.push(sql);
            }
            c.batch(&format!("PRAGMA cache_size = -{LOAD_CACHE_KIB}")).await?;
            again.push(format!("PRAGMA cache_size = {cache}"));
        }
        Backend::Postgres => {
            // Indexes that back no constraint (a primary key, a UNIQUE column; they stay).
            let indexes = "SELECT i.relname::text, pg_get_indexdef(x.indexrelid) FROM pg_index x \
                           JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace \
                           WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) \
                           ORDER BY 1";
            let keys = "SELECT t.relname::text, k.conname::text, pg_get_constraintdef(k.oid) FROM pg_constraint k \
                        JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                        WHERE k.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2";
            let (indexes, keys) = (c.query(indexes, &[]).await?, c.query(keys, &[]).await?);
            let mut keys_again = Vec::new();
            for key in keys {
                let (table, name, definition): (String, String, String) = (key.get(0)?, key.get(1)?, key.get(2)?);
                c.batch(&format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&table), quote(&name))).await?;
                keys_again.push(format!("ALTER TABLE {} ADD CONSTRAINT {} {definition}", quote(&table), quote(&name)));
            }
            for index in indexes {
                let (name, definition): (String, String) = (index.get(0)?, index.get(1)?);
                c.batch(&format!("DROP INDEX {}", quote(&name))).await?;
                again.push(definition);
            }
            // Indexes first: checking a key may use one.
            again.extend(keys_again);
        }
    }
    Ok(SetAside(again))
}

/// Makes again what [`set_aside`] dropped; a row that breaks a unique index or a foreign key
/// fails here.
pub async fn put_back(c: &Conn, set_aside: SetAside) -> Result<(), StoreError> {
    for sql in set_aside.0 {
        c.batch(&sql).await?;
    }
    Ok(())
}
