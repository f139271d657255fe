//! The approvers' HTTP API, driven by the API Gateway events in events/approval-callback/.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPROVAL, waiting_for_manager};
use provisio_core::model::{ApprovalStatus, RequestStatus, StageStatus};
use provisio_core::usecases::reviews;
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{
    Demo, FIXTURE_REQUEST_ID, check_http_fixtures, demo_ports, http_event,
};
use serde_json::json;

async fn call(demo: &Demo, case: &str) -> ApiResponse {
    common::call(&demo.ports, case).await
}

async fn task_status(demo: &Demo) -> ApprovalStatus {
    demo.ports
        .approvals
        .get(APPROVAL)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[test]
fn every_fixture_targets_an_approval_callback_route() {
    let cases = check_http_fixtures("approval-callback", approval_callback::ROUTES);
    for required in [
        "list-approvals",
        "decide-approve",
        "list-reviews",
        "decide-review-keep",
    ] {
        assert!(cases.iter().any(|c| c == required), "missing {required}");
    }
}

#[tokio::test]
async fn the_manager_lists_the_waiting_task_without_its_token() {
    let (demo, token) = waiting_for_manager().await;

    let resp = call(&demo, "list-approvals").await;

    assert_eq!(resp.status, 200);
    let body = resp.body_json();
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["approvalId"], APPROVAL);
    assert_eq!(items[0]["requestId"], FIXTURE_REQUEST_ID);
    assert_eq!(items[0]["status"], "PENDING");
    let text = String::from_utf8_lossy(&resp.body);
    assert!(
        !text.contains(&token),
        "the task token never leaves the backend"
    );
}

#[tokio::test]
async fn an_approval_resumes_the_waiting_workflow_with_the_stored_token() {
    let (demo, token) = waiting_for_manager().await;

    let resp = call(&demo, "decide-approve").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(resp.body_json()["status"], "APPROVED");
    let completed = demo.workflow.completed_tasks();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].task_token, token);
    assert_eq!(
        completed[0].output,
        json!({"stageIndex": 0, "decision": "approve"})
    );
    assert!(demo.workflow.failed_tasks().is_empty());
    assert_eq!(task_status(&demo).await, ApprovalStatus::Approved);
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.stages[0].status, StageStatus::Approved);
    assert_eq!(req.stages[0].decisions[0].approver_id, "E009");
    assert_eq!(
        req.status,
        RequestStatus::PendingApproval,
        "the item owner's stage is still to come"
    );

    // The same decision again (a client retry) is answered as the first was, and resumes nothing twice.
    let again = call(&demo, "decide-approve").await;
    assert_eq!(again.status, 200, "{:?}", again.body_json());
    assert_eq!(again.body_json()["status"], "APPROVED");
    assert_eq!(demo.workflow.completed_tasks().len(), 1);
}

#[tokio::test]
async fn a_rejection_fails_the_waiting_workflow_with_rejected() {
    let (demo, token) = waiting_for_manager().await;
    let mut req = http_event("approval-callback", "decide-approve");
    req.body = br#"{"decision":"reject","comment":"not this quarter"}"#
        .to_vec()
        .into();

    let resp = approval_callback::handle(&demo.ports, req).await;

    assert_eq!(resp.status, 200);
    let failed = demo.workflow.failed_tasks();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].task_token, token);
    assert_eq!(failed[0].error, "Provisio.Rejected");
    assert!(failed[0].cause.contains("not this quarter"));
    assert_eq!(task_status(&demo).await, ApprovalStatus::Rejected);
}

#[tokio::test]
async fn a_decision_by_someone_who_is_not_an_approver_is_404_and_changes_nothing() {
    let (demo, _) = waiting_for_manager().await;

    let resp = call(&demo, "decide-by-non-approver").await;

    assert_eq!(resp.status, 404, "{:?}", resp.body_json());
    assert_eq!(resp.content_type, "application/problem+json");
    assert!(demo.workflow.completed_tasks().is_empty());
    assert!(demo.workflow.failed_tasks().is_empty());
    assert_eq!(task_status(&demo).await, ApprovalStatus::Pending);
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_request() {
    let (demo, _) = waiting_for_manager().await;
    let mut req = http_event("approval-callback", "decide-approve");
    req.caller.as_mut().unwrap().employee_id = "E013".into();
    let resp = approval_callback::handle(&demo.ports, req).await;
    assert_eq!(resp.status, 403);
    assert_eq!(task_status(&demo).await, ApprovalStatus::Pending);
}

#[tokio::test]
async fn a_body_with_an_unknown_field_is_400() {
    let (demo, _) = waiting_for_manager().await;
    let mut req = http_event("approval-callback", "decide-approve");
    req.body = br#"{"decision":"approve","urgent":true}"#.to_vec().into();
    let resp = approval_callback::handle(&demo.ports, req).await;
    assert_eq!(resp.status, 400);
    assert!(resp.body_json()["errors"].is_array());
    assert_eq!(task_status(&demo).await, ApprovalStatus::Pending);
}

#[tokio::test]
async fn without_a_caller_the_answer_is_401() {
    let (demo, _) = waiting_for_manager().await;
    let mut req = http_event("approval-callback", "list-approvals");
    req.caller = None;
    assert_eq!(
        approval_callback::handle(&demo.ports, req).await.status,
        401
    );
}

/// E013's adobe-creative-cloud holding under review in the quarterly campaign, by E013's manager E009.
async fn under_review() -> Demo {
    let demo = demo_ports().await;
    demo.hold("E013", "adobe-creative-cloud").await;
    reviews::start_scheduled(&demo.ports).await.unwrap();
    demo
}

#[tokio::test]
async fn the_manager_lists_and_keeps_a_review_once() {
    let demo = under_review().await;

    let listed = call(&demo, "list-reviews").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body_json());
    let items = listed.body_json()["items"].clone();
    assert_eq!(items[0]["reviewId"], "2026-Q4.E013.adobe-creative-cloud");
    assert_eq!(items[0]["status"], "PENDING");

    let kept = call(&demo, "decide-review-keep").await;
    assert_eq!(kept.status, 200, "{:?}", kept.body_json());
    assert_eq!(kept.body_json()["status"], "KEPT");
    assert_eq!(kept.body_json()["decidedBy"], "E009");
    assert!(demo.workflow.deprovisions().is_empty());

    let again = call(&demo, "decide-review-keep").await;
    assert_eq!(again.status, 409, "{:?}", again.body_json());
    assert_eq!(
        call(&demo, "list-reviews").await.body_json()["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_review_decision_by_someone_else_is_404() {
    let demo = under_review().await;

    let resp = call(&demo, "decide-review-not-reviewer").await;

    assert_eq!(resp.status, 404, "{:?}", resp.body_json());
    assert!(demo.workflow.deprovisions().is_empty());
}
