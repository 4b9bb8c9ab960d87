//! Seed 003's examples, Create Group … Remove Member, sent with the seed's own bodies.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

fn engineering() -> serde_json::Value {
    json!({
        "name": "Engineering Team",
        "description": "Product engineering team",
        "type": "team",
        "visibility": "private",
        "settings": {"allow_join_requests": true, "require_approval": true, "max_members": 50},
        "permissions": ["bot.use", "kb.read", "reports.view"]
    })
}

story!(create_get_update_delete_group, |app: TestApp| async move {
    let admin = app.site_admin("usr_admin").await;
    let created = app.post("/api/v1/groups", &admin.token, engineering()).await.expect(201);
    let gid = created["group_id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("grp_"));
    assert_eq!(created["name"], "Engineering Team");
    assert_eq!(created["type"], "team");
    assert_eq!(created["created_by"], admin.id);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["member_count"], 1, "the creating user is the owner");

    let got = app.get(&format!("/api/v1/groups/{gid}"), &admin.token).await.expect(200);
    for key in ["group_id", "name", "description", "type", "visibility", "member_count", "created_at", "settings", "permissions"] {
        assert!(got.get(key).is_some(), "Get Group has {key}");
    }
    assert_eq!(got["description"], "Product engineering team");
    assert_eq!(got["visibility"], "private");
    assert_eq!(got["settings"], json!({"allow_join_requests": true, "require_approval": true, "max_members": 50}));
    assert_eq!(got["permissions"], json!(["bot.use", "kb.read", "reports.view"]));

    let update = json!({
        "name": "Engineering & DevOps Team",
        "description": "Combined engineering and operations team",
        "settings": {"max_members": 75}
    });
    let updated = app.patch(&format!("/api/v1/groups/{gid}"), &admin.token, update).await.expect(200);
    assert_eq!(updated["name"], "Engineering & DevOps Team");
    assert_eq!(updated["description"], "Combined engineering and operations team");
    assert_eq!(
        updated["settings"],
        json!({"allow_join_requests": true, "require_approval": true, "max_members": 75}),
        "settings merge key by key"
    );

    let deleted = app.delete(&format!("/api/v1/groups/{gid}"), &admin.token).await.expect(200);
    assert_eq!(deleted, json!({"deleted": true, "group_id": gid, "members_removed": 1}));
    app.get(&format!("/api/v1/groups/{gid}"), &admin.token).await.error(404, "not_found");
});

story!(list_groups_with_filters, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    app.post("/api/v1/groups", &owner.token, engineering()).await.expect(201);
    app.group(&owner, "Sales", json!({"type": "department", "visibility": "public", "description": "Revenue"})).await;
    app.group(&owner, "Project Alpha", json!({"type": "project", "visibility": "public"})).await;

    let all = app.get("/api/v1/groups", &owner.token).await.expect(200);
    assert_eq!(all["total"], 3);
    assert_eq!(all["page"], 1);
    assert_eq!(all["limit"], 20);
    let first = &all["groups"][0];
    for key in ["group_id", "name", "type", "member_count", "visibility"] {
        assert!(first.get(key).is_some(), "list items have {key}");
    }

    let teams = app.get("/api/v1/groups?type=team", &owner.token).await.expect(200);
    assert_eq!(teams["total"], 1);
    assert_eq!(teams["groups"][0]["name"], "Engineering Team");
    let public = app.get("/api/v1/groups?visibility=public", &owner.token).await.expect(200);
    assert_eq!(public["total"], 2);
    let search = app.get("/api/v1/groups?search=REVEN", &owner.token).await.expect(200);
    assert_eq!(search["total"], 1, "search looks in descriptions, case-insensitively");
    let member = app.get(&format!("/api/v1/groups?member={}", owner.id), &owner.token).await.expect(200);
    assert_eq!(member["total"], 3);
    let paged = app.get("/api/v1/groups?page=2&limit=2", &owner.token).await.expect(200);
    assert_eq!(paged["groups"].as_array().unwrap().len(), 1);
    assert_eq!((paged["prev_page"].clone(), paged["next_page"].clone(), paged["last_page"].clone()), (json!(1), json!(null), json!(2)));
    let aliases = app.get("/api/v1/groups?per_page=1", &owner.token).await.expect(200);
    assert_eq!(aliases["limit"], 1);
    assert_eq!(aliases["next_page"], 2);
    let camel = app.get("/api/v1/groups?perPage=2&skip_total=true", &owner.token).await.expect(200);
    assert_eq!(camel["limit"], 2);
    assert!(camel.get("total").is_none(), "skip_total leaves the count out");
});

