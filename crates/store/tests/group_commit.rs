//! SQLite's writer lets the requests queued for it share one transaction (group commit):
//! each keeps or drops its own changes as if it had been alone, and what a request was told
//! is committed is committed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_store::{Db, StoreError};
use std::time::Duration;

/// Commits, failing (rather than hanging) when nothing sees the commit through.
async fn committed(tx: cohort_store::Tx) {
    tokio::time::timeout(Duration::from_secs(10), tx.commit()).await.expect("the commit was left waiting").unwrap();
}

/// A new database with one table `t` of keys.
async fn fresh(name: &str) -> (std::path::PathBuf, Db) {
    let dir = std::env::temp_dir().join(format!("cohort-group-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::sqlite(&dir.join("g.db")).unwrap();
    let tx = db.begin().await.unwrap();
    tx.batch("CREATE TABLE t (k TEXT PRIMARY KEY)").await.unwrap();
    committed(tx).await;
    (dir, db)
}

async fn keys(db: &Db) -> Vec<String> {
    let rows = db.read().await.unwrap().query("SELECT k FROM t ORDER BY k", &[]).await.unwrap();
    rows.into_iter().map(|r| r.get::<String>(0).unwrap()).collect()
}

/// After an abandoned request: the next transaction begins, and commits alone what it wrote
/// (`why`: what is asserted); then the database is dropped with its directory.
async fn the_writer_is_free_and_clean(db: Db, dir: std::path::PathBuf, why: &str) {
    let tx = db.begin().await.expect("the next transaction begins");
    tx.execute("INSERT INTO t (k) VALUES ('next')", &[]).await.unwrap();
    committed(tx).await;
    assert_eq!(keys(&db).await, vec!["next".to_string()], "{why}");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_each_keep_or_drop_their_own_changes() {
    let (dir, db) = fresh("mixed").await;
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
                        committed(tx).await;
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
    let (dir, db) = fresh("dropped").await;
    // The checkpointer commits a shared transaction it finds open, and now and then it does
    // so before the first poll below is over: then the case was not tried, and is again.
    let mut tried = 0;
    for round in 0..20 {
        let (one, two) = (format!("first{round:02}"), format!("second{round:02}"));
        let first = db.begin().await.unwrap();
        first.execute("INSERT INTO t (k) VALUES (?)", &[one.clone().into()]).await.unwrap();
        // A second request queues for the writer behind the first.
        let second = {
            let (db, two) = (db.clone(), two.clone());
            tokio::spawn(async move {
                let tx = db.begin().await.unwrap();
                tx.execute("INSERT INTO t (k) VALUES (?)", &[two.into()]).await.unwrap();
                committed(tx).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The first request's commit is polled once (its changes kept, the writer handed
        // on), then dropped, as when its client goes away: the shared commit must still
        // happen.
        let mut commit = Box::pin(first.commit());
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(commit.as_mut().poll(cx))).await;
        drop(commit);
        tokio::time::timeout(Duration::from_secs(5), second).await.expect("the second request was left waiting").unwrap();
        let present = keys(&db).await;
        assert!(present.contains(&one) && present.contains(&two), "round {round}: {present:?}");
        if polled.is_pending() {
            tried += 1;
            if tried == 3 {
                break;
            }
        }
    }
    assert_eq!(tried, 3, "the commit was never left waiting after its first poll");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_savepoint_is_gone_does_not_wedge_the_writer() {
    let (dir, db) = fresh("wedged").await;
    // The first request keeps its changes; a second, queued behind it, shares its
    // transaction under a savepoint. Something inside the second ends that savepoint (here,
    // by hand); undoing the second then fails, and the shared transaction must still end
    // (its first request told it was not committed) so that the next one can begin.
    let first = db.begin().await.unwrap();
    first.execute("INSERT INTO t (k) VALUES ('kept')", &[]).await.unwrap();
    let second = {
        let db = db.clone();
        tokio::spawn(async move {
            let tx = db.begin().await.unwrap();
            tx.execute("INSERT INTO t (k) VALUES ('lost')", &[]).await.unwrap();
            tx.batch("RELEASE request").await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let told = tokio::time::timeout(Duration::from_secs(10), first.commit()).await.expect("the first request was left waiting");
    assert!(matches!(told, Err(StoreError::Unavailable(_))), "{told:?}");
    tokio::time::timeout(Duration::from_secs(5), second).await.expect("the second request was left waiting").unwrap();
    the_writer_is_free_and_clean(db, dir, "the abandoned transaction left nothing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_opened_the_transaction_and_ended_it_does_not_wedge_the_writer() {
    let (dir, db) = fresh("ended").await;
    // The request that opens a transaction runs without a savepoint; something inside it
    // ends the transaction (here, by hand). Dropping the request must still leave the writer
    // free for the next.
    let tx = db.begin().await.unwrap();
    tx.execute("INSERT INTO t (k) VALUES ('lost')", &[]).await.unwrap();
    tx.batch("ROLLBACK").await.unwrap();
    drop(tx);
    the_writer_is_free_and_clean(db, dir, "the abandoned request left nothing").await;
}
