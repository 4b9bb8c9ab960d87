//! Holds a JSON body to the shape its operation documents where serde would not: a derived
//! struct also reads from an array, field by field in order, which no caller means and the
//! OpenAPI document does not allow. Only arrays are checked here (an array where the
//! document has no array); every other rule is the body type's own.
//!
//! The document's body schemas are reduced once to what this check needs ([`Shape`]), and a
//! body is scanned as bytes against its route's shape, without building a tree of it: a
//! batch of checks or a bulk add then costs one pass more over its bytes, not a second parse.

use axum::http::Method;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Deeper than any documented body: past it the scan stops looking.
const MAX_DEPTH: usize = 32;

/// A schema reduced to where arrays may stand.
enum Shape {
    /// Nothing below is looked at.
    Open,
    /// A named schema of the document (`$ref`), by its number in [`Shapes::named`].
    Named(usize),
    /// Fine when any alternative takes it (`oneOf`, `anyOf`).
    AnyOf(Vec<Shape>),
    /// Fine when every part takes it (`allOf`).
    AllOf(Vec<Shape>),
    Node {
        /// A typed schema without `array` (or an untyped one with properties).
        refuses_array: bool,
        items: Option<Box<Shape>>,
        /// By name; a body's keys are looked up here one by one, and objects have few.
        properties: Option<Vec<(String, Shape)>>,
    },
}

/// The body shape of each (route, method), and the named schemas they refer to.
struct Shapes {
    bodies: HashMap<String, [Option<Shape>; METHODS]>,
    named: Vec<Shape>,
}

const METHODS: usize = 5;

fn method_slot(m: &Method) -> Option<usize> {
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE].iter().position(|x| x == m)
}

fn shapes() -> &'static Shapes {
    static SHAPES: OnceLock<Shapes> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let doc = serde_json::to_value(crate::openapi()).unwrap_or(Value::Null);
        let schemas = doc.pointer("/components/schemas").and_then(Value::as_object);
        let numbers: HashMap<String, usize> =
            schemas.into_iter().flatten().enumerate().map(|(i, (name, _))| (format!("#/components/schemas/{name}"), i)).collect();
        let named = schemas.into_iter().flatten().map(|(_, s)| compile(s, &numbers)).collect();
        let mut bodies: HashMap<String, [Option<Shape>; METHODS]> = HashMap::new();
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let slot = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).ok().as_ref().and_then(method_slot);
                if let (Some(slot), Some(schema)) = (slot, op.pointer("/requestBody/content/application~1json/schema")) {
                    bodies.entry(path.clone()).or_default()[slot] = Some(compile(schema, &numbers));
                }
            }
        }
        Shapes { bodies, named }
    })
}

fn compile(schema: &Value, numbers: &HashMap<String, usize>) -> Shape {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return numbers.get(target).map_or(Shape::Open, |&i| Shape::Named(i));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            return Shape::AnyOf(alternatives.iter().map(|s| compile(s, numbers)).collect());
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return Shape::AllOf(all.iter().map(|s| compile(s, numbers)).collect());
    }
    let refuses_array = match schema.get("type") {
        Some(Value::String(t)) => t != "array",
        Some(Value::Array(ts)) if !ts.is_empty() => !ts.iter().any(|t| t == "array"),
        _ => schema.get("properties").is_some(),
    };
    Shape::Node {
        refuses_array,
        items: schema.get("items").map(|s| Box::new(compile(s, numbers))),
        properties: schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| props.iter().map(|(k, s)| (k.clone(), compile(s, numbers))).collect()),
    }
}

/// Where in `body` an array stands in for a documented object, if anywhere: `body.settings`.
/// `path` is the route's template (`/api/v1/groups/{id}`). A body that is not JSON is not
/// looked at: reading it says where it breaks.
pub fn misplaced_array(method: &Method, path: &str, body: &[u8]) -> Option<String> {
    let s = shapes();
    let shape = s.bodies.get(path)?[method_slot(method)?].as_ref()?;
    let mut found = s.walk(shape, &mut Scan { b: body, i: 0 }, 0).ok()??;
    found.reverse();
    let mut at = String::from("body");
    for step in found {
        match step {
            Step::Index(i) => at.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                at.push('.');
                at.push_str(&String::from_utf8_lossy(&k));
            }
        }
    }
    Some(at)
}

