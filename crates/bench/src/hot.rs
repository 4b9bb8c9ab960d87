//! `--hot`: the access hot path. Loads users in chains of groups that inherit members and
//! permissions (plus flat groups), starts the real `cohort serve` as its own process, and
//! measures the checks and the effective-access reads beside `GET /healthz` of the same
//! server and a bare axum "hello" server (`cohort-bench --hello`), each as requests/s,
//! p50/p99, and the *server's* CPU µs per request (read from `/proc/<pid>/stat`, so the load
//! generator's own work is not counted). Then the server's RssAnon and index build time.

use crate::{Rng, insert_rows, insert_users, recount_members};
use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_core::auth::Principal;
use cohort_store::{Db, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The data set's shape.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub users: usize,
    pub chains: usize,
    pub depth: usize,
    pub flat: usize,
    pub per_user: usize,
}

impl Scale {
    /// `small`: 20,000 users, 2,000 chains of 8 + 4,000 flat groups, ~50 groups a user
    /// (1,000,000 memberships). `large`: 100,000 users, 1,000,000 groups, 5,000,000 memberships.
    pub fn named(name: &str) -> Option<Scale> {
        match name {
            "small" => Some(Scale { users: 20_000, chains: 2_000, depth: 8, flat: 4_000, per_user: 50 }),
            "large" => Some(Scale { users: 100_000, chains: 100_000, depth: 8, flat: 200_000, per_user: 50 }),
            _ => None,
        }
    }

    fn groups(&self) -> usize {
        self.chains * self.depth + self.flat
    }
}

const SPACES: usize = 20;
/// Distinct permission names; each group holds two.
const PERMS: usize = 5_000;
/// Every fourth group grants a collection (one of this many).
const COLLECTIONS: usize = 1_000;
const DEEP_USER: &str = "usr_hdeep";
const DEEP_PERMISSION: &str = "deep.only";

fn group_id(g: usize) -> String {
    format!("grp_h{g:08}")
}

/// Group `g`'s chain position: chained groups come first, `depth` per chain.
fn parent_of(s: &Scale, g: usize) -> Option<usize> {
    (g < s.chains * s.depth && !g.is_multiple_of(s.depth)).then(|| g - 1)
}

fn perms_of(g: usize) -> [String; 2] {
    [format!("perm.{}", g % PERMS), format!("perm.{}", (g * 7 + 3) % PERMS)]
}

/// Each user's direct groups: `per_user` distinct ones, at random (the same on every run).
fn direct_groups(s: &Scale) -> Vec<Vec<u32>> {
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let groups = s.groups();
    (0..s.users)
        .map(|_| {
            let mut mine: Vec<u32> = Vec::with_capacity(s.per_user);
            while mine.len() < s.per_user.min(groups) {
                let g = rng.below(groups) as u32;
                if !mine.contains(&g) {
                    mine.push(g);
                }
            }
            mine
        })
        .collect()
}

const GROUP_COLUMNS: &str = "groups (id, num, space_id, parent_id, parent_key, name, name_key, type, visibility, inherit_members, inherit_permissions, depth, created_at, updated_at)";
const MEMBERSHIP_COLUMNS: &str = "memberships (id, group_id, user_id, role, permissions, status, joined_at, updated_at)";
const NOW: i64 = 1_700_000_000_000;

/// One group's row: a group with a parent inherits its members and permissions.
fn group_row(id: &str, num: i64, space: usize, parent: Option<String>, depth: usize, private: bool) -> Vec<Value> {
    let name = format!("hot group {num}");
    let chained = parent.is_some() as i64;
    vec![
        id.into(),
        num.into(),
        format!("spc_h{space}").into(),
        parent.clone().map(Value::from).unwrap_or(Value::Null),
        parent.unwrap_or_default().into(),
        name.clone().into(),
        name.into(),
        "team".into(),
        if private { "private" } else { "public" }.into(),
        chained.into(),
        chained.into(),
        (depth as i64).into(),
        (NOW + num).into(),
        (NOW + num).into(),
    ]
}

fn membership_row(id: &str, group: &str, user: &str, role: &str, joined_at: i64) -> Vec<Value> {
    vec![id.into(), group.into(), user.into(), role.into(), "[]".into(), "active".into(), joined_at.into(), NOW.into()]
}

const WIDE_USER: &str = "usr_hwide0";
const WIDE: usize = 500;
const LONG_USER: &str = "usr_hlong0";
const LONG: usize = 32;
const LONG_PERMISSION: &str = "long.only";

fn long_group(i: usize) -> String {
    format!("grp_hlong{i:02}")
}

