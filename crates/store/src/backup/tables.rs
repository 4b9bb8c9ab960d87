//! Cohort's tables as the database's own catalogue lists them (so a table a migration adds
//! is carried without a list to keep up), with their columns and foreign keys, parents
//! first.

use crate::db::{Backend, Conn};
use crate::{StoreError, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One table: its columns in order, and a column that refers to the table's own rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    /// `(column, referenced column)` of a foreign key to this same table (a group's parent).
    pub own_parent: Option<(String, String)>,
    /// The other tables this one refers to.
    parents: BTreeSet<String>,
}

/// Every table of the schema but `schema_migrations` (a backup's header stands for it),
/// each after the tables it refers to. SQLite's full-text tables are left out: they are
/// virtual (PostgreSQL has none) and their triggers fill them again as rows are loaded.
pub async fn list(c: &Conn) -> Result<Vec<Table>, StoreError> {
    let names_sql = match c.backend() {
        Backend::Sqlite => {
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY 1"
        }
    };
    let mut tables = Vec::new();
    for name in strings(c, names_sql, &[]).await? {
        tables.push(describe(c, name).await?);
    }
    Ok(order(tables))
}

async fn describe(c: &Conn, name: String) -> Result<Table, StoreError> {
    let (columns_sql, keys_sql) = match c.backend() {
        Backend::Sqlite => {
            ("SELECT name FROM pragma_table_info(?) ORDER BY cid", "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?)")
        }
        Backend::Postgres => (
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name::text = ? ORDER BY ordinal_position",
            // Cohort's foreign keys are all of one column.
            "SELECT f.relname::text, a.attname::text, fa.attname::text FROM pg_constraint k \
             JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_class f ON f.oid = k.confrelid \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
             JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = k.confkey[1] \
             WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname::text = ?",
        ),
    };
    let columns = strings(c, columns_sql, &[Value::from(name.as_str())]).await?;
    let mut parents = BTreeSet::new();
    let mut own_parent = None;
    for key in c.query(keys_sql, &[Value::from(name.as_str())]).await? {
        let (parent, column): (String, String) = (key.get(0)?, key.get(1)?);
        if parent == name {
            // SQLite leaves `to` NULL for a key to the primary key.
            let to: Option<String> = key.get(2)?;
            own_parent = Some((column, to.unwrap_or_else(|| "id".into())));
        } else {
            parents.insert(parent);
        }
    }
    Ok(Table { name, columns, own_parent, parents })
}

/// Parents before children; among tables free to go, by name (so both databases write the
/// same order). Tables that refer to each other in a loop (none in Cohort's schema) go last.
fn order(tables: Vec<Table>) -> Vec<Table> {
    let mut waiting: BTreeMap<String, Table> = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out: Vec<Table> = Vec::with_capacity(waiting.len());
    loop {
        // A parent no longer waiting is placed already, or not carried at all.
        let ready = waiting.values().find(|t| t.parents.iter().all(|p| !waiting.contains_key(p))).map(|t| t.name.clone());
        match ready.and_then(|name| waiting.remove(&name)) {
            Some(t) => out.push(t),
            None => break,
        }
    }
    out.extend(waiting.into_values());
    out
}

async fn strings(c: &Conn, sql: &str, params: &[Value]) -> Result<Vec<String>, StoreError> {
    c.query(sql, params).await?.iter().map(|r| r.get(0)).collect()
}

/// `"name"`, quoted for either database.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::{Table, order};

    fn table(name: &str, parents: &[&str]) -> Table {
        Table { name: name.into(), columns: vec![], own_parent: None, parents: parents.iter().map(|p| p.to_string()).collect() }
    }

    #[test]
    fn parents_come_first_and_ties_go_by_name() {
        let tables = vec![
            table("memberships", &["groups", "users"]),
            table("groups", &["spaces"]),
            table("users", &["spaces"]),
            table("spaces", &[]),
            table("counters", &[]),
            // A parent outside the list (not carried) does not hold a table back.
            table("odd", &["elsewhere"]),
        ];
        let names: Vec<String> = order(tables).into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["counters", "odd", "spaces", "groups", "users", "memberships"].map(String::from));
    }

    #[test]
    fn a_loop_goes_last_instead_of_being_lost() {
        let names: Vec<String> = order(vec![table("a", &["b"]), table("b", &["a"]), table("c", &[])]).into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["c", "a", "b"].map(String::from));
    }
}
