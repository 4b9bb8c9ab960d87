//! `access.changed`: for a change that may move what users hold (a membership, a group's
//! permissions, place or settings, a role, a user's record), one event per user whose
//! effective permissions it changed, with what they gained and lost.
//!
//! Worked out around the change's commit. Before it, from the access index caught up to
//! just before the change: every earlier change is committed, since the transaction holds
//! the change log's counter. After it, from the index once the change is applied. The users
//! and what they held are written with the change (`access_pending`), so a process that
//! stops between the commit and the events leaves them for any instance's sweep to finish.

use crate::App;
use cohort_core::model::AuditEvent;
use cohort_core::{Result, id, time};
use cohort_store::Conn;
use cohort_store::audit::{self, AccessPending};

/// The most users one change's `access.changed` events are worked out for; a change that
/// may move more (a permission of a group of a hundred thousand) is left without them.
pub const MAX_USERS: usize = 10_000;

/// How old an entry must be for the sweep to finish it (its process would have long since).
const STALE: time::Millis = 30 * time::SECOND;

/// Whether a change of this kind may move users' permissions.
fn moves_access(kind: &str) -> bool {
    let family = kind.split('.').next().unwrap_or("");
    matches!(family, "member" | "group" | "permissions" | "role" | "user")
}

impl App {
    /// Before a transaction commits: the users its changes may move, and what they hold now,
    /// written with it. `None` when it changes no one's access.
    pub(crate) async fn watch_access(&self, tx: &Conn) -> Result<Option<AccessPending>> {
        let (touched, members) = tx.touched();
        let relevant: Vec<_> = touched.iter().filter(|t| moves_access(&t.kind)).collect();
        let Some(cause_seq) = relevant.iter().map(|t| t.seq).max() else { return Ok(None) };
        if !self.index.is_built() {
            return Ok(None);
        }
        // Everything before this transaction's changes is committed (it holds the counter):
        // the index, caught up, is the world just before them.
        self.index.catch_up(&self.db, |rows| self.credentials.observe(rows)).await?;
        let now = time::now();
        let group_id = relevant.iter().find_map(|t| t.group_id.clone());
        let before = self.index.read(|idx| {
            let mut users: Vec<String> = members.clone();
            for t in &relevant {
                match (t.kind.split('.').next(), &t.group_id, &t.user_id) {
                    (Some("member"), _, Some(u)) | (Some("user"), _, Some(u)) => users.push(u.clone()),
                    (Some("group" | "permissions" | "role"), Some(g), _) => match idx.users_around(g, MAX_USERS) {
                        Some(around) => users.extend(around),
                        None => return None,
                    },
                    _ => {}
                }
                if users.len() > MAX_USERS * 2 {
                    users.sort_unstable();
                    users.dedup();
                }
            }
            users.sort_unstable();
            users.dedup();
            (users.len() <= MAX_USERS).then(|| users.into_iter().map(|u| (idx.permission_names(&u, now), u)).map(|(p, u)| (u, p)).collect())
        });
        let Some(before): Option<Vec<(String, Vec<String>)>> = before else {
            tracing::warn!(
                revision = cause_seq,
                "a change moves the access of more than {MAX_USERS} users: no access.changed events for it"
            );
            return Ok(None);
        };
        if before.is_empty() {
            return Ok(None);
        }
        let pending = AccessPending { id: id::new(id::Kind::Event), at: now, cause_seq, group_id, before };
        audit::insert_access_pending(tx, &pending).await?;
        Ok(Some(pending))
    }

    /// After the commit (and the index applying it): one `access.changed` per user whose
    /// permissions differ from what they held, in one transaction with taking the entry away
    /// (so they are written once, by this process or a sweep).
    pub(crate) async fn finish_access(&self, p: AccessPending) -> Result<()> {
        let now = time::now();
        let after: Vec<Vec<String>> = self.index.read(|idx| p.before.iter().map(|(u, _)| idx.permission_names(u, now)).collect());
        let tx = self.begin().await?;
        if !audit::take_access_pending(&tx, &p.id).await? {
            return Ok(());
        }
        for ((user, held), now_held) in p.before.iter().zip(after) {
            let gained: Vec<&String> = now_held.iter().filter(|x| held.binary_search(x).is_err()).collect();
            let lost: Vec<&String> = held.iter().filter(|x| now_held.binary_search(x).is_err()).collect();
            if gained.is_empty() && lost.is_empty() {
                continue;
            }
            let e = AuditEvent {
                id: id::new(id::Kind::Event),
                at: now,
                actor_id: None,
                action: "access.changed".into(),
                target_type: "user".into(),
                target_id: user.clone(),
                group_id: p.group_id.clone(),
                before: None,
                after: Some(serde_json::json!({"gained": gained, "lost": lost, "caused_by": p.cause_seq})),
            };
            audit::record(&tx, &e, Some(user)).await?;
        }
        // Its own events move no one's access: nothing to watch.
        self.commit_only(tx).await?;
        Ok(())
    }

    /// Finishes what processes that stopped after a commit left (see the module's note).
    pub(crate) async fn sweep_access_pending(&self) -> Result<()> {
        if !self.index.is_built() {
            return Ok(());
        }
        self.sync().await?;
        let stale = audit::stale_access_pending(&self.read().await?, time::now() - STALE).await?;
        for p in stale {
            self.finish_access(p).await?;
        }
        Ok(())
    }
}
