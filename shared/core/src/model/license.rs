use serde::{Deserialize, Serialize};

/// Seats of one license pool. Invariant: `reserved + assigned <= total` at all times, except after an
/// admin shrinks `total` to exactly `assigned` (reservations are never taken away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicensePool {
    pub pool_id: String,
    pub item_id: String,
    pub total: u32,
    pub reserved: u32,
    pub assigned: u32,
    /// Reservations refused because the pool was full: demand the pool could not meet (over-subscription
    /// attempts), counted since the pool was created.
    #[serde(default)]
    pub denied: u32,
}

impl LicensePool {
    pub fn available(&self) -> u32 {
        self.total.saturating_sub(self.reserved + self.assigned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatState {
    Reserved,
    Assigned,
    Released,
}

/// The seat a request (or the holding it became) occupies in one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    pub request_id: String,
    pub pool_id: String,
    pub state: SeatState,
}
