use provisio_core::Error;
use provisio_core::model::{LicensePool, Seat, SeatState};
use provisio_core::ports::Ports;

use crate::fixtures::unique;

async fn pool(ports: &Ports, pool_id: &str) -> LicensePool {
    let found = ports
        .licenses
        .get_pool(pool_id)
        .await
        .expect("license get_pool failed");
    found.unwrap_or_else(|| panic!("license pool {pool_id} was created but cannot be read back"))
}

/// (total, reserved, assigned, available) of a pool, for compact asserts.
async fn counters(ports: &Ports, pool_id: &str) -> (u32, u32, u32, u32) {
    let p = pool(ports, pool_id).await;
    (p.total, p.reserved, p.assigned, p.available())
}

async fn seat_states(ports: &Ports, request_id: &str) -> Vec<(String, SeatState)> {
    let seats: Vec<Seat> = ports
        .licenses
        .seats(request_id)
        .await
        .expect("license seats failed");
    seats.into_iter().map(|s| (s.pool_id, s.state)).collect()
}

async fn new_pool(ports: &Ports, total: u32) -> String {
    let pool_id = unique("pool");
    let created = ports
        .licenses
        .set_total(&pool_id, "slack", total)
        .await
        .expect("license set_total failed");
    assert_eq!(
        (created.total, created.reserved, created.assigned),
        (total, 0, 0),
        "a new pool must start with its total and no seats taken"
    );
    pool_id
}

/// Reserves one seat in one pool.
async fn reserve(ports: &Ports, request_id: &str, pool_id: &str) -> provisio_core::Result<()> {
    ports
        .licenses
        .reserve(request_id, &[pool_id.to_owned()])
        .await
}

fn is_unavailable(result: &provisio_core::Result<()>, pool_id: &str) -> bool {
    matches!(result, Err(Error::SeatUnavailable(p)) if p == pool_id)
}

/// 200 concurrent reservations on 50 seats: exactly 50 win, and assign/release keep the counters exact.
pub async fn licenses_concurrent_reservations_never_oversubscribe(ports: &Ports) {
    let pool_id = new_pool(ports, 50).await;
    let prefix = unique("req");
    let contenders = (0..200).map(|i| {
        let (ledger, request_id, pools) = (
            ports.licenses.clone(),
            format!("{prefix}-{i:03}"),
            vec![pool_id.clone()],
        );
        tokio::spawn(async move {
            let result = ledger.reserve(&request_id, &pools).await;
            (request_id, result)
        })
    });
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for handle in contenders.collect::<Vec<_>>() {
        let (request_id, result) = handle.await.expect("a reservation task panicked");
        match result {
            Ok(()) => winners.push(request_id),
            Err(_) if is_unavailable(&result, &pool_id) => losers.push(request_id),
            Err(e) => panic!(
                "a reservation on a full pool must fail with SeatUnavailable({pool_id}), got {e:?}"
            ),
        }
    }
    assert_eq!(
        (winners.len(), losers.len()),
        (50, 150),
        "exactly the 50 seats must be reserved, the rest refused"
    );
    assert_eq!(
        counters(ports, &pool_id).await,
        (50, 50, 0, 0),
        "(total, reserved, assigned, available)"
    );
    assert_eq!(
        seat_states(ports, &losers[0]).await,
        [],
        "a refused reservation must leave no seat"
    );

    let (assigned, rest) = winners.split_at(20);
    let (released, reserved) = rest.split_at(10);
    let ledger = &ports.licenses;
    for request_id in assigned {
        ledger
            .assign(request_id, &pool_id)
            .await
            .expect("license assign failed");
    }
    for request_id in released {
        ledger
            .release(request_id, &pool_id)
            .await
            .expect("license release failed");
    }
    let settled = (50, 20, 20, 10);
    assert_eq!(
        counters(ports, &pool_id).await,
        settled,
        "assign and release must move the counters one for one"
    );
    assert_eq!(
        seat_states(ports, &assigned[0]).await,
        [(pool_id.clone(), SeatState::Assigned)]
    );
    assert_eq!(
        seat_states(ports, &released[0]).await,
        [(pool_id.clone(), SeatState::Released)]
    );
    assert_eq!(
        seat_states(ports, &reserved[0]).await,
        [(pool_id.clone(), SeatState::Reserved)]
    );

    for request_id in released {
        ledger
            .release(request_id, &pool_id)
            .await
            .expect("a repeated release must succeed");
        ledger
            .assign(request_id, &pool_id)
            .await
            .expect("assigning a released seat must succeed");
    }
    ledger
        .release(&losers[0], &pool_id)
        .await
        .expect("releasing a seat never held must succeed");
    ledger
        .assign(&losers[1], &pool_id)
        .await
        .expect("assigning a seat never held must succeed");
    assert_eq!(
        counters(ports, &pool_id).await,
        settled,
        "repeated releases and assigns of released or unknown seats must change nothing"
    );

    // Released seats are free again, and only those.
    for request_id in &losers[..10] {
        reserve(ports, request_id, &pool_id)
            .await
            .expect("a released seat must be reservable again");
    }
    let over = reserve(ports, &losers[10], &pool_id).await;
    assert!(
        is_unavailable(&over, &pool_id),
        "the pool is full again, got {over:?}"
    );
    assert_eq!(
        counters(ports, &pool_id).await,
        (50, 30, 20, 0),
        "(total, reserved, assigned, available)"
    );
}

