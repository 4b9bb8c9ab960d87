//! Hostile and unlucky conditions: password guessing, a database that is slow or gone, and
//! clients that hold connections open without finishing a request.

use crate::helpers::{Backend, Relay, TestApp, fresh_postgres_url};
use crate::story;
use cohort_store::{Db, Limits};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn login(app: &TestApp, name: &str, password: &str) -> crate::helpers::Res {
    app.call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": name, "password": password}))).await
}

async fn user_with_password(app: &TestApp, name: &str, password: &str) {
    app.post("/api/v1/users", &app.admin_key, json!({"username": name, "password": password})).await.expect(201);
}

story!(failed_logins_slow_down_per_account, |app: TestApp| async move {
    user_with_password(&app, "target", "the right password").await;
    for _ in 0..6 {
        login(&app, "target", "a wrong guess").await.error(401, "unauthenticated");
    }
    // Past the allowance the account waits, and the right password is refused too.
    let locked = login(&app, "target", "the right password").await;
    let retry = locked.header("retry-after").expect("Retry-After");
    assert!(retry.parse::<u64>().unwrap() >= 1, "{retry}");
    locked.error(429, "rate_limited");
    // The PocketBase sign-in is the same door.
    let pb = app
        .call(
            Method::POST,
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "target", "password": "the right password"})),
        )
        .await;
    assert_eq!(pb.status, 429, "{}", pb.body);
    assert!(pb.header("retry-after").is_some());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    login(&app, "target", "the right password").await.expect(200);
    // A success forgets the failures.
    for _ in 0..5 {
        login(&app, "target", "a wrong guess").await.error(401, "unauthenticated");
    }
    login(&app, "target", "the right password").await.expect(200);
});

story!(failed_logins_slow_down_per_address, |app: TestApp| async move {
    user_with_password(&app, "victim", "the right password").await;
    // Guessing across many accounts from one address: each account stays under its
    // allowance, the address does not.
    for i in 0..21 {
        login(&app, &format!("nobody{i}"), "guess").await.error(401, "unauthenticated");
    }
    let res = login(&app, "victim", "the right password").await;
    assert!(res.header("retry-after").is_some());
    res.error(429, "rate_limited");
});

