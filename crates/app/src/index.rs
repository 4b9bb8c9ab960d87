//! Keeps the in-memory [`AccessIndex`] in step with the database.
//!
//! At start the index is built from the tables after noting the change log's last
//! sequence; from then on it applies change-log rows in order, reloading what each row names.
//! A service catches up right after its own commit (read-your-writes on this instance); a
//! background poll picks up what other processes wrote.
//!
//! A process starts with an empty index that is not yet built ([`Index::is_built`]): a
//! server listens at once and answers 503 `not_ready` until [`Index::build`] ends; commands
//! that need no index (creating a key or a user, migrating) never build it.

use cohort_core::Result;
use cohort_core::access::{AccessIndex, Builder};
use cohort_store::access::{self, ChangeRow};
use cohort_store::{Conn, Db, Notes};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{PoisonError, RwLock};

pub struct Index {
    data: RwLock<AccessIndex>,
    applied: AtomicI64,
    built: AtomicBool,
    /// One catch-up at a time, so rows apply in order.
    catching_up: tokio::sync::Mutex<()>,
    /// Transactions of this process whose effect on users' permissions is wanted, by their
    /// last change (see [`Index::watch`]).
    watches: std::sync::Mutex<std::collections::HashMap<i64, Watch>>,
    watching: std::sync::atomic::AtomicUsize,
}

/// Users whose permissions a transaction's changes (`first..=last`) may move: what they
/// held just before the first was applied, and just after the last.
struct Watch {
    first: i64,
    users: Vec<String>,
    before: Option<Vec<Vec<String>>>,
    after: Option<Vec<Vec<String>>>,
}

/// What a watched transaction did to its users' permissions: each user, with what they held
/// before and after.
pub struct Watched {
    pub users: Vec<String>,
    pub before: Vec<Vec<String>>,
    pub after: Vec<Vec<String>>,
}

const BATCH: i64 = 1000;
/// Rows a page while building: small, so what the pages leave behind once filed is small.
const PAGE: i64 = 2_000;
/// Rows between two progress lines in the log.
const PROGRESS: usize = 200_000;

/// A page of rows on its way from the tables to the index being built.
enum Page {
    Groups(Vec<cohort_core::access::GroupNode>),
    Users(Vec<(String, bool)>),
    Memberships(Vec<cohort_store::Row>),
    Spaces(Vec<(String, Vec<String>)>),
    /// Collections granted to users directly, by user.
    Grants(Vec<cohort_store::user_collections::DirectGrant>),
}

