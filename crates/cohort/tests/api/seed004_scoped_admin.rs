//! Seed 004: `/api/admin/groups`, as its documented requests are written.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

async fn key(app: &TestApp, scopes: &[&str]) -> String {
    app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "k", "scopes": scopes})).await.expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string()
}

story!(scoped_admin_groups, |app: TestApp| async move {
    let read = key(&app, &["groups:read"]).await;
    let write = key(&app, &["groups:write"]).await;
    let other = key(&app, &["users:read"]).await;
    let u = app.user("person").await;

    // Create Group (groups:write) → 201 GroupRead
    let created = app.post("/api/admin/groups/", &write, json!({"name": "Ops", "description": "on call"})).await.expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    app.post("/api/admin/groups/", &read, json!({"name": "Nope"})).await.error(403, "permission_denied");
    app.post("/api/admin/groups/", &other, json!({"name": "Nope"})).await.error(403, "permission_denied");
    for i in 0..4 {
        app.post("/api/admin/groups", &write, json!({"name": format!("G{i}")})).await.expect(201);
    }

    // List Groups → cursor page, newest first, hydrated by default
    let first = app.get("/api/admin/groups/?limit=2", &read).await.expect(200);
    for k in ["items", "next_cursor", "next_page", "limit", "collection_total"] {
        assert!(first.get(k).is_some(), "page has {k}");
    }
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][0]["name"], "G3");
    assert!(first["items"][0]["expand"]["users"].is_array());
    assert_eq!(first["collection_total"], json!(null));
    let mut names = vec![];
    let mut next = first["next_cursor"].as_str().map(str::to_string);
    names.extend(first["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()));
    while let Some(c) = next {
        let page = app.get(&format!("/api/admin/groups/?limit=2&cursor={c}"), &read).await.expect(200);
        names.extend(page["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()));
        next = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(names, ["G3", "G2", "G1", "G0", "Ops"]);
    let counted = app.get("/api/admin/groups/?include_total=true&hydrate=false&sort_by=name&sort_order=asc", &read).await.expect(200);
    assert_eq!(counted["collection_total"], 5);
    assert_eq!(counted["items"][0]["name"], "G0");
    assert!(counted["items"][0].get("expand").is_none());
    app.get("/api/admin/groups/?limit=251", &read).await.error(400, "invalid_request");
    app.get("/api/admin/groups/", &other).await.error(403, "permission_denied");

    // Get Group by ID, Update (PUT), Patch
    assert_eq!(app.get(&format!("/api/admin/groups/{id}"), &read).await.expect(200)["name"], "Ops");
    let put = app.put(&format!("/api/admin/groups/{id}"), &write, json!({"name": "Ops Team"})).await.expect(200);
    assert_eq!((put["name"].clone(), put["description"].clone()), (json!("Ops Team"), json!(null)));
    let patched = app.patch(&format!("/api/admin/groups/{id}"), &write, json!({"description": "pager"})).await.expect(200);
    assert_eq!((patched["name"].clone(), patched["description"].clone()), (json!("Ops Team"), json!("pager")));
    app.patch(&format!("/api/admin/groups/{id}"), &read, json!({"description": "x"})).await.error(403, "permission_denied");

    // Add User to Group → 201 UserRead; Get Group Users; Remove → 200
    let added = app.call(Method::POST, &format!("/api/admin/groups/{id}/users/{}", u.id), Some(&write), None).await.expect(201);
    assert_eq!(added["id"], u.id);
    assert_eq!(added["groups"], json!([id]));
    let users = app.get(&format!("/api/admin/groups/{id}/users"), &read).await.expect(200);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], "person");
    let removed = app.delete(&format!("/api/admin/groups/{id}/users/{}", u.id), &write).await.expect(200);
    assert_eq!(removed["removed"], true);

    // Delete Group → 204
    let res = app.call(Method::DELETE, &format!("/api/admin/groups/{id}"), Some(&write), None).await;
    assert_eq!(res.status.as_u16(), 204);
    app.get(&format!("/api/admin/groups/{id}"), &read).await.error(404, "not_found");
    // X-API-Key works too.
    let via_header = app.call_with(Method::GET, "/api/admin/groups/", None, None, &[("X-API-Key", &read)]).await;
    via_header.expect(200);
});
