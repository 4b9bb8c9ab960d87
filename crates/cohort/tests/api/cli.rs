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
    let secret = String::from_utf8(cohort(&data, &["keys", "create", "--name", "ops", "--scopes", "admin", "--create"]).stdout).unwrap();
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
    let made = cohort(&data, &["users", "create", "--username", "ann", "--email", "ann@example.com", "--create"]);
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

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_command_makes_no_database_unless_asked_and_says_where_it_looked() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-nodata"));
    let refused = cohort(&data, &["keys", "create", "--name", "ops", "--scopes", "admin"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty(), "no key is printed for a database that does not exist");
    let text = said(&refused);
    assert!(text.contains(&format!("no Cohort database at {}", data.join("cohort.db").display())) && text.contains("--create"), "{text}");
    assert!(!data.exists(), "nothing was made");
    for args in [&["users", "list"][..], &["spaces", "list"], &["check", "--user", "ann", "--permission", "x"]] {
        assert_eq!(cohort(&data, args).status.code(), Some(2), "{args:?}");
    }
    assert!(cohort(&data, &["migrate", "--status"]).status.code() == Some(2) && !data.exists());
    let made = cohort(&data, &["keys", "create", "--name", "ops", "--scopes", "admin", "--create"]);
    assert!(made.status.success(), "{}", said(&made));
    assert!(String::from_utf8_lossy(&made.stdout).starts_with("ck_"));
    assert!(cohort(&data, &["keys", "list"]).status.success(), "the database made is used from then on");
    let _ = std::fs::remove_dir_all(&data);
}

