//! The questions: effective groups, permissions, collections and checks.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

story!(inheritance_and_checks, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let alice = app.user("alice").await;
    // The owner holds no collection access of their own: the site grants it to the groups.
    let collections = |g: &str, grants: serde_json::Value| {
        let app = &app;
        let path = format!("/api/v1/groups/{g}");
        async move { app.patch(&path, &app.admin_key, json!({"collections": grants})).await.expect(200) }
    };
    let org = app.group(&owner, "Org", json!({})).await;
    collections(&org, json!([{"id": "col_a", "read_only": true, "hide_passwords": true}])).await;
    app.grant(&org, &["kb.read"]).await;
    let team = app
        .post(
            &format!("/api/v1/groups/{org}/subgroups"),
            &owner.token,
            json!({"name": "Team", "inherit_members": true, "inherit_permissions": true}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    collections(&team, json!([{"id": "col_b", "manage": true}])).await;
    app.grant(&team, &["bot.use"]).await;
    let side = app.group(&owner, "Side", json!({"visibility": "private"})).await;
    collections(&side, json!([{"id": "col_a", "read_only": false}])).await;
    app.add(&org, &alice, "member").await;

    let direct = app.get(&format!("/api/v1/users/{}/groups", alice.id), &alice.token).await.expect(200);
    assert_eq!(direct["total"], 1);
    let effective = app.get(&format!("/api/v1/users/{}/groups?effective=true", alice.id), &alice.token).await.expect(200);
    assert_eq!(effective["total"], 2);
    let inherited = effective["groups"].as_array().unwrap().iter().find(|g| g["id"] == team.as_str()).unwrap().clone();
    assert_eq!(
        (inherited["direct"].clone(), inherited["via"].clone(), inherited["role"].clone()),
        (json!(false), json!(org), json!("member"))
    );

    let perms = app.get(&format!("/api/v1/users/{}/permissions", alice.id), &alice.token).await.expect(200);
    let kb = perms["permissions"].as_array().unwrap().iter().find(|p| p["permission"] == "kb.read").unwrap().clone();
    let mut via: Vec<String> = kb["via"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    via.sort();
    let mut want = vec![org.clone(), team.clone()];
    want.sort();
    assert_eq!(via, want);

    let check = |body: serde_json::Value| {
        let app = &app;
        async move { app.post("/api/v1/check", &app.admin_key, body).await.expect(200) }
    };
    assert_eq!(check(json!({"user_id": alice.id, "permission": "bot.use"})).await, json!({"allowed": true, "via": [team]}));
    assert_eq!(check(json!({"user_id": alice.id, "permission": "nope"})).await, json!({"allowed": false, "via": []}));
    assert_eq!(check(json!({"user_id": alice.id, "group_id": team, "action": "post"})).await["allowed"], true);
    assert_eq!(check(json!({"user_id": alice.id, "group_id": team, "action": "manage_members"})).await["allowed"], false);
    assert_eq!(check(json!({"user_id": alice.id, "group_id": side, "action": "read"})).await["allowed"], false);
    assert_eq!(check(json!({"user_id": owner.id, "group_id": side, "action": "delete"})).await, json!({"allowed": true, "via": [side]}));
    assert_eq!(
        check(json!({"user_id": alice.id, "collection_id": "col_b", "access": "manage"})).await,
        json!({"allowed": true, "via": [team]})
    );
    assert_eq!(check(json!({"user_id": alice.id, "collection_id": "col_a", "access": "edit"})).await["allowed"], false);

    // Joining Side raises col_a from read to edit; passwords stop being hidden.
    app.add(&side, &alice, "member").await;
    let cols = app.get(&format!("/api/v1/users/{}/collections", alice.id), &alice.token).await.expect(200);
    assert_eq!(
        cols["collections"],
        json!([
            {"collection_id": "col_a", "read_only": false, "hide_passwords": false, "manage": false, "via": [side]},
            {"collection_id": "col_b", "read_only": false, "hide_passwords": false, "manage": true, "via": [team]}
        ])
    );
    let batch = app
        .post(
            "/api/v1/check/batch",
            &app.admin_key,
            json!({"checks": [{"user_id": alice.id, "permission": "kb.read"}, {"user_id": alice.id, "collection_id": "col_a", "access": "edit"}, {"user_id": alice.id, "group_id": side, "action": "delete"}]}),
        )
        .await
        .expect(200);
    let allowed: Vec<bool> = batch["results"].as_array().unwrap().iter().map(|r| r["allowed"].as_bool().unwrap()).collect();
    assert_eq!(allowed, vec![true, true, false]);

    // Leaving updates every answer at once.
    app.delete(&format!("/api/v1/groups/{org}/members/{}", alice.id), &app.admin_key).await.expect(200);
    assert_eq!(check(json!({"user_id": alice.id, "permission": "bot.use"})).await["allowed"], false);
    // Others may not ask about alice; bad checks are 422.
    let bob = app.user("bob").await;
    app.post("/api/v1/check", &bob.token, json!({"user_id": alice.id, "permission": "kb.read"})).await.error(403, "permission_denied");
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": alice.id})).await.error(422, "validation_failed");
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": alice.id, "group_id": org, "action": "fly"}))
        .await
        .error(422, "validation_failed");
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": alice.id, "collection_id": "c", "access": "root"}))
        .await
        .error(422, "validation_failed");
    app.get("/api/v1/users/usr_nobody/permissions", &app.admin_key).await.error(404, "not_found");
});

story!(inherited_members_see_private_subgroups, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let carol = app.user("carol").await;
    let parent = app.group(&owner, "Parent", json!({"visibility": "private"})).await;
    let child = app
        .post(
            &format!("/api/v1/groups/{parent}/subgroups"),
            &owner.token,
            json!({"name": "Child", "inherit_members": true, "visibility": "private"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&format!("/api/v1/groups/{child}"), &carol.token).await.error(404, "not_found");
    app.add(&parent, &carol, "member").await;
    app.get(&format!("/api/v1/groups/{child}"), &carol.token).await.expect(200);
});

story!(expired_memberships_stop_counting_at_once, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    let temp = app.user("temp").await;
    let g = app.group(&owner, "Temp", json!({"permissions": ["temp.use"]})).await;
    let soon = cohort_core::time::rfc3339(cohort_core::time::now() + 4000);
    app.post(&format!("/api/v1/groups/{g}/members"), &owner.token, json!({"user_id": temp.id, "expires_at": soon})).await.expect(201);
    let check = json!({"user_id": temp.id, "permission": "temp.use"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check.clone()).await.expect(200)["allowed"], true);
    tokio::time::sleep(std::time::Duration::from_millis(4300)).await;
    assert_eq!(app.post("/api/v1/check", &app.admin_key, check).await.expect(200)["allowed"], false);
    assert_eq!(app.app.sweep_expired().await.unwrap(), 1);
    app.get(&format!("/api/v1/groups/{g}/members/{}", temp.id), &owner.token).await.error(404, "not_found");
    assert_eq!(app.get(&format!("/api/v1/groups/{g}"), &owner.token).await.expect(200)["member_count"], 1);
});

story!(posts_visibility_and_moderation, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let (a, b, out) = (app.user("a").await, app.user("b").await, app.user("out").await);
    let g = app.group(&owner, "Club", json!({"visibility": "private"})).await;
    app.add(&g, &a, "member").await;
    app.add(&g, &b, "moderator").await;
    let post = app.post(&format!("/api/v1/groups/{g}/posts"), &a.token, json!({"title": "Hi", "body": "first"})).await.expect(201);
    let pid = post["id"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/groups/{g}/posts"), &out.token).await.error(404, "not_found");
    app.post(&format!("/api/v1/groups/{g}/posts"), &out.token, json!({"body": "spam"})).await.error(404, "not_found");
    app.delete(&format!("/api/v1/posts/{pid}"), &out.token).await.error(404, "not_found");
    assert_eq!(app.get(&format!("/api/v1/groups/{g}/posts"), &a.token).await.expect(200)["total"], 1);
    let other = app.post(&format!("/api/v1/groups/{g}/posts"), &b.token, json!({"body": "mod post"})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/api/v1/posts/{other}"), &a.token).await.error(403, "permission_denied");
    app.delete(&format!("/api/v1/posts/{pid}"), &b.token).await.expect(200);
    app.post(&format!("/api/v1/groups/{g}/posts"), &a.token, json!({"body": "   "})).await.error(422, "validation_failed");
});

story!(checks_about_what_does_not_exist_say_so, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let dana = app.user("dana").await;
    let g = app.group(&owner, "Real", json!({})).await;
    app.grant(&g, &["real.use"]).await;
    let hidden = app.group(&owner, "Hidden", json!({"visibility": "private"})).await;
    app.add(&g, &dana, "member").await;
    let msg = |v: serde_json::Value| v["message"].as_str().unwrap_or_default().to_string();

    // A single check: 404 naming what is missing, never "denied".
    let e =
        app.post("/api/v1/check", &app.admin_key, json!({"user_id": "usr_typo", "permission": "real.use"})).await.error(404, "not_found");
    assert!(msg(e).contains("user"));
    let e = app
        .post("/api/v1/check", &app.admin_key, json!({"user_id": dana.id, "group_id": "grp_typo", "action": "read"}))
        .await
        .error(404, "not_found");
    assert!(msg(e).contains("group"));
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": "usr_typo", "collection_id": "c", "access": "read"}))
        .await
        .error(404, "not_found");
    // A user asking about themself cannot learn that a private group exists.
    app.post("/api/v1/check", &dana.token, json!({"user_id": dana.id, "group_id": hidden, "action": "read"})).await.error(404, "not_found");
    // The site may: the group exists, dana may not read it.
    let out =
        app.post("/api/v1/check", &app.admin_key, json!({"user_id": dana.id, "group_id": hidden, "action": "read"})).await.expect(200);
    assert_eq!(out, json!({"allowed": false, "via": []}));
    // An unknown permission is a plain "no": permissions are open-ended names.
    let out = app.post("/api/v1/check", &app.admin_key, json!({"user_id": dana.id, "permission": "never.declared"})).await.expect(200);
    assert_eq!(out, json!({"allowed": false, "via": []}));

    // A batch answers every item; the ones that cannot be answered carry their error in place.
    let batch = app
        .post(
            "/api/v1/check/batch",
            &app.admin_key,
            json!({"checks": [
                {"user_id": dana.id, "permission": "real.use"},
                {"user_id": "usr_typo", "permission": "real.use"},
                {"user_id": dana.id, "group_id": "grp_typo", "action": "post"},
                {"user_id": dana.id, "group_id": g, "action": "post"}
            ]}),
        )
        .await
        .expect(200);
    let r = batch["results"].as_array().unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0], json!({"allowed": true, "via": [g]}));
    assert_eq!((r[1]["allowed"].clone(), r[1]["error"].clone()), (json!(false), json!("not_found")));
    assert!(msg(r[1].clone()).contains("user"));
    assert_eq!(r[2]["error"], "not_found");
    assert!(msg(r[2].clone()).contains("group"));
    assert_eq!(r[3]["allowed"], true);
    assert!(r[3].get("error").is_none());

    // A user created a moment ago is known at once; a deleted one is unknown at once.
    let eve = app.user("eve").await;
    let out = app.post("/api/v1/check", &app.admin_key, json!({"user_id": eve.id, "permission": "real.use"})).await.expect(200);
    assert_eq!(out["allowed"], false);
    app.delete(&format!("/api/v1/users/{}", eve.id), &app.admin_key).await.expect(200);
    app.post("/api/v1/check", &app.admin_key, json!({"user_id": eve.id, "permission": "real.use"})).await.error(404, "not_found");
});

