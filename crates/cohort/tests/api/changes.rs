//! The change feed: order, paging under concurrent writes, who sees what, long polls, the
//! event stream, and a change made on one instance read on another.

use crate::helpers::{Backend, Server, TestApp, fresh_postgres_url};
use crate::story;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Every event of a page.
fn events(page: &Value) -> Vec<Value> {
    page["events"].as_array().cloned().unwrap_or_default()
}

/// The head of the change log.
async fn head(app: &TestApp) -> i64 {
    app.app.change_log_head().await.unwrap()
}

/// Reads the whole feed after `after` as `key` sees it, page by page.
async fn read_all(app: &TestApp, key: &str, mut after: i64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = app.get(&format!("/api/v1/changes?after={after}&limit=50"), key).await.expect(200);
        let next = page["next_revision"].as_i64().unwrap();
        out.extend(events(&page));
        if next == after {
            return out;
        }
        after = next;
    }
}

fn about(events: &[Value], group: &str) -> Vec<Value> {
    events.iter().filter(|e| e["group_id"] == group || e["target_id"] == group).cloned().collect()
}

story!(events_come_in_commit_order_with_their_types, |app: TestApp| async move {
    let owner = app.user("feed-owner").await;
    let member = app.user("feed-member").await;
    let g = app.group(&owner, "Feed", json!({})).await;
    app.add(&g, &member, "member").await;
    app.patch(&format!("/api/v1/groups/{g}/members/{}", member.id), &app.admin_key, json!({"role": "moderator"})).await.expect(200);
    app.delete(&format!("/api/v1/groups/{g}/members/{}", member.id), &app.admin_key).await.expect(200);
    let parent = app.group(&owner, "Feed parent", json!({})).await;
    app.post(&format!("/api/v1/groups/{g}/move"), &app.admin_key, json!({"parent_id": parent})).await.expect(200);

    let all = read_all(&app, &app.admin_key, 0).await;
    let revisions: Vec<i64> = all.iter().map(|e| e["revision"].as_i64().unwrap()).collect();
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "revisions increase: {revisions:?}");
    assert_eq!(revisions.last().copied(), Some(head(&app).await));
    let mine = about(&all, &g);
    let kinds: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let of_member = |e: &Value| e["user_id"] == member.id.as_str();
    assert_eq!(kinds.first(), Some(&"group.created"), "{kinds:?}");
    let added = mine.iter().position(|e| e["type"] == "member.added" && of_member(e)).unwrap();
    let changed = mine.iter().position(|e| e["type"] == "member.role_changed" && of_member(e)).unwrap();
    let removed = mine.iter().position(|e| e["type"] == "member.removed" && of_member(e)).unwrap();
    let moved = mine.iter().position(|e| e["type"] == "group.moved").unwrap();
    assert!(added < changed && changed < removed && removed < moved, "{kinds:?}");
    assert_eq!(mine[changed]["after"]["role"], "moderator", "{}", mine[changed]);
    assert_eq!(mine[moved]["after"]["parent_id"], parent.as_str());
    assert!(mine[added]["actor_id"].is_string() || mine[added]["actor_id"].is_null());
    assert!(mine[added]["at"].as_str().unwrap().ends_with('Z'));
});

story!(paging_sees_every_change_once_while_writes_go_on, |app: TestApp| async move {
    let owner = app.user("feed-pager").await;
    let g = app.group(&owner, "Busy", json!({})).await;
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(app.user(&format!("feed-busy{i}")).await.id);
    }
    let (base, key, group) = (app.base.clone(), app.admin_key.clone(), g.clone());
    let writer = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for u in users {
            let res =
                client.post(format!("{base}/api/v1/groups/{group}/members")).bearer_auth(&key).json(&json!({"user_id": u})).send().await;
            assert_eq!(res.unwrap().status().as_u16(), 201);
        }
    });
    let mut seen = Vec::new();
    let mut after = 0;
    let mut writing = true;
    loop {
        let page = app.get(&format!("/api/v1/changes?after={after}&limit=7"), &app.admin_key).await.expect(200);
        let next = page["next_revision"].as_i64().unwrap();
        seen.extend(events(&page).iter().map(|e| e["revision"].as_i64().unwrap()));
        if next == after && !writing {
            break;
        }
        if next == after {
            writing = !writer.is_finished();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        after = next;
    }
    writer.await.unwrap();
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no change is served twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let c = app.app.db().read().await.unwrap();
    let logged: BTreeSet<i64> =
        c.query("SELECT seq FROM change_log", &[]).await.unwrap().iter().map(|r| r.get::<i64>(0).unwrap()).collect();
    assert_eq!(unique, logged, "every change is served");
});

