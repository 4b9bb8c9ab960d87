//! Bad input of every kind is a 4xx with the error body, never a 5xx or a partial write.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

story!(malformed_bodies_are_400, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let t = owner.token.as_str();
    for body in [
        &b"{not json"[..],
        b"",
        b"[]",
        b"null",
        b"\"text\"",
        b"{\"name\": 5}",
        b"{\"name\": \"x\", \"settings\": {\"max_members\": \"ten\"}}",
    ] {
        app.raw(Method::POST, "/api/v1/groups", t, body.to_vec()).await.error(400, "invalid_request");
    }
    let unknown = app.post("/api/v1/groups", t, json!({"name": "x", "colour": "red"})).await.error(400, "invalid_request");
    assert!(unknown["message"].as_str().unwrap().contains("colour"), "the message names the unknown field");
    let nested = app.post("/api/v1/groups", t, json!({"name": "x", "settings": {"max": 1}})).await.error(400, "invalid_request");
    assert!(nested["message"].as_str().unwrap().contains("settings"));
    app.post("/api/v1/groups", t, json!({"description": "no name"})).await.error(400, "invalid_request");
    app.post("/api/v1/groups", t, json!({"name": "x", "type": "squad"})).await.error(400, "invalid_request");
    let list = app.get("/api/v1/groups", t).await.expect(200);
    assert_eq!(list["total"], 0, "nothing was written");
});

story!(invalid_values_are_422, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let t = owner.token.as_str();
    let blank = app.post("/api/v1/groups", t, json!({"name": "   "})).await.error(422, "validation_failed");
    assert_eq!(blank["field"], "name");
    app.post("/api/v1/groups", t, json!({"name": "x".repeat(201)})).await.error(422, "validation_failed");
    app.post("/api/v1/groups", t, json!({"name": "x", "settings": {"max_members": 0}})).await.error(422, "validation_failed");
    app.post("/api/v1/groups", t, json!({"name": "x", "permissions": ["has space"]})).await.error(422, "validation_failed");
    app.post("/api/v1/groups", t, json!({"name": "x", "space_id": "spc_nope"})).await.error(422, "validation_failed");
    let gid = app.group(&owner, "Valid", json!({})).await;
    let stranger = app.user("stranger").await;
    app.post(&format!("/api/v1/groups/{gid}/members"), t, json!({"user_id": stranger.id, "role": "overlord"}))
        .await
        .error(422, "validation_failed");
    app.post(&format!("/api/v1/groups/{gid}/members"), t, json!({"user_id": stranger.id, "expires_at": "tomorrow"}))
        .await
        .error(422, "validation_failed");
    app.post(&format!("/api/v1/groups/{gid}/members"), t, json!({"user_id": stranger.id, "expires_at": "2001-01-01T00:00:00Z"}))
        .await
        .error(422, "validation_failed");
    app.patch(&format!("/api/v1/groups/{gid}"), t, json!({"name": ""})).await.error(422, "validation_failed");
    let g = app.get(&format!("/api/v1/groups/{gid}"), t).await.expect(200);
    assert_eq!(g["name"], "Valid");
    assert_eq!(g["member_count"], 1);
});

story!(oversized_bodies_are_413, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    app.raw(Method::POST, "/api/v1/groups", &owner.token, big.clone().into_bytes()).await.error(413, "payload_too_large");
    // Bodies read by the routes themselves (not the idempotency check of a POST): the limit is
    // 1 MiB there too, below the 2 MiB a body extractor would allow by itself.
    let gid = app.post("/api/v1/groups", &owner.token, json!({"name": "Sized"})).await.expect(201)["id"].as_str().unwrap().to_string();
    app.raw(Method::PATCH, &format!("/api/v1/groups/{gid}"), &owner.token, big.clone().into_bytes()).await.error(413, "payload_too_large");
    let just = format!("{{\"description\": \"{}\"}}", "x".repeat(1000));
    app.raw(Method::PATCH, &format!("/api/v1/groups/{gid}"), &owner.token, just.into_bytes()).await.expect(200);
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Sized"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let made = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "sized idp", "scopes": ["scim"], "space_id": space})).await;
    let scim = made.expect(201)["key"].as_str().unwrap().to_string();
    let res = app.raw(Method::PUT, "/scim/v2/Users/nobody", &scim, big.into_bytes()).await;
    assert_eq!(res.status, 413, "{:?}", res.body);
});

