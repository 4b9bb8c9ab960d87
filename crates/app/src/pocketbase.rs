//! The services seed 000's PocketBase-style surface needs beyond the native ones: memberships
//! addressed by their own id across groups, a group's owners as its "moderators", joining
//! one's own membership, and token refresh. The rules stay those of the core.

use crate::App;
use crate::members::{MemberPatch, NewMember};
use crate::requests::Filed;
use cohort_core::auth::{Principal, Scope};
use cohort_core::group::GroupPatch;
use cohort_core::list::Listing;
use cohort_core::model::{Group, Member, Membership, Visibility};
use cohort_core::page::Page;
use cohort_core::policy::Action;
use cohort_core::policy::site;
use cohort_core::{Error, Result};
use cohort_store::members;
use std::collections::HashMap;

impl App {
    /// Memberships in every group the caller can see, filtered and sorted.
    pub async fn list_memberships(&self, p: &Principal, listing: &Listing) -> Result<Page<Member>> {
        p.require(Scope::GroupsRead)?;
        let viewer = crate::groups::list_viewer(p, "memberships")?;
        members::list_visible(&self.read().await?, viewer.as_ref(), &listing.seen_by(site::sees_all_users(p))).await
    }

    /// One membership by its id, if the caller can see its group.
    pub async fn membership(&self, p: &Principal, id: &str) -> Result<Member> {
        let c = self.read().await?;
        let m = members::by_id(&c, id).await?.ok_or(Error::NotFound("membership"))?;
        self.load_for(&c, p, &m.membership.group_id, Action::Read).await.map_err(|_| Error::NotFound("membership"))?;
        Ok(m)
    }

    /// Changes a membership named by its id; `if_match` is the version the caller read.
    pub async fn update_membership(&self, p: &Principal, id: &str, patch: MemberPatch, if_match: Option<i64>) -> Result<Membership> {
        let m = self.membership(p, id).await?;
        self.update_member(p, &m.membership.group_id, &m.membership.user_id, patch, if_match).await
    }

    /// Removes a membership named by its id; `if_match` is the version the caller read.
    pub async fn delete_membership(&self, p: &Principal, id: &str, if_match: Option<i64>) -> Result<()> {
        let m = self.membership(p, id).await?;
        self.remove_member(p, &m.membership.group_id, &m.membership.user_id, if_match).await.map(|_| ())
    }

    /// Creates a membership: one's own as a member of a public group that needs no approval,
    /// or anyone's by those who manage the group's members.
    pub async fn create_membership(&self, p: &Principal, group_id: &str, user_id: &str, role: Option<String>) -> Result<Membership> {
        if p.user_id() == Some(user_id) && role.as_deref().is_none_or(|r| r == "member") {
            let g = self.get_group(p, group_id).await?;
            if g.visibility == Visibility::Public && !g.settings.require_approval {
                return match self.request_join(p, group_id, None, None).await? {
                    Filed::Joined(_, m) => Ok(*m),
                    Filed::Pending(_) => Err(Error::denied("this group needs approval")),
                };
            }
        }
        self.add_member(p, group_id, NewMember { user_id: user_id.to_string(), role, ..NewMember::default() }).await
    }

    /// The active owners of each group: the "moderators" seed 000 shows.
    pub async fn group_owners(&self, group_ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (g, u) in members::owners_of(&self.read().await?, group_ids).await? {
            out.entry(g).or_default().push(u);
        }
        Ok(out)
    }

    /// Changes a group and, when given, who its owners are (its "moderators"), in one
    /// transaction: a refusal of either leaves both as they were.
    pub async fn update_moderated_group(
        &self,
        p: &Principal,
        id: &str,
        patch: GroupPatch,
        owners: Option<&[String]>,
        if_match: Option<i64>,
    ) -> Result<Group> {
        let tx = self.begin().await?;
        let mut g = self.update_group_in(&tx, p, id, patch, if_match).await?;
        if let Some(owners) = owners {
            self.set_owners_in(&tx, p, id, owners, "moderators").await?;
            g = self.load(&tx, p, id).await?.group;
        }
        self.commit(tx).await?;
        Ok(g)
    }

    /// A fresh token for the caller's own user (PocketBase's auth-refresh).
    pub async fn refresh_token(&self, p: &Principal) -> Result<crate::auth::IssuedToken> {
        let uid = p.user_id().ok_or_else(|| Error::denied("a session is renewed from a session; a key has none"))?;
        if p.key_id.is_some() {
            return Err(Error::denied("a session is renewed from a session; a key has none"));
        }
        let user = cohort_store::users::get(&self.read().await?, uid).await?.ok_or(Error::NotFound("user"))?;
        self.issue_session(p, user).await
    }
}