/// The extremes beside the data set: a user in 500 groups, and a chain of 32 groups that
/// inherit members and permissions with a user at the top and a permission at the bottom.
async fn load_extremes(db: &Db, s: &Scale) {
    insert_users(db, "usr_hwide", "wide", 6_000_000, 1).await;
    insert_users(db, "usr_hlong", "long", 7_000_000, 1).await;
    let mut g = (0..LONG).map(|i| group_row(&long_group(i), 20_000_000 + i as i64, 0, i.checked_sub(1).map(long_group), i, false));
    insert_rows(db, GROUP_COLUMNS, 14, &mut g, LONG, "long chain").await;
    let mut p = std::iter::once(vec![long_group(LONG - 1).into(), LONG_PERMISSION.into(), 0i64.into()]);
    insert_rows(db, "group_permissions (group_id, permission, position)", 3, &mut p, 1, "long permission").await;
    copy_details(db).await;
    let step = s.groups() / WIDE;
    let mut m = (0..WIDE)
        .map(|i| membership_row(&format!("mem_hwide{i}"), &group_id(i * step), WIDE_USER, "member", NOW))
        .chain(std::iter::once(membership_row("mem_hlong", &long_group(0), LONG_USER, "member", NOW)));
    insert_rows(db, MEMBERSHIP_COLUMNS, 8, &mut m, WIDE + 1, "extreme memberships").await;
    recount_members(db, "WHERE id IN (SELECT group_id FROM memberships WHERE user_id IN (?, ?))", &[WIDE_USER.into(), LONG_USER.into()])
        .await;
}

/// Loads the data set with these direct memberships.
async fn load(db: &Db, s: &Scale, direct: &[Vec<u32>]) {
    let now = NOW;
    let mut sp = (0..SPACES).map(|i| {
        let name = format!("Hot space {i}");
        vec![
            format!("spc_h{i}").into(),
            name.clone().into(),
            name.to_lowercase().into(),
            Value::Null,
            now.into(),
            Value::Null,
            now.into(),
            1i64.into(),
        ]
    });
    insert_rows(db, "spaces (id, name, name_key, description, created_at, created_by, updated_at, version)", 8, &mut sp, SPACES, "spaces")
        .await;
    insert_users(db, "usr_h", "hot", 1_000_000, s.users).await;
    insert_users(db, "usr_hdeep", "deep", 5_000_000, 1).await;
    let scale = *s;
    let mut g = (0..s.groups()).map(move |g| {
        let parent = parent_of(&scale, g);
        let space = if g < scale.chains * scale.depth { (g / scale.depth) % SPACES } else { g % SPACES };
        let depth = if g < scale.chains * scale.depth { g % scale.depth } else { 0 };
        group_row(&group_id(g), g as i64 + 10_000_000, space, parent.map(group_id), depth, g % 3 == 0)
    });
    insert_rows(db, GROUP_COLUMNS, 14, &mut g, s.groups(), "groups").await;
    // The two names differ: g and 7g + 3 never meet modulo an even PERMS (6g + 3 is odd).
    let mut p = (0..s.groups()).flat_map(|g| {
        let [a, b] = perms_of(g);
        [vec![group_id(g).into(), a.into(), 0i64.into()], vec![group_id(g).into(), b.into(), 1i64.into()]]
    });
    insert_rows(db, "group_permissions (group_id, permission, position)", 3, &mut p, s.groups() * 2, "group permissions").await;
    let deepest = s.depth - 1;
    let mut deep = std::iter::once(vec![group_id(deepest).into(), DEEP_PERMISSION.into(), 2i64.into()]);
    insert_rows(db, "group_permissions (group_id, permission, position)", 3, &mut deep, 1, "deep permission").await;
    let mut c = (0..s.groups()).filter(|g| g % 4 == 0).map(|g| {
        vec![
            group_id(g).into(),
            format!("col_{}", g % COLLECTIONS).into(),
            ((g / 4) % 2 == 0).into(),
            false.into(),
            false.into(),
            0i64.into(),
        ]
    });
    insert_rows(
        db,
        "group_collections (group_id, collection_id, read_only, hide_passwords, manage, position)",
        6,
        &mut c,
        s.groups() / 4,
        "collection grants",
    )
    .await;
    copy_details(db).await;

    let total = s.users * s.per_user;
    let mut n = 0usize;
    let mut m = direct.iter().enumerate().flat_map(|(u, gs)| gs.iter().map(move |g| (u, *g))).map(|(u, g)| {
        n += 1;
        let role = if n.is_multiple_of(10) { "moderator" } else { "member" };
        membership_row(&format!("mem_h{n:09}"), &group_id(g as usize), &format!("usr_h{u}"), role, now + n as i64)
    });
    insert_rows(db, MEMBERSHIP_COLUMNS, 8, &mut m, total, "memberships").await;
    let mut d = std::iter::once(membership_row("mem_hdeep", &group_id(0), &format!("{DEEP_USER}0"), "member", now));
    insert_rows(db, MEMBERSHIP_COLUMNS, 8, &mut d, 1, "deep membership").await;
    recount_members(db, "", &[]).await;
}

