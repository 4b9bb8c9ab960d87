//! The SCIM filter, PATCH path and sort parsers on whatever bytes libFuzzer makes: each
//! answers a value or an error naming a position inside what it was given, never a panic,
//! and a filter that parses can be matched against a member without one.
#![no_main]

use cohort_core::Error;
use cohort_core::scim_filter::{MAX_LEN, parse, parse_path, parse_sort};
use libfuzzer_sys::fuzz_target;

fn answered(r: Result<(), Error>, input: &str) {
    match r {
        Ok(()) | Err(Error::Validation { .. }) => {}
        Err(Error::InvalidFilter { position, .. }) => assert!(position <= input.len().max(MAX_LEN), "position {position} for {input:?}"),
        Err(e) => panic!("{e:?} for {input:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let filter = parse(input);
    if let Ok(f) = &filter {
        let member = serde_json::json!({"value": "usr_1", "type": "User", "display": "Ann", "primary": true, "n": 3});
        f.matches(&member);
    }
    answered(filter.map(|_| ()), input);
    answered(parse_path(input).map(|_| ()), input);
    // The sort's attribute and order come from the two halves of the input.
    let (by, order) = input.split_at(input.char_indices().nth(input.chars().count() / 2).map_or(0, |(i, _)| i));
    answered(parse_sort(by, Some(order)).map(|_| ()), by);
});
