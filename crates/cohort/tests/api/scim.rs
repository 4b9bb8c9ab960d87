//! SCIM 2.0 at `/scim/v2`, driven the way Okta and Entra ID provision: discovery, users,
//! groups, filters, errors, isolation between spaces, and a large membership PATCH.

use crate::helpers::{Res, TestApp};
use crate::story;
use reqwest::Method;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A space and a `scim` key bound to it, as an identity provider holds it.
struct Idp {
    space: String,
    key: String,
}

async fn idp(app: &TestApp, name: &str) -> Idp {
    let space = app.post("/api/v1/spaces", &app.admin_key, json!({"name": name})).await.expect(201)["id"].as_str().unwrap().to_string();
    let made =
        app.post("/api/v1/api-keys", &app.admin_key, json!({"name": format!("{name} idp"), "scopes": ["scim"], "space_id": space})).await;
    let key = made.expect(201)["key"].as_str().unwrap().to_string();
    Idp { space, key }
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// A SCIM request with the SCIM content type; every answer with a body must carry it, and
/// every User and Group in it must be what `/Schemas` publishes ([`conforms`]).
async fn scim(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> Res {
    let res = app.call_with(method, path, Some(key), body, &[("Content-Type", "application/scim+json")]).await;
    if res.status.as_u16() != 204 {
        let ct = res.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/scim+json"), "{path}: content type {ct:?}, body {}", res.body);
        conforms(app, path, &res.body).await;
    }
    res
}

/// Asserts that each User or Group in `body` (a resource, or a list's resources) carries only
/// attributes its schema at `/Schemas` declares, with only the sub-attributes declared for
/// them, and none the schema says is never returned: identity providers build their model of
/// the server from `/Schemas` and refuse anything beyond it.
async fn conforms(app: &TestApp, path: &str, body: &Value) {
    let resources: Vec<&Value> = match body["schemas"].as_array() {
        Some(s) if s.contains(&json!(LIST)) => body["Resources"].as_array().map(|r| r.iter().collect()).unwrap_or_default(),
        Some(_) => vec![body],
        None => return,
    };
    if resources.is_empty() {
        return;
    }
    let published = app.call(Method::GET, "/scim/v2/Schemas", None, None).await.expect(200);
    for r in resources {
        let Some(schema) = r["schemas"].as_array().and_then(|s| s.iter().find(|s| *s == USER || *s == GROUP)) else {
            continue;
        };
        let attrs_of =
            |id: &Value| published["Resources"].as_array().unwrap().iter().find(|d| d["id"] == *id).map(|d| d["attributes"].clone());
        let core = attrs_of(schema).unwrap();
        for (key, value) in r.as_object().unwrap() {
            // Common attributes (RFC 7643 §3.1) belong to no schema.
            if ["schemas", "id", "externalId", "meta"].contains(&key.as_str()) {
                continue;
            }
            // An extension's attributes sit under its schema's key, which `schemas` names.
            let (attrs, obj) = if r["schemas"].as_array().unwrap().contains(&json!(key)) {
                let ext = attrs_of(&json!(key)).unwrap_or_else(|| panic!("{path}: extension {key} is not published"));
                (ext, value.as_object().unwrap_or_else(|| panic!("{path}: {key} is not an object")).clone())
            } else {
                (core.clone(), [(key.clone(), value.clone())].into_iter().collect())
            };
            for (key, value) in &obj {
                let attr = attrs.as_array().unwrap().iter().find(|a| a["name"].as_str().unwrap().eq_ignore_ascii_case(key));
                let attr = attr.unwrap_or_else(|| panic!("{path}: {key} is not in {schema} or its extensions: {r}"));
                assert_ne!(attr["returned"], "never", "{path}: {key} is never to be returned: {r}");
                let subs: Vec<String> = attr["subAttributes"]
                    .as_array()
                    .map(|s| s.iter().map(|a| a["name"].as_str().unwrap().to_lowercase()).collect())
                    .unwrap_or_default();
                let elements: Vec<&Value> = match value {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for e in elements.into_iter().filter_map(Value::as_object) {
                    for sub in e.keys() {
                        assert!(subs.contains(&sub.to_lowercase()), "{path}: {key}.{sub} is not in {schema}: {r}");
                    }
                }
            }
        }
    }
}

/// Asserts a SCIM error with this status and `scimType`.
#[track_caller]
fn scim_error(res: Res, status: u16, scim_type: Option<&str>) -> Value {
    let body = res.expect(status);
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], json!(status.to_string()), "status is a string: {body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": list})
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The `userName`s (or `displayName`s) of a list response, in order.
fn names(list: &Value) -> Vec<String> {
    assert_eq!(list["schemas"], json!([LIST]));
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.get("userName").or_else(|| r.get("displayName")).and_then(Value::as_str).unwrap().to_string())
        .collect()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        group["members"].as_array().map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect()).unwrap_or_default();
    ids.sort();
    ids
}

async fn membership_status(app: &TestApp, group: &str, user: &str) -> String {
    app.get(&format!("/api/v1/groups/{group}/members/{user}"), &app.admin_key).await.expect(200)["status"].as_str().unwrap().to_string()
}

async fn login(app: &TestApp, login: &str, password: &str) -> Res {
    app.call(Method::POST, "/api/v1/auth/token", None, Some(json!({"login": login, "password": password}))).await
}

story!(discovery_describes_the_service, |app: TestApp| async move {
    for path in ["/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"] {
        let res = app.call(Method::GET, path, None, None).await;
        let ct = res.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/scim+json"), "{path}: {ct}");
        res.expect(200);
    }
    let config = app.call(Method::GET, "/scim/v2/ServiceProviderConfig", None, None).await.expect(200);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576}));
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let types = app.call(Method::GET, "/scim/v2/ResourceTypes", None, None).await.expect(200);
    assert_eq!(types["totalResults"], 2);
    let endpoints: Vec<&str> = types["Resources"].as_array().unwrap().iter().map(|t| t["endpoint"].as_str().unwrap()).collect();
    assert_eq!(endpoints, ["/Users", "/Groups"]);
    let user_type = app.call(Method::GET, "/scim/v2/ResourceTypes/User", None, None).await.expect(200);
    assert_eq!(user_type["schema"], USER);
    scim_error(app.call(Method::GET, "/scim/v2/ResourceTypes/Device", None, None).await, 404, None);

    let schemas = app.call(Method::GET, "/scim/v2/Schemas", None, None).await.expect(200);
    let ids: Vec<&str> = schemas["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [USER, GROUP, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]);
    assert_eq!(
        user_type["schemaExtensions"],
        json!([{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}])
    );
    let user = app.call(Method::GET, &format!("/scim/v2/Schemas/{USER}"), None, None).await.expect(200);
    let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!((user_name["required"].clone(), user_name["uniqueness"].clone()), (json!(true), json!("server")));
    let group = app.call(Method::GET, &format!("/scim/v2/Schemas/{GROUP}"), None, None).await.expect(200);
    assert_eq!(group["attributes"][1]["name"], "members");
    scim_error(app.call(Method::GET, "/scim/v2/Schemas/urn:nope", None, None).await, 404, None);

    let idp = idp(&app, "Acme").await;
    scim_error(scim(&app, Method::GET, "/scim/v2/Devices", &idp.key, None).await, 404, None);
    scim_error(scim(&app, Method::GET, "/scim/v2", &idp.key, None).await, 404, None);
});