story!(bad_ids_and_routes_are_404, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let t = owner.token.as_str();
    for path in [
        "/api/v1/groups/grp_missing",
        "/api/v1/groups/%FF%FE",
        "/api/v1/groups/'%20OR%201=1",
        "/api/v1/users/nope",
        "/api/v1/spaces/x",
        "/api/v1/nothing",
    ] {
        app.get(path, t).await.error(404, "not_found");
    }
    app.patch("/api/v1/groups/grp_missing", t, json!({"name": "x"})).await.error(404, "not_found");
    app.delete("/api/v1/groups/grp_missing/members/usr_missing", t).await.error(404, "not_found");
    let res = app.call(Method::PUT, "/healthz", None, None).await;
    assert_eq!(res.status.as_u16(), 405);
    assert_eq!(res.body["error"], "method_not_allowed");
});

story!(bad_query_parameters_are_400, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let t = owner.token.as_str();
    for q in ["page=0", "page=abc", "limit=0", "limit=501", "limit=-1", "per_page=x", "type=squad", "skip_total=maybe"] {
        app.get(&format!("/api/v1/groups?{q}"), t).await.error(400, "invalid_request");
    }
    app.get("/api/v1/groups?limit=500", t).await.expect(200);
});

story!(stale_versions_are_412, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let gid = app.group(&owner, "Versioned", json!({})).await;
    let read = app.get(&format!("/api/v1/groups/{gid}"), &owner.token).await;
    let etag = read.header("etag").expect("reads carry an ETag");
    assert_eq!(etag, "\"1\"");
    let path = format!("/api/v1/groups/{gid}");
    let ok = app.call_with(Method::PATCH, &path, Some(&owner.token), Some(json!({"description": "one"})), &[("If-Match", &etag)]).await;
    assert_eq!(ok.header("etag").as_deref(), Some("\"2\""));
    ok.expect(200);
    let stale = app.call_with(Method::PATCH, &path, Some(&owner.token), Some(json!({"description": "two"})), &[("If-Match", &etag)]).await;
    let body = stale.error(412, "precondition_failed");
    assert_eq!(body["current_version"], 2);
    app.call_with(Method::PATCH, &path, Some(&owner.token), Some(json!({"description": "three"})), &[("If-Match", "garbage")])
        .await
        .error(412, "precondition_failed");
    app.call_with(Method::DELETE, &path, Some(&owner.token), None, &[("If-Match", "\"1\"")]).await.error(412, "precondition_failed");
    let g = app.get(&path, &owner.token).await.expect(200);
    assert_eq!(g["description"], "one");
    app.call_with(Method::DELETE, &path, Some(&owner.token), None, &[("If-Match", "\"2\"")]).await.expect(200);
});

story!(a_body_with_anything_after_its_json_is_400, |app: TestApp| async move {
    let owner = app.user("owner").await;
    for body in [&b"{\"name\": \"x\"} trailing"[..], b"{\"name\": \"x\"}{}", b"{\"name\": \"x\"} ]"] {
        let res = app.raw(Method::POST, "/api/v1/groups", &owner.token, body.to_vec()).await;
        assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(res.body["error"], "invalid_request");
    }
    assert_eq!(app.get("/api/v1/groups", &owner.token).await.expect(200)["total"], 0, "nothing was made");
    let ok = app.raw(Method::POST, "/api/v1/groups", &owner.token, b"  {\"name\": \"x\"}\n\t ".to_vec()).await;
    assert_eq!(ok.status, 201, "whitespace around the value is fine");
});
