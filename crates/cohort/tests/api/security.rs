//! The ways around Cohort's own rules that were found by probing it as a hostile user would,
//! each tried again: a narrow key taking over its account, a SCIM key reaching into another
//! space, granting oneself a permission, claiming someone's invitation by changing one's
//! email, reading other users' private fields, and a stale write slipping past a bad
//! `If-Match`.

use crate::helpers::{TestApp, TestUser};
use crate::story;
use reqwest::Method;
use serde_json::{Value, json};

/// A key of `user` with `scopes`, minted by the site.
async fn key_for(app: &TestApp, user: &TestUser, scopes: &[&str]) -> String {
    let body = json!({"name": "k", "scopes": scopes, "user_id": user.id});
    app.post("/api/v1/api-keys", &app.admin_key, body).await.expect(201)["key"].as_str().unwrap().to_string()
}

async fn with_password(app: &TestApp, name: &str, password: &str) -> TestUser {
    let body = json!({"username": name, "email": format!("{name}@example.com"), "password": password});
    let id = app.post("/api/v1/users", &app.admin_key, body).await.expect(201)["id"].as_str().unwrap().to_string();
    let token = login(app, name, password).await.expect(200)["token"].as_str().unwrap().to_string();
    TestUser { id, token }
}

async fn login(app: &TestApp, name: &str, password: &str) -> crate::helpers::Res {
    app.call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": name, "password": password}))).await
}

story!(a_read_only_key_cannot_take_over_its_account, |app: TestApp| async move {
    let eve = with_password(&app, "eve", "first password 1").await;
    let read = key_for(&app, &eve, &["groups:read"]).await;
    let me = format!("/api/v1/users/{}", eve.id);
    for body in [
        json!({"password": "taken over 123", "current_password": "first password 1"}),
        json!({"email": "attacker@example.com"}),
        json!({"username": "mallory"}),
        json!({"full_name": "Mallory"}),
    ] {
        app.patch(&me, &read, body).await.error(403, "permission_denied");
    }
    login(&app, "eve", "taken over 123").await.error(401, "unauthenticated");
    let after = app.get(&me, &app.admin_key).await.expect(200);
    assert_eq!((after["username"].clone(), after["email"].clone()), (json!("eve"), json!("eve@example.com")), "nothing changed");

    // Nor may it record activity: that is a write.
    let g = app.group(&eve, "Mine", json!({})).await;
    app.post(&format!("/api/v1/groups/{g}/activity"), &read, json!({"type": "message"})).await.error(403, "permission_denied");
    app.post(&format!("/api/v1/groups/{g}/activity"), &eve.token, json!({"type": "message"})).await.expect(201);

    // With users:write the password changes only with the current one.
    let write = key_for(&app, &eve, &["users:write"]).await;
    app.patch(&me, &write, json!({"password": "second password 2"})).await.error(422, "validation_failed");
    app.patch(&me, &write, json!({"password": "second password 2", "current_password": "wrong one"})).await.error(403, "permission_denied");
    app.patch(&me, &write, json!({"password": "second password 2", "current_password": "first password 1"})).await.expect(200);
    login(&app, "eve", "first password 1").await.error(401, "unauthenticated");
    login(&app, "eve", "second password 2").await.expect(200);
    // Even then, the site's own fields stay the site's.
    app.patch(&me, &write, json!({"site_role": "admin"})).await.error(403, "permission_denied");
    app.patch(&me, &write, json!({"email_verified": true})).await.error(403, "permission_denied");
});

story!(a_key_cannot_set_its_owners_first_password, |app: TestApp| async move {
    // Without a password the account has no session to take; a narrow key must not make one.
    let bot = app.user("bot").await;
    let write = key_for(&app, &bot, &["users:write"]).await;
    app.patch(&format!("/api/v1/users/{}", bot.id), &write, json!({"password": "now i sign in"})).await.error(403, "permission_denied");
    login(&app, "bot", "now i sign in").await.error(401, "unauthenticated");
});

