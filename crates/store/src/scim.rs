//! SCIM directory sync: its filters compiled to SQL, and the reads it needs.
//!
//! A SCIM filter ([`cohort_core::scim_filter::Filter`]) compiles against an attribute table
//! ([`USER_ATTRS`], [`GROUP_ATTRS`]) built on the list filter's [`Field`]/[`Kind`]: every
//! literal becomes a `?` parameter and the SQL text comes only from the table and fixed
//! fragments. Every comparison is NULL-safe (true or false, never NULL), so `not (…)` means
//! what it says for rows without the attribute. The output runs unchanged on SQLite and
//! PostgreSQL: no `ILIKE`, no casts, `lower()` for case, `replace`/`substr` for exact
//! substrings.
//!
//! Text attributes that SCIM calls case-insensitive (`userName`, `displayName`, emails)
//! compare lower-cased; SQLite's `lower()` folds ASCII only, so on SQLite a non-ASCII letter
//! only matches its own case unless the attribute has a folded column (`username_key`,
//! `email_key`, `name_key`, lower-cased in Rust). `gt`/`lt` on text follow the database's
//! collation, as the list filter's do.

use crate::db::{Conn, Value};
use crate::filter::{Field, Kind};
use crate::params;
use cohort_core::Result;
use cohort_core::error::Error;
use cohort_core::model::{Group, Membership, User};
use cohort_core::scim_filter::{AttrPath, CompValue, CompareOp, Filter, SortBy};

pub use cohort_core::scim_filter::{GROUP_SCHEMA, USER_SCHEMA};

