//! Seed 000's realtime subscriptions, spoken as the `pocketbase` SDK speaks them: a stream
//! that says `PB_CONNECT`, subscriptions set with the subscriber's credential, and events of
//! what that credential may read only.

use crate::helpers::TestApp;
use crate::story;
use serde_json::{Value, json};
use std::time::Duration;

/// One server-sent event: its name, id and data.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    id: String,
    data: Value,
}

/// An open stream and what it has sent so far.
struct Stream {
    res: reqwest::Response,
    text: String,
    seen: usize,
}

impl Stream {
    async fn open(app: &TestApp) -> Stream {
        let res = reqwest::Client::new().get(format!("{}/api/realtime", app.base)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Stream { res, text: String::new(), seen: 0 }
    }

    /// The complete events received but not yet returned.
    fn take(&mut self) -> Vec<Sse> {
        let mut out = Vec::new();
        while let Some(end) = self.text[self.seen..].find("\n\n") {
            let block = &self.text[self.seen..self.seen + end];
            self.seen += end + 2;
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name).map(|v| v.strip_prefix(' ').unwrap_or(v).to_string())).unwrap_or_default()
            };
            let event = field("event:");
            if event.is_empty() {
                continue; // a keep-alive comment
            }
            out.push(Sse { event, id: field("id:"), data: serde_json::from_str(&field("data:")).unwrap_or(Value::Null) });
        }
        out
    }

    /// Events until one satisfies `done` (all of them, that one last); fails after 10 s.
    async fn until(&mut self, done: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        loop {
            for e in self.take() {
                let last = done(&e);
                got.push(e);
                if last {
                    return got;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await.expect("the event came in time").unwrap();
            self.text.push_str(&String::from_utf8_lossy(&chunk.expect("the stream went on")));
        }
    }
}

story!(realtime_subscribers_are_told_what_they_may_read, |app: TestApp| async move {
    let owner = app.user("rt-owner").await;
    let reader = app.user("rt-reader").await;
    let stranger = app.user("rt-stranger").await;
    let seen = app.group(&owner, "Seen", json!({"visibility": "private"})).await;
    let hidden = app.group(&owner, "Hidden", json!({"visibility": "private"})).await;
    app.add(&seen, &reader, "member").await;

    // Connecting: PB_CONNECT, its id the client's.
    let mut stream = Stream::open(&app).await;
    let hello = stream.until(|_| true).await.remove(0);
    assert_eq!(hello.event, "PB_CONNECT");
    let client = hello.data["clientId"].as_str().unwrap().to_string();
    assert_eq!(hello.id, client);

    // Subscribing: unknown clients are 404 and callers without credentials 401, in
    // PocketBase's error body.
    let nobody = app.post("/api/realtime", &reader.token, json!({"clientId": "nope", "subscriptions": ["groups/*"]})).await;
    let body = nobody.expect(404);
    assert_eq!((body["status"].clone(), body["data"].clone()), (json!(404), json!({})), "{body}");
    app.call(reqwest::Method::POST, "/api/realtime", None, Some(json!({"clientId": client, "subscriptions": ["groups/*"]})))
        .await
        .expect(401);
    let topics = json!(["groups/*", "group_members/*", format!("groups/{seen}?options=%7B%7D")]);
    let res = app.post("/api/realtime", &reader.token, json!({"clientId": client, "subscriptions": topics})).await;
    assert_eq!(res.status.as_u16(), 204);
    // The client is the reader's now: no one else takes it over.
    app.post("/api/realtime", &stranger.token, json!({"clientId": client, "subscriptions": ["groups/*"]})).await.expect(403);

    // A change to a group the reader cannot read, then one to a group they can: only the
    // second is told, to each subscription it matches.
    app.patch(&format!("/api/v1/groups/{hidden}"), &owner.token, json!({"description": "secret"})).await.expect(200);
    app.add(&hidden, &stranger, "member").await;
    app.patch(&format!("/api/v1/groups/{seen}"), &owner.token, json!({"description": "news"})).await.expect(200);
    let events = stream.until(|e| e.event.starts_with(&format!("groups/{seen}"))).await;
    let text = format!("{events:?}");
    assert!(!text.contains(&hidden), "{text}");
    let wildcard = events.iter().find(|e| e.event == "groups/*").unwrap();
    assert_eq!(wildcard.id, client);
    assert_eq!(wildcard.data["action"], "update");
    let record = &wildcard.data["record"];
    assert_eq!((record["id"].clone(), record["collectionName"].clone()), (json!(seen), json!("groups")));
    assert_eq!((record["description"].clone(), record["isPublic"].clone()), (json!("news"), json!(false)));
    assert_eq!(record["moderators"], json!([owner.id]));
    assert_eq!(events.last().unwrap().event, format!("groups/{seen}?options=%7B%7D"));

    // A member added through the native API is a group_members record created.
    app.add(&seen, &stranger, "member").await;
    let events = stream.until(|e| e.event == "group_members/*").await;
    let added = &events.last().unwrap().data;
    assert_eq!(added["action"], "create");
    assert_eq!((added["record"]["group"].clone(), added["record"]["user"].clone()), (json!(seen), json!(stranger.id)));
    assert_eq!(added["record"]["collectionName"], "group_members");
    let membership = added["record"]["id"].as_str().unwrap().to_string();

    // Removed, then the group deleted: deletes, with what is known of each.
    app.delete(&format!("/api/v1/groups/{seen}/members/{}", stranger.id), &owner.token).await.expect(200);
    let events = stream.until(|e| e.event == "group_members/*").await;
    let removed = &events.last().unwrap().data;
    assert_eq!((removed["action"].clone(), removed["record"]["id"].clone()), (json!("delete"), json!(membership)));
    app.delete(&format!("/api/v1/groups/{seen}"), &owner.token).await.expect(200);
    let events = stream.until(|e| e.event == "groups/*").await;
    let deleted = &events.last().unwrap().data;
    assert_eq!((deleted["action"].clone(), deleted["record"]["id"].clone()), (json!("delete"), json!(seen)));

    // A client whose connection is gone is forgotten.
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.app.realtime_clients() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the client was not forgotten");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.post("/api/realtime", &reader.token, json!({"clientId": client, "subscriptions": ["groups/*"]})).await.expect(404);
});

/// Under a short request deadline the stream ends cleanly before it (the SDK reconnects and
/// subscribes again), and its client is forgotten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_before_the_request_deadline() {
    let dir = std::env::temp_dir().join(crate::helpers::unique("cohort-realtime"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = cohort_store::Db::sqlite(&dir.join("cohort.db")).unwrap();
    let opts = cohort_http::ServeOptions { request_timeout: Duration::from_secs(3), ..cohort_http::ServeOptions::default() };
    let app = TestApp::start_with(db, crate::helpers::Backend::Sqlite, Some(dir), opts).await;
    let started = std::time::Instant::now();
    let mut stream = Stream::open(&app).await;
    assert_eq!(stream.until(|_| true).await[0].event, "PB_CONNECT");
    assert_eq!(app.app.realtime_clients(), 1);
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.res.chunk()).await.expect("the stream ended").unwrap() {
        assert!(chunk.is_empty() || chunk.starts_with(b":"), "nothing changed: {chunk:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(app.app.realtime_clients(), 0);
}

story!(a_reconnecting_client_is_told_what_happened_while_it_was_away, |app: TestApp| async move {
    let owner = app.user("rt-away-owner").await;
    let g = app.group(&owner, "Away", json!({})).await;
    let subscribe = |stream_client: String, topics: Value| {
        let (app, token) = (&app, owner.token.clone());
        async move { app.post("/api/realtime", &token, json!({"clientId": stream_client, "subscriptions": topics})).await }
    };
    let topics = json!(["groups/*", "group_members/*"]);
    let mut first = Stream::open(&app).await;
    let client = first.until(|_| true).await.remove(0).data["clientId"].as_str().unwrap().to_string();
    assert_eq!(subscribe(client, topics.clone()).await.status.as_u16(), 204);
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "one"})).await.expect(200);
    first.until(|e| e.event == "groups/*").await;

    // The stream ends (as at its deadline); changes are made before the SDK is back.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.app.realtime_clients() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the client was not forgotten");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "while away"})).await.expect(200);
    let member = app.user("rt-away-member").await;
    app.add(&g, &member, "member").await;

    // Back as a new client with the same subscriptions: told what it missed, in order.
    let mut second = Stream::open(&app).await;
    let again = second.until(|_| true).await.remove(0).data["clientId"].as_str().unwrap().to_string();
    assert_eq!(subscribe(again, topics).await.status.as_u16(), 204);
    let events = second.until(|e| e.event == "group_members/*").await;
    let updates: Vec<&Value> = events.iter().filter(|e| e.event == "groups/*").map(|e| &e.data["record"]["description"]).collect();
    assert_eq!(updates, [&json!("while away")], "{events:?}");
    assert_eq!(events.last().unwrap().data["record"]["user"], member.id.as_str());
});
