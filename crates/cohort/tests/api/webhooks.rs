//! Webhooks delivered to a real receiver on localhost: every event, signed, in order; a
//! receiver that is down gets everything when it returns; a killed server loses nothing;
//! two instances deliver each event once; deliveries stay off private networks unless told.

use crate::helpers::*;
use crate::story;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn revision(&self) -> i64 {
        self.event()["revision"].as_i64().unwrap()
    }
}

/// A small HTTP/1.1 server that records every request and answers with `status` (after
/// `delay`).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    status: Arc<Mutex<(u16, Duration)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        Self::on(0, Arc::default()).await
    }

    async fn on(port: u16, got: Arc<Mutex<Vec<Got>>>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(Mutex::new((200, Duration::ZERO)));
        let (seen, answer) = (got.clone(), status.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else { return };
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let head_end = loop {
                        let Ok(n) = s.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    while buf.len() < head_end + len {
                        let Ok(n) = s.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let (code, delay) = *answer.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    let body = buf[head_end..head_end + len].to_vec();
                    seen.lock().unwrap().push(Got { headers, body });
                    let reply = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = s.write_all(reply.as_bytes()).await;
                });
            }
        });
        Receiver { port, got, status, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn answer(&self, code: u16, delay: Duration) {
        *self.status.lock().unwrap() = (code, delay);
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Stops listening: connections are refused until it is started again on its port.
    fn stop(self) -> (u16, Arc<Mutex<Vec<Got>>>) {
        self.task.abort();
        (self.port, self.got)
    }

    /// Waits until `done` holds for what it got, up to `within`.
    async fn wait_for(&self, within: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "the receiver got {} requests: {:?}", got.len(), revisions(&got));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn revisions(got: &[Got]) -> Vec<i64> {
    got.iter().map(Got::revision).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `Cohort-Signature: t=…,v1=…` is HMAC-SHA256 of `t.body` under `secret`.
fn signed(got: &Got, secret: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(sig) = got.headers.get("cohort-signature") else { return false };
    let parts: HashMap<&str, &str> = sig.split(',').filter_map(|p| p.split_once('=')).collect();
    let (Some(t), Some(v1)) = (parts.get("t"), parts.get("v1")) else { return false };
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    let fresh = t.parse::<i64>().is_ok_and(|t| (t - cohort_core::time::now() / 1000).abs() < 300);
    fresh && hex(&mac.finalize().into_bytes()) == *v1
}

story!(a_group_webhook_gets_each_of_its_events_signed_and_in_order, |app: TestApp| async move {
    let receiver = Receiver::start().await;
    let owner = app.user("hook-owner").await;
    let g = app.group(&owner, "Hooked", json!({})).await;
    let other = app.group(&owner, "Not hooked", json!({})).await;
    let made =
        app.post(&format!("/api/v1/groups/{g}/webhooks"), &owner.token, json!({"url": receiver.url(), "events": ["member.*"]})).await;
    let hook = made.expect(201);
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let id = hook["id"].as_str().unwrap().to_string();
    // The secret is shown once.
    let shown = app.get(&format!("/api/v1/webhooks/{id}"), &owner.token).await.expect(200);
    assert!(shown.get("secret").is_none() && shown["events"] == json!(["member.*"]), "{shown}");
    let listed = app.get(&format!("/api/v1/groups/{g}/webhooks"), &owner.token).await.expect(200);
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);

    let mut users = Vec::new();
    for i in 0..4 {
        let u = app.user(&format!("hooked-{i}")).await;
        app.add(&g, &u, "member").await;
        app.add(&other, &u, "member").await;
        users.push(u);
    }
    app.patch(&format!("/api/v1/groups/{g}/members/{}", users[0].id), &app.admin_key, json!({"role": "moderator"})).await.expect(200);
    app.delete(&format!("/api/v1/groups/{g}/members/{}", users[1].id), &app.admin_key).await.expect(200);
    app.patch(&format!("/api/v1/groups/{g}"), &app.admin_key, json!({"description": "not a member event"})).await.expect(200);

    receiver.wait_for(Duration::from_secs(20), |g| g.len() >= 6).await;
    // Nothing more comes (the other group's events, the group's own update).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = receiver.got();
    let kinds: Vec<String> = got.iter().map(|x| x.event()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["member.added", "member.added", "member.added", "member.added", "member.role_changed", "member.removed"]);
    let revs = revisions(&got);
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "in order: {revs:?}");
    for x in &got {
        assert!(signed(x, &secret), "a valid signature: {:?}", x.headers);
        let e = x.event();
        assert_eq!(e["group_id"], g.as_str(), "only the hooked group's events: {e}");
        assert_eq!(x.headers["cohort-event"], e["type"].as_str().unwrap());
        assert_eq!(x.headers["cohort-revision"], e["revision"].to_string());
        assert_eq!(x.headers["cohort-webhook-id"], id);
        assert!(x.headers["cohort-delivery"].starts_with("dlv_"));
        assert_eq!(x.headers["content-type"], "application/json");
    }
    assert_eq!(got[4].event()["after"]["role"], "moderator");

    // Each attempt is in the log, newest first; a redelivery sends the event again.
    let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &owner.token).await.expect(200);
    let log = log["deliveries"].as_array().unwrap().clone();
    assert_eq!(log.len(), 6, "{log:?}");
    assert!(log.iter().all(|d| d["outcome"] == "delivered" && d["status"] == 200 && d["attempt"] == 1), "{log:?}");
    assert_eq!(log[0]["revision"].as_i64(), revs.last().copied());
    let first = log.last().unwrap();
    let again =
        app.post(&format!("/api/v1/webhooks/{id}/deliveries/{}/redeliver", first["id"].as_str().unwrap()), &owner.token, json!({})).await;
    let again = again.expect(200);
    assert_eq!((again["redelivery"].as_bool(), again["outcome"].as_str()), (Some(true), Some("delivered")), "{again}");
    let got = receiver.wait_for(Duration::from_secs(5), |g| g.len() == 7).await;
    assert_eq!(got[6].revision(), revs[0]);
    assert!(signed(&got[6], &secret));

    // A new secret signs from then on; a paused subscription sends nothing.
    let changed =
        app.patch(&format!("/api/v1/webhooks/{id}"), &owner.token, json!({"secret": "a brand new secret value", "active": false})).await;
    assert_eq!(changed.expect(200)["active"], false);
    let late = app.user("hooked-late").await;
    app.add(&g, &late, "member").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got().len(), 7, "paused");
    app.patch(&format!("/api/v1/webhooks/{id}"), &owner.token, json!({"active": true})).await.expect(200);
    let got = receiver.wait_for(Duration::from_secs(10), |g| g.len() == 8).await;
    assert_eq!(got[7].event()["user_id"], late.id.as_str(), "what it missed while paused");
    assert!(signed(&got[7], "a brand new secret value"));
    app.delete(&format!("/api/v1/webhooks/{id}"), &owner.token).await.expect(200);
    app.get(&format!("/api/v1/webhooks/{id}"), &owner.token).await.expect(404);
});

