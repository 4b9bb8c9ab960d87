//! Groups beyond the seed's examples: PUT, bulk delete, names, spaces, audit.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

story!(put_replaces_the_record, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    let g = app
        .group(&owner, "Team", json!({"description": "d", "permissions": ["a.b"], "settings": {"max_members": 5}, "visibility": "public"}))
        .await;
    let put = app.put(&format!("/api/v1/groups/{g}"), &owner.token, json!({"name": "Team 2"})).await.expect(200);
    assert_eq!(put["name"], "Team 2");
    assert_eq!(put["description"], json!(null));
    assert_eq!(put["permissions"], json!([]));
    assert_eq!(put["settings"]["max_members"], json!(null));
    assert_eq!(put["visibility"], "private");
    assert_eq!(put["version"], 2);
    app.put(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "no name"})).await.error(400, "invalid_request");
});

story!(names_are_unique_per_space_case_insensitively, |app: TestApp| async move {
    let owner = app.user("owner").await;
    app.group(&owner, "Engineering", json!({})).await;
    app.post("/api/v1/groups", &owner.token, json!({"name": "  engineering "})).await.error(409, "name_taken");
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Other"})).await.expect(201);
    let other = app.post("/api/v1/groups", &owner.token, json!({"name": "Engineering", "space": space["id"]})).await.expect(201);
    assert_eq!(other["space"], space["id"]);
    let renamed = app.group(&owner, "Sales", json!({})).await;
    app.patch(&format!("/api/v1/groups/{renamed}"), &owner.token, json!({"name": "ENGINEERING"})).await.error(409, "name_taken");
});

story!(bulk_delete_reports_each_id, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let other = app.user("other").await;
    let a = app.group(&owner, "A", json!({})).await;
    let b = app.group(&owner, "B", json!({})).await;
    let theirs = app.group(&other, "Theirs", json!({"visibility": "public"})).await;
    let out = app.post("/api/v1/groups/bulk-delete", &owner.token, json!({"ids": [a, b, theirs, "grp_missing"]})).await.expect(200);
    assert_eq!(out["deleted"], 2);
    assert_eq!(out["failed"], 2);
    assert_eq!(out["results"][2]["error"], "permission_denied");
    assert_eq!(out["results"][3]["error"], "not_found");
    let left = app.get("/api/v1/groups", &app.admin_key).await.expect(200);
    assert_eq!(left["total"], 1);
});

story!(every_change_is_audited, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let g = app.group(&owner, "Audited", json!({})).await;
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"description": "x"})).await.expect(200);
    app.post(&format!("/api/v1/groups/{g}/members"), &owner.token, json!({"user_id": member.id, "notify": true})).await.expect(201);
    app.delete(&format!("/api/v1/groups/{g}/members/{}", member.id), &owner.token).await.expect(200);
    let trail = app.get(&format!("/api/v1/audit?group_id={g}&limit=50"), &app.admin_key).await.expect(200);
    let actions: Vec<&str> = trail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["member.removed", "member.added", "group.updated", "member.added", "group.created"]);
    let added = &trail["events"][1];
    assert_eq!(added["actor_id"], owner.id);
    assert_eq!(added["after"]["notify"], true);
    let updated = &trail["events"][2];
    assert_eq!(updated["before"]["description"], json!(null));
    assert_eq!(updated["after"]["description"], "x");
    let by_action = app.get("/api/v1/audit?action=group.created", &app.admin_key).await.expect(200);
    assert_eq!(by_action["total"], 1);
    app.get("/api/v1/audit", &owner.token).await.error(403, "permission_denied");
});

story!(a_group_made_by_a_site_key_starts_empty, |app: TestApp| async move {
    let g = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Empty"})).await.expect(201);
    assert_eq!(g["member_count"], 0);
    let id = g["id"].as_str().unwrap();
    let members = app.get(&format!("/api/v1/groups/{id}/members"), &app.admin_key).await.expect(200);
    assert_eq!(members["total"], 0);
});

story!(a_list_carries_each_groups_permissions_and_collections, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    let perms = app.group(&owner, "With permissions", json!({"permissions": ["b.write", "a.read"]})).await;
    let bare = app.group(&owner, "Bare", json!({})).await;
    let cols = app.group(&owner, "With collections", json!({"collections": [{"id": "col_x", "manage": true}]})).await;
    let list = app.get("/api/v1/groups?sort=created_at", &owner.token).await.expect(200);
    let by_id = |id: &str| list["groups"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap().clone();
    assert_eq!(by_id(&perms)["permissions"], json!(["b.write", "a.read"]));
    assert_eq!(by_id(&perms)["collections"], json!([]));
    assert_eq!(by_id(&bare)["permissions"], json!([]));
    assert_eq!(by_id(&bare)["collections"], json!([]));
    assert_eq!(by_id(&cols)["permissions"], json!([]));
    assert_eq!(by_id(&cols)["collections"], json!([{"id": "col_x", "read_only": false, "hide_passwords": false, "manage": true}]));
});