/// An attribute a SCIM filter may name.
#[derive(Debug, Clone, Copy)]
pub enum Attr {
    /// A column; `field.name` is the attribute's lower-cased path (`name.formatted`).
    /// Text compares case-insensitively unless `case_exact`, through `folded` (a column
    /// already lower-cased) when there is one.
    Col { field: Field, case_exact: bool, folded: Option<&'static str> },
    /// A part of the full-name column `sql`: its first word (`first`) or the rest.
    NamePart { name: &'static str, first: bool, sql: &'static str },
    /// A value every element has (`emails.type` is always `work`).
    Const { name: &'static str, value: Const },
    /// A multi-valued complex attribute.
    Multi { name: &'static str, rows: Rows, subs: &'static [Attr] },
}

#[derive(Debug, Clone, Copy)]
pub enum Const {
    Text(&'static str),
    Bool(bool),
}

/// Where a multi-valued attribute's elements are.
#[derive(Debug, Clone, Copy)]
pub enum Rows {
    /// At most one element, on the row itself; it exists while the condition holds.
    Inline(&'static str),
    /// Rows of another table: `SELECT 1 FROM <from> WHERE <tie>`.
    Table { from: &'static str, tie: &'static str },
}

impl Attr {
    fn name(&self) -> &'static str {
        match self {
            Attr::Col { field, .. } => field.name,
            Attr::NamePart { name, .. } | Attr::Const { name, .. } | Attr::Multi { name, .. } => name,
        }
    }
}

const fn text(name: &'static str, sql: &'static str, case_exact: bool, folded: Option<&'static str>) -> Attr {
    Attr::Col { field: Field { name, kind: Kind::Text, sql }, case_exact, folded }
}

const fn col(name: &'static str, kind: Kind, sql: &'static str) -> Attr {
    Attr::Col { field: Field { name, kind, sql }, case_exact: true, folded: None }
}

const USER_EMAIL: &[Attr] = &[
    text("value", "u.email", false, Some("u.email_key")),
    Attr::Const { name: "type", value: Const::Text("work") },
    Attr::Const { name: "primary", value: Const::Bool(true) },
];

const USER_PHOTO: &[Attr] = &[text("value", "u.avatar_url", true, None), Attr::Const { name: "type", value: Const::Text("photo") }];

/// What a filter on `/Users` may name (the table is `users u`).
pub static USER_ATTRS: &[Attr] = &[
    text("id", "u.id", true, None),
    text("externalid", "u.external_id", true, None),
    text("username", "u.username", false, Some("u.username_key")),
    text("displayname", "u.full_name", false, None),
    text("name.formatted", "u.full_name", false, None),
    Attr::NamePart { name: "name.givenname", first: true, sql: "u.full_name" },
    Attr::NamePart { name: "name.familyname", first: false, sql: "u.full_name" },
    col("active", Kind::Bool, "u.active"),
    col("meta.created", Kind::Time, "u.created_at"),
    col("meta.lastmodified", Kind::Time, "u.updated_at"),
    Attr::Const { name: "meta.resourcetype", value: Const::Text("User") },
    Attr::Multi { name: "emails", rows: Rows::Inline("u.email IS NOT NULL"), subs: USER_EMAIL },
    Attr::Multi { name: "photos", rows: Rows::Inline("u.avatar_url IS NOT NULL"), subs: USER_PHOTO },
];

const GROUP_MEMBER: &[Attr] = &[
    text("value", "sm.user_id", true, None),
    text("type", "COALESCE(sd.type, 'User')", true, None),
    text("display", "sd.display", false, None),
];

/// What a filter on `/Groups` may name (the table is `groups g`).
pub static GROUP_ATTRS: &[Attr] = &[
    text("id", "g.id", true, None),
    text("externalid", "g.external_id", true, None),
    text("displayname", "g.name", false, Some("g.name_key")),
    col("meta.created", Kind::Time, "g.created_at"),
    col("meta.lastmodified", Kind::Time, "g.updated_at"),
    Attr::Const { name: "meta.resourcetype", value: Const::Text("Group") },
    Attr::Multi {
        name: "members",
        rows: Rows::Table {
            from: "memberships sm LEFT JOIN scim_member_documents sd ON sd.membership_id = sm.id",
            tie: "sm.group_id = g.id",
        },
        subs: GROUP_MEMBER,
    },
];

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidFilter { message: message.into(), position: 0 }
}

/// Compiles `f` against `attrs` (of the resource whose core schema is `schema`) into a
/// boolean SQL condition and its parameters, in order.
pub fn compile(f: &Filter, schema: &str, attrs: &[Attr]) -> Result<(String, Vec<Value>)> {
    let mut params = Vec::new();
    let sql = node(f, Some(schema), attrs, &mut params)?;
    Ok((sql, params))
}

/// `schema` is `None` inside a value filter, whose paths name sub-attributes.
fn node(f: &Filter, schema: Option<&str>, attrs: &[Attr], params: &mut Vec<Value>) -> Result<String> {
    Ok(match f {
        Filter::And(a, b) => format!("({} AND {})", node(a, schema, attrs, params)?, node(b, schema, attrs, params)?),
        Filter::Or(a, b) => format!("({} OR {})", node(a, schema, attrs, params)?, node(b, schema, attrs, params)?),
        Filter::Not(a) => format!("(NOT {})", node(a, schema, attrs, params)?),
        Filter::Present(p) => match resolve(p, schema, attrs)? {
            (Attr::Multi { rows, .. }, None) => exists(rows, None),
            (Attr::Multi { rows, .. }, Some(sub)) => exists(rows, Some(present(sub)?)),
            (a, _) => present(a)?,
        },
        Filter::Compare(p, op, v) => match resolve(p, schema, attrs)? {
            (Attr::Multi { rows, subs, name }, sub) => {
                // `emails co "x"` compares the elements' `value`.
                let sub = match sub {
                    Some(s) => s,
                    None => lookup("value", subs).ok_or_else(|| invalid(format!("{name} has no value to compare")))?,
                };
                let test = leaf(sub, *op, v, params)?;
                exists(rows, Some(test))
            }
            (a, _) => leaf(a, *op, v, params)?,
        },
        Filter::Has(p, inner) => {
            if schema.is_none() {
                return Err(invalid(format!("{p}[…] cannot be nested in another value filter")));
            }
            match resolve(p, schema, attrs)? {
                (Attr::Multi { rows, subs, .. }, None) => {
                    let test = node(inner, None, subs, params)?;
                    exists(rows, Some(test))
                }
                (a, _) => return Err(invalid(format!("{} is not multi-valued: a value filter [ ] needs one such as emails", a.name()))),
            }
        }
    })
}

fn lookup<'a>(name: &str, attrs: &'a [Attr]) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name() == name)
}

/// The attribute a path names, and the sub-attribute when it names one of a multi-valued
/// attribute's.
fn resolve<'a>(p: &AttrPath, schema: Option<&str>, attrs: &'a [Attr]) -> Result<(&'a Attr, Option<&'a Attr>)> {
    if let Some(urn) = &p.urn
        && !schema.is_some_and(|s| s.eq_ignore_ascii_case(urn))
    {
        return Err(invalid(format!("cannot filter by {p}: attributes of the schema {urn} are not kept")));
    }
    let unknown = || {
        let known: Vec<&str> = attrs.iter().map(|a| a.name()).collect();
        invalid(format!("cannot filter by {p}; filter attributes: {}", known.join(", ")))
    };
    if let Some(a) = lookup(&p.key(), attrs) {
        if let Attr::Multi { .. } = a
            && p.sub.is_some()
        {
            return Err(unknown());
        }
        return Ok((a, None));
    }
    let Some(sub) = &p.sub else {
        return Err(unknown());
    };
    match lookup(&p.attr.to_lowercase(), attrs) {
        Some(m @ Attr::Multi { subs, .. }) => Ok((m, Some(lookup(&sub.to_lowercase(), subs).ok_or_else(unknown)?))),
        _ => Err(unknown()),
    }
}

