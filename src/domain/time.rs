//! Instants: stored as naive UTC with microsecond precision, shown as RFC 3339.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};

/// The current instant, truncated to what both databases store exactly.
pub fn now_micros() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Parses an RFC 3339 date-time that carries an offset, into naive UTC.
pub fn parse_instant(text: &str) -> Result<NaiveDateTime, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc().trunc_subsecs(6))
        .map_err(|_| {
            format!("expected an RFC 3339 date-time with offset, e.g. 2026-03-01T09:30:00+09:00, got '{text}'")
        })
}

/// Formats naive UTC as RFC 3339 with `Z`, with fractions only when present.
pub fn format_instant(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_utc() {
        let t = parse_instant("2026-03-01T09:30:00+09:00").unwrap();
        assert_eq!(format_instant(t), "2026-03-01T00:30:00Z");
        assert!(parse_instant("2026-03-01T09:30:00").is_err());
        assert!(parse_instant("yesterday").is_err());
    }
}
