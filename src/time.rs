//! Times and durations as this tool writes and reads them, in one place.

use chrono::{DateTime, TimeDelta, Utc};

/// RFC 3339 in UTC to the second, as tags and records store it: `2026-03-01T09:00:00Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The time at the start of `s` (a tag value may carry more words after it).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.split_whitespace().next()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// RFC 3339 in UTC with a `Z` and sub-seconds when present, as used in messages.
pub fn rfc3339_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A duration for people: `2d 3h`, `23h`, `45m`, `30s`.
pub fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds().abs();
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let s = match (days, hours, mins) {
        (0, 0, 0) => format!("{}s", secs),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    };
    if d < TimeDelta::zero() {
        format!("-{s}")
    } else {
        s
    }
}
