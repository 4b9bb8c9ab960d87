//! `cohort backup` and `cohort restore` with the real binary, beside a running server: a
//! backup restores into the other database (SQLite → PostgreSQL, the upgrade path, and
//! back) table for table and row for row, and a server on the restored database answers as
//! the first did. Backups taken under writes restore whole; a database that is not empty,
//! a cut-short file and a backup newer than the binary are refused, and change nothing.

use crate::helpers::{Backend, NO_POSTGRES, Server, TestApp, fresh_postgres_url, unique};
use cohort_store::{Db, Value};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where a command finds its database.
#[derive(Clone)]
enum Place {
    Dir(PathBuf),
    Url(String),
}

impl Place {
    /// A new, empty database of this kind.
    async fn fresh(backend: Backend) -> Place {
        match backend {
            Backend::Sqlite => Place::Dir(std::env::temp_dir().join(unique("cohort-restored"))),
            Backend::Postgres => Place::Url(fresh_postgres_url().await.expect(NO_POSTGRES)),
        }
    }

    fn of(app: &TestApp, url: Option<&str>) -> Place {
        match (&app.data_dir, url) {
            (Some(dir), _) => Place::Dir(dir.clone()),
            (None, Some(url)) => Place::Url(url.to_string()),
            (None, None) => panic!("a PostgreSQL test app needs its url"),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Place::Dir(d) => vec!["--data-dir".into(), d.display().to_string()],
            Place::Url(u) => vec!["--database-url".into(), u.clone()],
        }
    }

    fn db(&self) -> Db {
        match self {
            Place::Dir(d) => Db::sqlite(&d.join("cohort.db")).unwrap(),
            Place::Url(u) => Db::postgres(u, 2).unwrap(),
        }
    }

    fn serve(&self) -> Server {
        Server::start_with(&self.args().iter().map(String::as_str).collect::<Vec<_>>())
    }
}