story!(a_receiver_that_was_down_gets_everything_when_it_returns, |app: TestApp| async move {
    let receiver = Receiver::start().await;
    let owner = app.user("down-owner").await;
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": unique("Hooked space")})).await.expect(201);
    let space = space["id"].as_str().unwrap().to_string();
    let hook = app.post(&format!("/api/v1/spaces/{space}/webhooks"), &app.admin_key, json!({"url": receiver.url()})).await.expect(201);
    let (id, secret) = (hook["id"].as_str().unwrap().to_string(), hook["secret"].as_str().unwrap().to_string());
    let g = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Space group", "space_id": space})).await.expect(201);
    let g = g["id"].as_str().unwrap().to_string();
    let elsewhere = app.group(&owner, "Default space group", json!({})).await;
    receiver.wait_for(Duration::from_secs(10), |got| !got.is_empty()).await;

    // Down: connections refused, then a receiver that answers 500.
    let (port, got) = receiver.stop();
    let mut members = Vec::new();
    for i in 0..5 {
        let u = app.user(&format!("while-down-{i}")).await;
        app.add(&g, &u, "member").await;
        app.add(&elsewhere, &u, "member").await;
        members.push(u.id);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let receiver = Receiver::on(port, got).await;
    receiver.answer(500, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let state = app.get(&format!("/api/v1/webhooks/{id}"), &app.admin_key).await.expect(200);
    assert!(state["failed_attempts"].as_i64().unwrap() >= 2 && state["failing_since"].is_string(), "{state}");
    let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &app.admin_key).await.expect(200);
    let failed: Vec<&Value> = log["deliveries"].as_array().unwrap().iter().filter(|d| d["outcome"] == "failed").collect();
    assert!(failed.iter().any(|d| d["status"].is_null() && d["error"].is_string()), "refused connections are logged: {log}");
    assert!(failed.iter().any(|d| d["status"] == 500), "{log}");

    // Back: everything it missed, in order, each at least once.
    receiver.answer(200, Duration::ZERO);
    let got = receiver
        .wait_for(Duration::from_secs(20), |got| {
            members.iter().all(|m| got.iter().any(|x| x.headers["cohort-event"] == "member.added" && x.event()["user_id"] == m.as_str()))
        })
        .await;
    let delivered: Vec<&Got> = got.iter().filter(|x| x.event()["type"] == "member.added").collect();
    let mut revs: Vec<i64> = delivered.iter().map(|x| x.revision()).collect();
    assert!(revs.windows(2).all(|w| w[0] <= w[1]), "in order: {revs:?}");
    revs.dedup();
    assert_eq!(revs.len(), 5, "each once, beside the failed attempts' retries: {revs:?}");
    assert!(got.iter().all(|x| signed(x, &secret) && x.event()["space_id"] == space.as_str()), "only the space's events");
    let state = app.get(&format!("/api/v1/webhooks/{id}"), &app.admin_key).await.expect(200);
    assert_eq!(state["failed_attempts"], 0, "{state}");
    assert!(state["failing_since"].is_null(), "{state}");
});

story!(webhooks_are_managed_by_those_who_manage_their_level, |app: TestApp| async move {
    let owner = app.user("level-owner").await;
    let member = app.user("level-member").await;
    let g = app.group(&owner, "Levels", json!({"visibility": "private"})).await;
    app.add(&g, &member, "member").await;
    let body = json!({"url": "https://hooks.example.com/cohort"});
    app.post(&format!("/api/v1/groups/{g}/webhooks"), &member.token, body.clone()).await.expect(403);
    let outsider = app.user("level-outsider").await;
    app.post(&format!("/api/v1/groups/{g}/webhooks"), &outsider.token, body.clone()).await.expect(404);
    let hook = app.post(&format!("/api/v1/groups/{g}/webhooks"), &owner.token, body.clone()).await.expect(201);
    let id = hook["id"].as_str().unwrap();
    app.get(&format!("/api/v1/webhooks/{id}"), &member.token).await.expect(403);
    app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &outsider.token).await.expect(404);
    app.patch(&format!("/api/v1/webhooks/{id}"), &member.token, json!({"url": "https://evil.example.com/"})).await.expect(403);

    // The site's: the admin scope only; a space's: its moderators or the site.
    let writer = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "w", "scopes": ["groups:write", "users:write"]})).await;
    let writer = writer.expect(201)["key"].as_str().unwrap().to_string();
    app.post("/api/v1/webhooks", &writer, body.clone()).await.expect(403);
    app.get("/api/v1/webhooks", &writer).await.expect(403);
    app.post("/api/v1/webhooks", &app.admin_key, body.clone()).await.expect(201);
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": unique("Other")})).await.expect(201);
    let space = space["id"].as_str().unwrap();
    let bound =
        app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "b", "scopes": ["groups:write"], "space_id": "spc_default"})).await;
    let bound = bound.expect(201)["key"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/spaces/{space}/webhooks"), &bound, body.clone()).await.expect(404);
    app.post("/api/v1/spaces/spc_default/webhooks", &bound, body.clone()).await.expect(201);
    app.post(&format!("/api/v1/spaces/{space}/webhooks"), &owner.token, body.clone()).await.expect(403);

    // What a subscription is made of is checked.
    for bad in [
        json!({"url": "ftp://example.com/"}),
        json!({"url": "not a url"}),
        json!({"url": "https://example.com/", "events": ["nothing.happened"]}),
        json!({"url": "https://example.com/", "events": []}),
        json!({"url": "https://example.com/", "secret": "short"}),
    ] {
        app.post(&format!("/api/v1/groups/{g}/webhooks"), &owner.token, bad).await.expect(422);
    }
    // Its changes are in the feed, for those who manage the group's settings, secret-free.
    let feed = app.get("/api/v1/changes?after=0&limit=1000", &owner.token).await.expect(200);
    let made = feed["events"].as_array().unwrap().iter().find(|e| e["type"] == "webhook.created").cloned().unwrap();
    assert!(!made.to_string().contains("whsec_"), "{made}");
    let seen = app.get("/api/v1/changes?after=0&limit=1000", &member.token).await.expect(200);
    assert!(!seen.to_string().contains("webhook."), "{seen}");
});

