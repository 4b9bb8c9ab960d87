//! Seed 003's examples from "Group Roles" to "Error Responses", with the seed's own bodies.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

async fn engineering(app: &TestApp) -> (crate::helpers::TestUser, String) {
    let admin = app.site_admin("usr_admin").await;
    let body = json!({
        "name": "Engineering Team", "description": "Product engineering team", "type": "team", "visibility": "private",
        "settings": {"allow_join_requests": true, "require_approval": true, "max_members": 50},
        "permissions": ["bot.use", "kb.read", "reports.view"]
    });
    let g = app.post("/api/v1/groups", &admin.token, body).await.expect(201);
    (admin, g["group_id"].as_str().unwrap().to_string())
}

story!(roles_list_and_create_custom, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let m = app.user("member1").await;
    app.add(&gid, &m, "member").await;
    let roles = app.get(&format!("/api/v1/groups/{gid}/roles"), &admin.token).await.expect(200);
    let list = roles["roles"].as_array().unwrap();
    let owner = list.iter().find(|r| r["role_id"] == "owner").unwrap();
    assert_eq!(owner["name"], "Owner");
    assert_eq!(owner["permissions"], json!(["all"]));
    assert_eq!(owner["member_count"], 1);
    let adm = list.iter().find(|r| r["role_id"] == "admin").unwrap();
    assert_eq!(adm["name"], "Administrator");
    assert_eq!(adm["permissions"], json!(["manage_members", "manage_settings", "moderate", "read", "write"]));
    let member = list.iter().find(|r| r["role_id"] == "member").unwrap();
    assert_eq!(member["permissions"], json!(["read", "write"]));
    assert_eq!(member["member_count"], 1);

    let created = app
        .post(
            &format!("/api/v1/groups/{gid}/roles"),
            &admin.token,
            json!({"name": "Moderator", "permissions": ["read", "write", "moderate"], "description": "Can moderate content and manage posts"}),
        )
        .await
        .expect(201);
    assert_eq!(created["role_id"], "moderator");
    assert_eq!(created["permissions"], json!(["read", "write", "moderate"]));
    let lead = app
        .post(
            &format!("/api/v1/groups/{gid}/roles"),
            &admin.token,
            json!({"name": "Team Lead", "permissions": ["read", "write", "manage_members"]}),
        )
        .await
        .expect(201);
    assert_eq!(lead["role_id"], "team-lead");
    app.post(&format!("/api/v1/groups/{gid}/roles"), &admin.token, json!({"name": "team lead", "permissions": []}))
        .await
        .error(409, "conflict");
    app.post(&format!("/api/v1/groups/{gid}/roles"), &admin.token, json!({"name": "Owner", "permissions": ["read"]}))
        .await
        .error(409, "conflict");
    app.post(&format!("/api/v1/groups/{gid}/roles"), &admin.token, json!({"name": "X", "permissions": ["fly"]}))
        .await
        .error(422, "validation_failed");
    app.post(&format!("/api/v1/groups/{gid}/roles"), &m.token, json!({"name": "Mine", "permissions": ["read"]}))
        .await
        .error(403, "permission_denied");
    // A custom role in use cannot be deleted; built-in roles never can.
    let lead_user = app.user("lead").await;
    app.post(&format!("/api/v1/groups/{gid}/members"), &admin.token, json!({"user_id": lead_user.id, "role": "team-lead"}))
        .await
        .expect(201);
    app.delete(&format!("/api/v1/groups/{gid}/roles/team-lead"), &admin.token).await.error(409, "conflict");
    app.delete(&format!("/api/v1/groups/{gid}/roles/admin"), &admin.token).await.error(409, "conflict");
    let renamed =
        app.patch(&format!("/api/v1/groups/{gid}/roles/team-lead"), &admin.token, json!({"name": "Squad Lead"})).await.expect(200);
    assert_eq!(
        (renamed["role_id"].clone(), renamed["name"].clone(), renamed["member_count"].clone()),
        (json!("team-lead"), json!("Squad Lead"), json!(1))
    );
    // A team lead manages members: adds one with role member.
    let newbie = app.user("newbie").await;
    app.post(&format!("/api/v1/groups/{gid}/members"), &lead_user.token, json!({"user_id": newbie.id})).await.expect(201);
});

