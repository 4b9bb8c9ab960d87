//! No list does a full table scan: the query plans of the list statements, on SQLite always
//! and on PostgreSQL when `COHORT_TEST_DATABASE_URL` is set (with sequential scans
//! discouraged, so a missing index shows as a `Seq Scan`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_core::list::{Cursor, CursorValue, SortTerm};
use cohort_core::model::GroupType;
use cohort_store::groups::{self, GroupQuery, Viewer};
use cohort_store::list::{Conditions, ListSql, Listing, Paging, Source};
use cohort_store::{Backend, Conn, Db};

fn group_queries() -> Vec<(&'static str, GroupQuery, Listing)> {
    let first = Paging::Cursor { after: None, limit: 30, with_total: false };
    let deep = Paging::Cursor {
        after: Some(Cursor { sort: "-created_at".into(), values: vec![CursorValue::Int(1_700_000_000_000)], id: "grp_x".into() }),
        limit: 30,
        with_total: false,
    };
    let newest = vec![SortTerm { field: "created_at".into(), desc: true }];
    let by = |sort: &Vec<SortTerm>, paging: &Paging| Listing { sort: sort.clone(), paging: paging.clone(), ..Listing::default() };
    let space_team = GroupQuery { space_id: Some("spc_1".into()), group_type: Some(GroupType::Team), ..GroupQuery::default() };
    vec![
        ("space and type, newest first, first page", space_team.clone(), by(&newest, &first)),
        ("space and type, newest first, deep cursor", space_team, by(&newest, &deep)),
        (
            "filter expression space && type",
            GroupQuery::default(),
            Listing { filter: Some(cohort_core::filter::parse("space='spc_1' && type='team'").unwrap()), ..by(&newest, &deep) },
        ),
        ("search", GroupQuery { search: Some("engineering".into()), ..GroupQuery::default() }, by(&vec![], &first)),
        ("everything, oldest first", GroupQuery::default(), by(&vec![], &first)),
        (
            "a user's view",
            GroupQuery {
                viewer: Some(Viewer { user_id: Some("usr_1".into()), space_id: None, now: 0 }),
                space_id: Some("spc_1".into()),
                ..GroupQuery::default()
            },
            by(&vec![], &first),
        ),
        ("children of a group", GroupQuery { parent_id: Some(Some("grp_1".into())), ..GroupQuery::default() }, by(&vec![], &first)),
        ("groups of a member", GroupQuery { member: Some("usr_1".into()), ..GroupQuery::default() }, by(&vec![], &first)),
        (
            "a user's effective groups, by id",
            GroupQuery { ids: Some(vec!["grp_1".into(), "grp_2".into()]), ..GroupQuery::default() },
            by(&vec![], &first),
        ),
    ]
}

/// The other lists, in their default order, under the conditions their own builders put
/// on them (the ones the services call), searches planned through the trigram index.
fn other_queries(backend: Backend) -> Vec<(&'static str, &'static Source, Conditions)> {
    use cohort_core::list::MemberQuery;
    use cohort_core::model::{InvitationStatus, RequestStatus};
    use cohort_store::*;
    let index = Some(search::Plan::Index);
    let everyone = Listing::default();
    let searching = MemberQuery { search: Some("engineer".into()), ..MemberQuery::default() };
    let effective = MemberQuery { inherited_from: Some(vec!["grp_0".into()]), ..MemberQuery::default() };
    let audit_of = audit::AuditQuery { group_id: Some("grp_1".into()), ..audit::AuditQuery::default() };
    vec![
        ("members of a group", &members::LIST, members::conditions(backend, "grp_1", &MemberQuery::default(), &everyone, None)),
        ("effective members of a group", &members::LIST, members::conditions(backend, "grp_1", &effective, &everyone, None)),
        ("members of a group matching a search", &members::LIST, members::conditions(backend, "grp_1", &searching, &everyone, index)),
        ("users of a group", &members::USERS, members::user_conditions("grp_1")),
        ("users", &users::LIST, users::conditions(backend, None, &everyone, None)),
        ("users matching a search", &users::LIST, users::conditions(backend, Some("engineer"), &everyone, index)),
        ("spaces", &spaces::LIST, spaces::conditions(None)),
        ("join requests of a group", &requests::LIST, requests::conditions("grp_1", Some(RequestStatus::Pending))),
        ("invitations of a group", &invitations::LIST, invitations::conditions("grp_1", Some(InvitationStatus::Sent))),
        ("posts of a group", &posts::LIST, posts::conditions("grp_1")),
        ("audit trail", &audit::LIST, audit::conditions(&audit::AuditQuery::default())),
        ("audit trail of a group", &audit::LIST, audit::conditions(&audit_of)),
    ]
}

async fn plan(c: &Conn, sql: &str, args: &[cohort_store::Value]) -> Vec<String> {
    let explain = match c.backend() {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Backend::Postgres => format!("EXPLAIN {sql}"),
    };
    let col = if c.backend() == Backend::Sqlite { 3 } else { 0 };
    c.query(&explain, args).await.unwrap().iter().map(|r| r.get::<String>(col).unwrap()).collect()
}

fn scans(backend: Backend, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| match backend {
            // `SCAN g` is a full table scan; `SCAN g USING INDEX …` walks an index in order.
            // Any table: only the search's virtual table and its own index are walked whole.
            Backend::Sqlite => {
                let l = l.trim_start_matches(|c: char| !c.is_alphanumeric());
                l.starts_with("SCAN ") && !l.contains("USING") && !l.contains("VIRTUAL TABLE")
            }
            Backend::Postgres => l.contains("Seq Scan on"),
        })
        .cloned()
        .collect()
}

async fn check(db: &Db) {
    cohort_store::migrate::run(db).await.unwrap();
    let c = db.read().await.unwrap();
    if c.backend() == Backend::Postgres {
        c.batch("SET enable_seqscan = off").await.unwrap();
    }
    let mut statements: Vec<(&str, ListSql)> = Vec::new();
    for (name, q, listing) in group_queries() {
        statements.push((name, groups::list_sql(c.backend(), &q, &listing).unwrap()));
    }
    for (name, src, cond) in other_queries(c.backend()) {
        let listing = Listing { paging: Paging::Cursor { after: None, limit: 30, with_total: false }, ..Listing::default() };
        statements.push((name, cohort_store::list::statements(src, cond, &listing).unwrap()));
    }
    let mut failures = Vec::new();
    for (name, sql) in statements {
        let lines = plan(&c, &sql.page, &sql.page_args).await;
        println!("{name}:\n  {}", lines.join("\n  "));
        let bad = scans(c.backend(), &lines);
        if !bad.is_empty() {
            failures.push(format!("{name}: {bad:?}"));
        }
    }
    assert!(failures.is_empty(), "full scans: {failures:#?}");
}

#[tokio::test]
async fn lists_use_indexes_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("cohort-plans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    check(&Db::sqlite(&dir.join("plans.db")).unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
async fn lists_use_indexes_on_postgres() {
    let base = std::env::var("COHORT_TEST_DATABASE_URL").expect("COHORT_TEST_DATABASE_URL is not set: a PostgreSQL test cannot run");
    let name = format!("cohort_t_plans_{}", std::process::id());
    let admin = Db::postgres(&base, 1).unwrap();
    let conn = admin.read().await.unwrap();
    conn.batch(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
    conn.batch(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (head, _) = base.rsplit_once('/').unwrap();
    check(&Db::postgres(&format!("{head}/{name}"), 2).unwrap()).await;
}
