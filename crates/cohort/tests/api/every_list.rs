//! `filter`, `sort` and cursor pages on every native list, and the same answers from SQLite
//! and PostgreSQL for the same requests.

use crate::helpers::{Backend, TestApp, TestUser};
use crate::story;
use serde_json::{Value, json};

/// A world every list has rows in.
struct World {
    owner: TestUser,
    group: String,
}

async fn world(app: &TestApp) -> World {
    let owner = app.user("ann").await;
    let (ben, cat, dan) = (app.user("ben").await, app.user("cat").await, app.user("dan").await);
    let group = app.group(&owner, "Crew", json!({"visibility": "public", "settings": {"require_approval": true}})).await;
    app.add(&group, &ben, "moderator").await;
    for (name, kind) in [("Alpha squad", "team"), ("Beta project", "project"), ("Gamma team", "team")] {
        app.post(&format!("/api/v1/groups/{group}/subgroups"), &owner.token, json!({"name": name, "type": kind})).await.expect(201);
    }
    for asker in [&cat, &dan] {
        app.post(&format!("/api/v1/groups/{group}/join-requests"), &asker.token, json!({"message": "let me in"})).await.expect(202);
    }
    let pending = app.get(&format!("/api/v1/groups/{group}/join-requests"), &owner.token).await.expect(200);
    let dans = pending["requests"].as_array().unwrap().iter().find(|r| r["user_id"] == dan.id.as_str()).unwrap()["id"].clone();
    app.patch(&format!("/api/v1/groups/{group}/join-requests/{}", dans.as_str().unwrap()), &owner.token, json!({"action": "reject"}))
        .await
        .expect(200);
    let emails = json!({"emails": ["zed@example.com", "amy@example.org", "kim@example.com"], "role": "member"});
    app.post(&format!("/api/v1/groups/{group}/invitations"), &owner.token, emails).await.expect(201);
    for (title, body) in [("Welcome", "hello all"), ("Agenda", "items"), ("Board notes", "minutes")] {
        app.post(&format!("/api/v1/groups/{group}/posts"), &ben.token, json!({"title": title, "body": body})).await.expect(201);
    }
    for name in ["Zeta", "Acme"] {
        app.post("/api/v1/spaces", &app.admin_key, json!({"name": name})).await.expect(201);
    }
    World { owner, group }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// One list request: its path (query included), who asks, the array's key in the answer
/// and the JSON pointer of the value compared in each item.
struct Ask {
    path: String,
    admin: bool,
    key: &'static str,
    pick: &'static str,
}

/// The requests, with what each answers (as the picked values, in order).
fn asks(w: &World) -> Vec<(Ask, Vec<&'static str>)> {
    let g = &w.group;
    let ask = |path: String, admin: bool, key: &'static str, pick: &'static str| Ask { path, admin, key, pick };
    vec![
        (
            ask(format!("/api/v1/users?filter={}&sort=-username", enc("username ~ 'a'")), true, "users", "/username"),
            vec!["dan", "cat", "ann"],
        ),
        (
            ask(
                format!("/api/v1/users?filter={}&sort=username", enc("active = true && email ~ 'EXAMPLE.com'")),
                true,
                "users",
                "/username",
            ),
            vec!["ann", "ben", "cat", "dan"],
        ),
        (ask(format!("/api/v1/spaces?filter={}&sort=name", enc("name != 'default'")), true, "spaces", "/name"), vec!["Acme", "Zeta"]),
        (
            ask(
                format!("/api/v1/spaces?sort_by=name&sort_order=desc&filter={}", enc("created >= @todayStart || name = 'default'")),
                true,
                "spaces",
                "/name",
            ),
            vec!["Zeta", "default", "Acme"],
        ),
        (
            ask(format!("/api/v1/groups/{g}/members?filter={}&sort=username", enc("role != 'owner'")), false, "members", "/user/username"),
            vec!["ben"],
        ),
        (
            ask(format!("/api/v1/groups/{g}/users?filter={}&sort=-username", enc("username ~ 'n'")), false, "users", "/username"),
            vec!["ben", "ann"],
        ),
        (
            ask(format!("/api/v1/groups/{g}/join-requests?filter={}", enc("status != 'pending'")), false, "requests", "/user/username"),
            vec!["dan"],
        ),
        (
            ask(
                format!("/api/v1/groups/{g}/join-requests?sort=-username&filter={}", enc("message ~ 'me in'")),
                false,
                "requests",
                "/user/username",
            ),
            vec!["dan", "cat"],
        ),
        (ask(format!("/api/v1/groups/{g}/join-requests"), false, "requests", "/user/username"), vec!["cat"]),
        (
            ask(
                format!("/api/v1/groups/{g}/invitations?filter={}&sort=-email", enc("email ~ '.com' && status = 'sent'")),
                false,
                "invitations",
                "/email",
            ),
            vec!["zed@example.com", "kim@example.com"],
        ),
        (
            ask(format!("/api/v1/groups/{g}/posts?filter={}&sort=title", enc("title !~ 'welcome'")), false, "posts", "/title"),
            vec!["Agenda", "Board notes"],
        ),
        (ask(format!("/api/v1/groups/{g}/posts"), false, "posts", "/title"), vec!["Board notes", "Agenda", "Welcome"]),
        (
            ask(format!("/api/v1/groups/{g}/subgroups?filter={}&sort=-name", enc("type = 'team'")), false, "subgroups", "/name"),
            vec!["Gamma team", "Alpha squad"],
        ),
        (
            ask(
                format!("/api/v1/audit?filter={}&sort=action", enc(&format!("group = '{g}' && action ~ 'member.'"))),
                true,
                "events",
                "/action",
            ),
            vec!["member.added"],
        ),
    ]
}

async fn picked(app: &TestApp, w: &World, a: &Ask, extra: &str) -> (Vec<String>, Value) {
    let auth = if a.admin { app.admin_key.clone() } else { w.owner.token.clone() };
    let sep = if a.path.contains('?') { '&' } else { '?' };
    let v = app.get(&format!("{}{sep}{extra}", a.path), &auth).await.expect(200);
    let items = v[a.key].as_array().unwrap_or_else(|| panic!("{} in {v}", a.key));
    (items.iter().map(|i| i.pointer(a.pick).and_then(Value::as_str).unwrap_or("").to_string()).collect(), v)
}

/// Every row of a list, one cursor page of `limit` at a time.
async fn walk(app: &TestApp, w: &World, a: &Ask, limit: usize) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (rows, v) = picked(app, w, a, &format!("limit={limit}&cursor={cursor}")).await;
        assert!(rows.len() <= limit);
        all.extend(rows);
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return all,
        }
    }
}