story!(okta_provisions_deactivates_and_reactivates_a_user, |app: TestApp| async move {
    let idp = idp(&app, "Okta tenant").await;
    let filter = enc(r#"userName eq "isabell.hall@example.com""#);
    let found =
        scim(&app, Method::GET, &format!("/scim/v2/Users?filter={filter}&startIndex=1&count=100"), &idp.key, None).await.expect(200);
    assert_eq!((found["totalResults"].clone(), found["Resources"].clone()), (json!(0), json!([])));

    // Okta's create request, as its SCIM 2.0 guide shows it.
    let body = json!({
        "schemas": [USER],
        "userName": "isabell.hall@example.com",
        "name": {"givenName": "Isabell", "familyName": "Hall"},
        "emails": [{"primary": true, "value": "isabell.hall@example.com", "type": "work"}],
        "displayName": "Isabell Hall",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    });
    let res = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await;
    let location = res.header("location").unwrap();
    let etag = res.header("etag").unwrap();
    let created = res.expect(201);
    let id = id_of(&created);
    assert!(id.starts_with("usr_"), "SCIM ids are Cohort's user ids");
    assert_eq!(created["schemas"], json!([USER]));
    assert_eq!(created["userName"], "isabell.hall@example.com");
    assert_eq!(created["name"], json!({"formatted": "Isabell Hall", "givenName": "Isabell", "familyName": "Hall"}));
    assert_eq!(created["displayName"], "Isabell Hall");
    assert_eq!(created["emails"], json!([{"value": "isabell.hall@example.com", "type": "work", "primary": true}]));
    assert_eq!(created["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(created["active"], true);
    assert_eq!(created["groups"], json!([]), "users made through SCIM belong to no group");
    assert!(created.get("password").is_none());
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["version"], json!(etag));
    assert_eq!(created["meta"]["location"], json!(location));
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")));
    assert!(created["meta"]["created"].as_str().unwrap().ends_with('Z'));

    // Okta looks the user up again, by filter and by id.
    let found =
        scim(&app, Method::GET, &format!("/scim/v2/Users?filter={filter}&startIndex=1&count=100"), &idp.key, None).await.expect(200);
    assert_eq!((found["totalResults"].clone(), found["itemsPerPage"].clone(), found["startIndex"].clone()), (json!(1), json!(1), json!(1)));
    assert_eq!(found["Resources"][0]["id"], json!(id));
    let one = scim(&app, Method::GET, &format!("/scim/v2/Users/{id}"), &idp.key, None).await;
    assert_eq!(one.header("etag"), Some(etag.clone()));
    assert_eq!(one.expect(200), created);

    // The user exists natively too and can sign in with the password Okta set.
    let native = app.get(&format!("/api/v1/users/{id}"), &app.admin_key).await.expect(200);
    assert_eq!((native["username"].clone(), native["full_name"].clone()), (json!("isabell.hall@example.com"), json!("Isabell Hall")));
    let token = login(&app, "isabell.hall@example.com", "1mz050nq").await.expect(200)["token"].as_str().unwrap().to_string();
    app.get("/api/v1/users/me", &token).await.expect(200);

    // Memberships: one in a group of the IdP's space, one in a native group, one the
    // group's moderators had already suspended.
    let pushed = scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Sales", "members": [{"value": id}]})))
        .await
        .expect(201);
    let sales = id_of(&pushed);
    let native_group =
        app.post("/api/v1/groups", &app.admin_key, json!({"name": "Native"})).await.expect(201)["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/groups/{native_group}/members"), &app.admin_key, json!({"user_id": id})).await.expect(201);
    let paused =
        app.post("/api/v1/groups", &app.admin_key, json!({"name": "Paused"})).await.expect(201)["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/groups/{paused}/members"), &app.admin_key, json!({"user_id": id, "status": "suspended"})).await.expect(201);
    let with_groups = scim(&app, Method::GET, &format!("/scim/v2/Users/{id}"), &idp.key, None).await.expect(200);
    assert_eq!(with_groups["groups"].as_array().unwrap().len(), 1, "groups lists the key's space only: {with_groups}");
    assert_eq!(with_groups["groups"][0]["value"], json!(sales));
    assert_eq!(with_groups["groups"][0]["display"], "Sales");

    // Okta updates a profile with PUT.
    let mut put = created.clone();
    put["name"] = json!({"givenName": "Isabella", "familyName": "Hall"});
    put.as_object_mut().unwrap().remove("displayName");
    let replaced = scim(&app, Method::PUT, &format!("/scim/v2/Users/{id}"), &idp.key, Some(put)).await.expect(200);
    assert_eq!(replaced["name"]["formatted"], "Isabella Hall");
    assert_ne!(replaced["meta"]["version"], created["meta"]["version"]);

    // Deactivation: Okta's PATCH with a pathless replace.
    let off = ops(json!([{"op": "replace", "value": {"active": false}}]));
    let deactivated = scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(off.clone())).await.expect(200);
    assert_eq!(deactivated["active"], false);
    app.get("/api/v1/users/me", &token).await.error(401, "unauthenticated");
    login(&app, "isabell.hall@example.com", "1mz050nq").await.error(401, "unauthenticated");
    assert_eq!(membership_status(&app, &sales, &id).await, "suspended");
    assert_eq!(membership_status(&app, &native_group, &id).await, "suspended");
    assert_eq!(membership_status(&app, &paused, &id).await, "suspended");
    let read = json!({"user_id": id, "group_id": sales, "action": "read"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, read.clone()).await.expect(200)["allowed"], false);
    // Sent twice, it changes nothing more.
    scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(off)).await.expect(200);
    let inactive = scim(&app, Method::GET, &format!("/scim/v2/Users?filter={}", enc("active eq false")), &idp.key, None).await.expect(200);
    assert_eq!(names(&inactive), ["isabell.hall@example.com"]);

    // Meanwhile one membership is removed and made again (suspended), and another group
    // fills the seat the user had.
    let recreated =
        app.post("/api/v1/groups", &app.admin_key, json!({"name": "Recreated"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let tiny = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Tiny", "settings": {"max_members": 1}})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app.user("other").await;
    // An administrator reactivates the user natively (which restores nothing), they join
    // two more groups, and the directory deactivates them again.
    app.app
        .update_user(
            &cohort_core::auth::Principal::system(),
            &id,
            cohort_app::users::UserPatch { active: Some(true), ..Default::default() },
            None,
        )
        .await
        .unwrap();
    for g in [&recreated, &tiny] {
        app.post(&format!("/api/v1/groups/{g}/members"), &app.admin_key, json!({"user_id": id})).await.expect(201);
    }
    let off = ops(json!([{"op": "replace", "value": {"active": false}}]));
    scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(off)).await.expect(200);
    assert_eq!(membership_status(&app, &recreated, &id).await, "suspended");
    app.delete(&format!("/api/v1/groups/{recreated}/members/{id}"), &app.admin_key).await.expect(200);
    app.post(&format!("/api/v1/groups/{recreated}/members"), &app.admin_key, json!({"user_id": id, "status": "suspended"}))
        .await
        .expect(201);
    app.post(&format!("/api/v1/groups/{tiny}/members"), &app.admin_key, json!({"user_id": other.id})).await.expect(201);

    // Reactivation restores what deactivation suspended, and only that.
    let on = ops(json!([{"op": "replace", "value": {"active": true}}]));
    let reactivated = scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(on)).await.expect(200);
    assert_eq!(reactivated["active"], true);
    assert_eq!(membership_status(&app, &sales, &id).await, "active");
    assert_eq!(membership_status(&app, &native_group, &id).await, "active");
    assert_eq!(membership_status(&app, &paused, &id).await, "suspended", "a membership suspended before stays suspended");
    assert_eq!(membership_status(&app, &recreated, &id).await, "suspended", "a membership made again is not the one suspended");
    assert_eq!(membership_status(&app, &tiny, &id).await, "suspended", "a full group keeps the membership suspended");
    assert_eq!(app.post("/api/v1/check", &app.admin_key, read).await.expect(200)["allowed"], true);
    let token = login(&app, "isabell.hall@example.com", "1mz050nq").await.expect(200)["token"].as_str().unwrap().to_string();
    app.get("/api/v1/users/me", &token).await.expect(200);

    // Okta deletes only when told to; the user's memberships go with them.
    scim(&app, Method::DELETE, &format!("/scim/v2/Users/{id}"), &idp.key, None).await.expect(204);
    scim_error(scim(&app, Method::GET, &format!("/scim/v2/Users/{id}"), &idp.key, None).await, 404, None);
    let group = scim(&app, Method::GET, &format!("/scim/v2/Groups/{sales}"), &idp.key, None).await.expect(200);
    assert_eq!(group["members"], json!([]));
});

story!(entra_id_provisions_and_updates_a_user, |app: TestApp| async move {
    let idp = idp(&app, "Contoso").await;
    // Entra's validator: a user with the enterprise extension, which Cohort does not keep.
    let body = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "department": "Eng"}
    });
    let created = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await.expect(201);
    let id = id_of(&created);
    assert_eq!(created["name"]["formatted"], "givenName familyName");
    // The enterprise extension is kept as written, and named in `schemas`.
    assert_eq!(created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], json!({"employeeNumber": "7", "department": "Eng"}));
    assert_eq!(created["schemas"], json!([USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]));

    for filter in [
        r#"userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1""#,
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        r#"emails[type eq "work"].value eq "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com""#,
    ] {
        let found = scim(&app, Method::GET, &format!("/scim/v2/Users?filter={}", enc(filter)), &idp.key, None).await.expect(200);
        assert_eq!(found["totalResults"], 1, "{filter}");
    }

    // Entra's PATCH: capitalised op names, paths with value filters, dotted keys.
    let update = ops(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "value": {"name.givenName": "Mary Ann", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops"}},
        {"op": "Add", "path": "externalId", "value": "changed-external"},
        {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"}
    ]));
    let updated = scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(update)).await.expect(200);
    assert_eq!(updated["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(updated["name"]["formatted"], "Mary Ann updatedFamilyName");
    assert_eq!(updated["externalId"], "changed-external");
    assert_eq!(updated["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "Ops");
    let native = app.get(&format!("/api/v1/users/{id}"), &app.admin_key).await.expect(200);
    assert_eq!(
        (native["email"].clone(), native["full_name"].clone()),
        (json!("updatedEmail@microsoft.com"), json!("Mary Ann updatedFamilyName"))
    );

    // Entra disables with a string boolean.
    let off = ops(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(off)).await.expect(200)["active"], false);
    let on = ops(json!([{"op": "replace", "path": "active", "value": true}]));
    assert_eq!(scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(on)).await.expect(200)["active"], true);

    // Removing the email and the external id.
    let clear = ops(json!([{"op": "Remove", "path": "emails[type eq \"work\"]"}, {"op": "remove", "path": "externalId"}]));
    let cleared = scim(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), &idp.key, Some(clear)).await.expect(200);
    assert!(cleared.get("emails").is_none() && cleared.get("externalId").is_none(), "{cleared}");

    // If-Match: a stale version is refused, the current one accepted.
    let stale = app
        .call_with(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(&idp.key),
            Some(ops(json!([{"op": "replace", "path": "displayName", "value": "X"}]))),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
    scim_error(stale, 412, None);
    let version = cleared["meta"]["version"].as_str().unwrap().to_string();
    let fresh = app
        .call_with(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(&idp.key),
            Some(ops(json!([{"op": "replace", "path": "displayName", "value": "Mary Smith"}]))),
            &[("If-Match", &version)],
        )
        .await;
    assert_eq!(fresh.expect(200)["displayName"], "Mary Smith");

    // Projection.
    let only =
        scim(&app, Method::GET, &format!("/scim/v2/Users/{id}?attributes=userName,name.givenName"), &idp.key, None).await.expect(200);
    let keys: Vec<&String> = only.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{only}");
    // The given name as the directory last wrote it, beside the full name it set since.
    assert_eq!(only["name"], json!({"givenName": "Mary Ann"}));
    let without = scim(&app, Method::GET, "/scim/v2/Users?excludedAttributes=groups,meta,name.formatted", &idp.key, None).await.expect(200);
    let u = &without["Resources"][0];
    assert!(
        u.get("groups").is_none() && u.get("meta").is_none() && u["name"].get("formatted").is_none() && u.get("userName").is_some(),
        "{u}"
    );

    scim(&app, Method::DELETE, &format!("/scim/v2/Users/{id}"), &idp.key, None).await.expect(204);
    scim_error(scim(&app, Method::DELETE, &format!("/scim/v2/Users/{id}"), &idp.key, None).await, 404, None);
});