fn cohort(place: &Place, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohort")).args(place.args()).args(args).output().unwrap()
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `cohort backup` into a new file in `dir`; answers the file.
fn backup(place: &Place, dir: &Path) -> PathBuf {
    let file = dir.join(format!("{}.jsonl", unique("backup")));
    let out = cohort(place, &["backup", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "backup failed: {}", said(&out));
    assert!(said(&out).contains(&format!("tables (schema {}) to {}", cohort_store::migrate::latest(), file.display())), "{}", said(&out));
    file
}

fn restore(place: &Place, file: &Path) -> Output {
    cohort(place, &["restore", file.to_str().unwrap()])
}

/// A backup's tables: their columns, and their rows (as written) sorted.
type Contents = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn contents(file: &Path) -> Contents {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let head: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!((head["format"].as_str(), head["version"].as_i64()), (Some("cohort-backup"), Some(1)));
    let mut tables = Contents::new();
    let mut current = String::new();
    let mut ended = false;
    for line in lines {
        assert!(!ended, "nothing follows the end line");
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(name) = item["table"].as_str() {
            current = name.to_string();
            let columns = item["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
            tables.insert(current.clone(), (columns, Vec::new()));
        } else if item["end"] == true {
            let rows: usize = tables.values().map(|t| t.1.len()).sum();
            assert_eq!((item["tables"].as_u64(), item["rows"].as_u64()), (Some(tables.len() as u64), Some(rows as u64)));
            ended = true;
        } else {
            tables.get_mut(&current).unwrap().1.push(line.to_string());
        }
    }
    assert!(ended, "a backup ends with its end line");
    for t in tables.values_mut() {
        t.1.sort();
    }
    tables
}

#[track_caller]
fn assert_same(a: &Contents, b: &Contents) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same tables");
    for (name, (columns, rows)) in a {
        let (other_columns, other_rows) = &b[name];
        assert_eq!(columns, other_columns, "{name}: the same columns");
        assert_eq!(rows, other_rows, "{name}: the same rows");
    }
}

/// Every table the database's catalogue lists is in the backup, but the few that are not
/// data: the migrations' own table (the header's `schema_version`) and SQLite's full-text
/// search tables, which triggers fill again as rows are loaded.
async fn assert_every_table_carried(place: &Place, carried: &Contents) {
    let db = place.db();
    let sql = match db.backend() {
        cohort_store::Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        cohort_store::Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let names: Vec<String> = db.read().await.unwrap().query(sql, &[]).await.unwrap().iter().map(|r| r.get(0).unwrap()).collect();
    let search = |n: &str| n.ends_with("_search") || n.contains("_search_");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !carried.contains_key(*n) && *n != "schema_migrations" && !n.starts_with("sqlite_") && !search(n))
        .collect();
    assert!(missing.is_empty(), "tables the backup does not carry: {missing:?}");
    assert!(carried.len() >= 25 && carried.contains_key("memberships"), "{:?}", carried.keys());
}

/// The schema as the catalogue says it, down to each index's and foreign key's definition:
/// a restore drops indexes (and PostgreSQL's foreign keys) for its load and makes them again.
async fn schema(place: &Place) -> Vec<String> {
    let db = place.db();
    let sql = match db.backend() {
        cohort_store::Backend::Sqlite => "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY name",
        cohort_store::Backend::Postgres => {
            "SELECT indexname::text || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             UNION ALL SELECT t.relname::text || '.' || k.conname::text || ': ' || pg_get_constraintdef(k.oid) FROM pg_constraint k \
             JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() \
             ORDER BY 1"
        }
    };
    db.read().await.unwrap().query(sql, &[]).await.unwrap().iter().map(|r| r.get(0).unwrap()).collect()
}

/// What the tests ask a server before and after: access checks, and who a credential is.
struct Made {
    checks: Vec<serde_json::Value>,
    /// A key alice made for herself, with `groups:read`.
    user_key: String,
    alice: crate::helpers::TestUser,
}

/// A small site made through the API: users, a space, groups with a parent, members with
/// roles, permissions and collections granted, a custom role, a post, an invitation, an API
/// key and a user's direct collection.
async fn make_a_site(app: &TestApp) -> Made {
    let owner = app.user("owner").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Research", "description": "Lab"})).await.expect(201);
    let space = space["id"].as_str().unwrap().to_string();
    let org = app.group(&owner, "Org", json!({"description": "Everyone"})).await;
    let team = app
        .post(
            &format!("/api/v1/groups/{org}/subgroups"),
            &owner.token,
            json!({"name": "Team", "inherit_members": true, "inherit_permissions": true}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lab = app.group(&owner, "Lab", json!({"space_id": space, "visibility": "private"})).await;
    app.grant(&org, &["kb.read"]).await;
    app.grant(&team, &["bot.use", "deploy"]).await;
    app.grant(&lab, &["lab.enter"]).await;
    app.patch(&format!("/api/v1/groups/{team}"), &app.admin_key, json!({"collections": [{"id": "col_a", "manage": true}]}))
        .await
        .expect(200);
    app.add(&org, &alice, "member").await;
    app.add(&team, &bob, "moderator").await;
    app.add(&lab, &bob, "admin").await;
    app.post(&format!("/api/v1/groups/{org}/roles"), &owner.token, json!({"name": "Lead", "permissions": ["read"]})).await.expect(201);
    app.post(&format!("/api/v1/groups/{org}/posts"), &alice.token, json!({"title": "Hi", "body": "first"})).await.expect(201);
    app.post(&format!("/api/v1/groups/{org}/invitations"), &owner.token, json!({"emails": ["carol@example.com"], "role": "member"}))
        .await
        .expect(201);
    app.put(
        &format!("/api/v1/users/{}/collections/col_b", alice.id),
        &app.admin_key,
        json!({"space_id": "spc_default", "read_only": true}),
    )
    .await
    .expect(200);
    let key = app.post("/api/v1/api-keys", &alice.token, json!({"name": "ci", "scopes": ["groups:read"]})).await.expect(201);
    let checks = vec![
        json!({"user_id": alice.id, "permission": "kb.read"}),
        json!({"user_id": alice.id, "permission": "bot.use"}),
        json!({"user_id": bob.id, "permission": "kb.read"}),
        json!({"user_id": bob.id, "permission": "lab.enter"}),
        json!({"user_id": alice.id, "permission": "lab.enter"}),
        json!({"user_id": alice.id, "group_id": team, "action": "read"}),
        json!({"user_id": bob.id, "group_id": lab, "action": "manage_members"}),
        json!({"user_id": alice.id, "collection_id": "col_a", "access": "manage"}),
        json!({"user_id": alice.id, "collection_id": "col_b", "access": "read"}),
    ];
    Made { checks, user_key: key["key"].as_str().unwrap().to_string(), alice }
}

/// What a server at `base` answers to the checks (as the admin key), and that the other
/// credentials still work there.
async fn answers(base: &str, admin_key: &str, made: &Made) -> Vec<serde_json::Value> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for check in &made.checks {
        let res = client.post(format!("{base}/api/v1/check")).bearer_auth(admin_key).json(check).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        out.push(res.json().await.unwrap());
    }
    let groups = client.get(format!("{base}/api/v1/groups")).bearer_auth(&made.user_key).send().await.unwrap();
    assert_eq!(groups.status().as_u16(), 200, "alice's API key works");
    let me = client.get(format!("{base}/api/v1/users/me")).bearer_auth(&made.alice.token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200, "alice's token works");
    assert_eq!(me.json::<serde_json::Value>().await.unwrap()["id"], made.alice.id.as_str());
    out
}

/// A source database of `from` made through the API, backed up while its server runs, then
/// restored into a new database of `to`, backed up again and compared table for table; a
/// server on the restored database answers the same checks and takes the same credentials.
async fn round_trip(from: Backend, to: Backend) {
    let url = match from {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_url().await.expect(NO_POSTGRES)),
    };
    let app = match &url {
        None => TestApp::spawn(Backend::Sqlite).await,
        Some(url) => TestApp::spawn_on(url).await,
    };
    let source = Place::of(&app, url.as_deref());
    let made = make_a_site(&app).await;
    let before = answers(&app.base, &app.admin_key, &made).await;
    assert!(before.iter().filter(|a| a["allowed"] == true).count() >= 5, "{before:?}");

    let files = std::env::temp_dir().join(unique("cohort-backups"));
    std::fs::create_dir_all(&files).unwrap();
    let first = backup(&source, &files);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&first).unwrap().permissions().mode() & 0o777, 0o600, "it holds password hashes");
    }
    let carried = contents(&first);
    assert_every_table_carried(&source, &carried).await;
    assert!(carried["users"].1.len() >= 3 && carried["api_keys"].1.len() >= 2 && carried["invitations"].1.len() == 1);

    let target = Place::fresh(to).await;
    let restored = restore(&target, &first);
    assert!(restored.status.success(), "restore failed: {}", said(&restored));
    assert!(said(&restored).contains(&format!(
        "restored {} rows of {} tables",
        carried.values().map(|t| t.1.len()).sum::<usize>(),
        carried.len()
    )));
    let second = backup(&target, &files);
    assert_same(&carried, &contents(&second));
    assert_every_table_carried(&target, &carried).await;
    let migrated = Place::fresh(to).await;
    assert!(cohort(&migrated, &["migrate"]).status.success());
    let (restored_schema, migrated_schema) = (schema(&target).await, schema(&migrated).await);
    assert!(restored_schema.len() > 40, "{restored_schema:?}");
    assert_eq!(restored_schema, migrated_schema, "a restored database has the indexes and keys of a migrated one");

    // A server on the restored database: the same answers, the same credentials.
    let server = target.serve();
    assert_eq!(answers(&server.base, &app.admin_key, &made).await, before);
    // It goes on numbering where the source stopped.
    let client = reqwest::Client::new();
    let more = client
        .post(format!("{}/api/v1/users", server.base))
        .bearer_auth(&app.admin_key)
        .json(&json!({"username": "dave"}))
        .send()
        .await
        .unwrap();
    assert_eq!(more.status().as_u16(), 201);
    let _ = std::fs::remove_dir_all(&files);
    if let Place::Dir(d) = &target {
        drop(server);
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn backup_of_sqlite_restores_into_postgres_table_for_table() {
    round_trip(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn backup_of_postgres_restores_into_sqlite_table_for_table() {
    round_trip(Backend::Postgres, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_sqlite_restores_into_sqlite_table_for_table() {
    round_trip(Backend::Sqlite, Backend::Sqlite).await;
}

/// A database with data of its own is refused, and keeps it; one that only a server's first
/// start has written to (the default space, the counters, the signing secret) is taken.
async fn refuses_a_database_that_is_not_empty(backend: Backend) {
    let url = if backend == Backend::Postgres { Some(fresh_postgres_url().await.expect(NO_POSTGRES)) } else { None };
    let app = match &url {
        None => TestApp::spawn(Backend::Sqlite).await,
        Some(url) => TestApp::spawn_on(url).await,
    };
    let place = Place::of(&app, url.as_deref());
    make_a_site(&app).await;
    let files = std::env::temp_dir().join(unique("cohort-backups"));
    std::fs::create_dir_all(&files).unwrap();
    let file = backup(&place, &files);

    let refused = restore(&place, &file);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("refusing to restore: the database is not empty"), "{}", said(&refused));
    assert_same(&contents(&file), &contents(&backup(&place, &files)));

    let started = Place::fresh(backend).await;
    assert!(cohort(&started, &["migrate"]).status.success());
    let taken = restore(&started, &file);
    assert!(taken.status.success(), "{}", said(&taken));
    assert_same(&contents(&file), &contents(&backup(&started, &files)));
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_sqlite_database_that_is_not_empty() {
    refuses_a_database_that_is_not_empty(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn restore_refuses_a_postgres_database_that_is_not_empty() {
    refuses_a_database_that_is_not_empty(Backend::Postgres).await;
}

/// Cut mid-line or before its end line, a backup is refused and the target keeps no table;
/// a backup of a newer schema than the binary knows is refused likewise.
async fn refuses_a_cut_short_backup(backend: Backend) {
    let app = TestApp::spawn(Backend::Sqlite).await;
    make_a_site(&app).await;
    let files = std::env::temp_dir().join(unique("cohort-backups"));
    std::fs::create_dir_all(&files).unwrap();
    let whole = std::fs::read_to_string(backup(&Place::of(&app, None), &files)).unwrap();
    let target = Place::fresh(backend).await;
    let no_end = (whole.trim_end().rsplit_once('\n').unwrap().0.to_string() + "\n").into_bytes();
    let mid_line = whole.as_bytes()[..whole.len() / 2].to_vec();
    let mut newer: Vec<&str> = whole.lines().collect();
    let head = newer[0].replace(&format!("\"schema_version\":{}", cohort_store::migrate::latest()), "\"schema_version\":999999");
    newer[0] = &head;
    let newer = newer.join("\n").into_bytes();
    for (cut, why) in [(no_end, "cut short"), (mid_line, "cut short"), (newer, "newer than this binary knows")] {
        let file = files.join(unique("cut"));
        std::fs::write(&file, cut).unwrap();
        let refused = restore(&target, &file);
        assert!(!refused.status.success(), "a cut-short backup is refused");
        assert!(said(&refused).contains(why), "{}", said(&refused));
        let db = target.db();
        let tables = match db.backend() {
            cohort_store::Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            cohort_store::Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        };
        let left: i64 = db.read().await.unwrap().query_one(tables, &[]).await.unwrap().get(0).unwrap();
        assert_eq!(left, 0, "nothing is left of a refused restore");
    }
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_short_backup_leaves_a_sqlite_database_empty() {
    refuses_a_cut_short_backup(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_cut_short_backup_leaves_a_postgres_database_empty() {
    refuses_a_cut_short_backup(Backend::Postgres).await;
}

/// Members added one after another while the backup runs: what is restored is the database
/// as of one moment, every membership with its user and group, and each group's member
/// counter equal to its members.
async fn backup_under_writes(from: Backend) {
    let url = if from == Backend::Postgres { Some(fresh_postgres_url().await.expect(NO_POSTGRES)) } else { None };
    let app = std::sync::Arc::new(match &url {
        None => TestApp::spawn(Backend::Sqlite).await,
        Some(url) => TestApp::spawn_on(url).await,
    });
    let source = Place::of(&app, url.as_deref());
    let owner = app.user("owner").await;
    let group = app.group(&owner, "Busy", json!({})).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = {
        let (app, stop, group) = (app.clone(), stop.clone(), group.clone());
        tokio::spawn(async move {
            let mut added = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = json!({"username": format!("w{added}")});
                let user = app.post("/api/v1/users", &app.admin_key, body).await.expect(201)["id"].as_str().unwrap().to_string();
                app.post(&format!("/api/v1/groups/{group}/members"), &app.admin_key, json!({"user_id": user})).await.expect(201);
                added += 1;
            }
            added
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let files = std::env::temp_dir().join(unique("cohort-backups"));
    std::fs::create_dir_all(&files).unwrap();
    let (place, dir) = (source.clone(), files.clone());
    let file = tokio::task::spawn_blocking(move || backup(&place, &dir)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let added = writing.await.unwrap();
    let carried = contents(&file);
    let members = carried["memberships"].1.len();
    assert!(members >= 2 && members <= added + 1, "{members} members carried of {added} added");

    let target = Place::fresh(Backend::Sqlite).await;
    let restored = restore(&target, &file);
    assert!(restored.status.success(), "{}", said(&restored));
    let db = target.db();
    let c = db.read().await.unwrap();
    let one = |sql: &'static str| {
        let c = &c;
        async move { c.query_one(sql, &[]).await.unwrap().get::<i64>(0).unwrap() }
    };
    assert!(c.query("PRAGMA foreign_key_check", &[]).await.unwrap().is_empty(), "every row's references are there");
    assert_eq!(one("SELECT COUNT(*) FROM memberships").await, members as i64);
    assert_eq!(
        one("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id JOIN groups g ON g.id = m.group_id").await,
        members as i64
    );
    let counted: Vec<(String, i64, i64)> = c
        .query("SELECT g.id, g.active_members, (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id AND m.status = 'active') FROM groups g", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    assert!(counted.iter().all(|(_, counter, rows)| counter == rows), "{counted:?}");
    assert_eq!(one("SELECT MAX(seq) FROM change_log").await, one("SELECT value FROM counters WHERE name = 'changes'").await);
    assert_eq!(one("SELECT MAX(num) FROM users").await, one("SELECT value FROM counters WHERE name = 'users'").await);
    let busy: Vec<Value> = vec![Value::from(group.as_str())];
    let on_row: i64 = c.query_one("SELECT active_members FROM groups WHERE id = ?", &busy).await.unwrap().get(0).unwrap();
    assert_eq!(on_row, members as i64);
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_under_writes_restores_whole() {
    backup_under_writes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_postgres_backup_taken_under_writes_restores_whole() {
    backup_under_writes(Backend::Postgres).await;
}

/// A backup of an older schema restores into a newer binary: its own schema is set up, its
/// rows loaded, then the newer migrations applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_backup_is_migrated_after_it_is_loaded() {
    let dir = std::env::temp_dir().join(unique("cohort-old"));
    std::fs::create_dir_all(&dir).unwrap();
    let older = cohort_store::migrate::latest() - 2;
    {
        let db = Db::sqlite(&dir.join("cohort.db")).unwrap();
        let tx = db.begin().await.unwrap();
        cohort_store::migrate::apply(&tx, older).await.unwrap();
        tx.commit().await.unwrap();
    }
    let old = Place::Dir(dir.clone());
    let file = dir.join("old.jsonl");
    let out = cohort(&old, &["backup", "--out", file.to_str().unwrap()]);
    assert!(out.status.success() && said(&out).contains(&format!("(schema {older})")), "{}", said(&out));
    let target = Place::fresh(Backend::Sqlite).await;
    let restored = restore(&target, &file);
    assert!(restored.status.success(), "{}", said(&restored));
    let latest = cohort_store::migrate::latest();
    assert!(said(&restored).contains(&format!("(schema {older}, then migrated to schema {latest})")), "{}", said(&restored));
    let version = cohort_store::migrate::version(&target.db().read().await.unwrap()).await.unwrap();
    assert_eq!(version, latest);
    let _ = std::fs::remove_dir_all(&dir);
}
