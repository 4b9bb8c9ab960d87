//! Conditional reads (RFC 9110 §13.1.2): a GET whose `If-None-Match` names the answer's
//! current entity tag is answered `304 Not Modified` with no body, on every surface.
//!
//! Records carry their version as their tag (`"3"`, SCIM's `W/"3"`). A JSON answer without
//! one — a list, a page, a member's effective access — gets a tag made from its bytes, the
//! same on every instance for the same answer, so a client (or a browser's cache) can ask
//! again cheaply and get 304 until anything in the answer changes.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cohort_core::Error;
use std::hash::BuildHasher;

/// The largest answer given a tag from its bytes (larger ones are not buffered to hash).
const HASHED_UP_TO: usize = 8 * 1024 * 1024;

/// What a request asks, read before it is answered: its `If-None-Match` if it is a read.
pub struct Wanted {
    read: bool,
    if_none_match: Option<HeaderValue>,
}

/// Reads the request's method and `If-None-Match`.
pub fn wanted(method: &Method, headers: &HeaderMap) -> Wanted {
    let read = method == Method::GET || method == Method::HEAD;
    Wanted { read, if_none_match: if read { headers.get(header::IF_NONE_MATCH).cloned() } else { None } }
}

/// `res`, with a tag if it is a JSON read that has none, and as 304 if the request already
/// holds that tag.
pub async fn answer(w: Wanted, res: Response) -> Response {
    if !w.read || res.status() != StatusCode::OK {
        return res;
    }
    let res = if res.headers().contains_key(header::ETAG) { res } else { tagged(res).await };
    match (&w.if_none_match, res.headers().get(header::ETAG)) {
        (Some(asked), Some(tag)) if matches(asked, tag) => not_modified(&res),
        _ => res,
    }
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("application/scim+json"))
}

/// A JSON answer with a tag from its bytes (an event stream or other body is left alone).
async fn tagged(res: Response) -> Response {
    if !is_json(&res) {
        return res;
    }
    // Answers are whole in memory (JSON bodies): their size is known. One too large to hash
    // goes out untagged.
    if axum::body::HttpBody::size_hint(res.body()).upper().is_none_or(|n| n > HASHED_UP_TO as u64) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, HASHED_UP_TO).await else {
        // A body that failed while read is spent: say so rather than send it cut short.
        return ApiError::from(Error::unavailable("the answer could not be read")).into_response();
    };
    // A fixed seed: the same bytes give the same tag on every instance. foldhash (already
    // built for hashbrown) hashes a page of JSON several times faster than SipHash. A tag is
    // no security boundary: at worst a collision makes a client keep a copy it already holds,
    // and never shows anyone what they could not read.
    let hash = foldhash::fast::FixedState::with_seed(0x636f_686f_7274).hash_one(&bytes[..]);
    if let Ok(tag) = HeaderValue::from_str(&format!("\"h{hash:016x}\"")) {
        parts.headers.insert(header::ETAG, tag);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether an `If-None-Match` value names `tag`: `*`, or a listed tag equal to it by the weak
/// comparison (`W/"3"` names `"3"`).
fn matches(asked: &HeaderValue, tag: &HeaderValue) -> bool {
    let (Ok(asked), Ok(tag)) = (asked.to_str(), tag.to_str()) else { return false };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let tag = opaque(tag);
    asked.trim() == "*" || asked.split(',').any(|t| opaque(t) == tag)
}

/// 304 with the headers a cache needs to refresh what it holds, and no body.
fn not_modified(res: &Response) -> Response {
    let mut out = Response::new(Body::empty());
    *out.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [header::ETAG, header::CACHE_CONTROL, header::VARY, header::CONTENT_LOCATION, header::EXPIRES] {
        for v in res.headers().get_all(&name) {
            out.headers_mut().append(name.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_any() {
        let tag = HeaderValue::from_static("\"3\"");
        for yes in ["\"3\"", "W/\"3\"", "\"1\", \"3\"", "*", " \"3\" "] {
            assert!(matches(&HeaderValue::from_static(yes), &tag), "{yes}");
        }
        for no in ["\"4\"", "3", "\"33\"", ""] {
            assert!(!matches(&HeaderValue::from_static(no), &tag), "{no}");
        }
        assert!(matches(&HeaderValue::from_static("\"3\""), &HeaderValue::from_static("W/\"3\"")));
    }
}