/// The `ORDER BY` of a list: by the attribute `sort` names (resources without it last,
/// whatever the order), then oldest first; `then` is the oldest-first order.
fn order_by(sort: Option<&SortBy>, schema: &str, attrs: &[Attr], then: &str) -> Result<String> {
    let Some(sort) = sort else { return Ok(then.to_string()) };
    let cannot = |why: &str| Error::validation("sortBy", format!("cannot sort by {}: {why}", sort.path));
    let (attr, sub) = resolve(&sort.path, Some(schema), attrs).map_err(|e| Error::validation("sortBy", e.to_string()))?;
    // A multi-valued attribute sorts by its value (RFC 7644 §3.4.2.3), when it has one column.
    let attr = match (attr, sub) {
        (Attr::Multi { rows: Rows::Inline(_), subs, .. }, None) => lookup("value", subs).ok_or_else(|| cannot("it has no value"))?,
        (Attr::Multi { rows: Rows::Inline(_), .. }, Some(s)) => s,
        (a, _) => a,
    };
    let expr = match attr {
        Attr::Col { field, folded: Some(f), .. } if field.kind == Kind::Text => (*f).to_string(),
        Attr::Col { field, case_exact: false, .. } if field.kind == Kind::Text => format!("lower({})", field.sql),
        Attr::Col { field, .. } => field.sql.to_string(),
        _ => {
            return Err(cannot("sort by userName, displayName, name.formatted, emails, externalId, id, meta.created or meta.lastModified"));
        }
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    Ok(format!("({expr}) IS NULL, {expr} {dir}, {then}"))
}

fn exists(rows: &Rows, test: Option<String>) -> String {
    match (rows, test) {
        (Rows::Inline(cond), None) => format!("({cond})"),
        (Rows::Inline(cond), Some(t)) => format!("({cond} AND {t})"),
        (Rows::Table { from, tie }, None) => format!("EXISTS (SELECT 1 FROM {from} WHERE {tie})"),
        (Rows::Table { from, tie }, Some(t)) => format!("EXISTS (SELECT 1 FROM {from} WHERE {tie} AND {t})"),
    }
}

const TRUE: &str = "1 = 1";
const FALSE: &str = "1 = 0";

fn present(a: &Attr) -> Result<String> {
    Ok(match a {
        Attr::Col { field, .. } if field.kind == Kind::Text => format!("({0} IS NOT NULL AND {0} <> '')", field.sql),
        Attr::Col { field, .. } => format!("({} IS NOT NULL)", field.sql),
        Attr::NamePart { first: true, sql, .. } => format!("({sql} IS NOT NULL AND {sql} <> '')"),
        Attr::NamePart { first: false, sql, .. } => format!("({sql} IS NOT NULL AND {sql} LIKE '% %')"),
        Attr::Const { .. } => TRUE.into(),
        Attr::Multi { rows, .. } => exists(rows, None),
    })
}

/// `term` with LIKE's wildcards and the escape character escaped (`ESCAPE '\'`).
fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn leaf(a: &Attr, op: CompareOp, v: &CompValue, params: &mut Vec<Value>) -> Result<String> {
    match a {
        Attr::Col { field, case_exact, folded } => match field.kind {
            Kind::Text => text_leaf(field, *case_exact, *folded, op, v, params),
            Kind::Bool => bool_leaf(field, op, v, params),
            Kind::Time => time_leaf(field, op, v, params),
            Kind::Int | Kind::TextList => Err(Error::internal(format!("SCIM attribute {} has an unsupported kind", field.name))),
        },
        Attr::NamePart { name, first, sql } => name_leaf(name, *first, sql, op, v, params),
        Attr::Const { name, value } => const_leaf(name, *value, op, v),
        Attr::Multi { name, .. } => Err(invalid(format!("{name} is multi-valued: compare one of its sub-attributes"))),
    }
}

fn null_leaf(name: &str, col: &str, op: CompareOp) -> Result<String> {
    match op {
        CompareOp::Eq => Ok(format!("({col} IS NULL)")),
        CompareOp::Ne => Ok(format!("({col} IS NOT NULL)")),
        _ => Err(invalid(format!("{name} can be compared with null only by eq or ne"))),
    }
}

fn text_leaf(
    field: &Field,
    case_exact: bool,
    folded: Option<&str>,
    op: CompareOp,
    v: &CompValue,
    params: &mut Vec<Value>,
) -> Result<String> {
    let (name, col) = (field.name, field.sql);
    let value = match v {
        CompValue::Str(s) => s,
        CompValue::Null => return null_leaf(name, col, op),
        other => return Err(invalid(format!("{name} is a string: compare it with a quoted string, not {other:?}"))),
    };
    if case_exact {
        let chars = value.chars().count() as i64;
        return Ok(match op {
            CompareOp::Eq => {
                params.push(value.into());
                format!("({col} IS NOT NULL AND {col} = ?)")
            }
            CompareOp::Ne => {
                params.push(value.into());
                format!("({col} IS NULL OR {col} <> ?)")
            }
            CompareOp::Co if value.is_empty() => format!("({col} IS NOT NULL)"),
            CompareOp::Co => {
                params.push(value.into());
                format!("({col} IS NOT NULL AND replace({col}, ?, '') <> {col})")
            }
            CompareOp::Sw => {
                params.extend([Value::Int(chars), value.into()]);
                format!("({col} IS NOT NULL AND substr({col}, 1, ?) = ?)")
            }
            CompareOp::Ew => {
                params.extend([Value::Int(chars), Value::Int(chars), value.into()]);
                format!("({col} IS NOT NULL AND length({col}) >= ? AND substr({col}, length({col}) - ? + 1) = ?)")
            }
            order => {
                params.push(value.into());
                format!("({col} IS NOT NULL AND {col} {} ?)", symbol(order))
            }
        });
    }
    let expr = folded.map_or_else(|| format!("lower({col})"), str::to_string);
    let low = value.to_lowercase();
    let (sql, param) = match op {
        CompareOp::Eq => (format!("({expr} IS NOT NULL AND {expr} = ?)"), low),
        CompareOp::Ne => (format!("({expr} IS NULL OR {expr} <> ?)"), low),
        CompareOp::Co => (format!("({expr} IS NOT NULL AND {expr} LIKE ? ESCAPE '\\')"), format!("%{}%", escape_like(&low))),
        CompareOp::Sw => (format!("({expr} IS NOT NULL AND {expr} LIKE ? ESCAPE '\\')"), format!("{}%", escape_like(&low))),
        CompareOp::Ew => (format!("({expr} IS NOT NULL AND {expr} LIKE ? ESCAPE '\\')"), format!("%{}", escape_like(&low))),
        order => (format!("({expr} IS NOT NULL AND {expr} {} ?)", symbol(order)), low),
    };
    params.push(param.into());
    Ok(sql)
}

fn symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Ne => "<>",
        _ => "=",
    }
}

