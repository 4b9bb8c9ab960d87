//! `cohort-bench`: loads a large data set straight into the database (default 1,000,000
//! groups in 1,000 spaces, 5,000,000 memberships), starts the real server on a random port,
//! and measures over HTTP: a filtered list, a search, a walk of 100 pages by cursor — each as
//! requests/s and p50/p99 beside a bare `GET /healthz` measured in the same run.
//!
//! `cargo run --release -p cohort-bench -- --groups 1000000 --memberships 5000000`

// A benchmark run that cannot set itself up has nothing to report: it stops with the reason.
#![allow(clippy::expect_used)]

use clap::Parser;
use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_core::auth::Principal;
use cohort_store::{Db, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// The server's own allocator (see the `cohort` binary), so the figures are the shipped ones.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    groups: usize,
    #[arg(long, default_value_t = 1_000)]
    spaces: usize,
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    #[arg(long, default_value_t = 5_000_000)]
    memberships: usize,
    /// Seconds per measured scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// `postgres://…` to measure PostgreSQL; default: a fresh SQLite file in a temp dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Instead of the lists: time one SCIM PATCH that adds this many members to a group,
    /// beside PATCHes that add one member each.
    #[arg(long)]
    scim_members: Option<usize>,
    /// Instead of the lists: writes and the dialects' reads — a bulk add of this many new
    /// members (default 10,000), single adds under load, the PocketBase list and get beside
    /// the native ones, and the bytes a membership takes on disk.
    #[arg(long, num_args = 0..=1, default_missing_value = "10000")]
    writes: Option<usize>,
    /// Instead of the lists: the access hot path (checks, effective access, group reads)
    /// against `cohort serve` in its own process, at scale `small` (20,000 users, 20,000
    /// groups, 1,000,000 memberships) or `large` (100,000 users, 1,000,000 groups,
    /// 5,000,000 memberships).
    #[arg(long, num_args = 0..=1, default_missing_value = "small")]
    hot: Option<String>,
    /// The `cohort` binary `--hot` starts (default: beside this one).
    #[arg(long)]
    cohort_bin: Option<std::path::PathBuf>,
    /// `--hot` on SQLite: this database file, kept after the run and not loaded again when
    /// it already holds the data set (default: a fresh one in a temp dir).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// `--hot`: only the scenarios whose names contain this.
    #[arg(long)]
    only: Option<String>,
    /// `--hot`: record each scenario's server with `perf record -g` into this directory.
    #[arg(long)]
    perf: Option<std::path::PathBuf>,
    /// Serve the bare baseline for `--hot` (an axum "hello") and nothing else.
    #[arg(long, hide = true)]
    hello: bool,
}

mod hot;

/// A small deterministic generator (the data set is the same on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TYPES: [&str; 4] = ["team", "department", "project", "custom"];
const WORDS: [&str; 8] = ["engineering", "sales", "platform", "research", "support", "design", "finance", "legal"];

async fn insert_rows(db: &Db, table_cols: &str, ncols: usize, rows: &mut dyn Iterator<Item = Vec<Value>>, total: usize, label: &str) {
    let per_stmt = (30_000 / ncols).min(500);
    let mut done = 0;
    let started = Instant::now();
    loop {
        let tx = db.begin().await.expect("begin");
        let mut in_tx = 0;
        while in_tx < 50_000 {
            let batch: Vec<Vec<Value>> = (&mut *rows).take(per_stmt).collect();
            if batch.is_empty() {
                break;
            }
            let marks = format!("({})", vec!["?"; ncols].join(", "));
            let sql = format!("INSERT INTO {table_cols} VALUES {}", vec![marks.as_str(); batch.len()].join(", "));
            let args: Vec<Value> = batch.iter().flatten().cloned().collect();
            tx.execute(&sql, &args).await.expect("insert");
            in_tx += batch.len();
        }
        tx.commit().await.expect("commit");
        done += in_tx;
        eprint!("\r{label}: {done}/{total} ({:.0}/s)   ", done as f64 / started.elapsed().as_secs_f64().max(0.001));
        if in_tx == 0 || done >= total {
            break;
        }
    }
    eprintln!();
}