/// A reservation over several pools takes a seat in each or in none.
pub async fn licenses_reserve_is_all_or_none(ports: &Ports) {
    let full = new_pool(ports, 1).await;
    let roomy = new_pool(ports, 5).await;
    let holder = unique("req");
    reserve(ports, &holder, &full)
        .await
        .expect("license reserve failed");

    let request_id = unique("req");
    let both = [roomy.clone(), full.clone()];
    let result = ports.licenses.reserve(&request_id, &both).await;
    assert!(
        is_unavailable(&result, &full),
        "a full pool must fail with SeatUnavailable({full}), got {result:?}"
    );
    assert_eq!(
        counters(ports, &roomy).await,
        (5, 0, 0, 5),
        "a failed reservation must take no seat in any pool"
    );
    assert_eq!(
        seat_states(ports, &request_id).await,
        [],
        "a failed reservation must leave no seat"
    );

    ports
        .licenses
        .release(&holder, &full)
        .await
        .expect("license release failed");
    ports
        .licenses
        .reserve(&request_id, &both)
        .await
        .expect("with a seat free in every pool, reserve must succeed");
    let mut held = seat_states(ports, &request_id).await;
    held.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = both.map(|p| (p, SeatState::Reserved));
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        held, expected,
        "a successful reservation must take one seat in each pool"
    );
    assert_eq!(
        counters(ports, &roomy).await,
        (5, 1, 0, 4),
        "(total, reserved, assigned, available)"
    );
}

/// Repeating reserve or assign for the same request never takes a second seat.
pub async fn licenses_repeated_calls_are_noops(ports: &Ports) {
    let pool_id = new_pool(ports, 3).await;
    let request_id = unique("req");
    for _ in 0..3 {
        reserve(ports, &request_id, &pool_id)
            .await
            .expect("a repeated reserve must succeed");
    }
    assert_eq!(
        counters(ports, &pool_id).await,
        (3, 1, 0, 2),
        "a repeated reserve must keep one seat"
    );

    for _ in 0..2 {
        ports
            .licenses
            .assign(&request_id, &pool_id)
            .await
            .expect("a repeated assign must succeed");
        reserve(ports, &request_id, &pool_id)
            .await
            .expect("reserving an assigned seat must succeed");
    }
    assert_eq!(
        counters(ports, &pool_id).await,
        (3, 0, 1, 2),
        "a repeated assign must keep one seat"
    );
    assert_eq!(
        seat_states(ports, &request_id).await,
        [(pool_id, SeatState::Assigned)]
    );
}