story!(a_demoted_administrators_keys_lose_their_power, |app: TestApp| async move {
    let root = app.site_admin("root").await;
    let key = key_for(&app, &root, &["admin"]).await;
    app.get("/api/v1/audit", &key).await.expect(200);
    app.patch(&format!("/api/v1/users/{}", root.id), &app.admin_key, json!({"site_role": "user"})).await.expect(200);
    app.get("/api/v1/audit", &key).await.error(403, "permission_denied");
    app.post("/api/v1/api-keys", &key, json!({"name": "again", "scopes": ["admin"]})).await.error(403, "permission_denied");
    // And nobody mints an admin key for a user who is not a site administrator.
    let plain = app.user("plain").await;
    let body = json!({"name": "k", "scopes": ["admin"], "user_id": plain.id});
    app.post("/api/v1/api-keys", &app.admin_key, body).await.error(422, "validation_failed");
});

fn scim_patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

async fn scim(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> crate::helpers::Res {
    app.call_with(method, path, Some(key), body, &[("Content-Type", "application/scim+json")]).await
}

story!(a_space_scim_key_reaches_only_its_spaces_users, |app: TestApp| async move {
    let mk_space = |name: &'static str, mods: Vec<String>| {
        let app = &app;
        async move {
            app.post("/api/v1/spaces", &app.admin_key, json!({"name": name, "moderators": mods})).await.expect(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let b_mod = app.user("bmod").await;
    let a = mk_space("A", vec![]).await;
    let b = mk_space("B", vec![b_mod.id.clone()]).await;
    let key =
        app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "idp", "scopes": ["scim"], "space_id": a})).await.expect(201)["key"]
            .as_str()
            .unwrap()
            .to_string();
    // One user whose memberships are all in A, one only in B, one in both, one in none.
    let (in_a, in_b, both, loose) = (app.user("in-a").await, app.user("in-b").await, app.user("both").await, app.user("loose").await);
    let ga = app.post("/api/v1/groups", &app.admin_key, json!({"name": "GA", "space_id": a})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gb = app.post("/api/v1/groups", &app.admin_key, json!({"name": "GB", "space_id": b})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add(&ga, &in_a, "member").await;
    app.add(&gb, &in_b, "member").await;
    app.add(&ga, &both, "member").await;
    app.add(&gb, &both, "member").await;
    app.add(&ga, &b_mod, "member").await;

    let off = scim_patch(json!([{"op": "replace", "path": "active", "value": false}]));
    let pw = scim_patch(json!([{"op": "replace", "path": "password", "value": "owned by a 123"}]));
    for outsider in [&b_mod, &in_b, &both, &loose] {
        let path = format!("/scim/v2/Users/{}", outsider.id);
        assert_eq!(scim(&app, Method::GET, &path, &key, None).await.status, 404, "{path}");
        assert_eq!(scim(&app, Method::PATCH, &path, &key, Some(off.clone())).await.status, 404);
        assert_eq!(scim(&app, Method::PATCH, &path, &key, Some(pw.clone())).await.status, 404);
        assert_eq!(scim(&app, Method::DELETE, &path, &key, None).await.status, 404);
    }
    // Nor can it pull them into its groups.
    for outsider in [&in_b, &loose] {
        let add = scim_patch(json!([{"op": "add", "path": "members", "value": [{"value": outsider.id}]}]));
        assert_eq!(scim(&app, Method::PATCH, &format!("/scim/v2/Groups/{ga}"), &key, Some(add)).await.status, 400);
    }
    for outsider in [&b_mod, &in_b, &both, &loose] {
        let u = app.get(&format!("/api/v1/users/{}", outsider.id), &app.admin_key).await.expect(200);
        assert_eq!(u["active"], true, "{} untouched", u["username"]);
    }
    let listed = scim(&app, Method::GET, "/scim/v2/Users?count=100", &key, None).await.expect(200);
    let names: Vec<&str> = listed["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["in-a"], "the list shows only the users the key reaches");

    // The users it reaches it manages: members only of its space, and those it provisioned.
    scim(&app, Method::PATCH, &format!("/scim/v2/Users/{}", in_a.id), &key, Some(off.clone())).await.expect(200);
    let made = scim(
        &app,
        Method::POST,
        "/scim/v2/Users",
        &key,
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "fresh"})),
    )
    .await
    .expect(201);
    let fresh = made["id"].as_str().unwrap().to_string();
    app.add(&gb, &TestUser { id: fresh.clone(), token: String::new() }, "member").await;
    scim(&app, Method::GET, &format!("/scim/v2/Users/{fresh}"), &key, None).await.expect(200);
});

