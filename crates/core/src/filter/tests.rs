//! Tests of the filter parser: the grammar, its errors and positions, its limits, and
//! properties over random input and random expressions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

fn field(name: &str) -> Operand {
    Operand::Field(name.into())
}

fn cmp(left: Operand, op: Op, right: Operand) -> Expr {
    Expr::Cmp(Comparison { left, op, right })
}

fn and(l: Expr, r: Expr) -> Expr {
    Expr::And(Box::new(l), Box::new(r))
}

fn or(l: Expr, r: Expr) -> Expr {
    Expr::Or(Box::new(l), Box::new(r))
}

/// The error's message and position, or a panic naming what parsed instead.
fn error(input: &str) -> (String, usize) {
    match parse(input) {
        Err(Error::InvalidFilter { message, position }) => (message, position),
        other => panic!("{input:?} gave {other:?}"),
    }
}

#[test]
fn every_operator() {
    for op in Op::ALL {
        for text in [format!("a{}1", op.symbol()), format!("a {} 1", op.symbol())] {
            assert_eq!(parse(&text).unwrap(), cmp(field("a"), op, Operand::Int(1)), "{text}");
        }
    }
    assert!(Op::AnyNotLike.is_any() && !Op::NotLike.is_any());
    assert_eq!(Op::AnyGe.plain(), Op::Ge);
    assert_eq!(Op::Le.plain(), Op::Le);
}

