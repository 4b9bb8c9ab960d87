//! `GET /metrics`: requests by route template and status, checks and sign-ins by outcome, the
//! index, as a scraper reads them.

use crate::helpers::TestApp;
use crate::story;
use serde_json::json;

/// The value of the sample `name{labels}` (labels as written, in the order the server writes
/// them), or 0 when absent.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name_and_labels).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let res = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    res.text().await.unwrap()
}

story!(metrics_count_what_the_server_did, |app: TestApp| async move {
    let a = &app.admin_key;
    let before = scrape(&app).await;
    let owner = app.user("owner").await;
    let gid = app.group(&owner, "Measured", json!({})).await;
    app.get(&format!("/api/v1/groups/{gid}"), &owner.token).await.expect(200);
    app.get("/api/v1/groups/grp_nope", &owner.token).await.error(404, "not_found");
    app.get("/wp-admin/setup.php", a).await;
    app.post("/api/v1/check", a, json!({"user_id": owner.id, "group_id": gid, "action": "manage_settings"})).await.expect(200);
    app.post("/api/v1/check", a, json!({"user_id": owner.id, "permission": "nothing.here"})).await.expect(200);
    app.call(reqwest::Method::POST, "/api/v1/auth/token", None, Some(json!({"login": "owner", "password": "wrong"}))).await;
    app.post("/api/v1/users", a, json!({"username": "owner"})).await.error(409, "conflict");
    let after = scrape(&app).await;

    let delta = |key: &str| sample(&after, key) - sample(&before, key);
    // Requests by the route template that served them, never the raw path.
    assert_eq!(delta(r#"cohort_http_requests_total{method="GET",route="/api/v1/groups/{id}",status="200"}"#), 1.0, "{after}");
    assert_eq!(delta(r#"cohort_http_requests_total{method="GET",route="/api/v1/groups/{id}",status="404"}"#), 1.0);
    assert_eq!(delta(r#"cohort_http_requests_total{method="GET",route="unmatched",status="404"}"#), 1.0);
    assert!(!after.contains("grp_nope") && !after.contains("wp-admin"), "no raw path becomes a label");
    assert!(delta(r#"cohort_http_request_duration_seconds_count{method="GET",route="/api/v1/groups/{id}"}"#) >= 2.0);
    // Checks by kind and outcome; sign-ins by outcome.
    assert_eq!(delta(r#"cohort_checks_total{kind="group",outcome="allowed"}"#), 1.0);
    assert_eq!(delta(r#"cohort_checks_total{kind="permission",outcome="denied"}"#), 1.0);
    assert_eq!(delta(r#"cohort_logins_total{outcome="failed"}"#), 1.0);
    // The index holds the owner's membership and has caught up with its own writes.
    assert!(sample(&after, "cohort_index_memberships") >= 1.0);
    assert!(sample(&after, "cohort_index_revision") >= sample(&before, "cohort_index_revision") + 1.0);
    assert_eq!(sample(&after, "cohort_index_built"), 1.0);
    assert!(sample(&after, "cohort_db_connections_max") >= 1.0);
    // Connections taken and waited for; the taken username refused by its unique index.
    // (These count the whole process, where other tests run too: at least, not exactly.)
    assert!(delta("cohort_db_acquired_total") >= 5.0, "{after}");
    assert!(sample(&after, "cohort_db_wait_seconds_total") >= 0.0);
    assert!(delta(r#"cohort_db_errors_total{kind="unique"}"#) >= 1.0, "{after}");
    // The scrape itself is in flight while it is written.
    assert!(sample(&after, "cohort_http_requests_in_flight") >= 1.0);
});

story!(every_answer_carries_a_request_id, |app: TestApp| async move {
    // The caller's own id is kept, on errors too; a request without one gets a fresh one.
    let mine =
        app.call_with(reqwest::Method::GET, "/api/v1/groups/grp_nope", Some(&app.admin_key), None, &[("X-Request-Id", "trace-7f3a")]).await;
    assert_eq!((mine.status.as_u16(), mine.header("x-request-id").as_deref()), (404, Some("trace-7f3a")));
    let fresh = app.get("/healthz", &app.admin_key).await;
    let a = fresh.header("x-request-id").expect("a fresh id");
    let b = app.get("/healthz", &app.admin_key).await.header("x-request-id").expect("a fresh id");
    assert!(a.len() == 36 && a != b, "{a} {b}");
    // An id that could forge a log line is replaced.
    let forged = app.call_with(reqwest::Method::GET, "/healthz", None, None, &[("X-Request-Id", "x\" level=ERROR")]).await;
    assert_ne!(forged.header("x-request-id").as_deref(), Some("x\" level=ERROR"));
});