story!(callers_see_the_changes_of_groups_they_may_read, |app: TestApp| async move {
    let owner = app.user("feed-private-owner").await;
    let member = app.user("feed-private-member").await;
    let outsider = app.user("feed-outsider").await;
    let from = head(&app).await;
    let hidden = app.group(&owner, "Hidden", json!({"visibility": "private"})).await;
    app.add(&hidden, &member, "member").await;
    let public = app.group(&owner, "Open", json!({})).await;
    app.add(&public, &outsider, "member").await;

    let seen_by = |evs: Vec<Value>| -> BTreeSet<String> { evs.iter().filter_map(|e| e["group_id"].as_str().map(str::to_string)).collect() };
    let outsiders = read_all(&app, &outsider.token, from).await;
    assert!(!seen_by(outsiders.clone()).contains(&hidden), "an outsider sees nothing of a private group: {outsiders:?}");
    assert!(seen_by(outsiders.clone()).contains(&public));
    assert!(outsiders.iter().any(|e| e["type"] == "member.added" && e["user_id"] == outsider.id.as_str()));
    let members = read_all(&app, &member.token, from).await;
    assert!(seen_by(members).contains(&hidden), "a member sees their group's changes");
    let everything = read_all(&app, &app.admin_key, from).await;
    assert!(seen_by(everything).contains(&hidden));

    // An invitation names someone who is not a member (an email): its events are for those
    // who manage the group's members, not for every reader of the group.
    let from = head(&app).await;
    app.post(&format!("/api/v1/groups/{public}/invitations"), &owner.token, json!({"emails": ["guest@example.com"]})).await.expect(201);
    let invited = |evs: &[Value]| evs.iter().any(|e| e["type"].as_str().is_some_and(|t| t.starts_with("invitation.")));
    assert!(!invited(&read_all(&app, &outsider.token, from).await), "a reader of the group sees no invitation");
    let managers = read_all(&app, &owner.token, from).await;
    assert!(invited(&managers) && managers.iter().any(|e| e["after"]["email"] == "guest@example.com"), "{managers:?}");

    // A key bound to a space sees that space's groups only.
    let space =
        app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Feed space"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let inside = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Inside", "space_id": space})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = app
        .post("/api/v1/api-keys", &app.admin_key, json!({"name": "feed", "scopes": ["groups:read"], "space_id": space}))
        .await
        .expect(201);
    let key = key["key"].as_str().unwrap();
    let bound = seen_by(read_all(&app, key, 0).await);
    assert_eq!(bound, BTreeSet::from([inside]), "a space-bound key sees its space only");
});

story!(a_long_poll_answers_when_a_change_comes_and_at_its_deadline, |app: TestApp| async move {
    let owner = app.user("feed-poller").await;
    let joiner = app.user("feed-joiner").await;
    let g = app.group(&owner, "Polled", json!({})).await;
    let at = head(&app).await;

    let started = Instant::now();
    let empty = app.get(&format!("/api/v1/changes?after={at}&wait=1"), &app.admin_key).await.expect(200);
    assert!(events(&empty).is_empty());
    assert_eq!(empty["next_revision"], at);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited its second");

    let (base, key) = (app.base.clone(), app.admin_key.clone());
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let res = reqwest::Client::new().get(format!("{base}/api/v1/changes?after={at}&wait=10s")).bearer_auth(key).send().await.unwrap();
        res.json::<Value>().await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.add(&g, &joiner, "member").await;
    let page = poll.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "answered as the change came: {:?}", started.elapsed());
    let got = events(&page);
    assert!(got.iter().any(|e| e["type"] == "member.added" && e["user_id"] == joiner.id.as_str()), "{page}");
    assert!(page["next_revision"].as_i64().unwrap() > at);
    app.get("/api/v1/changes?wait=soon", &app.admin_key).await.error(422, "validation_failed");
    app.get("/api/v1/changes?limit=1001", &app.admin_key).await.error(422, "validation_failed");
});

/// Reads an event stream until `until` holds of what came, or 10 s pass.
async fn read_stream(res: &mut reqwest::Response, until: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !until(&text) {
        let chunk = tokio::time::timeout_at(deadline, res.chunk()).await.expect("the stream answered in time").unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk.expect("the stream went on")));
    }
    text
}

/// The `id:` lines of a stream.
fn ids(text: &str) -> Vec<i64> {
    text.lines().filter_map(|l| l.strip_prefix("id:")).map(|s| s.trim().parse().unwrap()).collect()
}

