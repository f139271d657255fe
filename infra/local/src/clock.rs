//! A clock that runs with wall time plus an offset that `POST /_local/clock/advance` moves forward. Sleepers
//! (ASL Wait states, retry back-off, callback timeouts) wake when it jumps.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

#[derive(Default)]
pub struct VirtualClock {
    offset: Mutex<Duration>,
    advanced: Notify,
}

impl VirtualClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().expect("clock lock")
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
        self.advanced.notify_waiters();
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
        clock.advance(Duration::hours(49));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke after the advance")
            .unwrap();
        assert!(VirtualClock::now(&clock) >= deadline);
    }
}
