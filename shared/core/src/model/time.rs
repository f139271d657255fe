//! Checked time arithmetic. Durations come from input (`durationHours`), catalog items and settings; a sum that
//! leaves chrono's range must become an error the caller can report, never a panic in the middle of a step.

use chrono::TimeDelta;

use super::Timestamp;
use crate::{Error, Result};

/// The longest access a request may ask for: 5 years (43,800 hours). It bounds `durationHours` at submit and
/// extend and a catalog item's `maxDurationHours`, so every expiry stays a four-digit-year RFC 3339 time.
pub const MAX_DURATION_HOURS: u32 = 43_800;

/// `at + by`; an `Internal` error naming `what` when the result is out of range.
pub fn plus(at: Timestamp, by: TimeDelta, what: &str) -> Result<Timestamp> {
    at.checked_add_signed(by)
        .ok_or_else(|| Error::Internal(format!("{what} is out of the representable time range")))
}

/// `at - by`; an `Internal` error naming `what` when the result is out of range.
pub fn minus(at: Timestamp, by: TimeDelta, what: &str) -> Result<Timestamp> {
    at.checked_sub_signed(by)
        .ok_or_else(|| Error::Internal(format!("{what} is out of the representable time range")))
}

/// `n` hours; an `Internal` error naming `what` when that is not a representable duration.
pub fn hours(n: impl Into<i64>, what: &str) -> Result<TimeDelta> {
    TimeDelta::try_hours(n.into())
        .ok_or_else(|| Error::Internal(format!("{what} is out of the representable time range")))
}

/// `n` days; an `Internal` error naming `what` when that is not a representable duration.
pub fn days(n: impl Into<i64>, what: &str) -> Result<TimeDelta> {
    TimeDelta::try_days(n.into())
        .ok_or_else(|| Error::Internal(format!("{what} is out of the representable time range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_sums_are_errors_not_panics() {
        let now = Timestamp::MAX_UTC;
        assert!(plus(now, TimeDelta::hours(1), "expiry").is_err());
        assert!(minus(Timestamp::MIN_UTC, TimeDelta::hours(1), "cutoff").is_err());
        assert!(hours(i64::MAX, "grace").is_err());
        assert!(days(i64::MAX, "grace").is_err());
        let start = chrono::DateTime::UNIX_EPOCH;
        let end = plus(
            start,
            hours(MAX_DURATION_HOURS, "expiry").unwrap(),
            "expiry",
        )
        .unwrap();
        assert_eq!(end.to_rfc3339(), "1974-12-31T00:00:00+00:00");
    }
}
