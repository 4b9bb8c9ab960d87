//! Discovery (RFC 7644 §4): `ServiceProviderConfig`, `ResourceTypes` and `Schemas`. They
//! describe the service, not anyone's data, so they answer without credentials.

use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_COUNT, ScimError, ScimResult, USER_SCHEMA, base_url, json_response, list_response};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    json_response(
        StatusCode::OK,
        json!({
            "schemas": [CONFIG_SCHEMA],
            "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": super::bulk::MAX_OPERATIONS, "maxPayloadSize": crate::BODY_LIMIT},
            "filter": {"supported": true, "maxResults": MAX_COUNT},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer API key",
                "description": "A Cohort API key with the scim scope, bound to a space (cohort keys create --scopes scim --space SPACE), or a site admin key for every space, sent as Authorization: Bearer <key>.",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
        }),
    )
}

fn resource_type_json(id: &str, base: &str) -> Value {
    let (endpoint, schema, description) = match id {
        "User" => ("/Users", USER_SCHEMA, "A person or service identity of the site"),
        _ => ("/Groups", GROUP_SCHEMA, "A group of the key's space"),
    };
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": description,
        "schema": schema,
        "schemaExtensions": if id == "User" { json!([{"schema": ENTERPRISE_SCHEMA, "required": false}]) } else { json!([]) },
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}")},
    })
}

pub async fn resource_types(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    list_response(2, 1, vec![resource_type_json("User", &base), resource_type_json("Group", &base)])
}

pub async fn resource_type(headers: HeaderMap, axum::extract::Path(id): axum::extract::Path<String>) -> ScimResult {
    let base = base_url(&headers);
    match id.as_str() {
        "User" | "Group" => Ok(json_response(StatusCode::OK, resource_type_json(&id, &base))),
        _ => Err(ScimError::new(StatusCode::NOT_FOUND, None, format!("no resource type {id:?}; there are User and Group"))),
    }
}

/// One attribute definition (RFC 7643 §7).
struct A {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
    description: &'static str,
    /// What a `reference` points at: `User`, `Group`, `external`.
    refs: &'static [&'static str],
}

const fn a(name: &'static str, kind: &'static str, description: &'static str) -> A {
    A {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        description,
        refs: &[],
    }
}

impl A {
    fn json(&self, subs: &[A]) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if !subs.is_empty() {
            v["subAttributes"] = subs.iter().map(|s| s.json(&[])).collect();
        }
        if self.kind == "reference" {
            v["referenceTypes"] = json!(self.refs);
        }
        v
    }
}

fn user_schema(base: &str) -> Value {
    let user_name = A {
        required: true,
        uniqueness: "server",
        ..a("userName", "string", "Unique login name: letters, digits and . _ - @ +, at most 100")
    };
    let name = a("name", "complex", "Cohort keeps one full name: formatted; givenName is its first word, familyName the rest");
    let name_subs = [
        a("formatted", "string", "The full name"),
        a("givenName", "string", "The full name's first word"),
        a("familyName", "string", "The full name after its first word"),
    ];
    let emails = A { multi: true, ..a("emails", "complex", "Cohort keeps one email: the primary one, else the work one, else the first") };
    let email_subs = [
        a("value", "string", "The address (unique)"),
        a("type", "string", "Always work"),
        A { kind: "boolean", ..a("primary", "boolean", "Always true") },
    ];
    let photos = A { multi: true, ..a("photos", "complex", "Cohort keeps one photo URL (the avatar)") };
    let photo_subs = [
        A { case_exact: true, refs: &["external"], ..a("value", "reference", "The photo's URL") },
        a("type", "string", "Always photo"),
        a("primary", "boolean", "Always true"),
    ];
    let groups = A { multi: true, mutability: "readOnly", ..a("groups", "complex", "The key's space's groups the user is a member of") };
    let group_subs = [
        A { case_exact: true, mutability: "readOnly", ..a("value", "string", "The group's id") },
        A { case_exact: true, mutability: "readOnly", refs: &["Group"], ..a("$ref", "reference", "The group's URI") },
        A { mutability: "readOnly", ..a("display", "string", "The group's name") },
        A { mutability: "readOnly", ..a("type", "string", "Always direct") },
    ];
    let password = A { mutability: "writeOnly", returned: "never", case_exact: true, ..a("password", "string", "8 to 1024 characters") };
    let attributes = vec![
        user_name.json(&[]),
        name.json(&name_subs),
        a("displayName", "string", "The full name").json(&[]),
        a("active", "boolean", "An inactive user cannot sign in, and their memberships are suspended").json(&[]),
        emails.json(&email_subs),
        photos.json(&photo_subs),
        password.json(&[]),
        groups.json(&group_subs),
    ];
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

fn group_schema(base: &str) -> Value {
    let display =
        A { required: true, ..a("displayName", "string", "The group's name: 1 to 200 characters, unique in the space (any case)") };
    let members = A { multi: true, ..a("members", "complex", "The group's members (every membership status)") };
    let member_subs = [
        A { case_exact: true, mutability: "immutable", ..a("value", "string", "The user's id") },
        A { case_exact: true, mutability: "immutable", refs: &["User"], ..a("$ref", "reference", "The user's URI") },
        A { mutability: "immutable", ..a("display", "string", "As the directory wrote it (absent when it wrote none)") },
        A { mutability: "immutable", ..a("type", "string", "As the directory wrote it (User when it wrote none)") },
    ];
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "Group",
        "attributes": [display.json(&[]), members.json(&member_subs)],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}")},
    })
}

/// The enterprise User extension: kept as written, shown under its schema's key.
fn enterprise_schema(base: &str) -> Value {
    let manager = a("manager", "complex", "The user's manager");
    let manager_subs = [
        A { case_exact: true, ..a("value", "string", "The manager's id") },
        A { case_exact: true, refs: &["User"], ..a("$ref", "reference", "The manager's URI") },
        A { mutability: "readOnly", ..a("displayName", "string", "The manager's name") },
    ];
    let attributes = vec![
        a("employeeNumber", "string", "A number assigned by the organization").json(&[]),
        a("costCenter", "string", "A cost center").json(&[]),
        a("organization", "string", "An organization").json(&[]),
        a("division", "string", "A division").json(&[]),
        a("department", "string", "A department").json(&[]),
        manager.json(&manager_subs),
    ];
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "Enterprise User",
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE_SCHEMA}")},
    })
}

pub async fn schemas(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    list_response(3, 1, vec![user_schema(&base), group_schema(&base), enterprise_schema(&base)])
}

pub async fn schema(headers: HeaderMap, axum::extract::Path(id): axum::extract::Path<String>) -> ScimResult {
    let base = base_url(&headers);
    if id.eq_ignore_ascii_case(USER_SCHEMA) {
        Ok(json_response(StatusCode::OK, user_schema(&base)))
    } else if id.eq_ignore_ascii_case(GROUP_SCHEMA) {
        Ok(json_response(StatusCode::OK, group_schema(&base)))
    } else if id.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        Ok(json_response(StatusCode::OK, enterprise_schema(&base)))
    } else {
        Err(ScimError::new(StatusCode::NOT_FOUND, None, format!("no schema {id:?}")))
    }
}
