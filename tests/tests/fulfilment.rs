//! A request's journey: auto-approval, staged approvals, rejection, cancel, seats under concurrency.

use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn low_risk_item_is_auto_approved_and_fulfilled() {
    let s = Stack::start().await;
    let id = s.submit("E013", json!({"itemId": "lucidchart"})).await;
    let req = s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(req["autoApproved"], true);
    let statuses: Vec<_> = req["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec!["SUBMITTED", "APPROVED", "PROVISIONING", "FULFILLED"]
    );
    let held = s
        .wait_assignment("E013", "lucidchart", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;
    assert_eq!(held["sources"][0]["requestId"], id.as_str());

    let history = s
        .send("GET", &format!("/_local/executions/{id}"), None, None, &[])
        .await;
    assert_eq!(history.status, 200);
    assert_eq!(history.body["execution"]["status"], "SUCCEEDED");
}

#[tokio::test]
async fn two_stage_approval_manager_then_owner_is_fulfilled_and_takes_a_seat() {
    let s = Stack::start().await;
    // E013's manager is E009; adobe-creative-cloud's owner is E016; pool-adobe-cc has 2 seats.
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let first = s.wait_open_stage("E013", &id, 0).await;
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    let pending = s.call("E009", "GET", "/approvals", None).await;
    assert!(
        pending.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["approvalId"] == first.as_str())
    );
    assert!(
        pending.body.to_string().find("taskToken").is_none(),
        "task tokens never leave the backend"
    );
    // The owner is not asked before the manager decided.
    let owner_early = s.call("E016", "GET", "/approvals", None).await;
    assert!(!owner_early.body.to_string().contains(&id));

    assert_eq!(
        s.decide("E009", &first, "approve", Some("ok")).await.status,
        200
    );
    let second = s.wait_open_stage("E013", &id, 1).await;
    assert_eq!(s.decide("E016", &second, "approve", None).await.status, 200);

    let req = s.wait_status("E013", &id, "FULFILLED").await;
    let stage_statuses: Vec<_> = req["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["status"].clone())
        .collect();
    assert_eq!(stage_statuses, vec!["APPROVED", "APPROVED"]);
    s.wait_pool("pool-adobe-cc", 0, 1).await;
    // The approvers can read what they approved; the request lists under their approver view.
    let as_approver = s.call("E016", "GET", "/requests?role=approver", None).await;
    assert!(
        as_approver.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["requestId"] == id.as_str())
    );
}

#[tokio::test]
async fn rejection_ends_the_request_and_releases_the_seat() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let first = s.wait_open_stage("E013", &id, 0).await;
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    assert_eq!(
        s.decide("E009", &first, "reject", Some("use the free tier"))
            .await
            .status,
        200
    );
    let req = s.wait_status("E013", &id, "REJECTED").await;
    assert_eq!(req["outcome"]["error"], "Provisio.Rejected");
    assert!(
        req["outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains("use the free tier")
    );
    s.wait_pool("pool-adobe-cc", 0, 0).await;
    // A decided approval cannot be decided again.
    assert_problem(&s.decide("E009", &first, "approve", None).await, 409);
    assert!(
        s.assignments("E013")
            .await
            .iter()
            .all(|a| a["itemId"] != "adobe-creative-cloud")
    );
}

#[tokio::test]
async fn concurrent_requests_never_oversubscribe_a_pool() {
    let s = Stack::start().await;
    s.put_item("team-seat", json!({"licensePoolId": "pool-team"}))
        .await;
    s.put_pool("pool-team", "team-seat", 3).await;
    let requesters = ["E010", "E013", "E015", "E020", "E022"];
    let mut submits = tokio::task::JoinSet::new();
    for employee in requesters {
        let s = s.clone();
        submits.spawn(async move {
            (
                employee,
                s.submit(employee, json!({"itemId": "team-seat"})).await,
            )
        });
    }
    let submitted = submits.join_all().await;
    assert_eq!(submitted.len(), requesters.len());

    let mut fulfilled = 0;
    for (employee, id) in &submitted {
        let req = s
            .wait_request(employee, id, "terminal", |r| {
                r["status"] == "FULFILLED" || r["status"] == "REJECTED"
            })
            .await;
        if req["status"] == "FULFILLED" {
            fulfilled += 1;
        } else {
            assert_eq!(req["outcome"]["error"], "Provisio.SeatUnavailable");
            assert!(
                req["outcome"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no seat available in license pool pool-team")
            );
        }
    }
    assert_eq!(fulfilled, 3);
    let pool = s.wait_pool("pool-team", 0, 3).await;
    assert_eq!(pool["available"], 0);
}

#[tokio::test]
async fn cancel_while_pending_releases_the_seat_and_closes_the_approval() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    let r = s
        .call("E013", "POST", &format!("/requests/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "CANCELLED");
    s.wait_pool("pool-adobe-cc", 0, 0).await;
    let pending = s.call("E009", "GET", "/approvals", None).await;
    assert!(!pending.body.to_string().contains(&approval));
    assert_problem(&s.decide("E009", &approval, "approve", None).await, 409);
    // Cancelling twice is a conflict, not a silent success.
    assert_problem(
        &s.call("E013", "POST", &format!("/requests/{id}/cancel"), None)
            .await,
        409,
    );
    assert_eq!(s.request("E013", &id).await["status"], "CANCELLED");
}

#[tokio::test]
async fn an_approval_nobody_decides_expires_and_releases_the_seat() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    // The callback task times out after 14 days; the virtual clock gets there at once.
    let advanced = s
        .send(
            "POST",
            "/_local/clock/advance",
            None,
            Some(br#"{"hours": 337}"#),
            &[],
        )
        .await;
    assert_eq!(advanced.status, 200);
    let req = s.wait_status("E013", &id, "EXPIRED").await;
    assert_eq!(req["outcome"]["error"], "States.Timeout");
    assert_eq!(req["stages"][0]["status"], "EXPIRED");
    s.wait_pool("pool-adobe-cc", 0, 0).await;
    assert_problem(&s.decide("E009", &approval, "approve", None).await, 409);
}