story!(nobody_grants_themself_a_permission, |app: TestApp| async move {
    let eve = app.user("eve").await;
    // Undeclared: refused for anyone who may not declare it.
    app.post("/api/v1/groups", &eve.token, json!({"name": "x", "permissions": ["kb.admin"]})).await.error(422, "validation_failed");
    let check = json!({"user_id": eve.id, "permission": "kb.admin"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check.clone()).await.expect(200)["allowed"], false);
    // Declared, but not held: refused too, on create, PATCH, PUT and the permissions route.
    app.post("/api/v1/permissions", &app.admin_key, json!({"permission": "kb.admin", "description": "Administer the knowledge base"}))
        .await
        .expect(201);
    app.post("/api/v1/groups", &eve.token, json!({"name": "x", "permissions": ["kb.admin"]})).await.error(403, "permission_denied");
    let g = app.group(&eve, "Mine", json!({})).await;
    app.patch(&format!("/api/v1/groups/{g}"), &eve.token, json!({"permissions": ["kb.admin"]})).await.error(403, "permission_denied");
    app.put(&format!("/api/v1/groups/{g}"), &eve.token, json!({"name": "Mine", "permissions": ["kb.admin"]}))
        .await
        .error(403, "permission_denied");
    app.patch(&format!("/api/v1/groups/{g}/permissions"), &eve.token, json!({"add": ["kb.admin"]})).await.error(403, "permission_denied");
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check.clone()).await.expect(200)["allowed"], false);
    assert_eq!(app.get(&format!("/api/v1/groups/{g}"), &eve.token).await.expect(200)["permissions"], json!([]));

    // Someone who holds it may pass it on; the description comes from the catalogue.
    let holder = app.user("holder").await;
    let source = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Admins", "permissions": ["kb.admin"]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add(&source, &holder, "member").await;
    let theirs = app.group(&holder, "Theirs", json!({"permissions": ["kb.admin"]})).await;
    let perms = app.get(&format!("/api/v1/groups/{theirs}/permissions"), &holder.token).await.expect(200);
    assert_eq!(
        perms["permissions"],
        json!([{"permission": "kb.admin", "description": "Administer the knowledge base", "inherited_from": null}])
    );

    // A space moderator grants (and so declares) in their space; a member of the catalogue's
    // space-level list cannot touch the site's.
    let moderator = app.space_moderator("spacemod").await;
    app.group(&moderator, "Reports", json!({"permissions": ["reports.view"]})).await;
    let declared = app.get("/api/v1/spaces/spc_default/permissions", &eve.token).await.expect(200);
    assert!(declared["permissions"].as_array().unwrap().iter().any(|p| p["permission"] == "reports.view"), "{declared}");
    app.post("/api/v1/permissions", &moderator.token, json!({"permission": "site.thing"})).await.error(403, "permission_denied");
    app.post("/api/v1/spaces/spc_default/permissions", &eve.token, json!({"permission": "eve.thing"}))
        .await
        .error(403, "permission_denied");
    app.delete("/api/v1/permissions/kb.admin", &app.admin_key).await.error(409, "conflict");
});

