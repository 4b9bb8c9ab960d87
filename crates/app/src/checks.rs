//! The questions applications ask often: which groups, which permissions, which collections,
//! and "may this user do this?" — answered from the access index.

use crate::App;
use crate::stats::{CheckKind, CheckOutcome};
use cohort_core::access::{CollectionAccess, Decision, EffectiveGroup, Explanation, GroupCheck, HeldView, Level};
use cohort_core::auth::Principal;
use cohort_core::{Error, Result, time};

/// One question for `POST /check`.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Permission { user_id: String, permission: String },
    Group { user_id: String, group_id: String, action: GroupCheck },
    Collection { user_id: String, collection_id: String, level: Level },
}

impl Check {
    fn user_id(&self) -> &str {
        match self {
            Check::Permission { user_id, .. } | Check::Group { user_id, .. } | Check::Collection { user_id, .. } => user_id,
        }
    }
}

/// The most checks one batch may ask.
pub const MAX_BATCH: usize = 1000;

/// How long a check waits for `at_least_revision` before answering 503 `not_ready`.
pub const AT_LEAST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl App {
    /// Who may ask about `user_id`: the user themself, or site-wide readers of groups or users.
    fn may_ask_about(&self, p: &Principal, user_id: &str) -> Result<()> {
        cohort_core::policy::site::ask_about_user(p, user_id)
    }

    /// Waits until this instance has applied change `revision` (read-your-writes across
    /// instances), following the change log for at most [`AT_LEAST_WAIT`]; then 503
    /// `not_ready` — an answer from before the caller's own write would be wrong. Asked only
    /// once the caller may have the answer: nobody makes the instance wait for a refusal.
    pub(crate) async fn at_least(&self, revision: Option<i64>) -> Result<()> {
        let Some(want) = revision else { return Ok(()) };
        let deadline = tokio::time::Instant::now() + AT_LEAST_WAIT;
        loop {
            if self.index().revision() >= want {
                return Ok(());
            }
            self.sync().await?;
            if self.index().revision() >= want {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::NotReady {
                    retry_after: 1,
                    message: format!("this instance has applied changes up to {}, not yet {want}; try again", self.index().revision()),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The index knows every user: no query is needed to say one does not exist.
    fn known_user(&self, user_id: &str) -> Result<()> {
        if self.index().read(|idx| idx.knows_user(user_id)) { Ok(()) } else { Err(Error::NotFound("user")) }
    }

    /// Who may ask about `user_id`, then (at `at_least` revision) whether the user exists.
    pub(crate) async fn about_user(&self, p: &Principal, user_id: &str, at_least: Option<i64>) -> Result<()> {
        self.may_ask_about(p, user_id)?;
        self.at_least(at_least).await?;
        self.known_user(user_id)
    }

    /// The groups a user belongs to (directly, or also through inheritance with `effective`),
    /// with the membership each comes from. Whoever may ask about the user sees them all.
    pub async fn user_groups(
        &self,
        p: &Principal,
        user_id: &str,
        effective: bool,
        at_least: Option<i64>,
    ) -> Result<Vec<(cohort_core::model::Group, EffectiveGroup)>> {
        self.about_user(p, user_id, at_least).await?;
        let mut found = self.index().read(|idx| idx.effective_groups(user_id, time::now()));
        if !effective {
            found.retain(|e| e.direct);
        }
        let ids: Vec<String> = found.iter().map(|e| e.group_id.clone()).collect();
        let mut records = cohort_store::groups::by_ids(&self.read().await?, &ids).await?;
        // Oldest first, as every group list.
        records.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut by_id: std::collections::HashMap<String, EffectiveGroup> = found.into_iter().map(|e| (e.group_id.clone(), e)).collect();
        Ok(records.into_iter().filter_map(|g| by_id.remove(&g.id).map(|e| (g, e))).collect())
    }

    /// Every permission the user holds, handed to `f` as it stands in the index (so that an
    /// answer is written from it without copying each name first).
    pub async fn user_permissions<R>(
        &self,
        p: &Principal,
        user_id: &str,
        at_least: Option<i64>,
        f: impl FnOnce(&HeldView<'_>) -> R,
    ) -> Result<R> {
        self.about_user(p, user_id, at_least).await?;
        Ok(self.index().read(|idx| f(&idx.held_view(user_id, time::now()))))
    }

    pub async fn user_collections(&self, p: &Principal, user_id: &str, at_least: Option<i64>) -> Result<Vec<CollectionAccess>> {
        self.about_user(p, user_id, at_least).await?;
        Ok(self.index().read(|idx| idx.user_collections(user_id, time::now())))
    }

    /// Answers checks in order, from memory, each on its own: a user who does not exist is
    /// 404 `user`, a group that does not exist (or that a user asking about themself cannot
    /// see) 404 `group` — a typo must not read as "denied". At most [`MAX_BATCH`] at once.
    /// Why `user_id` holds `permission` (each way, from membership to the group that grants
    /// it), or the nearest thing that would give it them.
    pub async fn explain_permission(&self, p: &Principal, user_id: &str, permission: &str, at_least: Option<i64>) -> Result<Explanation> {
        self.may_ask_about(p, user_id)?;
        self.at_least(at_least).await?;
        let sees_all = p.is_superuser(cohort_core::auth::Scope::GroupsRead);
        self.index().read(|idx| idx.explain_permission(user_id, permission, time::now(), sees_all)).ok_or(Error::NotFound("user"))
    }

    pub async fn check(&self, p: &Principal, checks: &[Check], at_least: Option<i64>) -> Result<Vec<Result<Decision>>> {
        if checks.len() > MAX_BATCH {
            return Err(Error::validation("checks", format!("at most {MAX_BATCH} checks at once")));
        }
        for c in checks {
            self.may_ask_about(p, c.user_id())?;
        }
        self.at_least(at_least).await?;
        let sees_all = p.is_superuser(cohort_core::auth::Scope::GroupsRead);
        let now = time::now();
        Ok(self.index().read(|idx| {
            checks
                .iter()
                .map(|c| {
                    let unknown = || Error::NotFound("user");
                    let answer = match c {
                        Check::Permission { user_id, permission } => idx.check_permission(user_id, permission, now).ok_or_else(unknown),
                        Check::Group { user_id, group_id, action } => {
                            if !idx.knows_user(user_id) {
                                return Err(unknown());
                            }
                            idx.check_group_seen(user_id, group_id, *action, now, sees_all).ok_or(Error::NotFound("group"))
                        }
                        Check::Collection { user_id, collection_id, level } => {
                            idx.check_collection(user_id, collection_id, *level, now).ok_or_else(unknown)
                        }
                    };
                    let kind = match c {
                        Check::Permission { .. } => CheckKind::Permission,
                        Check::Group { .. } => CheckKind::Group,
                        Check::Collection { .. } => CheckKind::Collection,
                    };
                    let outcome = match &answer {
                        Ok(d) if d.allowed => CheckOutcome::Allowed,
                        Ok(_) => CheckOutcome::Denied,
                        Err(_) => CheckOutcome::Unknown,
                    };
                    self.stats().checked(kind, outcome);
                    answer
                })
                .collect()
        }))
    }
}