/// `n` plain users: ids `{id_prefix}{i}`, usernames `{name_prefix}{i}`, numbers from `first_num`.
async fn insert_users(db: &Db, id_prefix: &str, name_prefix: &str, first_num: i64, n: usize) {
    let now: i64 = 1_700_000_000_000;
    let mut u = (0..n).map(|i| {
        let name = format!("{name_prefix}{i}");
        let mut row: Vec<Value> = vec![format!("{id_prefix}{i}").into(), (first_num + i as i64).into(), name.clone().into(), name.into()];
        row.extend([Value::Null, Value::Null, Value::Null, Value::Null, Value::Null]);
        row.extend([1i64.into(), "user".into(), Value::Null, now.into(), now.into(), 1i64.into()]);
        row
    });
    let cols = "users (id, num, username, username_key, email, email_key, full_name, avatar_url, external_id, active, site_role, password_hash, created_at, updated_at, version)";
    insert_rows(db, cols, 15, &mut u, n, "users").await;
}

async fn load(db: &Db, a: &Args) {
    let now: i64 = 1_700_000_000_000;
    let spaces = a.spaces;
    let mut s = (0..spaces).map(|i| {
        vec![
            format!("spc_b{i}").into(),
            format!("Space {i}").into(),
            format!("space {i}").into(),
            Value::Null,
            now.into(),
            Value::Null,
            now.into(),
            1i64.into(),
        ]
    });
    insert_rows(db, "spaces (id, name, name_key, description, created_at, created_by, updated_at, version)", 8, &mut s, spaces, "spaces")
        .await;
    insert_users(db, "usr_b", "user", 1_000_000, a.users).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = (0..a.groups).map(move |i| {
        let word = WORDS[rng.below(WORDS.len())];
        let name = format!("{word} {i}");
        vec![
            format!("grp_b{i:08}").into(),
            (i as i64 + 1_000_000).into(),
            format!("spc_b{}", i % spaces).into(),
            Value::Null,
            "".into(),
            name.clone().into(),
            name.into(),
            format!("the {word} group number {i}").into(),
            TYPES[rng.below(4)].into(),
            if i % 3 == 0 { "private" } else { "public" }.into(),
            (now + i as i64).into(),
            (now + i as i64).into(),
        ]
    });
    insert_rows(
        db,
        "groups (id, num, space_id, parent_id, parent_key, name, name_key, description, type, visibility, created_at, updated_at)",
        12,
        &mut g,
        a.groups,
        "groups",
    )
    .await;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (groups, users) = (a.groups, a.users);
    // Distinct (group, user) pairs: walk users in strides per group.
    let mut m = (0..a.memberships).map(move |i| {
        let gi = i % groups;
        let ui = (i / groups * 7919 + rng.below(7) + gi * 31) % users;
        vec![
            format!("mem_b{i:09}").into(),
            format!("grp_b{gi:08}").into(),
            format!("usr_b{ui}").into(),
            "member".into(),
            "[]".into(),
            "active".into(),
            (now + i as i64).into(),
            now.into(),
        ]
    });
    insert_rows(
        db,
        "memberships (id, group_id, user_id, role, permissions, status, joined_at, updated_at)",
        8,
        &mut m,
        a.memberships,
        "memberships",
    )
    .await;
    recount_members(db, "", &[]).await;
}

/// Sets the member counts of the groups `where_sql` picks (all with "") from the rows loaded.
async fn recount_members(db: &Db, where_sql: &str, args: &[Value]) {
    let tx = db.begin().await.expect("begin");
    tx.execute(
        &format!("UPDATE groups SET active_members = (SELECT COUNT(*) FROM memberships m WHERE m.group_id = groups.id) {where_sql}"),
        args,
    )
    .await
    .expect("counts");
    tx.commit().await.expect("commit");
}

