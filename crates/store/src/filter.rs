//! Compiles a parsed filter ([`cohort_core::filter::Expr`]) into a SQL condition and its
//! parameters, against the fields a resource lets callers filter by.
//!
//! Every literal becomes a `?` parameter; the SQL text is built only from the whitelist and
//! fixed fragments, so nothing a caller writes reaches the statement itself. The output runs
//! unchanged on SQLite and PostgreSQL: no `ILIKE`, no casts, `lower()` for case.
//!
//! Known differences between the two databases that the compiler cannot hide: `<`/`>` on
//! text follow the column's collation (byte order on SQLite, the locale on PostgreSQL), and
//! SQLite's `lower()` folds ASCII only, so `~` is case-insensitive for ASCII letters alone there.

use crate::db::Value;
use crate::like_pattern;
use cohort_core::error::Error;
use cohort_core::filter::{Comparison, Expr, Op, Operand};

/// What a filterable field holds, which decides the values it may be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text; `~`/`!~` are case-insensitive contains.
    Text,
    /// An integer; integral decimals (`5.0`) are taken too.
    Int,
    /// A boolean stored as 0/1; only `=` and `!=` make sense.
    Bool,
    /// An instant stored as integer milliseconds; compared with dates (RFC 3339 or
    /// PocketBase's `2026-01-15 10:00:00.000Z`) or date macros.
    Time,
    /// A list of text values kept in another table; see [`Field::sql`].
    TextList,
}

impl Kind {
    /// The name the filter metadata gives the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "int",
            Kind::Bool => "bool",
            Kind::Time => "time",
            Kind::TextList => "list",
        }
    }

    /// Whether a field of this kind can be compared with `op`. The compiler asks with the
    /// plain operator (a `?` form on a scalar means that); booleans take `=` and `!=` only.
    pub fn takes(self, op: Op) -> bool {
        match self {
            Kind::Text | Kind::TextList => true,
            Kind::Bool => matches!(op, Op::Eq | Op::Ne),
            Kind::Int | Kind::Time => !matches!(op.plain(), Op::Like | Op::NotLike),
        }
    }
}

/// A field callers may filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name used in filters (`settings.max_members`).
    pub name: &'static str,
    pub kind: Kind,
    /// For scalar kinds, the column expression (`g.max_members`).
    ///
    /// For [`Kind::TextList`], a correlated subquery that selects the row's elements, of
    /// exactly this shape (keywords in upper case, single spaces around them):
    ///
    /// `SELECT <elem> FROM <tables> WHERE <condition tying the elements to the row>`
    ///
    /// e.g. `SELECT gp.permission FROM group_permissions gp WHERE gp.group_id = g.id`.
    /// `<elem>` is one column expression; `<tables>` and `<condition>` must not contain
    /// ` FROM ` or ` WHERE ` of their own, and nothing may follow the condition (no
    /// `ORDER BY`, `LIMIT`). A comparison then compiles to
    /// `EXISTS (SELECT 1 FROM <tables> WHERE (<condition>) AND <elem> OP ?)`, so the
    /// condition keeps its meaning whatever `OR`s it holds. A template of another shape is
    /// a programming error, reported as [`Error::Internal`] when a filter uses the field.
    pub sql: &'static str,
}

/// Compiles `expr` to a boolean SQL fragment and its parameters, in order. `fields` is the
/// whitelist; `now_ms` is the clock the date macros are resolved against (UTC).
///
/// Plain operators on a [`Kind::TextList`] field mean "any element", like the `?` forms;
/// the `?` forms on a scalar field mean the plain operator (as in PocketBase). `= null` on
/// a list means it has no elements. `!=` and `!~` keep rows whose column is NULL, as
/// "not equal to x" reads.
pub fn compile(expr: &Expr, fields: &[Field], now_ms: i64) -> Result<(String, Vec<Value>), Error> {
    let mut params = Vec::new();
    let sql = node(expr, fields, now_ms, &mut params)?;
    Ok((sql, params))
}