story!(every_list_filters_sorts_and_walks_by_cursor, |app: TestApp| async move {
    let w = world(&app).await;
    for (a, want) in asks(&w) {
        let (got, _) = picked(&app, &w, &a, "limit=100").await;
        // The audit trail holds one `member.added` per added member; the rest answer exactly.
        if a.key == "events" {
            assert!(!got.is_empty() && got.iter().all(|x| x == want[0]), "{}: {got:?}", a.path);
        } else {
            assert_eq!(got, want, "{}", a.path);
        }
        assert_eq!(walk(&app, &w, &a, 1).await, got, "{} walked by cursor", a.path);
    }
    let g = &w.group;
    for (path, admin) in [
        ("/api/v1/users".to_string(), true),
        ("/api/v1/spaces".to_string(), true),
        ("/api/v1/audit".to_string(), true),
        (format!("/api/v1/groups/{g}/members"), false),
        (format!("/api/v1/groups/{g}/users"), false),
        (format!("/api/v1/groups/{g}/join-requests"), false),
        (format!("/api/v1/groups/{g}/invitations"), false),
        (format!("/api/v1/groups/{g}/posts"), false),
        (format!("/api/v1/groups/{g}/subgroups"), false),
    ] {
        let auth = if admin { app.admin_key.clone() } else { w.owner.token.clone() };
        app.get(&format!("{path}?filter={}", enc("password_hash = 'x'")), &auth).await.error(400, "invalid_filter");
        app.get(&format!("{path}?filter={}", enc("id = ")), &auth).await.error(400, "invalid_filter");
        app.get(&format!("{path}?sort=password_hash"), &auth).await.error(400, "invalid_request");
        app.get(&format!("{path}?cursor=nonsense"), &auth).await.error(400, "invalid_request");
        app.get(&format!("{path}?sort_order=sideways"), &auth).await.error(400, "invalid_request");
    }
});

story!(every_list_names_its_filters, |app: TestApp| async move {
    let u = app.user("reader").await;
    for (list, field, sort_key) in [
        ("groups", "settings.max_members", "member_count"),
        ("subgroups", "type", "name"),
        ("members", "user.username", "username"),
        ("group-users", "email", "joined_at"),
        ("users", "site_role", "username"),
        ("spaces", "moderators", "name"),
        ("join-requests", "status", "submitted_at"),
        ("invitations", "expires_at", "email"),
        ("posts", "author", "title"),
        ("audit", "action", "at"),
    ] {
        let meta = app.get(&format!("/api/v1/filters/{list}"), &app.admin_key).await.expect(200);
        assert!(meta["fields"].as_array().unwrap().iter().any(|f| f["name"] == field), "{list} filters by {field}: {meta}");
        assert!(meta["sort_keys"].as_array().unwrap().iter().any(|k| k == sort_key), "{list} sorts by {sort_key}");
    }
    // A user sees the lists as they may use them: without other users' private fields.
    for (list, field) in [("users", "site_role"), ("users", "email"), ("group-users", "email"), ("members", "user.email")] {
        let meta = app.get(&format!("/api/v1/filters/{list}"), &u.token).await.expect(200);
        assert!(!meta["fields"].as_array().unwrap().iter().any(|f| f["name"] == field), "{list} shows {field} to a user: {meta}");
    }
    assert_eq!(
        app.get("/api/v1/filters/groups", &u.token).await.expect(200),
        app.get("/api/v1/groups/filters", &u.token).await.expect(200)
    );
    app.get("/api/v1/filters/passwords", &u.token).await.error(404, "not_found");
});

