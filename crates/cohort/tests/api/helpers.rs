//! The test kit: a server per test on a fresh database, and a small client.

use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_core::auth::Principal;
use cohort_store::Db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares a story that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! story {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
            async fn postgres() {
                let app = $crate::helpers::TestApp::spawn_postgres().await.expect($crate::helpers::NO_POSTGRES);
                ($body)(app).await;
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{n}", std::process::id(), t % 1_000_000_000)
}

/// What a PostgreSQL test says when it runs without a server to run on.
pub const NO_POSTGRES: &str = "COHORT_TEST_DATABASE_URL is not set: a PostgreSQL test cannot run";

/// A fresh PostgreSQL database on the server `COHORT_TEST_DATABASE_URL` names; its URL.
pub async fn fresh_postgres_url() -> Option<String> {
    let base = std::env::var("COHORT_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
    let name = unique("cohort_t");
    let admin = Db::postgres(&base, 1).expect("postgres url");
    admin.read().await.expect("connect to postgres").batch(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let (head, _) = base.rsplit_once('/').expect("url with a database name");
    let tail = base.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    Some(format!("{head}/{name}{tail}"))
}

/// A server on a random port over a fresh database, with an `admin`-scoped site key.
pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub admin_key: String,
    pub app: App,
    pub data_dir: Option<PathBuf>,
    client: reqwest::Client,
}

/// A user of the tests and the token they call with.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
}

/// A response: status, headers and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Res {
    /// An answer with its body read as JSON; an event stream's body is left unread (it goes
    /// on until the server ends it: the tests that read one do so themselves).
    async fn read(res: reqwest::Response) -> Res {
        let status = res.status();
        let headers = res.headers().clone();
        let streamed = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/event-stream"));
        if streamed {
            return Res { status, headers, body: Value::Null };
        }
        let bytes = res.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res { status, headers, body }
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts the status and keeps the whole answer (for its headers).
    #[track_caller]
    pub fn expect_res(self, status: u16) -> Res {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self
    }

    /// Asserts a native error body with this status and code.
    #[track_caller]
    pub fn error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error"], code, "unexpected error code: {body}");
        assert!(body["message"].is_string(), "error bodies carry a message: {body}");
        body
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("cohort-test"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let db = Db::sqlite(&dir.join("cohort.db")).expect("sqlite");
                Self::start(db, Backend::Sqlite, Some(dir)).await
            }
            Backend::Postgres => Self::spawn_postgres().await.expect("COHORT_TEST_DATABASE_URL"),
        }
    }

    pub async fn spawn_postgres() -> Option<TestApp> {
        let url = fresh_postgres_url().await?;
        Some(Self::spawn_on(&url).await)
    }

    /// A server over the PostgreSQL database at `url`.
    pub async fn spawn_on(url: &str) -> TestApp {
        let db = Db::postgres(url, 8).expect("postgres");
        Self::start(db, Backend::Postgres, None).await
    }

    async fn start(db: Db, backend: Backend, data_dir: Option<PathBuf>) -> TestApp {
        Self::start_with(db, backend, data_dir, cohort_http::ServeOptions::default()).await
    }

    /// A server over `db` with these serving options.
    pub async fn start_with(db: Db, backend: Backend, data_dir: Option<PathBuf>, opts: cohort_http::ServeOptions) -> TestApp {
        // Internal errors are logged; show them beside a failing test.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("error").try_init();
        let app = App::open(db).await.expect("open app");
        let new = NewKey { name: "test-admin".into(), scopes: vec!["admin".into()], ..NewKey::default() };
        let (_, admin_key) = app.create_key(&Principal::system(), new).await.expect("admin key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Receivers in tests listen on loopback, and a failing one is retried within a second.
        let hooks = cohort_app::webhooks::Settings {
            allow_private: true,
            backoff: cohort_core::webhook::Backoff { base: 200, cap: 1000 },
            timeout: std::time::Duration::from_secs(5),
        };
        app.configure_webhooks(hooks).expect("webhook settings");
        app.start_background();
        let served = app.clone();
        tokio::spawn(async move {
            let _ = cohort_http::serve_with(listener, served, opts, std::future::pending()).await;
        });
        TestApp { base: format!("http://{addr}"), backend, admin_key, app, data_dir, client: reqwest::Client::new() }
    }

    /// Sends a request with an optional bearer credential and JSON body.
    pub async fn call(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Res {
        self.call_with(method, path, auth, body, &[]).await
    }

    pub async fn call_with(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>, headers: &[(&str, &str)]) -> Res {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body.filter(|b| !b.is_null()) {
            req = req.json(&b);
        }
        Res::read(req.send().await.expect("request")).await
    }

    /// Sends raw bytes as the body.
    pub async fn raw(&self, method: Method, path: &str, auth: &str, body: Vec<u8>) -> Res {
        Res::read(self.client.request(method, format!("{}{path}", self.base)).bearer_auth(auth).body(body).send().await.expect("request"))
            .await
    }

    pub async fn get(&self, path: &str, auth: &str) -> Res {
        self.call(Method::GET, path, Some(auth), None).await
    }

    pub async fn post(&self, path: &str, auth: &str, body: Value) -> Res {
        self.call(Method::POST, path, Some(auth), Some(body)).await
    }

    pub async fn patch(&self, path: &str, auth: &str, body: Value) -> Res {
        self.call(Method::PATCH, path, Some(auth), Some(body)).await
    }

    pub async fn put(&self, path: &str, auth: &str, body: Value) -> Res {
        self.call(Method::PUT, path, Some(auth), Some(body)).await
    }

    pub async fn delete(&self, path: &str, auth: &str) -> Res {
        self.call(Method::DELETE, path, Some(auth), None).await
    }

    /// Creates a user through the API and mints them a token.
    pub async fn user(&self, username: &str) -> TestUser {
        let body = json!({"username": username, "email": format!("{username}@example.com"), "full_name": username.to_uppercase()});
        let u = self.post("/api/v1/users", &self.admin_key, body).await.expect(201);
        let id = u["id"].as_str().expect("user id").to_string();
        let t = self.post(&format!("/api/v1/users/{id}/tokens"), &self.admin_key, Value::Null).await.expect(201);
        TestUser { id, token: t["token"].as_str().expect("token").into() }
    }

    /// A user who is a site administrator (the seed's `usr_admin`).
    pub async fn site_admin(&self, username: &str) -> TestUser {
        let u = self.user(username).await;
        self.patch(&format!("/api/v1/users/{}", u.id), &self.admin_key, json!({"site_role": "admin"})).await.expect(200);
        u
    }

    /// A user who moderates the default space, and so may grant any permission to its groups
    /// (declaring those the catalogue lacks).
    pub async fn space_moderator(&self, username: &str) -> TestUser {
        let u = self.user(username).await;
        let space = self.get("/api/v1/spaces/spc_default", &self.admin_key).await.expect(200);
        let mut mods: Vec<Value> = space["moderators"].as_array().cloned().unwrap_or_default();
        mods.push(json!(u.id));
        self.patch("/api/v1/spaces/spc_default", &self.admin_key, json!({"moderators": mods})).await.expect(200);
        u
    }

    /// Gives `group` these permissions, as the site (which declares any the catalogue lacks).
    pub async fn grant(&self, group: &str, permissions: &[&str]) {
        self.patch(&format!("/api/v1/groups/{group}/permissions"), &self.admin_key, json!({"add": permissions})).await.expect(200);
    }

    /// Creates a group as `owner` with extra fields; answers its id.
    pub async fn group(&self, owner: &TestUser, name: &str, extra: Value) -> String {
        let mut body = json!({"name": name});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let g = self.post("/api/v1/groups", &owner.token, body).await.expect(201);
        g["id"].as_str().expect("group id").to_string()
    }

    /// Adds `user` to `group` with `role`, as the admin key.
    pub async fn add(&self, group: &str, user: &TestUser, role: &str) {
        self.post(&format!("/api/v1/groups/{group}/members"), &self.admin_key, json!({"user_id": user.id, "role": role})).await.expect(201);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A TCP relay in front of a server, which a test can cut to make that server vanish.
pub struct Relay {
    pub port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    /// Relays a local port to `target` (`host:port`).
    pub async fn start(target: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("relay addr").port();
        let (cut, watch) = tokio::sync::watch::channel(false);
        let target = target.to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                let mut watch = watch.clone();
                if *watch.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Relay { port, cut }
    }

    /// Drops every relayed connection and refuses new ones.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }
}

/// A `cohort serve` process; killed on drop. [`Server::start`] answers once `/readyz` says
/// ready: the process listens at once and builds its access index after.
/// A new site `admin` key in the data directory `data` (made if missing), from the command
/// line, for a [`Server`] started on it.
pub fn admin_key_in(data: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .arg("--data-dir")
        .arg(data)
        .args(["keys", "create", "--name", "ops", "--scopes", "admin", "--create"])
        .output()
        .expect("cohort keys create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

pub struct Server {
    child: std::process::Child,
    pub base: String,
}

impl Server {
    /// A server on the database at `database_url`.
    pub fn start(database_url: &str) -> Server {
        Self::start_with(&["--database-url", database_url])
    }

    /// `cohort serve --listen 127.0.0.1:0` with these arguments too.
    pub fn start_with(args: &[&str]) -> Server {
        Self::start_logging(args, std::process::Stdio::null())
    }

    /// [`Server::start_with`], its log (standard error) written to `log`.
    pub fn start_logging(args: &[&str], log: impl Into<std::process::Stdio>) -> Server {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start cohort");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("listening line");
        let base = line.trim().rsplit(' ').next().expect("address").to_string();
        assert!(base.starts_with("http://"), "unexpected first line {line:?}");
        let server = Server { child, base };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while server.readyz() != 200 {
            assert!(std::time::Instant::now() < deadline, "{} never became ready", server.base);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    /// Sends the process SIGTERM, as a service manager stops it.
    pub fn terminate(&self) {
        let killed = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
    }

    /// Waits up to `within` for the process to exit; its exit status, if it did.
    pub fn exited(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// The status `GET /readyz` answers (0 when the connection fails), over a plain socket
    /// so it can be asked from any thread.
    pub fn readyz(&self) -> u16 {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let Ok(mut s) = std::net::TcpStream::connect(addr) else { return 0 };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
        if s.write_all(format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
            return 0;
        }
        let mut head = String::new();
        let _ = s.read_to_string(&mut head);
        head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