story!(okta_pushes_a_group, |app: TestApp| async move {
    let idp = idp(&app, "Okta push").await;
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let u = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(json!({"schemas": [USER], "userName": name}))).await.expect(201);
        users.push(id_of(&u));
    }
    let (ann, ben, cat) = (users[0].clone(), users[1].clone(), users[2].clone());

    let made = scim(
        &app,
        Method::POST,
        "/scim/v2/Groups",
        &idp.key,
        Some(json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})),
    )
    .await;
    assert!(made.header("location").unwrap().contains("/scim/v2/Groups/grp_"));
    let group = made.expect(201);
    let gid = id_of(&group);
    assert_eq!(group["members"], json!([]), "the key does not join the group it makes");
    assert_eq!(group["meta"]["resourceType"], "Group");
    let native = app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200);
    assert_eq!((native["space"].clone(), native["member_count"].clone()), (json!(idp.space), json!(0)));

    let path = format!("/scim/v2/Groups/{gid}");
    let rename = ops(json!([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2 renamed"}}]));
    assert_eq!(scim(&app, Method::PATCH, &path, &idp.key, Some(rename)).await.expect(200)["displayName"], "Test SCIMv2 renamed");

    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": ann, "display": "ann"}, {"value": ben, "display": "ben"}]}]));
    let added = scim(&app, Method::PATCH, &path, &idp.key, Some(add.clone())).await.expect(200);
    let mut want = vec![ann.clone(), ben.clone()];
    want.sort();
    assert_eq!(member_ids(&added), want);
    assert_eq!(added["members"][0]["type"], "User");
    // Adding members already there changes nothing.
    assert_eq!(member_ids(&scim(&app, Method::PATCH, &path, &idp.key, Some(add)).await.expect(200)), want);
    assert_eq!(app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200)["member_count"], 2);

    let remove = ops(json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]));
    assert_eq!(member_ids(&scim(&app, Method::PATCH, &path, &idp.key, Some(remove.clone())).await.expect(200)), std::slice::from_ref(&ben));
    // Removing someone who is not a member is not an error.
    scim(&app, Method::PATCH, &path, &idp.key, Some(remove)).await.expect(200);

    let filtered =
        scim(&app, Method::GET, &format!("/scim/v2/Groups?filter={}", enc(r#"displayName eq "test scimv2 RENAMED""#)), &idp.key, None)
            .await
            .expect(200);
    assert_eq!(names(&filtered), ["Test SCIMv2 renamed"]);

    // PUT replaces the name and the members.
    let put = json!({"schemas": [GROUP], "id": gid, "displayName": "Final", "members": [{"value": cat}, {"value": ann}]});
    let replaced = scim(&app, Method::PUT, &path, &idp.key, Some(put)).await.expect(200);
    assert_eq!(replaced["displayName"], "Final");
    let mut want = vec![ann.clone(), cat.clone()];
    want.sort();
    assert_eq!(member_ids(&replaced), want);

    // A PUT without members keeps them; with an empty list it clears them.
    let renamed = scim(&app, Method::PUT, &path, &idp.key, Some(json!({"schemas": [GROUP], "displayName": "Final 2"}))).await.expect(200);
    assert_eq!((renamed["displayName"].clone(), member_ids(&renamed)), (json!("Final 2"), want.clone()));
    let emptied = scim(&app, Method::PUT, &path, &idp.key, Some(json!({"displayName": "Final 2", "members": []}))).await.expect(200);
    assert_eq!(emptied["members"], json!([]));

    let refill = ops(json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]));
    scim(&app, Method::PATCH, &path, &idp.key, Some(refill)).await.expect(200);
    let clear = ops(json!([{"op": "remove", "path": "members"}]));
    assert_eq!(scim(&app, Method::PATCH, &path, &idp.key, Some(clear)).await.expect(200)["members"], json!([]));

    scim(&app, Method::DELETE, &path, &idp.key, None).await.expect(204);
    scim_error(scim(&app, Method::GET, &path, &idp.key, None).await, 404, None);
    app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.error(404, "not_found");
    for u in &users {
        scim(&app, Method::GET, &format!("/scim/v2/Users/{u}"), &idp.key, None).await.expect(200);
    }
});

