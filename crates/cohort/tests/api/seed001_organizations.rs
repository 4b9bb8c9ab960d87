//! Seed 001: organization groups, as its documented requests are written.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

story!(organization_groups, |app: TestApp| async move {
    let manager = app.user("manager").await;
    let outsider = app.user("outsider").await;
    let (a, b) = (app.user("alice").await, app.user("bob").await);
    let org = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Acme", "moderators": [manager.id]})).await.expect(200 + 1)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/api/organizations/{org}/groups");

    // Create Group
    let body = json!({
        "name": "Engineering", "accessAll": false, "externalId": "ext-eng",
        "collections": [{"id": "col_1", "readOnly": true, "hidePasswords": false}, {"id": "col_2", "readOnly": false, "hidePasswords": true, "manage": true}],
        "users": [a.id, b.id]
    });
    let created = app.post(&base, &manager.token, body).await.expect(200);
    assert_eq!(created["object"], "group");
    assert_eq!(created["organizationId"], org);
    assert_eq!(created["name"], "Engineering");
    assert_eq!(created["accessAll"], false);
    assert_eq!(created["externalId"], "ext-eng");
    assert_eq!(created["collections"][1], json!({"id": "col_2", "readOnly": false, "hidePasswords": true, "manage": true}));
    let mut users: Vec<String> = created["users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_string()).collect();
    users.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(users, want, "the creator does not join; the listed users do");
    let id = created["id"].as_str().unwrap().to_string();

    // Get Group / with Details / List / List with Details
    let one = app.get(&format!("{base}/{id}"), &manager.token).await.expect(200);
    assert!(one.get("collections").is_none());
    assert_eq!(one["externalId"], "ext-eng");
    let det = app.get(&format!("{base}/{id}/details"), &manager.token).await.expect(200);
    assert_eq!(det["collections"].as_array().unwrap().len(), 2);
    let list = app.get(&base, &manager.token).await.expect(200);
    assert_eq!((list["object"].clone(), list["continuationToken"].clone()), (json!("list"), json!(null)));
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let list_det = app.get(&format!("{base}/details"), &manager.token).await.expect(200);
    assert_eq!(list_det["data"][0]["collections"].as_array().unwrap().len(), 2);

    // Get Group Users
    let ids = app.get(&format!("{base}/{id}/users"), &manager.token).await.expect(200);
    assert_eq!(ids.as_array().unwrap().len(), 2);

    // Effective access follows the group.
    let access =
        app.post("/api/v1/check", &app.admin_key, json!({"user_id": a.id, "collection_id": "col_2", "access": "manage"})).await.expect(200);
    assert_eq!(access["allowed"], true);

    // Update Group: PUT replaces everything, users and collections included
    let put =
        app.put(&format!("{base}/{id}"), &manager.token, json!({"name": "Eng", "accessAll": true, "users": [b.id]})).await.expect(200);
    assert_eq!((put["name"].clone(), put["accessAll"].clone(), put["externalId"].clone()), (json!("Eng"), json!(true), json!(null)));
    assert_eq!(put["collections"], json!([]));
    assert_eq!(put["users"], json!([b.id]));
    app.call(Method::PUT, &format!("{base}/{id}/users"), Some(&manager.token), Some(json!([a.id, b.id]))).await.expect(200);
    assert_eq!(app.get(&format!("{base}/{id}/users"), &manager.token).await.expect(200).as_array().unwrap().len(), 2);
    app.delete(&format!("{base}/{id}/users/{}", a.id), &manager.token).await.expect(200);
    app.delete(&format!("{base}/{id}/user/{}", b.id), &manager.token).await.expect(200);
    assert_eq!(app.get(&format!("{base}/{id}/users"), &manager.token).await.expect(200), json!([]));

    // Validation and permissions in Bitwarden's error shape
    let long = app.post(&base, &manager.token, json!({"name": "x".repeat(101), "collections": []})).await.expect(422);
    // Without access to all collections, the group names the ones it has (the seed: required).
    let missing = app.post(&base, &manager.token, json!({"name": "No collections", "accessAll": false})).await.expect(422);
    assert!(missing["validationErrors"]["collections"].is_array(), "{missing}");
    assert_eq!(long["object"], "error");
    assert!(long["validationErrors"]["name"].is_array());
    let denied = app.get(&base, &outsider.token).await.expect(403);
    assert_eq!(denied["object"], "error");
    assert!(denied["message"].is_string());
    app.get("/api/organizations/spc_nope/groups", &manager.token).await.expect(404);
    let bad = app.raw(Method::POST, &base, &manager.token, b"{nope".to_vec()).await;
    assert_eq!(bad.status.as_u16(), 400);
    assert_eq!(bad.body["object"], "error");

    // Delete / Bulk Delete (both forms)
    let g2 =
        app.post(&base, &manager.token, json!({"name": "Two", "collections": []})).await.expect(200)["id"].as_str().unwrap().to_string();
    let g3 =
        app.post(&base, &manager.token, json!({"name": "Three", "collections": []})).await.expect(200)["id"].as_str().unwrap().to_string();
    let g4 =
        app.post(&base, &manager.token, json!({"name": "Four", "collections": []})).await.expect(200)["id"].as_str().unwrap().to_string();
    app.delete(&format!("{base}/{id}"), &manager.token).await.expect(200);
    app.call(Method::DELETE, &base, Some(&manager.token), Some(json!({"ids": [g2, g3]}))).await.expect(200);
    app.post(&format!("{base}/delete"), &manager.token, json!({"ids": [g4]})).await.expect(200);
    assert_eq!(app.get(&base, &manager.token).await.expect(200)["data"], json!([]));
});

