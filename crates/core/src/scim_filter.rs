//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), parsed into a typed
//! expression that storage compiles to parameterised SQL and that PATCH evaluates against
//! the elements of a multi-valued attribute.
//!
//! ```text
//! userName eq "bjensen" and (emails[type eq "work"].value co "@example.com" or not (active eq false))
//! ```
//!
//! Operators, `and`/`or`/`not` and `true`/`false`/`null` are case-insensitive; attribute
//! names are kept as written and compared case-insensitively by whoever resolves them. `and`
//! binds tighter than `or`. Like the PocketBase filter, the parser knows nothing of which
//! attributes exist: that is the compiler's whitelist.

/// The SCIM core schemas of the resources Cohort serves.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

use crate::error::Error;
use std::fmt;

/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses and brackets accepted; it bounds the recursion.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr pr`: the attribute has a value.
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `emails[type eq "work"]`: some element of the multi-valued attribute matches the inner
    /// filter, whose paths name the element's sub-attributes. `emails[…].value eq "x"` is
    /// read as `emails[… and value eq "x"]`.
    Has(AttrPath, Box<Filter>),
}

/// `[urn:]attr[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN written before the attribute (`urn:ietf:params:scim:schemas:core:2.0:User`).
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn new(attr: &str, sub: Option<&str>) -> Self {
        AttrPath { urn: None, attr: attr.to_string(), sub: sub.map(str::to_string) }
    }

    /// The lower-cased `attr` or `attr.sub`, the form attribute tables are keyed by.
    pub fn key(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{}", self.attr.to_lowercase(), s.to_lowercase()),
            None => self.attr.to_lowercase(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn parse(word: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// The value compared with: JSON's scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(String),
}

/// A PATCH path: `attr[.sub]`, or `attr[filter][.sub]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub urn: Option<String>,
    pub attr: String,
    /// The value filter selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

impl PatchPath {
    /// The lower-cased attribute name.
    pub fn attr_key(&self) -> String {
        self.attr.to_lowercase()
    }

    /// The lower-cased sub-attribute name, if any.
    pub fn sub_key(&self) -> Option<String> {
        self.sub.as_ref().map(|s| s.to_lowercase())
    }
}

/// `sortBy` and `sortOrder` of a list (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortBy {
    pub path: AttrPath,
    pub descending: bool,
}

/// Reads `sortBy` (an attribute path, `urn:` prefix allowed, no value filter) and
/// `sortOrder` (`ascending`, the default, or `descending`, any case); errors are 400
/// validation failures on the parameter.
pub fn parse_sort(by: &str, order: Option<&str>) -> Result<SortBy, Error> {
    let descending = match order.map(str::trim).filter(|o| !o.is_empty()) {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => return Err(Error::validation("sortOrder", format!("sortOrder is ascending or descending, not {o:?}"))),
    };
    let p = parse_path(by).map_err(|e| Error::validation("sortBy", e.to_string()))?;
    if p.filter.is_some() {
        return Err(Error::validation("sortBy", "sortBy names an attribute, without a value filter"));
    }
    Ok(SortBy { path: AttrPath { urn: p.urn, attr: p.attr, sub: p.sub }, descending })
}

fn invalid(message: impl fmt::Display, position: usize) -> Error {
    Error::InvalidFilter { message: format!("{message} at position {position}"), position }
}

/// Parses a filter; errors are [`Error::InvalidFilter`] naming the byte offset.
pub fn parse(input: &str) -> Result<Filter, Error> {
    if input.len() > MAX_LEN {
        return Err(invalid(format!("the filter is longer than {MAX_LEN} bytes"), MAX_LEN));
    }
    let mut p = Parser { s: input, pos: 0, depth: 0 };
    p.ws();
    if p.at_end() {
        return Err(invalid("the filter is empty", 0));
    }
    let f = p.or_expr()?;
    p.ws();
    if !p.at_end() {
        return Err(invalid("expected and, or or the end of the filter", p.pos));
    }
    Ok(f)
}

/// Parses a PATCH path (`members[value eq "usr_1"]`, `name.givenName`,
/// `emails[type eq "work"].value`); errors are [`Error::InvalidFilter`].
pub fn parse_path(input: &str) -> Result<PatchPath, Error> {
    if input.len() > MAX_LEN {
        return Err(invalid(format!("the path is longer than {MAX_LEN} bytes"), MAX_LEN));
    }
    let mut p = Parser { s: input, pos: 0, depth: 0 };
    p.ws();
    let start = p.pos;
    let word = p.word();
    if word.is_empty() {
        return Err(invalid("expected an attribute name", start));
    }
    let path = split_path(word, start)?;
    let mut out = PatchPath { urn: path.urn, attr: path.attr, filter: None, sub: path.sub };
    if p.peek() == Some('[') {
        if out.sub.is_some() {
            return Err(invalid("a value filter follows the attribute, not its sub-attribute", p.pos));
        }
        p.pos += 1;
        p.depth += 1;
        let inner = p.or_expr()?;
        p.ws();
        p.expect(']')?;
        out.filter = Some(inner);
        if p.peek() == Some('.') {
            p.pos += 1;
            let at = p.pos;
            let sub = p.word();
            if !valid_name(sub) {
                return Err(invalid("expected a sub-attribute name after '.'", at));
            }
            out.sub = Some(sub.to_string());
        }
    }
    p.ws();
    if !p.at_end() {
        return Err(invalid("unexpected text after the path", p.pos));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.')
}

/// ATTRNAME: a letter (or `$`, for `$ref`) then letters, digits, `-` and `_`.
fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// `urn:…:attr.sub` → its parts.
fn split_path(word: &str, at: usize) -> Result<AttrPath, Error> {
    let (urn, rest) = match word.rfind(':') {
        Some(i) => (Some(word[..i].to_string()), &word[i + 1..]),
        None => (None, word),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return Err(invalid(format!("{word:?} is not an attribute path"), at));
    }
    Ok(AttrPath { urn, attr: attr.to_string(), sub: sub.map(str::to_string) })
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, c: char) -> Result<(), Error> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(invalid(format!("expected '{c}'"), self.pos))
        }
    }

    /// The run of word characters at the cursor (possibly empty).
    fn word(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_word_char(c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }

    /// Whether the next word is `kw` (any case), consuming it if so.
    fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        let save = self.pos;
        let w = self.word();
        if w.eq_ignore_ascii_case(kw) {
            return true;
        }
        self.pos = save;
        false
    }

    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(invalid(format!("the filter nests deeper than {MAX_DEPTH}"), self.pos)) } else { Ok(()) }
    }

    fn or_expr(&mut self) -> Result<Filter, Error> {
        let mut left = self.and_expr()?;
        while self.keyword("or") {
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, Error> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, Error> {
        self.ws();
        let save = self.pos;
        if self.keyword("not") {
            self.ws();
            if self.peek() == Some('(') {
                self.pos += 1;
                self.deeper()?;
                let inner = self.or_expr()?;
                self.ws();
                self.expect(')')?;
                self.depth -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // An attribute that happens to be called `not`.
            self.pos = save;
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            self.deeper()?;
            let inner = self.or_expr()?;
            self.ws();
            self.expect(')')?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attr_expr()
    }

    fn attr_expr(&mut self) -> Result<Filter, Error> {
        self.ws();
        let start = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(match self.peek() {
                None => invalid("expected an attribute name, found the end of the filter", start),
                Some(c) => invalid(format!("expected an attribute name, found {c:?}"), start),
            });
        }
        let path = split_path(word, start)?;
        if self.peek() == Some('[') {
            if path.sub.is_some() {
                return Err(invalid("a value filter follows the attribute, not its sub-attribute", self.pos));
            }
            self.pos += 1;
            self.deeper()?;
            let inner = self.or_expr()?;
            self.ws();
            self.expect(']')?;
            self.depth -= 1;
            if self.peek() == Some('.') {
                self.pos += 1;
                let at = self.pos;
                let sub = self.word().to_string();
                if !valid_name(&sub) {
                    return Err(invalid("expected a sub-attribute name after '.'", at));
                }
                let leaf = self.operation(AttrPath::new(&sub, None))?;
                return Ok(Filter::Has(path, Box::new(Filter::And(Box::new(inner), Box::new(leaf)))));
            }
            return Ok(Filter::Has(path, Box::new(inner)));
        }
        self.operation(path)
    }

    /// `pr`, or a comparison operator and its value, after `path`.
    fn operation(&mut self, path: AttrPath) -> Result<Filter, Error> {
        self.ws();
        let at = self.pos;
        let op = self.word().to_string();
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(&op) else {
            return Err(if op.is_empty() {
                invalid("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)", at)
            } else {
                invalid(format!("{op:?} is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"), at)
            });
        };
        self.ws();
        let value = self.value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn value(&mut self) -> Result<CompValue, Error> {
        let at = self.pos;
        match self.peek() {
            Some('"') => self.string().map(CompValue::Str),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => {
                let w = self.word();
                if w.eq_ignore_ascii_case("true") {
                    Ok(CompValue::Bool(true))
                } else if w.eq_ignore_ascii_case("false") {
                    Ok(CompValue::Bool(false))
                } else if w.eq_ignore_ascii_case("null") {
                    Ok(CompValue::Null)
                } else {
                    Err(invalid("expected a value: a quoted string, a number, true, false or null", at))
                }
            }
            None => Err(invalid("expected a value, found the end of the filter", at)),
        }
    }

    /// A JSON string, escapes and all.
    fn string(&mut self) -> Result<String, Error> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    let text = &self.s[start..=i];
                    self.pos = i + 1;
                    return serde_json::from_str::<String>(text).map_err(|_| invalid("the string has a bad escape", start));
                }
                _ => i += 1,
            }
        }
        Err(invalid("the string is not closed", start))
    }

    fn number(&mut self) -> Result<CompValue, Error> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.s[start..self.pos];
        if let Ok(i) = text.parse::<i64>() {
            return Ok(CompValue::Int(i));
        }
        match serde_json::from_str::<f64>(text) {
            Ok(x) if x.is_finite() => Ok(CompValue::Real(x)),
            _ => Err(invalid(format!("{text:?} is not a number"), start)),
        }
    }
}

