//! The OpenAPI document as served at `/api/openapi.json`: the native API and the dialects as
//! their handlers declare them, SCIM and the PocketBase-style records described here (their
//! shapes are the protocols'), and what every operation is owed whatever its handler says: a
//! description on every response, the credentials it takes, an example request and answer,
//! and where to send it.

use crate::routes;
use axum::http::Method;
use cohort_core::policy::table::Who;
use serde_json::{Map, Value, json};

/// The SCIM 2.0 surface (`/scim/v2`).
const SCIM: &str = include_str!("scim.json");
/// The PocketBase-style records surface (`/api/collections/…`).
const RECORDS: &str = include_str!("records.json");

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Finishes the document the routers produced.
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    // Worked on as JSON: the protocols' fragments say more than utoipa's types hold.
    let mut v = serde_json::to_value(&doc).unwrap_or(Value::Null);
    for fragment in [SCIM, RECORDS] {
        if let Ok(f) = serde_json::from_str::<Value>(fragment) {
            merge(&mut v, f);
        }
    }
    v["servers"] = json!([{"url": "/", "description": "The server this document was read from"}]);
    v["info"]["license"]["identifier"] = json!("Apache-2.0");
    v["info"]["description"] = json!(
        "Groups, memberships and permissions as a service. One data set, several surfaces: the native API (`/api/v1`), \
         the scoped admin API (`/api/admin`), organization groups (`/api/organizations`), the compat namespace (`/compat/v1`), \
         PocketBase-style records (`/api/collections`) and SCIM 2.0 (`/scim/v2`). Send credentials as `Authorization: Bearer …` \
         (a session token or an API key) or as `X-API-Key`."
    );
    let schemas = v["components"]["schemas"].clone();
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else { return v };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            describe_responses(op);
            secure(op, method, path);
            exemplify(op, &schemas);
        }
    }
    v
}

