//! Who may do what: each role (owner, admin, moderator, member, outsider) against each group
//! action, allowed or denied.

use crate::helpers::{TestApp, TestUser};
use crate::story;
use serde_json::{Value, json};

struct World {
    group: String,
    target: TestUser,
}

/// A private group with one member of every role, a space moderator, and an outsider.
async fn world(app: &TestApp) -> (World, Vec<(&'static str, String)>) {
    let owner = app.user("owner").await;
    let (admin, moderator, member, outsider, spacemod, target) = (
        app.user("admin").await,
        app.user("moderator").await,
        app.user("member").await,
        app.user("outsider").await,
        app.user("spacemod").await,
        app.user("target").await,
    );
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Org", "moderators": [spacemod.id]})).await.expect(201);
    let space_id = space["id"].as_str().unwrap().to_string();
    let group = app.group(&owner, "Private", json!({"visibility": "private", "space_id": space_id})).await;
    app.add(&group, &admin, "admin").await;
    app.add(&group, &moderator, "moderator").await;
    app.add(&group, &member, "member").await;
    let site_admin = app.user("siteadmin").await;
    app.patch(&format!("/api/v1/users/{}", site_admin.id), &app.admin_key, json!({"site_role": "admin"})).await.expect(200);
    let read_key = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "ro", "scopes": ["groups:read"]})).await.expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let callers = vec![
        ("site_admin", site_admin.token),
        ("admin_key", app.admin_key.clone()),
        ("space_moderator", spacemod.token),
        ("owner", owner.token),
        ("admin", admin.token),
        ("moderator", moderator.token),
        ("member", member.token),
        ("outsider", outsider.token),
        ("read_key", read_key),
    ];
    (World { group, target }, callers)
}

/// Runs one action; answers the status.
async fn act(app: &TestApp, w: &World, action: &str, who: &str) -> u16 {
    let g = &w.group;
    let t = &w.target.id;
    let res = match action {
        "read" => app.get(&format!("/api/v1/groups/{g}"), who).await,
        "list_members" => app.get(&format!("/api/v1/groups/{g}/members"), who).await,
        "update" => app.patch(&format!("/api/v1/groups/{g}"), who, json!({"description": "changed"})).await,
        "add_member" => app.post(&format!("/api/v1/groups/{g}/members"), who, json!({"user_id": t, "role": "member"})).await,
        "add_admin" => app.post(&format!("/api/v1/groups/{g}/members"), who, json!({"user_id": t, "role": "admin"})).await,
        "add_owner" => app.post(&format!("/api/v1/groups/{g}/members"), who, json!({"user_id": t, "role": "owner"})).await,
        "delete" => app.delete(&format!("/api/v1/groups/{g}"), who).await,
        other => panic!("unknown action {other}"),
    };
    let status = res.status.as_u16();
    assert!(status < 500, "{action}: {}", res.body);
    if !res.status.is_success() {
        assert!(res.body["error"].is_string(), "errors carry the error body: {}", res.body);
    }
    // Undo adds so each row starts from the same state.
    if status == 201 {
        app.delete(&format!("/api/v1/groups/{g}/members/{t}"), &app.admin_key).await.expect(200);
    }
    status
}

const OK: u16 = 200;
const MADE: u16 = 201;
const DENIED: u16 = 403;
const HIDDEN: u16 = 404;