/// Groups keep their permissions and grants on their rows too: copied from the tables.
async fn copy_details(db: &Db) {
    let tx = db.begin().await.expect("begin");
    cohort_store::groups::copy_details_to_rows(&tx).await.expect("copy group details");
    tx.commit().await.expect("commit");
}

/// A child process, killed on drop.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `cmd` and reads the address from its first line of standard output.
    fn start(mut cmd: Command) -> Proc {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
        let base = line.trim().rsplit(' ').next().expect("address").to_string();
        assert!(base.starts_with("http://"), "unexpected first line {line:?}");
        Proc { child, base }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_of(pid: u32) -> f64 {
    crate::cpu_seconds_at(&format!("/proc/{pid}/stat"))
}

/// A field of `/proc/<pid>/status` in kB (`RssAnon`, `VmHWM`, …).
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start_matches(':').split_whitespace().next()?.parse().ok()))
        .unwrap_or(0)
}

struct Figure {
    rps: f64,
    cpu_us: f64,
    /// Mean response body size.
    bytes: f64,
    p50: Duration,
    p99: Duration,
}

type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// Sends `make` requests from `concurrency` tasks for `seconds` (after a short warm-up),
/// counting the CPU process `pid` spends.
async fn measure(pid: u32, seconds: u64, concurrency: usize, make: MakeRequest) -> Figure {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let run = |secs: f64| {
        let (client, make) = (client.clone(), make.clone());
        async move {
            let counter = Arc::new(AtomicU64::new(0));
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (client, make, counter) = (client.clone(), make.clone(), counter.clone());
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut bytes = 0usize;
                    while Instant::now() < deadline {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        let res = make(&client, n).send().await.expect("request");
                        let status = res.status();
                        let body = res.bytes().await.unwrap_or_default();
                        assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&body));
                        lat.push(t.elapsed());
                        bytes += body.len();
                    }
                    (lat, bytes)
                }));
            }
            let (mut all, mut bytes) = (Vec::new(), 0);
            for t in tasks {
                let (lat, b) = t.await.expect("task");
                all.extend(lat);
                bytes += b;
            }
            (all, bytes)
        }
    };
    run(0.5).await;
    let cpu_before = cpu_of(pid);
    let started = Instant::now();
    let (mut all, bytes) = run(seconds as f64).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_us = (cpu_of(pid) - cpu_before) * 1e6 / all.len().max(1) as f64;
    all.sort();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default();
    Figure { rps: all.len() as f64 / elapsed, cpu_us, bytes: bytes as f64 / all.len().max(1) as f64, p50: pct(0.5), p99: pct(0.99) }
}

fn print_row(name: &str, f: &Figure, health: &Figure, hello: &Figure) {
    println!(
        "| {name:<58} | {:>8.0} | {:>7.2} | {:>7.2} | {:>7.1} | {:>5.2}x | {:>5.2}x |",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.cpu_us,
        health.cpu_us / f.cpu_us.max(1e-9),
        hello.cpu_us / f.cpu_us.max(1e-9),
    );
}

const ONE_ADD: &str = "POST /groups/{id}/members (one add)";
/// Groups the one-add scenario writes to.
const ADD_GROUPS: usize = 16;

/// A POST whose path and body both come from the request's number.
fn post_to(base: String, key: Arc<String>, make: Arc<dyn Fn(u64) -> (String, serde_json::Value) + Send + Sync>) -> MakeRequest {
    Arc::new(move |c: &reqwest::Client, n| {
        let (path, body) = make(n);
        c.post(format!("{base}{path}")).bearer_auth(&*key).json(&body)
    })
}

/// Makes `n` empty groups through the API; answers their ids.
async fn make_groups(base: &str, key: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(crate::create_group(&client, base, key, format!("bench adds {} {i}", std::process::id())).await);
    }
    ids
}

/// Deletes groups (with their members) through the API.
async fn delete_groups(base: &str, key: &str, ids: &[String]) {
    let client = reqwest::Client::new();
    for id in ids {
        let res = client.delete(format!("{base}/api/v1/groups/{id}?cascade=true")).bearer_auth(key).send().await.expect("delete group");
        assert!(res.status().is_success(), "delete {id}: {}", res.status());
    }
}

/// The floor for one add: the rows an add writes (a membership with its three indexes, the
/// group's member count, an audit event with its two, a change-log row), straight through
/// rusqlite in a WAL file, one transaction for whatever requests are queued (group commit),
/// with none of Cohort's rules, savepoints or index. A table of `prefill` memberships first,
/// as the data set has.
struct FloorWriter {
    queue: std::sync::mpsc::Sender<(String, String, tokio::sync::oneshot::Sender<String>)>,
}

