//! What a directory wrote of a user beyond the columns Cohort keeps, so that SCIM reads it
//! back as written: the `name` object with its parts, the `emails` and `photos` lists with
//! each element's `type` and `primary`, and `active` once removed rather than set.
//!
//! The columns stay the truth: a piece is shown only while it still agrees with them (the
//! name's full form is the user's full name, the list's chosen element is their email or
//! avatar), so a change made through the native API wins. Only what `/Schemas` declares is
//! kept (the name's `formatted`, `givenName`, `familyName`; an element's `value`, `type`,
//! `primary`; the enterprise extension's attributes and its manager's `value` and `$ref`), so
//! what is shown never goes beyond the published schema.

use super::{ENTERPRISE_SCHEMA, OpKind, ScimError, ScimResult, get_ci};
use cohort_core::model::User;
use cohort_core::scim_filter::PatchPath;
use serde_json::{Map, Value};

const NAME_PARTS: [&str; 3] = ["formatted", "givenName", "familyName"];
const ELEMENT_PARTS: [&str; 3] = ["value", "type", "primary"];
/// The enterprise extension's text attributes, and its manager's writable parts.
const ENTERPRISE_TEXTS: [&str; 5] = ["employeeNumber", "costCenter", "organization", "division", "department"];
const MANAGER_PARTS: [&str; 2] = ["value", "$ref"];

/// The kept document of one user: `name`, `emails`, `photos`, and `active: null`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept(Map<String, Value>);

/// The declared parts of `v`, under their declared names; `primary` as a boolean (Entra sends
/// `"True"`), anything undeclared or of the wrong kind left out.
fn only(v: &Value, parts: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for p in parts {
        let Some(x) = get_ci(v, p) else { continue };
        let x = match (*p, x) {
            ("primary", Value::Bool(b)) => Value::Bool(*b),
            ("primary", Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            ("primary", Value::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            ("primary", _) => continue,
            (_, Value::String(s)) => Value::String(s.clone()),
            _ => continue,
        };
        out.insert((*p).to_string(), x);
    }
    out
}

fn elements(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.iter().filter(|e| e.is_object()).map(|e| Value::Object(only(e, &ELEMENT_PARTS))).collect(),
        Value::Object(_) => vec![Value::Object(only(v, &ELEMENT_PARTS))],
        _ => Vec::new(),
    }
}

/// The full name a `name` object stands for: `formatted`, else the parts joined.
fn full_name(name: &Map<String, Value>) -> Option<String> {
    let part = |k: &str| name.get(k).and_then(Value::as_str).unwrap_or("");
    let joined = if part("formatted").trim().is_empty() {
        format!("{} {}", part("givenName"), part("familyName"))
    } else {
        part("formatted").to_string()
    };
    let out = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// The element Cohort keeps of a list: the primary one, else the one of type `kind`, else the
/// first (as the columns are written).
fn chosen<'a>(list: &'a [Value], kind: &str) -> Option<&'a str> {
    let primary = |e: &&Value| e.get("primary") == Some(&Value::Bool(true));
    let typed = |e: &&Value| e.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind));
    let e = list.iter().find(primary).or_else(|| list.iter().find(typed)).or_else(|| list.first())?;
    e.get("value").and_then(Value::as_str)
}

/// Which list attribute, with the column it must agree with and its kept kind.
fn column<'a>(u: &'a User, attr: &str) -> (Option<&'a str>, &'static str) {
    match attr {
        "emails" => (u.email.as_deref(), "work"),
        _ => (u.avatar_url.as_deref(), "photo"),
    }
}

impl Kept {
    /// From a stored document.
    pub fn stored(doc: Option<&Value>) -> Kept {
        Kept(doc.and_then(Value::as_object).cloned().unwrap_or_default())
    }

    /// From a whole resource (POST, PUT): its name and lists as sent.
    pub fn from_resource(v: &Value) -> Kept {
        let mut k = Kept::default();
        if let Some(name) = get_ci(v, "name").filter(|n| n.is_object()) {
            k.0.insert("name".into(), Value::Object(only(name, &NAME_PARTS)));
        }
        for attr in ["emails", "photos"] {
            if let Some(list) = get_ci(v, attr).filter(|l| !l.is_null()) {
                k.0.insert(attr.into(), Value::Array(elements(list)));
            }
        }
        if let Some(ext) = get_ci(v, ENTERPRISE_SCHEMA).filter(|e| e.is_object()) {
            k.patch_enterprise(OpKind::Replace, None, None, Some(ext));
        }
        k
    }