/// Adds a fragment's paths, tags and components.
fn merge(doc: &mut Value, fragment: Value) {
    let Value::Object(fragment) = fragment else { return };
    for (key, value) in fragment {
        match (key.as_str(), value) {
            ("tags", Value::Array(tags)) => {
                if let Some(all) = doc["tags"].as_array_mut() {
                    all.extend(tags);
                }
            }
            ("paths", Value::Object(paths)) => {
                if let Some(all) = doc["paths"].as_object_mut() {
                    all.extend(paths);
                }
            }
            ("components", Value::Object(parts)) => {
                for (kind, entries) in parts {
                    if let (Value::Object(entries), Some(components)) = (entries, doc["components"].as_object_mut()) {
                        let into = components.entry(kind).or_insert_with(|| json!({}));
                        if let Some(into) = into.as_object_mut() {
                            into.extend(entries);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// What each status means, for responses whose handler gave no words.
fn meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "Done; no body",
        "304" => "Not modified since the ETag sent in If-None-Match",
        "400" => "The request cannot be read",
        "401" => "Missing or invalid credentials",
        "403" => "Not allowed",
        "404" => "Not found",
        "409" => "Conflicts with the current state (a name taken, the last owner, a pending request)",
        "410" => "Gone (an expired invitation)",
        "412" => "The resource has changed since the ETag sent in If-Match",
        "413" => "The body is too large",
        "422" => "A value is not valid",
        "429" => "Too many requests; `Retry-After` says when to try again",
        "503" => "Unavailable or not ready; `Retry-After` says when to try again",
        _ => "See the error body",
    }
}

fn describe_responses(op: &mut Map<String, Value>) {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
    for (status, r) in responses.iter_mut() {
        if r.get("$ref").is_some() {
            continue;
        }
        if r["description"].as_str().is_none_or(str::is_empty) {
            r["description"] = json!(meaning(status));
        }
    }
}

/// The credentials an operation takes, from the route table's rule: none for the open ones
/// (health, sign-in, discovery), a bearer token or key for the rest.
fn secure(op: &mut Map<String, Value>, method: &str, path: &str) {
    if op.contains_key("security") {
        return;
    }
    let Ok(m) = method.to_uppercase().parse::<Method>() else { return };
    let open = routes::operation(&m, path).is_some_and(|o| o.rule().who == Who::Anyone);
    op.insert("security".into(), if open { json!([]) } else { json!([{"bearer": []}, {"api_key": []}]) });
}

/// An example request body, answer, and parameter value wherever the operation has none,
/// made from the schemas (their own examples first).
fn exemplify(op: &mut Map<String, Value>, schemas: &Value) {
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut().filter(|p| p.get("$ref").is_none() && p.get("example").is_none()) {
            let name = p["name"].as_str().unwrap_or("").to_string();
            let ex = example(&p["schema"], schemas, &name, 0, false);
            if !ex.is_null() {
                p["example"] = ex;
            }
        }
    }
    if let Some(content) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            if media.get("example").is_none() {
                media["example"] = example(&media["schema"], schemas, "", 0, true);
            }
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
    for (status, r) in responses.iter_mut() {
        if !status.starts_with('2') {
            continue;
        }
        if let Some(content) = r.get_mut("content").and_then(Value::as_object_mut) {
            for media in content.values_mut() {
                if media.get("example").is_none() && media.get("schema").is_some() {
                    media["example"] = example(&media["schema"], schemas, "", 0, false);
                }
            }
        }
    }
}

/// An example of `schema`: its own example, else one built from its type. A request body
/// (`request`) gets its required fields and those with examples of their own; an answer
/// gets every field.
fn example(schema: &Value, schemas: &Value, name: &str, depth: usize, request: bool) -> Value {
    // Deep enough for a page of groups with their collections; a schema that holds itself
    // (a subgroup tree) stops here.
    if depth > 24 {
        return Value::Null;
    }
    if let Some(ex) = schema.get("example") {
        return ex.clone();
    }
    if let Some(first) = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r.rsplit('/').next().unwrap_or("");
        return example(&schemas[target], schemas, name, depth + 1, request);
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.iter().find(|v| !v.is_null())) {
        return e.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let pick = alts.iter().find(|a| a.get("type").and_then(Value::as_str) != Some("null")).unwrap_or(&Value::Null);
            return example(pick, schemas, name, depth + 1, request);
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut out = Map::new();
        for part in all {
            match example(part, schemas, name, depth + 1, request) {
                Value::Object(o) => out.extend(o),
                other if all.len() == 1 => return other,
                _ => {}
            }
        }
        return Value::Object(out);
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    };
    match ty {
        "object" => {
            let required: Vec<&str> =
                schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, p) in props {
                    if request && (p.get("readOnly") == Some(&json!(true)) || (!required.contains(&k.as_str()) && !has_example(p, schemas)))
                    {
                        continue;
                    }
                    let v = example(p, schemas, k, depth + 1, request);
                    if !v.is_null() || required.contains(&k.as_str()) {
                        out.insert(k.clone(), v);
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = example(&schema["items"], schemas, name, depth + 1, request);
            if item.is_null() { json!([]) } else { json!([item]) }
        }
        "integer" => json!(schema["minimum"].as_i64().map_or(1, |m| m.max(1))),
        "number" => json!(schema["minimum"].as_f64().map_or(1.0, |m| m.max(1.0))),
        "boolean" => json!(true),
        "string" => json!(string_example(schema, name)),
        _ => Value::Null,
    }
}

/// Whether a property brings its own example (a request example shows those optional fields).
fn has_example(p: &Value, schemas: &Value) -> bool {
    if p.get("example").is_some() {
        return true;
    }
    let r = p.get("$ref").and_then(Value::as_str).map(|r| r.rsplit('/').next().unwrap_or(""));
    r.is_some_and(|t| schemas[t].get("example").is_some())
}

/// A string that reads as what its name and format say.
fn string_example(schema: &Value, name: &str) -> String {
    match schema["format"].as_str() {
        Some("date-time") => return "2026-12-01T09:30:00Z".into(),
        Some("date") => return "2026-12-01".into(),
        Some("email") => return "alice@example.com".into(),
        Some("uri") | Some("url") => return "https://example.com/".into(),
        Some("password") => return "correct horse battery".into(),
        _ => {}
    }
    let s = match name {
        "user_id" | "actor_id" | "created_by" | "updated_by" | "owner_id" | "author_id" | "invited_by" => "usr_01JD5XJ9T2",
        "group_id" | "parent_id" => "grp_01JD5XK2N8",
        "space_id" | "space" | "org_id" => "spc_default",
        "role" => "member",
        "email" => "alice@example.com",
        "username" | "login" => "alice",
        "password" | "current_password" => "correct horse battery",
        "name" | "full_name" => "Engineering Team",
        "description" => "Builds the product",
        "permission" => "kb.read",
        "cursor" | "next_cursor" => "eyJrIjoiMjAyNi0xMi0wMSJ9",
        "expand" | "expands" => "users",
        "token" => "cs_live_9f2c4e1a7b",
        "message" => "Hello",
        n if n.ends_with("_id") || n == "id" => "grp_01JD5XK2N8",
        n if n.ends_with("_at") => "2026-12-01T09:30:00Z",
        _ => "text",
    };
    let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
    if s.len() < min { format!("{s}{}", "x".repeat(min - s.len())) } else { s.to_string() }
}