struct Stats {
    rps: f64,
    /// CPU time the whole process (server and client) spent per request, in µs: steadier
    /// than requests/s on a machine whose other load comes and goes.
    cpu_us: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `make_url` requests from `concurrency` tasks for `seconds`.
async fn measure(base: &str, key: &str, seconds: u64, concurrency: usize, make_url: Arc<dyn Fn(u64) -> String + Send + Sync>) -> Stats {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let counter = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, counter, make_url, base, key) = (client.clone(), counter.clone(), make_url.clone(), base.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let res = client.get(format!("{base}{}", make_url(n))).bearer_auth(&key).send().await.expect("request");
                assert!(res.status().is_success(), "{}", res.status());
                let _ = res.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default();
    let cpu_us = (cpu_seconds() - cpu_before) * 1e6 / all.len().max(1) as f64;
    Stats { rps: all.len() as f64 / seconds as f64, cpu_us, p50: pct(0.5), p99: pct(0.99) }
}

/// User and system CPU time this process has used, from `/proc/self/stat` (0 where there is none).
fn cpu_seconds() -> f64 {
    cpu_seconds_at("/proc/self/stat")
}

/// User and system CPU time of the process whose `stat` file is `path`.
fn cpu_seconds_at(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name (which may hold spaces) end with `)`.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    // /proc counts in USER_HZ ticks, 100 a second on Linux.
    ticks / 100.0
}

fn row(name: &str, s: &Stats, base: &Stats) {
    println!(
        "{name:<34} {:>9.0} req/s  {:>6.1}% of healthz   CPU/req {:>6.0} µs ({:>5.1}x healthz)   p50 {:>8.2} ms   p99 {:>8.2} ms",
        s.rps,
        100.0 * s.rps / base.rps,
        s.cpu_us,
        s.cpu_us / base.cpu_us.max(1e-9),
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    if a.hello {
        hot::hello(std::env::var("COHORT_BENCH_FLOOR_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)).await;
        return;
    }
    let dir = std::env::temp_dir().join(format!("cohort-bench-{}", std::process::id()));
    let db = match (&a.database_url, &a.data) {
        (Some(url), _) => Db::postgres(url, 32).expect("postgres"),
        (None, Some(file)) => Db::sqlite(file).expect("sqlite"),
        (None, None) => {
            std::fs::create_dir_all(&dir).expect("dir");
            Db::sqlite(&dir.join("bench.db")).expect("sqlite")
        }
    };
    cohort_store::migrate::run(&db).await.expect("migrate");
    if let Some(n) = a.scim_members {
        scim_patch(db, n).await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    if let Some(name) = &a.hot {
        let scale = hot::Scale::named(name).expect("--hot takes small or large");
        let file = a.data.clone().unwrap_or_else(|| dir.join("bench.db"));
        let url = a.database_url.clone().unwrap_or_else(|| format!("sqlite:{}", file.display()));
        let o = hot::Options {
            seconds: a.seconds,
            concurrency: a.concurrency,
            cohort_bin: a.cohort_bin.clone(),
            only: a.only.clone(),
            perf: a.perf.clone(),
        };
        hot::run(db, url, scale, o).await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    if let Some(n) = a.writes {
        writes(db, n, &a, &dir).await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let started = Instant::now();
    load(&db, &a).await;
    eprintln!("loaded in {:.1}s", started.elapsed().as_secs_f64());
    let app = App::open(db).await.expect("open");
    let (_, key) = app
        .create_key(&Principal::system(), NewKey { name: "bench".into(), scopes: vec!["admin".into()], ..NewKey::default() })
        .await
        .expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(cohort_http::serve(listener, app, std::future::pending()));

    let (secs, conc, spaces) = (a.seconds, a.concurrency, a.spaces as u64);
    let health = measure(&base, &key, secs, conc, Arc::new(|_| "/healthz".to_string())).await;
    let filtered = measure(
        &base,
        &key,
        secs,
        conc,
        Arc::new(move |n| {
            format!(
                "/api/v1/groups?filter=space%3D%27spc_b{}%27%20%26%26%20type%3D%27team%27&sort=-created_at&limit=30&skip_total=true",
                n % spaces
            )
        }),
    )
    .await;
    let search = measure(
        &base,
        &key,
        secs,
        conc,
        Arc::new(|n| format!("/api/v1/groups?search={}&limit=30&skip_total=true", WORDS[(n % 8) as usize])),
    )
    .await;
    // A cursor walk over all groups, newest first: 100 pages of 30, timing the first and the
    // last pages.
    let client = reqwest::Client::new();
    let mut first = Vec::new();
    let mut deep = Vec::new();
    for walk in 0..20u64 {
        let mut cursor = String::new();
        for page in 0..100 {
            let url = format!(
                "{base}/api/v1/groups?sort=-created_at&limit=30&skip_total=true&cursor={cursor}&type={}",
                TYPES[(walk % 4) as usize]
            );
            let t = Instant::now();
            let body: serde_json::Value = client.get(url).bearer_auth(&key).send().await.expect("page").json().await.expect("json");
            let took = t.elapsed();
            if page == 0 {
                first.push(took);
            }
            if page >= 90 {
                deep.push(took);
            }
            match body["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
    }
    first.sort();
    deep.sort();
    let p99 = |v: &Vec<Duration>| v.get((v.len() as f64 * 0.99) as usize).or(v.last()).copied().unwrap_or_default();

    println!(
        "\ncohort-bench: {} groups, {} spaces, {} users, {} memberships; {} s per scenario, {} in flight",
        a.groups, a.spaces, a.users, a.memberships, secs, conc
    );
    row("GET /healthz (baseline)", &health, &health);
    row("filtered list (space && type, -created)", &filtered, &health);
    row("search", &search, &health);
    println!(
        "cursor walk, 100 pages: first page p99 {:.2} ms, pages 90-100 p99 {:.2} ms (ratio {:.2})",
        p99(&first).as_secs_f64() * 1e3,
        p99(&deep).as_secs_f64() * 1e3,
        p99(&deep).as_secs_f64() / p99(&first).as_secs_f64().max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One SCIM PATCH adding `n` members, against PATCHes adding one member each.
async fn scim_patch(db: Db, n: usize) {
    let extra = 50;
    insert_users(&db, "usr_s", "scim", 1, n + extra).await;
    let app = App::open(db).await.expect("open");
    // A site admin key: it reaches every user (a space's scim key reaches only those its
    // space provisioned, and these were loaded straight into the table).
    let new = NewKey { name: "scim".into(), scopes: vec!["admin".into()], ..NewKey::default() };
    let (_, key) = app.create_key(&Principal::system(), new).await.expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(cohort_http::serve(listener, app, std::future::pending()));
    let client = reqwest::Client::new();
    let group = |name: &str| {
        let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
        client
            .post(format!("{base}/scim/v2/Groups"))
            .bearer_auth(&key)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let patch = |gid: String, ids: Vec<String>| {
        // As Okta sends them: each member with its display, which is kept.
        let members: Vec<serde_json::Value> =
            ids.into_iter().map(|v| serde_json::json!({"display": format!("{v}@example.com"), "value": v})).collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": members}]
        });
        client
            .patch(format!("{base}/scim/v2/Groups/{gid}"))
            .bearer_auth(&key)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let id_of = |v: serde_json::Value| v["id"].as_str().expect("group id").to_string();
    let small = id_of(group("One at a time").await.expect("create").json().await.expect("json"));
    let mut singles = Vec::new();
    for i in 0..extra {
        let t = Instant::now();
        let res = patch(small.clone(), vec![format!("usr_s{}", n + i)]).await.expect("patch");
        assert!(res.status().is_success(), "{}", res.status());
        singles.push(t.elapsed());
    }
    singles.sort();
    let single = singles[singles.len() / 2];
    let big = id_of(group("All at once").await.expect("create").json().await.expect("json"));
    let t = Instant::now();
    let res = patch(big.clone(), (0..n).map(|i| format!("usr_s{i}")).collect()).await.expect("patch");
    let took = t.elapsed();
    assert!(res.status().is_success(), "{}", res.status());
    let check: serde_json::Value =
        client.get(format!("{base}/scim/v2/Groups/{big}")).bearer_auth(&key).send().await.expect("get").json().await.expect("json");
    let got = check["members"].as_array().map(Vec::len).unwrap_or(0);
    println!("\ncohort-bench --scim-members {n}: one PATCH adding {n} members took {:.2} s ({got} members read back)", took.as_secs_f64());
    println!(
        "a PATCH adding one member: median {:.2} ms; the big PATCH costs {:.3} ms per member, {:.3}x a single-member PATCH per member",
        single.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3 / n as f64,
        (took.as_secs_f64() / n as f64) / single.as_secs_f64()
    );
}

/// Requests of `send` from `concurrency` tasks for `seconds`; `send` gets a sequence number.
async fn measure_with<F, Fut>(seconds: u64, concurrency: usize, send: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = reqwest::StatusCode> + Send,
{
    let send = Arc::new(send);
    let counter = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (send, counter) = (send.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let status = send(n).await;
                assert!(status.is_success(), "{status}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default();
    let cpu_us = (cpu_seconds() - cpu_before) * 1e6 / all.len().max(1) as f64;
    Stats { rps: all.len() as f64 / seconds as f64, cpu_us, p50: pct(0.5), p99: pct(0.99) }
}

/// Bytes the database takes on disk now (SQLite: the file's pages in use once the WAL is
/// copied back, the WAL kept at its size as a running server keeps it;
/// PostgreSQL: the whole database).
async fn disk_bytes(db: &Db, dir: &std::path::Path) -> i64 {
    match db.backend() {
        cohort_store::Backend::Sqlite => {
            let c = db.read().await.expect("read");
            let _ = c.batch("PRAGMA wal_checkpoint(RESTART)").await;
            let page_size: i64 = c.query_one("PRAGMA page_size", &[]).await.expect("page size").get(0).expect("int");
            let pages: i64 = c.query_one("PRAGMA page_count", &[]).await.expect("pages").get(0).expect("int");
            let free: i64 = c.query_one("PRAGMA freelist_count", &[]).await.expect("free").get(0).expect("int");
            let _ = dir;
            (pages - free) * page_size
        }
        cohort_store::Backend::Postgres => {
            let c = db.read().await.expect("read");
            c.query_one("SELECT pg_database_size(current_database())", &[]).await.expect("size").get(0).expect("int")
        }
    }
}

/// Makes an empty public group through the API; answers its id.
pub(crate) async fn create_group(client: &reqwest::Client, base: &str, key: &str, name: String) -> String {
    let res = client
        .post(format!("{base}/api/v1/groups"))
        .bearer_auth(key)
        .json(&serde_json::json!({"name": name, "visibility": "public"}))
        .send()
        .await;
    let v: serde_json::Value = res.expect("create").json().await.expect("json");
    v["id"].as_str().expect("group id").to_string()
}

/// Writes: a bulk add of `n` new members, single adds, the PocketBase reads beside the
/// native ones, and bytes per membership.
async fn writes(db: Db, n: usize, a: &Args, dir: &std::path::Path) {
    let singles = 200_000;
    insert_users(&db, "usr_w", "writer", 1, n + singles).await;
    let app = App::open(db.clone()).await.expect("open");
    let (_, key) = app
        .create_key(&Principal::system(), NewKey { name: "bench".into(), scopes: vec!["admin".into()], ..NewKey::default() })
        .await
        .expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(cohort_http::serve(listener, app, std::future::pending()));
    let client = reqwest::Client::builder().pool_max_idle_per_host(a.concurrency).build().expect("client");
    let make_group = |name: String| create_group(&client, &base, &key, name);

    // Bulk adds of the same n users to three new groups: the first right after the users were
    // loaded, the others once the database's pages are warm.
    let mut took = Vec::new();
    let mut per_membership = 0.0;
    let rounds = std::env::var("BULK_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    for round in 0..rounds {
        let big = make_group(format!("Bulk {round}")).await;
        let before = disk_bytes(&db, dir).await;
        let members: Vec<serde_json::Value> = (0..n).map(|i| serde_json::json!({"user_id": format!("usr_w{i}")})).collect();
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/groups/{big}/members/bulk"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"members": members}))
            .send()
            .await
            .expect("bulk");
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("json");
        took.push(t.elapsed());
        assert!(status.is_success() && body["added"].as_u64() == Some(n as u64), "{status} {}", body["added"]);
        if round == 0 {
            per_membership = (disk_bytes(&db, dir).await - before) as f64 / n as f64;
        }
    }
    // The floor: the database itself inserting the same rows into the memberships table
    // alone (its indexes and foreign keys, no history, audit or change log), in one
    // statement and one transaction, to new groups in turn.
    let users: Vec<String> = (0..n).map(|i| format!("usr_w{i}")).collect();
    let mut floor = Vec::new();
    for round in 0..3 {
        let bare = make_group(format!("Floor {round}")).await;
        let sql = format!(
            "INSERT INTO memberships (id, group_id, user_id, role, permissions, status, joined_at, updated_at, version, active_since) \
             SELECT 'mem_floor{round}_' || j.value, ?, j.value, 'member', '[]', 'active', 0, 0, 1, 0 FROM {}",
            cohort_store::each(db.backend(), "j")
        );
        let t = Instant::now();
        let tx = db.begin().await.expect("begin");
        tx.execute(&sql, &[bare.as_str().into(), cohort_store::texts(&users)]).await.expect("floor insert");
        tx.commit().await.expect("floor commit");
        floor.push(t.elapsed());
    }
    println!("\ncohort-bench --writes {n} ({})", if a.database_url.is_some() { "PostgreSQL" } else { "SQLite" });
    let ms = |ts: &[Duration]| ts.iter().map(|t| format!("{:.1}", t.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(" / ");
    println!("bulk add of {n} new members, to three new groups in turn: {} ms", ms(&took));
    let median = |ts: &[Duration]| {
        let mut v = ts.to_vec();
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    println!(
        "the database's own INSERT … SELECT of {n} membership rows, one transaction: {} ms (the bulk add takes {:.2}x, medians)",
        ms(&floor),
        median(&took) / median(&floor)
    );
    println!("on disk: {per_membership:.0} bytes a membership (membership, history, audit event, change log and their indexes)");
    if std::env::var("BULK_ONLY").is_ok() {
        return;
    }

    // Single adds under load, each a new member of one of a few groups.
    let groups: Vec<String> = {
        let mut out = Vec::new();
        for i in 0..16 {
            out.push(make_group(format!("Singles {i}")).await);
        }
        out
    };
    let (secs, conc) = (a.seconds, a.concurrency);
    let health = {
        let (client, base) = (client.clone(), base.clone());
        measure_with(secs, conc, move |_| {
            let (client, base) = (client.clone(), base.clone());
            async move { client.get(format!("{base}/healthz")).send().await.expect("health").status() }
        })
        .await
    };
    let groups = Arc::new(groups);
    let commits_before = db.sqlite_commits();
    let adds = {
        let (client, base, key, groups) = (client.clone(), base.clone(), key.clone(), groups.clone());
        measure_with(secs, conc, move |i| {
            let (client, base, key, groups) = (client.clone(), base.clone(), key.clone(), groups.clone());
            async move {
                let g = &groups[(i % groups.len() as u64) as usize];
                let body = serde_json::json!({"user_id": format!("usr_w{}", n as u64 + i % singles as u64), "role": "member"});
                client.post(format!("{base}/api/v1/groups/{g}/members")).bearer_auth(&key).json(&body).send().await.expect("add").status()
            }
        })
        .await
    };
    let shared = commits_before.zip(db.sqlite_commits()).map(|(b, a)| adds.rps * secs as f64 / (a - b).max(1) as f64);
    if std::env::var("SINGLES_ONLY").is_ok() {
        row("GET /healthz (baseline)", &health, &health);
        row("one add", &adds, &health);
        return;
    }

    // The same group read through both surfaces: 30 groups of the list, and one group.
    let read = |path: String| {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        measure_with(secs, conc, move |_| {
            let (client, url, key) = (client.clone(), format!("{base}{path}"), key.clone());
            async move {
                let res = client.get(url).bearer_auth(&key).send().await.expect("get");
                let status = res.status();
                let _ = res.bytes().await;
                status
            }
        })
    };
    let native_list = read("/api/v1/groups?limit=30&skip_total=true".into()).await;
    let pb_list = read("/api/collections/groups/records?perPage=30&skipTotal=true".into()).await;
    let native_get = read(format!("/api/v1/groups/{}", groups[0])).await;
    let pb_get = read(format!("/api/collections/groups/records/{}", groups[0])).await;
    row("GET /healthz (baseline)", &health, &health);
    row("POST /groups/{id}/members (one add)", &adds, &health);
    if let Some(per) = shared {
        println!("  (one SQLite commit for every {per:.1} adds: group commit)");
    }
    row("native list of 30 groups", &native_list, &health);
    row("PocketBase list of 30 groups", &pb_list, &health);
    row("native get of a group", &native_get, &health);
    row("PocketBase get of a group", &pb_get, &health);
    println!(
        "PocketBase / native CPU per request: list {:.2}x, get {:.2}x",
        pb_list.cpu_us / native_list.cpu_us.max(1e-9),
        pb_get.cpu_us / native_get.cpu_us.max(1e-9)
    );
}
