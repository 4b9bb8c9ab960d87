//! The two databases end up with one schema: migrate a fresh SQLite file and a fresh
//! PostgreSQL database, and compare their tables, columns and indexes by name. What differs
//! by design (each database's own search index) is left out here, and nothing else may differ.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_store::{Conn, Db, Value};
use std::collections::BTreeSet;

#[derive(Debug, Default, PartialEq)]
struct Schema {
    tables: BTreeSet<String>,
    /// `table.column`
    columns: BTreeSet<String>,
    /// `table.index`
    indexes: BTreeSet<String>,
}

async fn strings(c: &Conn, sql: &str, args: &[Value]) -> Vec<String> {
    c.query(sql, args).await.unwrap().iter().map(|r| r.get::<String>(0).unwrap()).collect()
}

async fn sqlite_schema(c: &Conn) -> Schema {
    let mut s = Schema::default();
    // SQLite's full-text tables (and the shadow tables FTS5 keeps for them) serve search;
    // PostgreSQL serves it with trigram indexes instead.
    let tables = strings(
        c,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_search' AND name NOT LIKE '%_search_%' ORDER BY name",
        &[],
    )
    .await;
    for t in tables {
        for col in strings(c, "SELECT name FROM pragma_table_info(?)", &[Value::from(t.as_str())]).await {
            s.columns.insert(format!("{t}.{col}"));
        }
        for r in c
            .query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?", &[Value::from(t.as_str())])
            .await
            .unwrap()
        {
            s.indexes.insert(format!("{t}.{}", r.get::<String>(0).unwrap()));
        }
        s.tables.insert(t);
    }
    s
}

async fn postgres_schema(c: &Conn) -> Schema {
    let mut s = Schema::default();
    for t in strings(
        c,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        &[],
    )
    .await
    {
        for col in strings(
            c,
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?",
            &[Value::from(t.as_str())],
        )
        .await
        {
            s.columns.insert(format!("{t}.{col}"));
        }
        s.tables.insert(t);
    }
    // Indexes made by CREATE INDEX (not those backing a primary key or a UNIQUE column,
    // which SQLite makes unnamed), without the trigram indexes of search.
    let sql = "SELECT t.relname::text, i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
               JOIN pg_namespace n ON n.oid = t.relnamespace \
               WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AND i.relname NOT LIKE '%_trgm'";
    for r in c.query(sql, &[]).await.unwrap() {
        s.indexes.insert(format!("{}.{}", r.get::<String>(0).unwrap(), r.get::<String>(1).unwrap()));
    }
    s
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn both_databases_get_the_same_tables_columns_and_indexes() {
    let base = std::env::var("COHORT_TEST_DATABASE_URL").expect("COHORT_TEST_DATABASE_URL is not set: a PostgreSQL test cannot run");
    let dir = std::env::temp_dir().join(format!("cohort-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lite = Db::sqlite(&dir.join("schema.db")).unwrap();
    cohort_store::migrate::run(&lite).await.unwrap();
    let name = format!("cohort_t_schema_{}", std::process::id());
    let admin = Db::postgres(&base, 1).unwrap();
    admin.read().await.unwrap().batch(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
    admin.read().await.unwrap().batch(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (head, _) = base.rsplit_once('/').unwrap();
    let pg = Db::postgres(&format!("{head}/{name}"), 2).unwrap();
    cohort_store::migrate::run(&pg).await.unwrap();

    let sqlite = sqlite_schema(&lite.read().await.unwrap()).await;
    let postgres = postgres_schema(&pg.read().await.unwrap()).await;
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.symmetric_difference(b).cloned().collect::<Vec<_>>();
    assert_eq!(diff(&sqlite.tables, &postgres.tables), Vec::<String>::new(), "tables");
    assert_eq!(diff(&sqlite.columns, &postgres.columns), Vec::<String>::new(), "columns");
    assert_eq!(diff(&sqlite.indexes, &postgres.indexes), Vec::<String>::new(), "indexes");
    assert!(sqlite.tables.contains("memberships") && sqlite.indexes.len() > 10);
    drop((pg, lite));
    let _ = admin.read().await.unwrap().batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    let _ = std::fs::remove_dir_all(&dir);
}