impl FloorWriter {
    fn start(prefill: u64) -> FloorWriter {
        let path = std::env::temp_dir().join(format!("cohort-bench-floor-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let db = rusqlite::Connection::open(&path).expect("floor db");
        db.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -4096;
             CREATE TABLE memberships (id TEXT PRIMARY KEY, group_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
               permissions TEXT NOT NULL, status TEXT NOT NULL, joined_at INTEGER NOT NULL, expires_at INTEGER, last_active INTEGER,
               added_by TEXT, updated_at INTEGER NOT NULL, version INTEGER NOT NULL, active_since INTEGER);
             CREATE TABLE groups (id TEXT PRIMARY KEY, member_count INTEGER NOT NULL);
             CREATE TABLE audit_events (id TEXT PRIMARY KEY, at INTEGER NOT NULL, actor_id TEXT, action TEXT NOT NULL,
               target_type TEXT NOT NULL, target_id TEXT NOT NULL, group_id TEXT, before_json TEXT, after_json TEXT);
             CREATE TABLE change_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
               group_id TEXT, user_id TEXT);
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO memberships SELECT printf('mem_%020d', i), printf('grp_%08d', i % 20000), printf('usr_%08d', i / 20000 + (i % 20000) * 50),
               'member', '[]', 'active', i, NULL, NULL, NULL, i, 1, i FROM n;
             CREATE UNIQUE INDEX memberships_group_user ON memberships (group_id, user_id);
             CREATE INDEX memberships_user_group ON memberships (user_id, group_id);
             CREATE INDEX memberships_group_joined ON memberships (group_id, joined_at, id);
             CREATE INDEX audit_events_at ON audit_events (at, id);
             CREATE INDEX audit_events_group ON audit_events (group_id, at);",
            last = prefill.max(1) - 1
        ))
        .expect("floor schema");
        let (queue, rx) = std::sync::mpsc::channel::<(String, String, tokio::sync::oneshot::Sender<String>)>();
        std::thread::spawn(move || {
            let mut db = db;
            let mut n: u64 = 0;
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter().take(255));
                let tx = db.transaction().expect("begin");
                let mut answers = Vec::with_capacity(batch.len());
                for (group, user, reply) in batch {
                    n += 1;
                    let id = format!("mem_f{n:021}");
                    tx.execute(
                        "INSERT INTO memberships VALUES (?1, ?2, ?3, 'member', '[]', 'active', ?4, NULL, NULL, 'key_bench', ?4, 1, ?4)",
                        rusqlite::params![id, group, user, n as i64],
                    )
                    .expect("membership");
                    tx.execute("INSERT INTO groups (id, member_count) VALUES (?1, 1) ON CONFLICT (id) DO UPDATE SET member_count = member_count + 1", [&group])
                        .expect("count");
                    let after = r#"{"role":"member","permissions":[],"status":"active","expires_at":null,"notify":false}"#;
                    tx.execute(
                        "INSERT INTO audit_events VALUES (?1, ?2, 'key_bench', 'member.added', 'membership', ?3, ?4, NULL, ?5)",
                        rusqlite::params![format!("evt_f{n:021}"), n as i64, id, group, after],
                    )
                    .expect("audit");
                    tx.execute(
                        "INSERT INTO change_log (at, kind, entity_id, group_id, user_id) VALUES (?1, 'membership', ?2, ?3, ?4)",
                        rusqlite::params![n as i64, id, group, user],
                    )
                    .expect("change");
                    let body = format!(
                        r#"{{"id":"{id}","group_id":"{group}","user_id":"{user}","role":"member","permissions":[],"status":"active","joined_at":"2026-12-05T00:00:00Z","expires_at":null,"added_by":"key_bench","version":1}}"#
                    );
                    answers.push((reply, body));
                }
                tx.commit().expect("commit");
                for (reply, body) in answers {
                    let _ = reply.send(body);
                }
            }
        });
        FloorWriter { queue }
    }
}

