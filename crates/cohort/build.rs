//! Tests that need PostgreSQL are built as ignored — reported as skipped, not passed —
//! unless `COHORT_TEST_DATABASE_URL` names a server when they are built (and those of its TLS
//! unless `COHORT_TEST_DATABASE_TLS_CA` names its certificate's CA); those that need
//! OpenLDAP's `slapd` likewise unless it is installed.

fn main() {
    println!("cargo::rerun-if-env-changed=COHORT_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var("COHORT_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
    // Connections to PostgreSQL over TLS: the CA of the test server's certificate (issued to
    // `localhost`), given when the tests are built.
    println!("cargo::rerun-if-env-changed=COHORT_TEST_DATABASE_TLS_CA");
    println!("cargo::rustc-check-cfg=cfg(postgres_tls_tests)");
    if std::env::var("COHORT_TEST_DATABASE_TLS_CA").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tls_tests");
    }
    // Likewise the directory sync tests, which start a real OpenLDAP server (Debian's
    // `slapd`, which `.ci/run` installs).
    println!("cargo::rerun-if-changed={SLAPD}");
    println!("cargo::rustc-check-cfg=cfg(slapd_tests)");
    if std::path::Path::new(SLAPD).exists() {
        println!("cargo::rustc-cfg=slapd_tests");
    }
}

const SLAPD: &str = "/usr/sbin/slapd";
