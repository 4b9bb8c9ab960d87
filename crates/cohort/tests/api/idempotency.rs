//! `Idempotency-Key`: a POST sent twice with one key makes one change and gets one answer,
//! whether the second comes after the first, beside it, or to another instance.

use crate::helpers::{TestApp, fresh_postgres_url};
use crate::story;
use reqwest::Method;
use serde_json::{Value, json};

async fn post_with_key(app: &TestApp, path: &str, auth: &str, key: &str, body: Value) -> crate::helpers::Res {
    app.call_with(Method::POST, path, Some(auth), Some(body), &[("Idempotency-Key", key)]).await
}

story!(the_same_post_twice_with_one_key_makes_one_change, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Crew", json!({})).await;
    let path = format!("/api/v1/groups/{g}/invitations");
    let body = json!({"emails": ["new@example.com"]});
    let first = post_with_key(&app, &path, &owner.token, "invite-1", body.clone()).await;
    assert_eq!(first.status, 201);
    assert!(first.header("idempotent-replayed").is_none());
    let again = post_with_key(&app, &path, &owner.token, "invite-1", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, replayed");
    let listed = app.get(&path, &owner.token).await.expect(200);
    assert_eq!(listed["total"], 1, "one invitation");
    // Another body under the same key is a mistake, not a replay.
    let other = post_with_key(&app, &path, &owner.token, "invite-1", json!({"emails": ["other@example.com"]})).await;
    assert_eq!(other.status, 422, "{}", other.body);
    // Keys belong to their caller: someone else's same key is their own request.
    let admin = app.site_admin("admin").await;
    let theirs = post_with_key(&app, &path, &admin.token, "invite-1", json!({"emails": ["admin-sent@example.com"]})).await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    // Without a key, two POSTs are two requests.
    app.post(&path, &owner.token, json!({"emails": ["twice@example.com"]})).await.expect(201);
    app.post(&path, &owner.token, json!({"emails": ["twice@example.com"]})).await.expect(201);
    assert_eq!(app.get(&path, &owner.token).await.expect(200)["total"], 4);
    // Refusals are kept too: the same mistake gets the same answer.
    let bad = post_with_key(&app, "/api/v1/groups", &owner.token, "bad-1", json!({"name": ""})).await;
    let bad_again = post_with_key(&app, "/api/v1/groups", &owner.token, "bad-1", json!({"name": ""})).await;
    assert_eq!((bad.status, bad_again.status), (bad_again.status, bad.status));
    assert_eq!(bad_again.header("idempotent-replayed").as_deref(), Some("true"));
    let unreadable =
        app.call_with(Method::POST, "/api/v1/groups", Some(&owner.token), Some(json!({"name": "x"})), &[("Idempotency-Key", "")]).await;
    assert_eq!(unreadable.status, 400, "{}", unreadable.body);
});

story!(concurrent_duplicates_make_one_change, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let sends = (0..12).map(|_| post_with_key(&app, "/api/v1/groups", &owner.token, "make-once", json!({"name": "Once"})));
    let answers = futures_util::future::join_all(sends).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["id"], answers[0].body["id"], "every duplicate gets the first answer");
    }
    let listed = app.get("/api/v1/groups", &owner.token).await.expect(200);
    assert_eq!(listed["total"], 1);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn duplicates_on_two_instances_make_one_change_on_postgres() {
    let url = fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let one = TestApp::spawn_on(&url).await;
    let two = TestApp::spawn_on(&url).await;
    let owner = one.user("owner").await;
    let sends = (0..10).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        post_with_key(app, "/api/v1/groups", &owner.token, "across", json!({"name": "Across"}))
    });
    let answers = futures_util::future::join_all(sends).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["id"], answers[0].body["id"]);
    }
    assert_eq!(one.get("/api/v1/groups", &owner.token).await.expect(200)["total"], 1);
}