/// Without `--webhooks-allow-private-networks`, a subscription cannot reach the service's
/// own network: an address literal is refused when it is made, and a name that resolves to
/// a private address is not connected to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_reach_the_public_internet_only() {
    let data = std::env::temp_dir().join(unique("cohort-hooks"));
    let key = admin_key_in(&data);
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
    let receiver = Receiver::start().await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{}{path}", server.base)).bearer_auth(&key).json(&body).send();
    for literal in [
        "http://127.0.0.1:9/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.8/",
        "http://[::ffff:127.0.0.1]/",
    ] {
        let res = post("/api/v1/webhooks", json!({"url": literal})).await.unwrap();
        assert_eq!(res.status().as_u16(), 422, "{literal}");
    }
    let named = format!("http://localhost:{}/hook", receiver.port);
    let res = post("/api/v1/webhooks", json!({"url": named})).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(post("/api/v1/groups", json!({"name": "Anything"})).await.unwrap().status().as_u16(), 201);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let log = loop {
        let res = client.get(format!("{}/api/v1/webhooks/{id}/deliveries", server.base)).bearer_auth(&key).send().await.unwrap();
        let log: Value = res.json().await.unwrap();
        if !log["deliveries"].as_array().unwrap().is_empty() {
            break log;
        }
        assert!(tokio::time::Instant::now() < deadline, "no attempt logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let first = &log["deliveries"][0];
    assert_eq!(first["outcome"], "failed", "{log}");
    assert!(first["error"].as_str().unwrap().contains("public address"), "{log}");
    assert!(receiver.got().is_empty(), "nothing reached the private address");
    drop(server);
    let _ = std::fs::remove_dir_all(data);
}

/// `kill -9` of the server while a receiver holds a delivery open: started again, it
/// delivers every event, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_event() {
    let data = std::env::temp_dir().join(unique("cohort-hooks-kill"));
    let key = admin_key_in(&data);
    let args = ["--data-dir", data.to_str().unwrap(), "--webhooks-allow-private-networks", "--webhooks-max-retry-interval", "1"];
    let server = Server::start_with(&args);
    let receiver = Receiver::start().await;
    // The receiver takes its time: the server is killed with a delivery in flight.
    receiver.answer(200, Duration::from_secs(3));
    let client = reqwest::Client::new();
    let post = |base: String, path: &'static str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&key).json(&body).send();
    let res = post(server.base.clone(), "/api/v1/webhooks", json!({"url": receiver.url(), "events": ["group.created"]})).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let mut names = Vec::new();
    for i in 0..5 {
        let name = format!("Made {i}");
        assert_eq!(post(server.base.clone(), "/api/v1/groups", json!({"name": name})).await.unwrap().status().as_u16(), 201);
        names.push(name);
    }
    // The first delivery is in flight: the receiver has not answered it yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.got().is_empty());
    drop(server);
    receiver.answer(200, Duration::ZERO);
    let server = Server::start_with(&args);
    // The dead process's lease on the subscription runs out (30 s), then all is delivered.
    let got = receiver
        .wait_for(Duration::from_secs(60), |got| names.iter().all(|n| got.iter().any(|x| x.event()["after"]["name"] == n.as_str())))
        .await;
    let mut revs = revisions(&got);
    assert!(revs.windows(2).all(|w| w[0] <= w[1]), "in order: {revs:?}");
    revs.dedup();
    assert_eq!(revs.len(), 5, "{revs:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(data);
}

/// Two instances over one PostgreSQL database, changes made through both: each event is
/// delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn two_instances_deliver_each_event_once() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let setup = TestApp::spawn_on(&url).await;
    let key = setup.admin_key.clone();
    let receiver = Receiver::start().await;
    let args = ["--database-url", url.as_str(), "--webhooks-allow-private-networks"];
    let (one, two) = (Server::start_with(&args), Server::start_with(&args));
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/api/v1/webhooks", one.base))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url(), "events": ["group.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    // The test's own instance (`setup`) delivers too: three instances share the work.
    let mut made = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let res = client.post(format!("{base}/api/v1/groups")).bearer_auth(&key).json(&json!({"name": format!("Both {i}")})).send().await;
        let g: Value = res.unwrap().json().await.unwrap();
        made.push(g["id"].as_str().unwrap().to_string());
    }
    receiver.wait_for(Duration::from_secs(30), |got| got.len() >= 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.got();
    let mut groups: Vec<String> = got.iter().map(|x| x.event()["group_id"].as_str().unwrap().to_string()).collect();
    groups.sort();
    made.sort();
    assert_eq!(groups, made, "each group's creation once");
    let revs = revisions(&got);
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "in order: {revs:?}");
}
