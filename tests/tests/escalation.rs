//! Approvals must not rot: the escalation schedule reminds, escalates and finally expires, under the virtual
//! clock, through the same `/_local/schedules/escalation/run` the timer would call.

use provisio_tests::Stack;
use serde_json::json;

#[tokio::test]
async fn an_ignored_approval_is_reminded_escalated_and_finally_expired_with_its_seat_released() {
    let s = Stack::start().await;
    // adobe-creative-cloud: manager stage with a 48-hour SLA, requests expire after 168 hours.
    let id = s
        .submit("E013", json!({"itemId": "adobe-creative-cloud"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    s.advance_hours(47).await;
    assert_eq!(
        s.run_schedule("escalation").await["reminded"],
        0,
        "within the SLA"
    );

    s.advance_hours(2).await;
    assert_eq!(s.run_schedule("escalation").await["reminded"], 1);
    let reminders = s.published("ApprovalReminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["approvalId"], approval);

    // Past twice the SLA the approver's manager is added; the approver still sees the task too.
    s.advance_hours(48).await;
    assert_eq!(s.run_schedule("escalation").await["escalated"], 1);
    let manager = s
        .stack
        .ports
        .identities
        .get("E009")
        .await
        .unwrap()
        .unwrap()
        .manager_id
        .unwrap();
    for approver in ["E009", manager.as_str()] {
        let inbox = s.call(approver, "GET", "/approvals", None).await;
        let ids: Vec<_> = inbox.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["approvalId"].clone())
            .collect();
        assert!(
            ids.contains(&json!(approval)),
            "{approver} sees the task: {:?}",
            inbox.body
        );
    }

    // Past the policy's maximum age (168 h) the request expires and the seat goes back.
    s.advance_hours(72).await;
    assert_eq!(s.run_schedule("escalation").await["expired"], 1);
    let req = s.wait_status("E013", &id, "EXPIRED").await;
    assert_eq!(req["outcome"]["error"], "Provisio.Expired");
    s.wait_pool("pool-adobe-cc", 0, 0).await;
    let late = s
        .call(
            "E009",
            "POST",
            &format!("/approvals/{approval}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(late.status, 409, "too late to decide: {:?}", late.body);
}

#[tokio::test]
async fn an_unknown_schedule_is_404() {
    let s = Stack::start().await;
    let r = s
        .send(
            "POST",
            "/_local/schedules/nightly-magic/run",
            None,
            None,
            &[],
        )
        .await;
    provisio_tests::assert_problem(&r, 404);
}
