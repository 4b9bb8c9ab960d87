//! Seed 001's organizations: a space's groups as one record with their users, made and
//! replaced in one transaction each (a refused user leaves no group behind, and no half a
//! replacement).

use crate::App;
use cohort_core::Result;
use cohort_core::auth::Principal;
use cohort_core::group::{GroupInput, GroupPatch};
use cohort_core::model::Group;

impl App {
    /// Creates a group of `space_id` whose members are exactly `users` (the creator does not
    /// join); answers the group and its users.
    pub async fn create_listed_group(
        &self,
        p: &Principal,
        space_id: &str,
        input: GroupInput,
        users: &[String],
    ) -> Result<(Group, Vec<String>)> {
        let tx = self.begin().await?;
        let g = self.create_group_in(&tx, p, Some(space_id.to_string()), None, input, false).await?;
        let users = self.set_users_in(&tx, p, &g.id, users).await?;
        self.commit(tx).await?;
        Ok((g, users))
    }

    /// Replaces a group's fields (`patch`) and its members (exactly `users`) together.
    pub async fn replace_listed_group(
        &self,
        p: &Principal,
        id: &str,
        patch: GroupPatch,
        users: &[String],
        if_match: Option<i64>,
    ) -> Result<(Group, Vec<String>)> {
        let tx = self.begin().await?;
        let g = self.update_group_in(&tx, p, id, patch, if_match).await?;
        let users = self.set_users_in(&tx, p, id, users).await?;
        self.commit(tx).await?;
        Ok((g, users))
    }
}