story!(entra_id_syncs_a_group, |app: TestApp| async move {
    let idp = idp(&app, "Contoso groups").await;
    let u = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(json!({"userName": "pat@contoso.com"}))).await.expect(201);
    let uid = id_of(&u);
    let v = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(json!({"userName": "val@contoso.com"}))).await.expect(201);
    let vid = id_of(&v);

    let body = json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName", "meta": {"resourceType": "Group"}});
    let created = scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(body)).await.expect(201);
    let gid = id_of(&created);
    assert_eq!(created["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");

    let q = format!("/scim/v2/Groups?excludedAttributes=members&filter={}", enc(r#"displayName eq "displayName""#));
    let found = scim(&app, Method::GET, &q, &idp.key, None).await.expect(200);
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("members").is_none());
    let by_ext = format!("/scim/v2/Groups?filter={}", enc(r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#));
    assert_eq!(scim(&app, Method::GET, &by_ext, &idp.key, None).await.expect(200)["totalResults"], 1);
    let one = scim(&app, Method::GET, &format!("/scim/v2/Groups/{gid}?excludedAttributes=members"), &idp.key, None).await.expect(200);
    assert!(one.get("members").is_none() && one["displayName"] == "displayName");

    let path = format!("/scim/v2/Groups/{gid}");
    let add = ops(json!([{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": vid}]}]));
    scim(&app, Method::PATCH, &path, &idp.key, Some(add)).await.expect(200);
    // Entra checks a membership with a filter.
    let is_member = |user: &str| {
        format!("/scim/v2/Groups?excludedAttributes=members&filter={}", enc(&format!(r#"id eq "{gid}" and members[value eq "{user}"]"#)))
    };
    assert_eq!(scim(&app, Method::GET, &is_member(&uid), &idp.key, None).await.expect(200)["totalResults"], 1);

    let remove = ops(json!([{"op": "Remove", "path": "members", "value": [{"value": uid}]}]));
    let after = scim(&app, Method::PATCH, &path, &idp.key, Some(remove)).await.expect(200);
    assert_eq!(member_ids(&after), std::slice::from_ref(&vid));
    assert_eq!(scim(&app, Method::GET, &is_member(&uid), &idp.key, None).await.expect(200)["totalResults"], 0);
    assert_eq!(scim(&app, Method::GET, &is_member(&vid), &idp.key, None).await.expect(200)["totalResults"], 1);

    let rename = ops(json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]));
    let renamed = scim(&app, Method::PATCH, &path, &idp.key, Some(rename)).await.expect(200);
    assert_eq!(renamed["displayName"], "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName");
    assert_ne!(renamed["meta"]["version"], created["meta"]["version"]);

    // Several operations in one PATCH apply in order, in one transaction.
    let mixed = ops(json!([
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": uid}]},
        {"op": "replace", "path": "externalId", "value": "ext-2"}
    ]));
    let mixed = scim(&app, Method::PATCH, &path, &idp.key, Some(mixed)).await.expect(200);
    assert_eq!((member_ids(&mixed), mixed["externalId"].clone()), (vec![uid.clone()], json!("ext-2")));
    // A failing operation undoes the ones before it.
    let failing = ops(json!([
        {"op": "add", "path": "members", "value": [{"value": vid}]},
        {"op": "add", "path": "members", "value": [{"value": "usr_nobody"}]}
    ]));
    scim_error(scim(&app, Method::PATCH, &path, &idp.key, Some(failing)).await, 400, Some("invalidValue"));
    assert_eq!(member_ids(&scim(&app, Method::GET, &path, &idp.key, None).await.expect(200)), std::slice::from_ref(&uid));

    scim(&app, Method::DELETE, &path, &idp.key, None).await.expect(204);
    scim(&app, Method::GET, &format!("/scim/v2/Users/{uid}"), &idp.key, None).await.expect(200);
});

story!(every_filter_operator, |app: TestApp| async move {
    let idp = idp(&app, "Filters").await;
    let mut created = Vec::new();
    for body in [
        json!({"userName": "alice", "name": {"givenName": "Alice", "familyName": "Anders"}, "emails": [{"value": "alice@example.com"}], "externalId": "ext-1"}),
        json!({"userName": "bob", "displayName": "Bob de la Cruz", "emails": [{"value": "Bob@Work.example.org", "type": "work"}], "externalId": "EXT-2", "active": false}),
        json!({"userName": "carol"}),
    ] {
        created.push(scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await.expect(201));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let t = |i: usize| created[i]["meta"]["created"].as_str().unwrap().to_string();
    let (t_alice, t_bob) = (t(0), t(1));
    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#"userName eq "ALICE""#.into(), vec!["alice"]),
        (r#"USERNAME Eq "bob""#.into(), vec!["bob"]),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob""#.into(), vec!["bob"]),
        (r#"userName ne "alice""#.into(), vec!["bob", "carol"]),
        (r#"userName co "O""#.into(), vec!["bob", "carol"]),
        (r#"userName sw "CA""#.into(), vec!["carol"]),
        (r#"userName ew "ce""#.into(), vec!["alice"]),
        (r#"userName gt "b""#.into(), vec!["bob", "carol"]),
        (r#"userName ge "bob""#.into(), vec!["bob", "carol"]),
        (r#"userName lt "bob""#.into(), vec!["alice"]),
        (r#"userName le "bob""#.into(), vec!["alice", "bob"]),
        (r#"externalId eq "ext-2""#.into(), vec![]),
        (r#"externalId eq "EXT-2""#.into(), vec!["bob"]),
        (r#"externalId sw "ext""#.into(), vec!["alice"]),
        (r#"externalId co "XT""#.into(), vec!["bob"]),
        (r#"externalId ew "-1""#.into(), vec!["alice"]),
        ("externalId pr".into(), vec!["alice", "bob"]),
        ("not (externalId pr)".into(), vec!["carol"]),
        (r#"not (externalId eq "EXT-2")"#.into(), vec!["alice", "carol"]),
        (r#"displayName co "ANDERS""#.into(), vec!["alice"]),
        (r#"name.formatted eq "bob de la cruz""#.into(), vec!["bob"]),
        (r#"name.givenName eq "alice""#.into(), vec!["alice"]),
        (r#"name.givenName sw "Bo""#.into(), vec!["bob"]),
        (r#"name.familyName eq "de la Cruz""#.into(), vec!["bob"]),
        (r#"name.familyName eq "Cruz""#.into(), vec![]),
        (r#"name.familyName ew "cruz""#.into(), vec!["bob"]),
        (r#"name.familyName ne "Anders""#.into(), vec!["bob", "carol"]),
        ("name.familyName pr".into(), vec!["alice", "bob"]),
        (r#"emails[type eq "work"].value ew "example.org""#.into(), vec!["bob"]),
        (r#"emails[type eq "work" and value co "ALICE"]"#.into(), vec!["alice"]),
        (r#"emails[type eq "home"]"#.into(), vec![]),
        (r#"emails.value co "example""#.into(), vec!["alice", "bob"]),
        (r#"emails co "work.example""#.into(), vec!["bob"]),
        ("emails pr".into(), vec!["alice", "bob"]),
        ("active eq false".into(), vec!["bob"]),
        ("active ne false".into(), vec!["alice", "carol"]),
        (format!(r#"meta.created gt "{t_alice}""#), vec!["bob", "carol"]),
        (format!(r#"meta.created ge "{t_alice}""#), vec!["alice", "bob", "carol"]),
        (format!(r#"meta.created lt "{t_bob}""#), vec!["alice"]),
        (format!(r#"meta.created le "{t_bob}""#), vec!["alice", "bob"]),
        (format!(r#"meta.lastModified ge "{t_alice}""#), vec!["alice", "bob", "carol"]),
        (r#"meta.resourceType eq "User""#.into(), vec!["alice", "bob", "carol"]),
        (r#"(userName eq "alice" or userName eq "bob") and active eq true"#.into(), vec!["alice"]),
        (r#"userName eq "carol" or userName eq "bob" and active eq true"#.into(), vec!["carol"]),
        (r#"not (userName eq "alice") and not (active eq false)"#.into(), vec!["carol"]),
        (r#"userName eq "x' OR '1'='1""#.into(), vec![]),
        (r#"userName co "%""#.into(), vec![]),
    ];
    for (filter, want) in &cases {
        let res = scim(&app, Method::GET, &format!("/scim/v2/Users?filter={}", enc(filter)), &idp.key, None).await;
        let body = res.expect(200);
        assert_eq!(names(&body), *want, "{filter}");
        assert_eq!(body["totalResults"], json!(want.len()), "{filter}");
    }

    // Groups: displayName is case-insensitive, externalId exact, members by value.
    let alice = id_of(&created[0]);
    for (name, ext, members) in [("Engineering", "E-1", vec![json!({"value": alice})]), ("Design", "D-1", vec![])] {
        let body = json!({"displayName": name, "externalId": ext, "members": members});
        scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(body)).await.expect(201);
    }
    let group_cases: Vec<(String, Vec<&str>)> = vec![
        (r#"displayName eq "ENGINEERING""#.into(), vec!["Engineering"]),
        (r#"displayName sw "des""#.into(), vec!["Design"]),
        (r#"externalId eq "e-1""#.into(), vec![]),
        (r#"externalId eq "E-1""#.into(), vec!["Engineering"]),
        (format!(r#"members[value eq "{alice}"]"#), vec!["Engineering"]),
        (format!(r#"members.value eq "{alice}""#), vec!["Engineering"]),
        ("members pr".into(), vec!["Engineering"]),
        ("not (members pr)".into(), vec!["Design"]),
        (r#"members[type eq "User"]"#.into(), vec!["Engineering"]),
    ];
    for (filter, want) in &group_cases {
        let body = scim(&app, Method::GET, &format!("/scim/v2/Groups?filter={}", enc(filter)), &idp.key, None).await.expect(200);
        assert_eq!(names(&body), *want, "{filter}");
    }

    // Paging: 1-based startIndex, count, totals.
    let page = scim(&app, Method::GET, "/scim/v2/Users?startIndex=2&count=1", &idp.key, None).await.expect(200);
    assert_eq!((page["totalResults"].clone(), page["startIndex"].clone(), page["itemsPerPage"].clone()), (json!(3), json!(2), json!(1)));
    assert_eq!(names(&page), ["bob"]);
    let none = scim(&app, Method::GET, "/scim/v2/Users?count=0", &idp.key, None).await.expect(200);
    assert_eq!((none["totalResults"].clone(), none["itemsPerPage"].clone(), none["Resources"].clone()), (json!(3), json!(0), json!([])));
    let clamped = scim(&app, Method::GET, "/scim/v2/Users?startIndex=0&count=-4", &idp.key, None).await.expect(200);
    assert_eq!((clamped["startIndex"].clone(), clamped["itemsPerPage"].clone()), (json!(1), json!(0)));
    let past = scim(&app, Method::GET, "/scim/v2/Users?startIndex=10", &idp.key, None).await.expect(200);
    assert_eq!((past["totalResults"].clone(), past["Resources"].clone()), (json!(3), json!([])));
});

story!(each_scim_error_and_never_a_5xx, |app: TestApp| async move {
    let idp = idp(&app, "Errors").await;
    let user = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(json!({"userName": "dup", "emails": [{"value": "dup@x.io"}]})))
        .await
        .expect(201);
    let uid = id_of(&user);
    let upath = format!("/scim/v2/Users/{uid}");
    let group =
        scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Dup", "externalId": "g-1"}))).await.expect(201);
    let gpath = format!("/scim/v2/Groups/{}", id_of(&group));

    // uniqueness
    for body in [json!({"userName": "DUP"}), json!({"userName": "other", "emails": [{"value": "DUP@x.io"}]})] {
        let e = scim_error(scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await, 409, Some("uniqueness"));
        assert!(!e["detail"].as_str().unwrap().is_empty());
    }
    for body in [json!({"displayName": "dup"}), json!({"displayName": "Other", "externalId": "g-1"})] {
        scim_error(scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(body)).await, 409, Some("uniqueness"));
    }
    // invalidFilter
    for filter in [
        r#"userName eq"#,
        r#"userName xx "a""#,
        r#"password eq "x""#,
        r#"meta.created gt "yesterday""#,
        "(active eq true",
        r#"active eq "yes""#,
    ] {
        let res = scim(&app, Method::GET, &format!("/scim/v2/Users?filter={}", enc(filter)), &idp.key, None).await;
        scim_error(res, 400, Some("invalidFilter"));
    }
    scim_error(
        scim(&app, Method::GET, &format!("/scim/v2/Groups?filter={}", enc("displayName pr and")), &idp.key, None).await,
        400,
        Some("invalidFilter"),
    );
    // invalidValue
    for body in [
        json!({"name": {"givenName": "x"}}),
        json!({"userName": "has space"}),
        json!({"userName": 5}),
        json!({"userName": "ok", "active": "maybe"}),
        json!({"userName": "ok2", "emails": "nope"}),
        json!({"userName": "ok3", "password": "short"}),
    ] {
        scim_error(scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await, 400, Some("invalidValue"));
    }
    for body in [
        json!({}),
        json!({"displayName": ""}),
        json!({"displayName": "M", "members": [{"value": "usr_nobody"}]}),
        json!({"displayName": "N", "members": [{"display": "x"}]}),
    ] {
        scim_error(scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(body)).await, 400, Some("invalidValue"));
    }
    let made = scim(&app, Method::GET, &format!("/scim/v2/Groups?filter={}", enc(r#"displayName eq "M""#)), &idp.key, None).await;
    assert_eq!(made.expect(200)["totalResults"], 0, "a refused create leaves no group");
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "replace", "path": "active", "value": "maybe"}])))).await,
        400,
        Some("invalidValue"),
    );
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "remove", "path": "userName"}])))).await,
        400,
        Some("invalidValue"),
    );
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "add", "path": "userName"}])))).await,
        400,
        Some("invalidValue"),
    );
    scim_error(scim(&app, Method::GET, "/scim/v2/Users?startIndex=first", &idp.key, None).await, 400, Some("invalidValue"));
    // mutability
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "replace", "path": "id", "value": "usr_x"}])))).await,
        400,
        Some("mutability"),
    );
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "replace", "value": {"id": "usr_x"}}])))).await,
        400,
        Some("mutability"),
    );
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "add", "path": "groups", "value": [{"value": "grp_x"}]}]))))
            .await,
        400,
        Some("mutability"),
    );
    scim_error(
        scim(&app, Method::PUT, &upath, &idp.key, Some(json!({"id": "usr_other", "userName": "dup"}))).await,
        400,
        Some("mutability"),
    );
    scim_error(
        scim(
            &app,
            Method::PATCH,
            &gpath,
            &idp.key,
            Some(ops(json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]))),
        )
        .await,
        400,
        Some("mutability"),
    );
    // noTarget
    scim_error(scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "remove"}])))).await, 400, Some("noTarget"));
    scim_error(
        scim(
            &app,
            Method::PATCH,
            &upath,
            &idp.key,
            Some(ops(json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "h@x.io"}]))),
        )
        .await,
        400,
        Some("noTarget"),
    );
    scim_error(
        scim(&app, Method::PATCH, &gpath, &idp.key, Some(ops(json!([{"op": "remove", "value": {"members": []}}])))).await,
        400,
        Some("noTarget"),
    );
    // invalidSyntax and invalidPath
    let bad_json = app.call_with(Method::POST, "/scim/v2/Users", Some(&idp.key), None, &[("Content-Type", "application/scim+json")]).await;
    scim_error(bad_json, 400, Some("invalidSyntax"));
    scim_error(app.raw(Method::POST, "/scim/v2/Users", &idp.key, b"{nope".to_vec()).await, 400, Some("invalidSyntax"));
    scim_error(app.raw(Method::POST, "/scim/v2/Users", &idp.key, b"[1,2]".to_vec()).await, 400, Some("invalidSyntax"));
    scim_error(scim(&app, Method::PATCH, &upath, &idp.key, Some(json!({"schemas": [PATCH]}))).await, 400, Some("invalidSyntax"));
    scim_error(
        scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "frobnicate", "path": "active", "value": true}])))).await,
        400,
        Some("invalidSyntax"),
    );
    scim_error(
        scim(&app, Method::PATCH, &gpath, &idp.key, Some(ops(json!([{"op": "remove", "path": "members[value eq"}])))).await,
        400,
        Some("invalidPath"),
    );
    // 401, 403, 404, 405, 412, 415
    scim_error(app.call(Method::GET, "/scim/v2/Users", None, None).await, 401, None);
    scim_error(app.get("/scim/v2/Users", "ck_forged").await, 401, None);
    let someone = app.user("someone").await;
    scim_error(app.get("/scim/v2/Users", &someone.token).await, 403, None);
    let writer = app
        .post("/api/v1/api-keys", &app.admin_key, json!({"name": "w", "scopes": ["groups:write", "users:write"]}))
        .await
        .expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    scim_error(app.get("/scim/v2/Groups", &writer).await, 403, None);
    scim_error(scim(&app, Method::GET, "/scim/v2/Users/usr_nobody", &idp.key, None).await, 404, None);
    scim_error(
        scim(&app, Method::PATCH, "/scim/v2/Groups/grp_nobody", &idp.key, Some(ops(json!([{"op": "remove", "path": "members"}])))).await,
        404,
        None,
    );
    scim_error(scim(&app, Method::DELETE, "/scim/v2/Users", &idp.key, None).await, 405, None);
    let stale = app.call_with(Method::PUT, &gpath, Some(&idp.key), Some(json!({"displayName": "Dup"})), &[("If-Match", "W/\"99\"")]).await;
    scim_error(stale, 412, None);
    let text = app
        .call_with(Method::POST, "/scim/v2/Users", Some(&idp.key), Some(json!({"userName": "t"})), &[("Content-Type", "text/plain")])
        .await;
    scim_error(text, 415, None);
    let plain_json = app
        .call_with(
            Method::POST,
            "/scim/v2/Users",
            Some(&idp.key),
            Some(json!({"userName": "json"})),
            &[("Content-Type", "application/json")],
        )
        .await;
    plain_json.expect(201);

    // Hostile input is always a 4xx.
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"\"str\"".to_vec(),
        b"{\"userName\": \"a\0b\"}".to_vec(),
        br#"{"userName": "x", "name": "flat"}"#.to_vec(),
        br#"{"userName": "y", "emails": [{"value": 5}]}"#.to_vec(),
        br#"{"userName": "z", "externalId": ""}"#.to_vec(),
        br#"{"displayName": "g", "members": "all"}"#.to_vec(),
        br#"{"Operations": "all"}"#.to_vec(),
        br#"{"Operations": [1]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": 5, "value": 1}]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": "members", "value": 5}]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": "name", "value": 5}]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": "emails", "value": [7]}]}"#.to_vec(),
        br#"{"Operations": [{"op": "replace", "path": "members[value eq \"x\"]", "value": []}]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": "displayName", "value": ["x"]}]}"#.to_vec(),
        br#"{"Operations": [{"op": "add", "path": "displayName", "value": "x\u0000"}]}"#.to_vec(),
        format!("{{\"userName\": \"{}\"}}", "u".repeat(5000)).into_bytes(),
        format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        vec![0xff, 0xfe, 0x00],
    ];
    let targets = ["/scim/v2/Users".to_string(), "/scim/v2/Groups".to_string(), upath.clone(), gpath.clone()];
    for target in &targets {
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            for body in &bodies {
                let res = app.raw(method.clone(), target, &idp.key, body.clone()).await;
                let code = res.status.as_u16();
                assert!(
                    (400..500).contains(&code) || code == 200 || code == 201,
                    "{method} {target} {:?}: {code} {}",
                    String::from_utf8_lossy(body),
                    res.body
                );
                if code >= 400 {
                    assert_eq!(res.body["schemas"], json!([ERROR]), "{method} {target}: {}", res.body);
                }
            }
        }
    }
    for filter in [
        "",
        " ",
        "\"",
        "((((",
        "a[b[c eq 1]]",
        "a eq 1e999",
        "userName eq \"\\u0000\"",
        "x.y.z pr",
        "emails[",
        "not",
        "not (",
        "and",
        "userName eq \"a\" and",
        &"(".repeat(100),
        &format!("userName eq \"{}\"", "a".repeat(5000)),
    ] {
        for resource in ["Users", "Groups"] {
            let res = scim(&app, Method::GET, &format!("/scim/v2/{resource}?filter={}", enc(filter)), &idp.key, None).await;
            let code = res.status.as_u16();
            assert!(code == 200 || code == 400, "{resource} {filter:?}: {code} {}", res.body);
        }
    }
});

