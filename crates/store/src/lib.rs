//! Cohort's storage: one set of queries for SQLite and PostgreSQL.
//!
//! - [`db`]: connections, transactions, values; `?` placeholders on both databases.
//! - [`filter`]: list filters compiled to parameterised SQL against a field whitelist.
//! - [`migrate`]: paired migrations, applied at start and by `cohort migrate`.
//! - [`scim`]: SCIM filters compiled to SQL, and the reads directory sync needs.
//! - the repositories ([`users`], [`spaces`], [`groups`], [`members`], [`keys`], [`audit`]):
//!   the SQL for each concept. They run inside a transaction the caller holds and never
//!   decide who may do what.

pub mod access;
pub mod audit;
pub mod catalogue;
pub mod db;
pub mod filter;
pub mod groups;
pub mod idempotency;
pub mod invitations;
pub mod keys;
pub mod list;
pub mod members;
pub mod migrate;
pub mod posts;
pub mod requests;
pub mod roles;
pub mod scim;
pub mod search;
pub mod spaces;
pub mod throttle;
pub mod users;

pub use db::{Backend, Conn, Db, Limits, Row, Tx, Value};

/// What can go wrong below the domain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused a row; the text names the index or its columns.
    #[error("unique constraint: {0}")]
    Unique(String),
    /// The database was busy or a transaction had to give way; worth one more try.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database is gone, or did not answer in time (a pool wait, a statement or a lock
    /// timeout); nothing was changed and the request may be tried again.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A value no database can take (text with NUL); the caller's input is at fault.
    #[error("{0}")]
    Invalid(String),
    #[error("decoding a row: {0}")]
    Decode(String),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Whether a unique violation came from the index or column named `name`.
    pub fn is_unique_on(&self, name: &str) -> bool {
        matches!(self, StoreError::Unique(detail) if detail.contains(name))
    }
}

impl From<StoreError> for cohort_core::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => cohort_core::Error::InvalidRequest(m),
            StoreError::Busy(m) | StoreError::Unavailable(m) => {
                tracing::warn!(detail = %m, "database unavailable");
                cohort_core::Error::unavailable("the database is busy or unavailable; try again shortly")
            }
            other => cohort_core::Error::Internal(other.to_string()),
        }
    }
}

/// Reads a JSON array of strings kept in a text column.
pub fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Writes a list of strings as a JSON array for a text column.
pub fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Turns rows fetched with `LIMIT limit + 1` into a page.
pub fn page_of<T>(
    mut rows: Vec<Row>,
    page: cohort_core::page::PageRequest,
    total: Option<i64>,
    decode: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<cohort_core::page::Page<T>, StoreError> {
    let has_more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(cohort_core::page::Page { items, total, page: page.page, limit: page.limit, has_more, next_cursor: None })
}

/// `%term%` for a case-insensitive LIKE, with the wildcards in `term` escaped (`ESCAPE '\'`).
pub fn like_pattern(term: &str) -> String {
    let mut out = String::from("%");
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
