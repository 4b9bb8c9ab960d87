//! Who holds a permission, and who belongs to a group: the reverse of a check, from the
//! index, agreeing with `/check` for every user, scoped to what the caller may read, a page
//! at a time.

use crate::helpers::TestApp;
use crate::story;
use serde_json::{Value, json};

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap().to_string()).collect()
}

story!(who_holds_a_permission_and_who_belongs_to_a_group, |app: TestApp| async move {
    let owner = app.user("who-owner").await;
    let (ann, bo, cy, dee) = (app.user("who-ann").await, app.user("who-bo").await, app.user("who-cy").await, app.user("who-dee").await);
    let org = app.group(&owner, "Who org", json!({"visibility": "private"})).await;
    app.grant(&org, &["who.read"]).await;
    let team = app
        .post(
            &format!("/api/v1/groups/{org}/subgroups"),
            &owner.token,
            json!({"name": "Who team", "inherit_permissions": true, "inherit_members": true, "visibility": "private"}),
        )
        .await;
    let team = team.expect(201)["id"].as_str().unwrap().to_string();
    let side = app.group(&owner, "Who side", json!({"visibility": "private"})).await;
    app.grant(&side, &["who.read"]).await;
    app.add(&org, &ann, "admin").await;
    app.add(&team, &bo, "member").await;
    app.add(&side, &cy, "member").await;
    app.post(
        &format!("/api/v1/groups/{side}/members"),
        &app.admin_key,
        json!({"user_id": dee.id, "role": "member", "status": "suspended"}),
    )
    .await;

    // Holders: through the group, the subgroup (inherited), the other group; not the suspended.
    let all = app.get("/api/v1/permissions/who.read/users", &app.admin_key).await.expect(200);
    let mut want = vec![owner.id.clone(), ann.id.clone(), bo.id.clone(), cy.id.clone()];
    want.sort();
    assert_eq!(ids(&all, "users"), want, "{all}");
    let via_of = |list: &Value, u: &str| -> Vec<String> {
        let found = list["users"].as_array().unwrap().iter().find(|x| x["user_id"] == u).unwrap();
        found["via"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect()
    };
    assert_eq!(via_of(&all, &bo.id), [team.as_str()]);
    // Each agrees with /check.
    for u in [&owner.id, &ann.id, &bo.id, &cy.id, &dee.id] {
        let d = app.post("/api/v1/check", &app.admin_key, json!({"user_id": u, "permission": "who.read"})).await.expect(200);
        assert_eq!(d["allowed"].as_bool().unwrap(), want.contains(u), "{u}: {d}");
    }

    // A page at a time.
    let first = app.get("/api/v1/permissions/who.read/users?limit=3", &app.admin_key).await.expect(200);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let rest = app.get(&format!("/api/v1/permissions/who.read/users?limit=3&cursor={cursor}"), &app.admin_key).await.expect(200);
    assert!(rest["next_cursor"].is_null());
    assert_eq!([ids(&first, "users"), ids(&rest, "users")].concat(), want);

    // A member of the side group sees the holders through it only.
    let seen = app.get("/api/v1/permissions/who.read/users", &cy.token).await.expect(200);
    let mut side_holders = vec![owner.id.clone(), cy.id.clone()];
    side_holders.sort();
    assert_eq!(ids(&seen, "users"), side_holders, "{seen}");
    assert_eq!(via_of(&seen, &owner.id), [side.as_str()], "the groups the caller cannot read are not named");
    app.get("/api/v1/permissions/no%20such/users", &app.admin_key).await.expect(422);
    app.get("/api/v1/permissions/who.read/users?limit=0", &app.admin_key).await.expect(422);

    // Effective members of the subgroup: its own and those who flow in from the parent; by
    // action, those whose role allows it.
    let members = app.get(&format!("/api/v1/groups/{team}/effective-members"), &app.admin_key).await.expect(200);
    let mut all_members = vec![owner.id.clone(), ann.id.clone(), bo.id.clone()];
    all_members.sort();
    assert_eq!(ids(&members, "members"), all_members, "{members}");
    let ann_row = members["members"].as_array().unwrap().iter().find(|m| m["user_id"] == ann.id.as_str()).unwrap().clone();
    assert_eq!((ann_row["role"].as_str(), ann_row["via"].as_str()), (Some("admin"), Some(org.as_str())));
    let managers = app.get(&format!("/api/v1/groups/{team}/effective-members?action=manage_members"), &bo.token).await.expect(200);
    let mut want_managers = vec![owner.id.clone(), ann.id.clone()];
    want_managers.sort();
    assert_eq!(ids(&managers, "members"), want_managers);
    app.get(&format!("/api/v1/groups/{team}/effective-members?action=fly"), &app.admin_key).await.expect(422);
    // Who has a collection: through a group's grant (at its level), a grant to the user.
    app.patch(&format!("/api/v1/groups/{side}"), &app.admin_key, json!({"collections": [{"id": "col_who", "read_only": true}]}))
        .await
        .expect(200);
    app.put(&format!("/api/v1/users/{}/collections/col_who", dee.id), &app.admin_key, json!({"space_id": "spc_default", "manage": true}))
        .await
        .expect(200);
    let readers = app.get("/api/v1/collections/col_who/users", &app.admin_key).await.expect(200);
    let mut want_readers = vec![owner.id.clone(), cy.id.clone(), dee.id.clone()];
    want_readers.sort();
    assert_eq!(ids(&readers, "users"), want_readers, "{readers}");
    assert_eq!(via_of(&readers, &dee.id), ["direct"]);
    let managers = app.get("/api/v1/collections/col_who/users?level=manage", &app.admin_key).await.expect(200);
    assert_eq!(ids(&managers, "users"), std::slice::from_ref(&dee.id));
    for u in [&owner.id, &cy.id, &dee.id, &bo.id] {
        let d = app
            .post("/api/v1/check", &app.admin_key, json!({"user_id": u, "collection_id": "col_who", "access": "read"}))
            .await
            .expect(200);
        assert_eq!(d["allowed"].as_bool().unwrap(), want_readers.contains(u), "{u}: {d}");
    }
    let seen = app.get("/api/v1/collections/col_who/users", &cy.token).await.expect(200);
    assert!(!ids(&seen, "users").contains(&dee.id), "a grant to another user is the site's to see: {seen}");
    app.get("/api/v1/collections/col_who/users?level=own", &app.admin_key).await.expect(422);

    // The group is private: an outsider is told nothing of it.
    app.get(&format!("/api/v1/groups/{team}/effective-members"), &cy.token).await.expect(404);
});

story!(a_check_explains_the_way_a_permission_is_held_or_what_is_missing, |app: TestApp| async move {
    let owner = app.user("why-owner").await;
    let (bo, dee, eve) = (app.user("why-bo").await, app.user("why-dee").await, app.user("why-eve").await);
    let org = app.group(&owner, "Why org", json!({})).await;
    app.grant(&org, &["why.read"]).await;
    let sub = |name: &str, inherit: bool| {
        let (app, token, org) = (&app, owner.token.clone(), org.clone());
        let body = json!({"name": name, "inherit_permissions": inherit});
        async move { app.post(&format!("/api/v1/groups/{org}/subgroups"), &token, body).await.expect(201)["id"].as_str().unwrap().to_string() }
    };
    let team = sub("Why team", true).await;
    let apart = sub("Why apart", false).await;
    app.add(&team, &bo, "member").await;
    app.add(&apart, &eve, "member").await;
    app.post(&format!("/api/v1/groups/{org}/members"), &app.admin_key, json!({"user_id": dee.id, "role": "member", "status": "suspended"}))
        .await;
    let why = |user: String| {
        let app = &app;
        async move {
            app.post("/api/v1/check", &app.admin_key, json!({"user_id": user, "permission": "why.read", "explain": true})).await.expect(200)
        }
    };

    let held = why(bo.id.clone()).await;
    assert_eq!(held["allowed"], true);
    assert_eq!(
        held["explain"]["paths"],
        json!([[{"kind": "membership", "group_id": team, "role": "member"}, {"kind": "inherits_permissions", "group_id": team}, {"kind": "grants", "group_id": org}]]),
        "{held}"
    );
    let cut = why(eve.id.clone()).await;
    assert_eq!((cut["allowed"].as_bool(), cut["explain"]["paths"].as_array().map(Vec::len)), (Some(false), Some(0)));
    let nearest = cut["explain"]["nearest"].as_str().unwrap();
    assert!(nearest.contains(&apart) && nearest.contains("does not inherit permissions"), "{nearest}");
    let suspended = why(dee.id.clone()).await;
    assert!(suspended["explain"]["nearest"].as_str().unwrap().contains("not active"), "{suspended}");
    let nobody = app.user("why-nobody").await;
    assert!(why(nobody.id.clone()).await["explain"]["nearest"].as_str().unwrap().contains(&org));

    // Asked by the user themself: a private group they cannot see is not named.
    let hidden = app.group(&owner, "Why hidden", json!({"visibility": "private"})).await;
    app.grant(&hidden, &["why.secret"]).await;
    let own = app.post("/api/v1/check", &nobody.token, json!({"user_id": nobody.id, "permission": "why.secret", "explain": true})).await;
    let own = own.expect(200);
    assert!(!own.to_string().contains(&hidden), "{own}");
    let site = app.post("/api/v1/check", &app.admin_key, json!({"user_id": nobody.id, "permission": "why.secret", "explain": true})).await;
    assert!(site.expect(200)["explain"]["nearest"].as_str().unwrap().contains(&hidden));

    // Only for one permission check.
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": bo.id, "group_id": team, "action": "read", "explain": true}))
        .await
        .expect(422);
    let batch = json!({"checks": [{"user_id": bo.id, "permission": "why.read", "explain": true}]});
    app.post("/api/v1/check/batch", &app.admin_key, batch).await.expect(422);
    // Asked about another user: the site's question, as any check is.
    app.post("/api/v1/check", &eve.token, json!({"user_id": bo.id, "permission": "why.read", "explain": true})).await.expect(403);
});

story!(an_access_review_lists_each_users_access_to_a_spaces_groups, |app: TestApp| async move {
    let moderator = app.user("review-mod").await;
    let space =
        app.post("/api/v1/spaces", &app.admin_key, json!({"name": crate::helpers::unique("Review"), "moderators": [moderator.id]})).await;
    let space = space.expect(201)["id"].as_str().unwrap().to_string();
    let owner = app.user("review-owner").await;
    let ann = app.user("review-ann").await;
    let make = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/groups", &app.admin_key, body).await.expect(201)["id"].as_str().unwrap().to_string() }
    };
    let org = make(
        json!({"name": "=Review org", "space_id": space, "permissions": ["rev.read"], "collections": [{"id": "col_rev", "manage": true}]}),
    )
    .await;
    let team = app
        .post(
            &format!("/api/v1/groups/{org}/subgroups"),
            &app.admin_key,
            json!({"name": "Review team", "inherit_members": true, "inherit_permissions": true}),
        )
        .await;
    let team = team.expect(201)["id"].as_str().unwrap().to_string();
    app.add(&org, &owner, "owner").await;
    app.add(&org, &ann, "member").await;
    let elsewhere = app.group(&owner, "Not in the space", json!({})).await;

    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/access-review?space={space}", app.base))
        .bearer_auth(&moderator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = res.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ann_rows: Vec<&Value> = lines.iter().filter(|l| l["user_id"] == ann.id.as_str()).collect();
    assert_eq!(ann_rows.len(), 2, "the group and the subgroup its members flow into: {lines:?}");
    let in_team = ann_rows.iter().find(|l| l["group_id"] == team.as_str()).unwrap();
    assert_eq!((in_team["role"].as_str(), in_team["via"].as_str()), (Some("member"), Some(org.as_str())));
    assert_eq!(in_team["permissions"], json!(["rev.read"]));
    assert!(in_team["since"].as_str().unwrap().ends_with('Z'));
    let in_org = ann_rows.iter().find(|l| l["group_id"] == org.as_str()).unwrap();
    assert_eq!(in_org["collections"], json!([{"id": "col_rev", "level": "manage"}]));
    assert!(!lines.iter().any(|l| l["group_id"] == elsewhere.as_str()), "only the space's groups");

    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/access-review?space={space}&format=csv", app.base))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("user_id,group_id,role,via,since,permissions,collections\n"), "{text}");
    assert!(text.contains(&format!("{},{org},member,{org},", ann.id)), "{text}");

    // Not for a member, nor a key of another space; a bad format is refused.
    app.get(&format!("/api/v1/access-review?space={space}"), &ann.token).await.expect(403);
    let bound =
        app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "b", "scopes": ["groups:read"], "space_id": "spc_default"})).await;
    let bound = bound.expect(201)["key"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/access-review?space={space}"), &bound).await.expect(404);
    app.get(&format!("/api/v1/access-review?space={space}&format=xls"), &app.admin_key).await.expect(422);
});
