//! Every route of every surface, called by every kind of caller — nobody, an outsider, a
//! member, a moderator, an admin and the owner of the group, a space moderator, a site
//! administrator, a site key of each scope, a key of the group's owner with each single
//! scope, a space's scim key and a space-bound key — against a private group of one space.
//!
//! What each call must come to is worked out from the policy table in the core
//! (`cohort_core::policy::table`): let through, 401, 403, or 404 for what the caller may not
//! know of. A leak (let through where the table refuses) or a false denial fails, and so
//! does a route of the router that the table or this test does not name.
//!
//! Refusals run against one shared fixture; each call the table lets through that changes
//! something runs against a fresh one, so one caller's delete does not decide the next
//! caller's answer. `MATRIX_VERBOSE=1` prints every call let through that answered other
//! than 2xx (the business answers: already a member, the last owner, …).

use crate::helpers::{TestApp, TestUser};
use crate::story;
use cohort_core::auth::{Scope, Scopes};
use cohort_core::policy::table::{GroupNeed, Operation, Who};
use cohort_core::policy::{Caps, Role};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", SEQ.fetch_add(1, Ordering::SeqCst))
}

fn id(v: &Value) -> String {
    v["id"].as_str().or(v["request_id"].as_str()).unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Someone who calls, and what the policy needs to know of them.
#[derive(Clone, Debug)]
struct Caller {
    name: &'static str,
    secret: Option<String>,
    user: Option<String>,
    session: bool,
    site_admin: bool,
    scopes: Scopes,
    /// A key bound to the fixture space.
    space_bound: bool,
    space_moderator: bool,
    /// Their role in every fixture group.
    role: Option<&'static str>,
    scim: bool,
    /// The scopes the user holds through their groups' scope sets.
    granted: Scopes,
}

impl Caller {
    fn superuser(&self, need: Scope) -> bool {
        self.scopes.allows(need) && !self.space_bound && (self.user.is_none() || self.site_admin)
    }

    /// A site key bound to the fixture space stands for its moderation.
    fn moderates_space(&self) -> bool {
        self.space_moderator || (self.space_bound && self.user.is_none())
    }

    fn caps(&self) -> Option<Caps> {
        self.role.and_then(Role::builtin).map(|r| r.caps)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Denied,
    /// 404: the caller may not know the thing exists.
    Hidden,
}

/// What the policy table says a call comes to.
fn expect(op: Operation, path: &str, c: &Caller, target: Option<&str>, w: &World) -> Expect {
    use Expect::*;
    let rule = op.rule();
    if rule.who == Who::Anyone {
        return Allowed;
    }
    if c.secret.is_none() {
        return Unauthenticated;
    }
    if rule.who == Who::Scim {
        // A space's scim key, or a site `admin` credential over the whole site.
        return if c.scim || c.superuser(Scope::Admin) { Allowed } else { Denied };
    }
    let is_self = target.is_some() && c.user.as_deref() == target;
    if let Some(s) = rule.scope
        && !(rule.who == Who::SelfOrReader && is_self)
        && !c.scopes.allows(s)
    {
        return Denied;
    }
    let scope = rule.scope.unwrap_or(Scope::Admin);
    // The scoped admin API: a user's credential needs the scope from their scope sets too.
    if path.starts_with("/api/admin/") && c.user.is_some() && !c.superuser(scope) && !c.granted.allows(scope) {
        return Denied;
    }
    let yes = |b: bool| if b { Allowed } else { Denied };
    match rule.who {
        Who::Anyone | Who::Scim | Who::Caller => Allowed,
        Who::User => yes(c.user.is_some()),
        Who::Session => yes(c.session),
        Who::SessionOrSite => yes(c.session || c.superuser(Scope::Admin)),
        Who::UserOrAdmin => yes(c.user.is_some() || c.superuser(Scope::Admin)),
        Who::SelfOrSite => yes(c.superuser(scope) || is_self),
        Who::SelfOrReader => yes(is_self || c.scopes.allows(scope)),
        Who::Site => yes(c.superuser(scope)),
        Who::SpaceManager => yes(c.superuser(scope) || c.moderates_space()),
        Who::OwnerOrSite => {
            if c.superuser(Scope::Admin) {
                Allowed
            } else {
                Hidden
            }
        }
        Who::Invitee => yes(c.user.as_deref() == Some(w.outsider.as_str())),
        Who::Requester => {
            let manages = c.caps().is_some_and(|k| k.has(Caps::MANAGE_MEMBERS) || k.has(Caps::MODERATE));
            if c.user.as_deref() == Some(w.outsider.as_str()) || manages || c.superuser(scope) || c.moderates_space() {
                Allowed
            } else {
                Hidden
            }
        }
        Who::Group(need) => {
            // Joining and leaving are a user's own doing.
            if matches!(need, GroupNeed::Join | GroupNeed::Member) && c.user.is_none() {
                return Denied;
            }
            if need == GroupNeed::Join {
                return Allowed;
            }
            let sees = c.superuser(Scope::GroupsRead) || c.moderates_space() || c.role.is_some();
            if !sees {
                return Hidden;
            }
            if c.superuser(scope) || c.moderates_space() {
                return Allowed;
            }
            let Some(caps) = c.caps() else { return Denied };
            yes(match need {
                GroupNeed::Read | GroupNeed::Member | GroupNeed::Join => true,
                GroupNeed::Post => caps.has(Caps::WRITE),
                GroupNeed::ModeratePosts => caps.has(Caps::MODERATE),
                GroupNeed::ManageMembers => caps.has(Caps::MANAGE_MEMBERS),
                GroupNeed::ManageSettings => caps.has(Caps::MANAGE_SETTINGS),
                GroupNeed::Owner => caps.has(Caps::OWNER),
            })
        }
    }
}

/// The callers, the fixture space, and the users the fixtures give roles to.
struct World {
    space: String,
    outsider: String,
    roles: Vec<(&'static str, String)>,
    signer: &'static str,
    scim_key: String,
    callers: Vec<Caller>,
}

const PASSWORD: &str = "matrix password 1";

async fn key(app: &TestApp, scopes: &[&str], user: Option<&str>, space: Option<&str>) -> String {
    let body = json!({"name": unique("k"), "scopes": scopes, "user_id": user, "space_id": space});
    app.post("/api/v1/api-keys", &app.admin_key, body).await.expect(201)["key"].as_str().unwrap().to_string()
}

async fn world(app: &TestApp) -> World {
    let spacemod = app.user("m-spacemod").await;
    let space = id(&app.post("/api/v1/spaces", &app.admin_key, json!({"name": "Matrix", "moderators": [spacemod.id]})).await.expect(201));
    let (outsider, member, moderator, admin, owner) = (
        app.user("m-outsider").await,
        app.user("m-member").await,
        app.user("m-moderator").await,
        app.user("m-admin").await,
        app.user("m-owner").await,
    );
    let siteadmin = app.site_admin("m-siteadmin").await;
    let signer = "m-signer";
    app.post("/api/v1/users", &app.admin_key, json!({"username": signer, "password": PASSWORD})).await.expect(201);

    let base = Caller {
        name: "",
        secret: None,
        user: None,
        session: false,
        site_admin: false,
        scopes: Scopes::default(),
        space_bound: false,
        space_moderator: false,
        role: None,
        scim: false,
        granted: Scopes::default(),
    };
    let session = |name: &'static str, u: &TestUser, role: Option<&'static str>| Caller {
        name,
        secret: Some(u.token.clone()),
        user: Some(u.id.clone()),
        session: true,
        scopes: Scopes::session(),
        role,
        ..base.clone()
    };
    let site_key = |name: &'static str, secret: String, scopes: &[Scope]| Caller {
        name,
        secret: Some(secret),
        scopes: Scopes::of(scopes),
        ..base.clone()
    };
    let owner_key = |name: &'static str, secret: String, scope: Scope| Caller {
        name,
        secret: Some(secret),
        user: Some(owner.id.clone()),
        scopes: Scopes::of(&[scope]),
        role: Some("owner"),
        granted: Scopes::of(&[Scope::GroupsWrite]),
        ..base.clone()
    };
    // The owner and the member hold groups:write on the scoped admin API through a group of
    // theirs; the admin and the moderator hold nothing there.
    let scoped = id(&app.post("/api/v1/groups", &app.admin_key, json!({"name": "Matrix scoped", "space_id": space})).await.expect(201));
    for u in [&owner, &member] {
        app.post(&format!("/api/v1/groups/{scoped}/members"), &app.admin_key, json!({"user_id": u.id})).await.expect(201);
    }
    let set = json!({"name": "Matrix writers", "scopes": ["groups:write"], "space_id": space});
    let set = id(&app.post("/api/v1/scope-sets", &app.admin_key, set).await.expect(201));
    app.put(&format!("/api/v1/groups/{scoped}/scope-sets/{set}"), &app.admin_key, json!({})).await.expect(200);
    let scim_key = key(app, &["scim"], None, Some(&space)).await;
    let mut callers = vec![
        Caller { name: "anonymous", ..base.clone() },
        session("outsider", &outsider, None),
        Caller { granted: Scopes::of(&[Scope::GroupsWrite]), ..session("member", &member, Some("member")) },
        session("moderator", &moderator, Some("moderator")),
        session("admin", &admin, Some("admin")),
        Caller { granted: Scopes::of(&[Scope::GroupsWrite]), ..session("owner", &owner, Some("owner")) },
        Caller { space_moderator: true, ..session("space_moderator", &spacemod, None) },
        Caller { site_admin: true, ..session("site_admin", &siteadmin, None) },
        site_key("admin_key", app.admin_key.clone(), &[Scope::Admin]),
        site_key("site_groups_read", key(app, &["groups:read"], None, None).await, &[Scope::GroupsRead]),
        site_key("site_groups_write", key(app, &["groups:write"], None, None).await, &[Scope::GroupsWrite]),
        site_key("site_users_read", key(app, &["users:read"], None, None).await, &[Scope::UsersRead]),
        site_key("site_users_write", key(app, &["users:write"], None, None).await, &[Scope::UsersWrite]),
        Caller { scim: true, space_bound: true, ..site_key("scim_key", scim_key.clone(), &[Scope::Scim]) },
        Caller { space_bound: true, ..site_key("space_key", key(app, &["groups:write"], None, Some(&space)).await, &[Scope::GroupsWrite]) },
    ];
    for (name, scope, text) in [
        ("owner_groups_read", Scope::GroupsRead, "groups:read"),
        ("owner_groups_write", Scope::GroupsWrite, "groups:write"),
        ("owner_users_read", Scope::UsersRead, "users:read"),
        ("owner_users_write", Scope::UsersWrite, "users:write"),
    ] {
        callers.push(owner_key(name, key(app, &[text], Some(&owner.id), None).await, scope));
    }
    let roles =
        vec![("owner", owner.id.clone()), ("admin", admin.id.clone()), ("moderator", moderator.id.clone()), ("member", member.id.clone())];
    World { space, outsider: outsider.id.clone(), roles, signer, scim_key, callers }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Need {
    Post,
    Role,
    JoinRequest,
    Invitation,
    Key,
    SpareSpace,
    SitePermission,
    SpacePermission,
    ScopeSet,
    DirectGrant,
    ScimUser,
    /// A webhook of the fixture group.
    Webhook,
}

/// A private group of the space with one user of each role, and what a case needs beside.
#[derive(Debug, Default, Clone)]
struct Fixture {
    group: String,
    group_num: i64,
    /// A user with role `member` whom cases change and remove, and their membership.
    target: String,
    membership: String,
    /// A user in no group, whom cases add, read, change and delete.
    subject: String,
    /// The users holding the owner, admin, moderator and member roles.
    role_holders: Vec<String>,
    post: String,
    role: String,
    join_request: String,
    invitation: String,
    key: String,
    spare_space: String,
    site_permission: String,
    space_permission: String,
    /// A scope set of the fixture space.
    scope_set: String,
    scim_user: String,
    webhook: String,
}

impl Fixture {
    /// The group's members' user ids.
    fn members(&self) -> Vec<String> {
        let mut all = self.role_holders.clone();
        all.push(self.target.clone());
        all
    }
}

async fn fixture(app: &TestApp, w: &World, needs: &[Need]) -> Fixture {
    let a = &app.admin_key;
    let mut f = Fixture::default();
    let body = json!({"name": unique("grp"), "space_id": w.space, "visibility": "private", "settings": {"allow_join_requests": true, "require_approval": true}});
    let made = app.post("/api/v1/groups", a, body).await.expect(201);
    f.group = id(&made);
    let target =
        app.post("/api/v1/users", a, json!({"username": unique("target"), "email": format!("{}@m.test", unique("t"))})).await.expect(201);
    f.target = id(&target);
    let subject =
        app.post("/api/v1/users", a, json!({"username": unique("subject"), "email": format!("{}@m.test", unique("s"))})).await.expect(201);
    f.subject = id(&subject);
    f.role_holders = w.roles.iter().map(|(_, uid)| uid.clone()).collect();
    let mut members: Vec<Value> = w.roles.iter().map(|(role, uid)| json!({"user_id": uid, "role": role})).collect();
    members.push(json!({"user_id": f.target, "role": "member"}));
    let added = app.post(&format!("/api/v1/groups/{}/members/bulk", f.group), a, json!({"members": members})).await.expect(200);
    f.membership = added["memberships"].as_array().unwrap().iter().find(|m| m["user_id"] == f.target.as_str()).unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_string();
    let g = &f.group;
    for need in needs {
        match need {
            Need::Post => f.post = id(&app.post(&format!("/api/v1/groups/{g}/posts"), a, json!({"body": "by the site"})).await.expect(201)),
            Need::Role => {
                let r = app
                    .post(&format!("/api/v1/groups/{g}/roles"), a, json!({"name": unique("Lead "), "permissions": ["read"]}))
                    .await
                    .expect(201);
                f.role = r["role_id"].as_str().unwrap().to_string();
            }
            Need::JoinRequest => {
                let outsider_token = w.callers.iter().find(|c| c.name == "outsider").and_then(|c| c.secret.clone()).unwrap();
                let r = app.post(&format!("/api/v1/groups/{g}/join-requests"), &outsider_token, json!({"message": "let me in"})).await;
                f.join_request = id(&r.expect(202));
            }
            Need::Invitation => {
                let r = app.post(&format!("/api/v1/groups/{g}/invitations"), a, json!({"user_ids": [w.outsider]})).await.expect(201);
                f.invitation = r["invitations"][0]["invitation_id"].as_str().unwrap().to_string();
            }
            Need::Key => {
                let r = app
                    .post("/api/v1/api-keys", a, json!({"name": "theirs", "scopes": ["groups:read"], "user_id": f.subject}))
                    .await
                    .expect(201);
                f.key = id(&r);
            }
            Need::SpareSpace => f.spare_space = id(&app.post("/api/v1/spaces", a, json!({"name": unique("spare")})).await.expect(201)),
            Need::SitePermission => {
                f.site_permission = unique("site.p");
                app.post("/api/v1/permissions", a, json!({"permission": f.site_permission})).await.expect(201);
            }
            Need::SpacePermission => {
                f.space_permission = unique("space.p");
                app.post(&format!("/api/v1/spaces/{}/permissions", w.space), a, json!({"permission": f.space_permission}))
                    .await
                    .expect(201);
            }
            Need::ScopeSet => {
                // users:read: attached to a fixture group by the cases, it must not change what
                // the role holders may do on the scoped admin API in the cases after.
                let body = json!({"name": unique("set "), "scopes": ["users:read"], "space_id": w.space});
                f.scope_set = id(&app.post("/api/v1/scope-sets", a, body).await.expect(201));
            }
            Need::DirectGrant => {
                let path = format!("/api/v1/users/{}/collections/col_direct", f.subject);
                app.put(&path, a, json!({"space_id": w.space, "read_only": true})).await.expect(200);
            }
            Need::Webhook => {
                let body = json!({"url": "http://127.0.0.1:9/matrix"});
                f.webhook = id(&app.post(&format!("/api/v1/groups/{g}/webhooks"), a, body).await.expect(201));
            }
            Need::ScimUser => {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": unique("scim")});
                let r = app
                    .call_with(Method::POST, "/scim/v2/Users", Some(&w.scim_key), Some(body), &[("Content-Type", "application/scim+json")])
                    .await;
                f.scim_user = id(&r.expect(201));
            }
        }
    }
    let listed = app.get("/compat/v1/groups?per_page=100", a).await.expect(200);
    let name = made["name"].as_str().unwrap_or("");
    f.group_num =
        listed["result"].as_array().and_then(|all| all.iter().find(|x| x["name"] == name)).and_then(|x| x["id"].as_i64()).unwrap_or(1);
    f
}

/// A route and how to call it.
struct Case {
    method: &'static str,
    route: &'static str,
    needs: &'static [Need],
    /// The kind of thing a 404 names when the caller may not know of it.
    object: &'static str,
    /// Whether the call changes nothing (so every caller may share one fixture).
    read: bool,
    /// Calls as the caller themself: the user the call names is the caller.
    as_self: bool,
    build: Build,
}

/// Makes a case's path and body from the fixture, the world and the caller's own user id.
type Build = fn(&Fixture, &World, Option<&str>) -> (String, Option<Value>);

macro_rules! case {
    ($m:literal $route:literal, $object:literal, $needs:expr, read, |$f:ident, $w:ident, $me:ident| $build:expr) => {
        Case {
            method: $m,
            route: $route,
            needs: $needs,
            object: $object,
            read: true,
            as_self: false,
            build: |$f, $w, $me| {
                let _ = (&$f, &$w, &$me);
                $build
            },
        }
    };
    ($m:literal $route:literal, $object:literal, $needs:expr, write, |$f:ident, $w:ident, $me:ident| $build:expr) => {
        Case {
            method: $m,
            route: $route,
            needs: $needs,
            object: $object,
            read: false,
            as_self: false,
            build: |$f, $w, $me| {
                let _ = (&$f, &$w, &$me);
                $build
            },
        }
    };
}

fn selfish(mut c: Case) -> Case {
    c.as_self = true;
    c
}

fn scim_user_body() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": unique("scimu")})
}

fn cases() -> Vec<Case> {
    use Need::*;
    let none: &'static [Need] = &[];
    vec![
        case!("GET" "/healthz", "route", none, read, |f, w, me| ("/healthz".into(), None)),
        case!("GET" "/readyz", "route", none, read, |f, w, me| ("/readyz".into(), None)),
        case!("GET" "/metrics", "route", none, read, |f, w, me| ("/metrics".into(), None)),
        case!("GET" "/api/health", "route", none, read, |f, w, me| ("/api/health".into(), None)),
        case!("GET" "/scim/v2/ServiceProviderConfig", "route", none, read, |f, w, me| ("/scim/v2/ServiceProviderConfig".into(), None)),
        case!("GET" "/scim/v2/ResourceTypes", "route", none, read, |f, w, me| ("/scim/v2/ResourceTypes".into(), None)),
        case!("GET" "/scim/v2/ResourceTypes/{id}", "route", none, read, |f, w, me| ("/scim/v2/ResourceTypes/User".into(), None)),
        case!("GET" "/scim/v2/Schemas", "route", none, read, |f, w, me| ("/scim/v2/Schemas".into(), None)),
        case!("GET" "/scim/v2/Schemas/{id}", "route", none, read, |f, w, me| ("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User".into(), None)),
        case!("POST" "/api/v1/auth/token", "route", none, read, |f, w, me| ("/api/v1/auth/token".into(), Some(json!({"login": w.signer, "password": PASSWORD})))),
        case!("POST" "/api/collections/users/auth-with-password", "route", none, read, |f, w, me| (
            "/api/collections/users/auth-with-password".into(),
            Some(json!({"identity": w.signer, "password": PASSWORD}))
        )),
        case!("POST" "/api/v1/auth/verify-email", "route", none, read, |f, w, me| ("/api/v1/auth/verify-email".into(), Some(json!({"token": "cev_unknown"})))),
        case!("POST" "/api/collections/users/auth-refresh", "route", none, read, |f, w, me| ("/api/collections/users/auth-refresh".into(), None)),
        case!("POST" "/api/v1/users/{id}/email-verification", "user", none, write, |f, w, me| (format!("/api/v1/users/{}/email-verification", f.subject), None)),
        case!("POST" "/api/v1/users/{id}/tokens", "user", none, write, |f, w, me| (format!("/api/v1/users/{}/tokens", f.subject), None)),
        case!("POST" "/api/v1/users", "user", none, write, |f, w, me| ("/api/v1/users".into(), Some(json!({"username": unique("new")})))),
        case!("GET" "/api/v1/users", "user", none, read, |f, w, me| ("/api/v1/users".into(), None)),
        case!("GET" "/api/v1/users/me", "user", none, read, |f, w, me| ("/api/v1/users/me".into(), None)),
        case!("GET" "/api/v1/users/{id}", "user", none, read, |f, w, me| (format!("/api/v1/users/{}", f.subject), None)),
        selfish(case!("GET" "/api/v1/users/{id}", "user", none, read, |f, w, me| (format!("/api/v1/users/{}", me.unwrap_or("")), None))),
        case!("PATCH" "/api/v1/users/{id}", "user", none, write, |f, w, me| (format!("/api/v1/users/{}", f.subject), Some(json!({"full_name": "Changed"})))),
        selfish(
            case!("PATCH" "/api/v1/users/{id}", "user", none, write, |f, w, me| (format!("/api/v1/users/{}", me.unwrap_or("")), Some(json!({"avatar_url": "https://example.com/me.png"})))),
        ),
        case!("DELETE" "/api/v1/users/{id}", "user", none, write, |f, w, me| (format!("/api/v1/users/{}", f.subject), None)),
        case!("GET" "/api/v1/users/{id}/groups", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/groups", f.subject), None)),
        selfish(
            case!("GET" "/api/v1/users/{id}/groups", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/groups", me.unwrap_or("")), None)),
        ),
        case!("GET" "/api/v1/users/{id}/permissions", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/permissions", f.subject), None)),
        selfish(
            case!("GET" "/api/v1/users/{id}/permissions", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/permissions", me.unwrap_or("")), None)),
        ),
        case!("GET" "/api/v1/users/{id}/collections", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/collections", f.subject), None)),
        selfish(
            case!("GET" "/api/v1/users/{id}/collections", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/collections", me.unwrap_or("")), None)),
        ),
        case!("POST" "/api/v1/check", "user", none, read, |f, w, me| ("/api/v1/check".into(), Some(json!({"user_id": f.subject, "permission": "x.y"})))),
        selfish(
            case!("POST" "/api/v1/check", "user", none, read, |f, w, me| ("/api/v1/check".into(), Some(json!({"user_id": me.unwrap_or(""), "permission": "x.y"})))),
        ),
        case!("POST" "/api/v1/check/batch", "user", none, read, |f, w, me| (
            "/api/v1/check/batch".into(),
            Some(json!({"checks": [{"user_id": f.subject, "permission": "x.y"}]}))
        )),
        selfish(case!("POST" "/api/v1/check/batch", "user", none, read, |f, w, me| (
            "/api/v1/check/batch".into(),
            Some(json!({"checks": [{"user_id": me.unwrap_or(""), "group_id": f.group, "action": "read"}]}))
        ))),
        case!("GET" "/api/v1/permissions/{permission}/users", "route", none, read, |f, w, me| ("/api/v1/permissions/x.y/users".into(), None)),
        case!("GET" "/api/v1/collections/{id}/users", "route", none, read, |f, w, me| ("/api/v1/collections/col_x/users".into(), None)),
        case!("GET" "/api/v1/access-review", "space", none, read, |f, w, me| (format!("/api/v1/access-review?space={}", w.space), None)),
        case!("GET" "/api/v1/groups/{id}/effective-members", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/effective-members", f.group), None)),
        case!("POST" "/api/v1/api-keys", "api key", none, write, |f, w, me| ("/api/v1/api-keys".into(), Some(json!({"name": "mine", "scopes": ["groups:read"]})))),
        case!("GET" "/api/v1/api-keys", "api key", none, read, |f, w, me| ("/api/v1/api-keys".into(), None)),
        case!("DELETE" "/api/v1/api-keys/{id}", "api key", &[Key], write, |f, w, me| (format!("/api/v1/api-keys/{}", f.key), None)),
        case!("GET" "/api/v1/audit", "route", none, read, |f, w, me| ("/api/v1/audit".into(), None)),
        case!("GET" "/api/v1/changes", "route", none, read, |f, w, me| ("/api/v1/changes".into(), None)),
        case!("GET" "/api/v1/webhooks", "route", none, read, |f, w, me| ("/api/v1/webhooks".into(), None)),
        case!("POST" "/api/v1/webhooks", "route", none, write, |f, w, me| ("/api/v1/webhooks".into(), Some(json!({"url": "https://example.com/h"})))),
        case!("GET" "/api/v1/spaces/{id}/webhooks", "space", none, read, |f, w, me| (format!("/api/v1/spaces/{}/webhooks", w.space), None)),
        case!("POST" "/api/v1/spaces/{id}/webhooks", "space", none, write, |f, w, me| (
            format!("/api/v1/spaces/{}/webhooks", w.space),
            Some(json!({"url": "https://example.com/h"}))
        )),
        case!("GET" "/api/v1/groups/{id}/webhooks", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/webhooks", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/webhooks", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/webhooks", f.group),
            Some(json!({"url": "https://example.com/h"}))
        )),
        case!("GET" "/api/v1/webhooks/{id}", "group", &[Webhook], read, |f, w, me| (format!("/api/v1/webhooks/{}", f.webhook), None)),
        case!("PATCH" "/api/v1/webhooks/{id}", "group", &[Webhook], write, |f, w, me| (
            format!("/api/v1/webhooks/{}", f.webhook),
            Some(json!({"description": "changed"}))
        )),
        case!("DELETE" "/api/v1/webhooks/{id}", "group", &[Webhook], write, |f, w, me| (format!("/api/v1/webhooks/{}", f.webhook), None)),
        case!("GET" "/api/v1/webhooks/{id}/deliveries", "group", &[Webhook], read, |f, w, me| (
            format!("/api/v1/webhooks/{}/deliveries", f.webhook),
            None
        )),
        case!("POST" "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", "group", &[Webhook], write, |f, w, me| (
            format!("/api/v1/webhooks/{}/deliveries/dlv_unknown/redeliver", f.webhook),
            None
        )),
        case!("POST" "/api/v1/spaces", "space", none, write, |f, w, me| ("/api/v1/spaces".into(), Some(json!({"name": unique("space")})))),
        case!("GET" "/api/v1/spaces", "space", none, read, |f, w, me| ("/api/v1/spaces".into(), None)),
        case!("GET" "/api/v1/spaces/{id}", "space", none, read, |f, w, me| (format!("/api/v1/spaces/{}", w.space), None)),
        case!("PATCH" "/api/v1/spaces/{id}", "space", &[SpareSpace], write, |f, w, me| (format!("/api/v1/spaces/{}", f.spare_space), Some(json!({"description": "x"})))),
        case!("DELETE" "/api/v1/spaces/{id}", "space", &[SpareSpace], write, |f, w, me| (format!("/api/v1/spaces/{}", f.spare_space), None)),
        case!("GET" "/api/v1/permissions", "permission", none, read, |f, w, me| ("/api/v1/permissions".into(), None)),
        case!("POST" "/api/v1/permissions", "permission", none, write, |f, w, me| ("/api/v1/permissions".into(), Some(json!({"permission": unique("p.")})))),
        case!("PATCH" "/api/v1/permissions/{permission}", "permission", &[SitePermission], write, |f, w, me| (
            format!("/api/v1/permissions/{}", f.site_permission),
            Some(json!({"description": "d"}))
        )),
        case!("DELETE" "/api/v1/permissions/{permission}", "permission", &[SitePermission], write, |f, w, me| (format!("/api/v1/permissions/{}", f.site_permission), None)),
        case!("GET" "/api/v1/spaces/{id}/permissions", "space", none, read, |f, w, me| (format!("/api/v1/spaces/{}/permissions", w.space), None)),
        case!("POST" "/api/v1/spaces/{id}/permissions", "space", none, write, |f, w, me| (
            format!("/api/v1/spaces/{}/permissions", w.space),
            Some(json!({"permission": unique("sp.")}))
        )),
        case!("PATCH" "/api/v1/spaces/{id}/permissions/{permission}", "permission", &[SpacePermission], write, |f, w, me| (
            format!("/api/v1/spaces/{}/permissions/{}", w.space, f.space_permission),
            Some(json!({"description": "d"}))
        )),
        case!("DELETE" "/api/v1/spaces/{id}/permissions/{permission}", "permission", &[SpacePermission], write, |f, w, me| (
            format!("/api/v1/spaces/{}/permissions/{}", w.space, f.space_permission),
            None
        )),
        case!("GET" "/api/v1/users/{id}/scopes", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/scopes", f.subject), None)),
        selfish(
            case!("GET" "/api/v1/users/{id}/scopes", "user", none, read, |f, w, me| (format!("/api/v1/users/{}/scopes", me.unwrap_or("")), None)),
        ),
        case!("PUT" "/api/v1/users/{id}/collections/{collection_id}", "user", none, write, |f, w, me| (
            format!("/api/v1/users/{}/collections/col_matrix", f.subject),
            Some(json!({"space_id": w.space, "read_only": true}))
        )),
        case!("DELETE" "/api/v1/users/{id}/collections/{collection_id}", "collection grant", &[DirectGrant], write, |f, w, me| (
            format!("/api/v1/users/{}/collections/col_direct", f.subject),
            None
        )),
        case!("GET" "/api/v1/scope-sets", "scope set", none, read, |f, w, me| (format!("/api/v1/scope-sets?space_id={}", w.space), None)),
        case!("POST" "/api/v1/scope-sets", "scope set", none, write, |f, w, me| (
            "/api/v1/scope-sets".into(),
            Some(json!({"name": unique("set "), "scopes": ["groups:read"], "space_id": w.space}))
        )),
        case!("GET" "/api/v1/scope-sets/{id}", "scope set", &[ScopeSet], read, |f, w, me| (format!("/api/v1/scope-sets/{}", f.scope_set), None)),
        case!("PATCH" "/api/v1/scope-sets/{id}", "scope set", &[ScopeSet], write, |f, w, me| (
            format!("/api/v1/scope-sets/{}", f.scope_set),
            Some(json!({"description": "d"}))
        )),
        case!("DELETE" "/api/v1/scope-sets/{id}", "scope set", &[ScopeSet], write, |f, w, me| (format!("/api/v1/scope-sets/{}", f.scope_set), None)),
        case!("PUT" "/api/v1/groups/{id}/scope-sets/{set_id}", "group", &[ScopeSet], write, |f, w, me| (
            format!("/api/v1/groups/{}/scope-sets/{}", f.group, f.scope_set),
            Some(json!({}))
        )),
        case!("DELETE" "/api/v1/groups/{id}/scope-sets/{set_id}", "group", &[ScopeSet], write, |f, w, me| (
            format!("/api/v1/groups/{}/scope-sets/{}", f.group, f.scope_set),
            None
        )),
        case!("GET" "/api/v1/filters/{list}", "list", none, read, |f, w, me| ("/api/v1/filters/groups".into(), None)),
        case!("GET" "/api/v1/groups/filters", "list", none, read, |f, w, me| ("/api/v1/groups/filters".into(), None)),
        case!("POST" "/api/v1/groups", "group", none, write, |f, w, me| ("/api/v1/groups".into(), Some(json!({"name": unique("new group ")})))),
        case!("GET" "/api/v1/groups", "group", none, read, |f, w, me| ("/api/v1/groups".into(), None)),
        case!("POST" "/api/v1/groups/bulk-delete", "group", none, write, |f, w, me| ("/api/v1/groups/bulk-delete".into(), Some(json!({"ids": [f.group]})))),
        case!("GET" "/api/v1/groups/{id}", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}", f.group), None)),
        case!("PATCH" "/api/v1/groups/{id}", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}", f.group), Some(json!({"description": "changed"})))),
        case!("PUT" "/api/v1/groups/{id}", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}", f.group), Some(json!({"name": unique("replaced ")})))),
        case!("DELETE" "/api/v1/groups/{id}", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/move", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/move", f.group), Some(json!({"parent_id": null})))),
        case!("POST" "/api/v1/groups/{id}/subgroups", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/subgroups", f.group), Some(json!({"name": "Sub"})))),
        case!("GET" "/api/v1/groups/{id}/subgroups", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/subgroups", f.group), None)),
        case!("GET" "/api/v1/groups/{id}/permissions", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/permissions", f.group), None)),
        case!("PATCH" "/api/v1/groups/{id}/permissions", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/permissions", f.group), Some(json!({"add": [], "remove": ["x.y"]})))),
        case!("GET" "/api/v1/groups/{id}/members", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/members", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/members", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/members", f.group),
            Some(json!({"user_id": f.subject, "role": "member"}))
        )),
        case!("POST" "/api/v1/groups/{id}/members/bulk", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/members/bulk", f.group),
            Some(json!({"members": [{"user_id": f.subject}]}))
        )),
        case!("GET" "/api/v1/groups/{id}/members/{user_id}", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/members/{}", f.group, f.target), None)),
        case!("PATCH" "/api/v1/groups/{id}/members/{user_id}", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/members/{}", f.group, f.target),
            Some(json!({"role": "member"}))
        )),
        case!("DELETE" "/api/v1/groups/{id}/members/{user_id}", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/members/{}", f.group, f.target), None)),
        case!("GET" "/api/v1/groups/{id}/users", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/users", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/join", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/join", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/leave", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/leave", f.group), None)),
        case!("GET" "/api/v1/groups/{id}/roles", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/roles", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/roles", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/roles", f.group),
            Some(json!({"name": "Helper", "permissions": ["read"]}))
        )),
        case!("PATCH" "/api/v1/groups/{id}/roles/{role_id}", "group", &[Role], write, |f, w, me| (
            format!("/api/v1/groups/{}/roles/{}", f.group, f.role),
            Some(json!({"description": "leads"}))
        )),
        case!("DELETE" "/api/v1/groups/{id}/roles/{role_id}", "group", &[Role], write, |f, w, me| (format!("/api/v1/groups/{}/roles/{}", f.group, f.role), None)),
        case!("POST" "/api/v1/groups/{id}/join-requests", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/join-requests", f.group), Some(json!({"message": "hi"})))),
        case!("GET" "/api/v1/groups/{id}/join-requests", "group", &[JoinRequest], read, |f, w, me| (format!("/api/v1/groups/{}/join-requests", f.group), None)),
        case!("PATCH" "/api/v1/groups/{id}/join-requests/{request_id}", "group", &[JoinRequest], write, |f, w, me| (
            format!("/api/v1/groups/{}/join-requests/{}", f.group, f.join_request),
            Some(json!({"action": "reject"}))
        )),
        case!("DELETE" "/api/v1/groups/{id}/join-requests/{request_id}", "join request", &[JoinRequest], write, |f, w, me| (
            format!("/api/v1/groups/{}/join-requests/{}", f.group, f.join_request),
            None
        )),
        case!("POST" "/api/v1/groups/{id}/invitations", "group", none, write, |f, w, me| (
            format!("/api/v1/groups/{}/invitations", f.group),
            Some(json!({"user_ids": [f.subject]}))
        )),
        case!("GET" "/api/v1/groups/{id}/invitations", "group", &[Invitation], read, |f, w, me| (format!("/api/v1/groups/{}/invitations", f.group), None)),
        case!("DELETE" "/api/v1/groups/{id}/invitations/{invitation_id}", "group", &[Invitation], write, |f, w, me| (
            format!("/api/v1/groups/{}/invitations/{}", f.group, f.invitation),
            None
        )),
        case!("POST" "/api/v1/groups/{id}/invitations/{invitation_id}/resend", "group", &[Invitation], write, |f, w, me| (
            format!("/api/v1/groups/{}/invitations/{}/resend", f.group, f.invitation),
            None
        )),
        case!("POST" "/api/v1/invitations/{invitation_id}/accept", "invitation", &[Invitation], write, |f, w, me| (format!("/api/v1/invitations/{}/accept", f.invitation), None)),
        case!("POST" "/api/v1/invitations/{invitation_id}/decline", "invitation", &[Invitation], write, |f, w, me| (format!("/api/v1/invitations/{}/decline", f.invitation), None)),
        case!("GET" "/api/v1/groups/{id}/posts", "group", &[Post], read, |f, w, me| (format!("/api/v1/groups/{}/posts", f.group), None)),
        case!("POST" "/api/v1/groups/{id}/posts", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/posts", f.group), Some(json!({"body": "hello"})))),
        case!("DELETE" "/api/v1/posts/{id}", "post", &[Post], write, |f, w, me| (format!("/api/v1/posts/{}", f.post), None)),
        case!("POST" "/api/v1/groups/{id}/activity", "group", none, write, |f, w, me| (format!("/api/v1/groups/{}/activity", f.group), Some(json!({"type": "message"})))),
        case!("GET" "/api/v1/groups/{id}/analytics", "group", none, read, |f, w, me| (format!("/api/v1/groups/{}/analytics", f.group), None)),
        case!("GET" "/api/collections/groups/records", "group", none, read, |f, w, me| ("/api/collections/groups/records".into(), None)),
        case!("POST" "/api/collections/groups/records", "group", none, write, |f, w, me| (
            "/api/collections/groups/records".into(),
            Some(json!({"name": unique("pb "), "space": w.space}))
        )),
        case!("GET" "/api/collections/groups/records/{id}", "group", none, read, |f, w, me| (format!("/api/collections/groups/records/{}", f.group), None)),
        case!("PATCH" "/api/collections/groups/records/{id}", "group", none, write, |f, w, me| (
            format!("/api/collections/groups/records/{}", f.group),
            Some(json!({"description": "changed"}))
        )),
        case!("DELETE" "/api/collections/groups/records/{id}", "group", none, write, |f, w, me| (format!("/api/collections/groups/records/{}", f.group), None)),
        case!("GET" "/api/collections/group_members/records", "group", none, read, |f, w, me| ("/api/collections/group_members/records".into(), None)),
        case!("POST" "/api/collections/group_members/records", "group", none, write, |f, w, me| (
            "/api/collections/group_members/records".into(),
            Some(json!({"group": f.group, "user": f.subject, "role": "member"}))
        )),
        case!("GET" "/api/collections/group_members/records/{id}", "membership", none, read, |f, w, me| (format!("/api/collections/group_members/records/{}", f.membership), None)),
        case!("PATCH" "/api/collections/group_members/records/{id}", "membership", none, write, |f, w, me| (
            format!("/api/collections/group_members/records/{}", f.membership),
            Some(json!({"role": "member"}))
        )),
        case!("DELETE" "/api/collections/group_members/records/{id}", "membership", none, write, |f, w, me| (format!("/api/collections/group_members/records/{}", f.membership), None)),
        case!("GET" "/api/realtime", "route", none, read, |f, w, me| ("/api/realtime".into(), None)),
        // No such client: 404 to whoever may subscribe.
        case!("POST" "/api/realtime", "route", none, read, |f, w, me| (
            "/api/realtime".into(),
            Some(json!({"clientId": "no-such-client", "subscriptions": ["groups/*"]}))
        )),
        case!("GET" "/api/posts", "group", &[Post], read, |f, w, me| (format!("/api/posts?scope=group&group={}", f.group), None)),
        case!("GET" "/api/organizations/{org_id}/groups", "organization", none, read, |f, w, me| (format!("/api/organizations/{}/groups", w.space), None)),
        case!("GET" "/api/organizations/{org_id}/groups/details", "organization", none, read, |f, w, me| (format!("/api/organizations/{}/groups/details", w.space), None)),
        case!("GET" "/api/organizations/{org_id}/groups/{id}", "organization", none, read, |f, w, me| (format!("/api/organizations/{}/groups/{}", w.space, f.group), None)),
        case!("GET" "/api/organizations/{org_id}/groups/{id}/details", "organization", none, read, |f, w, me| (
            format!("/api/organizations/{}/groups/{}/details", w.space, f.group),
            None
        )),
        case!("GET" "/api/organizations/{org_id}/users/{user_id}/collections", "organization", none, read, |f, w, me| (
            format!("/api/organizations/{}/users/{}/collections", w.space, f.subject),
            None
        )),
        case!("PUT" "/api/organizations/{org_id}/users/{user_id}/collections", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/users/{}/collections", w.space, f.subject),
            Some(json!([{"id": "col_org", "readOnly": true}]))
        )),
        case!("GET" "/api/organizations/{org_id}/groups/{id}/users", "organization", none, read, |f, w, me| (format!("/api/organizations/{}/groups/{}/users", w.space, f.group), None)),
        case!("POST" "/api/organizations/{org_id}/groups", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups", w.space),
            Some(json!({"name": unique("org "), "accessAll": false, "collections": []}))
        )),
        case!("PUT" "/api/organizations/{org_id}/groups/{id}", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups/{}", w.space, f.group),
            Some(json!({"name": unique("org put "), "accessAll": false, "collections": [], "users": f.members()}))
        )),
        case!("PUT" "/api/organizations/{org_id}/groups/{id}/users", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups/{}/users", w.space, f.group),
            Some(json!(f.members().into_iter().chain([f.subject.clone()]).collect::<Vec<_>>()))
        )),
        case!("DELETE" "/api/organizations/{org_id}/groups", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups", w.space),
            Some(json!({"ids": [f.group]}))
        )),
        case!("POST" "/api/organizations/{org_id}/groups/delete", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups/delete", w.space),
            Some(json!({"ids": [f.group]}))
        )),
        case!("DELETE" "/api/organizations/{org_id}/groups/{id}", "organization", none, write, |f, w, me| (format!("/api/organizations/{}/groups/{}", w.space, f.group), None)),
        case!("DELETE" "/api/organizations/{org_id}/groups/{id}/users/{user_id}", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups/{}/users/{}", w.space, f.group, f.target),
            None
        )),
        case!("DELETE" "/api/organizations/{org_id}/groups/{id}/user/{user_id}", "organization", none, write, |f, w, me| (
            format!("/api/organizations/{}/groups/{}/user/{}", w.space, f.group, f.target),
            None
        )),
        case!("GET" "/compat/v1/groups", "group", none, read, |f, w, me| ("/compat/v1/groups".into(), None)),
        case!("GET" "/compat/v1/groups/{group_id}", "group", none, read, |f, w, me| (format!("/compat/v1/groups/{}", f.group_num), None)),
        case!("GET" "/api/admin/groups", "group", none, read, |f, w, me| ("/api/admin/groups".into(), None)),
        case!("GET" "/api/admin/groups/", "group", none, read, |f, w, me| ("/api/admin/groups/".into(), None)),
        case!("POST" "/api/admin/groups", "group", none, write, |f, w, me| ("/api/admin/groups".into(), Some(json!({"name": unique("adm ")})))),
        case!("POST" "/api/admin/groups/", "group", none, write, |f, w, me| ("/api/admin/groups/".into(), Some(json!({"name": unique("adm ")})))),
        case!("GET" "/api/admin/groups/filters", "list", none, read, |f, w, me| ("/api/admin/groups/filters".into(), None)),
        case!("GET" "/api/admin/groups/{id}", "group", none, read, |f, w, me| (format!("/api/admin/groups/{}", f.group), None)),
        case!("PUT" "/api/admin/groups/{id}", "group", none, write, |f, w, me| (format!("/api/admin/groups/{}", f.group), Some(json!({"name": unique("adm put ")})))),
        case!("PATCH" "/api/admin/groups/{id}", "group", none, write, |f, w, me| (format!("/api/admin/groups/{}", f.group), Some(json!({"description": "x"})))),
        case!("DELETE" "/api/admin/groups/{id}", "group", none, write, |f, w, me| (format!("/api/admin/groups/{}", f.group), None)),
        case!("GET" "/api/admin/groups/{id}/users", "group", none, read, |f, w, me| (format!("/api/admin/groups/{}/users", f.group), None)),
        case!("POST" "/api/admin/groups/{id}/users/{user_id}", "group", none, write, |f, w, me| (format!("/api/admin/groups/{}/users/{}", f.group, f.subject), None)),
        case!("DELETE" "/api/admin/groups/{id}/users/{user_id}", "group", none, write, |f, w, me| (format!("/api/admin/groups/{}/users/{}", f.group, f.target), None)),
        case!("GET" "/scim/v2/Users", "user", none, read, |f, w, me| ("/scim/v2/Users".into(), None)),
        case!("POST" "/scim/v2/Users", "user", none, write, |f, w, me| ("/scim/v2/Users".into(), Some(scim_user_body()))),
        case!("POST" "/scim/v2/Users/.search", "user", none, read, |f, w, me| ("/scim/v2/Users/.search".into(), Some(json!({"filter": "userName pr"})))),
        case!("GET" "/scim/v2/Users/{id}", "user", &[ScimUser], read, |f, w, me| (format!("/scim/v2/Users/{}", f.scim_user), None)),
        case!("PUT" "/scim/v2/Users/{id}", "user", &[ScimUser], write, |f, w, me| (format!("/scim/v2/Users/{}", f.scim_user), Some(scim_user_body()))),
        case!("PATCH" "/scim/v2/Users/{id}", "user", &[ScimUser], write, |f, w, me| (
            format!("/scim/v2/Users/{}", f.scim_user),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": false}]}))
        )),
        case!("DELETE" "/scim/v2/Users/{id}", "user", &[ScimUser], write, |f, w, me| (format!("/scim/v2/Users/{}", f.scim_user), None)),
        case!("GET" "/scim/v2/Groups", "group", none, read, |f, w, me| ("/scim/v2/Groups".into(), None)),
        case!("POST" "/scim/v2/Groups/.search", "group", none, read, |f, w, me| ("/scim/v2/Groups/.search".into(), Some(json!({"count": 5})))),
        case!("POST" "/scim/v2/.search", "group", none, read, |f, w, me| ("/scim/v2/.search".into(), Some(json!({"count": 5})))),
        case!("GET" "/scim/v2/Me", "user", none, read, |f, w, me| ("/scim/v2/Me".into(), None)),
        case!("POST" "/scim/v2/Bulk", "group", none, write, |f, w, me| (
            "/scim/v2/Bulk".into(),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": unique("scim bulk ")}}
            ]}))
        )),
        case!("POST" "/scim/v2/Groups", "group", none, write, |f, w, me| (
            "/scim/v2/Groups".into(),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": unique("scim group ")}))
        )),
        case!("GET" "/scim/v2/Groups/{id}", "group", none, read, |f, w, me| (format!("/scim/v2/Groups/{}", f.group), None)),
        case!("PUT" "/scim/v2/Groups/{id}", "group", none, write, |f, w, me| (
            format!("/scim/v2/Groups/{}", f.group),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": unique("scim put ")}))
        )),
        case!("PATCH" "/scim/v2/Groups/{id}", "group", none, write, |f, w, me| (
            format!("/scim/v2/Groups/{}", f.group),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": unique("scim patch ")}]}))
        )),
        case!("DELETE" "/scim/v2/Groups/{id}", "group", none, write, |f, w, me| (format!("/scim/v2/Groups/{}", f.group), None)),
        // Last: signing out ends the caller's session.
        case!("POST" "/api/v1/auth/logout", "route", none, write, |f, w, me| ("/api/v1/auth/logout".into(), None)),
    ]
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

/// Checks one answer against the expectation; answers a failure to report.
fn judge(case: &Case, caller: &Caller, want: Expect, status: u16, body: &Value) -> Option<String> {
    let message = body["message"].as_str().or(body["detail"].as_str()).unwrap_or("").to_lowercase();
    let hidden = status == 404 && message.contains(&format!("{} not found", case.object));
    let ok = match want {
        Expect::Unauthenticated => status == 401,
        Expect::Denied => status == 403,
        Expect::Hidden => status == 404,
        Expect::Allowed => status < 500 && status != 401 && status != 403 && !hidden,
    };
    if want == Expect::Allowed && !(200..300).contains(&status) && std::env::var("MATRIX_VERBOSE").is_ok() {
        eprintln!("allowed, answered {status}: {} {} as {}: {body}", case.method, case.route, caller.name);
    }
    (!ok || status >= 500).then(|| format!("{} {} as {}: wanted {want:?}, got {status} {body}", case.method, case.route, caller.name))
}

async fn run(app: &TestApp, case: &Case, caller: &Caller, f: &Fixture, w: &World) -> (u16, Value) {
    let (path, body) = (case.build)(f, w, caller.user.as_deref());
    let headers: &[(&str, &str)] = if case.route.starts_with("/scim/v2/") { &[("Content-Type", "application/scim+json")] } else { &[] };
    let res = app.call_with(method(case.method), &path, caller.secret.as_deref(), body, headers).await;
    (res.status.as_u16(), res.body)
}

story!(every_route_against_every_caller, |app: TestApp| async move {
    let w = world(&app).await;
    let all_cases = cases();

    // Every route of the router and of the table has a case, and every case a route.
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "put", "post", "patch", "delete"] {
            if item.get(m).is_some() {
                documented.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    let table: BTreeSet<(String, String)> = cohort_http::routes::ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = documented.difference(&table).collect();
    assert!(missing.is_empty(), "routes missing from the policy table: {missing:?}");
    let covered: BTreeSet<(String, String)> = all_cases.iter().map(|c| (c.method.to_string(), c.route.to_string())).collect();
    let untested: Vec<_> = table.difference(&covered).collect();
    assert!(untested.is_empty(), "routes in the table without a case here: {untested:?}");
    let unknown: Vec<_> = covered.difference(&table).collect();
    assert!(unknown.is_empty(), "cases for routes the table does not name: {unknown:?}");

    let shared = fixture(
        &app,
        &w,
        &[
            Need::Post,
            Need::Role,
            Need::JoinRequest,
            Need::Invitation,
            Need::Key,
            Need::SpareSpace,
            Need::SitePermission,
            Need::SpacePermission,
            Need::ScopeSet,
            Need::DirectGrant,
            Need::ScimUser,
            Need::Webhook,
        ],
    )
    .await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for case in &all_cases {
        let op = cohort_http::routes::operation(&method(case.method), case.route).unwrap();
        let mut fresh_runs = Vec::new();
        for caller in &w.callers {
            if case.as_self && caller.user.is_none() {
                continue;
            }
            let target = if case.as_self { caller.user.clone() } else { Some(shared.subject.clone()) };
            let want = expect(op, case.route, caller, target.as_deref(), &w);
            if want == Expect::Allowed && !case.read {
                fresh_runs.push((caller, want));
                continue;
            }
            let (status, body) = run(&app, case, caller, &shared, &w).await;
            calls += 1;
            failures.extend(judge(case, caller, want, status, &body));
        }
        // Each caller the table lets change something gets a fixture of its own.
        for chunk in fresh_runs.chunks(6) {
            let runs = chunk.iter().map(|(caller, want)| {
                let (app, w) = (&app, &w);
                async move {
                    let f = fixture(app, w, case.needs).await;
                    let (status, body) = run(app, case, caller, &f, w).await;
                    judge(case, caller, *want, status, &body)
                }
            });
            for failure in futures_util::future::join_all(runs).await.into_iter().flatten() {
                failures.push(failure);
            }
            calls += chunk.len();
        }
    }
    assert!(calls > 0);
    assert!(failures.is_empty(), "{} of the calls disagree with the policy table:\n{}", failures.len(), failures.join("\n"));
});
