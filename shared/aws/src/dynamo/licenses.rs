use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};
use provisio_core::model::{LicensePool, Seat, SeatState};
use provisio_core::ports::LicenseLedger;
use provisio_core::{Error, Result};

use super::{
    Item, RACE_RETRIES, Table, backoff, condition_failed, from_item, n, s, to_item, unavailable,
    unless_condition_failed,
};

/// Table `licenses` (key `pk` + `sk`): pool items (`pool#<poolId>` / `pool`) with the counters `total`,
/// `reserved`, `assigned` and `available` (= total - reserved - assigned, kept because conditions cannot do
/// arithmetic), and seat items (`seats#<requestId>` / pool id) with the seat's `state`. Every seat move changes
/// the seat and its pool counters in one transaction; a reservation is conditioned on `available >= 1`, so no
/// interleaving oversubscribes a pool. Pool items carry `poolList = "pool"` for the sparse index `pools`, so
/// listing pools never reads seats.
pub struct DynamoLicenses(pub(crate) Table);

const POOL: &str = "pool";

fn pool_key(pool_id: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(format!("pool#{pool_id}"))),
        ("sk".to_owned(), s(POOL)),
    ])
}

fn seats_pk(request_id: &str) -> String {
    format!("seats#{request_id}")
}

fn seat_key(request_id: &str, pool_id: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(seats_pk(request_id))),
        ("sk".to_owned(), s(pool_id)),
    ])
}

fn state_name(state: SeatState) -> &'static str {
    match state {
        SeatState::Reserved => "RESERVED",
        SeatState::Assigned => "ASSIGNED",
        SeatState::Released => "RELEASED",
    }
}

/// The pool counter a seat in `state` is counted in.
fn counter(state: SeatState) -> Option<&'static str> {
    match state {
        SeatState::Reserved => Some("reserved"),
        SeatState::Assigned => Some("assigned"),
        SeatState::Released => None,
    }
}

fn built<T>(r: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    r.map_err(|e| Error::Internal(e.to_string()))
}

impl DynamoLicenses {
    /// The update of the seat from `from` to `to` and of its pool's counters, as one transaction's writes.
    fn seat_move(
        &self,
        request_id: &str,
        pool_id: &str,
        from: SeatState,
        to: SeatState,
    ) -> Result<Vec<TransactWriteItem>> {
        let seat = built(
            Update::builder()
                .table_name(&self.0.name)
                .set_key(Some(seat_key(request_id, pool_id)))
                .update_expression("SET #state = :to")
                .condition_expression("#state = :from")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":to", s(state_name(to)))
                .expression_attribute_values(":from", s(state_name(from)))
                .build(),
        )?;
        let mut pool = Update::builder()
            .table_name(&self.0.name)
            .set_key(Some(pool_key(pool_id)))
            .expression_attribute_values(":one", n(1));
        let mut sets = Vec::new();
        if let Some(dec) = counter(from) {
            sets.push(format!("{dec} = {dec} - :one"));
        }
        match counter(to) {
            Some(inc) => sets.push(format!("{inc} = {inc} + :one")),
            None => sets.push("available = available + :one".into()),
        }
        pool = pool.update_expression(format!("SET {}", sets.join(", ")));
        Ok(vec![
            TransactWriteItem::builder().update(seat).build(),
            TransactWriteItem::builder()
                .update(built(pool.build())?)
                .build(),
        ])
    }

    /// Counts a reservation the full pool refused. Best effort: the count informs licence planning, and
    /// failing the refusal over it would tell the requester something untrue.
    async fn count_denied(&self, pool_id: &str) {
        let counted = self
            .0
            .client
            .update_item()
            .table_name(&self.0.name)
            .set_key(Some(pool_key(pool_id)))
            .update_expression("ADD denied :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        if let Err(e) = unless_condition_failed(counted) {
            tracing::warn!(pool = pool_id, error = %e, "refused reservation not counted");
        }
    }

    async fn seat_state(&self, request_id: &str, pool_id: &str) -> Result<Option<SeatState>> {
        let item = self.0.get_item(seat_key(request_id, pool_id)).await?;
        Ok(item
            .map(from_item::<Seat>)
            .transpose()?
            .map(|seat| seat.state))
    }

    /// Moves the seat from one of `from` to `to`; anything else (no seat, another state) is left alone, which
    /// makes retries harmless.
    async fn move_seat(
        &self,
        request_id: &str,
        pool_id: &str,
        from: &[SeatState],
        to: SeatState,
    ) -> Result<()> {
        for attempt in 0..RACE_RETRIES {
            let Some(state) = self.seat_state(request_id, pool_id).await? else {
                return Ok(());
            };
            if !from.contains(&state) {
                return Ok(());
            }
            match self
                .0
                .transact(self.seat_move(request_id, pool_id, state, to)?)
                .await?
            {
                None => return Ok(()),
                // The seat moved meanwhile (or the pool item was busy): look again.
                Some(_) => backoff(attempt).await,
            }
        }
        Err(Error::StoreUnavailable(format!(
            "DynamoDB: seat of {request_id} in {pool_id} kept changing"
        )))
    }
}

