//! Membership rules: last owner, member limit, statuses, join and leave.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

story!(the_last_owner_cannot_leave_or_be_demoted, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Owned", json!({})).await;
    app.post(&format!("/api/v1/groups/{g}/leave"), &owner.token, json!(null)).await.error(409, "last_owner");
    app.patch(&format!("/api/v1/groups/{g}/members/{}", owner.id), &app.admin_key, json!({"role": "member"}))
        .await
        .error(409, "last_owner");
    app.patch(&format!("/api/v1/groups/{g}/members/{}", owner.id), &app.admin_key, json!({"status": "suspended"}))
        .await
        .error(409, "last_owner");
    app.delete(&format!("/api/v1/groups/{g}/members/{}", owner.id), &app.admin_key).await.error(409, "last_owner");
    app.delete(&format!("/api/v1/users/{}", owner.id), &app.admin_key).await.error(409, "last_owner");
    let second = app.user("second").await;
    app.add(&g, &second, "owner").await;
    let left = app.post(&format!("/api/v1/groups/{g}/leave"), &owner.token, json!(null)).await.expect(200);
    assert_eq!(left["left"], true);
    let group = app.get(&format!("/api/v1/groups/{g}"), &second.token).await.expect(200);
    assert_eq!(group["member_count"], 1);
});

story!(member_limit_and_statuses, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let (a, b) = (app.user("a").await, app.user("b").await);
    let g = app.group(&owner, "Small", json!({"settings": {"max_members": 2}})).await;
    app.add(&g, &a, "member").await;
    let full = app.post(&format!("/api/v1/groups/{g}/members"), &owner.token, json!({"user_id": b.id})).await.error(422, "group_full");
    assert_eq!(full["message"], "Group has reached maximum member limit");
    assert_eq!((full["max_members"].clone(), full["current_members"].clone()), (json!(2), json!(2)));
    app.post(&format!("/api/v1/groups/{g}/members"), &owner.token, json!({"user_id": a.id})).await.error(409, "member_exists");
    // A suspended member frees their seat.
    app.patch(&format!("/api/v1/groups/{g}/members/{}", a.id), &owner.token, json!({"status": "suspended"})).await.expect(200);
    app.post(&format!("/api/v1/groups/{g}/members"), &owner.token, json!({"user_id": b.id})).await.expect(201);
    app.patch(&format!("/api/v1/groups/{g}/members/{}", a.id), &owner.token, json!({"status": "active"})).await.error(422, "group_full");
    let suspended = app.get(&format!("/api/v1/groups/{g}/members?status=suspended"), &owner.token).await.expect(200);
    assert_eq!(suspended["total"], 1);
    let users = app.get(&format!("/api/v1/groups/{g}/users"), &owner.token).await.expect(200);
    assert_eq!(users["total"], 2, "users lists active members");
    assert!(users["users"][0]["username"].is_string());
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"settings": {"max_members": null}})).await.expect(200);
    app.patch(&format!("/api/v1/groups/{g}/members/{}", a.id), &owner.token, json!({"status": "active"})).await.expect(200);
    assert_eq!(app.get(&format!("/api/v1/groups/{g}"), &owner.token).await.expect(200)["member_count"], 3);
});

story!(joining_public_and_private_groups, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let joiner = app.user("joiner").await;
    let open = app.group(&owner, "Open", json!({"visibility": "public"})).await;
    let gated = app.group(&owner, "Gated", json!({"visibility": "public", "settings": {"require_approval": true}})).await;
    let secret = app.group(&owner, "Secret", json!({"visibility": "private", "settings": {"allow_join_requests": false}})).await;
    let askable = app.group(&owner, "Askable", json!({"visibility": "private"})).await;
    let joined = app.post(&format!("/api/v1/groups/{open}/join"), &joiner.token, json!(null)).await.expect(201);
    assert_eq!(joined["role"], "member");
    app.post(&format!("/api/v1/groups/{open}/join"), &joiner.token, json!(null)).await.error(409, "member_exists");
    let filed = app.post(&format!("/api/v1/groups/{gated}/join"), &joiner.token, json!(null)).await.expect(202);
    assert_eq!(filed["status"], "pending");
    app.post(&format!("/api/v1/groups/{gated}/join"), &joiner.token, json!(null)).await.error(409, "conflict");
    app.post(&format!("/api/v1/groups/{secret}/join"), &joiner.token, json!(null)).await.error(404, "not_found");
    app.get(&format!("/api/v1/groups/{askable}"), &joiner.token).await.error(404, "not_found");
    let asked = app.post(&format!("/api/v1/groups/{askable}/join"), &joiner.token, json!(null)).await.expect(202);
    assert_eq!(asked["status"], "pending", "a private group that accepts requests takes one from whoever knows its id");
    app.post(&format!("/api/v1/groups/{open}/leave"), &joiner.token, json!(null)).await.expect(200);
    app.post(&format!("/api/v1/groups/{open}/leave"), &joiner.token, json!(null)).await.error(404, "not_found");
});