#[test]
fn and_binds_tighter_than_or() {
    let (a, b, c) =
        (cmp(field("a"), Op::Eq, Operand::Int(1)), cmp(field("b"), Op::Eq, Operand::Int(2)), cmp(field("c"), Op::Eq, Operand::Int(3)));
    assert_eq!(parse("a=1 || b=2 && c=3").unwrap(), or(a.clone(), and(b.clone(), c.clone())));
    assert_eq!(parse("a=1 && b=2 || c=3").unwrap(), or(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("(a=1 || b=2) && c=3").unwrap(), and(or(a.clone(), b.clone()), c.clone()));
    // Chains lean left.
    assert_eq!(parse("a=1 && b=2 && c=3").unwrap(), and(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("a=1 || (b=2 || c=3)").unwrap(), or(a.clone(), or(b.clone(), c.clone())));
    assert_eq!(parse("((a=1))").unwrap(), a);
}

#[test]
fn whitespace_anywhere_between_tokens() {
    let want = and(cmp(field("a"), Op::Ge, Operand::Int(1)), cmp(field("b"), Op::Eq, Operand::Bool(true)));
    assert_eq!(parse(" \t\n( a>=1 )&&\r\n( b =true ) \n").unwrap(), want);
    assert_eq!(parse("(a>=1)&&(b=true)").unwrap(), want);
}

#[test]
fn operands() {
    let right = |text: &str| match parse(&format!("x = {text}")).unwrap() {
        Expr::Cmp(c) => c.right,
        other => panic!("{other:?}"),
    };
    assert_eq!(right("settings.max_members"), field("settings.max_members"));
    assert_eq!(right("_a1.b_2"), field("_a1.b_2"));
    assert_eq!(right("true"), Operand::Bool(true));
    assert_eq!(right("false"), Operand::Bool(false));
    assert_eq!(right("null"), Operand::Null);
    // Only the whole path is a keyword.
    assert_eq!(right("nullable"), field("nullable"));
    assert_eq!(right("a.true"), field("a.true"));
    assert_eq!(right("42"), Operand::Int(42));
    assert_eq!(right("-7"), Operand::Int(-7));
    assert_eq!(right("-9223372036854775808"), Operand::Int(i64::MIN));
    assert_eq!(right("2.5"), Operand::Real(2.5));
    assert_eq!(right("-0.25"), Operand::Real(-0.25));
    assert_eq!(right("3.0"), Operand::Real(3.0));
}

#[test]
fn strings_in_both_quote_styles_with_escapes() {
    let text = |input: &str| match parse(&format!("name = {input}")).unwrap() {
        Expr::Cmp(Comparison { right: Operand::Text(s), .. }) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(text(r#""eng""#), "eng");
    assert_eq!(text("'eng'"), "eng");
    assert_eq!(text(r#""""#), "");
    assert_eq!(text(r#""say \"hi\"""#), r#"say "hi""#);
    assert_eq!(text(r"'it\'s'"), "it's");
    assert_eq!(text(r#"'a "quoted" word'"#), r#"a "quoted" word"#);
    assert_eq!(text(r#""it's""#), "it's");
    assert_eq!(text(r#""back\\slash""#), r"back\slash");
    assert_eq!(text(r#"'\"'"#), "\"");
    // Any other escape is kept as written.
    assert_eq!(text(r#""C:\temp\n""#), r"C:\temp\n");
    assert_eq!(text("'snow ☃ && || ( )'"), "snow ☃ && || ( )");
    assert_eq!(text("'; DROP TABLE groups; --'"), "; DROP TABLE groups; --");
}

#[test]
fn literal_on_the_left_and_field_on_both_sides() {
    assert_eq!(parse("5 < count").unwrap(), cmp(Operand::Int(5), Op::Lt, field("count")));
    assert_eq!(parse("created < updated").unwrap(), cmp(field("created"), Op::Lt, field("updated")));
}

#[test]
fn date_macros() {
    for m in DateMacro::ALL {
        assert_eq!(parse(&format!("created >= @{}", m.name())).unwrap(), cmp(field("created"), Op::Ge, Operand::Macro(m)));
    }
}

#[test]
fn date_macros_resolve_in_utc() {
    let now = crate::time::parse("2024-02-10T15:30:45.123Z").unwrap();
    let at = |s: &str| crate::time::parse(s).unwrap();
    assert_eq!(DateMacro::Now.resolve(now), now);
    assert_eq!(DateMacro::TodayStart.resolve(now), at("2024-02-10T00:00:00Z"));
    assert_eq!(DateMacro::TodayEnd.resolve(now), at("2024-02-10T23:59:59.999Z"));
    assert_eq!(DateMacro::MonthStart.resolve(now), at("2024-02-01T00:00:00Z"));
    assert_eq!(DateMacro::MonthEnd.resolve(now), at("2024-02-29T23:59:59.999Z"));
    assert_eq!(DateMacro::YearStart.resolve(now), at("2024-01-01T00:00:00Z"));
    assert_eq!(DateMacro::YearEnd.resolve(now), at("2024-12-31T23:59:59.999Z"));
    let december = at("2025-12-31T23:59:59.999Z");
    assert_eq!(DateMacro::MonthEnd.resolve(december), december);
    assert_eq!(DateMacro::YearEnd.resolve(december), december);
    assert_eq!(DateMacro::TodayStart.resolve(-1), at("1969-12-31T00:00:00Z"));
}

#[test]
fn errors_say_what_was_expected_and_where() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty"),
        ("   ", 3, "empty"),
        ("name", 4, "expected an operator"),
        ("name ! 'x'", 5, "expected an operator"),
        ("name == 'x'", 6, "expected a field"),
        ("name =", 6, "expected a field"),
        ("= 1", 0, "expected a field"),
        ("a = 1 b = 2", 6, "expected &&, || or the end"),
        ("a = 1 & b = 2", 6, "expected &&, || or the end"),
        ("a = 1 | b = 2", 6, "expected &&, || or the end"),
        ("a = 1 &&", 8, "expected a field"),
        ("a = 1 || && b = 2", 9, "expected a field"),
        ("(a = 1", 6, "expected ), && or ||"),
        ("(a = 1 b", 7, "expected ), && or ||"),
        ("a = 1)", 5, "expected &&, || or the end"),
        ("()", 1, "expected a field"),
        ("name = 'abc", 7, "unterminated string"),
        (r#"name = "abc\""#, 7, "unterminated string"),
        (r"name = 'abc\", 7, "unterminated string"),
        ("a. = 1", 2, "expected a field name after ."),
        ("a.b. = 1", 4, "expected a field name after ."),
        ("a = -x", 5, "expected digits"),
        ("a = 1.", 6, "expected digits after the decimal point"),
        ("a = 1.x", 6, "expected digits after the decimal point"),
        ("a = 99999999999999999999", 4, "out of range"),
        ("a = @tomorrow", 4, "unknown date macro @tomorrow"),
        ("a = @", 4, "unknown date macro"),
        ("a = 1abc", 5, "expected &&, || or the end"),
        ("a = 'x' && b = #", 15, "expected a field"),
        ("é = 1", 0, "expected a field"),
        ("a = 'é' && ", 12, "expected a field"),
        ("a = 'x'; DROP TABLE groups; --", 7, "expected &&, || or the end"),
        ("'it''s' = a", 4, "expected an operator"),
    ];
    for &(input, position, wanted) in cases {
        let (message, at) = error(input);
        assert_eq!(at, position, "{input:?}: {message}");
        assert!(message.contains(wanted), "{input:?}: {message:?} should say {wanted:?}");
        assert!(message.ends_with(&format!("at position {position}")), "{input:?}: {message}");
    }
    let (message, _) = error("name ! 'x'");
    assert_eq!(message, "expected an operator (=, !=, >, >=, <, <=, ~, !~, or one of them after ? for any-of) at position 5");
}

#[test]
fn length_limit() {
    let long = format!("name = '{}'", "x".repeat(MAX_LEN - 9));
    assert_eq!(long.len(), MAX_LEN);
    assert!(parse(&long).is_ok());
    let too_long = format!("name = '{}'", "x".repeat(MAX_LEN - 8));
    let (message, position) = error(&too_long);
    assert_eq!(position, MAX_LEN);
    assert!(message.contains("longer than 4096 bytes"), "{message}");
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&nested(MAX_DEPTH)).unwrap(), cmp(field("a"), Op::Eq, Operand::Int(1)));
    let (message, position) = error(&nested(MAX_DEPTH + 1));
    assert_eq!(position, MAX_DEPTH);
    assert!(message.contains("deeper than 32"), "{message}");
    // Deep nesting fails before recursion gets anywhere near the stack's end.
    let (_, position) = error(&"(".repeat(MAX_LEN));
    assert_eq!(position, MAX_DEPTH);
    // Long flat chains are loops, not recursion.
    let chain = vec!["a=1"; 800].join("&&");
    assert!(parse(&chain).is_ok());
}

#[test]
fn display_is_canonical() {
    let cases = [
        ("a=1||b=2&&c=3", "a = 1 || b = 2 && c = 3"),
        ("(a=1||b=2)&&c=3", "(a = 1 || b = 2) && c = 3"),
        ("a=1&&(b=2&&c=3)", "a = 1 && (b = 2 && c = 3)"),
        ("a=1||(b=2||c=3)", "a = 1 || (b = 2 || c = 3)"),
        ("((a=1))", "a = 1"),
        ("x ?!~ 'it\\'s \"q\" \\\\'", r#"x ?!~ "it's \"q\" \\""#),
        ("x=2.0", "x = 2.0"),
        ("x>=@todayStart&&y=null&&z!=false", "x >= @todayStart && y = null && z != false"),
    ];
    for (input, canonical) in cases {
        let e = parse(input).unwrap();
        assert_eq!(e.to_string(), canonical, "{input}");
        assert_eq!(parse(canonical).unwrap(), e, "{canonical}");
        assert_eq!(canonical.parse::<Expr>().unwrap(), e);
    }
}

fn arb_field() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,6}){0,2}"
        .prop_filter("keywords are literals", |s| !matches!(s.as_str(), "true" | "false" | "null"))
}

fn arb_operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        arb_field().prop_map(Operand::Field),
        any::<String>().prop_map(Operand::Text),
        "[\"'\\\\a ]{0,8}".prop_map(Operand::Text),
        any::<i64>().prop_map(Operand::Int),
        (-1e12f64..1e12).prop_map(Operand::Real),
        prop::sample::select(vec![0.0, -0.5, 1e-9, 123456789.0, f64::MAX, f64::MIN_POSITIVE]).prop_map(Operand::Real),
        any::<bool>().prop_map(Operand::Bool),
        Just(Operand::Null),
        prop::sample::select(DateMacro::ALL.to_vec()).prop_map(Operand::Macro),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = (arb_operand(), prop::sample::select(Op::ALL.to_vec()), arb_operand())
        .prop_map(|(left, op, right)| Expr::Cmp(Comparison { left, op, right }));
    leaf.prop_recursive(6, 24, 2, |inner| {
        prop_oneof![(inner.clone(), inner.clone()).prop_map(|(l, r)| and(l, r)), (inner.clone(), inner).prop_map(|(l, r)| or(l, r)),]
    })
}

/// Input that looks like filters, half-finished ones, and attacks on a SQL layer.
fn filterish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(",
        ")",
        "'",
        "\"",
        "\\",
        "&&",
        "||",
        "&",
        "|",
        "=",
        "!=",
        "?=",
        "?!~",
        "~",
        ">=",
        "<",
        "!",
        "?",
        " ",
        "\n",
        "a",
        "name",
        "settings.max_members",
        ".",
        "1",
        "-",
        "2.5",
        "-0",
        "true",
        "null",
        "@now",
        "@",
        "@yearEnd",
        "'x'",
        "\"y\"",
        "'; DROP TABLE groups; --",
        "\" OR 1=1 --",
        "%",
        "_",
        "é",
        "\0",
        "99999999999999999999999",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn is_invalid_filter_within(result: &Result<Expr, Error>, input: &str) -> bool {
    match result {
        Ok(_) => true,
        Err(Error::InvalidFilter { position, .. }) => *position <= input.len().max(MAX_LEN),
        Err(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        prop_assert!(is_invalid_filter_within(&parse(&input), &input));
    }

    #[test]
    fn filter_like_text_never_panics_and_reads_back(input in filterish()) {
        let result = parse(&input);
        prop_assert!(is_invalid_filter_within(&result, &input));
        if let Ok(e) = result {
            prop_assert_eq!(parse(&e.to_string()), Ok(e));
        }
    }

    #[test]
    fn deep_and_unbalanced_parentheses_never_panic(open in 0usize..80, close in 0usize..80, body in filterish()) {
        let input = format!("{}{body}{}", "(".repeat(open), ")".repeat(close));
        prop_assert!(is_invalid_filter_within(&parse(&input), &input));
    }

    #[test]
    fn expressions_round_trip_through_text(expr in arb_expr()) {
        let text = expr.to_string();
        prop_assume!(text.len() <= MAX_LEN);
        prop_assert_eq!(parse(&text), Ok(expr));
    }
}