/// One step of the way to a misplaced array, collected innermost first.
enum Step<'a> {
    Index(usize),
    Key(Cow<'a, [u8]>),
}

/// `Ok(None)`: fine; `Ok(Some(steps))`: a misplaced array there; `Err`: not JSON.
type Found<'a> = Result<Option<Vec<Step<'a>>>, NotJson>;

struct NotJson;

impl Shapes {
    /// Looks at the value at the scan's position; when it is fine the scan ends past it.
    fn walk<'a>(&self, shape: &Shape, s: &mut Scan<'a>, depth: usize) -> Found<'a> {
        let c = s.peek().ok_or(NotJson)?;
        // Only arrays can be misplaced, and only containers can hold one.
        if depth > MAX_DEPTH || !(c == b'[' || c == b'{') {
            s.skip_value()?;
            return Ok(None);
        }
        match shape {
            Shape::Open => {
                s.skip_value()?;
                Ok(None)
            }
            Shape::Named(i) => match self.named.get(*i) {
                Some(named) => self.walk(named, s, depth + 1),
                None => s.skip_value().map(|_| None),
            },
            Shape::AnyOf(alternatives) => {
                // Wrong only when no alternative takes it.
                let start = s.i;
                let mut first = None;
                for alt in alternatives {
                    s.i = start;
                    match self.walk(alt, s, depth + 1)? {
                        None => return Ok(None),
                        Some(found) => first = first.or(Some(found)),
                    }
                }
                s.i = start;
                s.skip_value()?;
                Ok(first)
            }
            Shape::AllOf(all) => {
                let start = s.i;
                for part in all {
                    s.i = start;
                    if let Some(found) = self.walk(part, s, depth + 1)? {
                        return Ok(Some(found));
                    }
                }
                s.i = start;
                s.skip_value().map(|_| None)
            }
            Shape::Node { refuses_array, items, properties } => {
                if c == b'[' {
                    if *refuses_array {
                        return Ok(Some(vec![]));
                    }
                    let Some(item) = items else { return s.skip_value().map(|_| None) };
                    s.i += 1;
                    let (mut index, mut first) = (0, true);
                    while s.next_in(b']', &mut first)? {
                        if let Some(mut found) = self.walk(item, s, depth + 1)? {
                            found.push(Step::Index(index));
                            return Ok(Some(found));
                        }
                        index += 1;
                    }
                    return Ok(None);
                }
                let Some(props) = properties else { return s.skip_value().map(|_| None) };
                s.i += 1;
                let mut first = true;
                while s.next_in(b'}', &mut first)? {
                    let key = s.string()?;
                    if s.peek() != Some(b':') {
                        return Err(NotJson);
                    }
                    s.i += 1;
                    match props.iter().find(|(name, _)| name.as_bytes() == key.as_ref()) {
                        Some((_, p)) => {
                            if let Some(mut found) = self.walk(p, s, depth + 1)? {
                                found.push(Step::Key(key));
                                return Ok(Some(found));
                            }
                        }
                        None => s.skip_value()?,
                    }
                }
                Ok(None)
            }
        }
    }
}