story!(join_requests_flow, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let newuser = app.user("newuser").await;
    let req = app
        .post(
            &format!("/api/v1/groups/{gid}/join-requests"),
            &newuser.token,
            json!({"message": "I would like to join the engineering team", "referred_by": admin.id}),
        )
        .await
        .expect(202);
    let rid = req["request_id"].as_str().unwrap().to_string();
    assert!(rid.starts_with("req_"));
    assert_eq!((req["group_id"].clone(), req["user_id"].clone(), req["status"].clone()), (json!(gid), json!(newuser.id), json!("pending")));
    assert!(req["submitted_at"].is_string());
    app.post(&format!("/api/v1/groups/{gid}/join-requests"), &newuser.token, json!({})).await.error(409, "conflict");

    let listed = app.get(&format!("/api/v1/groups/{gid}/join-requests"), &admin.token).await.expect(200);
    assert_eq!(listed["total"], 1);
    let entry = &listed["requests"][0];
    assert_eq!(entry["request_id"], rid);
    assert_eq!(entry["user"]["user_id"], newuser.id);
    assert_eq!(entry["user"]["username"], "newuser");
    assert_eq!(entry["user"]["full_name"], "NEWUSER");
    assert_eq!(entry["message"], "I would like to join the engineering team");
    app.get(&format!("/api/v1/groups/{gid}/join-requests"), &newuser.token).await.error(404, "not_found");

    let decided = app
        .patch(
            &format!("/api/v1/groups/{gid}/join-requests/{rid}"),
            &admin.token,
            json!({"action": "approve", "role": "member", "note": "Welcome to the team!"}),
        )
        .await
        .expect(200);
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["note"], "Welcome to the team!");
    assert_eq!(decided["membership"]["role"], "member");
    app.get(&format!("/api/v1/groups/{gid}"), &newuser.token).await.expect(200);
    app.patch(&format!("/api/v1/groups/{gid}/join-requests/{rid}"), &admin.token, json!({"action": "reject"})).await.error(409, "conflict");

    // Reject and cancel.
    let other = app.user("other").await;
    let r2 = app.post(&format!("/api/v1/groups/{gid}/join-requests"), &other.token, json!({})).await.expect(202)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(&format!("/api/v1/groups/{gid}/join-requests/{r2}"), &admin.token, json!({"action": "maybe"}))
        .await
        .error(422, "validation_failed");
    let rejected = app
        .patch(&format!("/api/v1/groups/{gid}/join-requests/{r2}"), &admin.token, json!({"action": "reject", "note": "Not now"}))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    let r3 = app.post(&format!("/api/v1/groups/{gid}/join-requests"), &other.token, json!({})).await.expect(202)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cancelled = app.delete(&format!("/api/v1/groups/{gid}/join-requests/{r3}"), &other.token).await.expect(200);
    assert_eq!(cancelled["status"], "cancelled");

    // Requests are refused when the group does not take them.
    app.patch(&format!("/api/v1/groups/{gid}"), &admin.token, json!({"settings": {"allow_join_requests": false}})).await.expect(200);
    let third = app.user("third").await;
    app.post(&format!("/api/v1/groups/{gid}/join-requests"), &third.token, json!({})).await.error(404, "not_found");
});

story!(approving_into_a_full_group_is_group_full, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Tiny", json!({"settings": {"max_members": 1, "require_approval": true}})).await;
    let asker = app.user("asker").await;
    let rid = app.post(&format!("/api/v1/groups/{g}/join-requests"), &asker.token, json!({})).await.expect(202)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let full = app
        .patch(&format!("/api/v1/groups/{g}/join-requests/{rid}"), &owner.token, json!({"action": "approve"}))
        .await
        .error(422, "group_full");
    assert_eq!((full["max_members"].clone(), full["current_members"].clone()), (json!(1), json!(1)));
    let still = app.get(&format!("/api/v1/groups/{g}/join-requests"), &owner.token).await.expect(200);
    assert_eq!(still["total"], 1, "a refused approval leaves the request pending");
});

