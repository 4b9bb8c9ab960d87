//! One request, one transaction: a dialect request that changes a group and its members
//! and is refused part-way leaves nothing changed, on every surface.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

story!(an_organization_group_with_an_unknown_user_is_not_made, |app: TestApp| async move {
    let org = id(&app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Org"})).await.expect(201));
    let alice = app.user("alice").await;
    let path = format!("/api/organizations/{org}/groups");
    let body = json!({"name": "Vault", "accessAll": false, "collections": [], "users": [alice.id, "usr_nonexistent"]});
    let res = app.post(&path, &app.admin_key, body.clone()).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(app.get(&path, &app.admin_key).await.expect(200)["data"], json!([]), "no group was left behind");
    // So the same request with good users works at once (no name_taken from a half-made one).
    let ok = app
        .post(&path, &app.admin_key, json!({"name": "Vault", "accessAll": false, "collections": [], "users": [alice.id]}))
        .await
        .expect(200);
    assert_eq!(ok["users"], json!([alice.id]));
});

story!(an_organization_put_refused_part_way_changes_nothing, |app: TestApp| async move {
    let org = id(&app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Org"})).await.expect(201));
    let alice = app.user("alice").await;
    let path = format!("/api/organizations/{org}/groups");
    let made = app
        .post(
            &path,
            &app.admin_key,
            json!({"name": "Vault", "accessAll": false, "collections": [{"id": "col_a", "readOnly": true}], "users": [alice.id]}),
        )
        .await
        .expect(200);
    let g = id(&made);
    let put = json!({"name": "Renamed", "accessAll": false, "collections": [{"id": "col_b", "manage": true}], "users": [alice.id, "usr_nonexistent"]});
    let res = app.put(&format!("{path}/{g}"), &app.admin_key, put).await;
    assert_eq!(res.status, 422, "{}", res.body);
    let after = app.get(&format!("{path}/{g}/details"), &app.admin_key).await.expect(200);
    assert_eq!(after["name"], "Vault");
    assert_eq!(after["collections"][0]["id"], "col_a");
    assert_eq!(app.get(&format!("{path}/{g}/users"), &app.admin_key).await.expect(200), json!([alice.id]));
});

story!(a_pocketbase_patch_refused_part_way_changes_nothing, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let (a, b, c) = (app.user("a").await, app.user("b").await, app.user("c").await);
    let g = app.group(&owner, "Crew", json!({"settings": {"max_members": 2}})).await;
    let record = format!("/api/collections/groups/records/{g}");
    // A moderator who is no user.
    let res = app.patch(&record, &owner.token, json!({"name": "Renamed", "moderators": [owner.id, "usr_nonexistent"]})).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body["data"]["moderators"].is_object(), "PocketBase names the field: {}", res.body);
    // More moderators than seats: refused whole, nobody promoted, nothing renamed.
    let res = app.patch(&record, &owner.token, json!({"name": "Renamed", "moderators": [owner.id, a.id, b.id, c.id]})).await;
    assert_eq!(res.status, 400, "{}", res.body);
    let now = app.get(&format!("/api/v1/groups/{g}"), &owner.token).await.expect(200);
    assert_eq!(now["name"], "Crew");
    assert_eq!(now["member_count"], 1);
    let members = app.get(&format!("/api/v1/groups/{g}/members"), &owner.token).await.expect(200);
    assert_eq!(members["total"], 1, "{members}");
    // A good one goes through whole.
    let ok = app.patch(&record, &owner.token, json!({"name": "Renamed", "moderators": [owner.id, a.id]})).await.expect(200);
    assert_eq!(ok["name"], "Renamed");
    let mut mods: Vec<String> = ok["moderators"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    mods.sort();
    let mut want = vec![owner.id.clone(), a.id.clone()];
    want.sort();
    assert_eq!(mods, want);
});

story!(a_pocketbase_create_naming_nobody_is_a_field_error, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let body = json!({"name": "Crew", "space": "spc_default", "moderators": ["usr_nonexistent"]});
    let res = app.post("/api/collections/groups/records", &owner.token, body).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body["data"]["moderators"].is_object(), "{}", res.body);
    let listed = app.get("/api/v1/groups?filter=name%3D%27Crew%27", &app.admin_key).await.expect(200);
    assert_eq!(listed["total"], 0, "no group was left behind");
});

story!(a_scim_group_with_members_it_cannot_add_is_not_made, |app: TestApp| async move {
    let space = id(&app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Directory"})).await.expect(201));
    let key = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "idp", "scopes": ["scim"], "space_id": space})).await.expect(201)
        ["key"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [{"value": "usr_nonexistent"}]});
    let scim = |method: Method, path: &str, body: Option<Value>| {
        let (app, key) = (&app, key.clone());
        let path = path.to_string();
        async move { app.call_with(method, &path, Some(&key), body, &[("Content-Type", "application/scim+json")]).await }
    };
    assert_eq!(scim(Method::POST, "/scim/v2/Groups", Some(body)).await.status, 400);
    let listed = scim(Method::GET, "/scim/v2/Groups", None).await.expect(200);
    assert_eq!(listed["totalResults"], 0);
    let ok = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"});
    scim(Method::POST, "/scim/v2/Groups", Some(ok)).await.expect(201);
});
