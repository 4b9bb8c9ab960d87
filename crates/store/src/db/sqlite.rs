//! SQLite: one writer connection (transactions begin IMMEDIATE, so other processes on the
//! same file wait their turn) and a small pool of readers, all in WAL mode. Requests that
//! queue for the writer share its transactions (group commit, see [`Writer`]).

use super::{Limits, Row, Value};
use crate::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

const READERS: usize = 8;

/// Milliseconds since the first use of this clock: what statement deadlines are kept in.
fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

const NO_DEADLINE: u64 = u64::MAX;

/// A connection that can be shared by reference across `await`s (rusqlite's is not `Sync`);
/// only one task uses it at a time, so the lock is never contended.
///
/// Statements run on the caller's thread, so a runaway one would hold that thread past any
/// request timeout: each call arms a deadline, and a progress handler interrupts the
/// statement once it has passed (SQLITE_INTERRUPT, answered as unavailable).
pub struct Shared {
    conn: Mutex<Connection>,
    deadline: Arc<AtomicU64>,
    limit: Duration,
}

impl Shared {
    fn new(conn: Connection, limit: Duration) -> Self {
        let deadline = Arc::new(AtomicU64::new(NO_DEADLINE));
        let watched = deadline.clone();
        conn.progress_handler(4000, Some(move || clock_ms() > watched.load(Ordering::Relaxed)));
        Shared { conn: Mutex::new(conn), deadline, limit }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(Some(self.limit), f)
    }

    /// Like [`Shared::with`] without the statement deadline (migrations).
    pub fn with_unlimited<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(None, f)
    }

    fn run<T>(&self, limit: Option<Duration>, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let guard = self.conn.lock().map_err(|_| StoreError::Other("sqlite connection poisoned".into()))?;
        let at = limit.map_or(NO_DEADLINE, |l| clock_ms() + l.as_millis() as u64);
        self.deadline.store(at, Ordering::Relaxed);
        let out = f(&guard);
        self.deadline.store(NO_DEADLINE, Ordering::Relaxed);
        out
    }

    fn into_inner(self) -> Option<Connection> {
        let Shared { conn, .. } = self;
        conn.into_inner().ok()
    }
}

/// The writer connection and the transaction that the requests queued for it share.
///
/// Group commit: a request's transaction is a savepoint in an SQLite transaction that stays
/// open while requests are queued for the writer. The first request to keep its changes
/// (release its savepoint) queues once more behind the others and commits them all when its
/// turn comes; each request answers only once that commit is done, so what it answered is on
/// disk as surely as if it had committed alone. A commit writes every page the transaction
/// changed into the WAL, and one add changes a dozen pages; requests added one after another
/// mostly change the same ones (the audit log's and the change log's last pages, the
/// indexes' hot pages), so one commit for many writes each page once.
///
/// The checkpointer, finding a shared transaction open while it holds the writer (so no
/// request is inside it), commits it before it copies the log.
///
/// A request that fails rolls back to its savepoint and leaves the others' changes alone. If
/// SQLite itself rolled the transaction back (an interrupted statement, a full disk), every
/// request in it is answered as unavailable.
///
/// The request that opens a shared transaction has nobody's changes to spare but its own, so
/// it takes no savepoint: its failure rolls the transaction back. (Under a savepoint SQLite
/// copies each page a request first changes into a statement journal, a tenth of one add's
/// work when it commits alone.)
pub struct Writer {
    conn: Shared,
    /// The number of the shared transaction now open, if one is.
    open: Option<u64>,
    /// Whether the request now holding the writer opened the transaction (and so runs
    /// without a savepoint).
    bare: bool,
    /// The last number given to a shared transaction.
    opened: u64,
    /// Those waiting for the open transaction's commit; the first of them commits it.
    waiting: Vec<tokio::sync::oneshot::Sender<Outcome>>,
    /// Shared transactions committed so far.
    commits: Arc<AtomicU64>,
}

/// How a shared transaction ended: committed, or why not.
type Outcome = Result<(), String>;

/// The savepoint each request's changes are kept under.
const SAVEPOINT: &str = "SAVEPOINT request";

/// Why every request of a shared transaction is told it failed when SQLite dropped it.
const LOST: &str = "the database rolled the transaction back";

impl Writer {
    fn new(conn: Shared) -> Self {
        Writer { conn, open: None, bare: false, opened: 0, waiting: Vec::new(), commits: Arc::new(AtomicU64::new(0)) }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.conn.with(f)
    }

