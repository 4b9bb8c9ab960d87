//! `cohort import` and `cohort export` with the real binary: idempotent imports through the
//! API's rules, refused rows said by line, and export → import → export round trips between
//! databases and formats.

use crate::helpers::Server;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cohort(db: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohort")).args(db).args(args).output().unwrap()
}

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const SAMPLE: &str = r#"{"kind":"space","name":"Research","description":"labs"}
{"kind":"user","external_id":"u1","username":"ann","email":"ann@example.com","full_name":"Ann A"}
{"kind":"user","external_id":"u2","username":"bob"}
{"kind":"group","external_id":"g1","space":"Research","name":"Eng","permissions":["reports.read"]}
{"kind":"group","external_id":"g2","space":"Research","name":"Backend","parent":"g1"}
{"kind":"role","group":"g1","space":"Research","name":"Reviewer","permissions":["manage_members"]}
{"kind":"membership","group":"g1","space":"Research","user":"u1","role":"owner"}
{"kind":"membership","group":"g1","space":"Research","user":"u2","role":"reviewer"}
{"kind":"membership","group":"g2","space":"Research","user":"u2"}
{"kind":"membership","group":"g2","space":"Research","user":"nobody"}
{"kind":"grant","user":"u1","collection":"docs","access":"edit"}

