//! The ReserveSeat, CommitSeat and ReleaseSeat steps, driven by events/license-check/*.json.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::{AssignmentStatus, LicensePool, RequestStatus};
use provisio_core::names::errors;
use provisio_core::usecases::fulfilment;
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

const POOL: &str = "pool-adobe-cc";

async fn step(demo: &Demo, case: &str) -> Result<Value, Error> {
    invoke_json(task_event("license-check", case), |input| {
        license_check::handle(&demo.ports, input)
    })
    .await
}

async fn pool(demo: &Demo) -> LicensePool {
    demo.ports.licenses.get_pool(POOL).await.unwrap().unwrap()
}

fn counters(p: &LicensePool) -> (u32, u32, u32) {
    (p.total, p.reserved, p.assigned)
}

#[tokio::test]
async fn reserve_then_release_leaves_the_pool_as_it_was() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    let before = counters(&pool(&demo).await);
    assert_eq!(before, (2, 0, 0));

    let out = step(&demo, "reserve").await.expect("a seat is free");
    assert_eq!(
        out,
        json!({"requestId": FIXTURE_REQUEST_ID, "pools": [POOL]})
    );
    assert_eq!(counters(&pool(&demo).await), (2, 1, 0));

    let out = step(&demo, "release-rejected").await.expect("release");
    // The ASL's ClosedHow choice reads `status`.
    assert_eq!(out["status"], "REJECTED");
    assert_eq!(counters(&pool(&demo).await), before);
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.status, RequestStatus::Rejected);
    let outcome = req.outcome.expect("outcome recorded");
    assert_eq!(outcome.error, errors::REJECTED);
    assert_eq!(
        outcome.reason,
        "rejected at manager approval: not in this quarter's budget"
    );
}

#[tokio::test]
async fn reserving_twice_holds_one_seat() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    step(&demo, "reserve").await.expect("first delivery");
    step(&demo, "reserve").await.expect("second delivery");
    assert_eq!(counters(&pool(&demo).await), (2, 1, 0));
}

#[tokio::test]
async fn a_full_pool_gives_seat_unavailable_and_release_closes_as_rejected() {
    let demo = demo_ports().await;
    // pool-adobe-cc has two seats: two colleagues reserve them first.
    for (id, who) in [("req-other-1", "E010"), ("req-other-2", "E011")] {
        demo.seed_request(id, who, "adobe-creative-cloud").await;
        fulfilment::reserve_seats(&demo.ports, id)
            .await
            .expect("seat for a colleague");
    }
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;

    let err = step(&demo, "reserve").await.expect_err("pool is full");
    assert!(
        matches!(&err, Error::SeatUnavailable(p) if p == POOL),
        "got {err:?}"
    );
    let diagnostic = Diagnostic::from(TaskError(err));
    assert_eq!(diagnostic.error_type, "Provisio.SeatUnavailable");
    assert_eq!(counters(&pool(&demo).await), (2, 2, 0), "nothing changed");

    // The state machine catches it and releases with the Lambda error as cause.
    let out = step(&demo, "release-seat-unavailable")
        .await
        .expect("release");
    assert_eq!(out["status"], "REJECTED");
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(
        req.outcome.expect("outcome").reason,
        "no seat available in license pool pool-adobe-cc",
        "the readable message, not Lambda's JSON envelope"
    );
    assert_eq!(
        counters(&pool(&demo).await),
        (2, 2, 0),
        "the colleagues' seats are untouched"
    );
}

#[tokio::test]
async fn commit_turns_the_reservation_into_the_holding_s_seat_and_fulfils() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    demo.approve(FIXTURE_REQUEST_ID).await;
    step(&demo, "reserve").await.expect("reserve");
    let ids = fulfilment::provision(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .expect("provision");
    assert_eq!(ids, ["E013.adobe-creative-cloud"]);

    let out = step(&demo, "commit").await.expect("commit");

    assert_eq!(
        out,
        json!({"requestId": FIXTURE_REQUEST_ID, "status": "FULFILLED"})
    );
    assert_eq!(counters(&pool(&demo).await), (2, 0, 1));
    let holding = demo
        .ports
        .assignments
        .get("E013.adobe-creative-cloud")
        .await
        .unwrap()
        .expect("holding");
    assert_eq!(holding.status, AssignmentStatus::Active);
    assert_eq!(holding.pool_id.as_deref(), Some(POOL));
    assert_eq!(holding.seat_request_id.as_deref(), Some(FIXTURE_REQUEST_ID));
    assert_eq!(
        demo.request(FIXTURE_REQUEST_ID).await.status,
        RequestStatus::Fulfilled
    );

    // A late release (e.g. a duplicate delivery) keeps the terminal status and the assigned seat.
    let out = step(&demo, "release-rejected").await.expect("release");
    assert_eq!(out["status"], "FULFILLED");
    assert_eq!(counters(&pool(&demo).await), (2, 0, 1));
}

#[tokio::test]
async fn an_unknown_action_is_a_validation_error() {
    let demo = demo_ports().await;
    let err = invoke_json(
        json!({"action": "steal", "requestId": FIXTURE_REQUEST_ID}),
        |input| license_check::handle(&demo.ports, input),
    )
    .await
    .expect_err("no such action");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::VALIDATION
    );
}