    pub fn with_unlimited<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.conn.with_unlimited(f)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.conn.with(|c| Ok(c.execute_batch(sql)?))
    }

    /// Whether SQLite has rolled back the open transaction on its own.
    fn lost(&self) -> bool {
        self.open.is_some() && self.conn.with(|c| Ok(c.is_autocommit())).unwrap_or(true)
    }

    /// Begins a request's transaction: a savepoint in the open shared transaction, or in a
    /// new one.
    pub fn enter(&mut self) -> Result<(), StoreError> {
        if self.lost() {
            self.end(Err(LOST.into()));
        }
        if self.open.is_none() {
            self.batch("BEGIN IMMEDIATE")?;
            self.opened += 1;
            self.open = Some(self.opened);
            self.bare = true;
            return Ok(());
        }
        self.bare = false;
        if let Err(e) = self.batch(SAVEPOINT) {
            self.leave();
            return Err(e);
        }
        Ok(())
    }

    /// Ends a request's transaction without its changes.
    pub fn leave(&mut self) {
        if self.open.is_none() {
            return;
        }
        if self.bare {
            // It opened the transaction: nobody else's changes are in it.
            self.end(Err("rolled back".into()));
        } else if self.batch("ROLLBACK TO request; RELEASE request").is_err() || self.lost() {
            self.end(Err(LOST.into()));
        } else if self.waiting.is_empty() {
            // No other request has changes in it: nobody is told anything.
            self.end(Err("rolled back".into()));
        }
    }

    /// Keeps a request's changes in the shared transaction; answers when they are committed,
    /// and whether this request is the first to wait (and so must see to the commit).
    fn keep(&mut self) -> Result<(u64, bool, tokio::sync::oneshot::Receiver<Outcome>), StoreError> {
        let open = self.open.ok_or_else(|| StoreError::Other("no transaction is open".into()))?;
        if !self.bare
            && let Err(e) = self.batch("RELEASE request")
        {
            self.leave();
            return Err(e);
        }
        if self.lost() {
            self.end(Err(LOST.into()));
            return Err(StoreError::Unavailable(LOST.into()));
        }
        let (tell, told) = tokio::sync::oneshot::channel();
        self.waiting.push(tell);
        Ok((open, self.waiting.len() == 1, told))
    }

    /// Commits shared transaction `number` if it is still open.
    fn finish(&mut self, number: u64) {
        if self.open != Some(number) {
            return;
        }
        let done = self.batch("COMMIT").map_err(|e| e.to_string());
        if done.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        self.end(done);
    }

    /// The open shared transaction is over: tells those waiting for it how it ended. One that
    /// did not commit is rolled back here, whatever left it unfinished (a savepoint that could
    /// not be undone leaves SQLite's transaction open, and the next `BEGIN` would fail).
    fn end(&mut self, outcome: Outcome) {
        if outcome.is_err() {
            let _ = self.batch("ROLLBACK");
        }
        self.open = None;
        for w in self.waiting.drain(..) {
            let _ = w.send(outcome.clone());
        }
    }
}

/// Commits a request's transaction (see [`Writer`]): keeps its changes, hands the writer on
/// and waits for the shared commit. The commit is left to a task of its own, so that a
/// request dropped while it waits (its client gone) still sees the others' changes committed.
pub async fn commit(mut writer: tokio::sync::OwnedMutexGuard<Writer>) -> Result<(), StoreError> {
    let (number, first, told) = writer.keep()?;
    if first {
        let mutex = tokio::sync::OwnedMutexGuard::mutex(&writer).clone();
        tokio::spawn(async move { mutex.lock_owned().await.finish(number) });
    }
    drop(writer);
    match told.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Unavailable(format!("the commit failed: {e}"))),
        Err(_) => Err(StoreError::Unavailable("the commit was not seen through".into())),
    }
}

