//! The filter parser: winnow combinators for the tokens and a small recursive descent for
//! `||`, `&&` and parentheses, so every failure can say what was expected and where.

use super::{Comparison, DateMacro, Expr, MAX_DEPTH, MAX_LEN, Op, Operand, invalid};
use crate::error::Error;
use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{alt, opt};
use winnow::error::{ErrMode, ParserError};
use winnow::prelude::*;
use winnow::token::{any, one_of, take_till, take_while};

/// Why parsing stopped. It keeps how much input was left rather than an offset, because the
/// token parsers only ever see the rest of the input; [`parse`] turns it into a position.
#[derive(Debug)]
struct Failure {
    rest: usize,
    message: Option<String>,
}

impl<'a> ParserError<&'a str> for Failure {
    type Inner = Self;

    fn from_input(input: &&'a str) -> Self {
        Failure { rest: input.len(), message: None }
    }

    fn into_inner(self) -> Result<Self, Self> {
        Ok(self)
    }
}

type In<'a> = &'a str;
type PResult<T> = ModalResult<T, Failure>;

/// A failure that ends the parse: `at` is the input left where it went wrong.
fn fail<T>(at: &str, message: impl Into<String>) -> PResult<T> {
    Err(ErrMode::Cut(Failure { rest: at.len(), message: Some(message.into()) }))
}

/// Parses a filter. Errors are always [`Error::InvalidFilter`] with the byte offset where
/// parsing failed; empty or blank input is an error (no filter is the caller's `None`).
pub fn parse(input: &str) -> Result<Expr, Error> {
    if input.len() > MAX_LEN {
        return Err(invalid(format!("the filter is longer than {MAX_LEN} bytes"), MAX_LEN));
    }
    let mut rest = input;
    filter(&mut rest).map_err(|e| {
        let failure = match e {
            ErrMode::Backtrack(f) | ErrMode::Cut(f) => f,
            ErrMode::Incomplete(_) => Failure { rest: 0, message: None },
        };
        let position = input.len().saturating_sub(failure.rest);
        let message = failure.message.unwrap_or_else(|| "unexpected input".into());
        invalid(format!("{message} at position {position}"), position)
    })
}

fn filter(i: &mut In) -> PResult<Expr> {
    ws(i)?;
    if i.is_empty() {
        return fail(i, "the filter is empty: expected a comparison");
    }
    let e = or_expr(i, 0)?;
    ws(i)?;
    if !i.is_empty() {
        return fail(i, "expected &&, || or the end of the filter");
    }
    Ok(e)
}

fn ws(i: &mut In) -> PResult<()> {
    multispace0.void().parse_next(i)
}

fn or_expr(i: &mut In, depth: usize) -> PResult<Expr> {
    let mut left = and_expr(i, depth)?;
    while opt((multispace0, "||", multispace0)).parse_next(i)?.is_some() {
        let right = and_expr(i, depth)?;
        left = Expr::Or(Box::new(left), Box::new(right));
    }
    Ok(left)
}

fn and_expr(i: &mut In, depth: usize) -> PResult<Expr> {
    let mut left = primary(i, depth)?;
    while opt((multispace0, "&&", multispace0)).parse_next(i)?.is_some() {
        let right = primary(i, depth)?;
        left = Expr::And(Box::new(left), Box::new(right));
    }
    Ok(left)
}

fn primary(i: &mut In, depth: usize) -> PResult<Expr> {
    let start = *i;
    if opt('(').parse_next(i)?.is_none() {
        return comparison(i).map(Expr::Cmp);
    }
    if depth >= MAX_DEPTH {
        return fail(start, format!("parentheses nest deeper than {MAX_DEPTH} levels"));
    }
    ws(i)?;
    let e = or_expr(i, depth + 1)?;
    ws(i)?;
    if opt(')').parse_next(i)?.is_none() {
        return fail(i, "expected ), && or ||");
    }
    Ok(e)
}

fn comparison(i: &mut In) -> PResult<Comparison> {
    let left = operand(i)?;
    ws(i)?;
    let op = operator(i)?;
    ws(i)?;
    let right = operand(i)?;
    Ok(Comparison { left, op, right })
}

