//! Instants as milliseconds since the Unix epoch, and their RFC 3339 text.

use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

pub fn now() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

fn to_datetime(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-01-15T10:00:00.000Z`, the native API's form.
pub fn rfc3339(ms: Millis) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    to_datetime(ms).format(&fmt).unwrap_or_default()
}

/// `2026-01-15 10:00:00.000Z`, the PocketBase form.
pub fn pocketbase(ms: Millis) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]Z");
    to_datetime(ms).format(&fmt).unwrap_or_default()
}

/// Parses RFC 3339 (any offset, any precision); `None` when it is not one.
pub fn parse(s: &str) -> Option<Millis> {
    let dt = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

pub const DAY: Millis = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse("2026-01-15T10:00:00Z");
        assert_eq!(ms.map(rfc3339).as_deref(), Some("2026-01-15T10:00:00.000Z"));
        assert_eq!(ms.map(pocketbase).as_deref(), Some("2026-01-15 10:00:00.000Z"));
        assert_eq!(parse("2026-01-15T12:00:00.250+02:00").map(rfc3339).as_deref(), Some("2026-01-15T10:00:00.250Z"));
        assert!(parse("yesterday").is_none());
    }
}
