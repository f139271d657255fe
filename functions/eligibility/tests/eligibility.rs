//! The CheckEligibility step, driven by events/eligibility/*.json over the demo organisation.

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::{RequestStatus, StageStatus};
use provisio_core::names::{errors, event_types};
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

async fn check(demo: &Demo) -> Result<Value, Error> {
    invoke_json(task_event("eligibility", "check-eligibility"), |input| {
        eligibility::handle(&demo.ports, input)
    })
    .await
}

#[tokio::test]
async fn a_two_stage_item_routes_to_both_stages_in_policy_order() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;

    let out = check(&demo).await.expect("eligible");

    // The fulfilment ASL selects exactly `stages` and `autoApproved` from this output.
    assert_eq!(
        out,
        json!({
            "requestId": FIXTURE_REQUEST_ID,
            "stages": [{"index": 0, "name": "manager"}, {"index": 1, "name": "item-owner"}],
            "autoApproved": false
        })
    );
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.status, RequestStatus::PendingApproval);
    assert!(!req.auto_approved);
    assert!(
        req.stages.iter().all(|s| s.status == StageStatus::Waiting),
        "{:?}",
        req.stages
    );
}

#[tokio::test]
async fn a_conditional_stage_applies_only_when_its_condition_holds() {
    // macbook-pro-16 costs 3299 (> 1000): manager then finance; the 629 monitor skips finance.
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "macbook-pro-16")
        .await;
    let out = check(&demo).await.expect("eligible");
    assert_eq!(
        out["stages"],
        json!([{"index": 0, "name": "manager"}, {"index": 1, "name": "finance"}])
    );

    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "monitor-dell-u2723qe")
        .await;
    let out = check(&demo).await.expect("eligible");
    assert_eq!(out["stages"], json!([{"index": 0, "name": "manager"}]));
}

#[tokio::test]
async fn an_item_without_stages_is_auto_approved_and_announced() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "lucidchart")
        .await;

    let out = check(&demo).await.expect("eligible");

    assert_eq!(out["stages"], json!([]));
    assert_eq!(out["autoApproved"], true);
    assert_eq!(
        demo.request(FIXTURE_REQUEST_ID).await.status,
        RequestStatus::Approved
    );
    let approved: Vec<_> = demo
        .events
        .events()
        .into_iter()
        .filter(|e| e.detail_type == event_types::REQUEST_APPROVED)
        .collect();
    assert_eq!(approved.len(), 1, "one request.approved event");
}

#[tokio::test]
async fn an_ineligible_beneficiary_is_refused_with_not_eligible_and_the_reason() {
    // E022 is in Sales; github-copilot is for Engineering and IT (HR data changed after submission).
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E022", "github-copilot")
        .await;

    let err = check(&demo).await.expect_err("Sales may not have Copilot");

    match &err {
        Error::NotEligible(reasons) => {
            assert_eq!(reasons, &["Available to Engineering and IT only"])
        }
        other => panic!("expected NotEligible, got {other:?}"),
    }
    let diagnostic = Diagnostic::from(TaskError(err));
    assert_eq!(diagnostic.error_type, errors::NOT_ELIGIBLE);
    assert_eq!(diagnostic.error_type, "Provisio.NotEligible");
    assert!(diagnostic.error_message.contains("Engineering and IT"));
    // Nothing was routed: the ReleaseSeat step records the terminal status.
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.status, RequestStatus::Submitted);
    assert!(req.stages.is_empty());
}

#[tokio::test]
async fn a_repeated_delivery_routes_once() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    let first = check(&demo).await.expect("first delivery");
    let again = check(&demo).await.expect("second delivery");
    assert_eq!(first, again);
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    let routed = req
        .timeline
        .iter()
        .filter(|t| t.status == RequestStatus::PendingApproval)
        .count();
    assert_eq!(routed, 1, "{:?}", req.timeline);
}

#[tokio::test]
async fn a_cancelled_request_stops_the_workflow_with_cancelled() {
    let demo = demo_ports().await;
    let mut req = demo
        .seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    req.cancel_requested = true;
    demo.ports.requests.save(&mut req).await.unwrap();

    let err = check(&demo).await.expect_err("cancelled");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::CANCELLED
    );
}

#[tokio::test]
async fn an_unknown_request_is_not_found() {
    let demo = demo_ports().await;
    let err = check(&demo).await.expect_err("no such request");
    assert!(matches!(err, Error::NotFound(_)), "got {err:?}");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        "Provisio.NotFound"
    );
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_is_a_validation_error() {
    let demo = demo_ports().await;
    let err = invoke_json(json!({"request": FIXTURE_REQUEST_ID}), |input| {
        eligibility::handle(&demo.ports, input)
    })
    .await
    .expect_err("missing requestId");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::VALIDATION
    );
}
