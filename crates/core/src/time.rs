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
    format_with(ms, 'T')
}

/// `2026-01-15 10:00:00.000Z`, the PocketBase form.
pub fn pocketbase(ms: Millis) -> String {
    format_with(ms, ' ')
}

/// Every list answers two timestamps per row, so this writes the digits directly rather than
/// through `time`'s format descriptions (several times slower).
fn format_with(ms: Millis, sep: char) -> String {
    let dt = to_datetime(ms);
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        let out = dt.format(&fmt).unwrap_or_default();
        return if sep == 'T' { out } else { out.replacen('T', &sep.to_string(), 1) };
    }
    let mut out = [0u8; 24];
    let fields = [
        (year as u32, 4, b'-'),
        (u32::from(u8::from(dt.month())), 2, b'-'),
        (u32::from(dt.day()), 2, sep as u8),
        (u32::from(dt.hour()), 2, b':'),
        (u32::from(dt.minute()), 2, b':'),
        (u32::from(dt.second()), 2, b'.'),
        (u32::from(dt.millisecond()), 3, b'Z'),
    ];
    let mut at = 0;
    for (value, width, after) in fields {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out[at + width] = after;
        at += width + 1;
    }
    out.iter().map(|b| char::from(*b)).collect()
}

/// Parses RFC 3339 (any offset, any precision); `None` when it is not one.
pub fn parse(s: &str) -> Option<Millis> {
    let dt = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

pub const SECOND: Millis = 1000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_format_description() {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        for ms in [0, 1, 999, 1_768_471_200_123, 253_402_300_799_999, -1, -86_400_001, 951_782_400_000] {
            assert_eq!(Some(rfc3339(ms)), to_datetime(ms).format(&fmt).ok(), "{ms}");
            assert_eq!(pocketbase(ms), rfc3339(ms).replacen('T', " ", 1));
        }
    }

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse("2026-01-15T10:00:00Z");
        assert_eq!(ms.map(rfc3339).as_deref(), Some("2026-01-15T10:00:00.000Z"));
        assert_eq!(ms.map(pocketbase).as_deref(), Some("2026-01-15 10:00:00.000Z"));
        assert_eq!(parse("2026-01-15T12:00:00.250+02:00").map(rfc3339).as_deref(), Some("2026-01-15T10:00:00.250Z"));
        assert!(parse("yesterday").is_none());
    }
}