/// The same requests over the same world give the same rows on SQLite and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn filtered_lists_agree_across_databases() {
    let pg = TestApp::spawn_postgres().await.expect(crate::helpers::NO_POSTGRES);
    let lite = TestApp::spawn(Backend::Sqlite).await;
    let (wl, wp) = (world(&lite).await, world(&pg).await);
    let (al, ap) = (asks(&wl), asks(&wp));
    for ((a, _), (b, _)) in al.iter().zip(&ap) {
        let on_sqlite = picked(&lite, &wl, a, "limit=100").await.0;
        let on_postgres = picked(&pg, &wp, b, "limit=100").await.0;
        assert_eq!(on_sqlite, on_postgres, "{} differs between the databases", a.path);
    }
    // And the group lists with every operator kind.
    for f in [
        "name ~ 'a' && type != 'project'",
        "parent != null && (type = 'team' || name ~ 'beta')",
        "member_count >= 1",
        "created >= @todayStart && visibility = 'private'",
        "settings.require_approval = true || name !~ 'squad'",
    ] {
        let path = |w: &World| format!("/api/v1/groups?filter={}&sort=name", enc(&f.replace("{g}", &w.group)));
        let names = |v: Value| v["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let l = names(lite.get(&path(&wl), &lite.admin_key).await.expect(200));
        let p = names(pg.get(&path(&wp), &pg.admin_key).await.expect(200));
        assert!(!l.is_empty() || f.contains("private"), "{f} matches something");
        assert_eq!(l, p, "{f} differs between the databases");
    }
}

story!(user_search_follows_changes_in_users_and_members, |app: TestApp| async move {
    let w = world(&app).await;
    let found_as = |path: String, key: &'static str, auth: String| {
        let app = &app;
        async move {
            let v = app.get(&path, &auth).await.expect(200);
            let mut names: Vec<String> = v[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.pointer("/username").or(u.pointer("/user/username")).unwrap().as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    // The site sees and searches emails; a user searches names only, so no search tells
    // them whose address holds what.
    let found = |path: String, key: &'static str| found_as(path, key, app.admin_key.clone());
    let users = |term: &str| format!("/api/v1/users?search={}&limit=100", enc(term));
    assert_eq!(found(users("EXAMPLE.COM"), "users").await, ["ann", "ben", "cat", "dan"], "case-insensitive, in emails");
    assert_eq!(found_as(users("EXAMPLE.COM"), "users", w.owner.token.clone()).await, Vec::<String>::new(), "users do not search emails");
    assert_eq!(found_as(users("CAT"), "users", w.owner.token.clone()).await, ["cat"], "users search names");
    assert_eq!(found(users("nn"), "users").await, ["ann"], "short terms too");
    assert_eq!(found(users("CAT"), "users").await, ["cat"], "full names");
    assert_eq!(found(users("a%"), "users").await, Vec::<String>::new(), "wildcards are literal");
    let members = |term: &str| format!("/api/v1/groups/{}/members?search={}", w.group, enc(term));
    assert_eq!(found(members("ben@example"), "members").await, ["ben"]);
    assert_eq!(found(members("example"), "members").await, ["ann", "ben"], "only the group's members");
    assert_eq!(found_as(members("ben@example"), "members", w.owner.token.clone()).await, Vec::<String>::new(), "members search names only");
    let cat = app.get("/api/v1/users?search=cat%40", &app.admin_key).await.expect(200)["users"][0]["id"].as_str().unwrap().to_string();
    app.patch(&format!("/api/v1/users/{cat}"), &app.admin_key, json!({"username": "catherine", "email": "cathy@corp.test"}))
        .await
        .expect(200);
    assert_eq!(found(users("catherine"), "users").await, ["catherine"]);
    assert_eq!(found(users("cat@example"), "users").await, Vec::<String>::new(), "the old email is forgotten");
    app.delete(&format!("/api/v1/users/{cat}"), &app.admin_key).await.expect(200);
    assert_eq!(found(users("catherine"), "users").await, Vec::<String>::new());
});
