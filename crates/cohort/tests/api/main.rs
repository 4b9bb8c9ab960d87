//! The HTTP story of Cohort: every test starts the real server on port 0 over a fresh
//! database and speaks HTTP to it. Each story runs on SQLite, and on PostgreSQL when
//! `COHORT_TEST_DATABASE_URL` names a server (a fresh database is made per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod every_list;
mod helpers;
mod hostile;
mod idempotency;
mod ldap;
mod lists;
mod mail;

mod access;
mod atomic;
mod auth;
mod authz;
mod authz_matrix;
mod backup;
mod changes;
mod cli;
mod concurrency;
mod conditional;
mod console;
mod cross_surface;
mod errors;
mod groups;
mod members;
mod metrics;
mod openapi;
mod realtime;
mod resilience;
mod revisions;
mod scim;
mod scope_sets;
mod security;
mod seed000_pocketbase;
mod seed001_organizations;
mod seed002_compat;
mod seed003;
mod seed003_workflows;
mod seed004_scoped_admin;
mod spaces_users;
mod transfer;
mod webhooks;
mod who;
