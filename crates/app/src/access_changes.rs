//! `access.changed`: for a change that may move what users hold (a membership, a group's
//! permissions, place or settings, a role, a user's record), one event per user whose
//! effective permissions it changed, with what they gained and lost.
//!
//! Worked out by the access index as it applies the change: it notes what the users held
//! just before the transaction's first change and just after its last, whichever way it
//! applies them ([`crate::index::Index::watch`]). The users, and what they held as the
//! transaction was made, are written with the change (`access_pending`), so a process that
//! stops between the commit and the events leaves them for any instance's sweep to finish
//! (comparing with what the users hold then).

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
        let Some(cause_seq) = touched.iter().map(|t| t.seq).max().filter(|_| !relevant.is_empty()) else { return Ok(None) };
        let first = touched.iter().map(|t| t.seq).min().unwrap_or(cause_seq);
        if !self.index.is_built() {
            return Ok(None);
        }
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
        self.index.watch(first, cause_seq, pending.before.iter().map(|(u, _)| u.clone()).collect());
        Ok(Some(pending))
    }

    /// After the commit (and the index applying it): one `access.changed` per user whose
    /// permissions differ from what they held, in one transaction with taking the entry away
    /// (so they are written once, by this process or a sweep).
    pub(crate) async fn finish_access(&self, p: AccessPending) -> Result<()> {
        let now = time::now();
        // What the index noted as it applied the change; else (a sweep, or the index did not
        // apply it whole) what the users held as the change was made, and hold now.
        let (held, after): (Vec<Vec<String>>, Vec<Vec<String>>) = match self.index.watched(p.cause_seq) {
            Some(w) => (w.before, w.after),
            None => (
                p.before.iter().map(|(_, h)| h.clone()).collect(),
                self.index.read(|idx| p.before.iter().map(|(u, _)| idx.permission_names(u, now)).collect()),
            ),
        };
        let tx = self.begin().await?;
        if !audit::take_access_pending(&tx, &p.id).await? {
            return Ok(());
        }
        for (((user, _), held), now_held) in p.before.iter().zip(held).zip(after) {
            let gained: Vec<&String> = now_held.iter().filter(|x| held.binary_search(x).is_err()).collect();
            let lost: Vec<&String> = held.iter().filter(|x| now_held.binary_search(x).is_err()).collect();
            let lost: Vec<String> = lost.into_iter().cloned().collect();
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
