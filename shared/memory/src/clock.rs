use provisio_core::model::Timestamp;
use provisio_core::ports::Clock;

use crate::locked::Locked;

/// A clock that moves only when told, so tests can cross SLAs and expiries without sleeping.
#[derive(Debug)]
pub struct ManualClock(Locked<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Locked::new(start))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.with(|now| *now = at);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.0.with(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0.with(|now| *now)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;

    #[test]
    fn moves_only_when_told() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start, "reading the clock must not move it");

        clock.advance(Duration::hours(49));
        assert_eq!(clock.now(), start + Duration::hours(49));

        clock.set(start);
        assert_eq!(clock.now(), start, "set may move the clock backwards");
    }
}