fn bool_leaf(field: &Field, op: CompareOp, v: &CompValue, params: &mut Vec<Value>) -> Result<String> {
    let (name, col) = (field.name, field.sql);
    let b = match v {
        CompValue::Bool(b) => *b,
        CompValue::Null => return null_leaf(name, col, op),
        other => return Err(invalid(format!("{name} is a boolean: compare it with true or false, not {other:?}"))),
    };
    params.push(b.into());
    match op {
        CompareOp::Eq => Ok(format!("({col} IS NOT NULL AND {col} = ?)")),
        CompareOp::Ne => Ok(format!("({col} IS NULL OR {col} <> ?)")),
        _ => Err(invalid(format!("{name} is a boolean: compare it with eq or ne"))),
    }
}

fn time_leaf(field: &Field, op: CompareOp, v: &CompValue, params: &mut Vec<Value>) -> Result<String> {
    let (name, col) = (field.name, field.sql);
    let ms = match v {
        CompValue::Str(s) => cohort_core::time::parse(s)
            .ok_or_else(|| invalid(format!("{name} is a dateTime, and {s:?} is not one (use 2026-01-15T10:00:00Z)")))?,
        CompValue::Null => return null_leaf(name, col, op),
        other => return Err(invalid(format!("{name} is a dateTime: compare it with a quoted date, not {other:?}"))),
    };
    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        return Err(invalid(format!("{name} is a dateTime: compare it with eq, ne, gt, ge, lt or le")));
    }
    params.push(Value::Int(ms));
    Ok(match op {
        CompareOp::Ne => format!("({col} IS NULL OR {col} <> ?)"),
        other => format!("({col} IS NOT NULL AND {col} {} ?)", symbol(other)),
    })
}