story!(one_member_reads_one_membership, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let m = app.user("member").await;
    let g = app.group(&owner, "G", json!({})).await;
    app.add(&g, &m, "moderator").await;
    let res = app.get(&format!("/api/v1/groups/{g}/members/{}", m.id), &m.token).await;
    assert!(res.header("etag").is_some());
    let body = res.expect(200);
    assert_eq!(body["role"], "moderator");
    assert_eq!(body["user"]["username"], "member");
});

story!(effective_members_include_those_who_inherit, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let (ann, ben, cat, dan) = (app.user("ann").await, app.user("ben").await, app.user("cat").await, app.user("dan").await);
    let org = app.group(&owner, "Org", json!({})).await;
    let team = app
        .post(&format!("/api/v1/groups/{org}/subgroups"), &owner.token, json!({"name": "Team", "inherit_members": true}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let squad = app
        .post(&format!("/api/v1/groups/{team}/subgroups"), &owner.token, json!({"name": "Squad", "inherit_members": true}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add(&org, &ann, "member").await;
    app.add(&org, &dan, "member").await;
    app.add(&team, &ben, "moderator").await;
    app.add(&squad, &cat, "member").await;
    app.add(&squad, &ann, "admin").await;
    let names = |v: serde_json::Value| {
        let mut out: Vec<(String, String, String)> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["user"]["username"].as_str().unwrap().to_string(),
                    m["role"].as_str().unwrap().to_string(),
                    m["group_id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    // The creator of each subgroup is its owner, so owner is a direct member everywhere.
    let direct = app.get(&format!("/api/v1/groups/{squad}/members"), &owner.token).await.expect(200);
    assert_eq!(direct["total"], 3);
    let effective = app.get(&format!("/api/v1/groups/{squad}/members?effective=true"), &owner.token).await.expect(200);
    assert_eq!(effective["total"], 5, "{effective}");
    let row = |n: &str, r: &str, g: &str| (n.to_string(), r.to_string(), g.to_string());
    assert_eq!(
        names(effective),
        vec![
            row("ann", "admin", &squad),
            row("ben", "moderator", &team),
            row("cat", "member", &squad),
            row("dan", "member", &org),
            row("owner", "owner", &squad)
        ],
        "each user once, by the nearest membership"
    );
    // Members stop flowing where a group does not inherit them.
    app.patch(&format!("/api/v1/groups/{team}"), &owner.token, json!({"inherit_members": false})).await.expect(200);
    let cut = app.get(&format!("/api/v1/groups/{squad}/members?effective=true"), &owner.token).await.expect(200);
    assert_eq!(
        names(cut),
        vec![row("ann", "admin", &squad), row("ben", "moderator", &team), row("cat", "member", &squad), row("owner", "owner", &squad)],
        "dan, a member of org only, no longer"
    );
});

story!(joining_keeps_the_message_of_the_request, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let ann = app.user("ann").await;
    let g = app.group(&owner, "Asks", json!({"visibility": "public", "settings": {"require_approval": true}})).await;
    let filed = app.post(&format!("/api/v1/groups/{g}/join"), &ann.token, json!({"message": "let me in please"})).await.expect(202);
    assert_eq!(filed["status"], "pending");
    let queue = app.get(&format!("/api/v1/groups/{g}/join-requests"), &owner.token).await.expect(200);
    assert_eq!(queue["requests"][0]["message"], "let me in please");
});

story!(the_history_of_active_periods_counts_who_was_active_when, |app: TestApp| async move {
    // Each change takes the clock; the instants between them say who was active then.
    let tick = || async {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let t = cohort_core::time::now();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        t
    };
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Timeline", json!({})).await;
    let (a, b, c) = (app.user("a").await, app.user("b").await, app.user("c").await);
    let t0 = tick().await;
    app.add(&g, &a, "member").await;
    let t1 = tick().await;
    let member = |u: &crate::helpers::TestUser| format!("/api/v1/groups/{g}/members/{}", u.id);
    app.patch(&member(&a), &app.admin_key, json!({"status": "suspended"})).await.expect(200);
    let t2 = tick().await;
    let bulk = json!({"members": [{"user_id": b.id}, {"user_id": c.id, "status": "pending"}]});
    app.post(&format!("/api/v1/groups/{g}/members/bulk"), &app.admin_key, bulk).await.expect(200);
    let t3 = tick().await;
    app.patch(&member(&a), &app.admin_key, json!({"status": "active"})).await.expect(200);
    app.patch(&member(&c), &app.admin_key, json!({"status": "active"})).await.expect(200);
    let t4 = tick().await;
    app.delete(&member(&b), &app.admin_key).await.expect(200);
    app.patch(&member(&a), &app.admin_key, json!({"role": "admin"})).await.expect(200);
    let t5 = tick().await;
    let conn = app.app.db().read().await.unwrap();
    let mut seen = Vec::new();
    for t in [t0, t1, t2, t3, t4, t5] {
        seen.push(cohort_store::members::active_at(&conn, &g, t).await.unwrap());
    }
    // The owner throughout; a until suspended and again from t3; b from t2 until removed;
    // c (pending at first) from t3. A role change keeps a's period open.
    assert_eq!(seen, vec![1, 2, 1, 2, 4, 3]);
});

story!(a_bulk_adds_audit_event_states_shared_fields_once_and_each_difference, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Audited", json!({})).await;
    let (a, b, c) = (app.user("a").await, app.user("b").await, app.user("c").await);
    let bulk = json!({"members": [
        {"user_id": a.id},
        {"user_id": b.id, "role": "admin"},
        {"user_id": c.id, "status": "pending", "notify": true},
    ]});
    let added = app.post(&format!("/api/v1/groups/{g}/members/bulk"), &app.admin_key, bulk).await.expect(200);
    let id_of = |u: &str| {
        added["memberships"].as_array().unwrap().iter().find(|m| m["user_id"] == u).unwrap()["membership_id"].as_str().unwrap().to_string()
    };
    let events = app.get(&format!("/api/v1/audit?group_id={g}&action=member.added"), &app.admin_key).await.expect(200);
    let batch = events["events"].as_array().unwrap().iter().find(|e| e["target_type"] == "group").expect("the batch's event").clone();
    let after = &batch["after"];
    assert_eq!(
        (
            after["role"].clone(),
            after["status"].clone(),
            after["permissions"].clone(),
            after["expires_at"].clone(),
            after["notify"].clone()
        ),
        (json!("member"), json!("active"), json!([]), json!(null), json!(false)),
        "{after}"
    );
    assert_eq!(
        after["members"],
        json!([
            {"membership_id": id_of(&a.id), "user_id": a.id},
            {"membership_id": id_of(&b.id), "user_id": b.id, "role": "admin"},
            {"membership_id": id_of(&c.id), "user_id": c.id, "status": "pending", "notify": true},
        ])
    );
});

story!(a_bulk_add_in_any_order_reports_each_item_its_own_membership, |app: TestApp| async move {
    // The rows are written in user order; what the caller sees stays in theirs.
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Unordered", json!({})).await;
    let mut users = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        users.push(app.user(name).await);
    }
    let wanted =
        [(4, "admin", "active"), (2, "member", "pending"), (0, "moderator", "active"), (3, "member", "active"), (1, "admin", "pending")];
    let items: Vec<_> = wanted.iter().map(|&(i, role, status)| json!({"user_id": users[i].id, "role": role, "status": status})).collect();
    let added = app.post(&format!("/api/v1/groups/{g}/members/bulk"), &app.admin_key, json!({"members": items})).await.expect(200);
    let reported = added["memberships"].as_array().unwrap();
    assert_eq!(reported.len(), wanted.len());
    for (item, &(i, role, status)) in reported.iter().zip(&wanted) {
        assert_eq!(item["user_id"], json!(users[i].id), "in the request's order: {added}");
        let m = app.get(&format!("/api/v1/groups/{g}/members/{}", users[i].id), &app.admin_key).await.expect(200);
        assert_eq!(
            (m["membership_id"].clone(), m["role"].clone(), m["status"].clone()),
            (item["membership_id"].clone(), json!(role), json!(status)),
            "{m}"
        );
    }
    let events = app.get(&format!("/api/v1/audit?group_id={g}&action=member.added"), &app.admin_key).await.expect(200);
    let batch = events["events"].as_array().unwrap().iter().find(|e| e["target_type"] == "group").expect("the batch's event").clone();
    let listed: Vec<_> =
        batch["after"]["members"].as_array().unwrap().iter().map(|m| (m["user_id"].clone(), m["membership_id"].clone())).collect();
    let expected: Vec<_> = reported.iter().map(|m| (m["user_id"].clone(), m["membership_id"].clone())).collect();
    assert_eq!(listed, expected, "the audit lists the batch in the request's order");
});
