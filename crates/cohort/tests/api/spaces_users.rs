//! Spaces and users.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

story!(spaces_crud_and_moderators, |app: TestApp| async move {
    let modr = app.user("modr").await;
    let plain = app.user("plain").await;
    let s = app
        .post("/api/v1/spaces", &app.admin_key, json!({"name": "Acme", "description": "tenant", "moderators": [modr.id]}))
        .await
        .expect(201);
    let sid = s["id"].as_str().unwrap().to_string();
    assert!(sid.starts_with("spc_"));
    assert_eq!(s["moderators"], json!([modr.id]));
    app.post("/api/v1/spaces", &app.admin_key, json!({"name": "acme"})).await.error(409, "name_taken");
    app.post("/api/v1/spaces", &plain.token, json!({"name": "Mine"})).await.error(403, "permission_denied");
    app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Bad", "moderators": ["usr_nobody"]})).await.error(422, "validation_failed");
    let list = app.get("/api/v1/spaces", &plain.token).await.expect(200);
    assert_eq!(list["total"], 2, "the default space and Acme");
    let g = app.group(&plain, "In Acme", json!({"space_id": sid, "visibility": "private"})).await;
    app.patch(&format!("/api/v1/groups/{g}"), &modr.token, json!({"description": "moderated"})).await.expect(200);
    app.delete(&format!("/api/v1/spaces/{sid}"), &app.admin_key).await.error(409, "conflict");
    app.delete("/api/v1/spaces/spc_default", &app.admin_key).await.error(409, "conflict");
    app.delete(&format!("/api/v1/groups/{g}"), &modr.token).await.expect(200);
    let patched =
        app.patch(&format!("/api/v1/spaces/{sid}"), &app.admin_key, json!({"moderators": [], "description": null})).await.expect(200);
    assert_eq!(patched["moderators"], json!([]));
    assert_eq!(patched["description"], json!(null));
    app.delete(&format!("/api/v1/spaces/{sid}"), &app.admin_key).await.expect(200);
    app.get(&format!("/api/v1/spaces/{sid}"), &plain.token).await.error(404, "not_found");
});

story!(users_crud, |app: TestApp| async move {
    let u = app
        .post(
            "/api/v1/users",
            &app.admin_key,
            json!({"username": "carol", "email": "carol@example.com", "full_name": "Carol", "password": "long enough pw"}),
        )
        .await
        .expect(201);
    let id = u["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("usr_") && u.get("password").is_none());
    app.post("/api/v1/users", &app.admin_key, json!({"username": "CAROL"})).await.error(409, "conflict");
    app.post("/api/v1/users", &app.admin_key, json!({"username": "dave", "email": "CAROL@example.com"})).await.error(409, "conflict");
    app.post("/api/v1/users", &app.admin_key, json!({"username": "has space"})).await.error(422, "validation_failed");
    app.post("/api/v1/users", &app.admin_key, json!({"username": "eve", "password": "short"})).await.error(422, "validation_failed");
    let carol = app.user("carol2").await;
    app.post("/api/v1/users", &carol.token, json!({"username": "mallory"})).await.error(403, "permission_denied");
    app.patch(&format!("/api/v1/users/{}", carol.id), &carol.token, json!({"full_name": "Carol Two"})).await.expect(200);
    app.patch(&format!("/api/v1/users/{}", carol.id), &carol.token, json!({"site_role": "admin"})).await.error(403, "permission_denied");
    app.patch(&format!("/api/v1/users/{id}"), &carol.token, json!({"full_name": "x"})).await.error(403, "permission_denied");
    let list = app.get("/api/v1/users?search=carol", &app.admin_key).await.expect(200);
    assert_eq!(list["total"], 2);
    app.delete(&format!("/api/v1/users/{id}"), &app.admin_key).await.expect(200);
    app.get(&format!("/api/v1/users/{id}"), &app.admin_key).await.error(404, "not_found");
});