story!(the_index_kept_in_step_equals_one_rebuilt_from_the_tables, |app: TestApp| async move {
    use cohort_app::index::Index;
    // A fixed pseudo-random history of every kind of write that changes access.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut users: Vec<String> = Vec::new();
    for i in 0..6 {
        users.push(app.user(&format!("member{i}")).await.id);
    }
    let mut groups: Vec<String> = Vec::new();
    let mut joined: Vec<(String, String)> = Vec::new();
    let perms = ["p.a", "p.b", "p.c", "p.d"];
    let key = app.admin_key.clone();
    let compare = |step: usize| {
        let app = &app;
        async move {
            let now = cohort_core::time::now();
            let kept = app.app.index().read(|i| i.canonical(now));
            let fresh = Index::empty();
            fresh.build(app.app.db()).await.unwrap();
            assert_eq!(kept, fresh.read(|i| i.canonical(now)), "after step {step}");
        }
    };
    for step in 0..160 {
        let kind = if groups.is_empty() { 0 } else { next(10) };
        let g = if groups.is_empty() { String::new() } else { groups[next(groups.len())].clone() };
        let (g, u) = match (kind, joined.len()) {
            (4 | 5, n) if n > 0 => joined[next(n)].clone(),
            _ => (g, users[next(users.len())].clone()),
        };
        let flags = json!({"inherit_members": next(2) == 0, "inherit_permissions": next(2) == 0});
        let status = match kind {
            4 | 5 if joined.is_empty() => 0,
            0 | 1 => {
                let mut body = json!({"name": format!("g{step}"), "permissions": [perms[next(4)]]});
                body.as_object_mut().unwrap().extend(flags.as_object().unwrap().clone());
                let path = if kind == 1 { format!("/api/v1/groups/{g}/subgroups") } else { "/api/v1/groups".into() };
                let res = app.post(&path, &key, body).await;
                if res.status.as_u16() == 201 {
                    groups.push(res.body["id"].as_str().unwrap().to_string());
                }
                res.status.as_u16()
            }
            2 | 3 => {
                let role = ["member", "moderator", "admin", "owner"][next(4)];
                let mut body = json!({"user_id": u, "role": role});
                if next(3) == 0 {
                    body["permissions"] = json!([perms[next(4)]]);
                }
                if next(4) == 0 {
                    body["expires_at"] = json!("2099-01-01T00:00:00Z");
                }
                let status = app.post(&format!("/api/v1/groups/{g}/members"), &key, body).await.status.as_u16();
                if status == 201 {
                    joined.push((g.clone(), u.clone()));
                }
                status
            }
            4 => {
                let body = match next(3) {
                    0 => json!({"status": "suspended"}),
                    1 => json!({"status": "active"}),
                    _ => json!({"role": "moderator"}),
                };
                app.patch(&format!("/api/v1/groups/{g}/members/{u}"), &key, body).await.status.as_u16()
            }
            5 => {
                joined.retain(|x| *x != (g.clone(), u.clone()));
                app.delete(&format!("/api/v1/groups/{g}/members/{u}"), &key).await.status.as_u16()
            }
            6 => {
                let to = if next(3) == 0 { json!(null) } else { json!(groups[next(groups.len())]) };
                app.post(&format!("/api/v1/groups/{g}/move"), &key, json!({"parent_id": to})).await.status.as_u16()
            }
            7 => {
                let body = json!({"add": [perms[next(4)]], "remove": [perms[next(4)]]});
                app.patch(&format!("/api/v1/groups/{g}/permissions"), &key, body).await.status.as_u16()
            }
            8 => {
                let mut body = flags.clone();
                body["collections"] = json!([{"id": format!("col{}", next(3)), "read_only": next(2) == 0}]);
                body["access_all"] = json!(next(5) == 0);
                body["visibility"] = json!(if next(2) == 0 { "public" } else { "private" });
                app.patch(&format!("/api/v1/groups/{g}"), &key, body).await.status.as_u16()
            }
            _ => {
                if next(2) == 0 {
                    let res = app.delete(&format!("/api/v1/groups/{g}"), &key).await;
                    if res.status.as_u16() < 300 {
                        groups.retain(|x| *x != g);
                    }
                    res.status.as_u16()
                } else {
                    let res = app.delete(&format!("/api/v1/users/{u}"), &key).await;
                    if res.status.as_u16() < 300 {
                        users.retain(|x| *x != u);
                        users.push(app.user(&format!("later{step}")).await.id);
                    }
                    res.status.as_u16()
                }
            }
        };
        assert!(status < 500, "step {step} (kind {kind}) answered {status}");
        if step % 8 == 7 {
            compare(step).await;
        }
    }
    compare(160).await;
    // The history did reach deep: some group has children and some user inherits.
    assert!(app.app.index().read(|i| i.group_count()) >= 5);
});