/// A position in the body's bytes.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    /// The next byte that is not white space, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// Inside a container: whether an element follows (the comma before it consumed, when it
    /// is not the `first`), or the container ends here with `close` (consumed).
    fn next_in(&mut self, close: u8, first: &mut bool) -> Result<bool, NotJson> {
        let c = self.peek().ok_or(NotJson)?;
        if c == close {
            self.i += 1;
            return Ok(false);
        }
        if std::mem::take(first) {
            return Ok(true);
        }
        if c == b',' {
            self.i += 1;
            return Ok(true);
        }
        Err(NotJson)
    }

    /// A string at the position (its quotes consumed), as bytes: unescaped only when it has
    /// escapes, and never checked for UTF-8 (it is only compared with names that are).
    fn string(&mut self) -> Result<Cow<'a, [u8]>, NotJson> {
        if self.peek() != Some(b'"') {
            return Err(NotJson);
        }
        let start = self.i;
        self.skip_string()?;
        let raw = &self.b[start..self.i];
        if raw.contains(&b'\\') {
            serde_json::from_slice::<String>(raw).map(|s| Cow::Owned(s.into_bytes())).map_err(|_| NotJson)
        } else {
            Ok(Cow::Borrowed(&raw[1..raw.len() - 1]))
        }
    }

    /// Past the string that starts at the position.
    fn skip_string(&mut self) -> Result<(), NotJson> {
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => self.i += 1,
                _ => {}
            }
        }
        Err(NotJson)
    }

    /// Past the value at the position, whatever it holds (nesting counted, not recursed).
    fn skip_value(&mut self) -> Result<(), NotJson> {
        let mut open = 0usize;
        loop {
            let c = self.peek().ok_or(NotJson)?;
            match c {
                b'"' => self.skip_string()?,
                b'[' | b'{' => {
                    open += 1;
                    self.i += 1;
                }
                b']' | b'}' => {
                    open = open.checked_sub(1).ok_or(NotJson)?;
                    self.i += 1;
                }
                b',' | b':' if open > 0 => self.i += 1,
                _ => {
                    // A number or a literal: up to the next delimiter.
                    let rest = &self.b[self.i..];
                    let len =
                        rest.iter().position(|c| matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(rest.len());
                    if len == 0 {
                        return Err(NotJson);
                    }
                    self.i += len;
                }
            }
            if open == 0 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(method: Method, path: &str, body: &str) -> Option<String> {
        misplaced_array(&method, path, body.as_bytes())
    }

    #[test]
    fn arrays_for_documented_objects_are_found() {
        let path = "/api/v1/groups/{id}";
        assert_eq!(at(Method::PATCH, path, "[null, null]").as_deref(), Some("body"));
        assert_eq!(at(Method::PATCH, path, r#"{"settings": [null, null]}"#).as_deref(), Some("body.settings"));
        assert_eq!(at(Method::PATCH, path, r#"{"settings": null, "permissions": ["a"]}"#), None);
        assert_eq!(at(Method::PATCH, path, r#"{"collections": [{"id": "c"}, [1]]}"#).as_deref(), Some("body.collections[1]"));
        assert_eq!(
            at(Method::PATCH, path, r#" { "name" : "x" , "collections" : [ {"id": "c"} , [1] ] } "#).as_deref(),
            Some("body.collections[1]")
        );
        assert_eq!(at(Method::POST, "/api/v1/groups/{id}/members/bulk", r#"{"members": [{"user_id": "u"}]}"#), None);
        assert_eq!(at(Method::GET, path, "[1]"), None, "no documented body, nothing to hold it to");
    }

    #[test]
    fn escaped_keys_and_strings_are_read_as_json_reads_them() {
        let path = "/api/v1/groups/{id}";
        assert_eq!(at(Method::PATCH, path, r#"{"sett\u0069ngs": [1]}"#).as_deref(), Some("body.settings"));
        assert_eq!(at(Method::PATCH, path, r#"{"name": "a \" [ ] { }", "settings": [1]}"#).as_deref(), Some("body.settings"));
        assert_eq!(
            at(Method::POST, "/api/v1/check/batch", r#"{"checks": [{"user_id": "u", "permission": "p"}, ["u", "p"]]}"#).as_deref(),
            Some("body.checks[1]")
        );
    }

    #[test]
    fn what_is_not_json_is_left_to_the_parser() {
        let path = "/api/v1/groups/{id}";
        for body in [r#"{"settings": [1"#, r#"{"a" [1]}"#, r#"{"a": 1 "settings": [1]}"#, r#"{"a": "#, "]", r#"{"a": 1,, "b": [2]}"#] {
            assert_eq!(at(Method::PATCH, path, body), None, "{body}");
        }
    }
}
