//! hr-sync, driven by the SQS FIFO events in events/hr-sync/ over the demo organisation.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use provisio_core::model::{IdentityStatus, Lifecycle};
use provisio_core::usecases::lifecycle::LifecycleSettings;
use provisio_lambda::fixtures::{Demo, demo_ports, task_event};
use provisio_memory::Unavailable;
use serde_json::json;

fn sqs(case: &str) -> SqsEvent {
    serde_json::from_value(task_event("hr-sync", case)).expect("an SQS event")
}

fn failed(resp: &SqsBatchResponse) -> Vec<&str> {
    resp.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

async fn deliver(demo: &Demo, case: &str) -> SqsBatchResponse {
    hr_sync::handle(&demo.ports, &LifecycleSettings::default(), sqs(case)).await
}

/// Engineering's starter bundle becomes a birthright of everyone in Engineering.
async fn starter_is_a_birthright(demo: &Demo) {
    let mut starter = demo
        .ports
        .catalog
        .get("engineering-starter")
        .await
        .unwrap()
        .unwrap();
    starter.birthright = Some("user.department == 'Engineering'".into());
    assert_eq!(starter.lifecycle, Lifecycle::Active);
    demo.ports.catalog.put(starter).await.unwrap();
}

#[tokio::test]
async fn a_hire_then_a_move_apply_in_order_and_the_joiner_gets_the_birthright() {
    let demo = demo_ports().await;
    starter_is_a_birthright(&demo).await;

    let resp = deliver(&demo, "hire-then-move").await;

    assert!(failed(&resp).is_empty(), "{:?}", failed(&resp));
    let who = demo
        .ports
        .identities
        .get("E031")
        .await
        .unwrap()
        .expect("hired");
    assert_eq!(who.department, "Sales", "the move came after the hire");
    assert_eq!(who.manager_id.as_deref(), Some("E005"));
    assert_eq!(who.status, IdentityStatus::Active);
    let requests = demo.ports.requests.list_for("E031").await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].item_id, "engineering-starter");
    assert_eq!(requests[0].requester_id, "provisio");
    assert_eq!(
        demo.workflow.fulfilments(),
        [requests[0].request_id.clone()]
    );
    let published: Vec<_> = demo.events.events().iter().map(|e| e.detail_type).collect();
    assert!(
        published.contains(&"EmployeeJoined") && published.contains(&"EmployeeMoved"),
        "{published:?}"
    );
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let demo = demo_ports().await;
    starter_is_a_birthright(&demo).await;
    deliver(&demo, "hire-then-move").await;
    let (events, audit) = (
        demo.events.events().len(),
        demo.ports.audit.entries().await.unwrap().len(),
    );

    let again = deliver(&demo, "hire-then-move").await;

    assert!(failed(&again).is_empty());
    assert_eq!(demo.ports.requests.list_for("E031").await.unwrap().len(), 1);
    assert_eq!(
        demo.events.events().len(),
        events,
        "no event published twice"
    );
    assert_eq!(demo.ports.audit.entries().await.unwrap().len(), audit);
}

#[tokio::test]
async fn a_leaver_is_offboarded_once() {
    let demo = demo_ports().await;

    let resp = deliver(&demo, "terminate").await;
    deliver(&demo, "terminate").await;

    assert!(failed(&resp).is_empty());
    let who = demo.ports.identities.get("E013").await.unwrap().unwrap();
    assert_eq!(who.status, IdentityStatus::Terminated);
    let started = demo.workflow.offboardings();
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(started[0].input, json!({"employeeId": "E013"}));
}

#[tokio::test]
async fn a_failed_event_holds_back_the_rest_of_its_employee_only() {
    let demo = demo_ports().await;

    let resp = deliver(&demo, "unknown-employee").await;

    // E099 is unknown: its update fails, and its next event must not overtake it; E013's event goes on.
    assert_eq!(
        failed(&resp),
        [
            "8f2c7a1e-0000-4000-8000-000000000005",
            "8f2c7a1e-0000-4000-8000-000000000006"
        ]
    );
    assert!(demo.ports.identities.get("E099").await.unwrap().is_none());
    let e013 = demo.ports.identities.get("E013").await.unwrap().unwrap();
    assert_eq!(e013.status, IdentityStatus::Terminated);
}

#[tokio::test]
async fn a_leaver_whose_offboarding_could_not_start_is_offboarded_on_redelivery() {
    let demo = demo_ports().await;
    let down = demo.stores.ports(
        Arc::new(Unavailable("Step Functions")),
        demo.events.clone(),
        demo.clock.clone(),
        demo.connectors.clone(),
    );

    let first = hr_sync::handle(&down, &LifecycleSettings::default(), sqs("terminate")).await;
    assert_eq!(failed(&first).len(), 1, "reported for redelivery");
    assert!(demo.workflow.offboardings().is_empty());

    // SQS delivers it again once Step Functions is back: the stored change resumes rather than being skipped.
    let second = deliver(&demo, "terminate").await;
    assert!(failed(&second).is_empty());
    assert_eq!(demo.workflow.offboardings().len(), 1);
    let who = demo.ports.identities.get("E013").await.unwrap().unwrap();
    let last = who.last_change.expect("applied");
    assert_eq!(last.change_id, "wd-2026-11-22-0004");
    assert!(last.settling_from.is_none(), "settled");
}