    /// A write to the enterprise extension: the whole of it (`attr` none), one of its
    /// attributes, or a part of its `manager`. Kept as written, within its schema.
    pub fn patch_enterprise(&mut self, op: OpKind, attr: Option<&str>, sub: Option<&str>, value: Option<&Value>) {
        let declared = |v: &Value| {
            let mut out = only(v, &ENTERPRISE_TEXTS);
            if let Some(m) = get_ci(v, "manager").filter(|m| m.is_object()) {
                let m = only(m, &MANAGER_PARTS);
                if !m.is_empty() {
                    out.insert("manager".into(), Value::Object(m));
                }
            }
            out
        };
        let ext = self.0.entry(ENTERPRISE_SCHEMA).or_insert_with(|| Value::Object(Map::new()));
        let Some(ext) = ext.as_object_mut() else { return };
        match (attr, op) {
            (None, OpKind::Remove) => ext.clear(),
            (None, OpKind::Replace) => *ext = value.map(declared).unwrap_or_default(),
            (None, OpKind::Add) => ext.extend(value.map(declared).unwrap_or_default()),
            (Some(a), _) if a.eq_ignore_ascii_case("manager") => {
                let manager = ext.entry("manager").or_insert_with(|| Value::Object(Map::new()));
                let Some(manager) = manager.as_object_mut() else { return };
                match (sub.and_then(|s| MANAGER_PARTS.iter().find(|p| p.eq_ignore_ascii_case(s))), op, value) {
                    (None, OpKind::Remove, _) | (None, _, None) => manager.clear(),
                    (None, OpKind::Replace, Some(v)) => *manager = only(v, &MANAGER_PARTS),
                    (None, OpKind::Add, Some(v)) => manager.extend(only(v, &MANAGER_PARTS)),
                    (Some(p), OpKind::Remove, _) | (Some(p), _, None) => {
                        manager.remove(*p);
                    }
                    (Some(p), _, Some(v)) => manager.extend(only(&serde_json::json!({ *p: v }), &MANAGER_PARTS)),
                }
                if manager.is_empty() {
                    ext.remove("manager");
                }
            }
            (Some(a), _) => {
                let Some(name) = ENTERPRISE_TEXTS.iter().find(|t| t.eq_ignore_ascii_case(a)) else { return };
                match (op, value) {
                    (OpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                        ext.remove(*name);
                    }
                    (_, Some(v)) => ext.extend(only(&serde_json::json!({ *name: v }), &ENTERPRISE_TEXTS)),
                }
            }
        }
        if ext.is_empty() {
            self.0.remove(ENTERPRISE_SCHEMA);
        }
    }

    /// The pieces that still agree with the user's columns (the others would show a stale
    /// value over a native change).
    pub fn agreeing(mut self, u: &User) -> Kept {
        let name_agrees = self.0.get("name").and_then(Value::as_object).is_some_and(|n| full_name(n) == u.full_name);
        if !name_agrees {
            self.0.remove("name");
        }
        for attr in ["emails", "photos"] {
            let (col, kind) = column(u, attr);
            let agrees = self.0.get(attr).and_then(Value::as_array).is_some_and(|l| {
                let c = chosen(l, kind);
                match (c, col) {
                    (Some(a), Some(b)) => {
                        if attr == "emails" {
                            a.eq_ignore_ascii_case(b)
                        } else {
                            a == b
                        }
                    }
                    (None, None) => l.is_empty(),
                    _ => false,
                }
            });
            if !agrees {
                self.0.remove(attr);
            }
        }
        self
    }

