//! The compliance sweep on its schedule event (events/compliance/scheduled.json), under a manual clock.

use chrono::Duration;
use provisio_core::model::AssignmentStatus;
use provisio_core::usecases::fulfilment::{self, Deprovision};
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

const HOLDING: &str = "E013.prod-db-admin";

async fn sweep(demo: &Demo) -> Value {
    invoke_json(task_event("compliance", "scheduled"), |input| {
        compliance::handle(&demo.ports, input)
    })
    .await
    .expect("sweep")
}

#[tokio::test]
async fn time_bound_access_is_deprovisioned_when_it_expires_and_not_before() {
    let demo = demo_ports().await;
    // prod-db-admin is held for at most 72 hours.
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "prod-db-admin")
        .await;
    let holding = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    let expires_at = holding.expires_at.expect("time-bound");
    assert_eq!(expires_at - demo.ports.clock.now(), Duration::hours(72));

    demo.clock.advance(Duration::hours(71));
    assert_eq!(
        sweep(&demo).await,
        json!({"expired": 0, "revoked": 0, "failed": 0})
    );
    assert!(
        demo.workflow.deprovisions().is_empty(),
        "not before its time"
    );

    demo.clock.advance(Duration::hours(2));
    assert_eq!(
        sweep(&demo).await,
        json!({"expired": 1, "revoked": 0, "failed": 0})
    );
    // A re-run before the deprovision finished starts nothing new: the execution name is the same.
    sweep(&demo).await;
    let started = demo.workflow.deprovisions();
    assert_eq!(started.len(), 1);
    let input: Deprovision = serde_json::from_value(started[0].input.clone()).unwrap();
    assert_eq!(input.assignment_id, HOLDING);
    assert_eq!(input.request_id, None, "every source has expired");
    assert_eq!(input.reason, AssignmentStatus::Expired);

    // The deprovision state machine runs it: the holding ends EXPIRED and leaves the sweep's view.
    let ended = fulfilment::deprovision(&demo.ports, &input).await.unwrap();
    assert_eq!(ended.status, AssignmentStatus::Expired);
    assert_eq!(sweep(&demo).await["expired"], 0);
}