/// set_total resizes a pool but never below its assigned seats; reservations are never taken away.
pub async fn licenses_set_total_never_drops_below_assigned(ports: &Ports) {
    let pool_id = new_pool(ports, 3).await;
    let [first, second, third] = ["a", "b", "c"].map(|n| unique(&format!("req-{n}")));
    for request_id in [&first, &second, &third] {
        reserve(ports, request_id, &pool_id)
            .await
            .expect("license reserve failed");
    }
    for request_id in [&first, &second] {
        ports
            .licenses
            .assign(request_id, &pool_id)
            .await
            .expect("license assign failed");
    }

    let shrunk = ports.licenses.set_total(&pool_id, "slack", 1).await;
    assert!(
        matches!(&shrunk, Err(Error::Validation(fields)) if fields.iter().any(|f| f.field == "total")),
        "a total below the assigned seats must be a Validation error on `total`, got {shrunk:?}"
    );
    assert_eq!(
        counters(ports, &pool_id).await,
        (3, 1, 2, 0),
        "a refused resize must change nothing"
    );

    let resized = ports
        .licenses
        .set_total(&pool_id, "slack", 2)
        .await
        .expect("a total equal to assigned is allowed");
    assert_eq!(
        (resized.total, resized.reserved, resized.assigned),
        (2, 1, 2),
        "reservations are never taken away"
    );
    let refused = reserve(ports, &unique("req"), &pool_id).await;
    assert!(
        is_unavailable(&refused, &pool_id),
        "a pool shrunk to its assigned seats is full, got {refused:?}"
    );

    ports
        .licenses
        .set_total(&pool_id, "slack", 10)
        .await
        .expect("growing a pool must succeed");
    assert_eq!(
        counters(ports, &pool_id).await,
        (10, 1, 2, 7),
        "growing a pool must keep its seats"
    );
}

pub async fn licenses_pools_lists_every_pool_and_counts_refused_reservations(ports: &Ports) {
    let (full, roomy) = (unique("pool-full"), unique("pool-roomy"));
    for (pool_id, total) in [(&full, 1), (&roomy, 3)] {
        ports
            .licenses
            .set_total(pool_id, &format!("item-of-{pool_id}"), total)
            .await
            .expect("license set_total failed");
    }
    let take = |pool_id: &String| {
        let request_id = unique("req");
        let pools = vec![pool_id.clone()];
        async move { ports.licenses.reserve(&request_id, &pools).await }
    };
    take(&full).await.expect("license reserve failed");
    take(&roomy).await.expect("license reserve failed");
    for _ in 0..2 {
        assert!(
            matches!(take(&full).await, Err(Error::SeatUnavailable(_))),
            "a full pool refuses"
        );
    }
    let listed: Vec<LicensePool> = ports
        .licenses
        .pools()
        .await
        .expect("license pools failed")
        .into_iter()
        .filter(|p| p.pool_id == full || p.pool_id == roomy)
        .collect();
    let mut ids: Vec<&str> = listed.iter().map(|p| p.pool_id.as_str()).collect();
    ids.sort();
    let mut expected = [full.as_str(), roomy.as_str()];
    expected.sort();
    assert_eq!(
        ids, expected,
        "pools lists every pool, once, with seats taken"
    );
    let denied = |id: &String| listed.iter().find(|p| p.pool_id == *id).map(|p| p.denied);
    assert_eq!(
        denied(&full),
        Some(2),
        "each refused reservation is counted"
    );
    assert_eq!(denied(&roomy), Some(0), "granted reservations are not");
    assert_eq!(
        pool(ports, &full).await.item_id,
        format!("item-of-{full}"),
        "a listed pool reads as get_pool does"
    );
}
