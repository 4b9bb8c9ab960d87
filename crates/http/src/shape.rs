//! Holds a JSON body to the shape its operation documents where serde would not: a derived
//! struct also reads from an array, field by field in order, which no caller means and the
//! OpenAPI document does not allow. Only arrays are checked here (an array where the
//! document has no array); every other rule is the body type's own.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Deeper than any documented body: past it the walk stops.
const MAX_DEPTH: usize = 32;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(crate::openapi()).unwrap_or(Value::Null))
}

/// The document's request-body schemas by (method, route) and its `$ref` targets by
/// reference, looked up once rather than walked to on every request.
struct Schemas {
    bodies: HashMap<(String, String), &'static Value>,
    refs: HashMap<String, &'static Value>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let doc = document();
        let mut bodies = HashMap::new();
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                    bodies.insert((method.clone(), path.clone()), schema);
                }
            }
        }
        let refs = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, schema)| (format!("#/components/schemas/{name}"), schema))
            .collect();
        Schemas { bodies, refs }
    })
}

/// Where in `body` an array stands in for a documented object, if anywhere: `body.settings`.
/// `path` is the route's template (`/api/v1/groups/{id}`), `method` in lower case.
pub fn misplaced_array(method: &str, path: &str, body: &Value) -> Option<String> {
    let s = schemas();
    let schema = s.bodies.get(&(method.to_string(), path.to_string()))?;
    let mut found = walk(s, schema, body, 0)?;
    found.reverse();
    let mut at = String::from("body");
    for step in found {
        match step {
            Step::Index(i) => at.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                at.push('.');
                at.push_str(k);
            }
        }
    }
    Some(at)
}

/// One step of the way to a misplaced array, collected innermost first (so a large body
/// that is fine costs no path strings at all).
enum Step<'a> {
    Index(usize),
    Key(&'a str),
}

fn walk<'a>(doc: &Schemas, schema: &Value, value: &'a Value, depth: usize) -> Option<Vec<Step<'a>>> {
    // Only arrays can be misplaced, and only containers can hold one.
    if depth > MAX_DEPTH || !(value.is_array() || value.is_object()) {
        return None;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return walk(doc, doc.refs.get(target)?, value, depth + 1);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            // Wrong only when no alternative takes it.
            let mut first = None;
            for alt in alternatives {
                match walk(doc, alt, value, depth + 1) {
                    None => return None,
                    Some(found) => first = first.or(Some(found)),
                }
            }
            return first;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().find_map(|s| walk(doc, s, value, depth + 1));
    }
    match value {
        Value::Array(items) => {
            // A typed schema without `array` (or an untyped one with properties) refuses it.
            let refuses = match schema.get("type") {
                Some(Value::String(t)) => t != "array",
                Some(Value::Array(ts)) if !ts.is_empty() => !ts.iter().any(|t| t == "array"),
                _ => schema.get("properties").is_some(),
            };
            if refuses {
                return Some(vec![]);
            }
            let item = schema.get("items")?;
            items.iter().enumerate().find_map(|(i, v)| {
                let mut found = walk(doc, item, v, depth + 1)?;
                found.push(Step::Index(i));
                Some(found)
            })
        }
        Value::Object(fields) => {
            let props = schema.get("properties")?.as_object()?;
            fields.iter().find_map(|(k, v)| {
                let mut found = walk(doc, props.get(k)?, v, depth + 1)?;
                found.push(Step::Key(k));
                Some(found)
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_for_documented_objects_are_found() {
        let path = "/api/v1/groups/{id}";
        assert_eq!(misplaced_array("patch", path, &json!([null, null])).as_deref(), Some("body"));
        assert_eq!(misplaced_array("patch", path, &json!({"settings": [null, null]})).as_deref(), Some("body.settings"));
        assert_eq!(misplaced_array("patch", path, &json!({"settings": null, "permissions": ["a"]})), None);
        assert_eq!(misplaced_array("patch", path, &json!({"collections": [{"id": "c"}, [1]]})).as_deref(), Some("body.collections[1]"));
        assert_eq!(misplaced_array("post", "/api/v1/groups/{id}/members/bulk", &json!({"members": [{"user_id": "u"}]})), None);
        assert_eq!(misplaced_array("get", path, &json!([1])), None, "no documented body, nothing to hold it to");
    }
}