story!(collections_assigned_to_a_user_directly, |app: TestApp| async move {
    let manager = app.user("manager").await;
    let (a, outsider) = (app.user("alice").await, app.user("outsider").await);
    let org = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Acme", "moderators": [manager.id]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/organizations/{org}/users/{}/collections", a.id);
    let group = json!({"name": "Readers", "accessAll": false, "collections": [{"id": "col_1", "readOnly": true}], "users": [a.id]});
    app.post(&format!("/api/organizations/{org}/groups"), &manager.token, group).await.expect(200);
    assert_eq!(app.get(&path, &manager.token).await.expect(200), json!([]));
    let direct = json!([{"id": "col_1", "readOnly": false, "hidePasswords": true}, {"id": "col_2", "readOnly": true, "hidePasswords": false, "manage": false}]);
    app.put(&path, &manager.token, direct).await.expect(200);
    assert_eq!(
        app.get(&path, &manager.token).await.expect(200),
        json!([{"id": "col_1", "readOnly": false, "hidePasswords": true, "manage": false}, {"id": "col_2", "readOnly": true, "hidePasswords": false, "manage": false}])
    );
    // Beside the group's read, the direct edit wins.
    let cols = app.get(&format!("/api/v1/users/{}/collections", a.id), &app.admin_key).await.expect(200)["collections"].clone();
    assert_eq!(cols[0], json!({"collection_id": "col_1", "read_only": false, "hide_passwords": true, "manage": false, "via": ["direct"]}));
    // Replaced by exactly the list sent; an outsider may neither read nor set it.
    app.put(&path, &manager.token, json!([{"id": "col_2", "manage": true}])).await.expect(200);
    assert_eq!(
        app.get(&path, &manager.token).await.expect(200),
        json!([{"id": "col_2", "readOnly": false, "hidePasswords": false, "manage": true}])
    );
    assert_eq!(app.get(&path, &outsider.token).await.status, 403);
    assert_eq!(app.put(&path, &outsider.token, json!([])).await.status, 403);
    let twice = json!([{"id": "col_3"}, {"id": "col_3"}]);
    let refused = app.put(&path, &manager.token, twice).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["object"], "error");
    app.put(&path, &manager.token, json!([])).await.expect(200);
    assert_eq!(app.get(&path, &manager.token).await.expect(200), json!([]));
});
