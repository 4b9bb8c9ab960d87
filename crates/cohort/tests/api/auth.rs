//! Authentication: passwords, tokens, keys, and the CLI's key command.

use crate::helpers::TestApp;
use crate::story;
use reqwest::Method;
use serde_json::json;

story!(login_use_and_logout, |app: TestApp| async move {
    app.post(
        "/api/v1/users",
        &app.admin_key,
        json!({"username": "alice", "email": "Alice@Example.com", "password": "correct horse battery"}),
    )
    .await
    .expect(201);
    let wrong =
        app.call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": "alice", "password": "wrong horse battery"}))).await;
    wrong.error(401, "unauthenticated");
    let nobody = app.call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": "nobody", "password": "whatever12"}))).await;
    nobody.error(401, "unauthenticated");
    let by_email = app
        .call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": "alice@example.com", "password": "correct horse battery"})))
        .await
        .expect(200);
    assert_eq!(by_email["token_type"], "Bearer");
    assert_eq!(by_email["user"]["username"], "alice");
    assert!(by_email["user"].get("password").is_none() && by_email["user"].get("password_hash").is_none());
    let token = by_email["token"].as_str().unwrap().to_string();
    let me = app.get("/api/v1/users/me", &token).await.expect(200);
    assert_eq!(me["username"], "alice");
    app.post("/api/v1/auth/logout", &token, json!(null)).await.expect(200);
    app.get("/api/v1/users/me", &token).await.error(401, "unauthenticated");
});

story!(credentials_are_required_and_checked, |app: TestApp| async move {
    app.call(Method::GET, "/api/v1/groups", None, None).await.error(401, "unauthenticated");
    app.get("/api/v1/groups", "ct_forged").await.error(401, "unauthenticated");
    app.get("/api/v1/groups", "ck_forged").await.error(401, "unauthenticated");
    let via_header = app.call_with(Method::GET, "/api/v1/groups", None, None, &[("X-API-Key", &app.admin_key)]).await;
    via_header.expect(200);
    let bare = app.call_with(Method::GET, "/api/v1/groups", None, None, &[("Authorization", &app.admin_key)]).await;
    bare.expect(200);
});

story!(keys_are_listed_without_secrets_and_revoked, |app: TestApp| async move {
    let alice = app.user("alice").await;
    let made =
        app.post("/api/v1/api-keys", &alice.token, json!({"name": "ci", "scopes": ["groups:read", "groups:write"]})).await.expect(201);
    let secret = made["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ck_"));
    let listed = app.get("/api/v1/api-keys", &alice.token).await.expect(200);
    assert_eq!(listed["total"], 1);
    assert!(listed["api_keys"][0].get("key").is_none(), "secrets are shown once");
    assert!(!listed.to_string().contains(&secret));
    app.get("/api/v1/groups", &secret).await.expect(200);
    let id = made["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/api-keys/{id}"), &alice.token).await.expect(200);
    app.get("/api/v1/groups", &secret).await.error(401, "unauthenticated");
});

story!(deactivated_users_cannot_authenticate, |app: TestApp| async move {
    let bob = app.user("bob").await;
    app.get("/api/v1/users/me", &bob.token).await.expect(200);
    app.patch(&format!("/api/v1/users/{}", bob.id), &app.admin_key, json!({"active": false})).await.expect(200);
    app.get("/api/v1/users/me", &bob.token).await.error(401, "unauthenticated");
});

#[test]
fn cli_keys_create_prints_only_the_key_while_a_server_runs() {
    let dir = std::env::temp_dir().join(format!("cohort-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_cohort");
    let server = crate::helpers::Server::start_with(&["--data-dir", dir.to_str().expect("utf-8 temp dir")]);
    let base = server.base.clone();
    let out = std::process::Command::new(bin)
        .args(["keys", "create", "--name", "boot", "--scopes", "admin", "--data-dir"])
        .arg(&dir)
        .env("COHORT_LOG", "info")
        .output()
        .expect("keys");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("access index"), "creating a key does not build the access index: {log}");
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stdout:?}");
    let key = lines[0];
    assert!(key.starts_with("ck_"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let status = rt.block_on(async {
        reqwest::Client::new().get(format!("{base}/api/v1/groups")).bearer_auth(key).send().await.expect("request").status()
    });
    assert_eq!(status.as_u16(), 200, "the running server accepts the new key");
    let scoped = std::process::Command::new(bin)
        .args(["keys", "create", "--name", "ro", "--scopes", "groups:read,groups:write", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("keys");
    assert!(scoped.status.success());
    let bad = std::process::Command::new(bin)
        .args(["keys", "create", "--name", "x", "--scopes", "everything", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("keys");
    assert!(!bad.status.success() && bad.stdout.is_empty());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