fn node(expr: &Expr, fields: &[Field], now_ms: i64, params: &mut Vec<Value>) -> Result<String, Error> {
    Ok(match expr {
        Expr::And(l, r) => format!("({} AND {})", node(l, fields, now_ms, params)?, node(r, fields, now_ms, params)?),
        Expr::Or(l, r) => format!("({} OR {})", node(l, fields, now_ms, params)?, node(r, fields, now_ms, params)?),
        Expr::Cmp(c) => comparison(c, fields, now_ms, params)?,
    })
}

fn invalid(message: String) -> Error {
    // The expression carries no offsets; the message names the field instead.
    Error::InvalidFilter { message, position: 0 }
}

fn lookup<'f>(name: &str, fields: &'f [Field]) -> Result<&'f Field, Error> {
    fields.iter().find(|f| f.name == name).ok_or_else(|| {
        let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
        invalid(format!("cannot filter by {name:?}; filter fields: {}", known.join(", ")))
    })
}

fn comparison(c: &Comparison, fields: &[Field], now_ms: i64, params: &mut Vec<Value>) -> Result<String, Error> {
    let op = c.op.plain();
    let (field, op, value) = match (&c.left, &c.right) {
        (Operand::Field(a), Operand::Field(b)) => {
            return Err(invalid(format!("cannot compare {a} with {b}: compare a field with a value")));
        }
        (Operand::Field(name), value) => (lookup(name, fields)?, op, value),
        (value, Operand::Field(name)) => {
            let flipped = match op {
                Op::Gt => Op::Lt,
                Op::Ge => Op::Le,
                Op::Lt => Op::Gt,
                Op::Le => Op::Ge,
                Op::Like | Op::NotLike => return Err(invalid(format!("put the field {name} on the left of {}", c.op))),
                same => same,
            };
            (lookup(name, fields)?, flipped, value)
        }
        _ => return Err(invalid(format!("{c}: a comparison needs a field on one side"))),
    };
    match field.kind {
        Kind::TextList => list(field, op, value, params),
        kind => scalar(field.name, field.sql, kind, op, value, now_ms, params),
    }
}

/// `op` is plain here; the caller has dropped any `?`.
fn scalar(name: &str, col: &str, kind: Kind, op: Op, value: &Operand, now_ms: i64, params: &mut Vec<Value>) -> Result<String, Error> {
    if *value == Operand::Null {
        return match op {
            Op::Eq => Ok(format!("{col} IS NULL")),
            Op::Ne => Ok(format!("{col} IS NOT NULL")),
            _ => Err(invalid(format!("{name} can be compared with null only by = or !="))),
        };
    }
    if matches!(op, Op::Like | Op::NotLike) {
        let Operand::Text(term) = value else {
            return Err(invalid(format!("{name} {op} needs a quoted string")));
        };
        if !kind.takes(op) {
            return Err(invalid(format!("{op} works on text fields, and {name} is {}", kind_name(kind))));
        }
        params.push(Value::Text(like_pattern(term)));
        return Ok(if op == Op::Like {
            format!("lower({col}) LIKE ? ESCAPE '\\'")
        } else {
            format!("({col} IS NULL OR lower({col}) NOT LIKE ? ESCAPE '\\')")
        });
    }
    if !kind.takes(op) {
        return Err(invalid(format!("{name} is a boolean: compare it with = or !=")));
    }
    params.push(param(name, kind, value, now_ms)?);
    Ok(match op {
        Op::Eq => format!("{col} = ?"),
        Op::Ne => format!("({col} IS NULL OR {col} <> ?)"),
        Op::Gt => format!("{col} > ?"),
        Op::Ge => format!("{col} >= ?"),
        Op::Lt => format!("{col} < ?"),
        Op::Le => format!("{col} <= ?"),
        other => return Err(Error::internal(format!("filter operator {other} reached the scalar compiler"))),
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "an integer",
        Kind::Bool => "a boolean",
        Kind::Time => "a date",
        Kind::TextList => "a list of text",
    }
}

/// The parameter for comparing a `kind` field with `value`; the wrong kind of value is the
/// caller's mistake.
fn param(name: &str, kind: Kind, value: &Operand, now_ms: i64) -> Result<Value, Error> {
    let wrong = |wanted: &str| invalid(format!("{name} is {}: compare it with {wanted}, not {value}", kind_name(kind)));
    match kind {
        Kind::Text | Kind::TextList => match value {
            Operand::Text(s) => Ok(Value::Text(s.clone())),
            _ => Err(wrong("a quoted string")),
        },
        Kind::Int => match value {
            Operand::Int(i) => Ok(Value::Int(*i)),
            // The bounds are exact powers of two, so the range test is exact in f64.
            Operand::Real(x) if x.fract() == 0.0 && *x >= -9.223_372_036_854_776e18 && *x < 9.223_372_036_854_776e18 => {
                Ok(Value::Int(*x as i64))
            }
            _ => Err(wrong("an integer")),
        },
        Kind::Bool => match value {
            Operand::Bool(b) => Ok(Value::from(*b)),
            _ => Err(wrong("true or false")),
        },
        Kind::Time => match value {
            Operand::Macro(m) => Ok(Value::Int(m.resolve(now_ms))),
            Operand::Text(s) => parse_time(s).map(Value::Int).ok_or_else(|| {
                invalid(format!(
                    "{name} is a date, and {value} is not one (use 2026-01-15T10:00:00Z, 2026-01-15 10:00:00.000Z or 2026-01-15)"
                ))
            }),
            _ => Err(wrong("a quoted date or a date macro (@now, @todayStart, …)")),
        },
    }
}

/// RFC 3339, PocketBase's form with a space for the `T`, either without a zone (UTC), or a
/// bare date (its midnight, UTC).
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let t = match s.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &s[..10], &s[11..]),
        Some(_) => s.to_string(),
        None => format!("{s}T00:00:00Z"),
    };
    cohort_core::time::parse(&t).or_else(|| cohort_core::time::parse(&format!("{t}Z")))
}