/// Looks up `name` in a JSON object, ignoring case.
pub fn get_ci<'a>(obj: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

impl Filter {
    /// Whether the JSON object `elem` (an element of a multi-valued attribute, or a whole
    /// resource) matches. Text compares case-insensitively; a multi-valued attribute matches
    /// when any of its values does.
    pub fn matches(&self, elem: &serde_json::Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(elem) && b.matches(elem),
            Filter::Or(a, b) => a.matches(elem) || b.matches(elem),
            Filter::Not(a) => !a.matches(elem),
            Filter::Present(p) => values(elem, p).iter().any(|v| match v {
                serde_json::Value::Null => false,
                serde_json::Value::String(s) => !s.is_empty(),
                serde_json::Value::Array(a) => !a.is_empty(),
                _ => true,
            }),
            Filter::Compare(p, op, want) => {
                let found = values(elem, p);
                if *op == CompareOp::Ne {
                    return !found.iter().any(|v| compare(v, CompareOp::Eq, want));
                }
                if *want == CompValue::Null && *op == CompareOp::Eq {
                    return found.iter().all(|v| v.is_null());
                }
                found.iter().any(|v| compare(v, *op, want))
            }
            Filter::Has(p, inner) => {
                values(elem, &AttrPath { urn: None, attr: p.attr.clone(), sub: None }).iter().any(|v| v.is_object() && inner.matches(v))
            }
        }
    }
}

