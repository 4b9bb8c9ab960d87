//! Conditional reads on every surface (`If-None-Match` → 304 while the answer is the same)
//! and CORS for browser apps on other origins (`--cors-origins`).

use crate::helpers::{Res, TestApp, unique};
use crate::story;
use cohort_app::Db;
use reqwest::Method;
use serde_json::json;

/// Reads `path`, then again with its tag (304, no body, the same tag), and returns the tag.
async fn unchanged(app: &TestApp, path: &str, auth: &str) -> String {
    let first = app.get(path, auth).await.expect_res(200);
    let tag = first.header("etag").unwrap_or_else(|| panic!("{path} has no ETag"));
    let again = app.call_with(Method::GET, path, Some(auth), None, &[("If-None-Match", &tag)]).await;
    assert_eq!(again.status.as_u16(), 304, "{path} with If-None-Match {tag}");
    assert_eq!((again.header("etag"), again.body.clone()), (Some(tag.clone()), serde_json::Value::Null), "{path}");
    tag
}

/// Reads `path` with an old tag: the answer changed, so 200 with a new tag.
async fn changed(app: &TestApp, path: &str, auth: &str, old: &str) -> Res {
    let res = app.call_with(Method::GET, path, Some(auth), None, &[("If-None-Match", old)]).await.expect_res(200);
    assert_ne!(res.header("etag").as_deref(), Some(old), "{path}");
    res
}

story!(a_read_that_has_not_changed_is_304_on_every_surface, |app: TestApp| async move {
    let a = &app.admin_key;
    let owner = app.user("owner").await;
    let gid = app.group(&owner, "Tagged", json!({})).await;

    // A record: its version is its tag; a write moves it on.
    let record = format!("/api/v1/groups/{gid}");
    assert_eq!(unchanged(&app, &record, &owner.token).await, "\"1\"");
    // A list of tags, the weak form and `*` all name it.
    for asked in ["\"0\", \"1\"", "W/\"1\"", "*"] {
        let res = app.call_with(Method::GET, &record, Some(&owner.token), None, &[("If-None-Match", asked)]).await;
        assert_eq!(res.status.as_u16(), 304, "{asked}");
    }
    app.patch(&record, &owner.token, json!({"description": "changed"})).await.expect(200);
    assert_eq!(changed(&app, &record, &owner.token, "\"1\"").await.header("etag").as_deref(), Some("\"2\""));

    // Lists and other JSON reads get a tag from their bytes, the same while they are the same.
    let list = "/api/v1/groups?limit=10";
    let tag = unchanged(&app, list, &owner.token).await;
    assert!(tag.starts_with("\"h"), "{tag}");
    assert_eq!(app.get(list, &owner.token).await.header("etag"), Some(tag.clone()), "the same answer, the same tag");
    let members = format!("/api/v1/groups/{gid}/members");
    let members_tag = unchanged(&app, &members, &owner.token).await;
    app.group(&owner, "Another", json!({})).await;
    changed(&app, list, &owner.token, &tag).await;
    let joiner = app.user("joiner").await;
    app.add(&gid, &joiner, "member").await;
    changed(&app, &members, &owner.token, &members_tag).await;

    // The dialects and SCIM.
    unchanged(&app, &format!("/api/collections/groups/records/{gid}"), &owner.token).await;
    unchanged(&app, "/api/collections/groups/records?perPage=5", &owner.token).await;
    unchanged(&app, &format!("/api/admin/groups/{gid}"), a).await;
    unchanged(&app, "/api/admin/groups/", a).await;
    unchanged(&app, &format!("/scim/v2/Users/{}", owner.id), a).await;
    unchanged(&app, "/scim/v2/Groups?count=5", a).await;

    // Only reads: a write with If-None-Match is a write, and an error is never 304.
    let res = app.call_with(Method::PATCH, &record, Some(&owner.token), Some(json!({"description": "x"})), &[("If-None-Match", "*")]).await;
    assert_eq!(res.status.as_u16(), 200);
    let missing = app.call_with(Method::GET, "/api/v1/groups/grp_nope", Some(&owner.token), None, &[("If-None-Match", "*")]).await;
    missing.error(404, "not_found");
});

async fn with_cors(origins: &[&str]) -> TestApp {
    with_cors_and(origins, cohort_http::ServeOptions::default()).await
}

