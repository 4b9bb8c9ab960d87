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