pub struct Sqlite {
    path: PathBuf,
    limits: Limits,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    commits: Arc<AtomicU64>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_slots: Arc<Semaphore>,
    /// Dropped with the database, which ends its checkpointer.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file on a thread of its own, every
/// [`CHECKPOINT_EVERY`], until `stop` is dropped. SQLite's own automatic checkpoint runs in
/// the commit that crosses 1,000 WAL pages, so one request in a few paid for the others'
/// pages (10 ms of a 10,000-member bulk add). Here the copying runs beside the writer; then
/// the few pages written meanwhile are copied with the writer held, so that its next
/// transaction finds the log fully copied and starts it again from the top (otherwise
/// under steady writes the WAL file only grows, and every frame is a write past its end).
fn start_checkpointer(
    path: &Path,
    limits: Limits,
    writer: Arc<tokio::sync::Mutex<Writer>>,
) -> Result<std::sync::mpsc::Sender<()>, StoreError> {
    let conn = open(path, limits)?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let checkpoint = |c: &Connection| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                match checkpoint(&conn) {
                    // Even when this pass copied every frame, a transaction under way appends
                    // more before the next one begins; with the writer held none is under way.
                    // (Holding it only when frames were left behind lets the WAL grow: the
                    // WAL test fails that way.)
                    Ok(frames) if frames > 0 => {
                        let mut held = writer.blocking_lock();
                        // A transaction open while the writer is free is one whose requests
                        // all wait for its commit: commit it now.
                        if let Some(open) = held.open {
                            held.finish(open);
                        }
                        if let Err(e) = held.with_unlimited(|c| checkpoint(c).map_err(StoreError::from)) {
                            tracing::debug!(error = %e, "checkpoint");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "checkpoint"),
                }
            }
        })
        .map_err(|e| StoreError::Other(format!("starting the checkpointer: {e}")))?;
    Ok(stop)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn open(path: &Path, limits: Limits) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Another process holding the write lock (the CLI, a second server) is waited for this
    // long, then the request is answered as unavailable.
    conn.busy_timeout(limits.pool_wait)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")?;
    // Reads map the file instead of copying pages through read(2) into each connection's own
    // cache: on a database larger than those caches, a list's row lookups stop being syscalls.
    conn.execute_batch("PRAGMA mmap_size = 4294967296;")?;
    // Without the planner stability guarantee, binding a parameter SQLite looks at while
    // planning (every list's `LIMIT ?`) expires the cached statement, so each list request
    // parsed and planned its SQL again. Plans here never hinge on a bound value: searches go
    // through the trigram index, and `~` patterns are `%…%`, which no index serves anyway.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

impl Sqlite {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn open(path: &Path, limits: Limits) -> Result<Self, StoreError> {
        let writer = open(path, limits)?;
        // A transaction's changed pages stay in the writer's cache until commit, and past
        // the cache's size spill into the WAL mid-transaction. The cache is allocated once
        // filled and kept: at 16 MB it was most of what a server grows by under writes (40,000
        // adds: RssAnon +24 MB, +9 MB at 4 MB), while a bulk add of 10,000 members (~8 MB of
        // pages) measured no slower at 4 MB than at 16 (`cohort-bench --writes`, runs side by
        // side). The default 2 MB spilled it.
        // The writer's statement journals spill past 64 KiB to an unlinked temp file rather
        // than growing in memory: a cascade delete of a group of ~3,300 members journals
        // ~30 MB of pages, and held in memory that stayed resident after it (RssAnon after
        // `cohort-bench --hot --only "one add"`: 78-115 MB in memory, 60 MB spilled; single
        // adds measured ~9% more CPU, for their group commit's savepoints spilling).
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -4096; PRAGMA temp_store = FILE")?;
        restrict_files(path);
        let writer = Writer::new(Shared::new(writer, limits.statement));
        let commits = writer.commits.clone();
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        Ok(Sqlite {
            commits,
            path: path.to_path_buf(),
            limits,
            _checkpointer: start_checkpointer(path, limits, writer.clone())?,
            writer,
            readers: Arc::new(Mutex::new(Vec::new())),
            reader_slots: Arc::new(Semaphore::new(READERS)),
        })
    }

    /// Transactions committed to the file so far, each holding one or more requests' changes.
    /// The readers: [`READERS`] at most, those not lent out idle (the writer is apart).
    pub fn pool(&self) -> super::PoolStats {
        let idle = self.reader_slots.available_permits();
        let open = self.readers.lock().map(|r| r.len()).unwrap_or(0) + (READERS - idle);
        super::PoolStats { open: open.min(READERS), idle: idle.min(open), max: READERS, waiting: 0 }
    }

    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// A copy of the database as of now (see [`Snapshot`]); the copying runs on a blocking
    /// thread.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let (path, limits) = (self.path.clone(), self.limits);
        tokio::task::spawn_blocking(move || Snapshot::take(&path, limits))
            .await
            .map_err(|e| StoreError::Other(format!("taking a snapshot: {e}")))?
    }

    /// The one writer; waits at most the pool limit for it.
    pub async fn writer(&self) -> Result<OwnedMutexGuard<Writer>, StoreError> {
        tokio::time::timeout(self.limits.pool_wait, self.writer.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable("waited too long for the database writer".into()))
    }

    pub async fn reader(&self) -> Result<Reader, StoreError> {
        let permit = tokio::time::timeout(self.limits.pool_wait, self.reader_slots.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("waited too long for a database reader".into()))?
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let pooled = self.readers.lock().map_err(|e| StoreError::Other(e.to_string()))?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => open(&self.path, self.limits)?,
        };
        Ok(Reader { conn: Some(Shared::new(conn, self.limits.statement)), home: self.readers.clone(), _permit: permit })
    }
}

