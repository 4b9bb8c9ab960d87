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

/// `cohort users …` with standard input.
fn cohort_with_input(data: &std::path::Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_listed_promoted_given_passwords_and_deactivated_from_the_command_line() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-users"));
    let made = cohort(&data, &["users", "create", "--username", "ann", "--email", "ann@example.com"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client.post(format!("{}/api/v1/auth/token", server.base)).json(&serde_json::json!({"login": "ann", "password": password})).send()
    };

    // A password from standard input (never the command line); then she can sign in.
    assert!(!cohort_with_input(&data, &["users", "set-password", "ann"], "").status.success(), "an empty password is refused");
    let set = cohort_with_input(&data, &["users", "set-password", "ann@example.com"], "correct horse battery\n");
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert!(!String::from_utf8_lossy(&set.stdout).contains("correct horse"), "the password is never printed");
    assert_eq!(login("correct horse battery").await.unwrap().status().as_u16(), 200);

    // Promoted and demoted, by username; listed as JSON lines.
    let promoted: serde_json::Value = serde_json::from_slice(&cohort(&data, &["users", "promote", "ann"]).stdout).unwrap();
    assert_eq!(promoted["site_role"], "admin");
    let listed = String::from_utf8(cohort(&data, &["users", "list"]).stdout).unwrap();
    let ann: serde_json::Value = serde_json::from_str(listed.lines().find(|l| l.contains("\"ann\"")).unwrap()).unwrap();
    assert_eq!((ann["site_role"].as_str(), ann["active"].as_bool()), (Some("admin"), Some(true)));
    let id = ann["id"].as_str().unwrap().to_string();
    let demoted: serde_json::Value = serde_json::from_slice(&cohort(&data, &["users", "demote", &id]).stdout).unwrap();
    assert_eq!(demoted["site_role"], "user");

    // Deactivated, she cannot sign in; active again, she can.
    assert!(cohort(&data, &["users", "deactivate", "ann"]).status.success());
    assert_eq!(login("correct horse battery").await.unwrap().status().as_u16(), 401);
    assert!(cohort(&data, &["users", "activate", "ann"]).status.success());
    assert_eq!(login("correct horse battery").await.unwrap().status().as_u16(), 200);
    let nobody = cohort(&data, &["users", "promote", "nobody"]);
    assert!(!nobody.status.success() && String::from_utf8_lossy(&nobody.stderr).contains("nobody: user not found"));
}