/// `name.givenName` is the full name's first word (all of it when it has one word);
/// `name.familyName` the rest after the first space, absent for one word. Only the
/// comparisons LIKE can answer exactly are offered.
fn name_leaf(name: &str, first: bool, col: &str, op: CompareOp, v: &CompValue, params: &mut Vec<Value>) -> Result<String> {
    let value = match v {
        CompValue::Str(s) => s.to_lowercase(),
        CompValue::Null => {
            let absent = if first { format!("({col} IS NULL OR {col} = '')") } else { format!("({col} IS NULL OR {col} NOT LIKE '% %')") };
            return match op {
                CompareOp::Eq => Ok(absent),
                CompareOp::Ne => Ok(format!("(NOT {absent})")),
                _ => Err(invalid(format!("{name} can be compared with null only by eq or ne"))),
            };
        }
        other => return Err(invalid(format!("{name} is a string: compare it with a quoted string, not {other:?}"))),
    };
    let f = format!("lower({col})");
    let esc = escape_like(&value);
    let eq = |params: &mut Vec<Value>| {
        if first {
            if value.contains(' ') {
                return FALSE.to_string();
            }
            params.extend([Value::from(value.as_str()), Value::from(format!("{esc} %"))]);
            format!("({col} IS NOT NULL AND ({f} = ? OR {f} LIKE ? ESCAPE '\\'))")
        } else {
            params.extend([Value::from(format!("% {esc}")), Value::from(format!("% % {esc}"))]);
            format!("({col} IS NOT NULL AND {f} LIKE ? ESCAPE '\\' AND {f} NOT LIKE ? ESCAPE '\\')")
        }
    };
    match (op, first) {
        (CompareOp::Eq, _) => Ok(eq(params)),
        (CompareOp::Ne, _) => Ok(format!("(NOT {})", eq(params))),
        (CompareOp::Sw, true) if value.contains(' ') => Ok(FALSE.into()),
        (CompareOp::Sw, true) => {
            params.push(format!("{esc}%").into());
            Ok(format!("({col} IS NOT NULL AND {f} LIKE ? ESCAPE '\\')"))
        }
        (CompareOp::Ew, false) => {
            params.push(format!("% %{esc}").into());
            Ok(format!("({col} IS NOT NULL AND {f} LIKE ? ESCAPE '\\')"))
        }
        (_, true) => Err(invalid(format!("{name} is compared with eq, ne, sw or pr (Cohort keeps one full name)"))),
        (_, false) => Err(invalid(format!("{name} is compared with eq, ne, ew or pr (Cohort keeps one full name)"))),
    }
}

fn const_leaf(name: &str, c: Const, op: CompareOp, v: &CompValue) -> Result<String> {
    let hit = match (c, v) {
        (Const::Text(t), CompValue::Str(s)) => {
            let (t, s) = (t.to_lowercase(), s.to_lowercase());
            match op {
                CompareOp::Eq => t == s,
                CompareOp::Ne => t != s,
                CompareOp::Co => t.contains(&s),
                CompareOp::Sw => t.starts_with(&s),
                CompareOp::Ew => t.ends_with(&s),
                CompareOp::Gt => t > s,
                CompareOp::Ge => t >= s,
                CompareOp::Lt => t < s,
                CompareOp::Le => t <= s,
            }
        }
        (Const::Bool(b), CompValue::Bool(w)) => match op {
            CompareOp::Eq => b == *w,
            CompareOp::Ne => b != *w,
            _ => return Err(invalid(format!("{name} is a boolean: compare it with eq or ne"))),
        },
        (_, CompValue::Null) => match op {
            CompareOp::Eq => false,
            CompareOp::Ne => true,
            _ => return Err(invalid(format!("{name} can be compared with null only by eq or ne"))),
        },
        (Const::Text(_), other) => return Err(invalid(format!("{name} is a string: compare it with a quoted string, not {other:?}"))),
        (Const::Bool(_), other) => return Err(invalid(format!("{name} is a boolean: compare it with true or false, not {other:?}"))),
    };
    Ok(if hit { TRUE } else { FALSE }.into())
}

