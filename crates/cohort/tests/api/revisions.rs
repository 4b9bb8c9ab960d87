//! The access index's place in time: readiness while it is built, `X-Cohort-Revision` on
//! every answer, and `at_least_revision`'s bounded wait.

use crate::helpers::TestApp;
use crate::story;
use cohort_app::App;
use cohort_store::Db;
use serde_json::json;

/// A server that has not built its index answers nothing from it: 503 `not_ready` with
/// `Retry-After` (and `/readyz` says so), while `/healthz` is up; once built, it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answers_not_ready_until_its_index_is_built() {
    let dir = std::env::temp_dir().join(format!("cohort-ready-{}-{}", std::process::id(), cohort_core::time::now()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = App::connect(Db::sqlite(&dir.join("cohort.db")).unwrap()).await.unwrap();
    let new = cohort_app::keys::NewKey { name: "k".into(), scopes: vec!["admin".into()], ..Default::default() };
    let (_, key) = app.create_key(&cohort_core::auth::Principal::system(), new).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = app.clone();
    tokio::spawn(async move { cohort_http::serve_with(listener, served, Default::default(), std::future::pending()).await });
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).bearer_auth(&key).send();

    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    for path in ["/readyz", "/api/v1/groups", "/api/v1/users/me"] {
        let res = get(path).await.unwrap();
        assert_eq!(res.status().as_u16(), 503, "{path}");
        assert_eq!(res.headers()["retry-after"], "1", "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "not_ready", "{path}: {body}");
    }
    let check = client.post(format!("{base}/api/v1/check")).bearer_auth(&key).json(&json!({"user_id": "usr_x", "permission": "p"}));
    assert_eq!(check.send().await.unwrap().status().as_u16(), 503);

    app.build_index().await.unwrap();
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/api/v1/groups").await.unwrap().status().as_u16(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}

story!(every_answer_carries_the_revision, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let revision = |r: &crate::helpers::Res| -> i64 {
        r.header("x-cohort-revision").unwrap_or_else(|| panic!("no X-Cohort-Revision: {:?}", r.headers)).parse().unwrap()
    };
    let before = revision(&app.get("/api/v1/groups", &owner.token).await.expect_res(200));
    let created = app.post("/api/v1/groups", &owner.token, json!({"name": "Rev"})).await.expect_res(201);
    let after_write = revision(&created);
    assert!(after_write > before, "a write moves the revision: {before} -> {after_write}");
    // Reads, errors and probes carry it too; a read after a write shows at least the write.
    assert!(revision(&app.get("/api/v1/users/me", &owner.token).await.expect_res(200)) >= after_write);
    assert!(revision(&app.get("/api/v1/groups/grp_none", &owner.token).await.expect_res(404)) >= after_write);
    let health = app.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert!(revision(&health) >= after_write);

    // A revision this instance has applied is answered at once; one it has not is waited
    // for, briefly, then refused: never answered from before it.
    let ok = json!({"user_id": owner.id, "permission": "x.y", "at_least_revision": after_write});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, ok).await.expect(200)["allowed"], false);
    let ahead = after_write + 1_000_000;
    let started = std::time::Instant::now();
    let res =
        app.post("/api/v1/check", &app.admin_key, json!({"user_id": owner.id, "permission": "x.y", "at_least_revision": ahead})).await;
    let waited = started.elapsed();
    assert_eq!(res.header("retry-after").as_deref(), Some("1"));
    res.error(503, "not_ready");
    assert!(waited >= std::time::Duration::from_millis(1500), "it waits before refusing: {waited:?}");
    let batch = json!({"checks": [{"user_id": owner.id, "permission": "x.y"}], "at_least_revision": ahead});
    app.post("/api/v1/check/batch", &app.admin_key, batch).await.error(503, "not_ready");
    app.get(&format!("/api/v1/users/{}/permissions?at_least_revision={ahead}", owner.id), &owner.token).await.error(503, "not_ready");
    let path = format!("/api/v1/users/{}/groups?at_least_revision={after_write}", owner.id);
    assert_eq!(app.get(&path, &owner.token).await.expect(200)["total"], 1);

    // Someone who may not ask is refused at once: a revision far ahead makes nobody wait.
    let other = app.user("other").await;
    let started = std::time::Instant::now();
    let ask = json!({"user_id": owner.id, "permission": "x.y", "at_least_revision": ahead});
    app.post("/api/v1/check", &other.token, ask).await.error(403, "permission_denied");
    app.get(&format!("/api/v1/users/{}/permissions?at_least_revision={ahead}", owner.id), &other.token)
        .await
        .error(403, "permission_denied");
    assert!(started.elapsed() < std::time::Duration::from_millis(1000), "refused without waiting: {:?}", started.elapsed());
});