/// The bare baseline: an axum server answering `GET /` with "hello", `GET /bytes/{n}` with a
/// JSON body of `n` bytes (the floor for an answer of that size), `POST /json/{n}` the same
/// after parsing the JSON body it is sent (the floor for a question and its answer), and
/// `POST /add/{group}` making the rows of one add ([`FloorWriter`], the floor for a write).
pub async fn hello(prefill: u64) {
    let writer = std::sync::Arc::new(FloorWriter::start(prefill));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("hello listening on http://{}", listener.local_addr().expect("addr"));
    let sized = |axum::extract::Path(n): axum::extract::Path<usize>| async move {
        let body = format!("[\"{}\"]", "x".repeat(n.saturating_sub(4)));
        ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
    };
    let parsed = |axum::extract::Path(n): axum::extract::Path<usize>, axum::Json(asked): axum::Json<serde_json::Value>| async move {
        let body = format!("[\"{}\"]", "x".repeat(n.saturating_sub(4)));
        std::hint::black_box(asked);
        ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
    };
    let add = move |axum::extract::Path(group): axum::extract::Path<String>, axum::Json(asked): axum::Json<serde_json::Value>| {
        let writer = writer.clone();
        async move {
            let user = asked["user_id"].as_str().unwrap_or("").to_string();
            let (reply, answer) = tokio::sync::oneshot::channel();
            let _ = writer.queue.send((group, user, reply));
            let body = answer.await.unwrap_or_default();
            (axum::http::StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "application/json")], body)
        }
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "hello" }))
        .route("/bytes/{n}", axum::routing::get(sized))
        .route("/json/{n}", axum::routing::post(parsed))
        .route("/add/{group}", axum::routing::post(add));
    axum::serve(listener, app).await.expect("serve");
}

/// How `--hot` runs besides its scale.
pub struct Options {
    pub seconds: u64,
    pub concurrency: usize,
    pub cohort_bin: Option<std::path::PathBuf>,
    /// Only the scenarios whose names contain this.
    pub only: Option<String>,
    /// Record each scenario's server with `perf record -g` into this directory.
    pub perf: Option<std::path::PathBuf>,
}