{"kind":"membership","group":"g2","space":"Research","user":"u1","role":"no-such-role"}
{"kind":"user","external_id":"u3","username":"cy","email":"not an email"}
{"kind":"bogus"}
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_goes_through_the_rules_says_refused_rows_by_line_and_a_second_run_changes_nothing() {
    let dir = std::env::temp_dir().join(crate::helpers::unique("cohort-import"));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let db = ["--data-dir", data.to_str().unwrap()];
    let file = write(&dir, "sample.jsonl", SAMPLE);
    let f = file.to_str().unwrap();

    let first = cohort(&db, &["import", f, "--create"]);
    let text = said(&first);
    assert_eq!(first.status.code(), Some(2), "{text}");
    assert!(text.contains(&format!("{f}:10: user: no user \"nobody\"")), "{text}");
    assert!(
        text.contains(&format!("{f}:13: ")) && text.contains("no-such-role"),
        "a role the group lacks is refused by the engine: {text}"
    );
    assert!(text.contains(&format!("{f}:14: email")), "the API's validation refuses a bad email: {text}");
    assert!(text.contains(&format!("{f}:15: unknown variant `bogus`")), "{text}");
    assert!(text.contains("14 rows: 10 made, 0 changed, 0 unchanged, 4 refused"), "{text}");

    let second = said(&cohort(&db, &["import", f]));
    assert!(second.contains("14 rows: 0 made, 0 changed, 10 unchanged, 4 refused") && second.contains("(nothing to change)"), "{second}");

    // Ann's email and Bob's role in Eng changed: two rows change, nothing else.
    let edited = SAMPLE
        .replace("ann@example.com", "ann@research.example")
        .replace(r#""user":"u2","role":"reviewer""#, r#""user":"u2","role":"owner""#);
    let edited = write(&dir, "edited.jsonl", &edited);
    let third = said(&cohort(&db, &["import", edited.to_str().unwrap()]));
    assert!(third.contains("14 rows: 0 made, 2 changed, 8 unchanged, 4 refused"), "{third}");

    // Stopping at the first refused row: the rows after it are not read.
    let stopping = write(
        &dir,
        "stop.jsonl",
        "{\"kind\":\"user\",\"external_id\":\"u4\",\"username\":\"dee\"}\n{\"kind\":\"nope\"}\n{\"kind\":\"user\",\"external_id\":\"u5\",\"username\":\"eve\"}\n",
    );
    let stopped = cohort(&db, &["import", stopping.to_str().unwrap(), "--stop-on-error"]);
    assert!(stopped.status.code() == Some(2) && said(&stopped).contains("stopped at the first refused row"), "{}", said(&stopped));
    let users = String::from_utf8(cohort(&db, &["users", "list"]).stdout).unwrap();
    assert!(users.contains("\"dee\"") && !users.contains("\"eve\""), "{users}");

    // What was imported works: the server answers from it as from anything the API made.
    let key = String::from_utf8(cohort(&db, &["keys", "create", "--name", "t", "--scopes", "admin"]).stdout).unwrap();
    let server = Server::start_with(&db);
    let ann: serde_json::Value = serde_json::from_str(users.lines().find(|l| l.contains("\"ann\"")).unwrap()).unwrap();
    let bob: serde_json::Value = serde_json::from_str(users.lines().find(|l| l.contains("\"bob\"")).unwrap()).unwrap();
    let client = reqwest::Client::new();
    let check = |user: &serde_json::Value| {
        client
            .post(format!("{}/api/v1/check", server.base))
            .bearer_auth(key.trim())
            .json(&serde_json::json!({"user_id": user["id"], "permission": "reports.read"}))
            .send()
    };
    let yes: serde_json::Value = check(&ann).await.unwrap().json().await.unwrap();
    assert_eq!(yes["allowed"], true, "{yes}");
    let groups: serde_json::Value = client
        .get(format!("{}/api/v1/users/{}/groups", server.base, bob["id"].as_str().unwrap()))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups["groups"].as_array().map(Vec::len), Some(2), "{groups}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Exports `db` as JSON Lines; the text.
fn export(db: &[&str], dir: &Path, name: &str) -> String {
    let out = dir.join(name);
    let done = cohort(db, &["export", "--out", out.to_str().unwrap()]);
    assert!(done.status.success(), "{}", said(&done));
    std::fs::read_to_string(out).unwrap()
}

/// Export → import elsewhere → export: the same records, in JSON Lines and in CSV.
async fn round_trip(target: &[&str]) {
    let dir = std::env::temp_dir().join(crate::helpers::unique("cohort-export"));
    std::fs::create_dir_all(&dir).unwrap();
    let source_dir = dir.join("source");
    let source = ["--data-dir", source_dir.to_str().unwrap()];
    let sample = write(&dir, "sample.jsonl", SAMPLE);
    cohort(&source, &["import", sample.to_str().unwrap(), "--create"]);
    let first = export(&source, &dir, "first.jsonl");
    assert_eq!(first.lines().count(), 11, "the default space, what the sample made, and nothing refused: {first}");
    assert!(
        first.contains(r#"{"kind":"group","external_id":"g2","space":"Research","name":"Backend","parent":"g1","visibility":"private"}"#),
        "{first}"
    );

    let imported = cohort(target, &["import", dir.join("first.jsonl").to_str().unwrap(), "--create"]);
    assert!(imported.status.success(), "{}", said(&imported));
    assert_eq!(export(target, &dir, "second.jsonl"), first);

    let csv = dir.join("csv");
    let written = cohort(&source, &["export", "--format", "csv", "--out", csv.to_str().unwrap()]);
    assert!(written.status.success(), "{}", said(&written));
    let groups = std::fs::read_to_string(csv.join("groups.csv")).unwrap();
    assert!(groups.starts_with("external_id,space,name,description,parent,visibility,permissions\n"), "{groups}");
    assert!(groups.contains("g1,Research,Eng,,,private,reports.read\n"), "{groups}");
    let again = said(&cohort(target, &["import", csv.to_str().unwrap()]));
    assert!(again.contains("0 made, 0 changed, 11 unchanged, 0 refused") && again.contains("(nothing to change)"), "{again}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_into_another_sqlite_database_as_it_was() {
    let dir = std::env::temp_dir().join(crate::helpers::unique("cohort-export-target"));
    round_trip(&["--data-dir", dir.to_str().unwrap()]).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn an_export_from_sqlite_imports_into_postgresql_as_it_was() {
    let url = crate::helpers::fresh_postgres_url().await.expect(crate::helpers::NO_POSTGRES);
    round_trip(&["--database-url", &url]).await;
}