async fn with_cors_and(origins: &[&str], opts: cohort_http::ServeOptions) -> TestApp {
    let dir = std::env::temp_dir().join(unique("cohort-cors"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::sqlite(&dir.join("cohort.db")).unwrap();
    let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
    let opts = cohort_http::ServeOptions { cors_origins: cohort_http::cors::CorsOrigins::parse(&origins).unwrap(), ..opts };
    TestApp::start_with(db, crate::helpers::Backend::Sqlite, Some(dir), opts).await
}

async fn preflight(app: &TestApp, origin: &str, method: &str) -> Res {
    let headers = [
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
        ("Access-Control-Request-Headers", "authorization,content-type,if-match"),
    ];
    app.call_with(Method::OPTIONS, "/api/v1/groups", None, None, &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_allowed_origins_only_and_never_allows_credentials() {
    let app = with_cors(&["https://app.example.com", "http://localhost:5173"]).await;
    // The preflight a browser sends before a JSON POST with a bearer token.
    let ok = preflight(&app, "https://app.example.com", "POST").await;
    assert!(ok.status.is_success(), "{}", ok.status);
    assert_eq!(ok.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    let methods = ok.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("PATCH") && methods.contains("DELETE"), "{methods}");
    assert!(ok.header("access-control-allow-headers").unwrap().contains("authorization"));
    assert_eq!(ok.header("access-control-allow-credentials"), None, "bearer tokens, not cookies");
    // An origin not listed gets no allowance: the browser stops the call.
    let other = preflight(&app, "https://evil.example", "POST").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    // The call itself: allowed, with the headers a script may read.
    let owner = app.user("owner").await;
    let res = app.call_with(Method::GET, "/api/v1/groups", Some(&owner.token), None, &[("Origin", "http://localhost:5173")]).await;
    let res = res.expect_res(200);
    assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("http://localhost:5173"));
    let exposed = res.header("access-control-expose-headers").unwrap().to_lowercase();
    for h in ["etag", "x-cohort-revision", "retry-after"] {
        assert!(exposed.contains(h), "{exposed}");
    }
    assert!(res.header("vary").unwrap().to_lowercase().contains("origin"));

    // Off by default: no Access-Control header at all, and no preflight answer.
    let plain = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let res = preflight(&plain, "https://app.example.com", "POST").await;
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert!(res.status.is_client_error(), "{}", res.status);
    // `*` allows any origin.
    let any = with_cors(&["*"]).await;
    assert_eq!(preflight(&any, "https://anyone.example", "GET").await.header("access-control-allow-origin").as_deref(), Some("*"));
}

story!(a_stale_if_match_is_refused_on_every_surface_that_writes_groups, |app: TestApp| async move {
    let a = &app.admin_key;
    // (where the group is read and written, how it is changed, how it is deleted)
    let surfaces: [(&str, Method, serde_json::Value, &str); 4] = [
        ("/api/v1/groups/{id}", Method::PATCH, json!({"description": "changed"}), "/api/v1/groups/{id}"),
        ("/api/admin/groups/{id}", Method::PUT, json!({"name": "Replaced"}), "/api/admin/groups/{id}"),
        ("/api/collections/groups/records/{id}", Method::PATCH, json!({"description": "changed"}), "/api/collections/groups/records/{id}"),
        (
            "/api/organizations/spc_default/groups/{id}",
            Method::PUT,
            json!({"name": "Replaced", "accessAll": false, "collections": []}),
            "/api/organizations/spc_default/groups/{id}",
        ),
    ];
    for (i, (read, method, body, delete)) in surfaces.into_iter().enumerate() {
        let created = app.post("/api/v1/groups", a, json!({"name": format!("Versioned {i}")})).await.expect(201);
        let id = created["id"].as_str().unwrap();
        let (read, delete) = (read.replace("{id}", id), delete.replace("{id}", id));
        let tag = app.get(&read, a).await.expect_res(200).header("etag").unwrap_or_else(|| panic!("{read} has no ETag"));
        assert_eq!(tag, "\"1\"", "{read}");
        // Someone else changes the group: the tag read before is stale.
        app.patch(&format!("/api/v1/groups/{id}"), a, json!({"description": "theirs"})).await.expect(200);
        let stale = app.call_with(method.clone(), &read, Some(a), Some(body.clone()), &[("If-Match", &tag)]).await;
        assert_eq!(stale.status.as_u16(), 412, "{method} {read}: {}", stale.body);
        let now = app.get(&format!("/api/v1/groups/{id}"), a).await.expect(200);
        assert_eq!(now["description"], "theirs", "{read}: a refused write changes nothing");
        let fresh = app.get(&read, a).await.expect_res(200).header("etag").unwrap();
        let ok = app.call_with(method.clone(), &read, Some(a), Some(body.clone()), &[("If-Match", &fresh)]).await;
        assert_eq!(ok.status.as_u16(), 200, "{method} {read}: {}", ok.body);
        let del = app.call_with(Method::DELETE, &delete, Some(a), None, &[("If-Match", &fresh)]).await;
        assert_eq!(del.status.as_u16(), 412, "DELETE {delete} with the tag before the write");
        let current = app.get(&read, a).await.expect_res(200).header("etag").unwrap();
        let del = app.call_with(Method::DELETE, &delete, Some(a), None, &[("If-Match", &current)]).await;
        assert!(del.status.is_success(), "DELETE {delete}: {}", del.status);
    }
});

story!(a_stale_if_match_is_refused_on_membership_and_hierarchy_writes, |app: TestApp| async move {
    let a = &app.admin_key;
    let owner = app.user("owner").await;
    let gid = app.group(&owner, "Tree", json!({})).await;
    let parent = app.group(&owner, "Parent", json!({})).await;
    let stale = |v: i64| format!("\"{v}\"");

    // A group's move and its permissions take the group's version.
    let read = app.get(&format!("/api/v1/groups/{gid}"), a).await.expect_res(200).header("etag").unwrap();
    app.post("/api/v1/permissions", a, json!({"permission": "kb.read"})).await.expect(201);
    app.patch(&format!("/api/v1/groups/{gid}"), a, json!({"description": "moved on"})).await.expect(200);
    let (move_path, perms_path) = (format!("/api/v1/groups/{gid}/move"), format!("/api/v1/groups/{gid}/permissions"));
    let moved = app.call_with(Method::POST, &move_path, Some(a), Some(json!({"parent_id": parent})), &[("If-Match", &read)]).await;
    moved.error(412, "precondition_failed");
    let perms = app.call_with(Method::PATCH, &perms_path, Some(a), Some(json!({"add": ["kb.read"]})), &[("If-Match", &read)]).await;
    perms.error(412, "precondition_failed");
    assert_eq!(app.get(&format!("/api/v1/groups/{gid}"), a).await.expect(200)["parent_id"], serde_json::Value::Null, "nothing moved");
    let now = app.get(&format!("/api/v1/groups/{gid}"), a).await.expect_res(200).header("etag").unwrap();
    let perms = app.call_with(Method::PATCH, &perms_path, Some(a), Some(json!({"add": ["kb.read"]})), &[("If-Match", &now)]).await;
    perms.expect(200);

    // A membership: the native DELETE, and the records surface's PATCH and DELETE.
    let bob = app.user("bob").await;
    app.add(&gid, &bob, "member").await;
    let member = format!("/api/v1/groups/{gid}/members/{}", bob.id);
    let v = app.get(&member, a).await.expect(200)["version"].as_i64().unwrap();
    app.patch(&member, a, json!({"role": "moderator"})).await.expect(200);
    app.call_with(Method::DELETE, &member, Some(a), None, &[("If-Match", &stale(v))]).await.error(412, "precondition_failed");
    let record_id = app.get(&member, a).await.expect(200)["membership_id"].as_str().unwrap().to_string();
    let record = format!("/api/collections/group_members/records/{record_id}");
    let tag = app.get(&record, a).await.expect_res(200).header("etag").unwrap();
    assert_eq!(tag, stale(v + 1), "the record's tag is the membership's version");
    let changed = app.call_with(Method::PATCH, &record, Some(a), Some(json!({"role": "member"})), &[("If-Match", &stale(v))]).await;
    assert_eq!(changed.status.as_u16(), 412, "{}", changed.body);
    assert_eq!(app.get(&member, a).await.expect(200)["role"], "moderator", "a refused PATCH changes nothing");
    let gone = app.call_with(Method::DELETE, &record, Some(a), None, &[("If-Match", &stale(v))]).await;
    assert_eq!(gone.status.as_u16(), 412);
    let ok = app.call_with(Method::DELETE, &record, Some(a), None, &[("If-Match", &tag)]).await;
    assert_eq!(ok.status.as_u16(), 204, "{}", ok.body);
    app.get(&member, a).await.error(404, "not_found");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_made_before_the_router_is_readable_cross_origin() {
    // A 429 from the rate limit is made before any route runs: a page must still read it,
    // and its Retry-After.
    let limits = cohort_http::limits::RateLimits { per_key: Some(2), per_address: None };
    let app =
        with_cors_and(&["https://app.example.com"], cohort_http::ServeOptions { limits, ..cohort_http::ServeOptions::default() }).await;
    let owner = app.user("owner").await;
    let mut limited = None;
    for _ in 0..20 {
        let res = app.call_with(Method::GET, "/api/v1/groups", Some(&owner.token), None, &[("Origin", "https://app.example.com")]).await;
        if res.status.as_u16() == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the limit answers 429");
    assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    assert!(res.header("access-control-expose-headers").unwrap().to_lowercase().contains("retry-after"));
    assert!(res.header("retry-after").is_some());
    // From an origin not allowed, nothing is added.
    let other = app.call_with(Method::GET, "/api/v1/groups", Some(&owner.token), None, &[("Origin", "https://evil.example")]).await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}
