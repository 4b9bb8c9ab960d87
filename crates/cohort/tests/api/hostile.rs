//! Hostile input on every route of the OpenAPI document: junk bodies, wrong types, bad ids,
//! odd query strings. Every answer is a 2xx or a 4xx with the error body — never a 5xx.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::{Value, json};

/// Every route of the OpenAPI document (every surface's: native, dialects, records, SCIM).
fn routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(cohort_http::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys().filter(|k| *k != "parameters") {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            out.push((m, path.clone()));
        }
    }
    assert!(out.iter().any(|(_, p)| p == "/api/collections/groups/records/{id}") && out.iter().any(|(_, p)| p == "/scim/v2/Bulk"));
    out
}

fn fill(path: &str, ids: &[(&str, &str)]) -> String {
    let mut p = path.to_string();
    for (k, v) in ids {
        p = p.replace(&format!("{{{k}}}"), v);
    }
    p
}

fn bodies() -> Vec<Vec<u8>> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"12".to_vec(),
        b"{\"name\": {\"$ne\": 1}, \"user_id\": [1], \"ids\": \"x\", \"checks\": 5}".to_vec(),
        json!({"name": "x".repeat(300), "user_id": "usr_' OR '1'='1", "role": "owner", "permissions": ["a".repeat(200)], "emails": ["@"], "action": "approve"})
            .to_string()
            .into_bytes(),
        json!({"name": "\u{0000}\u{202e}", "description": null, "settings": {"max_members": -5}, "expires_at": "9999-99-99"}).to_string().into_bytes(),
        deep.into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x80],
    ]
}

async fn send(app: &TestApp, method: &Method, path: &str, auth: &str, body: Vec<u8>) -> (u16, Value) {
    let res = app.raw(method.clone(), path, auth, body).await;
    (res.status.as_u16(), res.body)
}

story!(no_route_answers_a_5xx_to_hostile_input, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let g = app.group(&owner, "Target", json!({"visibility": "public"})).await;
    app.add(&g, &member, "member").await;
    let real: Vec<(&str, &str)> =
        vec![("id", &g), ("user_id", &member.id), ("role_id", "member"), ("request_id", "req_x"), ("invitation_id", "inv_x")];
    let junk: Vec<(&str, &str)> = vec![
        ("id", "%00%27%22"),
        ("user_id", "..%2F..%2Fetc"),
        ("role_id", "%F0%9F%92%A9"),
        ("request_id", "x"),
        ("invitation_id", "' OR 1=1 --"),
    ];
    let queries = [
        "",
        "?page=-1&limit=99999999999999999999",
        "?page=1&page=2",
        "?type[]=team&search=%25%5F%5C",
        "?effective=maybe&recursive=1&cascade=yes&period=%00",
    ];
    let mut failures = Vec::new();
    for (method, path) in routes() {
        for ids in [&real, &junk] {
            for q in queries {
                let url = format!("{}{q}", fill(&path, ids));
                for (i, body) in bodies().into_iter().enumerate() {
                    // Deleting the target group early would make the rest of the sweep trivial.
                    let auth = if method == Method::DELETE {
                        member.token.as_str()
                    } else if i % 2 == 0 {
                        app.admin_key.as_str()
                    } else {
                        owner.token.as_str()
                    };
                    let (status, body) = send(&app, &method, &url, auth, body).await;
                    // Every surface's error body carries a message (native, Bitwarden, PocketBase),
                    // SCIM's its `detail`.
                    let said = body["message"].is_string() || (path.starts_with("/scim/") && body["detail"].is_string());
                    let bad_error = status >= 400 && !said;
                    if status >= 500 || bad_error {
                        failures.push(format!("{method} {url} body#{i} -> {status} {body}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
});

story!(arrays_never_stand_in_for_objects, |app: TestApp| async move {
    let owner = app.space_moderator("owner").await;
    let g = app.group(&owner, "Shaped", json!({})).await;
    let bad =
        app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"settings": [true, false, 5]})).await.error(400, "invalid_request");
    assert!(bad["message"].as_str().unwrap().contains("body.settings"), "{bad}");
    app.patch(&format!("/api/v1/groups/{g}/roles/moderator"), &owner.token, json!(["Mods", []])).await.error(400, "invalid_request");
    app.put(&format!("/api/admin/groups/{g}"), &app.admin_key, json!({"name": "Shaped", "settings": [null, null]}))
        .await
        .error(400, "invalid_request");
    let kept = app.get(&format!("/api/v1/groups/{g}"), &owner.token).await.expect(200);
    assert_eq!(kept["settings"]["allow_join_requests"], true, "nothing was applied");
    app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"settings": {"max_members": 5}, "permissions": ["a.b"]}))
        .await
        .expect(200);
});

story!(whole_numbers_written_with_a_point_are_integers, |app: TestApp| async move {
    let owner = app.user("owner").await;
    let g = app.group(&owner, "Counted", json!({})).await;
    // JSON Schema counts 5.0 as an integer; so does the service.
    let ok = app.patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"settings": {"max_members": 5.0}})).await.expect(200);
    assert_eq!(ok["settings"]["max_members"], 5);
    let bad = app
        .patch(&format!("/api/v1/groups/{g}"), &owner.token, json!({"settings": {"max_members": 5.5}}))
        .await
        .error(400, "invalid_request");
    assert!(bad["message"].as_str().unwrap().contains("settings.max_members"), "{bad}");
});