story!(a_scim_key_stays_in_its_space, |app: TestApp| async move {
    let a = idp(&app, "Tenant A").await;
    let b = idp(&app, "Tenant B").await;
    let ga = scim(&app, Method::POST, "/scim/v2/Groups", &a.key, Some(json!({"displayName": "Shared name"}))).await.expect(201);
    let gb = scim(&app, Method::POST, "/scim/v2/Groups", &b.key, Some(json!({"displayName": "Shared name"}))).await.expect(201);
    let (ga, gb) = (id_of(&ga), id_of(&gb));
    let native_default = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Default space group"})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = scim(&app, Method::GET, "/scim/v2/Groups", &a.key, None).await.expect(200);
    assert_eq!(listed["totalResults"], 1);
    assert_eq!(listed["Resources"][0]["id"], json!(ga));
    for other in [&gb, &native_default] {
        let path = format!("/scim/v2/Groups/{other}");
        scim_error(scim(&app, Method::GET, &path, &a.key, None).await, 404, None);
        scim_error(scim(&app, Method::PUT, &path, &a.key, Some(json!({"displayName": "Taken"}))).await, 404, None);
        scim_error(scim(&app, Method::PATCH, &path, &a.key, Some(ops(json!([{"op": "remove", "path": "members"}])))).await, 404, None);
        scim_error(scim(&app, Method::DELETE, &path, &a.key, None).await, 404, None);
        let by_id = format!("/scim/v2/Groups?filter={}", enc(&format!(r#"id eq "{other}""#)));
        assert_eq!(scim(&app, Method::GET, &by_id, &a.key, None).await.expect(200)["totalResults"], 0);
    }
    assert_eq!(app.get(&format!("/api/v1/groups/{gb}"), &app.admin_key).await.expect(200)["name"], "Shared name");

    // The key cannot use the native API or the other dialects.
    app.get("/api/v1/groups", &a.key).await.error(403, "permission_denied");
    app.post("/api/v1/groups", &a.key, json!({"name": "sneaky", "space_id": a.space})).await.error(403, "permission_denied");
    let status = app.get(&format!("/api/v1/groups/{ga}"), &a.key).await.status.as_u16();
    assert!(status == 403 || status == 404, "{status}");
    app.get("/api/v1/users", &a.key).await.error(403, "permission_denied");
    app.post("/api/v1/users", &a.key, json!({"username": "sneaky"})).await.error(403, "permission_denied");
    app.post("/api/v1/api-keys", &a.key, json!({"name": "escalate", "scopes": ["admin"]})).await.expect(403);
    let status = app.get(&format!("/api/organizations/{}/groups", a.space), &a.key).await.status.as_u16();
    assert_eq!(status, 403);

    // Site administrators are outside SCIM's reach.
    let admin = app.post("/api/v1/users", &app.admin_key, json!({"username": "root", "site_role": "admin"})).await.expect(201);
    let admin_id = id_of(&admin);
    scim_error(scim(&app, Method::GET, &format!("/scim/v2/Users/{admin_id}"), &a.key, None).await, 404, None);
    let off = ops(json!([{"op": "replace", "path": "active", "value": false}]));
    scim_error(scim(&app, Method::PATCH, &format!("/scim/v2/Users/{admin_id}"), &a.key, Some(off)).await, 404, None);
    scim_error(scim(&app, Method::DELETE, &format!("/scim/v2/Users/{admin_id}"), &a.key, None).await, 404, None);
    let by_name = format!("/scim/v2/Users?filter={}", enc(r#"userName eq "root""#));
    assert_eq!(scim(&app, Method::GET, &by_name, &a.key, None).await.expect(200)["totalResults"], 0);
    assert_eq!(app.get(&format!("/api/v1/users/{admin_id}"), &app.admin_key).await.expect(200)["active"], true);
});

story!(ten_thousand_members_in_one_patch, |app: TestApp| async move {
    let idp = idp(&app, "Large").await;
    let principal = cohort_core::auth::Principal::system();
    let mut ids = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        // Users the space's directory provisioned (made in process, not through 10,000 POSTs).
        let new = cohort_app::users::NewUser { username: format!("bulk{i:05}"), scim_space: Some(idp.space.clone()), ..Default::default() };
        ids.push(app.app.create_user(&principal, new).await.unwrap().id);
    }
    let group = scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Everyone"}))).await.expect(201);
    let path = format!("/scim/v2/Groups/{}", id_of(&group));
    // As Okta pushes them: each member with its display.
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id, "display": format!("login of {id}")})).collect();
    let added = scim(
        &app,
        Method::PATCH,
        &format!("{path}?excludedAttributes=members"),
        &idp.key,
        Some(ops(json!([{"op": "add", "path": "members", "value": value}]))),
    )
    .await
    .expect(200);
    assert!(added.get("members").is_none());
    let all = scim(&app, Method::GET, &path, &idp.key, None).await.expect(200);
    let mut want = ids.clone();
    want.sort();
    assert_eq!(member_ids(&all), want);
    let shown = all["members"].as_array().unwrap();
    assert!(shown.iter().all(|m| m["display"] == format!("login of {}", m["value"].as_str().unwrap())), "every display as written");
    let native = app.get(&format!("/api/v1/groups/{}", id_of(&group)), &app.admin_key).await.expect(200);
    assert_eq!(native["member_count"], 10_000);

    // A group can also be made with all of them at once.
    let everyone: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let again = scim(
        &app,
        Method::POST,
        "/scim/v2/Groups?excludedAttributes=members",
        &idp.key,
        Some(json!({"displayName": "Everyone again", "members": everyone})),
    )
    .await
    .expect(201);
    assert_eq!(app.get(&format!("/api/v1/groups/{}", id_of(&again)), &app.admin_key).await.expect(200)["member_count"], 10_000);

    // Removing half in one PATCH, with both remove forms (Entra sends one operation per
    // member, `op` capitalised).
    let (first, second) = ids.split_at(5000);
    let by_value: Vec<Value> = first[..4000].iter().map(|id| json!({"value": id})).collect();
    let mut remove = vec![json!({"op": "remove", "path": "members", "value": by_value})];
    remove.extend(first[4000..].iter().map(|id| json!({"op": "Remove", "path": format!("members[value eq \"{id}\"]")})));
    let remove = ops(json!(remove));
    let left = scim(&app, Method::PATCH, &path, &idp.key, Some(remove)).await.expect(200);
    let mut want = second.to_vec();
    want.sort();
    assert_eq!(member_ids(&left), want);
    let gid = id_of(&group);
    assert_eq!(app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200)["member_count"], 5000);

    // The access index follows the batch, as it follows single changes.
    let reads = |user: &str| json!({"user_id": user, "group_id": gid, "action": "read"});
    assert_eq!(app.post("/api/v1/check", &app.admin_key, reads(&second[0])).await.expect(200)["allowed"], true);
    assert_eq!(app.post("/api/v1/check", &app.admin_key, reads(&first[0])).await.expect(200)["allowed"], false);
    // Each membership has its audit event, the key as the actor.
    let audit = app.get(&format!("/api/v1/audit?group_id={gid}&action=member.removed&limit=1"), &app.admin_key).await.expect(200);
    let last = &audit["events"][0];
    assert_eq!(last["action"], "member.removed");
    assert!(last["actor_id"].as_str().unwrap().starts_with("key_"), "{last}");

    // max_members holds for a batch: all of it or none.
    app.patch(&format!("/api/v1/groups/{gid}"), &app.admin_key, json!({"settings": {"max_members": 5001}})).await.expect(200);
    let two: Vec<Value> = first[..2].iter().map(|id| json!({"value": id})).collect();
    let over = scim(&app, Method::PATCH, &path, &idp.key, Some(ops(json!([{"op": "add", "path": "members", "value": two}])))).await;
    scim_error(over, 400, Some("invalidValue"));
    assert_eq!(app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200)["member_count"], 5000);

    // The group's last owner stays, whatever the directory sends.
    app.patch(&format!("/api/v1/groups/{gid}"), &app.admin_key, json!({"settings": {"max_members": null}})).await.expect(200);
    app.post(&format!("/api/v1/groups/{gid}/members"), &app.admin_key, json!({"user_id": first[0], "role": "owner"})).await.expect(201);
    let clear = ops(json!([{"op": "remove", "path": "members"}]));
    let refused = scim(&app, Method::PATCH, &path, &idp.key, Some(clear)).await;
    assert_eq!(refused.status.as_u16(), 409, "{}", refused.body);
    assert_eq!(app.get(&format!("/api/v1/groups/{gid}"), &app.admin_key).await.expect(200)["member_count"], 5001);
    let keep_owner = ops(json!([{"op": "replace", "path": "members", "value": [{"value": first[0]}]}]));
    let kept = scim(&app, Method::PATCH, &path, &idp.key, Some(keep_owner)).await.expect(200);
    assert_eq!(member_ids(&kept), std::slice::from_ref(&first[0]));
});

