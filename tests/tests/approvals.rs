//! Who may decide: segregation of duties, delegates, and no existence leaks; a decision whose workflow callback
//! fails is completed by its retry or by the escalation sweep.

use std::sync::Arc;

use provisio_core::model::Caller;
use provisio_core::usecases::approvals;
use provisio_memory::{CallbackFault, FlakyWorkflow};
use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn a_requester_cannot_approve_their_own_request() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    let r = s.decide("E013", &approval, "approve", None).await;
    assert_problem(&r, 403);
    assert_eq!(s.request("E013", &id).await["stages"][0]["status"], "OPEN");
}

#[tokio::test]
async fn one_person_approves_at_most_one_stage() {
    let s = Stack::start().await;
    // E009 is E013's manager and also in the approver set of the second stage (as owner).
    s.put_item(
        "design-suite",
        json!({"ownerId": "E009", "approvalPolicy": {"stages": [
            {"name": "manager", "approvers": [{"type": "manager"}]},
            {"name": "owner", "approvers": [{"type": "itemOwner"}, {"type": "group", "group": "security-approvers"}]}
        ]}}),
    )
    .await;
    let id = s.submit("E013", json!({"itemId": "design-suite"})).await;
    let first = s.wait_open_stage("E013", &id, 0).await;
    assert_eq!(s.decide("E009", &first, "approve", None).await.status, 200);
    let second = s.wait_open_stage("E013", &id, 1).await;

    let twice = s.decide("E009", &second, "approve", None).await;
    assert_problem(&twice, 403);
    assert!(
        twice.body["detail"]
            .as_str()
            .unwrap()
            .contains("another stage")
    );
    // The owner was left out of stage 2; the security group still can decide it.
    let req = s.request("E013", &id).await;
    assert_eq!(req["stages"][1]["status"], "OPEN");
    assert_eq!(s.decide("E028", &second, "approve", None).await.status, 200);
    s.wait_status("E013", &id, "FULFILLED").await;
}

#[tokio::test]
async fn the_delegate_of_an_approver_on_leave_decides() {
    let s = Stack::start().await;
    // E011's manager E008 is on leave; her delegate is E009.
    let id = s.submit("E011", json!({"itemId": "github-copilot"})).await;
    let approval = s.wait_open_stage("E011", &id, 0).await;
    let pending = s.call("E009", "GET", "/approvals", None).await;
    assert!(
        pending.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["approvalId"] == approval.as_str())
    );
    // The approver on leave is not asked.
    let away = s.call("E008", "GET", "/approvals", None).await;
    assert!(!away.body.to_string().contains(&approval));

    assert_eq!(
        s.decide("E009", &approval, "approve", None).await.status,
        200
    );
    let req = s.wait_status("E011", &id, "FULFILLED").await;
    assert_eq!(req["stages"][0]["decisions"][0]["approverId"], "E009");
}

