//! Sorting and cursor pages.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;
use std::collections::HashSet;

story!(sorting_is_whitelisted_and_stable, |app: TestApp| async move {
    for name in ["delta", "Alpha", "charlie", "bravo"] {
        app.post("/api/v1/groups", &app.admin_key, json!({"name": name, "visibility": "public"})).await.expect(201);
    }
    let names =
        |v: serde_json::Value| v["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(app.get("/api/v1/groups?sort=name", &app.admin_key).await.expect(200)), ["Alpha", "bravo", "charlie", "delta"]);
    assert_eq!(names(app.get("/api/v1/groups?sort=-name", &app.admin_key).await.expect(200)), ["delta", "charlie", "bravo", "Alpha"]);
    assert_eq!(
        names(app.get("/api/v1/groups?sort_by=created&sort_order=desc", &app.admin_key).await.expect(200)),
        ["bravo", "charlie", "Alpha", "delta"]
    );
    assert_eq!(names(app.get("/api/v1/groups?sort=-created_at,name", &app.admin_key).await.expect(200))[0], "bravo");
    app.get("/api/v1/groups?sort=password_hash", &app.admin_key).await.error(400, "invalid_request");
    app.get("/api/v1/groups?sort=name;drop", &app.admin_key).await.error(400, "invalid_request");
    app.get("/api/v1/groups?sort_by=name&sort_order=up", &app.admin_key).await.error(400, "invalid_request");
});

story!(cursor_pages_survive_inserts_and_deletes, |app: TestApp| async move {
    let mut made = Vec::new();
    for i in 0..25 {
        let g = app.post("/api/v1/groups", &app.admin_key, json!({"name": format!("g{i:02}")})).await.expect(201);
        made.push(g["id"].as_str().unwrap().to_string());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut deleted = HashSet::new();
    for round in 0.. {
        let page = app.get(&format!("/api/v1/groups?sort=-created_at&limit=10&cursor={cursor}"), &app.admin_key).await.expect(200);
        seen.extend(page["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_string()));
        // Between pages: one new group (newer than every page) and one unseen group gone.
        app.post("/api/v1/groups", &app.admin_key, json!({"name": format!("late{round}")})).await.expect(201);
        if let Some(victim) = made.iter().find(|id| !seen.contains(id) && !deleted.contains(*id)).cloned() {
            app.delete(&format!("/api/v1/groups/{victim}"), &app.admin_key).await.expect(200);
            deleted.insert(victim);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row twice");
    let expected: Vec<String> = made.iter().rev().filter(|id| !deleted.contains(*id)).cloned().collect();
    assert_eq!(seen, expected, "every row that stayed, once, newest first");
    app.get("/api/v1/groups?cursor=nonsense", &app.admin_key).await.error(400, "invalid_request");
    let first = app.get("/api/v1/groups?sort=name&limit=2&cursor=", &app.admin_key).await.expect(200);
    let c = first["next_cursor"].as_str().unwrap();
    app.get(&format!("/api/v1/groups?sort=-name&limit=2&cursor={c}"), &app.admin_key).await.error(400, "invalid_request");
});

story!(expand_related_records, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let m = app.user("member").await;
    let parent = app.group(&owner, "Parent", json!({"visibility": "public"})).await;
    let child = app
        .post(&format!("/api/v1/groups/{parent}/subgroups"), &owner.token, json!({"name": "Child", "visibility": "public"}))
        .await
        .expect(201);
    let child = child["id"].as_str().unwrap().to_string();
    app.add(&child, &m, "member").await;
    let one = app.get(&format!("/api/v1/groups/{child}?expand=users,members,parent,space"), &owner.token).await.expect(200);
    let e = &one["expand"];
    assert_eq!(e["users"].as_array().unwrap().len(), 2);
    assert_eq!(e["members"].as_array().unwrap().len(), 2);
    assert!(e["members"][0]["user"]["username"].is_string());
    assert_eq!(e["parent"]["id"], parent);
    assert_eq!(e["space"]["name"], "default");
    let listed = app.get("/api/v1/groups?expands=parent&sort=name", &owner.token).await.expect(200);
    let child_row = listed["groups"].as_array().unwrap().iter().find(|g| g["id"] == child.as_str()).unwrap().clone();
    assert_eq!(child_row["expand"]["parent"]["name"], "Parent");
    let parent_row = listed["groups"].as_array().unwrap().iter().find(|g| g["id"] == parent.as_str()).unwrap().clone();
    assert_eq!(parent_row["expand"]["parent"], serde_json::Value::Null);
    let hydrated = app.get(&format!("/api/v1/groups/{child}?hydrate=true"), &owner.token).await.expect(200);
    assert_eq!(hydrated["expand"]["users"].as_array().unwrap().len(), 2);
    assert!(app.get(&format!("/api/v1/groups/{child}"), &owner.token).await.expect(200).get("expand").is_none());
    app.get("/api/v1/groups?expand=passwords", &owner.token).await.error(400, "invalid_request");
});

story!(filter_language_on_group_lists, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    let m = app.user("member").await;
    let eng = app.group(&owner, "Engineering", json!({"type": "team", "visibility": "public", "permissions": ["kb.read"]})).await;
    app.group(&owner, "Sales", json!({"type": "department", "visibility": "public", "description": "Revenue \"team\""})).await;
    app.group(&owner, "Secret Eng", json!({"type": "team", "visibility": "private", "settings": {"max_members": 5}})).await;
    app.add(&eng, &m, "member").await;
    let names = |v: serde_json::Value| {
        let mut n: Vec<String> = v["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect();
        n.sort();
        n
    };
    let q = |f: &str| format!("/api/v1/groups?filter={}", urlencode(f));
    assert_eq!(names(app.get(&q("type='team' && visibility=\"public\""), &owner.token).await.expect(200)), ["Engineering"]);
    assert_eq!(names(app.get(&q("name ~ 'eng'"), &owner.token).await.expect(200)), ["Engineering", "Secret Eng"]);
    assert_eq!(names(app.get(&q("permissions ?= 'kb.read'"), &owner.token).await.expect(200)), ["Engineering"]);
    assert_eq!(
        names(app.get(&q("member_count >= 2 || settings.max_members = 5"), &owner.token).await.expect(200)),
        ["Engineering", "Secret Eng"]
    );
    assert_eq!(names(app.get(&q("description ~ \"\\\"team\\\"\""), &owner.token).await.expect(200)), ["Sales"]);
    assert_eq!(names(app.get(&q("isPublic = false && created >= @todayStart"), &owner.token).await.expect(200)), ["Secret Eng"]);
    assert_eq!(names(app.get(&q("name = \"x' OR '1'='1\""), &owner.token).await.expect(200)), Vec::<String>::new());
    // An outsider's filter never reaches private groups.
    assert_eq!(names(app.get(&q("name ~ 'eng'"), &m.token).await.expect(200)), ["Engineering"]);
    let bad = app.get(&q("type = "), &owner.token).await.error(400, "invalid_filter");
    assert!(bad["position"].is_number());
    app.get(&q("password_hash = 'x'"), &owner.token).await.error(400, "invalid_filter");
    app.get(&q(&"(".repeat(40)), &owner.token).await.error(400, "invalid_filter");
    let meta = app.get("/api/v1/groups/filters", &owner.token).await.expect(200);
    assert!(meta["fields"].as_array().unwrap().iter().any(|f| f["name"] == "name" && f["type"] == "text"));
    assert!(meta["sort_keys"].as_array().unwrap().iter().any(|k| k == "created_at"));
    assert!(meta["operators"].as_array().unwrap().iter().any(|o| o == "?="));
    // The scoped admin API asks a user for groups:read through a scope set of one of their groups.
    app.get("/api/admin/groups/filters", &owner.token).await.error(403, "permission_denied");
    let set = app.post("/api/v1/scope-sets", &app.admin_key, json!({"name": "Readers", "scopes": ["groups:read"]})).await.expect(201);
    app.put(&format!("/api/v1/groups/{eng}/scope-sets/{}", set["id"].as_str().unwrap()), &app.admin_key, json!({})).await.expect(200);
    let admin_meta = app.get("/api/admin/groups/filters", &owner.token).await.expect(200);
    assert_eq!(admin_meta, meta);
    let admin = app.get(&format!("/api/admin/groups/?filter={}", urlencode("type='department'")), &owner.token).await.expect(200);
    assert_eq!(admin["items"].as_array().unwrap().len(), 1);
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

story!(search_follows_renames_and_short_terms, |app: TestApp| async move {
    let g = app
        .post(
            "/api/v1/groups",
            &app.admin_key,
            json!({"name": "Größe Übung", "description": "Quote \"x\" and 100% fun_stuff", "visibility": "public"}),
        )
        .await
        .expect(201);
    let id = g["id"].as_str().unwrap().to_string();
    app.post("/api/v1/groups", &app.admin_key, json!({"name": "Other"})).await.expect(201);
    let hits = |term: &str| {
        let app = &app;
        let url = format!("/api/v1/groups?search={}", urlencode(term));
        async move { app.get(&url, &app.admin_key).await.expect(200)["total"].as_i64().unwrap() }
    };
    assert_eq!(hits("übung").await, 1, "case-insensitive beyond ASCII in names");
    assert_eq!(hits("QUOTE \"X\"").await, 1);
    assert_eq!(hits("100%").await, 1);
    assert_eq!(hits("10_").await, 0, "wildcards are literal");
    assert_eq!(hits("fun_").await, 1);
    assert_eq!(hits("th").await, 1, "short terms work too");
    assert_eq!(hits("zzz").await, 0);
    app.patch(&format!("/api/v1/groups/{id}"), &app.admin_key, json!({"name": "Renamed", "description": null})).await.expect(200);
    assert_eq!(hits("übung").await, 0);
    assert_eq!(hits("renamed").await, 1);
    app.delete(&format!("/api/v1/groups/{id}"), &app.admin_key).await.expect(200);
    assert_eq!(hits("renamed").await, 0);
});

story!(member_lists_take_filter_and_sort, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let (bob, bea, cal) = (app.user("bob").await, app.user("bea").await, app.user("cal").await);
    let g = app.group(&owner, "Crew", json!({})).await;
    app.add(&g, &bob, "admin").await;
    app.add(&g, &bea, "member").await;
    app.add(&g, &cal, "member").await;
    let names = |v: serde_json::Value| {
        v["members"].as_array().unwrap().iter().map(|m| m["user"]["username"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let url = format!("/api/v1/groups/{g}/members?filter={}&sort=-created", urlencode("role = 'member' && user.username ~ 'b'"));
    assert_eq!(names(app.get(&url, &owner.token).await.expect(200)), ["bea"]);
    let sorted = app.get(&format!("/api/v1/groups/{g}/members?sort=-created"), &owner.token).await.expect(200);
    assert_eq!(names(sorted), ["cal", "bea", "bob", "owner"]);
    app.get(&format!("/api/v1/groups/{g}/members?filter={}", urlencode("password = 'x'")), &owner.token).await.error(400, "invalid_filter");
    app.get(&format!("/api/v1/groups/{g}/members?sort=email"), &owner.token).await.error(400, "invalid_request");
});