pub async fn run(db: Db, database_url: String, scale: Scale, o: Options) {
    let exe = std::env::current_exe().expect("own path");
    let bin = o.cohort_bin.clone().unwrap_or_else(|| exe.with_file_name("cohort"));
    assert!(bin.exists(), "{} not found: build it first (cargo build --release -p cohort -p cohort-bench)", bin.display());
    let started = Instant::now();
    let direct = direct_groups(&scale);
    let loaded: i64 = {
        let c = db.read().await.expect("read");
        c.query_one("SELECT COUNT(*) FROM users WHERE id = ?", &[format!("{DEEP_USER}0").into()]).await.expect("count").get(0).expect("int")
    };
    if loaded == 0 {
        load(&db, &scale, &direct).await;
        eprintln!("loaded in {:.1}s", started.elapsed().as_secs_f64());
    } else {
        eprintln!("the data set is already loaded");
    }
    let extremes: i64 = {
        let c = db.read().await.expect("read");
        c.query_one("SELECT COUNT(*) FROM users WHERE id = ?", &[WIDE_USER.into()]).await.expect("count").get(0).expect("int")
    };
    if extremes == 0 {
        load_extremes(&db, &scale).await;
    }
    let memberships = scale.users * scale.per_user + 1;
    let key = {
        let app = App::connect(db.clone()).await.expect("open");
        let new = NewKey { name: "bench".into(), scopes: vec!["admin".into()], ..NewKey::default() };
        app.create_key(&Principal::system(), new).await.expect("key").1
    };

    let log = std::env::temp_dir().join(format!("cohort-bench-hot-{}.log", std::process::id()));
    let mut cmd = Command::new(&bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database_url])
        .env("COHORT_LOG", "info")
        .stderr(std::fs::File::create(&log).expect("log file"));
    let spawned = Instant::now();
    let server = Proc::start(cmd);
    let client = reqwest::Client::new();
    loop {
        let ready = client.get(format!("{}/readyz", server.base)).send().await.map(|r| r.status().is_success()).unwrap_or(false);
        if ready {
            break;
        }
        assert!(spawned.elapsed() < Duration::from_secs(600), "the server never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_after = spawned.elapsed();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let build_secs = logged
        .lines()
        .find(|l| l.contains("access index built"))
        .and_then(|l| l.split("seconds=").nth(1)?.split_whitespace().next()?.parse::<f64>().ok());
    let index_bytes = logged
        .lines()
        .find(|l| l.contains("access index built"))
        .and_then(|l| l.split("index_bytes=").nth(1)?.split_whitespace().next()?.parse::<f64>().ok());
    let rss_built = status_kb(server.pid(), "RssAnon");
    let mut hello_cmd = Command::new(&exe);
    hello_cmd.arg("--hello").env("COHORT_BENCH_FLOOR_ROWS", memberships.to_string());
    let hello_server = Proc::start(hello_cmd);

    let (base, pid) = (server.base.clone(), server.pid());
    let users = scale.users as u64;
    let groups = scale.groups() as u64;
    let direct = Arc::new(direct);
    let key = Arc::new(key);
    let post = |path: &'static str, body: Arc<dyn Fn(u64) -> serde_json::Value + Send + Sync>| -> MakeRequest {
        post_to(base.clone(), key.clone(), Arc::new(move |n| (path.to_string(), body(n))))
    };
    let get = |path: Arc<dyn Fn(u64) -> String + Send + Sync>| -> MakeRequest {
        let (base, key) = (base.clone(), key.clone());
        Arc::new(move |c: &reqwest::Client, n| c.get(format!("{base}{}", path(n))).bearer_auth(&*key))
    };
    // A user and, every other request, a permission or group they hold (else any).
    let pick = {
        let direct = direct.clone();
        move |n: u64| -> (String, usize) {
            let mut r = Rng(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let u = r.below(users as usize);
            let g = if n.is_multiple_of(2) { direct[u][r.below(direct[u].len())] as usize } else { r.below(groups as usize) };
            (format!("usr_h{u}"), g)
        }
    };
    let pick = Arc::new(pick);
    let (secs, conc) = (o.seconds, o.concurrency);
    let wanted = |name: &str| o.only.as_deref().is_none_or(|w| name.contains(w));
    let scenario = |name: String, make: MakeRequest| {
        let perf = o.perf.clone();
        let run = wanted(&name);
        async move {
            if !run {
                return None;
            }
            let recording = perf.map(|dir| {
                let _ = std::fs::create_dir_all(&dir);
                let file: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                Command::new("perf")
                    .args(["record", "-F", "499", "--call-graph", "dwarf,32768", "-p", &pid.to_string(), "-o"])
                    .arg(dir.join(format!("{file}.data")))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("perf record")
            });
            let f = measure(pid, secs, conc, make).await;
            if let Some(mut r) = recording {
                let _ = Command::new("kill").args(["-INT", &r.id().to_string()]).status();
                let _ = r.wait();
            }
            Some((name, f))
        }
    };

    let hello_base = hello_server.base.clone();
    let hello = measure(hello_server.pid(), secs, conc, Arc::new(move |c: &reqwest::Client, _| c.get(format!("{hello_base}/")))).await;
    // The baseline is always measured; like any scenario, it is recorded when `--only` picks it.
    let health = match scenario("GET /healthz".into(), get(Arc::new(|_| "/healthz".into()))).await {
        Some((_, f)) => f,
        None => measure(pid, secs, conc, get(Arc::new(|_| "/healthz".into()))).await,
    };
    let mut rows: Vec<(String, Figure)> = Vec::new();
    let deep = post("/api/v1/check", Arc::new(|_| serde_json::json!({"user_id": format!("{DEEP_USER}0"), "permission": DEEP_PERMISSION})));
    rows.extend(scenario(format!("POST /check permission, 1 group inherited {} levels", scale.depth - 1), deep).await);
    let long = post("/api/v1/check", Arc::new(|_| serde_json::json!({"user_id": LONG_USER, "permission": LONG_PERMISSION})));
    rows.extend(scenario(format!("POST /check permission, 1 group inherited {} levels", LONG - 1), long).await);
    let wide = post(
        "/api/v1/check",
        Arc::new(move |n| serde_json::json!({"user_id": WIDE_USER, "permission": perms_of((n as usize * 7919) % groups as usize)[0]})),
    );
    rows.extend(scenario(format!("POST /check permission, user in {WIDE} groups"), wide).await);
    // The questions the bare server is also asked (for the floor of a question of that size).
    type Body = Arc<dyn Fn(u64) -> serde_json::Value + Send + Sync>;
    let mut asked: Vec<(String, Body)> = Vec::new();
    let p = pick.clone();
    let perm_body: Body = Arc::new(move |n| {
        let (u, g) = p(n);
        serde_json::json!({"user_id": u, "permission": perms_of(g)[(n / 2 % 2) as usize]})
    });
    let name = format!("POST /check permission, user in ~{} groups", scale.per_user);
    asked.push((name.clone(), perm_body.clone()));
    rows.extend(scenario(name, post("/api/v1/check", perm_body)).await);
    let p = pick.clone();
    let action = post(
        "/api/v1/check",
        Arc::new(move |n| {
            let (u, g) = p(n);
            serde_json::json!({"user_id": u, "group_id": group_id(g), "action": "post"})
        }),
    );
    rows.extend(scenario(format!("POST /check group action, user in ~{} groups", scale.per_user), action).await);
    let p = pick.clone();
    let coll = post(
        "/api/v1/check",
        Arc::new(move |n| {
            let (u, g) = p(n);
            serde_json::json!({"user_id": u, "collection_id": format!("col_{}", g % COLLECTIONS), "access": "read"})
        }),
    );
    rows.extend(scenario(format!("POST /check collection, user in ~{} groups", scale.per_user), coll).await);
    let p = pick.clone();
    let batch_body: Body = Arc::new(move |n| {
        let checks: Vec<serde_json::Value> = (0..20u64)
            .map(|i| {
                let (u, g) = p(n * 20 + i);
                if i % 2 == 0 {
                    serde_json::json!({"user_id": u, "permission": perms_of(g)[0]})
                } else {
                    serde_json::json!({"user_id": u, "group_id": group_id(g), "action": "read"})
                }
            })
            .collect();
        serde_json::json!({ "checks": checks })
    });
    asked.push(("POST /check/batch, 20 checks".into(), batch_body.clone()));
    rows.extend(scenario("POST /check/batch, 20 checks".into(), post("/api/v1/check/batch", batch_body)).await);
    let p = pick.clone();
    let perms = get(Arc::new(move |n| format!("/api/v1/users/{}/permissions", p(n).0)));
    rows.extend(scenario(format!("GET /users/{{id}}/permissions, user in ~{} groups", scale.per_user), perms).await);
    let p = pick.clone();
    let eff = get(Arc::new(move |n| format!("/api/v1/users/{}/groups?effective=true", p(n).0)));
    let effective_name = format!("GET /users/{{id}}/groups?effective=true, ~{} groups", scale.per_user);
    rows.extend(scenario(effective_name.clone(), eff).await);
    let p = pick.clone();
    let one = get(Arc::new(move |n| format!("/api/v1/groups/{}", group_id(p(n).1))));
    rows.extend(scenario("GET /groups/{id}".into(), one).await);
    let p = pick.clone();
    let members = get(Arc::new(move |n| format!("/api/v1/groups/{}/members?limit=30", group_id(p(n).1))));
    let members_name = "GET /groups/{id}/members?limit=30";
    rows.extend(scenario(members_name.into(), members).await);
    let rss_reads = status_kb(pid, "RssAnon");
    // Beside either of the two requests whose rows it reads.
    let store_reads =
        if wanted(members_name) || wanted(&effective_name) { Some(store_reads(&db, &base, &key, &pick, users).await) } else { None };
    let mut rss_writes = None;
    let mut write_floor = None;
    if wanted(ONE_ADD) {
        // Writes go to groups made for the run (and deleted after it), so the data set stays
        // as loaded: each request adds a user not yet in its group.
        let made = make_groups(&base, &key, ADD_GROUPS).await;
        let (targets, next) = (Arc::new(made.clone()), Arc::new(AtomicU64::new(0)));
        let add = post_to(
            base.clone(),
            key.clone(),
            Arc::new(move |_| {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let group = &targets[(i % ADD_GROUPS as u64) as usize];
                let user = format!("usr_h{}", (i / ADD_GROUPS as u64) % users);
                (format!("/api/v1/groups/{group}/members"), serde_json::json!({"user_id": user, "role": "member"}))
            }),
        );
        rows.extend(scenario(ONE_ADD.into(), add).await);
        delete_groups(&base, &key, &made).await;
        // The floor: the same adds' rows written by the bare server ([`FloorWriter`]).
        let (hb, next) = (hello_server.base.clone(), Arc::new(AtomicU64::new(0)));
        let bare: MakeRequest = Arc::new(move |c: &reqwest::Client, _| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (group, user) = (format!("grp_floor{}", i % ADD_GROUPS as u64), format!("usr_h{}", (i / ADD_GROUPS as u64) % users));
            c.post(format!("{hb}/add/{group}")).json(&serde_json::json!({"user_id": user, "role": "member"}))
        });
        write_floor = Some(measure(hello_server.pid(), secs, conc, bare).await);
        let at_end = status_kb(pid, "RssAnon");
        // What the allocator hands back once the writes are over.
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss_writes = Some((at_end, status_kb(pid, "RssAnon")));
    }
    // The floor for a large answer: the bare server sending a body of the same size.
    let mut floors: Vec<(String, Figure)> = Vec::new();
    for (name, f) in rows.iter().filter(|(_, f)| f.bytes > 4096.0) {
        let (base, size) = (hello_server.base.clone(), f.bytes as usize);
        let floor =
            measure(hello_server.pid(), secs, conc, Arc::new(move |c: &reqwest::Client, _| c.get(format!("{base}/bytes/{size}")))).await;
        floors.push((format!("bare axum, {:.0} KB body (as {})", f.bytes / 1000.0, name.split(',').next().unwrap_or(name)), floor));
    }
    // The floor for a question: the bare server parsing the same JSON body and sending an
    // answer of the same size.
    if let Some(f) = write_floor {
        floors.push(("bare axum + rusqlite, the rows of one add, group commit (as one add)".into(), f));
    }
    for (name, body) in asked {
        let Some((_, f)) = rows.iter().find(|(n, _)| *n == name) else { continue };
        let (base, size) = (hello_server.base.clone(), f.bytes as usize);
        let make: MakeRequest = Arc::new(move |c: &reqwest::Client, n| c.post(format!("{base}/json/{size}")).json(&body(n)));
        floors.push((
            format!("bare axum, the same JSON asked (as {})", name.split(',').next().unwrap_or(&name)),
            measure(hello_server.pid(), secs, conc, make).await,
        ));
    }

    println!(
        "\ncohort-bench --hot ({}): {} users, {} groups ({} chains of {} inheriting members and permissions, {} flat), {} memberships; {} s a scenario, {} in flight",
        if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        scale.users + 1,
        scale.groups(),
        scale.chains,
        scale.depth,
        scale.flat,
        memberships,
        secs,
        conc
    );
    println!("speed = baseline CPU / request CPU (the server's own CPU µs a request; higher is better)\n");
    println!(
        "| {:<58} | {:>8} | {:>7} | {:>7} | {:>7} | {:>6} | {:>6} |",
        "request", "req/s", "p50 ms", "p99 ms", "CPU µs", "vs /healthz", "vs hello"
    );
    println!("|{:-<60}|{:->10}|{:->9}|{:->9}|{:->9}|{:->13}|{:->10}|", "", "", "", "", "", "", "");
    print_row("bare axum hello (baseline)", &hello, &health, &hello);
    print_row("GET /healthz (baseline)", &health, &health, &hello);
    for (name, f) in &rows {
        print_row(name, f, &health, &hello);
    }
    for (name, f) in &floors {
        print_row(name, f, &health, &hello);
    }
    println!();
    println!(
        "index: built in {} (ready {:.2} s after start); index ~{}",
        build_secs.map(|s| format!("{s:.2} s")).unwrap_or_else(|| "? s".into()),
        ready_after.as_secs_f64(),
        index_bytes
            .map(|b| format!("{:.1} MB, {:.1} B a membership", b / 1e6, b / memberships as f64))
            .unwrap_or_else(|| "(not logged)".into()),
    );
    let mb = |kb: u64| format!("{:.1} MB ({:.1} B a membership)", kb as f64 / 1024.0, kb as f64 * 1024.0 / memberships as f64);
    println!("server RssAnon: {} once ready, {} after the reads", mb(rss_built), mb(rss_reads));
    if let Some((at_end, later)) = rss_writes {
        println!("server RssAnon after the adds and deleting their groups: {}, 2 s later {}", mb(at_end), mb(later));
    }
    if let Some(reads) = store_reads {
        println!(
            "the database's own reads, through the store, one at a time (no HTTP, no credentials, no JSON): a member page (30 rows and the total) {:.1} µs ({:.2}x hello), a user's ~{} effective groups by id {:.1} µs ({:.2}x hello)",
            reads.member_page_us,
            hello.cpu_us / reads.member_page_us,
            reads.groups_per_user,
            reads.groups_us,
            hello.cpu_us / reads.groups_us
        );
    }
    let _ = std::fs::remove_file(&log);
}

