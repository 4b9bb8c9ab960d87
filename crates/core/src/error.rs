//! The one error of the domain and of the services above it.
//!
//! Storage turns its failures into [`Error::Internal`] (or a conflict it recognises); each HTTP
//! surface renders an `Error` into its own body in one place. A variant's doc names the status
//! the native API gives it.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which 409 this is; the native API's `error` code is [`Conflict::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    MemberExists,
    NameTaken,
    LastOwner,
    HasSubgroups,
    /// Anything else already there: a username, an email, an external id, a pending request.
    Other,
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Conflict::MemberExists => "member_exists",
            Conflict::NameTaken => "name_taken",
            Conflict::LastOwner => "last_owner",
            Conflict::HasSubgroups => "has_subgroups",
            Conflict::Other => "conflict",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// 400 `invalid_request`: the request cannot be read (bad JSON, wrong type, unknown field).
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 `invalid_filter`.
    #[error("{message}")]
    InvalidFilter { message: String, position: usize },
    /// 401 `unauthenticated`.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403 `permission_denied`.
    #[error("{0}")]
    PermissionDenied(String),
    /// 404 `not_found`; the text names the kind of thing.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 with the conflict's code.
    #[error("{message}")]
    Conflict { kind: Conflict, message: String },
    /// 410 `invitation_expired`.
    #[error("{0}")]
    Gone(String),
    /// 412 `precondition_failed`.
    #[error("the resource has changed since it was read (version {current})")]
    PreconditionFailed { current: i64 },
    /// 413 `payload_too_large`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422 `validation_failed`, naming the field.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// 422 `group_full`.
    #[error("Group has reached maximum member limit")]
    GroupFull { max_members: i64, current_members: i64 },
    /// 422 `cycle`.
    #[error("a group cannot be moved under itself or its descendants")]
    Cycle,
    /// 429 `rate_limited`, with `Retry-After` (seconds).
    #[error("{message}")]
    RateLimited { retry_after: u64, message: String },
    /// 503 `unavailable`, with `Retry-After` (seconds): the database is slow or gone, or a
    /// request ran past its time. Nothing was changed.
    #[error("{message}")]
    Unavailable { retry_after: u64, message: String },
    /// 503 `not_ready`, with `Retry-After`: this instance has not yet applied the change a
    /// caller asked to see (`at_least_revision`), or is still building its access index.
    #[error("{message}")]
    NotReady { retry_after: u64, message: String },
    /// 500 `internal`: logged with detail, answered without it.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn conflict(kind: Conflict, message: impl fmt::Display) -> Self {
        Error::Conflict { kind, message: message.to_string() }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), message: message.into() }
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Error::PermissionDenied(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidRequest(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable { retry_after: 1, message: message.into() }
    }

    /// The seconds a caller should wait before trying again, for errors that say so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Unavailable { retry_after, .. } | Error::NotReady { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// Whether this error ends a whole batch (the database failed) rather than one item.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Internal(_) | Error::Unavailable { .. })
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }
}

/// An error and every cause under it, `: `-separated (a pool's "could not create" or an HTTP
/// client's "error sending request" says nothing until its cause, say "Connection refused",
/// is read too), each said once.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}
