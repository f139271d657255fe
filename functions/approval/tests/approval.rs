//! The AwaitDecision step (`.waitForTaskToken`), driven by events/approval/*.json.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::{ApprovalStatus, Caller, Principal, RequestStatus, StageStatus};
use provisio_core::names::{errors, event_types};
use provisio_core::usecases::{approvals, fulfilment};
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

async fn open(demo: &Demo, payload: Value) -> Result<Value, Error> {
    invoke_json(payload, |input| approval::handle(&demo.ports, input)).await
}

/// A routed request of `who` for `item` under the fixture id.
async fn routed(who: &str, item: &str) -> Demo {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, who, item).await;
    fulfilment::route(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .expect("route");
    demo
}

fn employee(id: &str) -> Caller {
    Caller {
        employee_id: id.into(),
        email: None,
        groups: vec![],
    }
}

#[tokio::test]
async fn opening_a_stage_stores_the_token_and_the_manager_sees_the_task() {
    let demo = routed("E013", "adobe-creative-cloud").await;
    let event = task_event("approval", "await-decision-stage-0");

    let out = open(&demo, event.clone()).await.expect("open stage 0");

    assert_eq!(out, json!({"approvalId": "req-fixture-1-s0"}));
    let task = demo
        .ports
        .approvals
        .get("req-fixture-1-s0")
        .await
        .unwrap()
        .expect("task stored");
    assert_eq!(task.task_token, event["taskToken"].as_str().unwrap());
    assert_eq!(task.status, ApprovalStatus::Pending);
    assert_eq!(
        task.approvers,
        [Principal::User("E009".into())],
        "E013's manager"
    );
    assert_eq!(task.stage_name, "manager");

    let pending = approvals::pending_for(&demo.ports, &employee("E009"))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].task.approval_id, "req-fixture-1-s0");
    assert!(
        !serde_json::to_string(&pending[0])
            .unwrap()
            .contains("taskToken"),
        "approvers never see the token"
    );
    assert!(
        approvals::pending_for(&demo.ports, &employee("E016"))
            .await
            .unwrap()
            .is_empty(),
        "the item owner's stage is not open yet"
    );

    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.status, RequestStatus::PendingApproval);
    assert_eq!(req.stages[0].status, StageStatus::Open);
    assert_eq!(
        req.stages[0].approval_id.as_deref(),
        Some("req-fixture-1-s0")
    );
    assert_eq!(req.stages[1].status, StageStatus::Waiting);
    assert!(
        demo.events
            .events()
            .iter()
            .any(|e| e.detail_type == event_types::APPROVAL_REQUESTED
                && e.detail["approvalId"] == "req-fixture-1-s0")
    );
}

#[tokio::test]
async fn the_second_stage_goes_to_the_item_owner() {
    let demo = routed("E013", "adobe-creative-cloud").await;
    let out = open(&demo, task_event("approval", "await-decision-stage-1"))
        .await
        .expect("open stage 1");
    assert_eq!(out["approvalId"], "req-fixture-1-s1");
    let task = demo
        .ports
        .approvals
        .get("req-fixture-1-s1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.approvers, [Principal::User("E016".into())]);
}

#[tokio::test]
async fn a_manager_on_leave_is_replaced_by_the_delegate() {
    // E011 reports to E008, who is on leave with E009 as delegate.
    let demo = routed("E011", "github-copilot").await;
    open(&demo, task_event("approval", "await-decision-stage-0"))
        .await
        .expect("open");
    let task = demo
        .ports
        .approvals
        .get("req-fixture-1-s0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.approvers, [Principal::User("E009".into())]);
    assert!(
        approvals::pending_for(&demo.ports, &employee("E008"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_redelivery_with_a_new_token_refreshes_the_token_only() {
    let demo = routed("E013", "adobe-creative-cloud").await;
    let mut event = task_event("approval", "await-decision-stage-0");
    open(&demo, event.clone()).await.expect("first delivery");
    event["taskToken"] = json!("AQCEAAAAKgAAAAMAAAAAAAAAAeRetriedToken");

    let out = open(&demo, event).await.expect("retried delivery");

    assert_eq!(out["approvalId"], "req-fixture-1-s0");
    let tasks = demo
        .ports
        .approvals
        .for_request(FIXTURE_REQUEST_ID)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "still one task");
    assert_eq!(
        tasks[0].task_token,
        "AQCEAAAAKgAAAAMAAAAAAAAAAeRetriedToken"
    );
}

#[tokio::test]
async fn a_cancelled_request_fails_the_step_with_cancelled() {
    let demo = routed("E013", "adobe-creative-cloud").await;
    let mut req = demo.request(FIXTURE_REQUEST_ID).await;
    req.cancel_requested = true;
    demo.ports.requests.save(&mut req).await.unwrap();

    let err = open(&demo, task_event("approval", "await-decision-stage-0"))
        .await
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "got {err:?}");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::CANCELLED
    );
    assert!(
        demo.ports
            .approvals
            .for_request(FIXTURE_REQUEST_ID)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_stage_with_nobody_left_to_approve_is_no_approver() {
    // E010 owns aws-prod-readonly and requests it: segregation of duties leaves the owner stage without anyone.
    let demo = routed("E010", "aws-prod-readonly").await;
    let err = open(&demo, task_event("approval", "await-decision-stage-1"))
        .await
        .expect_err("the owner is the requester");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        "Provisio.NoApprover"
    );
}