/// The values at `path` in `obj`, arrays flattened.
fn values<'a>(obj: &'a serde_json::Value, path: &AttrPath) -> Vec<&'a serde_json::Value> {
    let mut out = Vec::new();
    let Some(top) = get_ci(obj, &path.attr) else {
        return out;
    };
    let tops: Vec<&serde_json::Value> = match top {
        serde_json::Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for t in tops {
        match &path.sub {
            None => out.push(t),
            Some(s) => match get_ci(t, s) {
                Some(serde_json::Value::Array(a)) => out.extend(a.iter()),
                Some(v) => out.push(v),
                None => {}
            },
        }
    }
    out
}

fn compare(v: &serde_json::Value, op: CompareOp, want: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ord = |o: Option<Ordering>| match op {
        CompareOp::Eq => o == Some(Ordering::Equal),
        CompareOp::Gt => o == Some(Ordering::Greater),
        CompareOp::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => o == Some(Ordering::Less),
        CompareOp::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
        _ => false,
    };
    match (v, want) {
        (serde_json::Value::String(s), CompValue::Str(w)) => {
            let (s, w) = (s.to_lowercase(), w.to_lowercase());
            match op {
                CompareOp::Co => s.contains(&w),
                CompareOp::Sw => s.starts_with(&w),
                CompareOp::Ew => s.ends_with(&w),
                _ => ord(Some(s.cmp(&w))),
            }
        }
        (serde_json::Value::Bool(b), CompValue::Bool(w)) => op == CompareOp::Eq && b == w,
        (serde_json::Value::Number(n), CompValue::Int(w)) => ord(n.as_f64().and_then(|x| x.partial_cmp(&(*w as f64)))),
        (serde_json::Value::Number(n), CompValue::Real(w)) => ord(n.as_f64().and_then(|x| x.partial_cmp(w))),
        (serde_json::Value::Null, CompValue::Null) => op == CompareOp::Eq,
        _ => false,
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(attr: &str) -> AttrPath {
        match attr.split_once('.') {
            Some((a, s)) => AttrPath::new(a, Some(s)),
            None => AttrPath::new(attr, None),
        }
    }

    fn cmp(attr: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare(p(attr), op, v)
    }

    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }

    fn position(input: &str) -> usize {
        match parse(input) {
            Err(Error::InvalidFilter { position, .. }) => position,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn comparisons_and_values() {
        assert_eq!(parse(r#"userName eq "bjensen""#).unwrap(), cmp("userName", CompareOp::Eq, s("bjensen")));
        assert_eq!(parse(r#"userName Eq "a\"b""#).unwrap(), cmp("userName", CompareOp::Eq, s("a\"b")));
        for op in CompareOp::ALL {
            assert_eq!(parse(&format!("title {} \"x\"", op.as_str().to_uppercase())).unwrap(), cmp("title", op, s("x")));
        }
        assert_eq!(parse("active eq TRUE").unwrap(), cmp("active", CompareOp::Eq, CompValue::Bool(true)));
        assert_eq!(parse("x eq null").unwrap(), cmp("x", CompareOp::Eq, CompValue::Null));
        assert_eq!(parse("x gt -5").unwrap(), cmp("x", CompareOp::Gt, CompValue::Int(-5)));
        assert_eq!(parse("x gt 2.5").unwrap(), cmp("x", CompareOp::Gt, CompValue::Real(2.5)));
        assert_eq!(parse("title pr").unwrap(), Filter::Present(p("title")));
        assert_eq!(parse("name.familyName co \"O'Malley\"").unwrap(), cmp("name.familyName", CompareOp::Co, s("O'Malley")));
        let urn = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "B""#).unwrap();
        let Filter::Compare(path, ..) = urn else { panic!() };
        assert_eq!(path.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
        assert_eq!(path.key(), "name.givenname");
    }

    #[test]
    fn logic_precedence_and_grouping() {
        let a = || cmp("a", CompareOp::Eq, s("1"));
        let b = || cmp("b", CompareOp::Eq, s("2"));
        let c = || cmp("c", CompareOp::Eq, s("3"));
        let and = |l: Filter, r: Filter| Filter::And(Box::new(l), Box::new(r));
        let or = |l: Filter, r: Filter| Filter::Or(Box::new(l), Box::new(r));
        assert_eq!(parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap(), or(a(), and(b(), c())));
        assert_eq!(parse(r#"(a eq "1" OR b eq "2") AND c eq "3""#).unwrap(), and(or(a(), b()), c()));
        assert_eq!(parse(r#"not (a eq "1") and b eq "2""#).unwrap(), and(Filter::Not(Box::new(a())), b()));
        assert_eq!(parse(r#"NOT(a eq "1")"#).unwrap(), Filter::Not(Box::new(a())));
    }

    #[test]
    fn value_paths() {
        let work = cmp("type", CompareOp::Eq, s("work"));
        assert_eq!(parse(r#"emails[type eq "work"]"#).unwrap(), Filter::Has(p("emails"), Box::new(work.clone())));
        assert_eq!(
            parse(r#"emails[type eq "work"].value co "@example.com""#).unwrap(),
            Filter::Has(p("emails"), Box::new(Filter::And(Box::new(work), Box::new(cmp("value", CompareOp::Co, s("@example.com"))))))
        );
        let path = parse_path(r#"members[value eq "usr_1"]"#).unwrap();
        assert_eq!((path.attr.as_str(), path.sub.as_deref()), ("members", None));
        assert_eq!(path.filter, Some(cmp("value", CompareOp::Eq, s("usr_1"))));
        let path = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(path.sub.as_deref(), Some("value"));
        let path = parse_path("name.givenName").unwrap();
        assert_eq!((path.attr_key(), path.sub_key()), ("name".into(), Some("givenname".into())));
        assert!(parse_path("").is_err());
        assert!(parse_path("members[value eq").is_err());
        assert!(parse_path("members]").is_err());
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(position(""), 0);
        assert_eq!(position("userName"), 8);
        assert_eq!(position("userName xx \"a\""), 9);
        assert_eq!(position("userName eq"), 11);
        assert_eq!(position("userName eq bjensen"), 12);
        assert_eq!(position(r#"userName eq "open"#), 12);
        assert_eq!(position(r#"(userName eq "a""#), 16);
        assert_eq!(position(r#"userName eq "a" xor b eq "c""#), 16);
        assert_eq!(position(r#"emails[type eq "work""#), 21);
        assert!(parse(&"(".repeat(40)).is_err());
        assert!(parse(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(parse("9abc eq \"x\"").is_err());
        assert!(parse("a.b.c eq \"x\"").is_err());
    }

    #[test]
    fn matching_elements() {
        let email = json!({"value": "Bob@Example.com", "type": "work", "primary": true});
        let yes = [
            r#"type eq "WORK""#,
            r#"value co "example""#,
            r#"value sw "bob""#,
            r#"value ew ".COM""#,
            "primary eq true",
            "value pr",
            r#"not (type eq "home")"#,
            r#"type ne "home""#,
            r#"type eq "home" or primary eq true"#,
            "display eq null",
        ];
        for f in yes {
            assert!(parse(f).unwrap().matches(&email), "{f}");
        }
        for f in [r#"type eq "home""#, "primary eq false", "display pr", r#"value gt "zzz""#] {
            assert!(!parse(f).unwrap().matches(&email), "{f}");
        }
        let user = json!({"emails": [{"value": "a@x", "type": "home"}, {"value": "b@y", "type": "work"}]});
        assert!(parse(r#"emails[type eq "work" and value sw "b"]"#).unwrap().matches(&user));
        assert!(!parse(r#"emails[type eq "work" and value sw "a"]"#).unwrap().matches(&user));
        assert!(parse(r#"emails.value eq "a@x""#).unwrap().matches(&user));
    }
}
