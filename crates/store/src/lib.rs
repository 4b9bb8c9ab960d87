//! Cohort's storage: one set of queries for SQLite and PostgreSQL.
//!
//! - [`db`]: connections, transactions, values; `?` placeholders on both databases.
//! - [`filter`]: list filters compiled to parameterised SQL against a field whitelist.
//! - [`migrate`]: paired migrations, applied at start and by `cohort migrate`.
//! - [`backup`]: every table written from a consistent snapshot in one portable format, and
//!   loaded back into an empty database of either kind.
//! - [`scim`]: SCIM filters compiled to SQL, and the reads directory sync needs.
//! - the repositories ([`users`], [`spaces`], [`groups`], [`members`], [`keys`], [`audit`]):
//!   the SQL for each concept. They run inside a transaction the caller holds and never
//!   decide who may do what.

pub mod access;
pub mod audit;
pub mod backup;
pub mod catalogue;
pub mod db;
pub mod directory;
pub mod filter;
pub mod groups;
pub mod idempotency;
pub mod invitations;
pub mod keys;
pub mod list;
pub mod mail;
pub mod members;
pub mod migrate;
pub mod posts;
pub mod requests;
pub mod roles;
pub mod scim;
pub mod scope_sets;
pub mod search;
pub mod spaces;
pub mod throttle;
pub mod transfer;
pub mod user_collections;
pub mod users;
pub mod webhooks;

pub use db::{Backend, Conn, Db, Left, Limits, Notes, Row, Snapshot, Touch, Tx, Value};

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

/// Which uniqueness rule a row broke: read once here from either database's words (SQLite
/// names the table's columns, PostgreSQL the index), so every layer above sees a typed
/// conflict and none matches error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    GroupName,
    GroupExternalId,
    SpaceName,
    Username,
    Email,
    UserExternalId,
    Membership,
    PendingJoinRequest,
    ScopeSetName,
    /// Anything else unique (a secret's hash, a catalogue entry, a number).
    Other,
}

impl Taken {
    fn of(detail: &str) -> Taken {
        let on = |table: &str, column: &str| detail.contains(&format!("{table}.{column}")) || detail.contains(&format!("{table}_{column}"));
        if on("groups", "name_key") {
            Taken::GroupName
        } else if on("groups", "external_id") {
            Taken::GroupExternalId
        } else if on("scope_sets", "name_key") {
            Taken::ScopeSetName
        } else if on("spaces", "name_key") {
            Taken::SpaceName
        } else if on("users", "username") {
            Taken::Username
        } else if on("users", "email") {
            Taken::Email
        } else if on("users", "external_id") {
            Taken::UserExternalId
        } else if detail.contains("memberships") {
            Taken::Membership
        } else if detail.contains("join_requests") {
            Taken::PendingJoinRequest
        } else {
            Taken::Other
        }
    }

    /// The conflict a caller is answered.
    pub fn conflict(self) -> cohort_core::Error {
        use cohort_core::error::Conflict;
        let (kind, message) = match self {
            Taken::GroupName => (Conflict::NameTaken, "a group with that name already exists here"),
            Taken::GroupExternalId => (Conflict::Other, "a group with that external_id already exists in this space"),
            Taken::SpaceName => (Conflict::NameTaken, "a space with that name exists"),
            Taken::Username => (Conflict::Other, "that username is taken"),
            Taken::Email => (Conflict::Other, "that email is already in use"),
            Taken::UserExternalId => (Conflict::Other, "that external_id is already in use"),
            Taken::Membership => (Conflict::MemberExists, "User is already a member of this group"),
            Taken::PendingJoinRequest => (Conflict::Other, "a join request of yours is already pending"),
            Taken::ScopeSetName => (Conflict::NameTaken, "a scope set with that name already exists here"),
            Taken::Other => (Conflict::Other, "that already exists"),
        };
        cohort_core::Error::conflict(kind, message)
    }
}

impl StoreError {
    /// The uniqueness rule a unique violation broke.
    pub fn taken(&self) -> Option<Taken> {
        match self {
            StoreError::Unique(detail) => Some(Taken::of(detail)),
            _ => None,
        }
    }
}

impl From<StoreError> for cohort_core::Error {
    fn from(e: StoreError) -> Self {
        db::STATS.error(match &e {
            StoreError::Unique(_) => "unique",
            StoreError::Busy(_) | StoreError::Unavailable(_) => "unavailable",
            StoreError::Invalid(_) => "invalid",
            StoreError::Decode(_) | StoreError::Other(_) => "other",
        });
        match e {
            StoreError::Invalid(m) => cohort_core::Error::InvalidRequest(m),
            StoreError::Unique(detail) => Taken::of(&detail).conflict(),
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

/// The texts of one bound parameter (made by [`texts`]) as a table `alias` with one column,
/// `value`: any number of ids in one statement of one shape. A join against it is one index
/// probe per id on both databases, where `IN (?, ?, …)` of thousands is a new statement for
/// every length (parsed, planned and cached again) and runs into parameter limits. Join it
/// first with `CROSS JOIN`, which SQLite takes as "this table outer" (its planner otherwise
/// may walk the other table's rows and scan the list for each).
pub fn each(backend: Backend, alias: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_each(?) AS {alias}"),
        Backend::Postgres => format!("json_array_elements_text(CAST(? AS text)::json) AS {alias}(value)"),
    }
}

/// The one parameter [`each`] reads `items` from.
pub fn texts<S: AsRef<str>>(items: &[S]) -> Value {
    let list: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    Value::Text(serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()))
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

#[cfg(test)]
mod tests {
    use super::Taken;

    #[test]
    fn both_databases_words_name_the_same_rule() {
        let cases = [
            ("UNIQUE constraint failed: groups.space_id, groups.parent_key, groups.name_key", Taken::GroupName),
            ("groups_name_key_uq duplicate key value violates unique constraint \"groups_name_key_uq\"", Taken::GroupName),
            ("UNIQUE constraint failed: groups.space_id, groups.external_id", Taken::GroupExternalId),
            ("groups_external_id_uq duplicate key value", Taken::GroupExternalId),
            ("UNIQUE constraint failed: users.username_key", Taken::Username),
            ("users_username_key_uq duplicate key value", Taken::Username),
            ("UNIQUE constraint failed: users.email_key", Taken::Email),
            ("users_email_key_uq duplicate key value", Taken::Email),
            ("UNIQUE constraint failed: memberships.group_id, memberships.user_id", Taken::Membership),
            ("memberships_group_user_uq duplicate key value", Taken::Membership),
            ("UNIQUE constraint failed: join_requests.group_id, join_requests.user_id", Taken::PendingJoinRequest),
            ("UNIQUE constraint failed: spaces.name_key", Taken::SpaceName),
            ("UNIQUE constraint failed: scope_sets.space_key, scope_sets.name_key", Taken::ScopeSetName),
            ("scope_sets_name_key_uq duplicate key value", Taken::ScopeSetName),
            ("UNIQUE constraint failed: api_keys.key_hash", Taken::Other),
        ];
        for (detail, want) in cases {
            assert_eq!(Taken::of(detail), want, "{detail}");
        }
    }
}