story!(an_email_set_by_oneself_claims_no_invitation, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Private", json!({})).await;
    let sent =
        app.post(&format!("/api/v1/groups/{g}/invitations"), &owner.token, json!({"emails": ["victim@corp.test"]})).await.expect(201);
    let inv = sent["invitations"][0]["invitation_id"].as_str().unwrap().to_string();
    let link = sent["invitations"][0]["token"].as_str().unwrap().to_string();
    assert!(!link.is_empty(), "the sender gets the link's secret once");
    let listed = app.get(&format!("/api/v1/groups/{g}/invitations"), &owner.token).await.expect(200);
    assert!(listed["invitations"][0].get("token").is_none(), "and never again");

    let eve = app.user("eve").await;
    let me = format!("/api/v1/users/{}", eve.id);
    let changed = app.patch(&me, &eve.token, json!({"email": "victim@corp.test"})).await.expect(200);
    assert_eq!(changed["email_verified"], false, "an email one sets oneself is unverified");
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &eve.token, Value::Null).await.error(403, "permission_denied");
    assert_eq!(app.get(&format!("/api/v1/groups/{g}/members"), &owner.token).await.expect(200)["total"], 1);

    // Once confirmed (an administrator, or the token the application mailed), it accepts.
    let v = app.post(&format!("/api/v1/users/{}/email-verification", eve.id), &app.admin_key, Value::Null).await.expect(201);
    app.post(&format!("/api/v1/users/{}/email-verification", eve.id), &eve.token, Value::Null).await.error(403, "permission_denied");
    let token = v["token"].as_str().unwrap();
    let done = app.call(Method::POST, "/api/v1/auth/verify-email", None, Some(json!({"token": token}))).await.expect(200);
    assert_eq!(done["email_verified"], true);
    app.call(Method::POST, "/api/v1/auth/verify-email", None, Some(json!({"token": token}))).await.error(404, "not_found");
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &eve.token, Value::Null).await.expect(200);

    // The link works for whoever holds it; an invitation bound to a user is theirs alone.
    let bob = app.user("bob").await;
    let sent =
        app.post(&format!("/api/v1/groups/{g}/invitations"), &owner.token, json!({"emails": ["nobody@corp.test"]})).await.expect(201);
    let (inv, link) = (sent["invitations"][0]["invitation_id"].as_str().unwrap(), sent["invitations"][0]["token"].as_str().unwrap());
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &bob.token, json!({"token": "cin_wrong"})).await.error(403, "permission_denied");
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &bob.token, json!({"token": link})).await.expect(200);
    let carol = app.user("carol").await;
    let sent =
        app.post(&format!("/api/v1/groups/{g}/invitations"), &owner.token, json!({"emails": ["carol@example.com"]})).await.expect(201);
    assert_eq!(sent["invitations"][0]["user_id"], carol.id, "carol's confirmed email binds the invitation to her");
    let (inv, link) = (sent["invitations"][0]["invitation_id"].as_str().unwrap(), sent["invitations"][0]["token"].as_str().unwrap());
    let dan = app.user("dan").await;
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &dan.token, json!({"token": link})).await.error(403, "permission_denied");
    app.post(&format!("/api/v1/invitations/{inv}/accept"), &carol.token, Value::Null).await.expect(200);
    let _ = link;
});

story!(other_users_private_fields_stay_private, |app: TestApp| async move {
    let alice = app.user("alice").await;
    let root = app.site_admin("root").await;
    let listed = app.get("/api/v1/users?limit=100", &alice.token).await.expect(200);
    for u in listed["users"].as_array().unwrap() {
        let own = u["id"] == alice.id.as_str();
        for field in ["email", "site_role", "external_id", "email_verified"] {
            assert_eq!(u.get(field).is_some(), own, "{field} of {}", u["username"]);
        }
    }
    let seen = app.get(&format!("/api/v1/users/{}", root.id), &alice.token).await.expect(200);
    assert!(seen.get("site_role").is_none() && seen.get("email").is_none(), "{seen}");
    let filter = |f: &str| format!("/api/v1/users?filter={}", f.replace(' ', "%20").replace('\'', "%27").replace('=', "%3D"));
    app.get(&filter("site_role = 'admin'"), &alice.token).await.error(400, "invalid_filter");
    app.get(&filter("email ~ 'root'"), &alice.token).await.error(400, "invalid_filter");
    app.get("/api/v1/users?sort=email", &alice.token).await.error(400, "invalid_request");
    // The site sees everything, and the user themself does.
    let all = app.get(&filter("site_role = 'admin'"), &app.admin_key).await.expect(200);
    assert_eq!(all["users"][0]["id"], root.id);
    assert_eq!(app.get("/api/v1/users/me", &alice.token).await.expect(200)["email"], "alice@example.com");
    // Co-members do not see each other's emails either.
    let g = app.group(&alice, "Team", json!({})).await;
    app.add(&g, &root, "member").await;
    let members = app.get(&format!("/api/v1/groups/{g}/members"), &alice.token).await.expect(200);
    for m in members["members"].as_array().unwrap() {
        assert_eq!(m["user"].get("email").is_some(), m["user_id"] == alice.id.as_str(), "{m}");
    }
});

