//! Cohort's domain core: what the product's things are and the rules they obey.
//!
//! Nothing here knows about HTTP or SQL. Surfaces parse callers' input into these types,
//! services ask [`policy`] who may do what, and storage keeps the records.
//!
//! - [`id`]: prefixed, time-ordered ids (`grp_…`, `usr_…`).
//! - [`time`]: instants and their RFC 3339 form.
//! - [`error`]: the one error every layer above speaks.
//! - [`list`]: sort terms and cursors for every list.
//! - [`filter`]: the list filter language (PocketBase syntax), parsed into a typed expression.
//! - [`mail`]: what the service's mail says (an invitation, with its accept link).
//! - [`model`]: users, spaces, groups, memberships, keys, audit events.
//! - [`input`]: validated values made from callers' input (names, roles, permissions).
//! - [`access`]: the in-memory access index that answers checks.
//! - [`auth`]: who is calling (principal) and what their scopes allow.
//! - [`group`]: the rules of a group's own fields (create, replace, merge).
//! - [`policy`]: who may do what, to a group and on the site.
//! - [`page`]: page arithmetic shared by every list.
//! - [`scim_filter`]: SCIM filters and PATCH paths (RFC 7644), parsed into a typed expression.
//! - [`throttle`]: how failed sign-ins slow down, per account and per client address.
//! - [`webhook`]: subscriptions to the change feed over HTTP: what they want, where they may
//!   deliver, how retries back off.

pub mod access;
pub mod auth;
pub mod directory;
pub mod error;
pub mod filter;
pub mod group;
pub mod id;
pub mod input;
pub mod list;
pub mod mail;
pub mod model;
pub mod page;
pub mod policy;
pub mod scim_filter;
pub mod throttle;
pub mod time;
pub mod webhook;

pub use error::{Error, Result};