/// Reads every table a page at a time into `pages`; answers how many groups and
/// memberships it read.
async fn read_pages(c: &Conn, pages: &std::sync::mpsc::SyncSender<Page>, started: std::time::Instant) -> Result<(usize, usize)> {
    // The filer only stops early on an error, which `build` reports.
    let send = |p: Page| pages.send(p).map_err(|_| cohort_core::Error::internal("the index filer stopped"));
    let mut groups = 0usize;
    let mut after = String::new();
    loop {
        let page = access::groups_page(c, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        groups += page.len();
        send(Page::Groups(page))?;
        if groups.is_multiple_of(PROGRESS) {
            tracing::info!(groups, seconds = started.elapsed().as_secs_f64(), "access index: loading groups");
        }
    }
    tracing::info!(groups, seconds = started.elapsed().as_secs_f64(), "access index: groups loaded");
    send(Page::Users(access::all_users(c).await?))?;
    let mut memberships = 0usize;
    let mut after = (String::new(), String::new());
    loop {
        let page = access::memberships_page(c, (&after.0, &after.1), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = access::membership_row(last, |u, m| (u.to_string(), m.group_id.to_string()))?;
        memberships += page.len();
        send(Page::Memberships(page))?;
        if memberships.is_multiple_of(PROGRESS) {
            tracing::info!(memberships, seconds = started.elapsed().as_secs_f64(), "access index: loading memberships");
        }
    }
    tracing::info!(memberships, seconds = started.elapsed().as_secs_f64(), "access index: memberships loaded");
    send(Page::Spaces(access::space_moderators(c).await?.into_iter().collect()))?;
    send(Page::Grants(cohort_store::user_collections::all(c).await?))?;
    Ok((groups, memberships))
}

/// Files pages into a new index until the reader is done; answers it and how many users.
fn file_pages(pages: std::sync::mpsc::Receiver<Page>) -> Result<(AccessIndex, usize)> {
    let mut b = Builder::at(cohort_core::time::now());
    let mut users = 0;
    for page in pages {
        match page {
            Page::Groups(list) => list.into_iter().for_each(|g| b.group(g)),
            Page::Users(list) => {
                users = list.len();
                for (u, admin) in list {
                    b.user(&u, admin);
                }
            }
            Page::Memberships(rows) => {
                for r in &rows {
                    access::membership_row(r, |u, m| b.membership_ref(u, m))?;
                }
            }
            Page::Spaces(list) => list.into_iter().for_each(|(s, mods)| b.space(&s, mods)),
            Page::Grants(list) => {
                for run in list.chunk_by(|a, b| a.user_id == b.user_id) {
                    let grants: Vec<_> = run.iter().map(|g| g.grant.clone()).collect();
                    b.direct_grants(&run[0].user_id, &grants);
                }
            }
        }
    }
    Ok((b.finish(), users))
}

/// Applies what changes left of memberships, in order, each run of one group's as one step
/// (a bulk add's thousands of members merge into the group's list once).
fn put_runs(idx: &mut AccessIndex, left: Vec<cohort_store::Left>) {
    let mut run: Vec<(String, Option<cohort_core::access::DirectMembership>)> = Vec::new();
    let mut group: Option<String> = None;
    for (g, u, m) in left {
        if group.as_ref().is_some_and(|cur| *cur != g) {
            if let Some(cur) = group.take() {
                idx.put_memberships(&cur, &run);
            }
            run.clear();
        }
        group = Some(g);
        run.push((u, m));
    }
    if let Some(cur) = group {
        idx.put_memberships(&cur, &run);
    }
}

impl Index {
    /// An index not yet built: it applies no changes until [`Index::build`].
    pub fn empty() -> Index {
        Index {
            data: RwLock::new(AccessIndex::new()),
            applied: AtomicI64::new(0),
            built: AtomicBool::new(false),
            catching_up: tokio::sync::Mutex::new(()),
            watches: Default::default(),
            watching: Default::default(),
        }
    }

    /// Asks for what changes `first..=last` (one transaction's, not yet committed) do to
    /// `users`' permissions: whichever way the index applies them, it notes what the users
    /// held just before the first and just after the last ([`Index::watched`]).
    pub fn watch(&self, first: i64, last: i64, users: Vec<String>) {
        let mut w = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        w.insert(last, Watch { first, users, before: None, after: None });
        self.watching.store(w.len(), Ordering::Release);
    }

    /// Takes what was noted for the transaction whose last change is `last`; `None` when it
    /// was not (yet) applied whole.
    pub fn watched(&self, last: i64) -> Option<Watched> {
        let mut w = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = w.remove(&last);
        self.watching.store(w.len(), Ordering::Release);
        let t = taken?;
        Some(Watched { users: t.users, before: t.before?, after: t.after? })
    }

    /// Before change `seq` is applied: notes what the users of a watch it starts hold.
    fn before_change(&self, seq: i64) {
        self.note_watches(|w| (w.first == seq && w.before.is_none()).then_some(&mut w.before));
    }

    /// After change `seq` is applied: notes what the users of a watch it ends hold.
    fn after_change(&self, seq: i64) {
        if self.watching.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut w = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(watch) = w.get_mut(&seq) {
            watch.after = Some(self.held(&watch.users));
        }
    }

    fn note_watches(&self, slot: impl Fn(&mut Watch) -> Option<&mut Option<Vec<Vec<String>>>>) {
        if self.watching.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut w = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        for watch in w.values_mut() {
            let users = watch.users.clone();
            if let Some(s) = slot(watch) {
                *s = Some(self.held(&users));
            }
        }
    }

    /// What each user holds now (permission names, sorted).
    fn held(&self, users: &[String]) -> Vec<Vec<String>> {
        let now = cohort_core::time::now();
        self.read(|idx| users.iter().map(|u| idx.permission_names(u, now)).collect())
    }

    /// Whether change `seq` starts or ends a watch.
    fn watched_edge(&self, seq: i64) -> bool {
        if self.watching.load(Ordering::Acquire) == 0 {
            return false;
        }
        let w = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        w.contains_key(&seq) || w.values().any(|x| x.first == seq)
    }

    /// Whether the index has been built and may answer.
    pub fn is_built(&self) -> bool {
        self.built.load(Ordering::Acquire)
    }

    /// Builds the index from the tables, logging what it loaded and how long it took, and
    /// from then on follows the change log from the position noted before the first read.
    /// Tables are read a page at a time while another thread files each page into the
    /// index, so reading and filing overlap and a large table never sits in memory twice.
    pub async fn build(&self, db: &Db) -> Result<()> {
        let _turn = self.catching_up.lock().await;
        let started = std::time::Instant::now();
        let c = db.read().await?;
        let seq = access::last_seq(&c).await?;
        let (pages, filed) = std::sync::mpsc::sync_channel::<Page>(2);
        let filer = tokio::task::spawn_blocking(move || file_pages(filed));
        let read = read_pages(&c, &pages, started).await;
        drop(pages);
        let (idx, users) = filer.await.map_err(cohort_core::Error::internal)??;
        let (groups, memberships) = read?;
        let bytes = idx.bytes();
        *self.data.write().unwrap_or_else(PoisonError::into_inner) = idx;
        self.applied.store(seq, Ordering::Release);
        self.built.store(true, Ordering::Release);
        tracing::info!(
            users,
            groups,
            memberships,
            revision = seq,
            index_bytes = bytes,
            bytes_per_membership = bytes / memberships.max(1),
            seconds = started.elapsed().as_secs_f64(),
            "access index built"
        );
        Ok(())
    }

    /// Runs `f` against the current index.
    pub fn read<T>(&self, f: impl FnOnce(&AccessIndex) -> T) -> T {
        let guard = self.data.read().unwrap_or_else(PoisonError::into_inner);
        f(&guard)
    }

    /// The last change applied.
    pub fn revision(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Applies every change committed since the last one applied, showing each batch of
    /// rows to `observe` too; answers the revision.
    pub async fn catch_up(&self, db: &Db, observe: impl Fn(&[ChangeRow])) -> Result<i64> {
        let _turn = self.catching_up.lock().await;
        if !self.is_built() {
            return Ok(self.revision());
        }
        self.refresh_expired();
        let c = db.read().await?;
        loop {
            let from = self.applied.load(Ordering::Acquire);
            let rows = access::changes_after(&c, from, BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else { return Ok(from) };
            self.apply_all(&c, &rows).await?;
            observe(&rows);
            self.applied.store(last, Ordering::Release);
            if (rows.len() as i64) < BATCH {
                return Ok(last);
            }
        }
    }

    /// After a commit of this process's: when the transaction's changes are the next ones to
    /// apply and each is one whose memberships it noted (see `Conn::note_memberships`), they
    /// are applied from the notes, in order, without reading anything back; otherwise this
    /// catches up from the change log as [`Index::catch_up`] does.
    pub async fn apply_committed(&self, db: &Db, mut notes: Notes, observe: impl Fn(&[ChangeRow])) -> Result<i64> {
        {
            let _turn = self.catching_up.lock().await;
            let from = self.applied.load(Ordering::Acquire);
            let seqs = &mut notes.changes;
            seqs.sort_unstable();
            let next_in_line = seqs.first() == Some(&(from + 1)) && seqs.windows(2).all(|w| w[1] == w[0] + 1);
            if self.is_built()
                && next_in_line
                && seqs.iter().all(|s| notes.memberships.contains_key(s))
                && let Some(&last) = seqs.last()
            {
                self.refresh_expired();
                let left: Vec<_> = seqs.iter().flat_map(|s| notes.memberships.remove(s).unwrap_or_default()).collect();
                for &s in seqs.iter() {
                    self.before_change(s);
                }
                put_runs(&mut self.data.write().unwrap_or_else(PoisonError::into_inner), left);
                for &s in seqs.iter() {
                    self.after_change(s);
                }
                self.applied.store(last, Ordering::Release);
                return Ok(last);
            }
        }
        self.catch_up(db, observe).await
    }

    /// Prunes memberships that have expired out of the kept lists, if any has.
    fn refresh_expired(&self) {
        let now = cohort_core::time::now();
        if self.read(|idx| idx.refresh_due(now)) {
            let users = self.data.write().unwrap_or_else(PoisonError::into_inner).refresh_expired(now);
            tracing::debug!(users, "access index: expired memberships pruned");
        }
    }

    /// Applies rows in order; runs of membership changes are reloaded with one query per
    /// few hundred (a bulk change of thousands of members is thousands of rows).
    async fn apply_all(&self, c: &Conn, rows: &[ChangeRow]) -> Result<()> {
        let mut pending: Vec<(String, String)> = Vec::new();
        for row in rows {
            // A watched transaction's edges are applied on their own, so what its users held
            // is noted exactly before its first change and after its last.
            let edge = self.watched_edge(row.seq);
            if edge {
                self.flush(c, &mut pending).await?;
                self.before_change(row.seq);
                self.apply_one(c, row, &mut pending).await?;
                self.flush(c, &mut pending).await?;
                self.after_change(row.seq);
                continue;
            }
            self.apply_one(c, row, &mut pending).await?;
        }
        self.flush(c, &mut pending).await
    }

    /// Applies one row: a membership change joins `pending` (applied in runs), anything else
    /// is applied now, after what is pending.
    async fn apply_one(&self, c: &Conn, row: &ChangeRow, pending: &mut Vec<(String, String)>) -> Result<()> {
        let family = row.kind.split('.').next().unwrap_or("");
        if row.kind == cohort_store::audit::MEMBER_BATCH {
            if let Some(g) = &row.group_id {
                for u in cohort_store::audit::batch_users(c, &row.entity_id).await? {
                    pending.push((g.clone(), u));
                }
            }
            return Ok(());
        }
        if matches!(family, "member" | "join_request" | "invitation") {
            if let (Some(g), Some(u)) = (&row.group_id, &row.user_id) {
                pending.push((g.clone(), u.clone()));
            }
            return Ok(());
        }
        self.flush(c, pending).await?;
        self.apply(c, row).await
    }

    async fn flush(&self, c: &Conn, pending: &mut Vec<(String, String)>) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        pending.sort();
        pending.dedup();
        let mut found: std::collections::HashMap<(String, String), _> =
            access::memberships_of(c, pending).await?.into_iter().map(|(u, m)| ((m.group_id.clone(), u), m)).collect();
        let left: Vec<_> = pending
            .drain(..)
            .map(|(g, u)| {
                let m = found.remove(&(g.clone(), u.clone()));
                (g, u, m)
            })
            .collect();
        put_runs(&mut self.data.write().unwrap_or_else(PoisonError::into_inner), left);
        Ok(())
    }

    /// Applies one change that is not a membership's ([`Index::apply_all`] batches those).
    async fn apply(&self, c: &Conn, row: &ChangeRow) -> Result<()> {
        let family = row.kind.split('.').next().unwrap_or("");
        match family {
            "group" | "permissions" | "role" => {
                let gid = row.group_id.as_deref().unwrap_or(&row.entity_id);
                let node = access::group(c, gid).await?;
                let mut idx = self.data.write().unwrap_or_else(PoisonError::into_inner);
                match node {
                    Some(n) => idx.put_group(n),
                    None => idx.remove_group(gid),
                }
            }
            "user" => {
                let uid = row.user_id.as_deref().unwrap_or(&row.entity_id);
                let found = access::user(c, uid).await?;
                let grants: Vec<_> = cohort_store::user_collections::of_user(c, uid).await?.into_iter().map(|g| g.grant).collect();
                let mut idx = self.data.write().unwrap_or_else(PoisonError::into_inner);
                match found {
                    Some((admin, list)) => {
                        idx.put_user(uid, admin, list);
                        idx.put_direct_grants(uid, &grants);
                    }
                    None => idx.remove_user(uid),
                }
            }
            "space" => {
                let mods = access::space(c, &row.entity_id).await?;
                let mut idx = self.data.write().unwrap_or_else(PoisonError::into_inner);
                match mods {
                    Some(m) => idx.put_space(&row.entity_id, m),
                    None => idx.remove_space(&row.entity_id),
                }
            }
            _ => {}
        }
        Ok(())
    }
}
