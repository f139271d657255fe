//! HR lifecycle over the signed webhook: joiners get birthright access, movers lose what no longer fits after a
//! grace period, leave opens a delegate window, and events are applied once and in order however they arrive.

use provisio_tests::{HR_WEBHOOK_SECRET, Stack, assert_problem};
use serde_json::{Value, json};

fn employee(id: &str, department: &str) -> Value {
    json!({
        "employeeId": id, "email": format!("{id}@example.com"), "displayName": format!("Person {id}"),
        "department": department, "jobTitle": "Engineer", "location": "DE", "costCenter": "CC-100",
        "managerId": "E002", "employmentType": "FTE"
    })
}

fn event(id: &str, kind: &str, at: &str, employee: Value) -> Value {
    json!({"eventId": id, "type": kind, "occurredAt": at, "employee": employee})
}

#[tokio::test]
async fn a_joiner_gets_birthright_items_requested_for_them() {
    let s = Stack::start().await;
    s.put_engineering_birthright().await;
    s.hr_events(&[event(
        "e-hire-900",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E900", "Engineering"),
    )])
    .await;

    let who = s.identity("E900").await;
    assert_eq!(who["status"], "active");
    assert_eq!(who["department"], "Engineering");
    let held = s
        .wait_assignment("E900", "eng-wiki", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;
    assert_eq!(held["holderId"], "E900");
    let requests = s.call("E900", "GET", "/requests", None).await.body["items"].clone();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 1, "one birthright request: {requests:?}");
    assert_eq!(requests[0]["requesterId"], "provisio");
    assert_eq!(requests[0]["beneficiaryId"], "E900");
    assert_eq!(
        s.published("EmployeeJoined").await,
        [json!({"employeeId": "E900"})]
    );

    // Someone outside Engineering gets nothing.
    s.hr_events(&[event(
        "e-hire-901",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E901", "Sales"),
    )])
    .await;
    assert_eq!(s.identity("E901").await["department"], "Sales");
    assert!(s.assignments("E901").await.is_empty());
}

