//! Instants as CPS stores and shows them: Unix milliseconds inside, RFC 3339
//! in UTC outside.

use time::format_description::well_known::Rfc3339;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// RFC 3339 in UTC with milliseconds: `2026-12-04T19:26:29.123Z`.
const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats Unix milliseconds as RFC 3339 in UTC.
pub fn format_ms(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .ok()
        .and_then(|moment| moment.format(RFC3339_MILLIS).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 date-time with its offset (`2026-01-31T21:30:00-04:00`)
/// into Unix milliseconds; sub-millisecond digits are dropped.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let moment = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(moment.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_applied() {
        let caracas = parse_rfc3339_ms("2026-01-31T21:30:00-04:00").unwrap();
        assert_eq!(format_ms(caracas), "2026-02-01T01:30:00.000Z");
        assert_eq!(parse_rfc3339_ms(&format_ms(caracas)), Some(caracas));
    }

    #[test]
    fn text_without_offset_is_refused() {
        for text in ["2026-01-31", "2026-01-31T21:30:00", "yesterday", ""] {
            assert_eq!(parse_rfc3339_ms(text), None, "text {text:?}");
        }
    }
}
