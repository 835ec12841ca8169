//! Injected time, so CloudTrail timestamps, STS expiry and SigV4 skew checks are testable.

use std::sync::Mutex;
use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Formats an instant as AWS's ISO-8601 form without fractions: `2026-11-23T19:03:04Z`.
pub fn iso8601(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses AWS's ISO-8601 forms (`2026-11-23T19:03:04Z`, with or without
/// fractions or an offset), as UTC. A time that has no UTC form within the
/// years 1 to 9999 (`9999-12-31T23:59:59-23:59`) is not a time: formatting it
/// would fail.
pub fn parse_iso8601(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()?
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|t| (1..=9999).contains(&t.year()))
}

/// ISO 8601 with milliseconds, `2026-11-23T19:03:04.000Z`, as S3's XML and
/// GuardDuty's findings write times.
pub fn iso8601_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The Java-style date CloudTrail uses inside IAM and STS `responseElements`:
/// `Nov 23, 2026, 7:03:04 PM`.
pub fn cloudtrail_java_date(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(time::UtcOffset::UTC);
    let month = MONTHS
        .get(usize::from(u8::from(t.month())).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    let (hour12, meridiem) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{month} {}, {}, {hour12}:{:02}:{:02} {meridiem}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_without_a_utc_form_are_not_times() {
        assert!(parse_iso8601("9999-12-31T23:59:59-23:59").is_none());
        assert!(parse_iso8601("0000-01-01T00:00:00+23:59").is_none());
        let t = parse_iso8601("2026-11-23T20:03:04+01:00").unwrap();
        assert_eq!(iso8601(t), "2026-11-23T19:03:04Z");
    }
    use time::macros::datetime;

    #[test]
    fn formats_match_aws() {
        let t = datetime!(2026-11-23 19:03:04 UTC);
        assert_eq!(iso8601(t), "2026-11-23T19:03:04Z");
        assert_eq!(cloudtrail_java_date(t), "Nov 23, 2026, 7:03:04 PM");
        assert_eq!(
            cloudtrail_java_date(datetime!(2026-01-02 00:05:09 UTC)),
            "Jan 2, 2026, 12:05:09 AM"
        );
        assert_eq!(parse_iso8601("2026-11-23T19:03:04Z"), Some(t));
    }

    #[test]
    fn fixed_clock_advances() {
        let c = FixedClock::new(datetime!(2026-11-23 19:03:04 UTC));
        c.advance(time::Duration::seconds(61));
        assert_eq!(iso8601(c.now()), "2026-11-23T19:04:05Z");
    }
}