/// The users a SCIM caller reaches, as a condition on `users u`: every user for the whole
/// site (`None`); for a space's scim key, never a site administrator or a moderator of
/// another space; of the rest, those the space provisioned, and those with memberships that
/// all lie in the space. Anyone else does not exist for the key.
fn reach(space_id: Option<&str>) -> (String, Vec<Value>) {
    let Some(space_id) = space_id else { return ("1 = 1".to_string(), Vec::new()) };
    let sql = "u.site_role = 'user' \
        AND NOT EXISTS (SELECT 1 FROM space_moderators sm WHERE sm.user_id = u.id AND sm.space_id <> ?) \
        AND (u.scim_space_id = ? \
             OR (EXISTS (SELECT 1 FROM memberships rm WHERE rm.user_id = u.id) \
                 AND NOT EXISTS (SELECT 1 FROM memberships rm JOIN groups rg ON rg.id = rm.group_id WHERE rm.user_id = u.id AND rg.space_id <> ?)))";
    (sql.to_string(), vec![space_id.into(), space_id.into(), space_id.into()])
}

/// Whether the SCIM caller held to `space_id` (`None`: the site) reaches user `user_id`.
pub async fn reaches_user(c: &Conn, space_id: Option<&str>, user_id: &str) -> Result<bool> {
    let (cond, mut args) = reach(space_id);
    args.insert(0, user_id.into());
    Ok(c.query_opt(&format!("SELECT 1 FROM users u WHERE u.id = ? AND {cond}"), &args).await?.is_some())
}

/// Which of `ids` the SCIM caller held to `space_id` (`None`: the site) reaches.
pub async fn reached_users(c: &Conn, space_id: Option<&str>, ids: &[String]) -> Result<Vec<String>> {
    let (cond, reach_args) = reach(space_id);
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut args: Vec<Value> = chunk.iter().map(Value::from).collect();
        args.extend(reach_args.iter().cloned());
        for r in c.query(&format!("SELECT u.id FROM users u WHERE u.id IN ({marks}) AND {cond}"), &args).await? {
            out.push(r.get(0)?);
        }
    }
    Ok(out)
}

/// The users the SCIM caller held to `space_id` (`None`: the site) reaches that match
/// `filter`, oldest first: the total and the page from `offset`.
pub async fn list_users(
    c: &Conn,
    filter: Option<&Filter>,
    sort: Option<&SortBy>,
    space_id: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<User>)> {
    let order = order_by(sort, USER_SCHEMA, USER_ATTRS, "u.created_at, u.id")?;
    let (reach_sql, reach_args) = reach(space_id);
    let mut clauses: Vec<String> = vec![reach_sql];
    let mut args: Vec<Value> = reach_args;
    if let Some(f) = filter {
        let (sql, filter_args) = compile(f, USER_SCHEMA, USER_ATTRS)?;
        clauses.push(sql);
        args.extend(filter_args);
    }
    let where_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM users u {where_sql}"), &args).await?.get(0)?;
    if limit <= 0 {
        return Ok((total, Vec::new()));
    }
    args.extend([Value::Int(limit), Value::Int(offset)]);
    let rows = c.query(&format!("SELECT {} FROM users u {where_sql} ORDER BY {order} LIMIT ? OFFSET ?", crate::users::COLS), &args).await?;
    Ok((total, rows.iter().map(|r| crate::users::from_row(r, 0)).collect::<Result<_, _>>()?))
}

/// Groups of a space (`None`: of every space) matching `filter`, oldest first: the total
/// and the page from `offset`.
pub async fn list_groups(
    c: &Conn,
    space_id: Option<&str>,
    filter: Option<&Filter>,
    sort: Option<&SortBy>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Group>)> {
    let order = order_by(sort, GROUP_SCHEMA, GROUP_ATTRS, "g.created_at, g.id")?;
    let (mut clauses, mut args) = in_space(space_id);
    if let Some(f) = filter {
        let (sql, filter_args) = compile(f, GROUP_SCHEMA, GROUP_ATTRS)?;
        clauses.push(sql);
        args.extend(filter_args);
    }
    let where_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM groups g {where_sql}"), &args).await?.get(0)?;
    if limit <= 0 {
        return Ok((total, Vec::new()));
    }
    args.extend([Value::Int(limit), Value::Int(offset)]);
    let rows =
        c.query(&format!("SELECT {} FROM groups g {where_sql} ORDER BY {order} LIMIT ? OFFSET ?", crate::groups::COLS), &args).await?;
    Ok((total, rows.iter().map(|r| crate::groups::from_row(r, 0)).collect::<Result<_, _>>()?))
}

pub use cohort_core::model::MemberRef;

/// The condition that keeps `groups g` to a space (none for the whole site), and its arguments.
fn in_space(space_id: Option<&str>) -> (Vec<String>, Vec<Value>) {
    match space_id {
        Some(s) => (vec!["g.space_id = ?".to_string()], vec![s.into()]),
        None => (Vec::new(), Vec::new()),
    }
}

