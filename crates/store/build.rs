//! Tests that need PostgreSQL are built as ignored — reported as skipped, not passed —
//! unless `COHORT_TEST_DATABASE_URL` names a server when they are built.

fn main() {
    println!("cargo::rerun-if-env-changed=COHORT_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var("COHORT_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