story!(an_admin_key_reaches_every_space_and_a_bound_key_its_own, |app: TestApp| async move {
    let a = idp(&app, "Tenant A").await;
    let b = idp(&app, "Tenant B").await;
    let ga = id_of(&scim(&app, Method::POST, "/scim/v2/Groups", &a.key, Some(json!({"displayName": "In A"}))).await.expect(201));
    let gb = id_of(&scim(&app, Method::POST, "/scim/v2/Groups", &b.key, Some(json!({"displayName": "In B"}))).await.expect(201));
    let admin = app.post("/api/v1/users", &app.admin_key, json!({"username": "root", "site_role": "admin"})).await.expect(201);
    let admin_id = id_of(&admin);

    // The site admin key: every space's groups, every user, site administrators included.
    let listed = scim(&app, Method::GET, "/scim/v2/Groups", &app.admin_key, None).await.expect(200);
    let mut seen: Vec<String> = listed["Resources"].as_array().unwrap().iter().map(id_of).collect();
    seen.sort();
    let mut both = vec![ga.clone(), gb.clone()];
    both.sort();
    assert_eq!(seen, both);
    scim(&app, Method::GET, &format!("/scim/v2/Users/{admin_id}"), &app.admin_key, None).await.expect(200);
    let user = scim(&app, Method::POST, "/scim/v2/Users", &app.admin_key, Some(json!({"schemas": [USER], "userName": "dana"}))).await;
    let dana = id_of(&user.expect(201));
    // A group it creates lands in the default space, with its members, in one step.
    let made =
        scim(&app, Method::POST, "/scim/v2/Groups", &app.admin_key, Some(json!({"displayName": "Everyone", "members": [{"value": dana}]})))
            .await
            .expect(201);
    assert_eq!(member_ids(&made), vec![dana.clone()]);
    let native = app.get(&format!("/api/v1/groups/{}", id_of(&made)), &app.admin_key).await.expect(200);
    assert_eq!(native["space_id"], "spc_default");
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": dana}]}]));
    scim(&app, Method::PATCH, &format!("/scim/v2/Groups/{gb}"), &app.admin_key, Some(add)).await.expect(200);
    assert_eq!(membership_status(&app, &gb, &dana).await, "active");
    // Tenant A's key does not reach a user whose memberships lie in another space.
    scim_error(scim(&app, Method::GET, &format!("/scim/v2/Users/{dana}"), &a.key, None).await, 404, None);

    // An admin key bound to space A reaches space A only, through SCIM as elsewhere.
    let bound = app.post("/api/v1/api-keys", &app.admin_key, json!({"name": "a admin", "scopes": ["admin"], "space_id": a.space})).await;
    let bound = bound.expect(201)["key"].as_str().unwrap().to_string();
    let listed = scim(&app, Method::GET, "/scim/v2/Groups", &bound, None).await.expect(200);
    assert_eq!(listed["totalResults"], 1);
    assert_eq!(listed["Resources"][0]["id"], json!(ga));
    scim_error(scim(&app, Method::GET, &format!("/scim/v2/Groups/{gb}"), &bound, None).await, 404, None);
    scim_error(scim(&app, Method::GET, &format!("/scim/v2/Users/{admin_id}"), &bound, None).await, 404, None);

    // Neither a user's session nor a site key without `admin` or `scim` uses SCIM.
    let someone = app.user("someone").await;
    scim_error(app.get("/scim/v2/Users", &someone.token).await, 403, None);
});