/// The members (every status) of those of these groups that belong to `space_id` (`None`:
/// to any space), oldest first per group.
pub async fn members_of(c: &Conn, space_id: Option<&str>, group_ids: &[String]) -> Result<Vec<MemberRef>> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let (mut clauses, mut args) = in_space(space_id);
        clauses.push(format!("m.group_id IN ({marks})"));
        args.extend(chunk.iter().map(Value::from));
        let sql = format!(
            "SELECT m.group_id, m.user_id, d.type, d.display FROM memberships m JOIN groups g ON g.id = m.group_id \
             LEFT JOIN scim_member_documents d ON d.membership_id = m.id WHERE {} ORDER BY m.group_id, m.joined_at, m.id",
            clauses.join(" AND ")
        );
        for r in c.query(&sql, &args).await? {
            out.push(MemberRef { group_id: r.get(0)?, user_id: r.get(1)?, kind: r.get(2)?, display: r.get(3)? });
        }
    }
    Ok(out)
}

/// The groups of a space (`None`: of any space) these users are members of (every status):
/// `(user, group, name)`.
pub async fn groups_of(c: &Conn, space_id: Option<&str>, user_ids: &[String]) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let (mut clauses, mut args) = in_space(space_id);
        clauses.push(format!("m.user_id IN ({marks})"));
        args.extend(chunk.iter().map(Value::from));
        let sql = format!(
            "SELECT m.user_id, g.id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id \
             WHERE {} ORDER BY m.user_id, g.name_key, g.id",
            clauses.join(" AND ")
        );
        for r in c.query(&sql, &args).await? {
            out.push((r.get(0)?, r.get(1)?, r.get(2)?));
        }
    }
    Ok(out)
}

/// Every membership of a group (any status).
pub async fn memberships(c: &Conn, group_id: &str) -> Result<Vec<Membership>> {
    let rows = c
        .query(
            &format!("SELECT {} FROM memberships m WHERE m.group_id = ? ORDER BY m.joined_at, m.id", crate::members::COLS),
            &params![group_id],
        )
        .await?;
    Ok(rows.iter().map(|r| crate::members::from_row(r, 0)).collect::<Result<_, _>>()?)
}

/// The audit events about `target_id` with one of `actions`, newest first: `(action, after)`.
pub async fn events(c: &Conn, target_id: &str, actions: &[&str]) -> Result<Vec<(String, Option<serde_json::Value>)>> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; actions.len()].join(", ");
    let mut args: Vec<Value> = vec![target_id.into()];
    args.extend(actions.iter().map(|a| Value::from(*a)));
    let rows = c
        .query(
            &format!("SELECT action, after_json FROM audit_events WHERE target_id = ? AND action IN ({marks}) ORDER BY at DESC, id DESC"),
            &args,
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let after: Option<String> = r.get(1)?;
        out.push((r.get(0)?, after.and_then(|s| serde_json::from_str(&s).ok())));
    }
    Ok(out)
}

/// What SCIM last wrote of these users beyond their columns (see the migration
/// `0011_scim_user_documents`), by user id; users without one are absent.
pub async fn user_documents(c: &Conn, user_ids: &[String]) -> Result<std::collections::HashMap<String, serde_json::Value>> {
    let mut out = std::collections::HashMap::new();
    for chunk in user_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&format!("SELECT user_id, doc FROM scim_user_documents WHERE user_id IN ({marks})"), &args).await? {
            let doc: String = r.get(1)?;
            // A document that does not read is shown as none: the columns still answer.
            if let Ok(v) = serde_json::from_str(&doc) {
                out.insert(r.get(0)?, v);
            }
        }
    }
    Ok(out)
}

/// Keeps (or with `None` forgets) what SCIM wrote of a user beyond their columns.
pub async fn put_user_document(c: &Conn, user_id: &str, doc: Option<&serde_json::Value>) -> Result<()> {
    c.execute("DELETE FROM scim_user_documents WHERE user_id = ?", &params![user_id]).await?;
    if let Some(d) = doc {
        c.execute("INSERT INTO scim_user_documents (user_id, doc) VALUES (?, ?)", &params![user_id, d.to_string()]).await?;
    }
    Ok(())
}

