//! The list filter language (PocketBase's syntax: `name ~ "eng" && settings.max_members > 5`),
//! parsed once into a typed [`Expr`] that storage compiles to parameterised SQL.
//!
//! The parser knows nothing of which fields exist or what type they are: that is the
//! compiler's whitelist, so the same expression can be checked against any resource.

mod parser;
#[cfg(test)]
mod tests;

use crate::error::Error;
use std::fmt;
use time::{Date, Month, OffsetDateTime};

pub use parser::parse;

/// Longest filter accepted, in bytes; a list URL has no business carrying more.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses accepted; it bounds the parser's recursion.
pub const MAX_DEPTH: usize = 32;

/// A filter: comparisons joined by `&&` and `||`. Parentheses only shape the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Comparison),
}

/// `left op right`; either side may be the field, PocketBase allows both.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub left: Operand,
    pub op: Op,
    pub right: Operand,
}

/// One side of a comparison. A `Field` from [`parse`] is never `true`, `false` or `null`:
/// those words are the literals.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A dotted path such as `settings.max_members`.
    Field(String),
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    Null,
    Macro(DateMacro),
}

/// The comparison operators; the `Any…` forms are PocketBase's `?`-prefixed ones, true when
/// any element of a multi-valued field matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    NotLike,
    AnyEq,
    AnyNe,
    AnyGt,
    AnyGe,
    AnyLt,
    AnyLe,
    AnyLike,
    AnyNotLike,
}

/// PocketBase's date macros, resolved against the request's clock in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMacro {
    Now,
    TodayStart,
    TodayEnd,
    MonthStart,
    MonthEnd,
    YearStart,
    YearEnd,
}

impl std::str::FromStr for Expr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        parse(s)
    }
}

impl Op {
    pub const ALL: [Op; 16] = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
        Op::Like,
        Op::NotLike,
        Op::AnyEq,
        Op::AnyNe,
        Op::AnyGt,
        Op::AnyGe,
        Op::AnyLt,
        Op::AnyLe,
        Op::AnyLike,
        Op::AnyNotLike,
    ];

    /// The operator as written in a filter.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Like => "~",
            Op::NotLike => "!~",
            Op::AnyEq => "?=",
            Op::AnyNe => "?!=",
            Op::AnyGt => "?>",
            Op::AnyGe => "?>=",
            Op::AnyLt => "?<",
            Op::AnyLe => "?<=",
            Op::AnyLike => "?~",
            Op::AnyNotLike => "?!~",
        }
    }

    /// Whether this is one of the `?` (any-of) forms.
    pub fn is_any(self) -> bool {
        self != self.plain()
    }

    /// The operator without its any-of marker (`?>=` → `>=`).
    pub fn plain(self) -> Op {
        match self {
            Op::AnyEq => Op::Eq,
            Op::AnyNe => Op::Ne,
            Op::AnyGt => Op::Gt,
            Op::AnyGe => Op::Ge,
            Op::AnyLt => Op::Lt,
            Op::AnyLe => Op::Le,
            Op::AnyLike => Op::Like,
            Op::AnyNotLike => Op::NotLike,
            plain => plain,
        }
    }
}

impl DateMacro {
    pub const ALL: [DateMacro; 7] = [
        DateMacro::Now,
        DateMacro::TodayStart,
        DateMacro::TodayEnd,
        DateMacro::MonthStart,
        DateMacro::MonthEnd,
        DateMacro::YearStart,
        DateMacro::YearEnd,
    ];

    /// The macro as written, without its `@`.
    pub fn name(self) -> &'static str {
        match self {
            DateMacro::Now => "now",
            DateMacro::TodayStart => "todayStart",
            DateMacro::TodayEnd => "todayEnd",
            DateMacro::MonthStart => "monthStart",
            DateMacro::MonthEnd => "monthEnd",
            DateMacro::YearStart => "yearStart",
            DateMacro::YearEnd => "yearEnd",
        }
    }

    /// The instant in milliseconds, with `now_ms` as the clock. Ends are the last
    /// millisecond of the period (23:59:59.999), as PocketBase has them.
    pub fn resolve(self, now_ms: i64) -> i64 {
        let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let today = now.date();
        let month_start = Date::from_calendar_date(today.year(), today.month(), 1).unwrap_or(today);
        let next_month = match today.month() {
            Month::December => Date::from_calendar_date(today.year() + 1, Month::January, 1),
            m => Date::from_calendar_date(today.year(), m.next(), 1),
        };
        let year_start = Date::from_calendar_date(today.year(), Month::January, 1).unwrap_or(today);
        let next_year = Date::from_calendar_date(today.year() + 1, Month::January, 1);
        // Only the last day the `time` crate can represent has no "next"; its end is then
        // the end of that day's range, which no stored instant exceeds.
        match self {
            DateMacro::Now => now_ms,
            DateMacro::TodayStart => midnight(today),
            DateMacro::TodayEnd => today.next_day().map_or(i64::MAX, midnight) - 1,
            DateMacro::MonthStart => midnight(month_start),
            DateMacro::MonthEnd => next_month.map_or(i64::MAX, midnight) - 1,
            DateMacro::YearStart => midnight(year_start),
            DateMacro::YearEnd => next_year.map_or(i64::MAX, midnight) - 1,
        }
    }
}

fn midnight(d: Date) -> i64 {
    (d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn invalid(message: String, position: usize) -> Error {
    Error::InvalidFilter { message, position }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl fmt::Display for DateMacro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.name())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(name) => f.write_str(name),
            Operand::Text(s) => {
                // Double quotes, as the PocketBase JS SDK writes them.
                f.write_str("\"")?;
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Operand::Int(n) => write!(f, "{n}"),
            Operand::Real(x) => {
                // Rust prints integral floats without a point (`5`), which would read back
                // as an integer.
                let s = x.to_string();
                if s.contains('.') || !x.is_finite() { f.write_str(&s) } else { write!(f, "{s}.0") }
            }
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::Null => f.write_str("null"),
            Operand::Macro(m) => write!(f, "{m}"),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.left, self.op, self.right)
    }
}

/// Canonical text: parentheses only where the tree needs them, so `parse(&e.to_string())`
/// gives back `e` (the parser builds left-leaning chains; `&&` binds tighter than `||`).
/// Real operands must be finite to read back, and the text may exceed [`MAX_LEN`] even
/// when the original input did not (`a=1` prints as `a = 1`).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp(c) => write!(f, "{c}"),
            Expr::Or(l, r) => {
                write!(f, "{l} || ")?;
                match **r {
                    Expr::Or(..) => write!(f, "({r})"),
                    _ => write!(f, "{r}"),
                }
            }
            Expr::And(l, r) => {
                match **l {
                    Expr::Or(..) => write!(f, "({l})")?,
                    _ => write!(f, "{l}")?,
                }
                f.write_str(" && ")?;
                match **r {
                    Expr::Cmp(_) => write!(f, "{r}"),
                    _ => write!(f, "({r})"),
                }
            }
        }
    }
}