/// A PostgreSQL-backed server whose database waits at most `wait` for anything.
async fn impatient_postgres(url: &str, wait: Duration) -> TestApp {
    let limits = Limits { pool_wait: wait, statement: wait, connect: wait };
    let db = Db::postgres_with(url, 4, limits).expect("postgres");
    TestApp::start_with(db, Backend::Postgres, None, cohort_http::ServeOptions::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_lock_held_past_the_statement_timeout_gives_503_in_time_on_postgres() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let app = impatient_postgres(&url, Duration::from_secs(1)).await;
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Locked", json!({})).await;
    let check = json!({"user_id": owner.id, "group_id": g, "action": "manage_settings"});
    app.post("/api/v1/check", &owner.token, check.clone()).await.expect(200);

    // Another session holds the groups table for 4 s.
    let holder = Db::postgres(&url, 1).expect("postgres");
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let held = tokio::spawn(async move {
        let tx = holder.begin().await.expect("begin");
        tx.batch("LOCK TABLE groups IN ACCESS EXCLUSIVE MODE").await.expect("lock");
        let _ = locked_tx.send(());
        tokio::time::sleep(Duration::from_secs(4)).await;
        drop(tx);
    });
    locked_rx.await.expect("lock taken");

    let started = Instant::now();
    let res = app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "waits"})).await;
    let took = started.elapsed();
    assert!(res.header("retry-after").is_some(), "{res:?}");
    res.error(503, "unavailable");
    assert!(took < Duration::from_secs(3), "answered in {took:?}, not after the lock");

    // More writers than connections: each is answered in time too.
    let writes = (0..8).map(|i| {
        let (app, token, g) = (&app, owner.token.clone(), g.clone());
        async move {
            let t = Instant::now();
            let r = app.patch(&format!("/api/v1/groups/{g}"), &token, json!({"description": format!("w{i}")})).await;
            (r.status.as_u16(), t.elapsed())
        }
    });
    for (status, took) in futures_util::future::join_all(writes).await {
        assert_eq!(status, 503);
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
    // Checks answer from memory meanwhile, for a credential already verified.
    let t = Instant::now();
    assert_eq!(app.post("/api/v1/check", &owner.token, check).await.expect(200)["allowed"], true);
    assert!(t.elapsed() < Duration::from_millis(500));
    held.await.expect("holder");
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "after"})).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_database_outage_answers_503_and_checks_keep_answering_on_postgres() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    // The server reaches PostgreSQL through a relay the test cuts.
    let (head, db_name) = url.rsplit_once('/').expect("url");
    let authority = head.rsplit_once('@').map(|(_, a)| a).unwrap_or(head.trim_start_matches("postgres://"));
    let relay = Relay::start(authority).await;
    let user_part = head.split_once("//").map(|(_, r)| r).unwrap_or("").split_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    let relayed = format!("postgres://{user_part}127.0.0.1:{}/{db_name}", relay.port);
    let app = impatient_postgres(&relayed, Duration::from_secs(1)).await;
    let alice = app.user("alice").await;
    let g = app.group(&alice, "Team", json!({})).await;
    app.grant(&g, &["kb.read"]).await;
    let check = json!({"user_id": alice.id, "permission": "kb.read"});
    app.post("/api/v1/check", &app.admin_key, check.clone()).await.expect(200);
    app.get("/readyz", &app.admin_key).await.expect(200);

    relay.cut();
    let t = Instant::now();
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert!(ready.header("retry-after").is_some(), "{ready:?}");
    ready.error(503, "unavailable");
    let write = app.patch(&format!("/api/v1/groups/{g}"), &alice.token, json!({"description": "gone"})).await;
    assert!(write.header("retry-after").is_some());
    write.error(503, "unavailable");
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    // The access index and verified credentials still answer.
    let answer = app.post("/api/v1/check", &app.admin_key, check).await.expect(200);
    assert_eq!(answer, json!({"allowed": true, "via": [g]}));
    // An unknown credential cannot be verified now: unavailable, never "denied".
    let unknown = app.get("/api/v1/users/me", "ck_not_a_key_that_exists_anywhere_at_all_123456789").await;
    assert_eq!(unknown.status, 503, "{}", unknown.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_lock_gives_503_in_time_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Busy", json!({})).await;
    // Another connection holds SQLite's write lock (as a CLI command mid-transaction would).
    let file = app.data_dir.clone().expect("data dir").join("cohort.db");
    let other = Db::sqlite(&file).expect("sqlite").begin().await.expect("begin");
    let started = Instant::now();
    let res = app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "waits"})).await;
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert!(res.header("retry-after").is_some(), "{res:?}");
    res.error(503, "unavailable");
    drop(other);
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "after"})).await.expect(200);
}