story!(add_list_update_remove_members, |app: TestApp| async move {
    let admin = app.site_admin("usr_admin").await;
    let john = app.user("johndoe").await;
    let gid = app.post("/api/v1/groups", &admin.token, engineering()).await.expect(201)["group_id"].as_str().unwrap().to_string();

    let added = app
        .post(
            &format!("/api/v1/groups/{gid}/members"),
            &admin.token,
            json!({"user_id": john.id, "role": "member", "permissions": ["read", "write"], "notify": true}),
        )
        .await
        .expect(201);
    assert!(added["membership_id"].as_str().unwrap().starts_with("mem_"));
    assert_eq!(added["group_id"], gid);
    assert_eq!(added["user_id"], john.id);
    assert_eq!(added["role"], "member");
    assert!(added["joined_at"].is_string());

    let listed = app.get(&format!("/api/v1/groups/{gid}/members"), &admin.token).await.expect(200);
    assert_eq!(listed["total"], 2);
    let entry = listed["members"].as_array().unwrap().iter().find(|m| m["user"]["user_id"] == john.id.as_str()).unwrap().clone();
    assert_eq!(entry["user"]["username"], "johndoe");
    assert_eq!(entry["user"]["full_name"], "JOHNDOE");
    assert!(entry["user"].get("avatar_url").is_some());
    assert_eq!(entry["status"], "active");
    assert!(entry.get("last_active").is_some());

    let by_role = app.get(&format!("/api/v1/groups/{gid}/members?role=owner"), &admin.token).await.expect(200);
    assert_eq!(by_role["total"], 1);
    let by_search = app.get(&format!("/api/v1/groups/{gid}/members?search=john&status=active"), &admin.token).await.expect(200);
    assert_eq!(by_search["total"], 1);

    let updated = app
        .patch(
            &format!("/api/v1/groups/{gid}/members/{}", john.id),
            &admin.token,
            json!({"role": "admin", "permissions": ["read", "write", "delete"]}),
        )
        .await
        .expect(200);
    assert_eq!(updated["role"], "admin");
    assert_eq!(updated["permissions"], json!(["read", "write", "delete"]));

    let removed = app.delete(&format!("/api/v1/groups/{gid}/members/{}", john.id), &admin.token).await.expect(200);
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["group_id"], gid);
    assert_eq!(removed["user_id"], john.id);
    assert!(removed["removed_at"].is_string());
    app.get(&format!("/api/v1/groups/{gid}/members/{}", john.id), &admin.token).await.error(404, "not_found");
});

story!(bulk_add_members, |app: TestApp| async move {
    let admin = app.site_admin("usr_admin").await;
    let gid = app.post("/api/v1/groups", &admin.token, engineering()).await.expect(201)["group_id"].as_str().unwrap().to_string();
    let (a, b, c) = (app.user("usr_001").await, app.user("usr_002").await, app.user("usr_003").await);
    let body = json!({
        "members": [
            {"user_id": a.id, "role": "admin"},
            {"user_id": b.id, "role": "member"},
            {"user_id": c.id, "role": "member"}
        ],
        "notify_all": true
    });
    let out = app.post(&format!("/api/v1/groups/{gid}/members/bulk"), &admin.token, body.clone()).await.expect(200);
    assert_eq!(out["added"], 3);
    assert_eq!(out["failed"], 0);
    let statuses: Vec<_> = out["memberships"].as_array().unwrap().iter().map(|m| (m["user_id"].clone(), m["status"].clone())).collect();
    assert_eq!(statuses, vec![(json!(a.id), json!("added")), (json!(b.id), json!("added")), (json!(c.id), json!("added"))]);

    let again = app.post(&format!("/api/v1/groups/{gid}/members/bulk"), &admin.token, body).await.expect(200);
    assert_eq!(again["added"], 0, "repeating a bulk add changes nothing");
    assert_eq!(again["existing"], 3);
    assert_eq!(again["memberships"][0]["status"], "exists");
    let group = app.get(&format!("/api/v1/groups/{gid}"), &admin.token).await.expect(200);
    assert_eq!(group["member_count"], 4);

    // A malformed item refuses the whole batch: the well-formed one before it is not added.
    let d = app.user("usr_004").await;
    let bad = json!({"members": [{"user_id": d.id}, {"user_id": a.id, "permissions": ["no spaces"]}]});
    let refused = app.post(&format!("/api/v1/groups/{gid}/members/bulk"), &admin.token, bad).await.error(422, "validation_failed");
    assert_eq!(refused["field"], "members[1].permissions");
    let group = app.get(&format!("/api/v1/groups/{gid}"), &admin.token).await.expect(200);
    assert_eq!(group["member_count"], 4);
});