story!(role_table, |app: TestApp| async move {
    let (w, callers) = world(&app).await;
    // (action, [site_admin, admin_key, space_moderator, owner, admin, moderator, member, outsider, read_key])
    let table: Vec<(&str, [u16; 9])> = vec![
        ("read", [OK, OK, OK, OK, OK, OK, OK, HIDDEN, OK]),
        ("list_members", [OK, OK, OK, OK, OK, OK, OK, HIDDEN, OK]),
        ("update", [OK, OK, OK, OK, OK, DENIED, DENIED, HIDDEN, DENIED]),
        ("add_member", [MADE, MADE, MADE, MADE, MADE, MADE, DENIED, HIDDEN, DENIED]),
        ("add_admin", [MADE, MADE, MADE, MADE, MADE, DENIED, DENIED, HIDDEN, DENIED]),
        ("add_owner", [MADE, MADE, MADE, MADE, DENIED, DENIED, DENIED, HIDDEN, DENIED]),
    ];
    let mut failures: Vec<Value> = vec![];
    for (action, expected) in &table {
        for ((name, token), want) in callers.iter().zip(expected.iter()) {
            let got = act(&app, &w, action, token).await;
            if got != *want {
                failures.push(json!({"caller": name, "action": action, "expected": want, "got": got}));
            }
        }
    }
    assert!(failures.is_empty(), "authorization table mismatches: {failures:#?}");
    // Delete last: only site power, space moderation or ownership may.
    let expected_delete =
        [("member", DENIED), ("moderator", DENIED), ("admin", DENIED), ("outsider", HIDDEN), ("read_key", DENIED), ("owner", OK)];
    for (name, want) in expected_delete {
        let token = &callers.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(act(&app, &w, "delete", token).await, want, "delete by {name}");
    }
});

story!(private_groups_are_absent_from_outsiders_lists, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let outsider = app.user("outsider").await;
    app.group(&owner, "Secret", json!({"visibility": "private"})).await;
    let public = app.group(&owner, "Open", json!({"visibility": "public"})).await;
    let seen = app.get("/api/v1/groups", &outsider.token).await.expect(200);
    assert_eq!(seen["total"], 1);
    assert_eq!(seen["groups"][0]["id"], public);
    let members = app.get(&format!("/api/v1/groups/{public}/members"), &outsider.token).await.expect(200);
    assert_eq!(members["total"], 1, "public member lists are readable by any caller");
    let all = app.get("/api/v1/groups", &app.admin_key).await.expect(200);
    assert_eq!(all["total"], 2);
});

story!(nobody_grants_what_they_do_not_hold, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let admin = app.user("admin").await;
    let target = app.user("target").await;
    let g = app.group(&owner, "G", json!({})).await;
    app.add(&g, &admin, "admin").await;
    app.post(&format!("/api/v1/groups/{g}/members"), &admin.token, json!({"user_id": target.id, "permissions": ["delete"]}))
        .await
        .error(403, "permission_denied");
    app.post(&format!("/api/v1/groups/{g}/members"), &admin.token, json!({"user_id": target.id, "permissions": ["read", "write"]}))
        .await
        .expect(201);
    app.patch(&format!("/api/v1/groups/{g}/members/{}", target.id), &admin.token, json!({"role": "owner"}))
        .await
        .error(403, "permission_denied");
    app.patch(&format!("/api/v1/groups/{g}/members/{}", owner.id), &admin.token, json!({"role": "member"}))
        .await
        .error(403, "permission_denied");
});

story!(scoped_keys_are_limited_to_their_scopes, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "G", json!({"visibility": "public"})).await;
    let own_read = app.post("/api/v1/api-keys", &owner.token, json!({"name": "mine", "scopes": ["groups:read"]})).await.expect(201);
    let key = own_read["key"].as_str().unwrap();
    assert_eq!(own_read["user_id"], owner.id, "a user's key acts as the user");
    app.get(&format!("/api/v1/groups/{g}"), key).await.expect(200);
    app.patch(&format!("/api/v1/groups/{g}"), key, json!({"description": "x"})).await.error(403, "permission_denied");
    app.post("/api/v1/groups", key, json!({"name": "Nope"})).await.error(403, "permission_denied");
    app.post("/api/v1/api-keys", &owner.token, json!({"name": "up", "scopes": ["admin"]})).await.error(403, "permission_denied");
    let users_only = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "u", "scopes": ["users:read"]})).await.expect(201);
    app.get("/api/v1/groups", users_only["key"].as_str().unwrap()).await.error(403, "permission_denied");
});