story!(invitations_flow, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let u1 = app.user("user1").await;
    let sent = app
        .post(
            &format!("/api/v1/groups/{gid}/invitations"),
            &admin.token,
            json!({"emails": ["user1@example.com", "user2@example.com"], "role": "member", "message": "You're invited to join our team!", "expires_in_days": 7}),
        )
        .await
        .expect(201);
    assert_eq!((sent["sent"].clone(), sent["failed"].clone()), (json!(2), json!(0)));
    let first = &sent["invitations"][0];
    assert!(first["invitation_id"].as_str().unwrap().starts_with("inv_"));
    assert_eq!(first["email"], "user1@example.com");
    assert_eq!(first["status"], "sent");
    assert!(first["expires_at"].is_string());
    let inv1 = first["invitation_id"].as_str().unwrap().to_string();
    let inv2 = sent["invitations"][1]["invitation_id"].as_str().unwrap().to_string();

    let stranger = app.user("stranger").await;
    app.post(&format!("/api/v1/invitations/{inv1}/accept"), &stranger.token, json!(null)).await.error(403, "permission_denied");
    let accepted = app.post(&format!("/api/v1/invitations/{inv1}/accept"), &u1.token, json!(null)).await.expect(200);
    assert!(accepted["membership_id"].as_str().unwrap().starts_with("mem_"));
    assert_eq!(accepted["group_id"], gid);
    assert!(accepted["joined_at"].is_string());
    app.post(&format!("/api/v1/invitations/{inv1}/accept"), &u1.token, json!(null)).await.error(409, "conflict");

    let listed = app.get(&format!("/api/v1/groups/{gid}/invitations"), &admin.token).await.expect(200);
    assert_eq!(listed["total"], 2);
    let revoked = app.delete(&format!("/api/v1/groups/{gid}/invitations/{inv2}"), &admin.token).await.expect(200);
    assert_eq!(revoked["status"], "revoked");

    // Inviting a member is 409; an expired invitation is 410; declining closes one.
    app.post(&format!("/api/v1/groups/{gid}/invitations"), &admin.token, json!({"emails": ["user1@example.com"]}))
        .await
        .error(409, "member_exists");
    let u3 = app.user("user3").await;
    let now = app
        .post(&format!("/api/v1/groups/{gid}/invitations"), &admin.token, json!({"user_ids": [u3.id], "expires_in_days": 0}))
        .await
        .expect(201);
    let inv3 = now["invitations"][0]["invitation_id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/invitations/{inv3}/accept"), &u3.token, json!(null)).await.error(410, "invitation_expired");
    let later = app.post(&format!("/api/v1/groups/{gid}/invitations"), &admin.token, json!({"user_ids": [u3.id]})).await.expect(201);
    let inv4 = later["invitations"][0]["invitation_id"].as_str().unwrap().to_string();
    assert_eq!(app.post(&format!("/api/v1/invitations/{inv4}/decline"), &u3.token, json!(null)).await.expect(200)["status"], "declined");
    app.post(&format!("/api/v1/groups/{gid}/invitations"), &admin.token, json!({"emails": ["not-an-email"]}))
        .await
        .error(422, "validation_failed");
    app.post(&format!("/api/v1/groups/{gid}/invitations"), &admin.token, json!({})).await.error(422, "validation_failed");
});

story!(permissions_and_subgroups, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let sub = app
        .post(
            &format!("/api/v1/groups/{gid}/subgroups"),
            &admin.token,
            json!({"name": "Frontend Team", "inherit_permissions": true, "inherit_members": false}),
        )
        .await
        .expect(201);
    let sid = sub["group_id"].as_str().unwrap().to_string();
    assert_eq!(sub["parent_id"], gid);
    app.post(&format!("/api/v1/groups/{gid}/subgroups"), &admin.token, json!({"name": "Backend Team"})).await.expect(201);

    let subs = app.get(&format!("/api/v1/groups/{gid}/subgroups"), &admin.token).await.expect(200);
    assert_eq!(subs["total"], 2);
    for key in ["group_id", "name", "member_count", "created_at"] {
        assert!(subs["subgroups"][0].get(key).is_some(), "subgroups list {key}");
    }
    let deep = app.post(&format!("/api/v1/groups/{sid}/subgroups"), &admin.token, json!({"name": "Design System"})).await.expect(201);
    let recursive = app.get(&format!("/api/v1/groups/{gid}/subgroups?recursive=true"), &admin.token).await.expect(200);
    assert_eq!(recursive["total"], 3);

    app.patch(
        &format!("/api/v1/groups/{sid}/permissions"),
        &admin.token,
        json!({"add": ["reports.create", "analytics.view"], "remove": ["kb.write"]}),
    )
    .await
    .expect(200);
    let perms = app.get(&format!("/api/v1/groups/{sid}/permissions"), &admin.token).await.expect(200);
    let list = perms["permissions"].as_array().unwrap();
    let own = list.iter().find(|p| p["permission"] == "reports.create").unwrap();
    assert_eq!(own["inherited_from"], json!(null));
    let inherited = list.iter().find(|p| p["permission"] == "kb.read").unwrap();
    assert_eq!(inherited["inherited_from"], gid);
    assert!(inherited.get("description").is_some());
    assert_eq!(list.len(), 5);

    // Moves: no cycles, and deleting needs cascade.
    let deep_id = deep["id"].as_str().unwrap();
    app.post(&format!("/api/v1/groups/{gid}/move"), &admin.token, json!({"parent_id": deep_id})).await.error(422, "cycle");
    app.post(&format!("/api/v1/groups/{gid}/move"), &admin.token, json!({"parent_id": gid})).await.error(422, "cycle");
    let moved = app.post(&format!("/api/v1/groups/{deep_id}/move"), &admin.token, json!({"parent_id": null})).await.expect(200);
    assert_eq!(moved["parent_id"], json!(null));
    app.delete(&format!("/api/v1/groups/{gid}"), &admin.token).await.error(409, "has_subgroups");
    let gone = app.delete(&format!("/api/v1/groups/{gid}?cascade=true"), &admin.token).await.expect(200);
    assert_eq!(gone["deleted"], true);
    app.get(&format!("/api/v1/groups/{sid}"), &admin.token).await.error(404, "not_found");
    app.get(&format!("/api/v1/groups/{deep_id}"), &admin.token).await.expect(200);
});

