use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use provisio_core::model::{LicensePool, Seat, SeatState};
use provisio_core::ports::LicenseLedger;
use provisio_core::{Error, Result};

use crate::locked::Locked;

/// Pools and seats under one lock, so a reservation across pools is checked and applied as one step (a
/// DynamoDB transaction in the real adapter).
#[derive(Default)]
pub struct MemoryLicenses(Locked<Ledger>);

#[derive(Default)]
struct Ledger {
    pools: HashMap<String, LicensePool>,
    /// Seat state by request id, then pool id. Released seats stay, as the seat records do in DynamoDB.
    seats: HashMap<String, BTreeMap<String, SeatState>>,
}

impl Ledger {
    fn state(&self, request_id: &str, pool_id: &str) -> Option<SeatState> {
        self.seats.get(request_id)?.get(pool_id).copied()
    }

    fn holds(&self, request_id: &str, pool_id: &str) -> bool {
        matches!(
            self.state(request_id, pool_id),
            Some(SeatState::Reserved | SeatState::Assigned)
        )
    }

    fn has_free_seat(&self, pool_id: &str) -> bool {
        self.pools.get(pool_id).is_some_and(|p| p.available() > 0)
    }

    /// Moves the request's seat in `pool_id` from one of `from` to `to`, keeping the pool counters in step.
    /// Anything else (no seat, or a state outside `from`) is left alone, which makes retries harmless.
    fn move_seat(&mut self, request_id: &str, pool_id: &str, from: &[SeatState], to: SeatState) {
        let Some(state) = self
            .seats
            .get_mut(request_id)
            .and_then(|s| s.get_mut(pool_id))
        else {
            return;
        };
        let Some(pool) = self.pools.get_mut(pool_id) else {
            return;
        };
        if !from.contains(state) {
            return;
        }
        if let Some(count) = counter(pool, *state) {
            *count -= 1;
        }
        if let Some(count) = counter(pool, to) {
            *count += 1;
        }
        *state = to;
    }
}

/// The pool counter a seat in `state` is counted in.
fn counter(pool: &mut LicensePool, state: SeatState) -> Option<&mut u32> {
    match state {
        SeatState::Reserved => Some(&mut pool.reserved),
        SeatState::Assigned => Some(&mut pool.assigned),
        SeatState::Released => None,
    }
}

#[async_trait]
impl LicenseLedger for MemoryLicenses {
    async fn get_pool(&self, pool_id: &str) -> Result<Option<LicensePool>> {
        Ok(self.0.with(|ledger| ledger.pools.get(pool_id).cloned()))
    }

    async fn set_total(&self, pool_id: &str, item_id: &str, total: u32) -> Result<LicensePool> {
        self.0.with(|ledger| {
            let pool = ledger
                .pools
                .entry(pool_id.to_owned())
                .or_insert_with(|| LicensePool {
                    pool_id: pool_id.to_owned(),
                    item_id: item_id.to_owned(),
                    total: 0,
                    reserved: 0,
                    assigned: 0,
                    denied: 0,
                });
            if total < pool.assigned {
                return Err(Error::validation(
                    "total",
                    format!(
                        "{} seats are assigned; the total cannot be lower",
                        pool.assigned
                    ),
                ));
            }
            pool.total = total;
            pool.item_id = item_id.to_owned();
            Ok(pool.clone())
        })
    }

    async fn reserve(&self, request_id: &str, pool_ids: &[String]) -> Result<()> {
        self.0.with(|ledger| {
            let mut wanted: Vec<&str> = Vec::new();
            for pool_id in pool_ids {
                if !ledger.holds(request_id, pool_id) && !wanted.contains(&pool_id.as_str()) {
                    wanted.push(pool_id);
                }
            }
            // Check every pool before touching any: a full (or unknown) pool leaves nothing reserved.
            if let Some(full) = wanted.iter().find(|p| !ledger.has_free_seat(p)) {
                if let Some(pool) = ledger.pools.get_mut(*full) {
                    pool.denied += 1;
                }
                return Err(Error::SeatUnavailable((*full).to_owned()));
            }
            for pool_id in wanted {
                // A new seat starts out released, so taking it is the same move as re-reserving a released one.
                let seats = ledger.seats.entry(request_id.to_owned()).or_default();
                seats
                    .entry(pool_id.to_owned())
                    .or_insert(SeatState::Released);
                ledger.move_seat(
                    request_id,
                    pool_id,
                    &[SeatState::Released],
                    SeatState::Reserved,
                );
            }
            Ok(())
        })
    }

    async fn assign(&self, request_id: &str, pool_id: &str) -> Result<()> {
        self.0.with(|ledger| {
            ledger.move_seat(
                request_id,
                pool_id,
                &[SeatState::Reserved],
                SeatState::Assigned,
            )
        });
        Ok(())
    }

    async fn release(&self, request_id: &str, pool_id: &str) -> Result<()> {
        let held = [SeatState::Reserved, SeatState::Assigned];
        self.0
            .with(|ledger| ledger.move_seat(request_id, pool_id, &held, SeatState::Released));
        Ok(())
    }

    async fn seats(&self, request_id: &str) -> Result<Vec<Seat>> {
        Ok(self.0.with(|ledger| {
            ledger
                .seats
                .get(request_id)
                .into_iter()
                .flatten()
                .map(|(pool_id, state)| Seat {
                    request_id: request_id.to_owned(),
                    pool_id: pool_id.clone(),
                    state: *state,
                })
                .collect()
        }))
    }

    async fn pools(&self) -> Result<Vec<LicensePool>> {
        let mut pools: Vec<LicensePool> = self
            .0
            .with(|ledger| ledger.pools.values().cloned().collect());
        pools.sort_by(|a, b| a.pool_id.cmp(&b.pool_id));
        Ok(pools)
    }
}
