//! Every route of every surface and the operation it performs, whose rule the policy table
//! in the core gives (`cohort_core::policy::table`). The credential extractor looks a
//! request's route up here: the scope its operation needs is refused before the handler
//! runs, and a route missing from this table is refused for everyone.

use axum::http::Method;
use cohort_core::policy::table::Operation::{self, *};
use hashbrown::HashMap;
use std::sync::OnceLock;

/// `(method, route template, operation)` for every route.
pub static ROUTES: &[(&str, &str, Operation)] = &[
    // Operations and discovery.
    ("GET", "/healthz", Operations),
    ("GET", "/readyz", Operations),
    ("GET", "/metrics", Operations),
    ("GET", "/api/health", Operations),
    ("GET", "/scim/v2/ServiceProviderConfig", Operations),
    ("GET", "/scim/v2/ResourceTypes", Operations),
    ("GET", "/scim/v2/ResourceTypes/{id}", Operations),
    ("GET", "/scim/v2/Schemas", Operations),
    ("GET", "/scim/v2/Schemas/{id}", Operations),
    // Sign-in and sessions.
    ("POST", "/api/v1/auth/token", SignIn),
    ("POST", "/api/collections/users/auth-with-password", SignIn),
    ("POST", "/api/v1/auth/verify-email", VerifyEmail),
    ("POST", "/api/v1/auth/logout", SignOut),
    ("POST", "/api/collections/users/auth-refresh", RefreshSession),
    ("POST", "/api/v1/users/{id}/email-verification", RequestEmailVerification),
    ("POST", "/api/v1/users/{id}/tokens", MintToken),
    // Users, keys, audit.
    ("POST", "/api/v1/users", UserCreate),
    ("GET", "/api/v1/users", UserList),
    ("GET", "/api/v1/users/me", UserMe),
    ("GET", "/api/v1/users/{id}", UserRead),
    ("PATCH", "/api/v1/users/{id}", UserUpdate),
    ("DELETE", "/api/v1/users/{id}", UserDelete),
    ("GET", "/api/v1/users/{id}/groups", UserAccess),
    ("GET", "/api/v1/users/{id}/permissions", UserAccess),
    ("GET", "/api/v1/users/{id}/collections", UserAccess),
    ("GET", "/api/v1/users/{id}/scopes", UserAccess),
    ("PUT", "/api/v1/users/{id}/collections/{collection_id}", CollectionGrant),
    ("DELETE", "/api/v1/users/{id}/collections/{collection_id}", CollectionGrant),
    ("GET", "/api/v1/scope-sets", ScopeSetRead),
    ("POST", "/api/v1/scope-sets", ScopeSetChange),
    ("GET", "/api/v1/scope-sets/{id}", ScopeSetRead),
    ("PATCH", "/api/v1/scope-sets/{id}", ScopeSetChange),
    ("DELETE", "/api/v1/scope-sets/{id}", ScopeSetChange),
    ("PUT", "/api/v1/groups/{id}/scope-sets/{set_id}", ScopeSetChange),
    ("DELETE", "/api/v1/groups/{id}/scope-sets/{set_id}", ScopeSetChange),
    ("POST", "/api/v1/check", UserAccess),
    ("POST", "/api/v1/check/batch", UserAccess),
    ("GET", "/api/v1/permissions/{permission}/users", PermissionUsers),
    ("GET", "/api/v1/collections/{id}/users", PermissionUsers),
    ("GET", "/api/v1/access-review", AccessReview),
    ("GET", "/api/v1/groups/{id}/effective-members", EffectiveMembers),
    ("POST", "/api/v1/api-keys", KeyCreate),
    ("GET", "/api/v1/api-keys", KeyList),
    ("DELETE", "/api/v1/api-keys/{id}", KeyRevoke),
    ("GET", "/api/v1/audit", AuditRead),
    ("GET", "/api/v1/changes", ChangesRead),
    ("GET", "/api/v1/webhooks", SiteWebhooks),
    ("POST", "/api/v1/webhooks", SiteWebhooks),
    ("GET", "/api/v1/spaces/{id}/webhooks", SpaceWebhooks),
    ("POST", "/api/v1/spaces/{id}/webhooks", SpaceWebhooks),
    ("GET", "/api/v1/groups/{id}/webhooks", GroupWebhooks),
    ("POST", "/api/v1/groups/{id}/webhooks", GroupWebhooks),
    ("GET", "/api/v1/webhooks/{id}", WebhookManage),
    ("PATCH", "/api/v1/webhooks/{id}", WebhookManage),
    ("DELETE", "/api/v1/webhooks/{id}", WebhookManage),
    ("GET", "/api/v1/webhooks/{id}/deliveries", WebhookManage),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", WebhookManage),
    // Spaces and the permission catalogue.
    ("POST", "/api/v1/spaces", SpaceCreate),
    ("GET", "/api/v1/spaces", SpaceList),
    ("GET", "/api/v1/spaces/{id}", SpaceRead),
    ("PATCH", "/api/v1/spaces/{id}", SpaceUpdate),
    ("DELETE", "/api/v1/spaces/{id}", SpaceDelete),
    ("GET", "/api/v1/permissions", CatalogueRead),
    ("POST", "/api/v1/permissions", SiteCatalogueChange),
    ("PATCH", "/api/v1/permissions/{permission}", SiteCatalogueChange),
    ("DELETE", "/api/v1/permissions/{permission}", SiteCatalogueChange),
    ("GET", "/api/v1/spaces/{id}/permissions", CatalogueRead),
    ("POST", "/api/v1/spaces/{id}/permissions", SpaceCatalogueChange),
    ("PATCH", "/api/v1/spaces/{id}/permissions/{permission}", SpaceCatalogueChange),
    ("DELETE", "/api/v1/spaces/{id}/permissions/{permission}", SpaceCatalogueChange),
    // Groups.
    ("GET", "/api/v1/filters/{list}", ListMetadata),
    ("GET", "/api/v1/groups/filters", ListMetadata),
    ("POST", "/api/v1/groups", GroupCreate),
    ("GET", "/api/v1/groups", GroupList),
    ("POST", "/api/v1/groups/bulk-delete", GroupBulkDelete),
    ("GET", "/api/v1/groups/{id}", GroupRead),
    ("PATCH", "/api/v1/groups/{id}", GroupUpdate),
    ("PUT", "/api/v1/groups/{id}", GroupUpdate),
    ("DELETE", "/api/v1/groups/{id}", GroupDelete),
    ("POST", "/api/v1/groups/{id}/move", GroupMove),
    ("POST", "/api/v1/groups/{id}/subgroups", SubgroupCreate),
    ("GET", "/api/v1/groups/{id}/subgroups", SubgroupList),
    ("GET", "/api/v1/groups/{id}/permissions", PermissionsRead),
    ("PATCH", "/api/v1/groups/{id}/permissions", PermissionsChange),
    // Members.
    ("GET", "/api/v1/groups/{id}/members", MemberList),
    ("POST", "/api/v1/groups/{id}/members", MemberAdd),
    ("POST", "/api/v1/groups/{id}/members/bulk", MemberAdd),
    ("GET", "/api/v1/groups/{id}/members/{user_id}", MemberRead),
    ("PATCH", "/api/v1/groups/{id}/members/{user_id}", MemberChange),
    ("DELETE", "/api/v1/groups/{id}/members/{user_id}", MemberRemove),
    ("GET", "/api/v1/groups/{id}/users", MemberList),
    ("POST", "/api/v1/groups/{id}/join", GroupJoin),
    ("POST", "/api/v1/groups/{id}/leave", GroupLeave),
    // Roles, join requests, invitations.
    ("GET", "/api/v1/groups/{id}/roles", RoleList),
    ("POST", "/api/v1/groups/{id}/roles", RoleChange),
    ("PATCH", "/api/v1/groups/{id}/roles/{role_id}", RoleChange),
    ("DELETE", "/api/v1/groups/{id}/roles/{role_id}", RoleChange),
    ("POST", "/api/v1/groups/{id}/join-requests", JoinRequestCreate),
    ("GET", "/api/v1/groups/{id}/join-requests", JoinRequestList),
    ("PATCH", "/api/v1/groups/{id}/join-requests/{request_id}", JoinRequestDecide),
    ("DELETE", "/api/v1/groups/{id}/join-requests/{request_id}", JoinRequestCancel),
    ("POST", "/api/v1/groups/{id}/invitations", InvitationCreate),
    ("GET", "/api/v1/groups/{id}/invitations", InvitationList),
    ("DELETE", "/api/v1/groups/{id}/invitations/{invitation_id}", InvitationRevoke),
    ("POST", "/api/v1/groups/{id}/invitations/{invitation_id}/resend", InvitationResend),
    ("POST", "/api/v1/invitations/{invitation_id}/accept", InvitationAnswer),
    ("POST", "/api/v1/invitations/{invitation_id}/decline", InvitationAnswer),
    // Posts, activity, analytics.
    ("GET", "/api/v1/groups/{id}/posts", PostList),
    ("POST", "/api/v1/groups/{id}/posts", PostCreate),
    ("DELETE", "/api/v1/posts/{id}", PostDelete),
    ("POST", "/api/v1/groups/{id}/activity", ActivityRecord),
    ("GET", "/api/v1/groups/{id}/analytics", AnalyticsRead),
    // Seed 000, PocketBase.
    ("GET", "/api/collections/groups/records", GroupList),
    ("POST", "/api/collections/groups/records", GroupCreate),
    ("GET", "/api/collections/groups/records/{id}", GroupRead),
    ("PATCH", "/api/collections/groups/records/{id}", GroupUpdate),
    ("DELETE", "/api/collections/groups/records/{id}", GroupDelete),
    ("GET", "/api/collections/group_members/records", MembershipList),
    ("POST", "/api/collections/group_members/records", MemberAdd),
    ("GET", "/api/collections/group_members/records/{id}", MemberRead),
    ("PATCH", "/api/collections/group_members/records/{id}", MemberChange),
    ("DELETE", "/api/collections/group_members/records/{id}", MemberRemove),
    ("GET", "/api/posts", PostList),
    ("GET", "/api/realtime", RealtimeConnect),
    ("POST", "/api/realtime", RealtimeSubscribe),
    // Seed 001, organizations.
    ("GET", "/api/organizations/{org_id}/groups", SpaceGroupsRead),
    ("GET", "/api/organizations/{org_id}/groups/details", SpaceGroupsRead),
    ("GET", "/api/organizations/{org_id}/groups/{id}", SpaceGroupsRead),
    ("GET", "/api/organizations/{org_id}/groups/{id}/details", SpaceGroupsRead),
    ("GET", "/api/organizations/{org_id}/groups/{id}/users", SpaceGroupsRead),
    ("POST", "/api/organizations/{org_id}/groups", SpaceGroupsChange),
    ("PUT", "/api/organizations/{org_id}/groups/{id}", SpaceGroupsChange),
    ("PUT", "/api/organizations/{org_id}/groups/{id}/users", SpaceGroupsChange),
    ("DELETE", "/api/organizations/{org_id}/groups", SpaceGroupsChange),
    ("POST", "/api/organizations/{org_id}/groups/delete", SpaceGroupsChange),
    ("DELETE", "/api/organizations/{org_id}/groups/{id}", SpaceGroupsChange),
    ("DELETE", "/api/organizations/{org_id}/groups/{id}/users/{user_id}", SpaceGroupsChange),
    ("DELETE", "/api/organizations/{org_id}/groups/{id}/user/{user_id}", SpaceGroupsChange),
    ("GET", "/api/organizations/{org_id}/users/{user_id}/collections", SpaceGroupsRead),
    ("PUT", "/api/organizations/{org_id}/users/{user_id}/collections", SpaceGroupsChange),
    // Seed 002, compat.
    ("GET", "/compat/v1/groups", SiteGroupsRead),
    ("GET", "/compat/v1/groups/{group_id}", SiteGroupsRead),
    // Seed 004, scoped admin.
    ("GET", "/api/admin/groups", GroupList),
    ("GET", "/api/admin/groups/", GroupList),
    ("POST", "/api/admin/groups", GroupCreate),
    ("POST", "/api/admin/groups/", GroupCreate),
    ("GET", "/api/admin/groups/filters", ListMetadata),
    ("GET", "/api/admin/groups/{id}", GroupRead),
    ("PUT", "/api/admin/groups/{id}", GroupUpdate),
    ("PATCH", "/api/admin/groups/{id}", GroupUpdate),
    ("DELETE", "/api/admin/groups/{id}", GroupDelete),
    ("GET", "/api/admin/groups/{id}/users", MemberList),
    ("POST", "/api/admin/groups/{id}/users/{user_id}", MemberAdd),
    ("DELETE", "/api/admin/groups/{id}/users/{user_id}", MemberRemove),
    // SCIM 2.0.
    ("GET", "/scim/v2/Users", Scim),
    ("POST", "/scim/v2/Users", Scim),
    ("POST", "/scim/v2/Users/.search", Scim),
    ("GET", "/scim/v2/Users/{id}", Scim),
    ("PUT", "/scim/v2/Users/{id}", Scim),
    ("PATCH", "/scim/v2/Users/{id}", Scim),
    ("DELETE", "/scim/v2/Users/{id}", Scim),
    ("GET", "/scim/v2/Groups", Scim),
    ("POST", "/scim/v2/Groups", Scim),
    ("POST", "/scim/v2/Groups/.search", Scim),
    ("GET", "/scim/v2/Groups/{id}", Scim),
    ("PUT", "/scim/v2/Groups/{id}", Scim),
    ("PATCH", "/scim/v2/Groups/{id}", Scim),
    ("DELETE", "/scim/v2/Groups/{id}", Scim),
    ("POST", "/scim/v2/.search", Scim),
    ("POST", "/scim/v2/Bulk", Scim),
    ("GET", "/scim/v2/Me", UserMe),
];

/// The operation of the route `path` (its template) answers for `method`.
pub fn operation(method: &Method, path: &str) -> Option<Operation> {
    static BY_ROUTE: OnceLock<HashMap<(&'static str, &'static str), Operation>> = OnceLock::new();
    let table = BY_ROUTE.get_or_init(|| ROUTES.iter().map(|(m, p, op)| ((*m, *p), *op)).collect());
    table.get(&(method.as_str(), path)).copied()
}

#[cfg(test)]
mod tests {
    use super::ROUTES;
    use std::collections::HashSet;

    #[test]
    fn each_route_is_listed_once() {
        let mut seen = HashSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "{m} {p} is listed twice");
        }
    }
}