fn operator(i: &mut In) -> PResult<Op> {
    // Longest first, so `?!=` is not read as `?` and `!=`.
    let op = opt(alt((
        "?!=".value(Op::AnyNe),
        "?!~".value(Op::AnyNotLike),
        "?>=".value(Op::AnyGe),
        "?<=".value(Op::AnyLe),
        "?=".value(Op::AnyEq),
        "?>".value(Op::AnyGt),
        "?<".value(Op::AnyLt),
        "?~".value(Op::AnyLike),
        "!=".value(Op::Ne),
        "!~".value(Op::NotLike),
        ">=".value(Op::Ge),
        "<=".value(Op::Le),
        "=".value(Op::Eq),
        ">".value(Op::Gt),
        "<".value(Op::Lt),
        "~".value(Op::Like),
    )))
    .parse_next(i)?;
    match op {
        Some(op) => Ok(op),
        None => fail(i, "expected an operator (=, !=, >, >=, <, <=, ~, !~, or one of them after ? for any-of)"),
    }
}

fn operand(i: &mut In) -> PResult<Operand> {
    match i.chars().next() {
        Some(quote @ ('\'' | '"')) => string(i, quote).map(Operand::Text),
        Some(c) if c == '-' || c.is_ascii_digit() => number(i),
        Some('@') => date_macro(i),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => path(i),
        _ => fail(i, "expected a field, a quoted string, a number, true, false, null or a date macro"),
    }
}

/// A quoted string. `\` escapes the quote characters and itself; before anything else it
/// is kept as written, so Windows paths and regex-looking text survive.
fn string(i: &mut In, quote: char) -> PResult<String> {
    let start = *i;
    any.parse_next(i)?;
    let mut out = String::new();
    let unterminated = |at: &str| fail(at, format!("unterminated string: no closing {quote} for the one"));
    loop {
        out.push_str(take_till(0.., [quote, '\\']).parse_next(i)?);
        match opt(any).parse_next(i)? {
            None => return unterminated(start),
            Some(c) if c == quote => return Ok(out),
            Some(_backslash) => match opt(any).parse_next(i)? {
                Some(c @ ('\'' | '"' | '\\')) => out.push(c),
                Some(c) => {
                    out.push('\\');
                    out.push(c);
                }
                None => return unterminated(start),
            },
        }
    }
}

fn number(i: &mut In) -> PResult<Operand> {
    let start = *i;
    opt('-').parse_next(i)?;
    if opt(digit1).parse_next(i)?.is_none() {
        return fail(i, "expected digits");
    }
    let fraction = opt('.').parse_next(i)?.is_some();
    if fraction && opt(digit1).parse_next(i)?.is_none() {
        return fail(i, "expected digits after the decimal point");
    }
    let text = &start[..start.len() - i.len()];
    let out_of_range = || fail(start, format!("the number {text} is out of range"));
    if fraction {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Operand::Real(x)),
            _ => out_of_range(),
        }
    } else {
        text.parse::<i64>().map(Operand::Int).or_else(|_| out_of_range())
    }
}

fn ident<'a>(i: &mut In<'a>) -> PResult<&'a str> {
    (one_of(|c: char| c.is_ascii_alphabetic() || c == '_'), take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'))
        .take()
        .parse_next(i)
}

fn date_macro(i: &mut In) -> PResult<Operand> {
    let start = *i;
    let name = ('@', take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_')).take().parse_next(i)?;
    match DateMacro::ALL.into_iter().find(|m| name[1..] == *m.name()) {
        Some(m) => Ok(Operand::Macro(m)),
        None => {
            let known: Vec<String> = DateMacro::ALL.iter().map(ToString::to_string).collect();
            fail(start, format!("unknown date macro {name}: expected one of {}", known.join(", ")))
        }
    }
}

fn path(i: &mut In) -> PResult<Operand> {
    let start = *i;
    ident(i)?;
    while opt('.').parse_next(i)?.is_some() {
        if opt(ident).parse_next(i)?.is_none() {
            return fail(i, "expected a field name after .");
        }
    }
    Ok(match &start[..start.len() - i.len()] {
        "true" => Operand::Bool(true),
        "false" => Operand::Bool(false),
        "null" => Operand::Null,
        field => Operand::Field(field.to_string()),
    })
}
