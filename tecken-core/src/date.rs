//! Dates as RFC 3339 text, in UTC, from a [`SystemTime`].
//!
//! Two shapes are written, one per service whose bytes tecken reproduces:
//! [`rfc3339`] (`2024-05-01T12:00:00Z`, whole seconds) for the missing-symbols CSV, and
//! [`rfc3339_micros`] (`2024-05-01T12:00:00.123456+00:00`) for what Django's JSON encoder
//! writes for an aware `datetime` in UTC. Both come from one civil-calendar conversion
//! (Howard Hinnant's `civil_from_days`, exact for the proleptic Gregorian calendar), so no
//! date library is needed. A time before 1970 is written as the epoch: the clocks these
//! dates come from (file times, `SystemTime::now`) are never that old unless broken.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC time split into its calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    micros: u32,
}

impl Civil {
    fn of(t: SystemTime) -> Civil {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Howard Hinnant's civil_from_days: days since 1970-01-01 to (year, month, day),
        // counting in 400-year eras that start on March 1st (so the leap day ends a year).
        let z = (days as i64) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            // Both are small positive numbers by construction (1-12, 1-31).
            month: month as u32,
            day: day as u32,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            micros: d.subsec_micros(),
        }
    }
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let c = Civil::of(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (UTC, microseconds), as Django writes an aware
/// UTC `datetime`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_micros(951_782_400_000_042);
/// assert_eq!(
///     tecken_core::rfc3339_micros(t),
///     "2000-02-29T00:00:00.000042+00:00"
/// );
/// ```
pub fn rfc3339_micros(t: SystemTime) -> String {
    let c = Civil::of(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn both_shapes() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_micros(UNIX_EPOCH),
            "1970-01-01T00:00:00.000000+00:00"
        );
        let t = at(951_782_400 + 3661) + Duration::from_nanos(123_456_789);
        assert_eq!(rfc3339(t), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339_micros(t), "2000-02-29T01:01:01.123456+00:00");
    }

    #[test]
    fn calendar_edges() {
        // Ends of months, leap years by the 4/100/400 rules, and the last second of a day.
        for (secs, want) in [
            (86_399, "1970-01-01T23:59:59Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_078_012_800, "2004-02-29T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (1_704_067_199, "2023-12-31T23:59:59Z"),
            (1_704_067_200, "2024-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(at(secs)), want, "{secs}");
        }
    }

    #[test]
    fn before_the_epoch_is_the_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_micros(t), "1970-01-01T00:00:00.000000+00:00");
    }

    #[test]
    fn the_documented_examples() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
    }
}
