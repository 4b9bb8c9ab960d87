//! Posts and recorded activity: the SQL, and the counts analytics needs.

use crate::db::{Conn, Row};
use crate::filter::{Field, Kind};
use crate::list::{ColKind, Conditions, Listing, SortColumn, Source};
use crate::{StoreError, params};
use cohort_core::model::Post;
use cohort_core::page::Page;

const COLS: &str = "p.id, p.group_id, p.author_id, p.title, p.body, p.created_at, p.updated_at";
const NCOLS: usize = 7;

fn from_row(r: &Row) -> Result<Post, StoreError> {
    Ok(Post {
        id: r.get(0)?,
        group_id: r.get(1)?,
        author_id: r.get(2)?,
        title: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

pub async fn insert(c: &Conn, p: &Post) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO posts (id, group_id, author_id, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![p.id.as_str(), p.group_id.as_str(), p.author_id.clone(), p.title.clone(), p.body.as_str(), p.created_at, p.updated_at],
    )
    .await?;
    Ok(())
}

pub async fn get(c: &Conn, id: &str) -> Result<Option<Post>, StoreError> {
    c.query_opt(&format!("SELECT {COLS} FROM posts p WHERE p.id = ?"), &params![id]).await?.map(|r| from_row(&r)).transpose()
}

pub async fn delete(c: &Conn, id: &str) -> Result<u64, StoreError> {
    c.execute("DELETE FROM posts WHERE id = ?", &params![id]).await
}

/// What posts may be filtered by.
pub static FIELDS: &[Field] = &[
    Field { name: "id", kind: Kind::Text, sql: "p.id" },
    Field { name: "author", kind: Kind::Text, sql: "p.author_id" },
    Field { name: "author_id", kind: Kind::Text, sql: "p.author_id" },
    Field { name: "title", kind: Kind::Text, sql: "p.title" },
    Field { name: "body", kind: Kind::Text, sql: "p.body" },
    Field { name: "created_at", kind: Kind::Time, sql: "p.created_at" },
    Field { name: "created", kind: Kind::Time, sql: "p.created_at" },
    Field { name: "updated_at", kind: Kind::Time, sql: "p.updated_at" },
    Field { name: "updated", kind: Kind::Time, sql: "p.updated_at" },
];

/// What posts may be sorted by.
pub static SORT: &[SortColumn] = &[
    SortColumn { names: &["created_at", "created"], sql: "p.created_at", kind: ColKind::Int },
    SortColumn { names: &["updated_at", "updated"], sql: "p.updated_at", kind: ColKind::Int },
    SortColumn { names: &["title"], sql: "COALESCE(p.title, '')", kind: ColKind::Text },
    SortColumn { names: &["id"], sql: "p.id", kind: ColKind::Text },
];

pub static LIST: Source =
    Source { from: "posts p", cols: &[COLS], ncols: NCOLS, id: "p.id", fields: FIELDS, sort: SORT, default_sort: "-created_at" };

/// A group's posts, newest first unless asked otherwise.
pub async fn list(c: &Conn, group_id: &str, listing: &Listing) -> cohort_core::Result<Page<Post>> {
    crate::list::fetch(c, &LIST, conditions(group_id), listing, from_row).await
}

/// What [`list`] narrows [`LIST`] to.
pub fn conditions(group_id: &str) -> Conditions {
    let mut cond = Conditions::new();
    cond.and("p.group_id = ?", [group_id.into()]);
    cond
}

pub async fn record_activity(c: &Conn, id: &str, group_id: &str, user_id: Option<&str>, kind: &str, at: i64) -> Result<(), StoreError> {
    c.execute("INSERT INTO activity (id, group_id, user_id, type, at) VALUES (?, ?, ?, ?, ?)", &params![id, group_id, user_id, kind, at])
        .await?;
    Ok(())
}

/// Marks a member active now (posting and recorded activity both count).
pub async fn touch_member(c: &Conn, group_id: &str, user_id: &str, at: i64) -> Result<(), StoreError> {
    c.execute("UPDATE memberships SET last_active = ? WHERE group_id = ? AND user_id = ?", &params![at, group_id, user_id]).await?;
    Ok(())
}

/// Posts plus recorded activity of type `message` in `[from, to)`.
pub async fn messages_between(c: &Conn, group_id: &str, from: i64, to: i64) -> Result<i64, StoreError> {
    let posts: i64 = c
        .query_one("SELECT COUNT(*) FROM posts WHERE group_id = ? AND created_at >= ? AND created_at < ?", &params![group_id, from, to])
        .await?
        .get(0)?;
    let msgs: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM activity WHERE group_id = ? AND type = 'message' AND at >= ? AND at < ?",
            &params![group_id, from, to],
        )
        .await?
        .get(0)?;
    Ok(posts + msgs)
}

/// Recorded activity of one type in `[from, to)`.
pub async fn activity_between(c: &Conn, group_id: &str, kind: &str, from: i64, to: i64) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM activity WHERE group_id = ? AND type = ? AND at >= ? AND at < ?", &params![group_id, kind, from, to])
        .await?
        .get(0)
}

/// Active members whose `last_active` falls at or after `since`.
pub async fn active_members_since(c: &Conn, group_id: &str, since: i64) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM memberships WHERE group_id = ? AND status = 'active' AND last_active >= ?", &params![group_id, since])
        .await?
        .get(0)
}
