//! A group made through any surface reads back the same through every other surface.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

story!(one_group_every_surface, |app: TestApp| async move {
    let admin = app.user("siteadmin").await;
    app.patch(&format!("/api/v1/users/{}", admin.id), &app.admin_key, json!({"site_role": "admin"})).await.expect(200);
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Shared", "moderators": [admin.id]})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = admin.token.as_str();
    let made = [
        ("native", app.post("/api/v1/groups", t, json!({"name": "Via Native", "space_id": space})).await.expect(201)["id"].clone()),
        (
            "seed000",
            app.post("/api/collections/groups/records", t, json!({"name": "Via PocketBase", "space": space})).await.expect(200)["id"]
                .clone(),
        ),
        (
            "seed001",
            app.post(&format!("/api/organizations/{space}/groups"), t, json!({"name": "Via Org", "accessAll": false, "collections": []}))
                .await
                .expect(200)["id"]
                .clone(),
        ),
        ("seed004", app.post("/api/admin/groups/", t, json!({"name": "Via Admin", "space_id": space})).await.expect(201)["id"].clone()),
    ];
    for (surface, id) in made {
        let id = id.as_str().unwrap();
        let native = app.get(&format!("/api/v1/groups/{id}"), t).await.expect(200);
        let name = native["name"].as_str().unwrap().to_string();
        assert_eq!(native["space"], space, "{surface}");
        let pb = app.get(&format!("/api/collections/groups/records/{id}"), t).await.expect(200);
        assert_eq!(
            (pb["name"].as_str().unwrap(), pb["space"].as_str().unwrap()),
            (name.as_str(), space.as_str()),
            "{surface} via seed 000"
        );
        let org = app.get(&format!("/api/organizations/{space}/groups/{id}"), t).await.expect(200);
        assert_eq!(org["name"].as_str().unwrap(), name, "{surface} via seed 001");
        let all = app.get("/compat/v1/groups", t).await.expect(200);
        assert!(all["result"].as_array().unwrap().iter().any(|g| g["name"] == name.as_str()), "{surface} via seed 002");
        let admin_view = app.get(&format!("/api/admin/groups/{id}"), t).await.expect(200);
        assert_eq!(admin_view["name"].as_str().unwrap(), name, "{surface} via seed 004");
    }
    // A change through one surface is seen at once through the others.
    let id = app.get("/api/v1/groups?search=native", t).await.expect(200)["groups"][0]["id"].as_str().unwrap().to_string();
    app.patch(&format!("/api/collections/groups/records/{id}"), t, json!({"name": "Renamed"})).await.expect(200);
    assert_eq!(app.get(&format!("/api/v1/groups/{id}"), t).await.expect(200)["name"], "Renamed");
    assert_eq!(app.get(&format!("/api/organizations/{space}/groups/{id}"), t).await.expect(200)["name"], "Renamed");
    assert_eq!(app.get(&format!("/api/admin/groups/{id}"), t).await.expect(200)["name"], "Renamed");
});