/// What the database itself takes for the rows two requests read.
struct StoreReads {
    member_page_us: f64,
    groups_per_user: usize,
    groups_us: f64,
}

/// Times, one after another, the store calls the member page and a user's effective groups
/// make: the same statements on the same file, without the server around them.
async fn store_reads(db: &Db, base: &str, key: &str, pick: &Arc<impl Fn(u64) -> (String, usize)>, users: u64) -> StoreReads {
    const N: u64 = 2000;
    let listing = cohort_core::list::Listing::page(cohort_core::page::PageRequest { page: 1, limit: 30, with_total: true });
    let query = cohort_core::list::MemberQuery::default();
    let started = Instant::now();
    for n in 0..N {
        let c = db.read().await.expect("read");
        let page = cohort_store::members::list(&c, &group_id(pick(n).1), &query, &listing).await.expect("members");
        std::hint::black_box(page);
    }
    let member_page_us = started.elapsed().as_secs_f64() * 1e6 / N as f64;
    // The ids the server found for 100 users, read again by id.
    let client = reqwest::Client::new();
    let mut lists: Vec<Vec<String>> = Vec::new();
    for u in (0..users).step_by((users / 100).max(1) as usize).take(100) {
        let res = client.get(format!("{base}/api/v1/users/usr_h{u}/groups?effective=true")).bearer_auth(key).send().await.expect("groups");
        let body: serde_json::Value = res.json().await.expect("json");
        let ids =
            body["groups"].as_array().map(|a| a.iter().filter_map(|g| g["id"].as_str().map(String::from)).collect()).unwrap_or_default();
        lists.push(ids);
    }
    let groups_per_user = lists.iter().map(Vec::len).sum::<usize>() / lists.len().max(1);
    let started = Instant::now();
    for n in 0..N as usize {
        let c = db.read().await.expect("read");
        std::hint::black_box(cohort_store::groups::by_ids(&c, &lists[n % lists.len()]).await.expect("by ids"));
    }
    let groups_us = started.elapsed().as_secs_f64() * 1e6 / N as f64;
    StoreReads { member_page_us, groups_per_user, groups_us }
}