story!(analytics_shape_and_numbers, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let m = app.user("poster").await;
    app.add(&gid, &m, "member").await;
    app.post(&format!("/api/v1/groups/{gid}/posts"), &m.token, json!({"body": "hello"})).await.expect(201);
    app.post(&format!("/api/v1/groups/{gid}/activity"), &m.token, json!({"type": "message"})).await.expect(201);
    app.post(&format!("/api/v1/groups/{gid}/activity"), &admin.token, json!({"type": "task_completed", "user_id": m.id})).await.expect(201);
    let asker = app.user("asker").await;
    let rid = app.post(&format!("/api/v1/groups/{gid}/join-requests"), &asker.token, json!({})).await.expect(202)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(&format!("/api/v1/groups/{gid}/join-requests/{rid}"), &admin.token, json!({"action": "approve"})).await.expect(200);
    let a = app.get(&format!("/api/v1/groups/{gid}/analytics?period=30d"), &admin.token).await.expect(200);
    assert_eq!(a["group_id"], gid);
    assert_eq!(a["period"], "30d");
    let an = &a["analytics"];
    assert_eq!(an["member_growth"]["current"], 3);
    assert_eq!(an["member_growth"]["last_month"], 0);
    assert!(an["member_growth"]["growth_rate"].is_number());
    assert_eq!(an["activity"]["messages_sent"], 2);
    assert_eq!(an["activity"]["tasks_completed"], 1);
    assert!(an["activity"]["avg_response_time"].is_number());
    assert_eq!(an["engagement"]["active_members"], 1);
    assert_eq!(an["engagement"]["engagement_rate"], 0.33);
    app.get(&format!("/api/v1/groups/{gid}/analytics?period=1y"), &admin.token).await.error(400, "invalid_request");
    app.get(&format!("/api/v1/groups/{gid}/analytics?period=7d"), &admin.token).await.expect(200);
});

story!(error_responses, |app: TestApp| async move {
    let (admin, gid) = engineering(&app).await;
    let m = app.user("m").await;
    app.add(&gid, &m, "member").await;
    let denied = app.patch(&format!("/api/v1/groups/{gid}"), &m.token, json!({"name": "Mine"})).await.error(403, "permission_denied");
    assert_eq!(denied["message"], "You don't have permission to manage this group");
    let exists =
        app.post(&format!("/api/v1/groups/{gid}/members"), &admin.token, json!({"user_id": m.id})).await.error(409, "member_exists");
    assert_eq!(exists["message"], "User is already a member of this group");
    app.patch(&format!("/api/v1/groups/{gid}"), &admin.token, json!({"settings": {"max_members": 2}})).await.expect(200);
    let x = app.user("x").await;
    let full = app.post(&format!("/api/v1/groups/{gid}/members"), &admin.token, json!({"user_id": x.id})).await.error(422, "group_full");
    assert_eq!(
        full,
        json!({"error": "group_full", "message": "Group has reached maximum member limit", "max_members": 2, "current_members": 2})
    );
});
