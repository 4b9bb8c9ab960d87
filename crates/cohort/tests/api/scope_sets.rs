//! Scope sets: bundles of API scopes attached to groups, held by the groups' effective
//! members on the scoped admin API (seed 004), from the access index.

use crate::helpers::TestApp;
use crate::story;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

story!(a_group_s_scope_set_opens_the_scoped_admin_api_to_its_members, |app: TestApp| async move {
    let a = &app.admin_key;
    let lead = app.space_moderator("lead").await;
    let pat = app.user("pat").await;
    let writers = app.group(&lead, "Writers", json!({"visibility": "public"})).await;
    // Without a scope set a user's session may not use the scoped admin API at all.
    app.get("/api/admin/groups/", &pat.token).await.error(403, "permission_denied");
    let body = json!({"name": "Group writers", "description": "May manage groups through the admin API", "scopes": ["groups:write"]});
    let set = app.post("/api/v1/scope-sets", a, body).await.expect(201);
    let sid = id(&set);
    assert!(sid.starts_with("sst_"), "{set}");
    assert_eq!((set["scopes"].clone(), set["space_id"].clone()), (json!(["groups:write"]), Value::Null));
    let attached = app.put(&format!("/api/v1/groups/{writers}/scope-sets/{sid}"), a, json!({})).await.expect(200);
    assert_eq!((attached["attached"].clone(), attached["changed"].clone()), (json!(true), json!(true)));
    assert_eq!(app.put(&format!("/api/v1/groups/{writers}/scope-sets/{sid}"), a, json!({})).await.expect(200)["changed"], false);
    // The group record shows it, on the native API and the admin API alike.
    assert_eq!(app.get(&format!("/api/v1/groups/{writers}"), a).await.expect(200)["scope_sets"], json!([sid]));
    assert_eq!(app.get(&format!("/api/admin/groups/{writers}"), a).await.expect(200)["scope_sets"], json!([sid]));

    // A member holds groups:write (and so groups:read) on the next request.
    app.add(&writers, &pat, "member").await;
    let scopes = app.get(&format!("/api/v1/users/{}/scopes", pat.id), a).await.expect(200);
    assert_eq!(scopes["scopes"], json!([{"scope": "groups:write", "via": [{"group_id": writers, "scope_set_id": sid}]}]));
    assert_eq!(app.get(&format!("/api/v1/users/{}/scopes", pat.id), &pat.token).await.expect(200)["scopes"][0]["scope"], "groups:write");
    let made = app.post("/api/admin/groups/", &pat.token, json!({"name": "Made by pat"})).await.expect(201);
    app.get("/api/admin/groups/", &pat.token).await.expect(200);
    // What a user may do with the scope is still what the groups' rules say: pat owns what
    // pat made, and cannot touch the writers' group, which pat only belongs to.
    app.patch(&format!("/api/admin/groups/{}", id(&made)), &pat.token, json!({"description": "mine"})).await.expect(200);
    app.patch(&format!("/api/admin/groups/{writers}"), &pat.token, json!({"description": "x"})).await.error(403, "permission_denied");

    // A key of pat's minted with groups:read stays read-only, whatever the set gives.
    let key = app.post("/api/v1/api-keys", &pat.token, json!({"name": "reader", "scopes": ["groups:read"]})).await.expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/api/admin/groups/", &key).await.expect(200);
    app.post("/api/admin/groups/", &key, json!({"name": "Not by a reader"})).await.error(403, "permission_denied");

    // Out of the group, the next request is refused.
    app.delete(&format!("/api/v1/groups/{writers}/members/{}", pat.id), a).await.expect(200);
    app.get("/api/admin/groups/", &pat.token).await.error(403, "permission_denied");
    app.get("/api/admin/groups/", &key).await.error(403, "permission_denied");
    assert_eq!(app.get(&format!("/api/v1/users/{}/scopes", pat.id), a).await.expect(200)["scopes"], json!([]));

    // A subgroup that inherits its members gives its sets to its parent's members too.
    let sub =
        app.post("/api/v1/groups", &lead.token, json!({"name": "Writers junior", "parent_id": writers, "inherit_members": true})).await;
    let sub = id(&sub.expect(201));
    let junior = id(&app.post("/api/v1/scope-sets", a, json!({"name": "Junior", "scopes": ["users:read"]})).await.expect(201));
    app.put(&format!("/api/v1/groups/{sub}/scope-sets/{junior}"), a, json!({})).await.expect(200);
    app.add(&writers, &pat, "member").await;
    let via = app.get(&format!("/api/v1/users/{}/scopes", pat.id), a).await.expect(200);
    assert_eq!(
        via["scopes"],
        json!([
            {"scope": "groups:write", "via": [{"group_id": writers, "scope_set_id": sid}]},
            {"scope": "users:read", "via": [{"group_id": sub, "scope_set_id": junior}]}
        ])
    );
    app.post("/api/admin/groups/", &pat.token, json!({"name": "Made again"})).await.expect(201);

    // Narrowing the set narrows its members on the next request; deleting it takes it away.
    let v = app.patch(&format!("/api/v1/scope-sets/{sid}"), a, json!({"scopes": ["groups:read"]})).await.expect(200);
    assert_eq!((v["scopes"].clone(), v["version"].clone()), (json!(["groups:read"]), json!(2)));
    app.post("/api/admin/groups/", &pat.token, json!({"name": "Not any more"})).await.error(403, "permission_denied");
    app.get("/api/admin/groups/", &pat.token).await.expect(200);
    app.delete(&format!("/api/v1/scope-sets/{sid}"), a).await.expect(200);
    app.get("/api/admin/groups/", &pat.token).await.error(403, "permission_denied");
    assert_eq!(app.get(&format!("/api/v1/groups/{writers}"), a).await.expect(200)["scope_sets"], json!([]));
    app.get(&format!("/api/v1/scope-sets/{sid}"), a).await.error(404, "not_found");
});