#[tokio::test]
async fn a_duplicate_event_is_applied_once() {
    let s = Stack::start().await;
    s.put_engineering_birthright().await;
    let hire = event(
        "e-dup",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E900", "Engineering"),
    );
    // Delivered twice by the HR system (a retry after a lost 202), the second time with a new signature.
    s.hr_events(std::slice::from_ref(&hire)).await;
    s.wait_assignment("E900", "eng-wiki", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;
    s.hr_events(&[hire]).await;
    let requests = s.call("E900", "GET", "/requests", None).await.body["items"].clone();
    assert_eq!(requests.as_array().unwrap().len(), 1, "{requests:?}");
    assert_eq!(s.published("EmployeeJoined").await.len(), 1);
}

#[tokio::test]
async fn reordered_events_end_in_the_state_of_the_latest() {
    let s = Stack::start().await;
    s.hr_events(&[event(
        "e-1",
        "hire",
        "2026-11-01T09:00:00Z",
        employee("E900", "Engineering"),
    )])
    .await;
    // The termination of the 20th arrives before a move of the 10th.
    let mut moved = employee("E900", "Sales");
    moved["jobTitle"] = json!("Account Executive");
    s.hr_events(&[
        event(
            "e-3",
            "terminate",
            "2026-11-20T17:00:00Z",
            json!({"employeeId": "E900"}),
        ),
        event("e-2", "update", "2026-11-10T09:00:00Z", moved),
    ])
    .await;
    let who = s.identity("E900").await;
    assert_eq!(who["status"], "terminated");
    assert_eq!(
        who["department"], "Engineering",
        "the older move never applies"
    );
    assert_eq!(who["lastChange"]["changeId"], "e-3");
    assert_eq!(s.published("EmployeeLeft").await.len(), 1);
    assert!(s.published("EmployeeMoved").await.is_empty());
}

#[tokio::test]
async fn a_mover_keeps_what_no_longer_fits_for_the_grace_period_then_loses_it() {
    let s = Stack::start().await;
    s.put_engineering_birthright().await;
    s.hr_events(&[event(
        "e-hire",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E900", "Engineering"),
    )])
    .await;
    s.wait_assignment("E900", "eng-wiki", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;

    s.hr_events(&[event(
        "e-move",
        "update",
        "2026-11-23T09:00:00Z",
        json!({"employeeId": "E900", "department": "Sales"}),
    )])
    .await;
    let notices = s.published("RevocationScheduled").await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["assignmentId"], "E900.eng-wiki");
    assert_eq!(s.published("EmployeeMoved").await.len(), 1);

    // Six days in: still held.
    s.advance_hours(6 * 24).await;
    assert_eq!(s.run_schedule("compliance").await["revoked"], 0);
    let held = s.assignments("E900").await;
    assert_eq!(held[0]["status"], "ACTIVE");
    // Past the 7-day grace period: revoked by the daily sweep.
    s.advance_hours(2 * 24).await;
    assert_eq!(s.run_schedule("compliance").await["revoked"], 1);
    s.wait_assignment("E900", "eng-wiki", "REVOKED", |a| a["status"] == "REVOKED")
        .await;
}

#[tokio::test]
async fn a_mover_who_moves_back_within_the_grace_period_keeps_access() {
    let s = Stack::start().await;
    s.put_engineering_birthright().await;
    let hire = event(
        "e-hire",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E900", "Engineering"),
    );
    let away = event(
        "e-away",
        "update",
        "2026-11-23T09:00:00Z",
        json!({"employeeId": "E900", "department": "Sales"}),
    );
    let back = event(
        "e-back",
        "update",
        "2026-11-24T09:00:00Z",
        json!({"employeeId": "E900", "department": "Engineering"}),
    );
    s.hr_events(&[hire]).await;
    s.wait_assignment("E900", "eng-wiki", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;
    s.hr_events(&[away, back]).await;
    assert_eq!(s.published("RevocationCancelled").await.len(), 1);
    s.advance_hours(8 * 24).await;
    assert_eq!(s.run_schedule("compliance").await["revoked"], 0);
    assert_eq!(s.assignments("E900").await[0]["status"], "ACTIVE");
    let requests = s.call("E900", "GET", "/requests", None).await.body["items"].clone();
    assert_eq!(
        requests.as_array().unwrap().len(),
        1,
        "moving back asks for nothing again: {requests:?}"
    );
}

#[tokio::test]
async fn leave_opens_a_delegate_window_for_approvals_and_its_end_closes_it() {
    let s = Stack::start().await;
    // E013 reports to E009; E010 stands in for E009 during leave.
    let id = s
        .submit("E013", json!({"itemId": "figma-professional"}))
        .await;
    s.wait_open_stage("E013", &id, 0).await;
    let pending = |who: &'static str| {
        let s = s.clone();
        async move {
            let r = s.call(who, "GET", "/approvals", None).await;
            assert_eq!(r.status, 200);
            r.body["items"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(pending("E010").await.is_empty());

    // Leave starts now (a leave dated ahead would open its window then).
    let now = s.stack.clock.now();
    s.hr_events(&[{
        let mut e = event(
            "e-leave",
            "leave_start",
            &now.to_rfc3339(),
            json!({"employeeId": "E009"}),
        );
        e["delegateId"] = json!("E010");
        e
    }])
    .await;
    assert_eq!(s.identity("E009").await["status"], "on_leave");
    let as_delegate = pending("E010").await;
    assert_eq!(as_delegate.len(), 1, "{as_delegate:?}");
    assert_eq!(as_delegate[0]["asDelegateOf"], "E009");

    s.advance_hours(24).await;
    let back = s.stack.clock.now();
    s.hr_events(&[event(
        "e-back",
        "leave_end",
        &back.to_rfc3339(),
        json!({"employeeId": "E009"}),
    )])
    .await;
    assert_eq!(s.identity("E009").await["status"], "active");
    assert!(pending("E010").await.is_empty());
    assert_eq!(pending("E009").await.len(), 1);
}

/// Posts `body` with `signature` and asserts the refusal left no trace: nothing queued, nobody created.
async fn refused(s: &Stack, body: &[u8], signature: Option<&str>, status: u16) {
    let headers: Vec<(&str, &str)> = signature
        .map(|v| vec![("x-provisio-signature", v)])
        .unwrap_or_default();
    let r = s
        .send("POST", "/hr/events", None, Some(body), &headers)
        .await;
    assert_problem(&r, status);
    let queue = s.wait_hr_queue_idle().await;
    assert_eq!(queue["deadLetters"], json!([]));
    assert!(s.identity("E900").await.is_null(), "no state change");
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_malformed_bodies_are_refused_with_no_state_change() {
    let s = Stack::start().await;
    let hire = event(
        "e-hire",
        "hire",
        "2026-11-22T09:00:00Z",
        employee("E900", "Engineering"),
    )
    .to_string();
    let now = s.stack.clock.now().timestamp();
    let sign = |secret: &str, t: i64, body: &str| {
        provisio_core::signature::sign(secret.as_bytes(), t, body.as_bytes())
    };

    refused(&s, hire.as_bytes(), None, 401).await;
    refused(&s, hire.as_bytes(), Some(&sign("guess", now, &hire)), 401).await;
    let other = hire.replace("E900", "E901");
    refused(
        &s,
        other.as_bytes(),
        Some(&sign(HR_WEBHOOK_SECRET, now, &hire)),
        401,
    )
    .await;
    let stale = sign(HR_WEBHOOK_SECRET, now - 301, &hire);
    refused(&s, hire.as_bytes(), Some(&stale), 401).await;

    // Signed, but not an HR event.
    let garbage = "{\"eventId\": ";
    refused(
        &s,
        garbage.as_bytes(),
        Some(&sign(HR_WEBHOOK_SECRET, now, garbage)),
        400,
    )
    .await;
    let unknown_type = hire.replace("\"hire\"", "\"promote\"");
    let sig = sign(HR_WEBHOOK_SECRET, now, &unknown_type);
    refused(&s, unknown_type.as_bytes(), Some(&sig), 400).await;
    let incomplete = event(
        "e-x",
        "hire",
        "2026-11-22T09:00:00Z",
        json!({"employeeId": "E900"}),
    )
    .to_string();
    let sig = sign(HR_WEBHOOK_SECRET, now, &incomplete);
    let r = s
        .send(
            "POST",
            "/hr/events",
            None,
            Some(incomplete.as_bytes()),
            &[("x-provisio-signature", &sig)],
        )
        .await;
    assert_problem(&r, 400);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&"employee.department"), "{fields:?}");
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    refused(
        &s,
        huge.as_bytes(),
        Some(&sign(HR_WEBHOOK_SECRET, now, &huge)),
        413,
    )
    .await;

    // The same event, properly signed, goes through.
    let r = s.post_hr_event(&serde_json::from_str(&hire).unwrap()).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body, json!({"eventId": "e-hire", "status": "queued"}));
    s.wait_hr_queue_idle().await;
    assert_eq!(s.identity("E900").await["status"], "active");
}

#[tokio::test]
async fn an_event_that_cannot_be_applied_ends_in_the_dead_letter_queue_without_blocking_others() {
    let s = Stack::start().await;
    // An update for someone HR never hired cannot be applied, however often it is tried.
    s.hr_events(&[
        event(
            "e-orphan",
            "update",
            "2026-11-22T09:00:00Z",
            json!({"employeeId": "E999", "department": "Sales"}),
        ),
        event(
            "e-hire",
            "hire",
            "2026-11-22T09:00:00Z",
            employee("E900", "Engineering"),
        ),
    ])
    .await;
    let queue = s.wait_hr_queue_idle().await;
    let dead = queue["deadLetters"].as_array().unwrap();
    assert_eq!(dead.len(), 1, "{queue:#}");
    assert_eq!(dead[0]["deduplicationId"], "e-orphan");
    assert_eq!(dead[0]["receiveCount"], 5, "five attempts, then set aside");
    assert!(s.identity("E999").await.is_null());
    assert_eq!(s.identity("E900").await["status"], "active");
}

#[tokio::test]
async fn a_new_manager_takes_over_the_movers_pending_approvals() {
    let s = Stack::start().await;
    // E013 reports to E009 and waits for E009's approval.
    let id = s
        .submit("E013", json!({"itemId": "figma-professional"}))
        .await;
    let approval = s.wait_open_stage("E013", &id, 0).await;
    s.hr_events(&[event(
        "e-new-manager",
        "update",
        "2026-11-22T09:00:00Z",
        json!({"employeeId": "E013", "managerId": "E002"}),
    )])
    .await;

    let pending = |who: &'static str| {
        let s = s.clone();
        async move {
            let r = s.call(who, "GET", "/approvals", None).await;
            r.body["items"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(
        pending("E009").await.is_empty(),
        "the old manager no longer waits"
    );
    let mine = pending("E002").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["approvalId"], approval.as_str());
    assert_eq!(s.published("ApprovalReassigned").await.len(), 1);
    let r = s
        .call(
            "E002",
            "POST",
            &format!("/approvals/{approval}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.wait_status("E013", &id, "FULFILLED").await;
}

#[tokio::test]
async fn a_leaver_posted_by_hr_loses_every_holding() {
    let s = Stack::start().await;
    let id = s.submit("E013", json!({"itemId": "lucidchart"})).await;
    s.wait_status("E013", &id, "FULFILLED").await;

    s.hr_events(&[event(
        "e-leave-company",
        "terminate",
        "2026-11-22T09:00:00Z",
        json!({"employeeId": "E013"}),
    )])
    .await;

    assert_eq!(s.identity("E013").await["status"], "terminated");
    let start = std::time::Instant::now();
    while s.published("OffboardingCompleted").await.is_empty() {
        assert!(
            start.elapsed().as_secs() < 20,
            "offboarding never completed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let holding = s
        .stack
        .ports
        .assignments
        .get("E013.lucidchart")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        holding.status,
        provisio_core::model::AssignmentStatus::Revoked
    );
    assert_eq!(s.published("EmployeeLeft").await.len(), 1);
}
