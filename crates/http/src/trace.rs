//! Request ids and the access log: every request gets an id (the caller's `X-Request-Id` when
//! it sends a usable one, else a fresh one), returned in `X-Request-Id` and carried by every
//! log line written while the request is answered; and one structured line per request
//! (method, route template, status, latency, request id) under the target `cohort::request`.
//! Neither the path's query nor any header is logged: nothing secret reaches the log.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's request id if it is 1 to 128 visible ASCII characters of an id's alphabet,
/// else a fresh one (a UUIDv7, so ids sort by time).
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&REQUEST_ID)
        && (1..=128).contains(&v.len())
        && v.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return v.clone();
    }
    let mut buf = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("unknown"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_caller_id_is_kept_and_anything_else_replaced() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("req-42.a:b_c"));
        assert_eq!(request_id(&h), "req-42.a:b_c");
        for bad in ["", "has space", "quote\"", &"x".repeat(129)] {
            let mut h = HeaderMap::new();
            h.insert(REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&h);
            assert_eq!(id.len(), 36, "{bad:?} gets a fresh id");
        }
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }
}
