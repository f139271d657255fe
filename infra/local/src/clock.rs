//! A clock that runs with wall time plus an offset that `POST /_local/clock/advance` moves forward. Sleepers
//! (ASL Wait states, retry back-off, callback timeouts) wake when it jumps.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use provisio_core::Error;
use tokio::sync::Notify;

/// How far the clock may run ahead of wall time in total: a century, far beyond any SLA, expiry or review
/// period a scenario needs, and far inside chrono's range, so `now()` plus any bounded duration cannot overflow.
pub const MAX_OFFSET_HOURS: i64 = 100 * 366 * 24;

#[derive(Default)]
pub struct VirtualClock {
    offset: Mutex<Duration>,
    advanced: Notify,
}

impl VirtualClock {
    pub fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset();
        // The offset is bounded by MAX_OFFSET_HOURS; the fallback only guards against a clock set near year 262143.
        Utc::now()
            .checked_add_signed(offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves the clock forward by `by` (positive) and answers the new time; refused (`hours`) when the total
    /// offset would pass [`MAX_OFFSET_HOURS`].
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, Error> {
        let refused = || {
            Error::validation(
                "hours",
                format!(
                    "must be positive and keep the clock at most {MAX_OFFSET_HOURS} hours ahead of wall time"
                ),
            )
        };
        if by <= Duration::zero() {
            return Err(refused());
        }
        {
            let mut offset = self.offset();
            let moved = offset
                .checked_add(&by)
                .filter(|o| *o <= Duration::hours(MAX_OFFSET_HOURS))
                .ok_or_else(refused)?;
            *offset = moved;
        }
        self.advanced.notify_waiters();
        Ok(self.now())
    }

    /// Nothing panics while the lock is held, so poisoning cannot happen; should it anyway, the offset (a plain
    /// value, never half-written) is still right, and the clock keeps working instead of failing every caller.
    fn offset(&self) -> MutexGuard<'_, Duration> {
        self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl provisio_core::ports::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        VirtualClock::now(self)
    }
}

#[async_trait]
impl provisio_asl::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        VirtualClock::now(self)
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        loop {
            // Register for the wake-up before reading the time, so an advance in between is not missed.
            let advanced = self.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let left = deadline - VirtualClock::now(self);
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(left) => {}
                _ = advanced => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provisio_asl::Clock as _;
    use std::sync::Arc;

    #[tokio::test]
    async fn advancing_wakes_a_sleeper_long_before_wall_time() {
        let clock = Arc::new(VirtualClock::default());
        let deadline = VirtualClock::now(&clock) + Duration::hours(48);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::hours(49)).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke after the advance")
            .unwrap();
        assert!(VirtualClock::now(&clock) >= deadline);
    }

    #[test]
    fn an_advance_past_the_bound_is_refused_and_the_clock_keeps_working() {
        let clock = VirtualClock::default();
        let before = clock.now();
        for too_far in [
            Duration::hours(MAX_OFFSET_HOURS + 1),
            Duration::MAX,
            Duration::zero(),
            Duration::hours(-1),
        ] {
            assert!(
                matches!(clock.advance(too_far), Err(Error::Validation(ref e)) if e[0].field == "hours")
            );
        }
        clock
            .advance(Duration::hours(MAX_OFFSET_HOURS - 1))
            .unwrap();
        // The total is bounded too: many small advances cannot add up past it.
        assert!(clock.advance(Duration::hours(2)).is_err());
        let now = clock.advance(Duration::hours(1)).unwrap();
        assert!(now - before >= Duration::hours(MAX_OFFSET_HOURS));
        assert!(clock.now() >= now);
    }
}
