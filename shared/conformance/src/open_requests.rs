//! "At most one open request per beneficiary and item", held by `RequestStore::create` and `save`.

use std::sync::Arc;

use provisio_core::Error;
use provisio_core::model::{Request, RequestStatus};
use provisio_core::ports::Ports;

use crate::fixtures::{request, unique};

/// A new open request of `beneficiary` for `item`.
fn open(beneficiary: &str, item: &str, ports: &Ports) -> Request {
    let mut r = request(&unique("req"), beneficiary, beneficiary, ports.clock.now());
    r.item_id = item.into();
    r
}

async fn end(ports: &Ports, request_id: &str, status: RequestStatus) {
    let mut r = ports
        .requests
        .get(request_id)
        .await
        .expect("request get failed")
        .expect("request stored");
    r.transition(status, "provisio", "ended", ports.clock.now());
    ports
        .requests
        .save(&mut r)
        .await
        .expect("request save failed");
}

fn assert_still_open(result: provisio_core::Result<()>, open_id: &str, what: &str) {
    match result {
        Err(Error::Conflict(message)) => assert!(
            message.contains(open_id),
            "{what}: the Conflict must name the open request {open_id}, got {message:?}"
        ),
        other => panic!("{what}: must be a Conflict naming {open_id}, got {other:?}"),
    }
}

/// A second open request for one beneficiary and item is a Conflict naming the open one; other items, other
/// beneficiaries and ended records are not affected; once the open one ends, a new one may be created, and a
/// repeated save of the ended one does not free the new one's key.
pub async fn requests_one_open_per_beneficiary_and_item(ports: &Ports) {
    let [me, colleague, item, other_item] = ["me", "colleague", "item", "other-item"].map(unique);
    let first = open(&me, &item, ports);
    ports
        .requests
        .create(&first)
        .await
        .expect("first open request");

    let second = open(&me, &item, ports);
    assert_still_open(
        ports.requests.create(&second).await,
        &first.request_id,
        "a second open request for the same beneficiary and item",
    );
    assert_eq!(
        ports.requests.get(&second.request_id).await.expect("get"),
        None,
        "a refused create stores nothing"
    );
    for (who, what) in [(&me, &other_item), (&colleague, &item)] {
        ports
            .requests
            .create(&open(who, what, ports))
            .await
            .expect("another item or another beneficiary is a key of its own");
    }
    let mut history = open(&me, &item, ports);
    history.transition(
        RequestStatus::Rejected,
        "provisio",
        "ended",
        ports.clock.now(),
    );
    ports
        .requests
        .create(&history)
        .await
        .expect("a request stored already ended holds no key");

    end(ports, &first.request_id, RequestStatus::Fulfilled).await;
    ports
        .requests
        .create(&second)
        .await
        .expect("once the open request ended, a new one may be created");
    // A redelivered closing step saves the ended request again: the new request keeps its key.
    end(ports, &first.request_id, RequestStatus::Fulfilled).await;
    assert_still_open(
        ports.requests.create(&open(&me, &item, ports)).await,
        &second.request_id,
        "a repeated save of an ended request must not release another request's key",
    );
}

/// Of many concurrent creates for one beneficiary and item, exactly one succeeds; after it ends, a new one does.
pub async fn requests_concurrent_creates_for_one_key_have_one_winner(ports: &Ports) {
    const CONTENDERS: usize = 16;
    let [me, item] = ["me", "item"].map(unique);
    let ports = Arc::new(ports.clone());
    let mut tasks = Vec::new();
    for _ in 0..CONTENDERS {
        let ports = ports.clone();
        let record = open(&me, &item, &ports);
        tasks.push(tokio::spawn(async move {
            let result = ports.requests.create(&record).await;
            (record.request_id, result)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("create task panicked") {
            (id, Ok(())) => winners.push(id),
            (_, Err(Error::Conflict(_))) => {}
            (_, Err(e)) => panic!("a losing concurrent create must be a Conflict, got {e}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {CONTENDERS} concurrent creates for one key may succeed, got {winners:?}"
    );
    let open_ones: Vec<Request> = ports
        .requests
        .list_for(&me)
        .await
        .expect("request list_for failed");
    assert_eq!(
        open_ones.iter().map(|r| &r.request_id).collect::<Vec<_>>(),
        [&winners[0]],
        "only the winner is stored"
    );

    end(&ports, &winners[0], RequestStatus::Cancelled).await;
    ports
        .requests
        .create(&open(&me, &item, &ports))
        .await
        .expect("after the winner ended, a new request for the key succeeds");
}