/// Keeps what SCIM wrote of these members beyond their user ids: `(membership, type,
/// display)`, a row with neither forgetting what was kept (see the migration
/// `0012_scim_member_documents`). `fresh` says the memberships were made in this
/// transaction, so nothing is kept of them yet.
pub async fn put_member_documents(c: &Conn, docs: &[(String, Option<String>, Option<String>)], fresh: bool) -> Result<()> {
    use crate::members::{ROWS, marks};
    if !fresh {
        for chunk in docs.chunks(ROWS) {
            let args: Vec<Value> = chunk.iter().map(|(id, _, _)| Value::from(id)).collect();
            let sql = format!("DELETE FROM scim_member_documents WHERE membership_id IN ({})", vec!["?"; chunk.len()].join(", "));
            c.execute(&sql, &args).await?;
        }
    }
    let kept: Vec<_> = docs.iter().filter(|(_, t, d)| t.is_some() || d.is_some()).collect();
    for chunk in kept.chunks(ROWS) {
        let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (id, t, d) in chunk {
            args.extend(params![id.as_str(), t.clone(), d.clone()]);
        }
        let sql = format!("INSERT INTO scim_member_documents (membership_id, type, display) VALUES {}", marks(chunk.len(), 3));
        c.execute(&sql, &args).await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use cohort_core::scim_filter::parse;

    fn users(f: &str) -> (String, Vec<Value>) {
        compile(&parse(f).unwrap(), USER_SCHEMA, USER_ATTRS).unwrap()
    }

    fn rejected(f: &str) -> String {
        match compile(&parse(f).unwrap(), USER_SCHEMA, USER_ATTRS) {
            Err(Error::InvalidFilter { message, .. }) => message,
            other => panic!("{f}: {other:?}"),
        }
    }

    #[test]
    fn values_become_parameters() {
        let (sql, params) = users(r#"userName eq "Bob'; DROP TABLE users; --""#);
        assert_eq!(sql, "(u.username_key IS NOT NULL AND u.username_key = ?)");
        assert_eq!(params, vec![Value::from("bob'; drop table users; --")]);
        let (sql, params) = users(r#"externalId sw "a%_""#);
        assert_eq!(sql, "(u.external_id IS NOT NULL AND substr(u.external_id, 1, ?) = ?)");
        assert_eq!(params, vec![Value::Int(3), Value::from("a%_")]);
        let (sql, params) = users(r#"displayName co "50%""#);
        assert_eq!(sql, "(lower(u.full_name) IS NOT NULL AND lower(u.full_name) LIKE ? ESCAPE '\\')");
        assert_eq!(params, vec![Value::from("%50\\%%")]);
    }

    #[test]
    fn value_paths_and_urns() {
        let (sql, params) = users(r#"emails[type eq "work"].value eq "A@X.io""#);
        assert_eq!(sql, "(u.email IS NOT NULL AND (1 = 1 AND (u.email_key IS NOT NULL AND u.email_key = ?)))");
        assert_eq!(params, vec![Value::from("a@x.io")]);
        assert_eq!(users(r#"emails[type eq "home"]"#).0, "(u.email IS NOT NULL AND 1 = 0)");
        assert_eq!(users(r#"emails co "x""#).1, vec![Value::from("%x%")]);
        assert_eq!(users("urn:ietf:params:scim:schemas:core:2.0:User:active eq true").1, vec![Value::Int(1)]);
        let (sql, _) = compile(&parse(r#"members[value eq "usr_1"]"#).unwrap(), GROUP_SCHEMA, GROUP_ATTRS).unwrap();
        assert_eq!(
            sql,
            "EXISTS (SELECT 1 FROM memberships sm LEFT JOIN scim_member_documents sd ON sd.membership_id = sm.id WHERE sm.group_id = g.id AND (sm.user_id IS NOT NULL AND sm.user_id = ?))"
        );
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(rejected(r#"password eq "x""#).contains("cannot filter by password"));
        assert!(rejected(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x""#).contains("not kept"));
        assert!(rejected(r#"active eq "yes""#).contains("boolean"));
        assert!(rejected("active gt true").contains("eq or ne"));
        assert!(rejected("userName eq 5").contains("quoted string"));
        assert!(rejected(r#"meta.lastModified gt "yesterday""#).contains("dateTime"));
        assert!(rejected(r#"meta.created co "2026""#).contains("dateTime"));
        assert!(rejected(r#"name.familyName co "x""#).contains("eq, ne, ew"));
        assert!(rejected(r#"userName[value eq "x"]"#).contains("not multi-valued"));
        assert!(rejected(r#"emails[value[type eq "x"]]"#).contains("nested"));
        assert!(rejected(r#"emails.nope eq "x""#).contains("cannot filter"));
        assert!(rejected(r#"name eq "x""#).contains("cannot filter"));
    }
}
