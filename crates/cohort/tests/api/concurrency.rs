//! Rules that must hold under concurrent requests and across instances.

use crate::helpers::{Backend, Server, TestApp, fresh_postgres_url};
use crate::story;
use cohort_app::users::NewUser;
use cohort_core::auth::Principal;
use futures_util::future::join_all;
use serde_json::json;

async fn make_users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let u = app.app.create_user(&Principal::system(), NewUser { username: format!("load{i}"), ..NewUser::default() }).await.unwrap();
        ids.push(u.id);
    }
    ids
}

/// Sends one add per user, spread over `bases`; answers (added, full).
async fn race(bases: &[String], key: &str, group: &str, users: &[String]) -> (usize, usize) {
    let client = reqwest::Client::new();
    let calls = users.iter().enumerate().map(|(i, uid)| {
        let url = format!("{}/api/v1/groups/{group}/members", bases[i % bases.len()]);
        let req = client.post(url).bearer_auth(key).json(&json!({"user_id": uid}));
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, body)
        }
    });
    let mut added = 0;
    let mut full = 0;
    for (status, body) in join_all(calls).await {
        match status {
            201 => added += 1,
            422 => {
                assert_eq!(body["error"], "group_full");
                assert_eq!(body["max_members"], 50);
                assert_eq!(body["current_members"], 50);
                full += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    (added, full)
}

story!(max_members_holds_under_200_concurrent_adds, |app: TestApp| async move {
    let users = make_users(&app, 200).await;
    let g = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Capped", "settings": {"max_members": 50}})).await.expect(201);
    let gid = g["id"].as_str().unwrap().to_string();
    let (added, full) = race(std::slice::from_ref(&app.base), &app.admin_key, &gid, &users).await;
    assert_eq!((added, full), (50, 150));
    let group = app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200);
    assert_eq!(group["member_count"], 50);
    let members = app.get(&format!("/api/v1/groups/{gid}/members?limit=500"), &app.admin_key).await.expect(200);
    assert_eq!(members["total"], 50);
});

story!(last_owner_holds_under_concurrent_demotions, |app: TestApp| async move {
    let a = app.user("owner_a").await;
    let b = app.user("owner_b").await;
    let g = app.group(&a, "Owned", json!({})).await;
    app.add(&g, &b, "owner").await;
    let client = reqwest::Client::new();
    let demote = |who: &str| {
        client
            .patch(format!("{}/api/v1/groups/{g}/members/{who}", app.base))
            .bearer_auth(&app.admin_key)
            .json(&json!({"role": "member"}))
            .send()
    };
    let (ra, rb) = tokio::join!(demote(&a.id), demote(&b.id));
    let mut statuses = [ra.unwrap().status().as_u16(), rb.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "one demotion wins, the other meets last_owner");
    let owners = app.get(&format!("/api/v1/groups/{g}/members?role=owner"), &app.admin_key).await.expect(200);
    assert_eq!(owners["total"], 1);
});

story!(unique_names_hold_under_concurrent_creates, |app: TestApp| async move {
    let client = reqwest::Client::new();
    let calls = (0..20)
        .map(|_| client.post(format!("{}/api/v1/groups", app.base)).bearer_auth(&app.admin_key).json(&json!({"name": "Same Name"})).send());
    let mut created = 0;
    for res in join_all(calls).await {
        match res.unwrap().status().as_u16() {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
    app.post("/api/v1/groups", &app.admin_key, json!({"name": "same NAME"})).await.error(409, "name_taken");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn max_members_holds_across_two_instances_on_postgres() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let setup = TestApp::spawn_on(&url).await;
    assert_eq!(setup.backend, Backend::Postgres);
    let users = make_users(&setup, 200).await;
    let g = setup.post("/api/v1/groups", &setup.admin_key, json!({"name": "Capped", "settings": {"max_members": 50}})).await.expect(201);
    let gid = g["id"].as_str().unwrap().to_string();
    let (one, two) = (Server::start(&url), Server::start(&url));
    let (added, full) = race(&[one.base.clone(), two.base.clone()], &setup.admin_key, &gid, &users).await;
    assert_eq!((added, full), (50, 150));
    let group = setup.get(&format!("/api/v1/groups/{gid}"), &setup.admin_key).await.expect(200);
    assert_eq!(group["member_count"], 50);
    let members = setup.get(&format!("/api/v1/groups/{gid}/members?limit=500"), &setup.admin_key).await.expect(200);
    assert_eq!(members["total"], 50);
}

/// Files `n` join requests and sets up `n` invitations against two groups capped at 10;
/// answers (users with tokens, request ids, invitation ids, groups).
async fn near_full(app: &TestApp, n: usize) -> (Vec<crate::helpers::TestUser>, Vec<String>, Vec<String>, String, String) {
    let by_request = app
        .post("/api/v1/groups", &app.admin_key, json!({"name": "Requests", "settings": {"max_members": 10, "require_approval": true}}))
        .await
        .expect(201);
    let by_invite =
        app.post("/api/v1/groups", &app.admin_key, json!({"name": "Invites", "settings": {"max_members": 10}})).await.expect(201);
    let (rg, ig) = (by_request["id"].as_str().unwrap().to_string(), by_invite["id"].as_str().unwrap().to_string());
    let mut users = Vec::new();
    let mut requests = Vec::new();
    for i in 0..n {
        let u = app.user(&format!("crowd{i}")).await;
        let r = app.post(&format!("/api/v1/groups/{rg}/join-requests"), &u.token, json!({})).await.expect(202);
        requests.push(r["request_id"].as_str().unwrap().to_string());
        users.push(u);
    }
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let sent = app.post(&format!("/api/v1/groups/{ig}/invitations"), &app.admin_key, json!({"user_ids": ids})).await.expect(201);
    let invitations = sent["invitations"].as_array().unwrap().iter().map(|i| i["invitation_id"].as_str().unwrap().to_string()).collect();
    (users, requests, invitations, rg, ig)
}

/// Approves every request and accepts every invitation at once, spread over `bases`.
async fn stampede(
    bases: &[String],
    admin_key: &str,
    users: &[crate::helpers::TestUser],
    requests: &[String],
    invitations: &[String],
    rg: &str,
) -> (usize, usize) {
    let client = reqwest::Client::new();
    let approvals = requests.iter().enumerate().map(|(i, rid)| {
        let req = client
            .patch(format!("{}/api/v1/groups/{rg}/join-requests/{rid}", bases[i % bases.len()]))
            .bearer_auth(admin_key)
            .json(&json!({"action": "approve"}));
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let accepts = invitations.iter().zip(users).enumerate().map(|(i, (inv, u))| {
        let req = client.post(format!("{}/api/v1/invitations/{inv}/accept", bases[(i + 1) % bases.len()])).bearer_auth(&u.token);
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let (a, b) = tokio::join!(join_all(approvals), join_all(accepts));
    for s in a.iter().chain(b.iter()) {
        assert!(*s == 200 || *s == 422, "only success or group_full, got {s}");
    }
    (a.iter().filter(|s| **s == 200).count(), b.iter().filter(|s| **s == 200).count())
}

story!(approvals_and_acceptances_never_overfill, |app: TestApp| async move {
    let (users, requests, invitations, rg, ig) = near_full(&app, 30).await;
    let (approved, accepted) = stampede(std::slice::from_ref(&app.base), &app.admin_key, &users, &requests, &invitations, &rg).await;
    assert_eq!((approved, accepted), (10, 10));
    for g in [rg, ig] {
        assert_eq!(app.get(&format!("/api/v1/groups/{g}"), &app.admin_key).await.expect(200)["member_count"], 10);
        assert_eq!(app.get(&format!("/api/v1/groups/{g}/members"), &app.admin_key).await.expect(200)["total"], 10);
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn approvals_and_acceptances_never_overfill_across_two_instances_on_postgres() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let app = TestApp::spawn_on(&url).await;
    let (users, requests, invitations, rg, ig) = near_full(&app, 30).await;
    let (one, two) = (Server::start(&url), Server::start(&url));
    let bases = [one.base.clone(), two.base.clone()];
    let (approved, accepted) = stampede(&bases, &app.admin_key, &users, &requests, &invitations, &rg).await;
    assert_eq!((approved, accepted), (10, 10));
    for g in [rg, ig] {
        assert_eq!(app.get(&format!("/api/v1/groups/{g}/members"), &app.admin_key).await.expect(200)["total"], 10);
    }
}

/// A write on one instance and a check on another: with `at_least_revision` the second
/// instance answers from an index that already has the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn checks_read_writes_made_on_another_instance() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let app = TestApp::spawn_on(&url).await;
    let u = app.user("reader").await;
    let g = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Perms", "permissions": ["doc.read"]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (one, two) = (Server::start(&url), Server::start(&url));
    let client = reqwest::Client::new();
    for round in 0..5 {
        let res = client
            .post(format!("{}/api/v1/groups/{g}/members", one.base))
            .bearer_auth(&app.admin_key)
            .json(&json!({"user_id": u.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let revision: i64 = res.headers()["x-cohort-revision"].to_str().unwrap().parse().unwrap();
        let check = client
            .post(format!("{}/api/v1/check", two.base))
            .bearer_auth(&app.admin_key)
            .json(&json!({"user_id": u.id, "permission": "doc.read", "at_least_revision": revision}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(check["allowed"], true, "round {round}");
        let res =
            client.delete(format!("{}/api/v1/groups/{g}/members/{}", one.base, u.id)).bearer_auth(&app.admin_key).send().await.unwrap();
        let revision: i64 = res.headers()["x-cohort-revision"].to_str().unwrap().parse().unwrap();
        let check = client
            .post(format!("{}/api/v1/check", two.base))
            .bearer_auth(&app.admin_key)
            .json(&json!({"user_id": u.id, "permission": "doc.read", "at_least_revision": revision}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(check["allowed"], false, "round {round}");
    }
}