    /// Lays the agreeing pieces over a user's SCIM form (see [`Kept::agreeing`]).
    pub fn show(&self, v: &mut Value) {
        for (k, x) in &self.0 {
            match (k.as_str(), x) {
                ("active", Value::Null) => {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("active");
                    }
                }
                ("name", Value::Object(name)) => {
                    // The parts as written; the full name as the columns hold it when the
                    // directory did not write one.
                    let mut shown = name.clone();
                    if !shown.contains_key("formatted")
                        && let Some(f) = v.get("name").and_then(|n| n.get("formatted")).cloned()
                    {
                        shown.insert("formatted".into(), f);
                    }
                    v["name"] = Value::Object(shown);
                }
                ("emails" | "photos", Value::Array(l)) if l.is_empty() => {
                    if let Some(o) = v.as_object_mut() {
                        o.remove(k);
                    }
                }
                (ENTERPRISE_SCHEMA, Value::Object(_)) => {
                    v[k] = x.clone();
                    if let Some(schemas) = v.get_mut("schemas").and_then(Value::as_array_mut) {
                        schemas.push(Value::String(ENTERPRISE_SCHEMA.into()));
                    }
                }
                _ => v[k] = x.clone(),
            }
        }
    }

    /// The document to store: `None` when nothing beyond the columns is kept.
    pub fn document(&self) -> Option<Value> {
        (!self.0.is_empty()).then(|| Value::Object(self.0.clone()))
    }

    /// `active` set (true or false): no longer removed.
    pub fn set_active(&mut self) {
        self.0.remove("active");
    }

    /// `active` removed: shown as unassigned (RFC 7644 §3.5.2.2) until set again, while the
    /// user stays as they are (an inactive user stays unable to sign in).
    pub fn remove_active(&mut self) {
        self.0.insert("active".into(), Value::Null);
    }

    /// `displayName` or `name.formatted` written: the kept name follows (or goes).
    pub fn set_formatted(&mut self, v: Option<&str>) {
        if let Some(name) = self.0.get_mut("name").and_then(Value::as_object_mut) {
            match v {
                Some(f) => name.insert("formatted".into(), Value::String(f.to_string())),
                None => name.remove("formatted"),
            };
        }
    }

    /// A PATCH of `name` (`sub`: one of its parts).
    pub fn patch_name(&mut self, op: OpKind, sub: Option<&str>, value: Option<&Value>, current: Option<&str>) {
        let name = self.0.entry("name").or_insert_with(|| {
            // No kept name yet: start from the one the columns show.
            let mut n = Map::new();
            if let Some(f) = current {
                n.insert("formatted".into(), Value::String(f.to_string()));
            }
            Value::Object(n)
        });
        let Some(name) = name.as_object_mut() else { return };
        match (op, sub) {
            (OpKind::Remove, None) => {
                self.0.remove("name");
            }
            (OpKind::Replace, None) => *name = value.map(|v| only(v, &NAME_PARTS)).unwrap_or_default(),
            (OpKind::Add, None) => name.extend(value.map(|v| only(v, &NAME_PARTS)).unwrap_or_default()),
            (OpKind::Remove, Some(s)) => {
                name.retain(|k, _| !k.eq_ignore_ascii_case(s));
            }
            (_, Some(s)) => {
                let Some(part) = NAME_PARTS.iter().find(|p| p.eq_ignore_ascii_case(s)) else { return };
                match value.and_then(Value::as_str) {
                    Some(x) => name.insert((*part).to_string(), Value::String(x.to_string())),
                    None => name.remove(*part),
                };
            }
        }
    }

    /// A PATCH of `emails` or `photos`, with or without a value filter or a sub-attribute,
    /// against the kept list (or, when none is kept, the one element the columns show).
    /// `col` is the column's value before this operation, `kind` the type it is shown with;
    /// answers the column's new value, the element the list now chooses.
    pub fn patch_list(
        &mut self,
        attr: &str,
        kind: &str,
        col: Option<&str>,
        op: OpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> ScimResult<Option<String>> {
        let mut list: Vec<Value> = match self.0.get(attr).and_then(Value::as_array) {
            Some(l) => l.clone(),
            None => col.map(|c| serde_json::json!({"value": c, "type": kind, "primary": true})).into_iter().collect(),
        };
        let sub = path.sub_key();
        let part = sub.as_deref().and_then(|s| ELEMENT_PARTS.iter().find(|p| p.eq_ignore_ascii_case(s)).copied());
        let is_primary = |e: &Value| e.get("primary") == Some(&Value::Bool(true));
        // The element this operation made primary, if it made one: it keeps the flag.
        let mut winner = None;
        match (&path.filter, part) {
            (None, None) => {
                let new = value.map(elements).unwrap_or_default();
                match op {
                    OpKind::Remove => list.clear(),
                    OpKind::Replace => list = new,
                    OpKind::Add => list.extend(new),
                }
                winner = list.iter().rposition(is_primary);
            }
            (filter, Some(part)) => {
                // A part of each element the filter picks (of every element without one).
                for (i, e) in list.iter_mut().enumerate().filter(|(_, e)| filter.as_ref().is_none_or(|f| f.matches(e))) {
                    let Some(o) = e.as_object_mut() else { continue };
                    match (op, value) {
                        (OpKind::Remove, _) | (_, None) => {
                            o.remove(part);
                        }
                        (_, Some(v)) => {
                            o.extend(only(&serde_json::json!({ part: v }), &ELEMENT_PARTS));
                            if part == "primary" && o.get("primary") == Some(&Value::Bool(true)) && winner.is_none() {
                                winner = Some(i);
                            }
                        }
                    }
                }
            }
            (Some(filter), None) => match op {
                OpKind::Remove => list.retain(|e| !filter.matches(e)),
                OpKind::Add | OpKind::Replace => {
                    let new = value.map(elements).unwrap_or_default();
                    let at = list.iter().position(|e| filter.matches(e));
                    list.retain(|e| !filter.matches(e));
                    let at = at.unwrap_or(list.len()).min(list.len());
                    winner = new.iter().rposition(is_primary).map(|i| at + i);
                    list.splice(at..at, new);
                }
            },
        }
        // One primary at most (RFC 7643 §2.4): the one just written, else the first.
        let keep = winner.or_else(|| list.iter().position(is_primary));
        for (i, e) in list.iter_mut().enumerate() {
            if Some(i) != keep
                && is_primary(e)
                && let Some(o) = e.as_object_mut()
            {
                o.remove("primary");
            }
        }
        if list.iter().any(|e| e.get("value").and_then(Value::as_str).is_none()) {
            return Err(ScimError::invalid_value(format!("each of {attr} needs a value")));
        }
        let column = chosen(&list, kind).map(str::to_string);
        self.0.insert(attr.into(), Value::Array(list));
        Ok(column)
    }

    /// The kept name's given and family names, when a name is kept.
    pub fn name_parts(&self) -> Option<(Option<String>, Option<String>)> {
        let name = self.0.get("name")?.as_object()?;
        let part = |k: &str| name.get(k).and_then(Value::as_str).map(str::to_string);
        Some((part("givenName"), part("familyName")))
    }
}
