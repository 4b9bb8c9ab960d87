//! Reading the audit trail.

use crate::App;
use cohort_core::Result;
use cohort_core::auth::{Principal, Scope};
use cohort_core::model::AuditEvent;
use cohort_core::page::{Page, PageRequest};
pub use cohort_store::audit::AuditQuery;

impl App {
    /// Site administrators read the whole trail.
    pub async fn audit(&self, p: &Principal, q: &AuditQuery, page: PageRequest) -> Result<Page<AuditEvent>> {
        p.require_superuser(Scope::Admin)?;
        Ok(cohort_store::audit::list(&self.read().await?, q, page).await?)
    }
}