/// Writes one statement into the SQLite database under `data` (as another tool would).
async fn tamper(data: &std::path::Path, sql: &str) {
    let db = cohort_store::Db::sqlite(&data.join("cohort.db")).unwrap();
    let tx = db.begin().await.unwrap();
    tx.batch(sql).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_or_newer_migrations_are_said_and_only_migrate_applies_them() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-migrate"));
    let migrated = cohort(&data, &["migrate"]);
    let text = said(&migrated);
    let all = cohort_store::migrate::MIGRATIONS;
    let last = all.last().unwrap();
    assert!(migrated.status.success() && text.contains(&format!("applied {}", last.name)), "{text}");
    assert!(text.contains(&format!("{} migration(s) applied, now at {}", all.len(), last.version)), "{text}");
    let status = String::from_utf8(cohort(&data, &["migrate", "--status"]).stdout).unwrap();
    assert_eq!(status.lines().filter(|l| l.starts_with("applied ")).count(), all.len(), "{status}");
    assert!(!status.contains("pending"), "{status}");
    let again = said(&cohort(&data, &["migrate"]));
    assert!(again.contains("0 migration(s) applied"), "{again}");

    // The last migration's record removed: the database reads as one migration behind.
    let row = format!("{}, '{}', 0", last.version, last.name);
    tamper(&data, &format!("DELETE FROM schema_migrations WHERE version = {}", last.version)).await;
    let status = String::from_utf8(cohort(&data, &["migrate", "--status"]).stdout).unwrap();
    assert!(status.contains(&format!("pending  {:>4} {}", last.version, last.name)), "{status}");
    let refused = cohort(&data, &["users", "create", "--username", "ann"]);
    let text = said(&refused);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(text.contains(&format!("needs 1 migration(s) ({})", last.name)) && text.contains("run `cohort migrate` first"), "{text}");
    tamper(&data, &format!("INSERT INTO schema_migrations (version, name, applied_at) VALUES ({row})")).await;

    // A migration this binary does not know: a newer cohort migrated the database.
    tamper(&data, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 0)").await;
    let refused = cohort(&data, &["keys", "list"]);
    let text = said(&refused);
    assert!(refused.status.code() == Some(2) && text.contains("migration 999, newer than this cohort knows"), "{text}");
    assert!(String::from_utf8(cohort(&data, &["migrate", "--status"]).stdout).unwrap().contains("unknown   999"));
    let old_binary = cohort(&data, &["migrate"]);
    assert!(old_binary.status.code() == Some(2) && said(&old_binary).contains("newer than this cohort knows"), "{}", said(&old_binary));
    tamper(&data, "DELETE FROM schema_migrations WHERE version = 999").await;
    assert!(cohort(&data, &["users", "create", "--username", "ann"]).status.success());
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spaces_are_made_and_listed_and_checks_answered_from_the_data_or_the_service() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-check"));
    let key = String::from_utf8(cohort(&data, &["keys", "create", "--name", "ops", "--scopes", "admin", "--create"]).stdout).unwrap();
    let key = key.trim().to_string();
    let mut ids = Vec::new();
    for name in ["mia", "noah"] {
        let made = cohort(&data, &["users", "create", "--username", name, "--email", &format!("{name}@example.com")]);
        ids.push(serde_json::from_slice::<serde_json::Value>(&made.stdout).unwrap()["id"].as_str().unwrap().to_string());
    }
    let (mia, noah) = (ids[0].clone(), ids[1].clone());
    let made = cohort(&data, &["spaces", "create", "--name", "Research", "--description", "labs", "--moderators", "mia"]);
    assert!(made.status.success(), "{}", said(&made));
    let space: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    let listed = String::from_utf8(cohort(&data, &["spaces", "list"]).stdout).unwrap();
    let research: serde_json::Value = serde_json::from_str(listed.lines().find(|l| l.contains("Research")).unwrap()).unwrap();
    assert_eq!(research["id"], space["id"]);
    assert_eq!(research["moderators"].as_array().unwrap().len(), 1);
    let taken = cohort(&data, &["spaces", "create", "--name", "research"]);
    assert!(taken.status.code() == Some(2) && said(&taken).contains("exists"), "{}", said(&taken));

    // Mia's group grants reports.read; Noah is in no group.
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        client.request(method, format!("{}{path}", server.base)).bearer_auth(&key).json(&body).send()
    };
    let group: serde_json::Value =
        call(reqwest::Method::POST, "/api/v1/groups", serde_json::json!({"name": "Analysts", "space_id": space["id"]}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let gid = group["id"].as_str().unwrap().to_string();
    let added = call(reqwest::Method::POST, &format!("/api/v1/groups/{gid}/members"), serde_json::json!({"user_id": mia, "role": "owner"}))
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    let granted = call(reqwest::Method::PATCH, &format!("/api/v1/groups/{gid}/permissions"), serde_json::json!({"add": ["reports.read"]}))
        .await
        .unwrap();
    assert_eq!(granted.status().as_u16(), 200);

    let from_data = cohort(&data, &["check", "--user", "mia", "--permission", "reports.read"]);
    assert_eq!(from_data.status.code(), Some(0), "{}", said(&from_data));
    let answer: serde_json::Value = serde_json::from_slice(&from_data.stdout).unwrap();
    assert_eq!((answer["allowed"].as_bool(), answer["via"][0].as_str()), (Some(true), Some(gid.as_str())));
    assert_eq!(cohort(&data, &["check", "--user", "noah@example.com", "--permission", "reports.read"]).status.code(), Some(1));
    let owner = cohort(&data, &["check", "--user", "mia", "--group", &gid, "--action", "delete"]);
    assert_eq!(owner.status.code(), Some(0), "{}", said(&owner));
    assert_eq!(cohort(&data, &["check", "--user", "noah", "--group", &gid, "--action", "read"]).status.code(), Some(1));
    let unknown = cohort(&data, &["check", "--user", "zed", "--permission", "reports.read"]);
    assert!(unknown.status.code() == Some(2) && said(&unknown).contains("zed: user not found"), "{}", said(&unknown));
    let bad = cohort(&data, &["check", "--user", "mia", "--group", &gid, "--action", "fly"]);
    assert!(bad.status.code() == Some(2) && said(&bad).contains("\"fly\" is not read, post"), "{}", said(&bad));

    // The same questions asked of the running service.
    let remote = |user: &str| {
        Command::new(env!("CARGO_BIN_EXE_cohort"))
            .args(["check", "--user", user, "--permission", "reports.read", "--url", &server.base])
            .env("COHORT_KEY", &key)
            .output()
            .unwrap()
    };
    let yes = remote(&mia);
    assert_eq!(yes.status.code(), Some(0), "{}", said(&yes));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&yes.stdout).unwrap()["via"][0].as_str(), Some(gid.as_str()));
    assert_eq!(remote(&noah).status.code(), Some(1));
    let missing = remote("usr_nobody");
    assert!(missing.status.code() == Some(2) && said(&missing).contains("404"), "{}", said(&missing));
    let wrong_key = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["check", "--user", &mia, "--permission", "reports.read", "--url", &server.base, "--key", "ck_wrong"])
        .output()
        .unwrap();
    assert!(wrong_key.status.code() == Some(2) && said(&wrong_key).contains("401"), "{}", said(&wrong_key));
    let down = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["check", "--user", &mia, "--permission", "x", "--url", "http://127.0.0.1:1", "--key", &key])
        .output()
        .unwrap();
    assert!(down.status.code() == Some(2) && said(&down).contains("Connection refused"), "{}", said(&down));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_logs_its_configuration_and_a_line_per_request_with_the_kind_of_credential() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-logs"));
    std::fs::create_dir_all(&data).unwrap();
    let url = "postgres://ops:hunter2@127.0.0.1:1/none";
    for format in ["json", "text"] {
        let log_path = data.join(format!("{format}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let dir = data.join(format);
        let server =
            Server::start_logging(&["--data-dir", dir.to_str().unwrap(), "--log-format", format, "--rate-limit-per-key", "50"], log);
        let key = String::from_utf8(cohort(&dir, &["keys", "create", "--name", "ops", "--scopes", "admin"]).stdout).unwrap();
        let key = key.trim().to_string();
        let client = reqwest::Client::new();
        let res = client
            .get(format!("{}/api/v1/groups", server.base))
            .bearer_auth(&key)
            .header("X-Request-Id", "req-logged-1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        client.get(format!("{}/healthz", server.base)).header("X-Request-Id", "req-logged-2").send().await.unwrap();
        // The log is written by its own thread: wait for the line.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let text = loop {
            let text = std::fs::read_to_string(&log_path).unwrap();
            if text.contains("req-logged-2") || std::time::Instant::now() > deadline {
                break text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        drop(server);
        assert!(!text.contains('\u{1b}'), "no colour codes in a file: {text}");
        assert!(!text.contains(&key) && !text.contains(&key[..12]), "no secret in the log: {text}");
        let line = text.lines().find(|l| l.contains("req-logged-1")).unwrap_or_else(|| panic!("no line for the request: {text}"));
        let config = text.lines().find(|l| l.contains("configuration")).unwrap_or_else(|| panic!("no configuration line: {text}"));
        assert!(text.contains("migration applied") && text.contains("0001_init"), "the migrations applied are logged: {text}");
        assert!(text.contains("access index built"), "{text}");
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["target"], "cohort::request");
            assert_eq!((v["fields"]["method"].as_str(), v["fields"]["route"].as_str()), (Some("GET"), Some("/api/v1/groups")));
            assert_eq!(v["fields"]["status"], 200);
            assert!(v["fields"]["ms"].as_f64().is_some());
            assert_eq!((v["span"]["id"].as_str(), v["span"]["principal"].as_str()), (Some("req-logged-1"), Some("site_key")), "{line}");
            let anonymous = text.lines().find(|l| l.contains("req-logged-2")).unwrap();
            let v: serde_json::Value = serde_json::from_str(anonymous).unwrap();
            assert_eq!(v["span"]["principal"], "anonymous", "{anonymous}");
            let c: serde_json::Value = serde_json::from_str(config).unwrap();
            assert_eq!(
                (c["fields"]["rate_limit_per_key"].as_str(), c["fields"]["rate_limit_per_address"].as_str()),
                (Some("50/s"), Some("off"))
            );
            assert!(c["fields"]["database"].as_str().unwrap().starts_with("SQLite at "), "{config}");
        } else {
            for part in ["method=\"GET\"", "route=\"/api/v1/groups\"", "status=200", "id=\"req-logged-1\"", "principal=\"site_key\""] {
                assert!(line.contains(part), "{part} in {line}");
            }
        }
    }
    // A PostgreSQL URL is logged by where it points, never with its password.
    let out =
        Command::new(env!("CARGO_BIN_EXE_cohort")).args(["serve", "--listen", "127.0.0.1:0", "--database-url", url]).output().unwrap();
    let text = said(&out);
    assert!(!out.status.success() && !text.contains("hunter2"), "{text}");
    assert!(text.contains("configuration") && text.contains("database=\"PostgreSQL at 127.0.0.1:1/none as ops\""), "{text}");
    let _ = std::fs::remove_dir_all(&data);
}

/// docs/cli.md is what the binary says of itself; `COHORT_UPDATE_DOCS=1` rewrites it.
#[test]
fn the_command_line_reference_in_the_docs_is_the_binarys_own() {
    let out = Command::new(env!("CARGO_BIN_EXE_cohort")).arg("reference").output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    if std::env::var_os("COHORT_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let documented = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        documented == generated,
        "docs/cli.md differs from `cohort reference`: run `COHORT_UPDATE_DOCS=1 cargo test -p cohort --test api -- reference`"
    );
    for flag in ["--data-dir", "--database-url", "--listen", "--create", "--log-format", "COHORT_DATABASE_URL", "## `cohort check`"] {
        assert!(generated.contains(flag), "{flag}");
    }
}

#[test]
fn a_stopping_server_says_not_ready_while_it_still_serves_then_exits() {
    let data = std::env::temp_dir().join(crate::helpers::unique("cohort-cli-stop"));
    let mut server = Server::start_with(&["--data-dir", data.to_str().unwrap(), "--shutdown-delay", "1.5"]);
    let healthz = |base: &str| {
        use std::io::{Read, Write};
        let addr = base.trim_start_matches("http://");
        let Ok(mut s) = std::net::TcpStream::connect(addr) else { return 0 };
        let _ = s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
        let mut head = String::new();
        let _ = s.read_to_string(&mut head);
        head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    };
    assert_eq!((server.readyz(), healthz(&server.base)), (200, 200));
    let asked = std::time::Instant::now();
    server.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(server.readyz(), 503, "a load balancer is told to stop sending requests here");
    assert_eq!(healthz(&server.base), 200, "requests are still answered during the delay");
    let status = server.exited(std::time::Duration::from_secs(10)).expect("the server exits after its delay");
    assert!(status.success(), "{status:?}");
    assert!(asked.elapsed() >= std::time::Duration::from_millis(1500), "not before the delay: {:?}", asked.elapsed());
    let _ = std::fs::remove_dir_all(&data);
}