story!(a_malformed_if_match_is_refused, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Versioned", json!({})).await;
    let path = format!("/api/v1/groups/{g}");
    app.patch(&path, &owner.token, json!({"description": "v2"})).await.expect(200);
    // A stale write with an unreadable ETag must not slip through as if none were sent.
    let bad = reqwest::header::HeaderValue::from_bytes("\"1\u{e9}\"".as_bytes()).unwrap();
    let res = reqwest::Client::new()
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&owner.token)
        .header(reqwest::header::IF_MATCH, bad)
        .json(&json!({"description": "stale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.get(&path, &owner.token).await.expect(200)["description"], "v2");
    let res =
        app.call_with(Method::PATCH, &path, Some(&owner.token), Some(json!({"description": "stale"})), &[("If-Match", "\"1\"")]).await;
    assert_eq!(res.status, 412);
});

story!(a_space_bound_key_sees_only_its_space, |app: TestApp| async move {
    let space = |name: &'static str| {
        let app = &app;
        async move { app.post("/api/v1/spaces", &app.admin_key, json!({"name": name})).await.expect(201)["id"].as_str().unwrap().to_string() }
    };
    let (a, b) = (space("A").await, space("B").await);
    let bound = app
        .post("/api/v1/api-keys", &app.admin_key, json!({"name": "tenant a", "scopes": ["groups:write"], "space_id": a}))
        .await
        .expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let in_a = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Team A", "space_id": a})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let in_b = app
        .post("/api/v1/groups", &app.admin_key, json!({"name": "Team B", "space_id": b, "visibility": "public"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Its space's groups it manages, as the space's moderators do.
    app.patch(&format!("/api/v1/groups/{in_a}"), &bound, json!({"description": "ours"})).await.expect(200);
    let made = app.post("/api/v1/groups", &bound, json!({"name": "Made by A"})).await.expect(201);
    assert_eq!(made["space_id"], a, "a group made without a space lands in the key's");
    let listed = app.get("/api/v1/groups?limit=100", &bound).await.expect(200);
    let names: Vec<&str> = listed["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Team A") && !names.contains(&"Team B"), "{names:?}");
    assert_eq!(app.get(&format!("/api/v1/groups?space={b}"), &bound).await.expect(200)["total"], 0);

    // Nothing of another space exists for it, public or not.
    app.get(&format!("/api/v1/groups/{in_b}"), &bound).await.error(404, "not_found");
    app.patch(&format!("/api/v1/groups/{in_b}"), &bound, json!({"description": "theirs"})).await.error(404, "not_found");
    app.get(&format!("/api/v1/groups/{in_b}/members"), &bound).await.error(404, "not_found");
    app.post("/api/v1/groups", &bound, json!({"name": "Sneaky", "space_id": b})).await.error(422, "validation_failed");
    // And it has no site-wide power.
    app.post("/api/v1/spaces", &bound, json!({"name": "C"})).await.error(403, "permission_denied");
    app.post("/api/v1/permissions", &bound, json!({"permission": "x.y"})).await.error(403, "permission_denied");
    let someone = app.user("someone").await;
    app.post("/api/v1/check", &bound, json!({"user_id": someone.id, "permission": "x.y"})).await.error(403, "permission_denied");
});

story!(nobody_grants_collection_access_or_inherited_permissions_they_lack, |app: TestApp| async move {
    let eve = app.user("eve").await;
    let g = app.group(&eve, "Mine", json!({})).await;
    let path = format!("/api/v1/groups/{g}");
    // Access to every collection is the space's to give.
    app.patch(&path, &eve.token, json!({"access_all": true})).await.error(403, "permission_denied");
    app.post("/api/v1/groups", &eve.token, json!({"name": "All", "access_all": true})).await.error(403, "permission_denied");
    // A collection she has no access to she cannot hand out.
    app.patch(&path, &eve.token, json!({"collections": [{"id": "col_vault", "manage": true}]})).await.error(403, "permission_denied");
    let check = json!({"user_id": eve.id, "collection_id": "col_vault", "access": "read"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check).await.expect(200)["allowed"], false);
    // With read access (passwords hidden) she may pass on read, not edit, not the passwords.
    let readers = app
        .post(
            "/api/v1/groups",
            &app.admin_key,
            json!({"name": "Readers", "collections": [{"id": "col_vault", "read_only": true, "hide_passwords": true}]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add(&readers, &eve, "member").await;
    app.patch(&path, &eve.token, json!({"collections": [{"id": "col_vault", "read_only": true, "hide_passwords": true}]}))
        .await
        .expect(200);
    app.patch(&path, &eve.token, json!({"collections": [{"id": "col_vault", "read_only": false, "hide_passwords": true}]}))
        .await
        .error(403, "permission_denied");
    app.patch(&path, &eve.token, json!({"collections": [{"id": "col_vault", "read_only": true, "hide_passwords": false}]}))
        .await
        .error(403, "permission_denied");

    // A parent's permissions reach a subgroup that inherits them: turning that on is a grant.
    let parent = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Parent", "permissions": ["kb.admin"]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let child = app.post(&format!("/api/v1/groups/{parent}/subgroups"), &app.admin_key, json!({"name": "Child"})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add(&child, &eve, "owner").await;
    app.patch(&format!("/api/v1/groups/{child}"), &eve.token, json!({"inherit_permissions": true})).await.error(403, "permission_denied");
    let check = json!({"user_id": eve.id, "permission": "kb.admin"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check.clone()).await.expect(200)["allowed"], false);
    // Whoever holds them may.
    let holder = app.user("holder").await;
    app.add(&parent, &holder, "member").await;
    app.add(&child, &holder, "admin").await;
    app.patch(&format!("/api/v1/groups/{child}"), &holder.token, json!({"inherit_permissions": true})).await.expect(200);
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check).await.expect(200)["allowed"], true);
});

fn b64url_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | u32::from(val(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

story!(user_tokens_are_signed_and_forgeries_refused, |app: TestApp| async move {
    let alice = app.user("alice").await;
    let parts: Vec<&str> = alice.token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT, which the PocketBase SDK reads for its expiry");
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0])).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1])).unwrap();
    assert_eq!(claims["id"], alice.id);
    assert!(claims["exp"].as_i64().unwrap() > 0);
    app.get("/api/v1/users/me", &alice.token).await.expect(200);
    // Another user's id in the claims, or no signature at all, is nobody.
    let bob = app.user("bob").await;
    let bob_claims = bob.token.split('.').nth(1).unwrap();
    let forged = format!("{}.{bob_claims}.{}", parts[0], parts[2]);
    app.get("/api/v1/users/me", &forged).await.error(401, "unauthenticated");
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    app.get("/api/v1/users/me", &unsigned).await.error(401, "unauthenticated");
});

#[test]
fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("cohort-modes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort")).args(["migrate", "--data-dir"]).arg(&dir).output().expect("migrate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    assert_eq!(mode(&dir), 0o700, "data directory");
    for name in ["cohort.db", "cohort.db-wal", "cohort.db-shm"] {
        let p = dir.join(name);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
    assert!(dir.join("cohort.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
