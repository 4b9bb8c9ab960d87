//! The SCIM filter, PATCH path and sort parsers against hostile input: whatever the bytes,
//! they answer a value or an `InvalidFilter`/validation error naming a position inside the
//! input, and never panic, loop or recurse past their depth limit. Inputs are built from the
//! grammar's own tokens (so they reach deep into the parser) mixed with arbitrary text.

use cohort_core::Error;
use cohort_core::scim_filter::{MAX_DEPTH, MAX_LEN, parse, parse_path, parse_sort};
use proptest::prelude::*;

/// Pieces of the filter and path grammar, some of them broken on purpose.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails".to_string()),
        Just("name.givenName".to_string()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:".to_string()),
        Just(" eq ".to_string()),
        Just(" co ".to_string()),
        Just(" pr".to_string()),
        Just(" gt ".to_string()),
        Just(" and ".to_string()),
        Just(" or ".to_string()),
        Just("not ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(".".to_string()),
        Just("\"".to_string()),
        Just("\"a\\\"b\"".to_string()),
        Just("\\".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("-1.5e308".to_string()),
        Just("99999999999999999999".to_string()),
        Just("é".to_string()),
        Just("\u{0}".to_string()),
        "\\PC{0,6}",
    ]
}

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..40).prop_map(|parts| parts.concat())
}

fn position_inside(e: &Error, input: &str) -> bool {
    match e {
        Error::InvalidFilter { position, .. } => *position <= input.len().max(MAX_LEN),
        Error::Validation { .. } => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_filter_parser_answers_any_input(input in hostile()) {
        if let Err(e) = parse(&input) {
            prop_assert!(position_inside(&e, &input), "{e:?} for {input:?}");
        }
    }

    #[test]
    fn the_path_parser_answers_any_input(input in hostile()) {
        if let Err(e) = parse_path(&input) {
            prop_assert!(position_inside(&e, &input), "{e:?} for {input:?}");
        }
    }

    #[test]
    fn the_sort_parser_answers_any_input(by in hostile(), order in proptest::option::of(hostile())) {
        if let Err(e) = parse_sort(&by, order.as_deref()) {
            prop_assert!(position_inside(&e, &by), "{e:?} for {by:?} {order:?}");
        }
    }
}

#[test]
fn nesting_past_the_depth_limit_is_refused_not_recursed() {
    for depth in [MAX_DEPTH + 1, 10_000] {
        let deep = format!("{}userName pr{}", "(".repeat(depth), ")".repeat(depth));
        assert!(matches!(parse(&deep), Err(Error::InvalidFilter { .. })), "depth {depth}");
        let nots = format!("{}userName pr{}", "not (".repeat(depth), ")".repeat(depth));
        assert!(matches!(parse(&nots), Err(Error::InvalidFilter { .. })), "not depth {depth}");
    }
    let within = format!("{}userName pr{}", "(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
    assert!(parse(&within).is_ok());
    let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
    assert!(matches!(parse(&long), Err(Error::InvalidFilter { .. })));
    assert!(matches!(parse_path(&long), Err(Error::InvalidFilter { .. })));
}