/// A copy of the database file taken with SQLite's online backup API, for an export to read
/// at leisure; the copy is deleted when this is dropped.
///
/// The copy is made in one step (every page under one read transaction), so it is the
/// database as of one commit, while the server keeps writing (WAL: a reader blocks no
/// writer). Reading the live file for the whole export instead would hold that read
/// transaction for minutes, and the WAL could not be copied back and restarted meanwhile.
pub struct Snapshot {
    conn: Option<Shared>,
    path: PathBuf,
}

impl Snapshot {
    /// Copies `live` beside itself (in the data directory, which has the room and is private).
    pub fn take(live: &Path, limits: Limits) -> Result<Snapshot, StoreError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let mut name = live.as_os_str().to_owned();
        name.push(format!(".snapshot-{}-{nanos}", std::process::id()));
        let path = PathBuf::from(name);
        // Made empty and private before SQLite opens it: it will hold password hashes.
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&path).map_err(|e| StoreError::Other(format!("creating {}: {e}", path.display())))?;
        // From here the copy is removed on every way out.
        let mut snapshot = Snapshot { conn: None, path };
        let source = Connection::open_with_flags(live, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        source.busy_timeout(limits.pool_wait)?;
        let mut copy = Connection::open_with_flags(&snapshot.path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
            let deadline = Instant::now() + limits.pool_wait;
            loop {
                // -1: every page in this one step.
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    // Another connection holds a lock the copy needs (a checkpoint that
                    // truncates the WAL, say): wait for it a while.
                    _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                    _ => return Err(StoreError::Busy("the database stayed locked: no snapshot could be taken".into())),
                }
            }
        }
        snapshot.conn = Some(Shared::new(copy, limits.statement));
        Ok(snapshot)
    }

    /// Runs `f` on the copy, with no statement deadline: an export reads whole tables.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.conn.as_ref().ok_or_else(|| StoreError::Other("the snapshot is closed".into()))?.with_unlimited(f)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        drop(self.conn.take());
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

/// The database and its WAL and shared-memory files are the owner's alone (0600): they hold
/// password hashes and every record.
fn restrict_files(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut names = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            names.push(PathBuf::from(p));
        }
        for p in names.into_iter().filter(|p| p.exists()) {
            if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
                tracing::warn!(path = %p.display(), error = %e, "could not make the database file private");
            }
        }
    }
}

/// A reader connection borrowed from the pool; it goes back on drop.
pub struct Reader {
    conn: Option<Shared>,
    home: Arc<Mutex<Vec<Connection>>>,
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    pub fn conn(&self) -> Result<&Shared, StoreError> {
        self.conn.as_ref().ok_or_else(|| StoreError::Other("reader already returned".into()))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(shared) = self.conn.take()
            && let (Some(conn), Ok(mut home)) = (shared.into_inner(), self.home.lock())
        {
            // The next borrower installs its own deadline watcher.
            conn.progress_handler(0, None::<fn() -> bool>);
            home.push(conn);
        }
    }
}

fn read_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(text(t)),
    }
}

/// A column's text. Everything written here is UTF-8, and checking that is much faster than
/// the replacing decoder, which is kept for the file that holds something else.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn read_row(row: &rusqlite::Row<'_>, columns: usize) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(columns);
    for i in 0..columns {
        values.push(read_value(row.get_ref(i)?));
    }
    Ok(Row(values))
}

pub fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_row(row, columns)?);
    }
    Ok(out)
}

/// Hands each row to `each` as SQLite steps to it; answers how many there were.
pub fn for_each(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    each: &mut dyn FnMut(Row) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(read_row(row, columns)?)?;
        count += 1;
    }
    Ok(count)
}

pub fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, msg) = &e {
            if code.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(code.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            {
                return StoreError::Unique(msg.clone().unwrap_or_default());
            }
            if code.code == rusqlite::ErrorCode::DatabaseBusy || code.code == rusqlite::ErrorCode::DatabaseLocked {
                return StoreError::Busy(e.to_string());
            }
            if code.code == rusqlite::ErrorCode::OperationInterrupted {
                return StoreError::Unavailable("a statement ran past its time limit".into());
            }
        }
        StoreError::Other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn text_columns_read_as_written_and_bad_bytes_as_replacement_characters() {
        assert_eq!(text("café 名前".as_bytes()), "café 名前");
        assert_eq!(text(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(text(b""), "");
    }
}
