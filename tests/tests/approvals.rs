//! Who may decide: segregation of duties, delegates, and no existence leaks.

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
