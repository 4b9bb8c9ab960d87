//! SQLite's writer lets the requests queued for it share one transaction (group commit):
//! each keeps or drops its own changes as if it had been alone, and what a request was told
//! is committed is committed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_store::{Db, StoreError};
use std::time::Duration;

fn fresh(name: &str) -> (std::path::PathBuf, Db) {
    let dir = std::env::temp_dir().join(format!("cohort-group-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::sqlite(&dir.join("g.db")).unwrap();
    (dir, db)
}

async fn keys(db: &Db) -> Vec<String> {
    let rows = db.read().await.unwrap().query("SELECT k FROM t ORDER BY k", &[]).await.unwrap();
    rows.into_iter().map(|r| r.get::<String>(0).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_each_keep_or_drop_their_own_changes() {
    let (dir, db) = fresh("mixed");
    let tx = db.begin().await.unwrap();
    tx.batch("CREATE TABLE t (k TEXT PRIMARY KEY)").await.unwrap();
    tx.commit().await.unwrap();
    let before = db.sqlite_commits().unwrap();

    let n = 300;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let tx = db.begin().await.unwrap();
                tx.execute("INSERT INTO t (k) VALUES (?)", &[format!("k{i:03}").into()]).await.unwrap();
                tx.execute("INSERT INTO t (k) VALUES (?)", &[format!("k{i:03}b").into()]).await.unwrap();
                tokio::task::yield_now().await;
                match i % 3 {
                    // Rolled back by being dropped.
                    0 => false,
                    // A statement fails (a duplicate key), then the request gives up.
                    1 => {
                        let dup = tx.execute("INSERT INTO t (k) VALUES (?)", &[format!("k{i:03}").into()]).await;
                        assert!(matches!(dup, Err(StoreError::Unique(_))), "{dup:?}");
                        false
                    }
                    _ => {
                        tx.commit().await.unwrap();
                        true
                    }
                }
            })
        })
        .collect();
    let mut expected = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if tokio::time::timeout(Duration::from_secs(30), t).await.expect("a request was left waiting").unwrap() {
            expected.push(format!("k{i:03}"));
            expected.push(format!("k{i:03}b"));
        }
    }
    expected.sort();
    assert_eq!(keys(&db).await, expected, "exactly the committed requests' rows, both of each");
    let commits = db.sqlite_commits().unwrap() - before;
    println!("{} requests committed in {commits} transactions", n / 3);
    assert!(commits < n / 3, "{commits} transactions for {} committed requests: none were shared", n / 3);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_caller_gives_up_waiting_still_lands_with_the_others() {
    let (dir, db) = fresh("dropped");
    let tx = db.begin().await.unwrap();
    tx.batch("CREATE TABLE t (k TEXT PRIMARY KEY)").await.unwrap();
    tx.commit().await.unwrap();

    let first = db.begin().await.unwrap();
    first.execute("INSERT INTO t (k) VALUES ('first')", &[]).await.unwrap();
    // A second request queues for the writer behind the first.
    let second = {
        let db = db.clone();
        tokio::spawn(async move {
            let tx = db.begin().await.unwrap();
            tx.execute("INSERT INTO t (k) VALUES ('second')", &[]).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The first request's commit is polled once (its changes kept, the writer handed on),
    // then dropped, as when its client goes away: the shared commit must still happen.
    let mut commit = Box::pin(first.commit());
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(commit.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "the commit should have been left waiting: {polled:?}");
    drop(commit);
    tokio::time::timeout(Duration::from_secs(5), second).await.expect("the second request was left waiting").unwrap();
    assert_eq!(keys(&db).await, vec!["first".to_string(), "second".to_string()]);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