/// Reads what the server sends until it closes the connection or `within` passes; answers
/// whether it closed.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_off() {
    let dir = std::env::temp_dir().join(format!("cohort-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = Db::sqlite(&dir.join("cohort.db")).expect("sqlite");
    let opts = cohort_http::ServeOptions {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..cohort_http::ServeOptions::default()
    };
    let app = TestApp::start_with(db, Backend::Sqlite, Some(dir), opts).await;
    let addr = app.base.trim_start_matches("http://").to_string();

    // Headers that never finish.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: cohort\r\nX-Slow: ").await.expect("write");
    let t = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await, "a slow-header connection stays open");
    assert!(t.elapsed() >= Duration::from_millis(900), "closed early: {:?}", t.elapsed());

    // A connection that never says anything, and a kept-alive one that goes quiet.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await, "a silent connection stays open");
    let mut kept = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: cohort\r\n\r\n").await.expect("write");
    let mut first = [0u8; 256];
    let n = kept.read(&mut first).await.expect("answer");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut kept, Duration::from_secs(5)).await, "an idle kept-alive connection stays open");

    // Meanwhile the server answers everyone else.
    let health: Value = reqwest::get(format!("{}/healthz", app.base)).await.expect("get").json().await.expect("json");
    assert_eq!(health["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limits_per_address_and_per_key_when_configured() {
    let dir = std::env::temp_dir().join(format!("cohort-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = Db::sqlite(&dir.join("cohort.db")).expect("sqlite");
    let opts = cohort_http::ServeOptions {
        limits: cohort_http::limits::RateLimits { per_key: Some(5), per_address: Some(50) },
        ..cohort_http::ServeOptions::default()
    };
    let app = TestApp::start_with(db, Backend::Sqlite, Some(dir), opts).await;
    // One credential: a burst of one second's worth (5), then 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let res = app.get("/api/v1/groups", &app.admin_key).await;
        if res.status == 429 {
            assert!(res.header("retry-after").is_some());
            assert_eq!(res.body["error"], "rate_limited");
        }
        statuses.push(res.status.as_u16());
    }
    assert!(statuses.iter().take(5).all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Without credentials the address limit applies: 50 a second, so 60 at once meet it.
    let mut limited = 0;
    for _ in 0..60 {
        if app.call(Method::GET, "/healthz", None, None).await.status == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "the address limit never applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_request_running_late_answers_what_it_did_not_run() {
    let dir = std::env::temp_dir().join(format!("cohort-bulk-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = Db::sqlite(&dir.join("cohort.db")).expect("sqlite");
    let opts = cohort_http::ServeOptions { request_timeout: Duration::from_secs(2), ..cohort_http::ServeOptions::default() };
    let app = TestApp::start_with(db, Backend::Sqlite, Some(dir), opts).await;
    // Each user's password is hashed with Argon2id (~20 ms): 1,000 of them take far longer
    // than the 1.6 s the request starts operations in.
    let ops: Vec<Value> = (0..1000)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {"userName": format!("late{i}"), "password": "a long enough password"}}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let started = Instant::now();
    let res = app.call_with(Method::POST, "/scim/v2/Bulk", Some(&app.admin_key), Some(body), &[]).await;
    assert!(started.elapsed() < Duration::from_secs(2), "answered before the deadline: {:?}", started.elapsed());
    let answers = res.expect(200)["Operations"].as_array().expect("operations").clone();
    assert_eq!(answers.len(), 1000);
    let made: Vec<&Value> = answers.iter().filter(|a| a["status"] == "201").collect();
    let late = answers.iter().filter(|a| a["status"] == "503").count();
    assert!(!made.is_empty() && late > 0 && made.len() + late == 1000, "{} made, {late} late", made.len());
    // Exactly the operations answered 201 made users.
    let users = app.get("/scim/v2/Users?filter=userName%20sw%20%22late%22&count=0", &app.admin_key).await.expect(200);
    assert_eq!(users["totalResults"], made.len());
}

/// Whether the connection `db` hands out is encrypted, as the server sees it.
async fn encrypted(db: &cohort_store::Db) -> Result<bool, String> {
    let c = db.read().await.map_err(|e| e.to_string())?;
    let rows = c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.map_err(|e| e.to_string())?;
    rows.first().ok_or("no row")?.get::<bool>(0).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tls_tests),
    ignore = "needs COHORT_TEST_DATABASE_URL and COHORT_TEST_DATABASE_TLS_CA (a PostgreSQL server with TLS, its certificate issued to localhost) when the tests are built"
)]
async fn postgresql_over_tls_checks_the_servers_certificate() {
    let url = crate::helpers::fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let ca = std::env::var("COHORT_TEST_DATABASE_TLS_CA").expect("COHORT_TEST_DATABASE_TLS_CA");
    let by_name = url.replace("@127.0.0.1:", "@localhost:");
    let open = |u: String| cohort_store::Db::postgres(&u, 1).unwrap();
    // In the clear unless asked.
    assert_eq!(encrypted(&open(by_name.clone())).await, Ok(false));
    // Encrypted, the certificate checked against the CA given and its name against the host.
    assert_eq!(encrypted(&open(format!("{by_name}?sslmode=require&sslrootcert={ca}"))).await, Ok(true));
    assert_eq!(encrypted(&open(format!("{by_name}?sslmode=verify-full&sslrootcert={ca}"))).await, Ok(true));
    // Not trusted under another name than its certificate's (unless only the CA is checked).
    // (A certificate the system itself trusts, as Debian's own may be, is trusted without
    // `sslrootcert` too; a missing file is said.)
    let missing =
        cohort_store::Db::postgres(&format!("{by_name}?sslmode=require&sslrootcert=/nonexistent.pem"), 1).err().map(|e| e.to_string());
    assert!(missing.unwrap_or_default().contains("reading sslrootcert /nonexistent.pem"));
    let by_address = encrypted(&open(format!("{url}?sslmode=require&sslrootcert={ca}"))).await.unwrap_err();
    assert!(by_address.contains("certificate verify failed") || by_address.contains("match"), "{by_address}");
    assert_eq!(encrypted(&open(format!("{url}?sslmode=verify-ca&sslrootcert={ca}"))).await, Ok(true));
    // The command line takes the same URL; a mode that does not exist is said.
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["migrate", "--database-url", &format!("{by_name}?sslmode=require&sslrootcert={ca}")])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let bad = cohort_store::Db::postgres(&format!("{by_name}?sslmode=sometimes"), 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(bad.contains("sslmode \"sometimes\" is not"), "{bad}");
}
