use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// RFC 3339 in UTC with milliseconds: `2026-12-04T19:26:29.123Z`.
const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats Unix milliseconds as RFC 3339 in UTC.
pub(crate) fn format_ms(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .ok()
        .and_then(|moment| moment.format(RFC3339_MILLIS).ok())
        .unwrap_or_default()
}
