//! The reverse questions: who holds a permission, and who belongs to a group (and may do
//! what there) — answered from the access index, a page at a time in user id order.

use crate::App;
use cohort_core::access::{DIRECT, GroupCheck, GroupMember, Holder, Level, ReviewRow};
use cohort_core::auth::{Principal, Scope};
use cohort_core::policy::{Action, site};
use cohort_core::{Error, Result, input, time};

/// The most users one page holds, and how many it holds unless asked.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// A page of users, and where the next starts (none at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct WhoPage<T> {
    pub users: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The users after `cursor` (a user id), at most `limit`, of a list sorted by user id.
fn page<T>(all: Vec<T>, id: impl Fn(&T) -> &str, cursor: Option<&str>, limit: usize) -> Result<WhoPage<T>> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::validation("limit", format!("between 1 and {MAX_LIMIT}")));
    }
    let start = cursor.map_or(0, |c| all.partition_point(|x| id(x) <= c));
    let mut users: Vec<T> = all.into_iter().skip(start).take(limit + 1).collect();
    let more = users.len() > limit;
    users.truncate(limit);
    let next_cursor = more.then(|| users.last().map(|u| id(u).to_string())).flatten();
    Ok(WhoPage { users, next_cursor })
}

impl App {
    /// Every user who holds `permission`, with the groups it comes through — as far as the
    /// caller may read those groups (a user it could see through none is left out).
    pub async fn permission_users(
        &self,
        p: &Principal,
        permission: &str,
        cursor: Option<&str>,
        limit: usize,
        at_least: Option<i64>,
    ) -> Result<WhoPage<Holder>> {
        p.require(Scope::GroupsRead)?;
        let viewer = crate::groups::list_viewer(p, "who holds a permission")?;
        let permission = input::permission(permission)?;
        self.at_least(at_least).await?;
        let mut all = self.index().read(|idx| idx.permission_holders(&permission, time::now()));
        if viewer.is_some() {
            self.keep_readable_via(p, &mut all);
        }
        page(all, |h| &h.user_id, cursor, limit)
    }

    /// Every user who has `level` (or more) on a collection, with the groups it comes
    /// through (`direct` for a grant to the user) — as far as the caller may read those
    /// groups; a direct grant is shown to site-wide readers only.
    pub async fn collection_users(
        &self,
        p: &Principal,
        collection_id: &str,
        level: Level,
        cursor: Option<&str>,
        limit: usize,
        at_least: Option<i64>,
    ) -> Result<WhoPage<Holder>> {
        p.require(Scope::GroupsRead)?;
        let viewer = crate::groups::list_viewer(p, "who has a collection")?;
        if collection_id.is_empty() || collection_id.len() > 300 {
            return Err(Error::validation("collection_id", "1 to 300 characters"));
        }
        self.at_least(at_least).await?;
        let mut all = self.index().read(|idx| idx.collection_holders(collection_id, level, time::now()));
        if viewer.is_some() {
            // A grant to a user is no group's: the site's to see.
            all.iter_mut().for_each(|h| h.via.retain(|g| g != DIRECT));
            self.keep_readable_via(p, &mut all);
        }
        page(all, |h| &h.user_id, cursor, limit)
    }

    /// An access review of a space: every user's effective membership of each of its groups,
    /// with role, the membership it comes from and since when, and what the group gives.
    pub async fn access_review(&self, p: &Principal, space_id: &str) -> Result<Vec<(ReviewRow, Option<time::Millis>)>> {
        let c = self.read().await?;
        let moderator = self.level_moderator(&c, p, Some(space_id)).await?;
        site::review_access(p, moderator)?;
        let joined: std::collections::HashMap<(String, String), time::Millis> =
            cohort_store::members::joined_in_space(&c, space_id).await?.into_iter().map(|(g, u, t)| ((g, u), t)).collect();
        let rows = self.index().read(|idx| idx.access_review(space_id, time::now())).unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|r| {
                let since = joined.get(&(r.via.clone(), r.user_id.clone())).copied();
                (r, since)
            })
            .collect())
    }

    /// Narrows each holder's `via` to the groups the caller may read (each group decided
    /// once, however many holders it serves), and drops the holders left with none.
    fn keep_readable_via(&self, p: &Principal, all: &mut Vec<Holder>) {
        let mut groups: Vec<&str> = all.iter().flat_map(|h| h.via.iter().map(String::as_str)).collect();
        groups.sort_unstable();
        groups.dedup();
        let readable: std::collections::HashSet<String> = self.readable_groups(p, groups.into_iter()).into_iter().collect();
        for h in all.iter_mut() {
            h.via.retain(|g| readable.contains(g));
        }
        all.retain(|h| !h.via.is_empty());
    }

    /// Every user who effectively belongs to the group (and, given `what`, may do it there
    /// by their role), with their role and the group of the membership it comes from; for
    /// those who may read the group.
    pub async fn effective_members(
        &self,
        p: &Principal,
        group_id: &str,
        what: Option<GroupCheck>,
        cursor: Option<&str>,
        limit: usize,
        at_least: Option<i64>,
    ) -> Result<WhoPage<GroupMember>> {
        {
            let c = self.read().await?;
            self.load_for(&c, p, group_id, Action::Read).await?;
        }
        self.at_least(at_least).await?;
        let all = self.index().read(|idx| idx.group_members(group_id, what, time::now())).ok_or(Error::NotFound("group"))?;
        page(all, |m| &m.user_id, cursor, limit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_by_id() {
        let all: Vec<String> = (0..5).map(|i| format!("usr_{i}")).collect();
        let first = page(all.clone(), |s| s, None, 2).unwrap();
        assert_eq!((first.users.clone(), first.next_cursor.clone()), (vec!["usr_0".to_string(), "usr_1".into()], Some("usr_1".into())));
        let last = page(all.clone(), |s| s, Some("usr_3"), 2).unwrap();
        assert_eq!((last.users, last.next_cursor), (vec!["usr_4".to_string()], None));
        assert!(page(all, |s| s, None, 0).is_err());
    }
}