#[async_trait]
impl LicenseLedger for DynamoLicenses {
    async fn get_pool(&self, pool_id: &str) -> Result<Option<LicensePool>> {
        self.0
            .get_item(pool_key(pool_id))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn set_total(&self, pool_id: &str, item_id: &str, total: u32) -> Result<LicensePool> {
        for attempt in 0..RACE_RETRIES {
            let result = match self.get_pool(pool_id).await? {
                None => {
                    let pool = LicensePool {
                        pool_id: pool_id.to_owned(),
                        item_id: item_id.to_owned(),
                        total,
                        reserved: 0,
                        assigned: 0,
                        denied: 0,
                    };
                    let mut item =
                        to_item(&pool, &[("available", n(total)), ("poolList", s(POOL))])?;
                    item.extend(pool_key(pool_id));
                    self.0
                        .client
                        .put_item()
                        .table_name(&self.0.name)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .send()
                        .await
                        .map(|_| pool)
                        .map_err(|e| (condition_failed(&e), unavailable(e)))
                }
                Some(pool) => {
                    if total < pool.assigned {
                        return Err(Error::validation(
                            "total",
                            format!(
                                "{} seats are assigned; the total cannot be lower",
                                pool.assigned
                            ),
                        ));
                    }
                    let delta = i64::from(total) - i64::from(pool.total);
                    self.0
                        .client
                        .update_item()
                        .table_name(&self.0.name)
                        .set_key(Some(pool_key(pool_id)))
                        .update_expression(
                            "SET #total = :t, itemId = :i, available = available + :d, poolList = :pl",
                        )
                        .condition_expression("#total = :old AND assigned <= :t")
                        .expression_attribute_names("#total", "total")
                        .expression_attribute_values(":t", n(total))
                        .expression_attribute_values(":i", s(item_id))
                        .expression_attribute_values(":d", n(delta))
                        .expression_attribute_values(":old", n(pool.total))
                        .expression_attribute_values(":pl", s(POOL))
                        .return_values(ReturnValue::AllNew)
                        .send()
                        .await
                        .map_err(|e| (condition_failed(&e), unavailable(e)))
                        .and_then(|out| {
                            from_item(out.attributes.unwrap_or_default()).map_err(|e| (false, e))
                        })
                }
            };
            match result {
                Ok(pool) => return Ok(pool),
                // Resized or assigned concurrently: decide again on fresh counters.
                Err((true, _)) => backoff(attempt).await,
                Err((false, e)) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "license pool {pool_id} is being changed concurrently"
        )))
    }

    async fn reserve(&self, request_id: &str, pool_ids: &[String]) -> Result<()> {
        for attempt in 0..RACE_RETRIES {
            let held = self.seats(request_id).await?;
            let mut wanted: Vec<&str> = Vec::new();
            for pool_id in pool_ids {
                let holds = held.iter().any(|seat| {
                    seat.pool_id == *pool_id
                        && matches!(seat.state, SeatState::Reserved | SeatState::Assigned)
                });
                if !holds && !wanted.contains(&pool_id.as_str()) {
                    wanted.push(pool_id);
                }
            }
            if wanted.is_empty() {
                return Ok(());
            }
            let mut writes = Vec::new();
            for pool_id in &wanted {
                let take = built(
                    Update::builder()
                        .table_name(&self.0.name)
                        .set_key(Some(pool_key(pool_id)))
                        .update_expression(
                            "SET reserved = reserved + :one, available = available - :one",
                        )
                        .condition_expression("available >= :one")
                        .expression_attribute_values(":one", n(1))
                        .build(),
                )?;
                let seat = Seat {
                    request_id: request_id.to_owned(),
                    pool_id: (*pool_id).to_owned(),
                    state: SeatState::Reserved,
                };
                let mut item = to_item(&seat, &[])?;
                item.extend(seat_key(request_id, pool_id));
                // A released seat may be taken again; a held one only by this very reservation's retry.
                let put = built(
                    Put::builder()
                        .table_name(&self.0.name)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk) OR #state = :released")
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(
                            ":released",
                            s(state_name(SeatState::Released)),
                        )
                        .build(),
                )?;
                writes.push(TransactWriteItem::builder().update(take).build());
                writes.push(TransactWriteItem::builder().put(put).build());
            }
            let Some(codes) = self.0.transact(writes).await? else {
                return Ok(());
            };
            // Writes come in (pool, seat) pairs: a pool that failed its condition is full (or unknown).
            let full = codes
                .chunks(2)
                .zip(&wanted)
                .find(|(pair, _)| pair[0] == "ConditionalCheckFailed");
            if let Some((_, pool_id)) = full {
                self.count_denied(pool_id).await;
                return Err(Error::SeatUnavailable((*pool_id).to_owned()));
            }
            backoff(attempt).await;
        }
        Err(Error::StoreUnavailable(format!(
            "DynamoDB: reservation for {request_id} kept conflicting"
        )))
    }

    async fn assign(&self, request_id: &str, pool_id: &str) -> Result<()> {
        self.move_seat(
            request_id,
            pool_id,
            &[SeatState::Reserved],
            SeatState::Assigned,
        )
        .await
    }

    async fn release(&self, request_id: &str, pool_id: &str) -> Result<()> {
        let held = [SeatState::Reserved, SeatState::Assigned];
        self.move_seat(request_id, pool_id, &held, SeatState::Released)
            .await
    }

    async fn seats(&self, request_id: &str) -> Result<Vec<Seat>> {
        let items = self
            .0
            .query_all(None, "pk = :p", &[(":p", s(seats_pk(request_id)))], true)
            .await?;
        items.into_iter().map(from_item).collect()
    }

    async fn pools(&self) -> Result<Vec<LicensePool>> {
        let items = self
            .0
            .query_all(Some("pools"), "#poolList = :p", &[(":p", s(POOL))], true)
            .await?;
        items.into_iter().map(from_item).collect()
    }
}