story!(a_search_in_a_post_body_answers_as_a_list, |app: TestApp| async move {
    let idp = idp(&app, "Search").await;
    for name in ["alice", "bob", "carol"] {
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            &idp.key,
            Some(json!({"userName": name, "emails": [{"value": format!("{name}@example.com")}]})),
        )
        .await
        .expect(201);
    }
    scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Readers"}))).await.expect(201);
    scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Writers"}))).await.expect(201);
    const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

    let body = json!({"schemas": [SEARCH], "filter": r#"userName ne "bob""#, "attributes": ["userName"], "startIndex": 1, "count": 1});
    let page = scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(body)).await.expect(200);
    assert_eq!(page["totalResults"], 2);
    assert_eq!(names(&page), vec!["alice"]);
    // Only what was asked for, besides id and schemas.
    assert!(page["Resources"][0].get("emails").is_none(), "{page}");
    let body = json!({"schemas": [SEARCH], "excludedAttributes": ["emails"], "startIndex": 2});
    let rest = scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(body)).await.expect(200);
    assert_eq!(names(&rest), vec!["bob", "carol"]);
    assert!(rest["Resources"][0].get("emails").is_none(), "{rest}");

    let groups = scim(
        &app,
        Method::POST,
        "/scim/v2/Groups/.search",
        &idp.key,
        Some(json!({"schemas": [SEARCH], "filter": r#"displayName sw "w""#})),
    )
    .await
    .expect(200);
    assert_eq!(names(&groups), vec!["Writers"]);

    // At the root: users, then groups, as one list; a filter on an attribute only users have
    // matches no group.
    let all = scim(&app, Method::POST, "/scim/v2/.search", &idp.key, Some(json!({"schemas": [SEARCH], "count": 4}))).await.expect(200);
    assert_eq!(all["totalResults"], 5);
    assert_eq!(names(&all), vec!["alice", "bob", "carol", "Readers"]);
    let second = scim(&app, Method::POST, "/scim/v2/.search", &idp.key, Some(json!({"startIndex": 3, "count": 2}))).await.expect(200);
    assert_eq!(names(&second), vec!["carol", "Readers"]);
    let last = scim(&app, Method::POST, "/scim/v2/.search", &idp.key, Some(json!({"startIndex": 5}))).await.expect(200);
    assert_eq!(names(&last), vec!["Writers"]);
    let by_user = scim(&app, Method::POST, "/scim/v2/.search", &idp.key, Some(json!({"filter": r#"userName eq "bob""#}))).await.expect(200);
    assert_eq!((by_user["totalResults"].clone(), names(&by_user)), (json!(1), vec!["bob".to_string()]));
    scim_error(
        scim(&app, Method::POST, "/scim/v2/.search", &idp.key, Some(json!({"filter": "nosuch eq 1"}))).await,
        400,
        Some("invalidFilter"),
    );

    // A body that is not a search request, or a bad filter, is a 400; GET is not a search.
    scim_error(
        scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(json!({"schemas": [PATCH]}))).await,
        400,
        Some("invalidSyntax"),
    );
    scim_error(
        scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(json!({"filter": "userName eq"}))).await,
        400,
        Some("invalidFilter"),
    );
    scim_error(
        scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(json!({"count": "ten"}))).await,
        400,
        Some("invalidValue"),
    );
    scim_error(scim(&app, Method::GET, "/scim/v2/Users/.search", &idp.key, None).await, 405, None);
});

story!(a_read_naming_the_current_version_is_not_modified, |app: TestApp| async move {
    let idp = idp(&app, "Etags").await;
    // With a photo, so its element is checked against the schema too.
    let body = json!({"userName": "erin", "photos": [{"value": "https://example.com/erin.png", "type": "photo"}]});
    let user = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await.expect(201);
    assert_eq!(user["photos"][0]["value"], "https://example.com/erin.png");
    let group = scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": "Cached"}))).await.expect(201);
    for (path, body) in [(format!("/scim/v2/Users/{}", id_of(&user)), &user), (format!("/scim/v2/Groups/{}", id_of(&group)), &group)] {
        let tag = body["meta"]["version"].as_str().unwrap().to_string();
        let same = app.call_with(Method::GET, &path, Some(&idp.key), None, &[("If-None-Match", &tag)]).await;
        assert_eq!(same.status.as_u16(), 304, "{path}: {}", same.body);
        assert_eq!(same.header("etag"), Some(tag.clone()));
        // Weakly compared, in a list, or any.
        let strong = tag.trim_start_matches("W/").to_string();
        for header in [format!("\"x\", {strong}"), "*".to_string()] {
            let res = app.call_with(Method::GET, &path, Some(&idp.key), None, &[("If-None-Match", &header)]).await;
            assert_eq!(res.status.as_u16(), 304, "{header}");
        }
        // Another version: the resource, as without the header.
        let other = app.call_with(Method::GET, &path, Some(&idp.key), None, &[("If-None-Match", "W/\"99\"")]).await;
        assert_eq!(other.expect(200)["id"], body["id"]);
    }
    // After a change the old tag no longer matches.
    let tag = user["meta"]["version"].as_str().unwrap().to_string();
    let upath = format!("/scim/v2/Users/{}", id_of(&user));
    scim(&app, Method::PATCH, &upath, &idp.key, Some(ops(json!([{"op": "replace", "path": "displayName", "value": "Erin E"}]))))
        .await
        .expect(200);
    let changed = app.call_with(Method::GET, &upath, Some(&idp.key), None, &[("If-None-Match", &tag)]).await;
    assert_eq!(changed.expect(200)["displayName"], "Erin E");
});

story!(lists_sort_by_an_attribute_either_way, |app: TestApp| async move {
    let idp = idp(&app, "Sorting").await;
    for (name, email, external) in
        [("carol", Some("a@example.com"), None), ("alice", None, Some("x-2")), ("Bob", Some("c@example.com"), Some("x-1"))]
    {
        let mut body = json!({"userName": name});
        if let Some(e) = email {
            body["emails"] = json!([{"value": e}]);
        }
        if let Some(x) = external {
            body["externalId"] = json!(x);
        }
        scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await.expect(201);
    }
    let list = |q: &str| {
        let path = format!("/scim/v2/Users?{q}");
        let (app, key) = (&app, idp.key.clone());
        async move { names(&scim(app, Method::GET, &path, &key, None).await.expect(200)) }
    };
    // userName compares without case; either order; unknown values last in both.
    assert_eq!(list("sortBy=userName").await, vec!["alice", "Bob", "carol"]);
    assert_eq!(list("sortBy=USERNAME&sortOrder=Descending").await, vec!["carol", "Bob", "alice"]);
    assert_eq!(list("sortBy=emails").await, vec!["carol", "Bob", "alice"]);
    assert_eq!(list("sortBy=emails.value&sortOrder=descending").await, vec!["Bob", "carol", "alice"]);
    assert_eq!(list("sortBy=externalId").await, vec!["Bob", "alice", "carol"]);
    assert_eq!(
        list(&format!("sortBy={}", enc("urn:ietf:params:scim:schemas:core:2.0:User:meta.created"))).await,
        vec!["carol", "alice", "Bob"]
    );
    assert_eq!(list("sortBy=meta.lastModified&sortOrder=descending&count=1").await, vec!["Bob"]);
    // A page of a sorted list, and the same through a search body.
    assert_eq!(list("sortBy=userName&startIndex=2&count=1").await, vec!["Bob"]);
    let body = json!({"sortBy": "userName", "sortOrder": "descending", "count": 2});
    assert_eq!(names(&scim(&app, Method::POST, "/scim/v2/Users/.search", &idp.key, Some(body)).await.expect(200)), vec!["carol", "Bob"]);

    for g in ["beta", "Alpha", "gamma"] {
        scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(json!({"displayName": g}))).await.expect(201);
    }
    let groups = scim(&app, Method::GET, "/scim/v2/Groups?sortBy=displayName", &idp.key, None).await.expect(200);
    assert_eq!(names(&groups), vec!["Alpha", "beta", "gamma"]);

    // What cannot be sorted by is a 400 that says so.
    for q in ["sortBy=name.givenName", "sortBy=nosuch", "sortBy=userName&sortOrder=up", "sortBy=emails[type eq \"work\"]"] {
        let path = format!("/scim/v2/Users?{}", q.replace(' ', "%20").replace('"', "%22"));
        scim_error(scim(&app, Method::GET, &path, &idp.key, None).await, 400, Some("invalidValue"));
    }
    let config = scim(&app, Method::GET, "/scim/v2/ServiceProviderConfig", &idp.key, None).await.expect(200);
    assert_eq!(config["sort"]["supported"], true);
});

story!(me_is_the_user_a_credential_belongs_to, |app: TestApp| async move {
    let idp = idp(&app, "Me").await;
    let frank = app.user("frank").await;
    // The site admin reaches every user (a space's key would not reach frank).
    let group = scim(
        &app,
        Method::POST,
        "/scim/v2/Groups",
        &app.admin_key,
        Some(json!({"displayName": "Frank's", "members": [{"value": frank.id}]})),
    )
    .await
    .expect(201);
    let me = scim(&app, Method::GET, "/scim/v2/Me", &frank.token, None).await.expect(200);
    assert_eq!(me["id"], json!(frank.id));
    assert_eq!(me["userName"], "frank");
    assert_eq!(me["schemas"], json!([USER]));
    assert_eq!(me["groups"][0]["value"], group["id"]);
    let trimmed = scim(&app, Method::GET, "/scim/v2/Me?attributes=userName", &frank.token, None).await.expect(200);
    assert!(trimmed.get("groups").is_none() && trimmed["userName"] == "frank", "{trimmed}");
    // A user's own key with any one scope is that user too.
    let key = app.post("/api/v1/api-keys", &frank.token, json!({"name": "mine", "scopes": ["groups:read"]})).await.expect(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(scim(&app, Method::GET, "/scim/v2/Me", &key, None).await.expect(200)["id"], json!(frank.id));
    // A key that is no user's has no self; nobody is 401; /Me is read-only here.
    scim_error(scim(&app, Method::GET, "/scim/v2/Me", &idp.key, None).await, 403, None);
    scim_error(app.call(Method::GET, "/scim/v2/Me", None, None).await, 401, None);
    scim_error(scim(&app, Method::DELETE, "/scim/v2/Me", &frank.token, None).await, 405, None);
});

story!(what_a_directory_writes_reads_back_as_written, |app: TestApp| async move {
    let idp = idp(&app, "Faithful").await;
    let body = json!({
        "userName": "gina",
        "name": {"formatted": "Dr. Gina Ray", "givenName": "Gina", "familyName": "Ray", "honorificPrefix": "Dr."},
        "emails": [{"value": "gina@home.example", "type": "home"}, {"value": "gina@work.example", "type": "work", "primary": "True"}],
        "photos": [{"value": "https://example.com/g.png", "type": "thumbnail", "primary": false}]
    });
    let made = scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(body)).await.expect(201);
    let path = format!("/scim/v2/Users/{}", id_of(&made));
    // As written, within what /Schemas declares (the prefix is not kept; `primary` a boolean).
    assert_eq!(made["name"], json!({"formatted": "Dr. Gina Ray", "givenName": "Gina", "familyName": "Ray"}));
    assert_eq!(
        made["emails"],
        json!([{"value": "gina@home.example", "type": "home"}, {"value": "gina@work.example", "type": "work", "primary": true}])
    );
    assert_eq!(made["photos"], json!([{"value": "https://example.com/g.png", "type": "thumbnail", "primary": false}]));
    // The columns hold the chosen element and the full name.
    let native = app.get(&format!("/api/v1/users/{}", id_of(&made)), &app.admin_key).await.expect(200);
    assert_eq!((native["email"].clone(), native["full_name"].clone()), (json!("gina@work.example"), json!("Dr. Gina Ray")));

    // PATCH of an element's part through a filter, of the name's parts, and the primary moving.
    let patch = ops(json!([
        {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true},
        {"op": "replace", "path": "name.givenName", "value": "Georgina"}
    ]));
    let changed = scim(&app, Method::PATCH, &path, &idp.key, Some(patch)).await.expect(200);
    assert_eq!(
        changed["emails"],
        json!([{"value": "gina@home.example", "type": "home", "primary": true}, {"value": "gina@work.example", "type": "work"}])
    );
    assert_eq!(changed["name"], json!({"formatted": "Georgina Ray", "givenName": "Georgina", "familyName": "Ray"}));
    let native = app.get(&format!("/api/v1/users/{}", id_of(&made)), &app.admin_key).await.expect(200);
    assert_eq!((native["email"].clone(), native["full_name"].clone()), (json!("gina@home.example"), json!("Georgina Ray")));

    // `active` removed: unassigned in SCIM, the user still active; set again, shown again.
    let removed = scim(&app, Method::PATCH, &path, &idp.key, Some(ops(json!([{"op": "remove", "path": "active"}])))).await.expect(200);
    assert!(removed.get("active").is_none(), "{removed}");
    assert!(scim(&app, Method::GET, &path, &idp.key, None).await.expect(200).get("active").is_none());
    assert_eq!(app.get(&format!("/api/v1/users/{}", id_of(&made)), &app.admin_key).await.expect(200)["active"], true);
    let set = scim(&app, Method::PATCH, &path, &idp.key, Some(ops(json!([{"op": "replace", "path": "active", "value": true}])))).await;
    assert_eq!(set.expect(200)["active"], true);
    // Removed from a deactivated user, `active` is unassigned and the user stays deactivated.
    let off = ops(json!([{"op": "replace", "path": "active", "value": false}, {"op": "remove", "path": "active"}]));
    assert!(scim(&app, Method::PATCH, &path, &idp.key, Some(off)).await.expect(200).get("active").is_none());
    assert_eq!(app.get(&format!("/api/v1/users/{}", id_of(&made)), &app.admin_key).await.expect(200)["active"], false);
    let on = ops(json!([{"op": "replace", "path": "active", "value": true}]));
    assert_eq!(scim(&app, Method::PATCH, &path, &idp.key, Some(on)).await.expect(200)["active"], true);

    // The enterprise extension: by attribute, by a manager's part, removed, then whole.
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let ext = ops(json!([
        {"op": "add", "path": format!("{EXT}:department"), "value": "Research"},
        {"op": "add", "path": format!("{EXT}:manager.value"), "value": "usr_boss"},
        {"op": "add", "path": format!("{EXT}:nickname"), "value": "not in the schema"}
    ]));
    let with = scim(&app, Method::PATCH, &path, &idp.key, Some(ext)).await.expect(200);
    assert_eq!(with[EXT], json!({"department": "Research", "manager": {"value": "usr_boss"}}));
    assert!(with["schemas"].as_array().unwrap().contains(&json!(EXT)), "{with}");
    let only_dept =
        scim(&app, Method::GET, &format!("{path}?attributes={}", enc(&format!("{EXT}:department"))), &idp.key, None).await.expect(200);
    assert_eq!(only_dept[EXT], json!({"department": "Research"}), "{only_dept}");
    let rm = ops(
        json!([{"op": "remove", "path": format!("{EXT}:manager")}, {"op": "replace", "value": {EXT: {"employeeNumber": "42", "department": "Ops"}}}]),
    );
    let replaced = scim(&app, Method::PATCH, &path, &idp.key, Some(rm)).await.expect(200);
    assert_eq!(replaced[EXT], json!({"employeeNumber": "42", "department": "Ops"}));
    let gone = scim(&app, Method::PATCH, &path, &idp.key, Some(ops(json!([{"op": "remove", "path": EXT}])))).await.expect(200);
    assert!(gone.get(EXT).is_none() && !gone["schemas"].as_array().unwrap().contains(&json!(EXT)), "{gone}");

    // A native change wins: the kept email list no longer agrees, so SCIM shows the column.
    app.patch(&format!("/api/v1/users/{}", id_of(&made)), &app.admin_key, json!({"email": "g@new.example"})).await.expect(200);
    let after = scim(&app, Method::GET, &path, &idp.key, None).await.expect(200);
    assert_eq!(after["emails"], json!([{"value": "g@new.example", "type": "work", "primary": true}]));
    assert_eq!(after["name"]["givenName"], "Georgina");
    // A PUT writes everything again; emptying the lists empties the columns.
    let put = json!({"userName": "gina", "name": {"givenName": "G", "familyName": "R"}, "emails": []});
    let replaced = scim(&app, Method::PUT, &path, &idp.key, Some(put)).await.expect(200);
    assert!(replaced.get("emails").is_none() && replaced.get("photos").is_none(), "{replaced}");
    assert_eq!(replaced["name"], json!({"formatted": "G R", "givenName": "G", "familyName": "R"}));
});

story!(a_member_reads_back_as_the_directory_wrote_it, |app: TestApp| async move {
    let idp = idp(&app, "Members as written").await;
    let mut ids = Vec::new();
    for name in ["ivy", "jon", "kim"] {
        ids.push(id_of(&scim(&app, Method::POST, "/scim/v2/Users", &idp.key, Some(json!({"userName": name}))).await.expect(201)));
    }
    let (ivy, jon, kim) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let body = json!({"displayName": "Written", "members": [{"value": ivy, "display": "Ivy (HR)"}, {"value": jon, "type": "Contractor"}]});
    let made = scim(&app, Method::POST, "/scim/v2/Groups", &idp.key, Some(body)).await.expect(201);
    let gid = id_of(&made);
    let path = format!("/scim/v2/Groups/{gid}");
    let shown =
        |g: &Value, user: &str| g["members"].as_array().unwrap().iter().find(|m| m["value"] == user).cloned().unwrap_or(Value::Null);
    let base = made["meta"]["location"].as_str().unwrap().trim_end_matches(&format!("/Groups/{gid}")).to_string();
    let r = |u: &str| format!("{base}/Users/{u}");
    assert_eq!(shown(&made, &ivy), json!({"value": ivy, "$ref": r(&ivy), "type": "User", "display": "Ivy (HR)"}));
    assert_eq!(shown(&made, &jon), json!({"value": jon, "$ref": r(&jon), "type": "Contractor"}));

    // A member added through the native API shows type User and no display.
    app.post(&format!("/api/v1/groups/{gid}/members"), &app.admin_key, json!({"user_id": kim})).await.expect(201);
    let read = scim(&app, Method::GET, &path, &idp.key, None).await.expect(200);
    assert_eq!(shown(&read, &kim), json!({"value": kim, "$ref": r(&kim), "type": "User"}));
    assert_eq!(shown(&read, &ivy)["display"], "Ivy (HR)");

    // Filters see what was written.
    let by = |f: &str| format!("/scim/v2/Groups?filter={}&excludedAttributes=members", enc(f));
    let hit = scim(&app, Method::GET, &by(r#"members[display eq "ivy (hr)"]"#), &idp.key, None).await.expect(200);
    assert_eq!(names(&hit), ["Written"]);
    let hit = scim(&app, Method::GET, &by(r#"members[type eq "Contractor" and value eq "JON"]"#), &idp.key, None).await.expect(200);
    assert_eq!(hit["totalResults"], 0, "value is case-exact");
    let hit = scim(&app, Method::GET, &by(&format!(r#"members[type eq "Contractor" and value eq "{jon}"]"#)), &idp.key, None).await;
    assert_eq!(names(&hit.expect(200)), ["Written"]);

    // Named again, a member is kept as last written; one written bare loses what it had.
    let again = ops(json!([{"op": "add", "path": "members", "value": [{"value": kim, "type": "Group", "display": "K"}, {"value": ivy}]}]));
    let changed = scim(&app, Method::PATCH, &path, &idp.key, Some(again)).await.expect(200);
    assert_eq!(shown(&changed, &kim), json!({"value": kim, "$ref": r(&kim), "type": "Group", "display": "K"}));
    assert_eq!(shown(&changed, &ivy), json!({"value": ivy, "$ref": r(&ivy), "type": "User"}));
    assert_eq!(shown(&changed, &jon)["type"], "Contractor", "a member not named keeps what it had");
    // A remove selecting by what was written.
    let drop = ops(json!([{"op": "remove", "path": "members[display eq \"K\"]"}]));
    let left = scim(&app, Method::PATCH, &path, &idp.key, Some(drop)).await.expect(200);
    let mut want = vec![ivy.clone(), jon.clone()];
    want.sort();
    assert_eq!(member_ids(&left), want);
    // Removed and added again natively, nothing written before shows.
    app.post(&format!("/api/v1/groups/{gid}/members"), &app.admin_key, json!({"user_id": kim})).await.expect(201);
    assert_eq!(shown(&scim(&app, Method::GET, &path, &idp.key, None).await.expect(200), &kim)["type"], "User");

    // Too long a text is refused whole: nothing of the request is applied.
    let long = ops(json!([
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": jon, "display": "x".repeat(301)}]}
    ]));
    scim_error(scim(&app, Method::PATCH, &path, &idp.key, Some(long)).await, 400, Some("invalidValue"));
    let after = scim(&app, Method::GET, &path, &idp.key, None).await.expect(200);
    assert_eq!((after["displayName"].clone(), shown(&after, &jon)["type"].clone()), (json!("Written"), json!("Contractor")));
    conforms(&app, &path, &after).await;
    let bad = ops(json!([{"op": "add", "path": "members", "value": [{"value": jon, "type": 7}]}]));
    scim_error(scim(&app, Method::PATCH, &path, &idp.key, Some(bad)).await, 400, Some("invalidValue"));
});

/// The answers of a bulk request, as `(status, bulkId)`.
fn bulk_statuses(res: &Value) -> Vec<(String, String)> {
    res["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["status"].as_str().unwrap().to_string(), o["bulkId"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn bulk_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
}

story!(bulk_runs_each_operation_alone_and_resolves_bulk_ids, |app: TestApp| async move {
    let idp = idp(&app, "Bulk").await;
    // The group comes first and names users made after it: it waits for them.
    let body = bulk_body(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {"displayName": "Tour", "members": [{"value": "bulkId:ann"}, {"value": "bulkId:bob", "display": "Bob"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "ann", "data": {"schemas": [USER], "userName": "ann.bulk"}},
        {"method": "POST", "path": "/Users", "bulkId": "bob", "data": {"userName": "bob.bulk", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:ann"}}}},
        {"method": "PATCH", "path": "/Users/bulkId:bob", "version": "W/\"1\"", "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Bob B"}]}}
    ]));
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    assert_eq!(res["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    let statuses = bulk_statuses(&res);
    assert_eq!(statuses.len(), 4, "{res}");
    assert!(statuses.contains(&("201".into(), "team".into())) && statuses.contains(&("201".into(), "ann".into())), "{res}");
    assert!(statuses.contains(&("200".into(), "".into())), "the PATCH through a reference: {res}");
    let op = |b: &str| res["Operations"].as_array().unwrap().iter().find(|o| o["bulkId"] == b).unwrap().clone();
    let (team, ann, bob) = (op("team"), op("ann"), op("bob"));
    assert!(team["location"].as_str().unwrap().contains("/scim/v2/Groups/grp_"), "{team}");
    assert_eq!(ann["version"], "W/\"1\"");
    let id = |o: &Value| o["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let group = scim(&app, Method::GET, &format!("/scim/v2/Groups/{}", id(&team)), &idp.key, None).await.expect(200);
    let mut want = vec![id(&ann), id(&bob)];
    want.sort();
    assert_eq!(member_ids(&group), want);
    let bob_now = scim(&app, Method::GET, &format!("/scim/v2/Users/{}", id(&bob)), &idp.key, None).await.expect(200);
    assert_eq!(bob_now["displayName"], "Bob B");
    assert_eq!(bob_now["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], id(&ann));

    // Each operation alone: a refused one changes nothing and the others still apply.
    let gpath = format!("/Groups/{}", id(&team));
    let body = bulk_body(json!([
        {"method": "PATCH", "path": gpath, "data": {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "usr_nobody"}]}
        ]}},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "ann.bulk"}},
        {"method": "POST", "path": "/Users", "bulkId": "cy", "data": {"userName": "cy.bulk"}},
        {"method": "DELETE", "path": format!("/Users/{}", id(&ann)), "version": "W/\"9\""},
        {"method": "GET", "path": "/Users"},
        {"method": "POST", "path": "/Devices", "bulkId": "dev", "data": {}},
        {"method": "POST", "path": "/Users", "data": {"userName": "no.bulk.id"}},
        {"method": "POST", "path": "/Groups", "bulkId": "ghost", "data": {"displayName": "G", "members": [{"value": "bulkId:nowhere"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "orphan", "data": {"displayName": "O", "members": [{"value": "bulkId:dup"}]}},
        "not an operation"
    ]));
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    let got: Vec<String> = bulk_statuses(&res).into_iter().map(|(s, b)| format!("{s} {b}")).collect();
    assert_eq!(got, ["400 ", "409 dup", "201 cy", "412 ", "400 ", "404 dev", "400 ", "400 ghost", "409 orphan", "400 "], "{res}");
    assert_eq!(res["Operations"][0]["response"]["scimType"], "invalidValue");
    assert_eq!(res["Operations"][0]["response"]["schemas"], json!([ERROR]));
    let group = scim(&app, Method::GET, &format!("/scim/v2/Groups/{}", id(&team)), &idp.key, None).await.expect(200);
    assert_eq!((group["displayName"].clone(), member_ids(&group).len()), (json!("Tour"), 2), "the refused PATCH left nothing");
    let (a, key) = (&app, idp.key.as_str());
    let names_now = |filter: &str| {
        let path = format!("/scim/v2/Users?filter={}", enc(filter));
        async move { scim(a, Method::GET, &path, key, None).await.expect(200)["totalResults"].clone() }
    };
    assert_eq!(names_now(r#"userName eq "cy.bulk""#).await, 1);
    assert_eq!(names_now(r#"userName eq "no.bulk.id""#).await, 0);
    assert_eq!(names_now(r#"userName eq "ann.bulk""#).await, 1, "the DELETE with a stale version did nothing");

    // failOnErrors: the request stops at that many errors; what follows is not run.
    let mut body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "ann.bulk"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "dee.bulk"}}
    ]));
    body["failOnErrors"] = json!(1);
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    assert_eq!(bulk_statuses(&res), [("409".to_string(), "a".to_string())]);
    assert_eq!(names_now(r#"userName eq "dee.bulk""#).await, 0);

    // References that wait on each other cannot be resolved.
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x.bulk", EXT: {"manager": {"value": "bulkId:y"}}}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "y.bulk", EXT: {"manager": {"value": "bulkId:x"}}}},
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x2.bulk"}}
    ]));
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    let mut got: Vec<String> = bulk_statuses(&res).into_iter().map(|(s, b)| format!("{s} {b}")).collect();
    got.sort();
    assert_eq!(got, ["400 x", "400 x", "400 y"], "a bulkId used twice belongs to neither; y names it: {res}");
    let body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "p", "data": {"userName": "p.bulk", EXT: {"manager": {"value": "bulkId:q"}}}},
        {"method": "POST", "path": "/Users", "bulkId": "q", "data": {"userName": "q.bulk", EXT: {"manager": {"value": "bulkId:p"}}}}
    ]));
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    assert_eq!(bulk_statuses(&res), [("409".to_string(), "p".to_string()), ("409".to_string(), "q".to_string())]);

    // The request itself: its schema, its size, failOnErrors.
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"method": "DELETE", "path": format!("/Users/usr_{i}")})).collect();
    scim_error(scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(bulk_body(json!(too_many)))).await, 413, None);
    let wrong = json!({"schemas": [PATCH], "Operations": []});
    scim_error(scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(wrong)).await, 400, Some("invalidSyntax"));
    let mut zero = bulk_body(json!([]));
    zero["failOnErrors"] = json!(0);
    scim_error(scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(zero)).await, 400, Some("invalidValue"));
    scim_error(scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(json!({"Operations": 3}))).await, 400, Some("invalidSyntax"));
    let empty = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(bulk_body(json!([])))).await.expect(200);
    assert_eq!(empty["Operations"], json!([]));

    // A space's key reaches only its space's groups through Bulk too.
    let other = app.post("/api/v1/groups", &app.admin_key, json!({"name": "Elsewhere"})).await.expect(201);
    let body = bulk_body(json!([{"method": "DELETE", "path": format!("/Groups/{}", other["id"].as_str().unwrap())}]));
    let res = scim(&app, Method::POST, "/scim/v2/Bulk", &idp.key, Some(body)).await.expect(200);
    assert_eq!(bulk_statuses(&res), [("404".to_string(), "".to_string())]);
    app.get(&format!("/api/v1/groups/{}", other["id"].as_str().unwrap()), &app.admin_key).await.expect(200);
});
