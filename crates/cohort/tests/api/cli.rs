//! The `cohort` command line beside a running server on the same data: keys listed without
//! their secrets and revoked, and the version.

use crate::helpers::Server;
use std::process::{Command, Output};

fn cohort(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohort")).arg("--data-dir").arg(data).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_listed_without_secrets_and_revoked_for_a_running_server() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli"));
    let secret = String::from_utf8(cohort(&data, &["keys", "create", "--name", "ops", "--scopes", "admin"]).stdout).unwrap();
    let secret = secret.trim().to_string();
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let groups = || client.get(format!("{}/api/v1/groups", server.base)).bearer_auth(&secret).send();
    assert_eq!(groups().await.unwrap().status().as_u16(), 200);

    let listed = cohort(&data, &["keys", "list"]);
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(!text.contains(&secret), "a listing never shows a secret");
    let key: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!((key["name"].as_str(), key["scopes"][0].as_str()), (Some("ops"), Some("admin")));
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));

    let id = key["id"].as_str().unwrap();
    assert!(cohort(&data, &["keys", "revoke", id]).status.success());
    // The running server follows the revocation from the change log.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while groups().await.unwrap().status().as_u16() != 401 {
        assert!(std::time::Instant::now() < deadline, "the revoked key still works");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let unknown = cohort(&data, &["keys", "revoke", "key_nope"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("not found"));

    let version = cohort(&data, &["version"]);
    assert_eq!(String::from_utf8(version.stdout).unwrap().trim(), format!("cohort {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_database_that_cannot_be_reached_is_said_with_where_and_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["keys", "list", "--database-url", "postgres://ops:hunter2@127.0.0.1:1/cohort"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("connecting to PostgreSQL at 127.0.0.1:1/cohort as ops") && said.contains("Connection refused"), "{said}");
    assert!(!said.contains("hunter2"), "never the password: {said}");
    assert!(!said.contains("Unavailable {"), "no Rust debug text: {said}");
}
