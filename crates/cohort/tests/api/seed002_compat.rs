//! Seed 002: `/compat/v1/groups`, as its documented requests are written.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

story!(compat_groups_namespace, |app: TestApp| async move {
    let admin = app.user("siteadmin").await;
    app.patch(&format!("/api/v1/users/{}", admin.id), &app.admin_key, json!({"site_role": "admin"})).await.expect(200);
    let plain = app.user("plain").await;
    let qa = app.group(&admin, "QA", json!({})).await;
    app.group(&admin, "Dev", json!({})).await;
    app.add(&qa, &plain, "member").await;

    // GET /api/v1/groups (seed 002's path, served at /compat/v1/groups)
    let all = app.get("/compat/v1/groups", &admin.token).await.expect(200);
    for key in ["page", "prev_page", "next_page", "last_page", "per_page", "total", "result", "expands"] {
        assert!(all.get(key).is_some(), "envelope has {key}");
    }
    assert_eq!(
        (all["page"].clone(), all["per_page"].clone(), all["total"].clone(), all["last_page"].clone()),
        (json!(1), json!(100), json!(2), json!(1))
    );
    let first = &all["result"][0];
    assert_eq!(first["name"], "QA");
    assert!(first["id"].is_i64(), "integer ids");
    assert_eq!(first["members"].as_array().unwrap().len(), 2);
    assert!(first["members"].as_array().unwrap().iter().all(|m| m.is_i64()));
    assert!(first["created_by"].is_i64());
    assert_eq!(first["updated_at"], json!(null));
    assert_eq!(first["updated_by"], json!(null));
    assert_eq!(all["expands"], json!({}));

    // GET /api/v1/groups?page=2
    let second = app.get("/compat/v1/groups?page=2", &admin.token).await.expect(200);
    assert_eq!(second["result"], json!([]));
    assert_eq!(second["prev_page"], 1);
    let small = app.get("/compat/v1/groups?per_page=15", &admin.token).await.expect(200);
    assert_eq!(small["per_page"], 15);
    app.get("/compat/v1/groups?per_page=10", &admin.token).await.error(422, "validation_failed");

    // GET /api/v1/groups?expands=users
    let expanded = app.get("/compat/v1/groups?expands=users", &admin.token).await.expect(200);
    let users = expanded["expands"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().any(|u| u["username"] == "plain"));

    // GET /api/v1/groups/1 and ?expands=users
    let id = first["id"].as_i64().unwrap();
    let one = app.get(&format!("/compat/v1/groups/{id}"), &admin.token).await.expect(200);
    assert_eq!(one["result"]["name"], "QA");
    assert_eq!(one["expands"], json!({}));
    let one_exp = app.get(&format!("/compat/v1/groups/{id}?expands=users"), &admin.token).await.expect(200);
    assert_eq!(one_exp["expands"]["users"].as_array().unwrap().len(), 2);
    app.patch(&format!("/api/v1/groups/{qa}"), &admin.token, json!({"name": "QA Team"})).await.expect(200);
    let renamed = app.get(&format!("/compat/v1/groups/{id}"), &admin.token).await.expect(200);
    assert_eq!(renamed["result"]["name"], "QA Team");
    assert!(renamed["result"]["updated_at"].is_string());
    assert!(renamed["result"]["updated_by"].is_i64());

    // Site administrators only.
    app.call(Method::GET, "/compat/v1/groups", None, None).await.error(401, "unauthenticated");
    app.get("/compat/v1/groups", &plain.token).await.error(403, "permission_denied");
    app.get(&format!("/compat/v1/groups/{id}"), &plain.token).await.error(403, "permission_denied");
    app.get("/compat/v1/groups/999999", &admin.token).await.error(404, "not_found");
    app.get("/compat/v1/groups/abc", &admin.token).await.error(404, "not_found");
    app.get("/compat/v1/groups?expands=secrets", &admin.token).await.error(422, "validation_failed");
});

story!(any_other_page_size_is_422, |app: TestApp| async move {
    for bad in ["abc", "10", "-1", "15.5", ""] {
        let res = app.get(&format!("/compat/v1/groups?per_page={bad}"), &app.admin_key).await;
        assert_eq!(res.status, 422, "per_page={bad}: {}", res.body);
    }
    app.get("/compat/v1/groups?per_page=25", &app.admin_key).await.expect(200);
});