story!(an_event_stream_carries_changes_and_resumes_after_the_last_id, |app: TestApp| async move {
    let owner = app.user("feed-streamer").await;
    let (first, second) = (app.user("feed-first").await, app.user("feed-second").await);
    let g = app.group(&owner, "Streamed", json!({})).await;
    let at = head(&app).await;
    let client = reqwest::Client::new();
    let open = |last: Option<i64>| {
        let mut req =
            client.get(format!("{}/api/v1/changes?after={at}", app.base)).bearer_auth(&app.admin_key).header("Accept", "text/event-stream");
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l.to_string());
        }
        req.send()
    };
    let mut res = open(None).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    app.add(&g, &first, "member").await;
    let text = read_stream(&mut res, |t| t.contains("event: member.added") && t.contains("\n\n")).await;
    assert!(text.contains(&format!("id: {}", at + 1)), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data:")).unwrap();
    let change: Value = serde_json::from_str(data.trim()).unwrap();
    assert_eq!(change["user_id"], first.id.as_str());
    let last = *ids(&text).last().unwrap();
    drop(res);

    // Resuming with the last id received: only what came after it.
    app.add(&g, &second, "member").await;
    let mut res = open(Some(last)).await.unwrap();
    let text = read_stream(&mut res, |t| t.contains(&second.id)).await;
    assert!(ids(&text).iter().all(|&i| i > last), "{text}");
    assert!(!text.contains(&first.id), "{text}");
});

