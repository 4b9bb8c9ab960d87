//! `POST /scim/v2/Bulk` (RFC 7644 §3.7): many writes in one request. Each operation is
//! answered by the handler its own method and path have, so it is the same command in its
//! own transaction, refused or applied alone; this module only reads the request, resolves
//! `bulkId` references and collects the answers.
//!
//! An operation that names `bulkId:<id>` (in its path or anywhere in its data) waits until
//! the operation with that `bulkId` has made its resource, so operations may come in any
//! order; a reference that can never be resolved (its operation failed, or operations wait
//! on each other) is 409, one to a `bulkId` no operation has is 400. `failOnErrors` stops
//! the request after that many errors: operations not run are not in the answer. Operations
//! are not started once most of the request's time is spent; those are answered 503 and not
//! applied, so the client knows exactly what happened.

use super::{ScimError, ScimJson, ScimResult, get_ci, groups, json_response, users};
use crate::extract::{IfMatch, Path};
use crate::limits::Deadline;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use cohort_app::App;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one bulk request may carry (`bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
const REFERENCE: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One operation as read, before its references are resolved.
struct Op {
    /// As the request spelled it, echoed in the answer.
    method: String,
    bulk_id: Option<String>,
    /// What is wrong with the operation itself, if anything (it then fails when its turn comes).
    invalid: Option<ScimError>,
    kind: Method,
    path: String,
    version: Option<String>,
    data: Value,
}

fn text<'a>(o: &'a Value, name: &str) -> Result<Option<&'a str>, ScimError> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
    }
}

fn read_op(o: &Value) -> Op {
    let method = get_ci(o, "method").and_then(Value::as_str).unwrap_or("").to_string();
    let bulk_id = get_ci(o, "bulkId").and_then(Value::as_str).map(str::to_string);
    let mut op = Op { method, bulk_id, invalid: None, kind: Method::Post, path: String::new(), version: None, data: Value::Null };
    let read = || -> Result<(Method, String, Option<String>, Value), ScimError> {
        if !o.is_object() {
            return Err(ScimError::invalid_syntax("an operation is an object {method, path, bulkId, version, data}"));
        }
        let kind = match text(o, "method")?.unwrap_or("").to_ascii_uppercase().as_str() {
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            other => return Err(ScimError::invalid_value(format!("method must be POST, PUT, PATCH or DELETE, not {other:?}"))),
        };
        let path = text(o, "path")?.ok_or_else(|| ScimError::invalid_value("path is required, such as /Users or /Groups/{id}"))?;
        text(o, "bulkId")?;
        let version = text(o, "version")?.map(str::to_string);
        let data = get_ci(o, "data").cloned().unwrap_or(Value::Null);
        if kind != Method::Delete && !data.is_object() {
            return Err(ScimError::invalid_value(format!("{} needs data: the resource or the PatchOp", kind.name())));
        }
        Ok((kind, path.to_string(), version, data))
    };
    match read() {
        Ok((kind, path, version, data)) => {
            if kind == Method::Post && op.bulk_id.is_none() {
                op.invalid = Some(ScimError::invalid_value("a POST needs a bulkId"));
            }
            (op.kind, op.path, op.version, op.data) = (kind, path, version, data);
        }
        Err(e) => op.invalid = Some(e),
    }
    op
}

/// The `bulkId`s an operation names, in its path and its data.
fn references(op: &Op) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(REFERENCE) {
                    out.push(id.to_string());
                }
            }
            Value::Array(a) => a.iter().for_each(|e| walk(e, out)),
            Value::Object(o) => o.values().for_each(|e| walk(e, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some((_, id)) = op.path.split_once(REFERENCE) {
        out.push(id.to_string());
    }
    walk(&op.data, &mut out);
    out
}

/// Puts the ids made for `bulkId`s in place of the references to them.
fn resolve(v: &mut Value, made: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(REFERENCE).and_then(|b| made.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|e| resolve(e, made)),
        Value::Object(o) => o.values_mut().for_each(|e| resolve(e, made)),
        _ => {}
    }
}

fn resolve_path(path: &str, made: &HashMap<String, String>) -> String {
    match path.split_once(REFERENCE) {
        Some((head, id)) => made.get(id).map_or_else(|| path.to_string(), |made| format!("{head}{made}")),
        None => path.to_string(),
    }
}

/// Runs one resolved operation through the handler of its method and path.
async fn run(app: &App, s: &super::Scim, kind: Method, path: &str, version: Option<&str>, data: Value) -> ScimResult {
    let if_match = IfMatch::parse(version.unwrap_or("")).map_err(ScimError::from)?;
    let uri = Uri::from_static("/");
    let trimmed = path.trim_start_matches('/');
    let (resource, id) = match trimmed.split_once('/') {
        Some((r, id)) if !id.is_empty() && !id.contains('/') => (r, Some(id.to_string())),
        Some(_) => ("", None),
        None => (trimmed, None),
    };
    let (st, sc) = (State(app.clone()), s.clone());
    match (resource, id, kind) {
        ("Users", None, Method::Post) => users::create(st, sc, uri, ScimJson(data)).await,
        ("Users", Some(id), Method::Put) => users::replace(st, sc, Path(id), if_match, uri, ScimJson(data)).await,
        ("Users", Some(id), Method::Patch) => users::patch(st, sc, Path(id), if_match, uri, ScimJson(data)).await,
        ("Users", Some(id), Method::Delete) => users::delete(st, sc, Path(id), if_match).await,
        ("Groups", None, Method::Post) => groups::create(st, sc, uri, ScimJson(data)).await,
        ("Groups", Some(id), Method::Put) => groups::replace(st, sc, Path(id), if_match, uri, ScimJson(data)).await,
        ("Groups", Some(id), Method::Patch) => groups::patch(st, sc, Path(id), if_match, uri, ScimJson(data)).await,
        ("Groups", Some(id), Method::Delete) => groups::delete(st, sc, Path(id), if_match).await,
        ("Users" | "Groups", None, _) => Err(ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!("{} {path}: a collection takes POST; PUT, PATCH and DELETE name a resource", kind.name()),
        )),
        ("Users" | "Groups", Some(_), _) => {
            Err(ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("POST {path}: a resource takes PUT, PATCH or DELETE")))
        }
        _ => {
            Err(ScimError::new(StatusCode::NOT_FOUND, None, format!("{path}: a bulk operation's path is /Users, /Groups or one of theirs")))
        }
    }
}

/// The answer to one operation: its status, where its resource is and its version, or the
/// error's body.
fn answered(op: &Op, path: &str, base: &str, result: ScimResult) -> (Value, Option<String>) {
    let mut out = Map::new();
    out.insert("method".into(), json!(op.method));
    if let Some(b) = &op.bulk_id {
        out.insert("bulkId".into(), json!(b));
    }
    let made = match result {
        Ok(res) => {
            let status = res.status();
            let header = |h: header::HeaderName| res.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
            let location = header(header::LOCATION).unwrap_or_else(|| format!("{base}/{}", path.trim_start_matches('/')));
            if let Some(v) = header(header::ETAG) {
                out.insert("version".into(), json!(v));
            }
            out.insert("location".into(), json!(location));
            out.insert("status".into(), json!(status.as_u16().to_string()));
            // A resource made answers with its id; its body is not repeated.
            (status == StatusCode::CREATED).then(|| location.rsplit('/').next().unwrap_or("").to_string())
        }
        Err(e) => {
            out.insert("status".into(), json!(e.status.as_u16().to_string()));
            out.insert("response".into(), e.body());
            None
        }
    };
    (Value::Object(out), made)
}

pub async fn bulk(State(app): State<App>, s: super::Scim, deadline: Deadline, ScimJson(body): ScimJson) -> ScimResult {
    if let Some(schemas) = get_ci(&body, "schemas")
        && !schemas.as_array().is_some_and(|a| a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST))))
    {
        return Err(ScimError::invalid_syntax(format!("a bulk request's schemas are [\"{BULK_REQUEST}\"]")));
    }
    let fail_on_errors = match get_ci(&body, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => return Err(ScimError::invalid_value("failOnErrors must be an integer of at least 1")),
        },
    };
    let list = get_ci(&body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a bulk request needs Operations, a list of {method, path, bulkId, data}"))?;
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("{} operations; a bulk request carries at most {MAX_OPERATIONS}", list.len()),
        ));
    }
    let mut ops: Vec<Op> = list.iter().map(read_op).collect();
    // Which operation each bulkId belongs to; one named twice belongs to neither.
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut twice = HashSet::new();
    for (i, op) in ops.iter().enumerate() {
        if let Some(b) = &op.bulk_id
            && owner.insert(b.clone(), i).is_some()
        {
            twice.insert(b.clone());
        }
    }
    for op in ops.iter_mut().filter(|op| op.bulk_id.as_ref().is_some_and(|b| twice.contains(b))) {
        op.invalid.get_or_insert_with(|| ScimError::invalid_value("another operation of the request has this bulkId"));
    }

    // Stop starting operations with a fifth of the request's time left.
    let now = Instant::now();
    let stop_at = now + deadline.0.saturating_duration_since(now) * 4 / 5;
    let mut made: HashMap<String, String> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    let mut answers = Vec::new();
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    'passes: while !pending.is_empty() {
        let mut waiting = Vec::new();
        for &i in &pending {
            let op = &ops[i];
            let refs = references(op);
            let outcome: Result<(String, Value), ScimError> = if let Some(e) = op.invalid.as_ref() {
                Err(e.clone())
            } else if let Some(b) = refs.iter().find(|b| !owner.contains_key(*b) || twice.contains(*b)) {
                Err(ScimError::invalid_value(format!("no other operation of the request has bulkId {b:?}")))
            } else if let Some(b) = refs.iter().find(|b| failed.contains(*b)) {
                Err(ScimError::new(StatusCode::CONFLICT, None, format!("the operation with bulkId {b:?} failed, so its id is unknown")))
            } else if refs.iter().any(|b| !made.contains_key(b)) {
                waiting.push(i);
                continue;
            } else {
                let mut data = op.data.clone();
                resolve(&mut data, &made);
                Ok((resolve_path(&op.path, &made), data))
            };
            let (answer, id) = match outcome {
                Err(e) => answered(op, &op.path, &s.base, Err(e)),
                Ok(_) if Instant::now() >= stop_at => {
                    let late = ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "not run: the bulk request ran out of time");
                    answered(op, &op.path, &s.base, Err(late))
                }
                Ok((path, data)) => {
                    let result = run(&app, &s, op.kind, &path, op.version.as_deref(), data).await;
                    answered(op, &path, &s.base, result)
                }
            };
            let ok = answer["status"].as_str().is_some_and(|st| st.starts_with('2'));
            if let Some(b) = &op.bulk_id {
                match id {
                    Some(id) if ok => {
                        made.insert(b.clone(), id);
                    }
                    _ => {
                        failed.insert(b.clone());
                    }
                }
            }
            answers.push(answer);
            if !ok {
                errors += 1;
                if fail_on_errors.is_some_and(|n| errors >= n) {
                    break 'passes;
                }
            }
        }
        if waiting.len() == pending.len() {
            // Every operation left waits on another that waits too.
            for &i in &waiting {
                let e = ScimError::new(StatusCode::CONFLICT, None, "its bulkId references go round in a circle and cannot be resolved");
                answers.push(answered(&ops[i], &ops[i].path, &s.base, Err(e)).0);
                errors += 1;
                if fail_on_errors.is_some_and(|n| errors >= n) {
                    break;
                }
            }
            break;
        }
        pending = waiting;
    }
    Ok(json_response(StatusCode::OK, json!({"schemas": [BULK_RESPONSE], "Operations": answers})))
}