story!(scope_sets_are_managed_at_their_level_and_bundle_only_group_and_user_scopes, |app: TestApp| async move {
    let a = &app.admin_key;
    let lead = app.space_moderator("lead").await;
    let nobody = app.user("nobody").await;
    // admin and scim are never handed out through groups; a set needs a scope.
    for scopes in [json!(["admin"]), json!(["scim"]), json!([]), json!(["groups:everything"])] {
        app.post("/api/v1/scope-sets", a, json!({"name": "Bad", "scopes": scopes})).await.error(422, "validation_failed");
    }
    // Site-level sets are the site administrators'; a space's sets its moderators' too.
    app.post("/api/v1/scope-sets", &lead.token, json!({"name": "Site set", "scopes": ["groups:read"]}))
        .await
        .error(403, "permission_denied");
    let body = json!({"name": "Space readers", "scopes": ["groups:read"], "space_id": "spc_default"});
    let space_set = app.post("/api/v1/scope-sets", &lead.token, body.clone()).await.expect(201);
    app.post("/api/v1/scope-sets", &nobody.token, json!({"name": "Mine", "scopes": ["groups:read"], "space_id": "spc_default"}))
        .await
        .error(403, "permission_denied");
    // Names are unique at their level, any case.
    let dup = json!({"name": "SPACE READERS", "scopes": ["users:read"], "space_id": "spc_default"});
    app.post("/api/v1/scope-sets", a, dup).await.error(409, "name_taken");
    app.post("/api/v1/scope-sets", a, json!({"name": "Space readers", "scopes": ["users:read"]})).await.expect(201);
    let listed = app.get("/api/v1/scope-sets?space_id=spc_default", &nobody.token).await.expect(200);
    assert_eq!(listed["scope_sets"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/v1/scope-sets", &nobody.token).await.expect(200)["scope_sets"][0]["space_id"], Value::Null);

    // A space's set attaches only to that space's groups; only its managers attach it.
    let other = app.post("/api/v1/spaces", a, json!({"name": "Elsewhere"})).await.expect(201);
    let far = app.post("/api/v1/groups", a, json!({"name": "Far", "space_id": id(&other)})).await.expect(201);
    let sid = id(&space_set);
    app.put(&format!("/api/v1/groups/{}/scope-sets/{sid}", id(&far)), a, json!({})).await.error(422, "validation_failed");
    // A space's sets go when the space does.
    let gone = app.post("/api/v1/scope-sets", a, json!({"name": "Far readers", "scopes": ["groups:read"], "space_id": id(&other)})).await;
    let gone = id(&gone.expect(201));
    app.delete(&format!("/api/v1/groups/{}", id(&far)), a).await.expect(200);
    app.delete(&format!("/api/v1/spaces/{}", id(&other)), a).await.expect(200);
    app.get(&format!("/api/v1/scope-sets/{gone}"), a).await.error(404, "not_found");
    let near = app.group(&lead, "Near", json!({})).await;
    app.put(&format!("/api/v1/groups/{near}/scope-sets/{sid}"), &nobody.token, json!({})).await.error(403, "permission_denied");
    app.put(&format!("/api/v1/groups/{near}/scope-sets/{sid}"), &lead.token, json!({})).await.expect(200);
    let detached = app.delete(&format!("/api/v1/groups/{near}/scope-sets/{sid}"), &lead.token).await.expect(200);
    assert_eq!((detached["attached"].clone(), detached["changed"].clone()), (json!(false), json!(true)));

    // The group record takes them too: a PATCH names the sets the group is to carry, with its
    // other fields, in one transaction.
    let renamed = app.patch(&format!("/api/v1/groups/{near}"), &lead.token, json!({"name": "Near and set", "scope_sets": [sid]})).await;
    let renamed = renamed.expect(200);
    assert_eq!((renamed["name"].clone(), renamed["scope_sets"].clone()), (json!("Near and set"), json!([sid])));
    // Its owner, who manages the group but not the set, may leave the sets as they are, not change them.
    let owner = app.user("owner").await;
    app.add(&near, &owner, "owner").await;
    app.patch(&format!("/api/v1/groups/{near}"), &owner.token, json!({"description": "mine", "scope_sets": [sid]})).await.expect(200);
    app.patch(&format!("/api/v1/groups/{near}"), &owner.token, json!({"name": "Not renamed", "scope_sets": []}))
        .await
        .error(403, "permission_denied");
    assert_eq!(app.get(&format!("/api/v1/groups/{near}"), a).await.expect(200)["name"], "Near and set", "a refused PATCH changes nothing");
    app.patch(&format!("/api/v1/groups/{near}"), a, json!({"scope_sets": ["sst_nope"]})).await.error(422, "validation_failed");
    let cleared = app.patch(&format!("/api/admin/groups/{near}"), a, json!({"scope_sets": []})).await.expect(200);
    assert_eq!(cleared["scope_sets"], json!([]));

    // A create and a replace take them too, on the native API, for a subgroup, and on seed 004;
    // a refused set makes no group, and a replace that leaves them out keeps them.
    let made = app.post("/api/v1/groups", &lead.token, json!({"name": "Made with set", "scope_sets": [sid]})).await.expect(201);
    assert_eq!(made["scope_sets"], json!([sid]));
    assert_eq!(app.get(&format!("/api/v1/groups/{}", id(&made)), a).await.expect(200)["scope_sets"], json!([sid]));
    let under = format!("/api/v1/groups/{}/subgroups", id(&made));
    let sub = app.post(&under, &lead.token, json!({"name": "Sub", "scope_sets": [sid]})).await.expect(201);
    assert_eq!(sub["scope_sets"], json!([sid]));
    let admin_made = app.post("/api/admin/groups/", a, json!({"name": "Admin made", "scope_sets": [sid]})).await.expect(201);
    assert_eq!(admin_made["scope_sets"], json!([sid]));
    app.post("/api/v1/groups", &nobody.token, json!({"name": "Not made", "scope_sets": [sid]})).await.error(403, "permission_denied");
    app.post("/api/v1/groups", a, json!({"name": "Not made", "scope_sets": ["sst_nope"]})).await.error(422, "validation_failed");
    let listed = app.get("/api/v1/groups?search=Not%20made", a).await.expect(200);
    assert_eq!(listed["groups"], json!([]), "a refused set makes no group");
    let replaced = app.put(&format!("/api/v1/groups/{}", id(&made)), &lead.token, json!({"name": "Replaced"})).await.expect(200);
    assert_eq!(replaced["scope_sets"], json!([sid]), "left out of a PUT: kept");
    let (native, admin) = (format!("/api/v1/groups/{}", id(&made)), format!("/api/admin/groups/{}", id(&made)));
    let replaced = app.put(&admin, a, json!({"name": "Replaced", "scope_sets": []})).await.expect(200);
    assert_eq!(replaced["scope_sets"], json!([]));
    let replaced = app.put(&native, &lead.token, json!({"name": "Again", "scope_sets": [sid]})).await.expect(200);
    assert_eq!(replaced["scope_sets"], json!([sid]));
    // A stale version is refused; every change is in the audit trail.
    app.call_with(
        reqwest::Method::PATCH,
        &format!("/api/v1/scope-sets/{sid}"),
        Some(a),
        Some(json!({"name": "Renamed"})),
        &[("If-Match", "\"9\"")],
    )
    .await
    .error(412, "precondition_failed");
    let audit = app.get(&format!("/api/v1/audit?group_id={near}"), a).await.expect(200);
    let actions: Vec<&str> = audit["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"group.scope_set_attached") && actions.contains(&"group.scope_set_detached"), "{actions:?}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn a_scope_set_change_on_one_instance_holds_on_the_next_request_to_another_on_postgres() {
    let url = crate::helpers::fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    let one = TestApp::spawn_on(&url).await;
    let two = TestApp::spawn_on(&url).await;
    let lead = one.space_moderator("lead").await;
    let pat = one.user("pat").await;
    let g = one.group(&lead, "Writers", json!({})).await;
    let set = id(&one.post("/api/v1/scope-sets", &one.admin_key, json!({"name": "W", "scopes": ["groups:write"]})).await.expect(201));
    one.put(&format!("/api/v1/groups/{g}/scope-sets/{set}"), &one.admin_key, json!({})).await.expect(200);
    for round in 0..5 {
        one.add(&g, &pat, "member").await;
        two.post("/api/admin/groups/", &pat.token, json!({"name": format!("By pat {round}")})).await.expect(201);
        one.delete(&format!("/api/v1/groups/{g}/members/{}", pat.id), &one.admin_key).await.expect(200);
        two.get("/api/admin/groups/", &pat.token).await.error(403, "permission_denied");
    }
    one.add(&g, &pat, "member").await;
    two.get("/api/admin/groups/", &pat.token).await.expect(200);
    one.patch(&format!("/api/v1/scope-sets/{set}"), &one.admin_key, json!({"scopes": ["users:read"]})).await.expect(200);
    two.get("/api/admin/groups/", &pat.token).await.error(403, "permission_denied");
}