/// A change made through one instance is in the other's feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_change_on_one_instance_is_in_the_other_instances_feed() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let setup = TestApp::spawn_on(&url).await;
    assert_eq!(setup.backend, Backend::Postgres);
    let at = head(&setup).await;
    let (one, two) = (Server::start(&url), Server::start(&url));
    let client = reqwest::Client::new();
    let key = setup.admin_key.clone();
    let waiting = {
        let (client, key, base) = (client.clone(), key.clone(), two.base.clone());
        tokio::spawn(async move {
            client
                .get(format!("{base}/api/v1/changes?after={at}&wait=10"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let made =
        client.post(format!("{}/api/v1/groups", one.base)).bearer_auth(&key).json(&json!({"name": "Elsewhere"})).send().await.unwrap();
    assert_eq!(made.status().as_u16(), 201);
    let gid = made.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = waiting.await.unwrap();
    assert!(events(&page).iter().any(|e| e["type"] == "group.created" && e["group_id"] == gid.as_str()), "{page}");
}

story!(a_change_logged_before_the_feed_is_served_with_what_the_log_kept, |app: TestApp| async move {
    let owner = app.user("feed-old").await;
    let g = app.group(&owner, "Old", json!({})).await;
    let member = app.user("feed-old-member").await;
    let at = head(&app).await;
    app.add(&g, &member, "member").await;
    // As a row written before the log named its event.
    let tx = app.app.db().begin().await.unwrap();
    tx.execute("UPDATE change_log SET event_id = NULL WHERE seq > ?", &cohort_store::params![at]).await.unwrap();
    tx.commit().await.unwrap();
    let page = app.get(&format!("/api/v1/changes?after={at}"), &app.admin_key).await.expect(200);
    let old = &events(&page)[0];
    assert_eq!(old["type"], "member.added", "{old}");
    assert_eq!(old["group_id"], g.as_str());
    assert!(old["target_id"].is_string() && old["actor_id"].is_null() && old["after"].is_null(), "{old}");
});

/// Under a short request deadline a long poll answers empty before it, and an event stream
/// ends cleanly before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_and_streams_end_before_the_request_deadline() {
    let dir = std::env::temp_dir().join(crate::helpers::unique("cohort-feed"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = cohort_store::Db::sqlite(&dir.join("cohort.db")).unwrap();
    let opts = cohort_http::ServeOptions { request_timeout: Duration::from_secs(3), ..cohort_http::ServeOptions::default() };
    let app = TestApp::start_with(db, Backend::Sqlite, Some(dir), opts).await;
    let at = head(&app).await;
    let started = Instant::now();
    let page = app.get(&format!("/api/v1/changes?after={at}&wait=20"), &app.admin_key).await.expect(200);
    assert!(events(&page).is_empty() && started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    let started = Instant::now();
    let mut res = reqwest::Client::new()
        .get(format!("{}/api/v1/changes?after={at}", app.base))
        .bearer_auth(&app.admin_key)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), res.chunk()).await.expect("the stream ended").unwrap() {
        assert!(chunk.is_empty() || chunk.starts_with(b":"), "nothing changed: {chunk:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

/// The `access.changed` events of `user` in `events`: (gained, lost, caused_by).
fn access_of(events: &[Value], user: &str) -> Vec<(Vec<String>, Vec<String>, i64)> {
    let names = |v: &Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect::<Vec<_>>();
    events
        .iter()
        .filter(|e| e["type"] == "access.changed" && e["user_id"] == user)
        .map(|e| (names(&e["after"]["gained"]), names(&e["after"]["lost"]), e["after"]["caused_by"].as_i64().unwrap()))
        .collect()
}

story!(access_changed_says_what_each_user_gained_and_lost, |app: TestApp| async move {
    let owner = app.user("acc-owner").await;
    let (ann, bo, cy) = (app.user("acc-ann").await, app.user("acc-bo").await, app.user("acc-cy").await);
    let org = app.group(&owner, "Access org", json!({})).await;
    app.grant(&org, &["docs.read", "docs.write"]).await;
    let team = app
        .post(&format!("/api/v1/groups/{org}/subgroups"), &owner.token, json!({"name": "Access team", "inherit_permissions": true}))
        .await;
    let team = team.expect(201)["id"].as_str().unwrap().to_string();
    let start = head(&app).await;

    app.add(&org, &ann, "member").await;
    app.add(&team, &bo, "member").await;
    app.patch(&format!("/api/v1/groups/{org}/permissions"), &app.admin_key, json!({"remove": ["docs.write"]})).await.expect(200);
    app.grant(&team, &["bots.run"]).await;
    app.delete(&format!("/api/v1/groups/{org}/members/{}", ann.id), &app.admin_key).await.expect(200);

    let all = read_all(&app, &app.admin_key, start).await;
    let added = all.iter().find(|e| e["type"] == "member.added" && e["user_id"] == ann.id.as_str()).unwrap();
    let ann_changes = access_of(&all, &ann.id);
    let docs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ann_changes.iter().map(|(g, l, _)| (g.clone(), l.clone())).collect::<Vec<_>>(),
        [(docs(&["docs.read", "docs.write"]), docs(&[])), (docs(&[]), docs(&["docs.write"])), (docs(&[]), docs(&["docs.read"]))],
        "{all:?}"
    );
    assert_eq!(ann_changes[0].2, added["revision"].as_i64().unwrap(), "caused by the member.added");
    // Bo, in the subgroup, gains what the parent gives and loses what it takes away.
    let bo_changes: Vec<_> = access_of(&all, &bo.id).into_iter().map(|(g, l, _)| (g, l)).collect();
    assert_eq!(
        bo_changes,
        [(docs(&["docs.read", "docs.write"]), docs(&[])), (docs(&[]), docs(&["docs.write"])), (docs(&["bots.run"]), docs(&[]))]
    );
    // Cy, in neither group, has none; the owner lost docs.write.
    assert!(access_of(&all, &cy.id).is_empty());
    assert!(access_of(&all, &owner.id).iter().any(|(_, l, _)| l == &docs(&["docs.write"])));

    // Each user sees their own, and no one else's.
    let seen_by_ann = read_all(&app, &ann.token, start).await;
    assert_eq!(access_of(&seen_by_ann, &ann.id).len(), 3);
    assert!(access_of(&seen_by_ann, &bo.id).is_empty() && access_of(&seen_by_ann, &owner.id).is_empty());
    let seen_by_owner = read_all(&app, &owner.token, start).await;
    assert!(access_of(&seen_by_owner, &ann.id).is_empty(), "the group's owner does not see a member's access");
});

story!(deleting_a_group_tells_that_its_members_went_with_it, |app: TestApp| async move {
    let owner = app.user("gone-owner").await;
    let member = app.user("gone-member").await;
    let g = app.group(&owner, "Going", json!({})).await;
    app.grant(&g, &["going.read"]).await;
    app.add(&g, &member, "member").await;
    let at = head(&app).await;
    let deleted = app.delete(&format!("/api/v1/groups/{g}"), &owner.token).await.expect(200);
    assert_eq!(deleted["members_removed"], 2, "{deleted}");
    let all = read_all(&app, &app.admin_key, at).await;
    let kinds: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let removed = all.iter().position(|e| e["type"] == "member.removed").unwrap();
    let gone = all.iter().position(|e| e["type"] == "group.deleted").unwrap();
    assert!(removed < gone, "{kinds:?}");
    let listed: Vec<&str> = all[removed]["before"]["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    assert!(listed.contains(&member.id.as_str()) && listed.contains(&owner.id.as_str()), "{}", all[removed]);
    assert_eq!(
        access_of(&all, &member.id).into_iter().map(|(g, l, _)| (g, l)).collect::<Vec<_>>(),
        [(vec![], vec!["going.read".to_string()])]
    );
});
