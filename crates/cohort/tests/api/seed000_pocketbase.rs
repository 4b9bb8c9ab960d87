//! Seed 000: the PocketBase-style requests exactly as the seed writes them.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

story!(pocketbase_collections, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let space_mod = app.user("spacemod").await;
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Campus", "moderators": [space_mod.id]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Create Group
    let body = json!({"name": "New Study Group", "description": "Group for studying together", "space": space, "isPublic": true, "moderators": [owner.id]});
    let g = app.post("/api/collections/groups/records", &owner.token, body).await.expect(200);
    for k in ["id", "collectionId", "collectionName", "name", "description", "space", "isPublic", "moderators", "created", "updated"] {
        assert!(g.get(k).is_some(), "group record has {k}");
    }
    assert_eq!(g["collectionName"], "groups");
    assert_eq!(g["moderators"], json!([owner.id]));
    assert!(g["created"].as_str().unwrap().contains(' ') && g["created"].as_str().unwrap().ends_with('Z'));
    let id = g["id"].as_str().unwrap().to_string();

    // List Groups: filter=space='SPACE_ID'&page=1&perPage=30
    let list =
        app.get(&format!("/api/collections/groups/records?filter=space='{space}'&page=1&perPage=30"), &owner.token).await.expect(200);
    assert_eq!(
        (list["page"].clone(), list["perPage"].clone(), list["totalItems"].clone(), list["totalPages"].clone()),
        (json!(1), json!(30), json!(1), json!(1))
    );
    assert_eq!(list["items"][0]["id"], id);
    let clamped = app.get("/api/collections/groups/records?perPage=100000&page=0", &owner.token).await.expect(200);
    assert_eq!((clamped["perPage"].clone(), clamped["page"].clone()), (json!(500), json!(1)));
    let skipped = app.get("/api/collections/groups/records?skipTotal=1", &owner.token).await.expect(200);
    assert_eq!(skipped["totalItems"], -1);
    let public = app.get("/api/collections/groups/records?filter=isPublic=true&sort=-created", &member.token).await.expect(200);
    assert_eq!(public["totalItems"], 1);

    // Get Group; Update Group (group moderator, space moderator); 403 for a member
    assert_eq!(app.get(&format!("/api/collections/groups/records/{id}"), &owner.token).await.expect(200)["name"], "New Study Group");
    let upd = app
        .patch(&format!("/api/collections/groups/records/{id}"), &owner.token, json!({"description": "Updated group description"}))
        .await
        .expect(200);
    assert_eq!(upd["description"], "Updated group description");
    app.patch(&format!("/api/collections/groups/records/{id}"), &space_mod.token, json!({"description": "by the space"})).await.expect(200);

    // Add Group Member (a user adds themself to a public group); list with expand=user
    let m = app
        .post("/api/collections/group_members/records", &member.token, json!({"group": id, "user": member.id, "role": "member"}))
        .await
        .expect(200);
    assert_eq!(
        (m["collectionName"].clone(), m["group"].clone(), m["user"].clone(), m["role"].clone()),
        (json!("group_members"), json!(id), json!(member.id), json!("member"))
    );
    let mid = m["id"].as_str().unwrap().to_string();
    let members =
        app.get(&format!("/api/collections/group_members/records?filter=group='{id}'&expand=user"), &owner.token).await.expect(200);
    assert_eq!(members["totalItems"], 2);
    let row = members["items"].as_array().unwrap().iter().find(|r| r["id"] == mid.as_str()).unwrap().clone();
    assert_eq!(row["expand"]["user"]["username"], "member");
    assert!(row["expand"]["user"]["email"].is_string());
    let denied =
        app.patch(&format!("/api/collections/groups/records/{id}"), &member.token, json!({"description": "mine"})).await.expect(403);
    assert_eq!(denied["status"], 403);
    assert!(denied["message"].is_string() && denied["data"].is_object());
    // A member cannot add someone else.
    let other = app.user("other").await;
    app.post("/api/collections/group_members/records", &member.token, json!({"group": id, "user": other.id, "role": "member"}))
        .await
        .expect(403);

    // Update Member Role; Posts; Remove Group Member; Delete Group
    let promoted =
        app.patch(&format!("/api/collections/group_members/records/{mid}"), &owner.token, json!({"role": "moderator"})).await.expect(200);
    assert_eq!(promoted["role"], "moderator");
    app.post(&format!("/api/v1/groups/{id}/posts"), &member.token, json!({"body": "hello"})).await.expect(201);
    let posts = app.get(&format!("/api/posts?scope=group&group={id}"), &member.token).await.expect(200);
    assert_eq!(posts["totalItems"], 1);
    assert_eq!(posts["items"][0]["content"], "hello");
    assert_eq!(
        app.call(Method::DELETE, &format!("/api/collections/group_members/records/{mid}"), Some(&owner.token), None).await.status.as_u16(),
        204
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("/api/collections/groups/records/{id}"), Some(&owner.token), None).await.status.as_u16(),
        204
    );
    let gone = app.get(&format!("/api/collections/groups/records/{id}"), &owner.token).await.expect(404);
    assert_eq!(gone["status"], 404);

    // The PocketBase error body for bad input; the SDK's token without "Bearer".
    let bad =
        app.post("/api/collections/groups/records", &owner.token, json!({"description": "no name", "space": space})).await.expect(400);
    assert_eq!(bad["data"]["name"]["code"], "validation_required");
    let junk = app.raw(Method::POST, "/api/collections/groups/records", &owner.token, b"{".to_vec()).await;
    assert_eq!(junk.status.as_u16(), 400);
    assert_eq!(junk.body["status"], 400);
    app.get("/api/collections/groups/records?filter=(((", &owner.token).await.expect(400);
    let bare = app.call_with(Method::GET, "/api/collections/groups/records", None, None, &[("Authorization", &owner.token)]).await;
    bare.expect(200);
    let health = app.call(Method::GET, "/api/health", None, None).await.expect(200);
    assert_eq!(health["code"], 200);
});