#[tokio::test]
async fn strangers_get_404_for_requests_and_approvals() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    assert_problem(
        &s.call("E022", "GET", &format!("/requests/{id}"), None)
            .await,
        404,
    );
    assert_problem(
        &s.call("E022", "POST", &format!("/requests/{id}/cancel"), None)
            .await,
        404,
    );
    assert_problem(&s.decide("E022", &approval, "approve", None).await, 404);
    let unknown = s
        .call("E022", "GET", "/requests/req-does-not-exist", None)
        .await;
    assert_eq!(
        unknown.body["detail"],
        s.call("E022", "GET", &format!("/requests/{id}"), None)
            .await
            .body["detail"]
            .as_str()
            .unwrap()
            .replace(&id, "req-does-not-exist")
    );
    // Its approver and auditors can read it.
    assert_eq!(
        s.call("E009", "GET", &format!("/requests/{id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        s.call("E021", "GET", &format!("/requests/{id}"), None)
            .await
            .status,
        200
    );
}

/// `design-suite` with one manager stage (E013's manager is E009); requests expire after 24 hours.
async fn waiting_for_e009(s: &Stack) -> (String, String) {
    s.put_item(
        "design-suite",
        json!({"approvalPolicy": {"stages": [{"name": "manager", "approvers": [{"type": "manager"}]}],
                                  "maxAgeHours": 24}}),
    )
    .await;
    let id = s.submit("E013", json!({"itemId": "design-suite"})).await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    (id, approval)
}

/// Decides as `approver` through the stack's ports with a workflow engine whose next task callback suffers
/// `fault`, as the approval-callback function would while Step Functions throttles or times out. The HTTP
/// status the function answers.
async fn decide_while_the_callback_fails(
    s: &Stack,
    fault: CallbackFault,
    approver: &str,
    approval: &str,
) -> u16 {
    let mut ports = s.stack.ports.clone();
    ports.workflow = Arc::new(FlakyWorkflow::new(ports.workflow.clone(), fault, 1));
    let who = s
        .stack
        .ports
        .identities
        .get(approver)
        .await
        .unwrap()
        .unwrap();
    let caller = Caller {
        employee_id: approver.into(),
        email: Some(who.email),
        groups: who.groups,
    };
    let input = serde_json::from_value(json!({"decision": "approve"})).unwrap();
    match approvals::decide(&ports, &caller, approval, input).await {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

/// How many `approval.decided` entries the audit trail holds about `subject`.
async fn decided_entries(s: &Stack, subject: &str) -> usize {
    let entries = s.stack.ports.audit.entries().await.unwrap();
    entries
        .iter()
        .filter(|e| e.record.action == "approval.decided" && e.record.subject == subject)
        .count()
}

#[tokio::test]
async fn an_approval_whose_workflow_callback_answer_was_lost_is_completed_by_its_retry() {
    let s = Stack::start().await;
    let (id, approval) = waiting_for_e009(&s).await;

    // The workflow took the approval, but the function never heard so and answered 503.
    let first = decide_while_the_callback_fails(&s, CallbackFault::Lost, "E009", &approval).await;
    assert_eq!(first, 503);

    let retry = s.decide("E009", &approval, "approve", None).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.body["status"], "APPROVED");
    s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(decided_entries(&s, &approval).await, 1);
    assert_eq!(decided_entries(&s, &id).await, 1);
    assert_eq!(s.published("ApprovalDecided").await.len(), 1);
    // The decision stands: another one is refused.
    assert_problem(&s.decide("E009", &approval, "reject", None).await, 409);
}

#[tokio::test]
async fn an_approval_whose_workflow_callback_was_refused_is_completed_by_its_retry() {
    let s = Stack::start().await;
    let (id, approval) = waiting_for_e009(&s).await;

    let first =
        decide_while_the_callback_fails(&s, CallbackFault::Refused, "E009", &approval).await;
    assert_eq!(first, 503);
    assert_problem(
        &s.decide("E009", &approval, "approve", Some("another comment"))
            .await,
        409,
    );

    let retry = s.decide("E009", &approval, "approve", None).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(decided_entries(&s, &approval).await, 1);
    assert_eq!(decided_entries(&s, &id).await, 1);
}

#[tokio::test]
async fn the_escalation_sweep_completes_an_unfinished_approval_instead_of_expiring_it() {
    let s = Stack::start().await;
    let (id, approval) = waiting_for_e009(&s).await;
    let first =
        decide_while_the_callback_fails(&s, CallbackFault::Refused, "E009", &approval).await;
    assert_eq!(first, 503);

    // Nobody retries; the request passes its maximum age (24 h) before the sweep runs.
    s.advance_hours(25).await;
    let report = s.run_schedule("escalation").await;

    assert_eq!(report["completed"], 1, "{report:?}");
    assert_eq!(report["expired"], 0, "{report:?}");
    s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(decided_entries(&s, &approval).await, 1);
    assert_eq!(s.run_schedule("escalation").await["completed"], 0);
}
