//! Reading the audit trail.

use crate::App;
use cohort_core::Result;
use cohort_core::auth::Principal;
use cohort_core::list::Listing;
use cohort_core::model::AuditEvent;
use cohort_core::page::Page;
use cohort_core::policy::site;
pub use cohort_store::audit::AuditQuery;

impl App {
    /// Site administrators read the whole trail.
    pub async fn audit(&self, p: &Principal, q: &AuditQuery, listing: &Listing) -> Result<Page<AuditEvent>> {
        site::read_audit(p)?;
        cohort_store::audit::list(&self.read().await?, q, listing).await
    }
}