story!(a_collection_granted_directly_merges_with_the_groups_grants, |app: TestApp| async move {
    let a = &app.admin_key;
    let lead = app.space_moderator("lead").await;
    let bo = app.user("bo").await;
    let outsider = app.user("outsider").await;
    let team = app.group(&lead, "Team", json!({})).await;
    app.patch(&format!("/api/v1/groups/{team}"), a, json!({"collections": [{"id": "col_x", "read_only": true, "hide_passwords": true}]}))
        .await
        .expect(200);
    app.add(&team, &bo, "member").await;
    let app = &app;
    let check = |body: serde_json::Value| async move { app.post("/api/v1/check", &app.admin_key, body).await.expect(200) };
    let cols = |u: &str| {
        let path = format!("/api/v1/users/{u}/collections");
        async move { app.get(&path, &app.admin_key).await.expect(200)["collections"].clone() }
    };
    // A direct grant above the group's wins, with `via` saying so.
    let put = |who: &str, col: &str| format!("/api/v1/users/{who}/collections/{col}");
    let granted = app.put(&put(&bo.id, "col_x"), &lead.token, json!({"space_id": "spc_default", "manage": true})).await;
    assert_eq!(granted.expect(200)["manage"], true);
    assert_eq!(
        cols(&bo.id).await,
        json!([{"collection_id": "col_x", "read_only": false, "hide_passwords": false, "manage": true, "via": ["direct"]}])
    );
    assert_eq!(
        check(json!({"user_id": bo.id, "collection_id": "col_x", "access": "manage"})).await,
        json!({"allowed": true, "via": ["direct"]})
    );
    assert_eq!(
        check(json!({"user_id": bo.id, "collection_id": "col_x", "access": "read"})).await,
        json!({"allowed": true, "via": [team, "direct"]})
    );
    // At the same level as the group's, both are named; passwords stay hidden only if both hide them.
    app.put(&put(&bo.id, "col_x"), &lead.token, json!({"space_id": "spc_default", "read_only": true, "hide_passwords": true}))
        .await
        .expect(200);
    assert_eq!(
        cols(&bo.id).await,
        json!([{"collection_id": "col_x", "read_only": true, "hide_passwords": true, "manage": false, "via": [team, "direct"]}])
    );
    app.put(&put(&bo.id, "col_x"), a, json!({"space_id": "spc_default", "read_only": true})).await.expect(200);
    assert_eq!(cols(&bo.id).await[0]["hide_passwords"], false);
    // A user in no group holds what is granted to them alone.
    app.put(&put(&outsider.id, "col_y"), a, json!({})).await.expect(200);
    assert_eq!(
        cols(&outsider.id).await,
        json!([{"collection_id": "col_y", "read_only": false, "hide_passwords": false, "manage": false, "via": ["direct"]}])
    );
    // A site grant is the site's: a space moderator may neither change nor revoke it, nor grant for the site.
    app.put(&put(&outsider.id, "col_y"), &lead.token, json!({"space_id": "spc_default"})).await.error(403, "permission_denied");
    app.delete(&put(&outsider.id, "col_y"), &lead.token).await.error(403, "permission_denied");
    app.put(&put(&outsider.id, "col_z"), &lead.token, json!({})).await.error(403, "permission_denied");
    app.put(&put(&outsider.id, "col_z"), &bo.token, json!({"space_id": "spc_default"})).await.error(403, "permission_denied");
    app.put(&put(&bo.id, &"x".repeat(301)), a, json!({})).await.error(422, "validation_failed");
    app.put(&put("usr_nobody", "col_z"), a, json!({})).await.error(404, "not_found");
    // Revoked, the group's grant is what is left; revoking again is 404.
    app.delete(&put(&bo.id, "col_x"), &lead.token).await.expect(200);
    assert_eq!(cols(&bo.id).await[0]["via"], json!([team]));
    app.delete(&put(&bo.id, "col_x"), &lead.token).await.error(404, "not_found");
    app.delete(&put(&bo.id, "col_x"), &bo.token).await.error(403, "permission_denied");
    // Each grant and revocation is audited.
    let audit = app.get("/api/v1/audit?action=user.collection_granted", a).await.expect(200);
    assert!(audit["events"].as_array().unwrap().len() >= 4, "{audit}");
});