fn list(field: &Field, op: Op, value: &Operand, params: &mut Vec<Value>) -> Result<String, Error> {
    let (elem, tables, condition) = split_template(field.sql).ok_or_else(|| {
        Error::internal(format!("filter field {}: the list template is not SELECT <elem> FROM <tables> WHERE <condition>", field.name))
    })?;
    let rows = format!("SELECT 1 FROM {tables} WHERE ({condition})");
    if *value == Operand::Null {
        return match op {
            Op::Eq => Ok(format!("NOT EXISTS ({rows})")),
            Op::Ne => Ok(format!("EXISTS ({rows})")),
            _ => Err(invalid(format!("{} can be compared with null only by = or !=", field.name))),
        };
    }
    // The clock is only needed for dates, which list elements are not.
    let test = scalar(field.name, elem, Kind::Text, op, value, 0, params)?;
    Ok(format!("EXISTS ({rows} AND {test})"))
}

/// `SELECT <elem> FROM <tables> WHERE <condition>` → its three parts.
fn split_template(sql: &'static str) -> Option<(&'static str, &'static str, &'static str)> {
    let rest = sql.trim().strip_prefix("SELECT ")?;
    let (elem, rest) = rest.split_once(" FROM ")?;
    let (tables, condition) = rest.split_once(" WHERE ")?;
    let (elem, tables, condition) = (elem.trim(), tables.trim(), condition.trim());
    if elem.is_empty() || tables.is_empty() || condition.is_empty() {
        return None;
    }
    Some((elem, tables, condition))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::Db;
    use cohort_core::filter::parse;

    const FIELDS: &[Field] = &[
        Field { name: "name", kind: Kind::Text, sql: "g.name" },
        Field { name: "settings.max_members", kind: Kind::Int, sql: "g.max_members" },
        Field { name: "access_all", kind: Kind::Bool, sql: "g.access_all" },
        Field { name: "created", kind: Kind::Time, sql: "g.created_at" },
        Field { name: "permissions", kind: Kind::TextList, sql: "SELECT gp.permission FROM group_permissions gp WHERE gp.group_id = g.id" },
    ];

    fn ms(rfc3339: &str) -> i64 {
        cohort_core::time::parse(rfc3339).unwrap()
    }

    fn now() -> i64 {
        ms("2026-01-15T12:00:00Z")
    }

    fn sql(filter: &str) -> (String, Vec<Value>) {
        compile(&parse(filter).unwrap(), FIELDS, now()).unwrap()
    }

    fn one(filter: &str, want_sql: &str, want: Value) {
        assert_eq!(sql(filter), (want_sql.to_string(), vec![want]), "{filter}");
    }

    fn rejected(filter: &str) -> String {
        match compile(&parse(filter).unwrap(), FIELDS, now()) {
            Err(Error::InvalidFilter { message, position: 0 }) => message,
            other => panic!("{filter}: {other:?}"),
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn text_fields() {
        one("name = 'x'", "g.name = ?", text("x"));
        one("name != 'x'", "(g.name IS NULL OR g.name <> ?)", text("x"));
        one("name > 'x'", "g.name > ?", text("x"));
        one("name >= 'x'", "g.name >= ?", text("x"));
        one("name < 'x'", "g.name < ?", text("x"));
        one("name <= 'x'", "g.name <= ?", text("x"));
        one("name ~ 'Eng'", "lower(g.name) LIKE ? ESCAPE '\\'", text("%eng%"));
        one("name !~ 'Eng'", "(g.name IS NULL OR lower(g.name) NOT LIKE ? ESCAPE '\\')", text("%eng%"));
        // Wildcards and the escape character the caller types are literal.
        one(r#"name ~ "50%_off\\""#, "lower(g.name) LIKE ? ESCAPE '\\'", text(r"%50\%\_off\\%"));
        assert_eq!(sql("name = null"), ("g.name IS NULL".into(), vec![]));
        assert_eq!(sql("name != null"), ("g.name IS NOT NULL".into(), vec![]));
        assert!(rejected("name = 5").contains("name is text: compare it with a quoted string"));
        assert!(rejected("name ~ 5").contains("needs a quoted string"));
        assert!(rejected("name > null").contains("only by = or !="));
    }

    #[test]
    fn any_of_forms_on_a_scalar_field_are_the_plain_operator() {
        for op in Op::ALL.into_iter().filter(|op| op.is_any()) {
            let filter = |op: Op| format!("name {op} 'x'");
            assert_eq!(sql(&filter(op)), sql(&filter(op.plain())), "{op}");
        }
    }

    #[test]
    fn int_fields() {
        one("settings.max_members = 5", "g.max_members = ?", Value::Int(5));
        one("settings.max_members != -5", "(g.max_members IS NULL OR g.max_members <> ?)", Value::Int(-5));
        one("settings.max_members >= 5.0", "g.max_members >= ?", Value::Int(5));
        one("settings.max_members ?< 5", "g.max_members < ?", Value::Int(5));
        // A value on the left turns the comparison round.
        one("5 < settings.max_members", "g.max_members > ?", Value::Int(5));
        one("5 >= settings.max_members", "g.max_members <= ?", Value::Int(5));
        one("5 != settings.max_members", "(g.max_members IS NULL OR g.max_members <> ?)", Value::Int(5));
        assert_eq!(sql("settings.max_members = null"), ("g.max_members IS NULL".into(), vec![]));
        assert!(rejected("settings.max_members = 5.5").contains("an integer"));
        assert!(rejected("settings.max_members = 100000000000000000000.0").contains("an integer"));
        assert!(rejected("settings.max_members = '5'").contains("compare it with an integer"));
        assert!(rejected("settings.max_members = true").contains("compare it with an integer"));
        assert!(rejected("settings.max_members ~ 'x'").contains("works on text fields"));
        assert!(rejected("'5' ~ settings.max_members").contains("on the left"));
    }

    #[test]
    fn bool_fields() {
        one("access_all = true", "g.access_all = ?", Value::Int(1));
        one("access_all != false", "(g.access_all IS NULL OR g.access_all <> ?)", Value::Int(0));
        one("false = access_all", "g.access_all = ?", Value::Int(0));
        assert!(rejected("access_all = 1").contains("compare it with true or false"));
        assert!(rejected("access_all > false").contains("compare it with = or !="));
    }

    #[test]
    fn time_fields() {
        let at = ms("2026-01-15T10:00:00Z");
        one("created > '2026-01-15T10:00:00Z'", "g.created_at > ?", Value::Int(at));
        one("created > '2026-01-15T12:00:00+02:00'", "g.created_at > ?", Value::Int(at));
        one("created > \"2026-01-15 10:00:00.000Z\"", "g.created_at > ?", Value::Int(at));
        one("created > '2026-01-15 10:00:00'", "g.created_at > ?", Value::Int(at));
        one("created >= '2026-01-15'", "g.created_at >= ?", Value::Int(ms("2026-01-15T00:00:00Z")));
        one("created <= @now", "g.created_at <= ?", Value::Int(now()));
        one("created >= @todayStart", "g.created_at >= ?", Value::Int(ms("2026-01-15T00:00:00Z")));
        one("created <= @todayEnd", "g.created_at <= ?", Value::Int(ms("2026-01-15T23:59:59.999Z")));
        one("created >= @monthStart", "g.created_at >= ?", Value::Int(ms("2026-01-01T00:00:00Z")));
        one("created <= @monthEnd", "g.created_at <= ?", Value::Int(ms("2026-01-31T23:59:59.999Z")));
        one("created >= @yearStart", "g.created_at >= ?", Value::Int(ms("2026-01-01T00:00:00Z")));
        one("created <= @yearEnd", "g.created_at <= ?", Value::Int(ms("2026-12-31T23:59:59.999Z")));
        assert_eq!(sql("created = null"), ("g.created_at IS NULL".into(), vec![]));
        assert!(rejected("created > 'yesterday'").contains("is not one"));
        assert!(rejected("created > '2026-13-45'").contains("is not one"));
        assert!(rejected("created > 1700000000000").contains("a quoted date or a date macro"));
        assert!(rejected("created ~ '2026'").contains("works on text fields"));
        assert!(rejected("name = @now").contains("compare it with a quoted string"));
    }

    #[test]
    fn list_fields_match_any_element() {
        let rows = "SELECT 1 FROM group_permissions gp WHERE (gp.group_id = g.id)";
        for filter in ["permissions ?= 'read'", "permissions = 'read'", "'read' ?= permissions"] {
            one(filter, &format!("EXISTS ({rows} AND gp.permission = ?)"), text("read"));
        }
        one("permissions ?!= 'read'", &format!("EXISTS ({rows} AND (gp.permission IS NULL OR gp.permission <> ?))"), text("read"));
        one("permissions ?> 'm'", &format!("EXISTS ({rows} AND gp.permission > ?)"), text("m"));
        one("permissions ?~ 'RE'", &format!("EXISTS ({rows} AND lower(gp.permission) LIKE ? ESCAPE '\\')"), text("%re%"));
        one(
            "permissions ?!~ 're'",
            &format!("EXISTS ({rows} AND (gp.permission IS NULL OR lower(gp.permission) NOT LIKE ? ESCAPE '\\'))"),
            text("%re%"),
        );
        assert_eq!(sql("permissions = null"), (format!("NOT EXISTS ({rows})"), vec![]));
        assert_eq!(sql("permissions != null"), (format!("EXISTS ({rows})"), vec![]));
        assert!(rejected("permissions ?= 5").contains("compare it with a quoted string"));
        assert!(rejected("permissions ?> null").contains("only by = or !="));
    }

    #[test]
    fn a_malformed_list_template_is_a_programming_error() {
        let fields = [Field { name: "tags", kind: Kind::TextList, sql: "SELECT tag FROM tags" }];
        let e = compile(&parse("tags ?= 'x'").unwrap(), &fields, 0).unwrap_err();
        assert!(matches!(e, Error::Internal(ref m) if m.contains("tags")), "{e:?}");
    }

    #[test]
    fn and_or_are_parenthesised_and_params_keep_their_order() {
        assert_eq!(
            sql("name = 'a' || name = 'b' && created > @todayStart"),
            (
                "(g.name = ? OR (g.name = ? AND g.created_at > ?))".to_string(),
                vec![text("a"), text("b"), Value::Int(ms("2026-01-15T00:00:00Z"))]
            )
        );
        assert_eq!(
            sql("(access_all = true || settings.max_members > 3) && permissions ?= 'x'").0,
            "((g.access_all = ? OR g.max_members > ?) AND EXISTS (SELECT 1 FROM group_permissions gp WHERE (gp.group_id = g.id) AND gp.permission = ?))"
        );
    }

    #[test]
    fn only_whitelisted_fields() {
        let message = rejected("secret = 'x'");
        assert!(message.contains("\"secret\""), "{message}");
        assert!(message.contains("name, settings.max_members, access_all, created, permissions"), "{message}");
        assert!(rejected("name = 'x' && g.id = 'y'").contains("\"g.id\""));
        assert!(rejected("settings = 5").contains("\"settings\""));
        assert!(rejected("name = created").contains("compare a field with a value"));
        assert!(rejected("1 = 1").contains("needs a field on one side"));
    }

    #[test]
    fn injection_attempts_land_in_params() {
        for attack in ["x'; DROP TABLE groups; --", "' OR '1'='1", "\\' OR 1=1 --", "%' OR name LIKE '%"] {
            let filter = format!("name = {}", Operand::Text(attack.into()));
            let (sql, params) = sql(&filter);
            assert_eq!(sql, "g.name = ?");
            assert_eq!(params, vec![text(attack)]);
        }
        let (sql, params) = sql("name ~ \"'; DELETE FROM groups; --\"");
        assert_eq!(sql, "lower(g.name) LIKE ? ESCAPE '\\'");
        assert_eq!(params, vec![text("%'; delete from groups; --%")]);
    }

    /// Table names for one run, so runs on a shared PostgreSQL never meet.
    fn unique() -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        format!("{}_{nanos}", std::process::id())
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// Makes two tables on `db`, runs every filter, drops the tables; answers the filters
    /// whose rows were not the expected ones.
    async fn selects_the_right_rows(db: &Db) -> Vec<String> {
        let suffix = unique();
        let items = leak(format!("filter_items_{suffix}"));
        let tags = leak(format!("filter_tags_{suffix}"));
        let fields = [
            Field { name: "name", kind: Kind::Text, sql: "i.name" },
            Field { name: "count", kind: Kind::Int, sql: "i.count" },
            Field { name: "active", kind: Kind::Bool, sql: "i.active" },
            Field { name: "created", kind: Kind::Time, sql: "i.created_at" },
            Field { name: "tags", kind: Kind::TextList, sql: leak(format!("SELECT t.tag FROM {tags} t WHERE t.item_id = i.id")) },
        ];
        let tx = db.begin().await.unwrap();
        tx.batch(&format!(
            "CREATE TABLE {items} (id TEXT PRIMARY KEY, name TEXT, count BIGINT, active INTEGER NOT NULL, created_at BIGINT);
             CREATE TABLE {tags} (item_id TEXT NOT NULL, tag TEXT NOT NULL);"
        ))
        .await
        .unwrap();
        // id, name, count, active, created, tags
        type Item = (&'static str, Option<&'static str>, Option<i64>, bool, Option<&'static str>, &'static [&'static str]);
        let rows: [Item; 4] = [
            ("i1", Some("Alpha Team"), Some(5), true, Some("2026-01-10T00:00:00Z"), &["read", "write"]),
            ("i2", Some("beta_squad"), None, false, Some("2026-01-15T10:00:00Z"), &["read"]),
            ("i3", Some("Gamma 100%"), Some(50), true, None, &[]),
            ("i4", None, Some(-3), false, Some("2025-12-31T23:59:59.999Z"), &["admin"]),
        ];
        for (id, name, count, active, created, row_tags) in rows {
            let created = created.map(ms);
            tx.execute(
                &format!("INSERT INTO {items} (id, name, count, active, created_at) VALUES (?, ?, ?, ?, ?)"),
                &crate::params![id, name, count, active, created],
            )
            .await
            .unwrap();
            for tag in row_tags {
                tx.execute(&format!("INSERT INTO {tags} (item_id, tag) VALUES (?, ?)"), &crate::params![id, *tag]).await.unwrap();
            }
        }
        tx.commit().await.unwrap();

        let cases: &[(&str, &[&str])] = &[
            ("name ~ 'ALPHA'", &["i1"]),
            ("name ~ '_'", &["i2"]),
            ("name ~ '%'", &["i3"]),
            ("name !~ 'a'", &["i4"]),
            ("name = 'beta_squad'", &["i2"]),
            ("'beta_squad' = name", &["i2"]),
            ("name != 'beta_squad'", &["i1", "i3", "i4"]),
            ("name = null", &["i4"]),
            ("count > 0", &["i1", "i3"]),
            ("10 < count", &["i3"]),
            ("count >= 5.0 && count < 50", &["i1"]),
            ("count ?<= 5", &["i1", "i4"]),
            ("count = null", &["i2"]),
            ("count != null", &["i1", "i3", "i4"]),
            ("count != 5", &["i2", "i3", "i4"]),
            ("active = true", &["i1", "i3"]),
            ("active != true", &["i2", "i4"]),
            ("created >= @todayStart", &["i2"]),
            ("created < '2026-01-01'", &["i4"]),
            ("created > \"2026-01-10 00:00:00.000Z\"", &["i2"]),
            ("created = '2026-01-10T00:00:00.000Z'", &["i1"]),
            ("created = null", &["i3"]),
            ("created >= @yearStart && created <= @yearEnd", &["i1", "i2"]),
            ("created <= @monthEnd", &["i1", "i2", "i4"]),
            ("tags ?= 'read'", &["i1", "i2"]),
            ("tags = 'write'", &["i1"]),
            ("tags ?~ 'DM'", &["i4"]),
            ("tags ?!= 'read'", &["i1", "i4"]),
            ("tags ?!~ 'e'", &["i4"]),
            ("tags = null", &["i3"]),
            ("tags != null", &["i1", "i2", "i4"]),
            ("(count > 0 || active = false) && name !~ 'gamma'", &["i1", "i2", "i4"]),
            ("tags ?= 'read' && active = false || count < 0", &["i2", "i4"]),
            ("name = \"x'; DROP TABLE filter_items; --\" || name ~ \"' OR 1=1 --\"", &[]),
        ];
        let conn = db.read().await.unwrap();
        let mut wrong = Vec::new();
        for (filter, want) in cases {
            let (cond, params) = compile(&parse(filter).unwrap(), &fields, now()).unwrap();
            let sql = format!("SELECT id FROM {items} i WHERE {cond} ORDER BY id");
            match conn.query(&sql, &params).await {
                Ok(rows) => {
                    let got: Vec<String> = rows.iter().map(|r| r.get(0).unwrap()).collect();
                    if got != *want {
                        wrong.push(format!("{filter}: got {got:?}, want {want:?}"));
                    }
                }
                Err(e) => wrong.push(format!("{filter}: {sql}: {e}")),
            }
        }
        let count: i64 = conn.query_one(&format!("SELECT COUNT(*) FROM {items}"), &[]).await.unwrap().get(0).unwrap();
        if count != 4 {
            wrong.push(format!("{count} rows left"));
        }
        drop(conn);
        let tx = db.begin().await.unwrap();
        tx.batch(&format!("DROP TABLE {tags}; DROP TABLE {items};")).await.unwrap();
        tx.commit().await.unwrap();
        wrong
    }

    #[tokio::test]
    async fn filters_select_the_right_rows_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("cohort-filter-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::sqlite(&dir.join("filter.db")).unwrap();
        let wrong = selects_the_right_rows(&db).await;
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[tokio::test]
    #[cfg_attr(not(postgres_tests), ignore = "needs COHORT_TEST_DATABASE_URL (a PostgreSQL server) when the tests are built")]
    async fn filters_select_the_right_rows_on_postgres() {
        let url = std::env::var("COHORT_TEST_DATABASE_URL").expect("COHORT_TEST_DATABASE_URL is not set: a PostgreSQL test cannot run");
        let db = Db::postgres(&url, 2).unwrap();
        let wrong = selects_the_right_rows(&db).await;
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
