//! The offboarding steps, driven by events/offboarding/*.json over the demo organisation in memory. The leaver is
//! E009 (Daniel Okafor, manager E002, approver of E013, E014 and E015).

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::*;
use provisio_core::names::{errors, event_types};
use provisio_core::ports::Ports;
use provisio_core::usecases::approvals::{self, DecisionInput, OpenStage};
use provisio_core::usecases::fulfilment::{self, Deprovision};
use provisio_core::usecases::offboarding::LEAVER_NOTE;
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, cases, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

const LEAVER: &str = "E009";

async fn step(demo: &Demo, case: &str) -> Result<Value, Error> {
    invoke_json(task_event("offboarding", case), |input| {
        offboarding::handle(&demo.ports, input)
    })
    .await
}

fn error_type(e: Error) -> String {
    Diagnostic::from(TaskError(e)).error_type
}

async fn set_identity(p: &Ports, id: &str, change: impl FnOnce(&mut Identity)) {
    let mut who = p.identities.get(id).await.unwrap().expect("identity");
    change(&mut who);
    p.identities.put(who).await.unwrap();
}

async fn terminate(p: &Ports, id: &str) {
    set_identity(p, id, |who| who.status = IdentityStatus::Terminated).await;
}

/// Details of the published events of one type, in order.
fn published(demo: &Demo, detail_type: &str) -> Vec<Value> {
    demo.events
        .events()
        .into_iter()
        .filter(|e| e.detail_type == detail_type)
        .map(|e| e.detail)
        .collect()
}

async fn audit_actions(p: &Ports, subject: &str) -> Vec<String> {
    p.audit
        .entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.subject == subject)
        .map(|e| e.record.action)
        .collect()
}

/// Stores a request of `requester` for `beneficiary` under a fixed id, as intake records it.
async fn seed_for(p: &Ports, request_id: &str, requester: &str, beneficiary: &str, item_id: &str) {
    let item = p.catalog.get(item_id).await.unwrap().expect("item");
    let req = Request::submitted(
        NewRequest {
            request_id: request_id.into(),
            item_id: item_id.into(),
            item_version: item.version,
            requester_id: requester.into(),
            beneficiary_id: beneficiary.into(),
            justification: None,
            duration_hours: None,
            extends_assignment_id: None,
        },
        p.clock.now(),
    );
    p.requests.create(&req).await.unwrap();
}

/// Routes a stored request and opens its first approval stage, as the fulfilment state machine does.
async fn open_first_stage(p: &Ports, request_id: &str) -> ApprovalTask {
    fulfilment::route(p, request_id).await.expect("route");
    let open = OpenStage {
        request_id: request_id.into(),
        stage_index: 0,
        task_token: format!("token-{request_id}"),
    };
    approvals::open_stage(p, &open).await.expect("open stage")
}

async fn approval(p: &Ports, approval_id: &str) -> ApprovalTask {
    p.approvals.get(approval_id).await.unwrap().expect("task")
}

async fn assignment(p: &Ports, id: &str) -> Assignment {
    p.assignments.get(id).await.unwrap().expect("assignment")
}

fn user(id: &str) -> Principal {
    Principal::User(id.into())
}

#[test]
fn every_fixture_is_a_step_payload() {
    let cases = cases("offboarding");
    assert!(cases.len() >= 6, "{cases:?}");
    for case in cases {
        let payload = task_event("offboarding", &case);
        serde_json::from_value::<offboarding::Step>(payload)
            .unwrap_or_else(|e| panic!("events/offboarding/{case}.json: {e}"));
    }
}

#[tokio::test]
async fn only_a_terminated_identity_is_offboarded() {
    let demo = demo_ports().await;
    let err = step(&demo, "check-leaver")
        .await
        .expect_err("E009 is active");
    assert_eq!(error_type(err), errors::FORBIDDEN);
    // The listing before revocation checks again (a rehire while offboarding ran keeps their access).
    let err = step(&demo, "list-holdings")
        .await
        .expect_err("E009 is active");
    assert_eq!(error_type(err), errors::FORBIDDEN);

    terminate(&demo.ports, LEAVER).await;
    let out = step(&demo, "check-leaver").await.expect("terminated");
    assert_eq!(out, json!({"employeeId": LEAVER}));
}

#[tokio::test]
async fn open_requests_are_cancelled_and_approved_ones_are_stopped() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    // Waiting for E009's manager E002; its seat-less task holds the workflow's token.
    demo.seed_request("req-pending", LEAVER, "figma-professional")
        .await;
    let pending = open_first_stage(p, "req-pending").await;
    assert_eq!(pending.approvers, [user("E002")]);
    // Auto-approved, fulfilment about to provision it.
    demo.seed_request("req-approved", LEAVER, "lucidchart")
        .await;
    fulfilment::route(p, "req-approved").await.unwrap();
    demo.fulfil("req-done", LEAVER, "adobe-acrobat-pro").await;
    // E009 asked for something for a report of theirs: E013 still needs it.
    seed_for(p, "req-for-e013", LEAVER, "E013", "lucidchart").await;
    terminate(p, LEAVER).await;

    let out = step(&demo, "cancel-requests").await.expect("cancel");

    assert_eq!(
        out,
        json!({"cancelled": 1, "inFlight": ["req-approved"], "settled": false})
    );
    let cancelled = demo.request("req-pending").await;
    assert_eq!(cancelled.status, RequestStatus::Cancelled);
    assert_eq!(cancelled.outcome.as_ref().unwrap().reason, LEAVER_NOTE);
    assert_eq!(cancelled.stages[0].status, StageStatus::Cancelled);
    assert_eq!(
        approval(p, &pending.approval_id).await.status,
        ApprovalStatus::Cancelled
    );
    let failed = demo.workflow.failed_tasks();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].task_token, "token-req-pending");
    assert_eq!(
        failed[0].error,
        errors::CANCELLED,
        "the waiting fulfilment goes to ReleaseSeat"
    );
    let in_flight = demo.request("req-approved").await;
    assert_eq!(in_flight.status, RequestStatus::Approved);
    assert!(in_flight.cancel_requested);
    assert_eq!(
        demo.request("req-done").await.status,
        RequestStatus::Fulfilled
    );
    let other = demo.request("req-for-e013").await;
    assert_eq!(
        (other.status, other.cancel_requested),
        (RequestStatus::Submitted, false)
    );
    assert_eq!(
        published(&demo, event_types::REQUEST_CANCELLED),
        [json!({"requestId": "req-pending", "reason": "beneficiaryLeft"})]
    );

    // A redelivery cancels nothing twice and announces nothing twice.
    let again = step(&demo, "cancel-requests").await.expect("redelivery");
    assert_eq!(
        again,
        json!({"cancelled": 0, "inFlight": ["req-approved"], "settled": false})
    );
    assert_eq!(published(&demo, event_types::REQUEST_CANCELLED).len(), 1);
    assert_eq!(demo.workflow.failed_tasks().len(), 1);

    // Fulfilment of the flagged request stops at its next step; once it is closed, the requests are settled.
    let stopped = fulfilment::provision(p, "req-approved").await;
    assert!(matches!(stopped, Err(Error::Cancelled)), "{stopped:?}");
    let close = fulfilment::Close {
        request_id: "req-approved".into(),
        error: Some(errors::CANCELLED.into()),
        cause: Some("stopped".into()),
    };
    fulfilment::close(p, &close).await.unwrap();
    let settled = step(&demo, "cancel-requests").await.expect("settled");
    assert_eq!(
        settled,
        json!({"cancelled": 0, "inFlight": [], "settled": true})
    );
    assert!(
        demo.connectors.grants().len() == 1,
        "only req-done was granted"
    );
}

#[tokio::test]
async fn approvals_waiting_for_the_leaver_go_to_their_manager() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    // req-fixture-1: E013 asks for adobe-creative-cloud; the manager stage waits for E009.
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    let task = open_first_stage(p, FIXTURE_REQUEST_ID).await;
    assert_eq!(task.approvers, [user(LEAVER)]);
    terminate(p, LEAVER).await;

    let out = step(&demo, "reassign-approvals").await.expect("reassign");

    assert_eq!(out, json!({"reassigned": 1, "unassigned": []}));
    let moved = approval(p, &task.approval_id).await;
    assert_eq!(moved.approvers, [user("E002")]);
    assert_eq!(moved.status, ApprovalStatus::Pending);
    assert_eq!(
        moved.task_token, task.task_token,
        "the same workflow still waits"
    );
    assert_eq!(
        published(&demo, event_types::APPROVAL_REASSIGNED),
        [
            json!({"approvalId": task.approval_id, "requestId": FIXTURE_REQUEST_ID,
                "from": "user:E009", "to": "user:E002"})
        ]
    );
    assert!(
        audit_actions(p, &task.approval_id)
            .await
            .contains(&"approval.reassigned".to_string())
    );

    // E002 finds it among their approvals and decides; the waiting workflow resumes.
    let manager = Caller {
        employee_id: "E002".into(),
        email: None,
        groups: vec![],
    };
    let inbox = approvals::pending_for(p, &manager).await.unwrap();
    assert!(inbox.iter().any(|v| v.task.approval_id == task.approval_id));
    let decision = DecisionInput {
        decision: Decision::Approve,
        comment: None,
    };
    approvals::decide(p, &manager, &task.approval_id, decision)
        .await
        .expect("the manager may decide");
    assert_eq!(
        demo.workflow.completed_tasks()[0].task_token,
        task.task_token
    );

    // A redelivery finds nothing waiting for E009 any more.
    let again = step(&demo, "reassign-approvals").await.expect("redelivery");
    assert_eq!(again, json!({"reassigned": 0, "unassigned": []}));
    assert_eq!(published(&demo, event_types::APPROVAL_REASSIGNED).len(), 1);
}

#[tokio::test]
async fn without_a_manager_approvals_fall_back_to_the_policy_group_then_the_item_owner() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    // An item like figma-professional (owned by E009) whose policy names a fallback group.
    let mut wiki = p.catalog.get("figma-professional").await.unwrap().unwrap();
    wiki.item_id = "team-wiki".into();
    wiki.approval_policy.fallback_group = Some("it-fulfilment".into());
    p.catalog.put(wiki).await.unwrap();
    // Three requests of E009's reports, each waiting for E009.
    demo.seed_request("req-adobe", "E013", "adobe-creative-cloud")
        .await;
    demo.seed_request("req-wiki", "E014", "team-wiki").await;
    demo.seed_request("req-figma", "E015", "figma-professional")
        .await;
    for id in ["req-adobe", "req-wiki", "req-figma"] {
        assert_eq!(open_first_stage(p, id).await.approvers, [user(LEAVER)]);
    }
    set_identity(p, LEAVER, |who| {
        who.status = IdentityStatus::Terminated;
        who.manager_id = None;
    })
    .await;

    let out = step(&demo, "reassign-approvals").await.expect("reassign");

    // figma-professional: no fallback group, and its owner is the leaver: nobody can take it.
    assert_eq!(
        out,
        json!({"reassigned": 2, "unassigned": ["req-figma-s0"]})
    );
    assert_eq!(
        approval(p, "req-wiki-s0").await.approvers,
        [Principal::Group("it-fulfilment".into())]
    );
    assert_eq!(
        approval(p, "req-adobe-s0").await.approvers,
        [user("E016")],
        "adobe-creative-cloud's owner"
    );
    assert_eq!(approval(p, "req-figma-s0").await.approvers, [user(LEAVER)]);
}

#[tokio::test]
async fn the_manager_never_takes_over_a_request_they_are_a_party_to() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    // E002 asks for adobe-creative-cloud for E013: the manager stage waits for E013's manager, E009.
    seed_for(p, "req-by-e002", "E002", "E013", "adobe-creative-cloud").await;
    assert_eq!(
        open_first_stage(p, "req-by-e002").await.approvers,
        [user(LEAVER)]
    );
    terminate(p, LEAVER).await;

    step(&demo, "reassign-approvals").await.expect("reassign");

    assert_eq!(
        approval(p, "req-by-e002-s0").await.approvers,
        [user("E016")],
        "not E002 (the requester): the item owner"
    );
}

#[tokio::test]
async fn a_movers_own_approvals_follow_them_to_the_new_manager() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.seed_request("req-e013", "E013", "figma-professional")
        .await;
    demo.seed_request("req-e014", "E014", "figma-professional")
        .await;
    open_first_stage(p, "req-e013").await;
    open_first_stage(p, "req-e014").await;

    // E013 moved to E015's team: only E013's request leaves E009.
    let out = approvals::reassign(p, LEAVER, Some("E015"), Some("E013"))
        .await
        .unwrap();

    assert_eq!(out.reassigned, 1);
    assert_eq!(approval(p, "req-e013-s0").await.approvers, [user("E015")]);
    assert_eq!(approval(p, "req-e014-s0").await.approvers, [user(LEAVER)]);
}

#[tokio::test]
async fn only_active_holdings_are_listed() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    demo.fulfil("req-2", LEAVER, "yubikey-5c").await;
    demo.fulfil("req-3", LEAVER, "adobe-acrobat-pro").await;
    let returned = Deprovision {
        assignment_id: "E009.adobe-acrobat-pro".into(),
        request_id: Some("req-3".into()),
        reason: AssignmentStatus::Returned,
    };
    fulfilment::deprovision(p, &returned).await.unwrap();
    terminate(p, LEAVER).await;

    let out = step(&demo, "list-holdings").await.expect("list");

    let mut items = out["items"].as_array().unwrap().clone();
    items.sort_by_key(|i| i["assignmentId"].as_str().unwrap().to_string());
    assert_eq!(
        items,
        [
            json!({"assignmentId": "E009.lucidchart", "itemId": "lucidchart"}),
            json!({"assignmentId": "E009.yubikey-5c", "itemId": "yubikey-5c"}),
        ]
    );
}

#[tokio::test]
async fn a_device_gets_one_return_task() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    demo.fulfil("req-2", LEAVER, "yubikey-5c").await;
    terminate(p, LEAVER).await;

    let out = step(&demo, "request-device-returns")
        .await
        .expect("devices");

    assert_eq!(
        out,
        json!({"requested": ["E009.yubikey-5c"], "alreadyRequested": 0})
    );
    assert_eq!(
        published(&demo, event_types::DEVICE_RETURN_REQUESTED),
        [json!({"assignmentId": "E009.yubikey-5c", "holderId": LEAVER, "itemId": "yubikey-5c"})]
    );
    assert_eq!(
        audit_actions(p, "E009.yubikey-5c").await.last().unwrap(),
        "device.return_requested"
    );

    // A retry or a re-run of the offboarding does not ask twice.
    let again = step(&demo, "request-device-returns")
        .await
        .expect("redelivery");
    assert_eq!(again, json!({"requested": [], "alreadyRequested": 1}));
    assert_eq!(
        published(&demo, event_types::DEVICE_RETURN_REQUESTED).len(),
        1
    );
}

#[tokio::test]
async fn a_holding_that_could_not_be_revoked_is_reported_and_the_offboarding_is_incomplete() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    demo.fulfil("req-2", LEAVER, "yubikey-5c").await;
    terminate(p, LEAVER).await;
    let revoke = Deprovision {
        assignment_id: "E009.lucidchart".into(),
        request_id: None,
        reason: AssignmentStatus::Revoked,
    };
    fulfilment::deprovision(p, &revoke).await.unwrap();
    // E009.yubikey-5c stays active: its revocation failed (the fixture carries the caught error).

    let out = step(&demo, "report-revocation-failed")
        .await
        .expect("report");

    assert_eq!(out["complete"], false);
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.contains("E009.yubikey-5c (Provisio.ConnectorPermanent)"),
        "{summary}"
    );
    assert_eq!(
        published(&demo, event_types::REVOCATION_FAILED),
        [
            json!({"employeeId": LEAVER, "assignmentId": "E009.yubikey-5c", "itemId": "yubikey-5c",
                "error": "Provisio.ConnectorPermanent"})
        ]
    );
    let done = &published(&demo, event_types::OFFBOARDING_COMPLETED)[0];
    assert_eq!(done["complete"], false);
    assert_eq!(done["revoked"], 1);
    assert_eq!(done["revocationsFailed"], 1);
    assert_eq!(done["holdingsRemaining"], 1);
    assert_eq!(done["requestsCancelled"], 1);
    assert_eq!(done["approvalsReassigned"], 1);
    assert_eq!(done["deviceReturnsRequested"], 1);
    assert_eq!(
        audit_actions(p, LEAVER).await.last().unwrap(),
        "offboarding.incomplete"
    );
    // Events carry ids and statuses only (E009 is Daniel Okafor, daniel.okafor@example.com).
    let all = serde_json::to_string(&demo.events.events()).unwrap();
    assert!(
        !all.contains("Daniel") && !all.contains("example.com"),
        "{all}"
    );
}

#[tokio::test]
async fn a_step_that_failed_is_reported() {
    let demo = demo_ports().await;
    terminate(&demo.ports, LEAVER).await;

    let out = step(&demo, "report-step-failed").await.expect("report");

    assert_eq!(out["complete"], false);
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.contains("step reassignApprovals failed (Provisio.StoreUnavailable)"),
        "{summary}"
    );
    let done = &published(&demo, event_types::OFFBOARDING_COMPLETED)[0];
    assert_eq!(done["stepsFailed"], json!(["reassignApprovals"]));
    assert!(published(&demo, event_types::REVOCATION_FAILED).is_empty());
}

#[tokio::test]
async fn a_holding_granted_after_the_listing_keeps_the_offboarding_incomplete() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-late", LEAVER, "lucidchart").await;
    terminate(p, LEAVER).await;
    // The listing found nothing: the grant landed after it.
    let granted_late = json!({"action": "report", "employeeId": LEAVER, "requests": null, "approvals": null,
        "holdings": {"items": []}, "devices": null, "revocations": [], "failures": {}});

    let out = invoke_json(granted_late, |input| offboarding::handle(p, input))
        .await
        .expect("report");

    assert_eq!(out["complete"], false);
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains("still active: E009.lucidchart"),
        "{out}"
    );
}

#[tokio::test]
async fn a_clean_offboarding_is_complete() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    terminate(p, LEAVER).await;
    let revoke = Deprovision {
        assignment_id: "E009.lucidchart".into(),
        request_id: None,
        reason: AssignmentStatus::Revoked,
    };
    fulfilment::deprovision(p, &revoke).await.unwrap();
    let input = json!({"action": "report", "employeeId": LEAVER,
        "requests": {"cancelled": 0, "inFlight": [], "settled": true},
        "approvals": {"reassigned": 0, "unassigned": []},
        "holdings": {"items": [{"assignmentId": "E009.lucidchart", "itemId": "lucidchart"}]},
        "devices": {"requested": [], "alreadyRequested": 0},
        "revocations": [{"assignmentId": "E009.lucidchart", "status": "REVOKED"}],
        "failures": {}});

    let out = invoke_json(input, |i| offboarding::handle(p, i))
        .await
        .expect("report");

    assert_eq!(out["complete"], true, "{out}");
    let done = &published(&demo, event_types::OFFBOARDING_COMPLETED)[0];
    assert_eq!(
        (
            &done["complete"],
            &done["revoked"],
            &done["holdingsRemaining"]
        ),
        (&json!(true), &json!(1), &json!(0))
    );
    assert_eq!(
        assignment(p, "E009.lucidchart").await.status,
        AssignmentStatus::Revoked
    );
    assert_eq!(
        audit_actions(p, LEAVER).await.last().unwrap(),
        "offboarding.completed"
    );
}

#[tokio::test]
async fn an_error_caught_after_the_revoke_went_through_is_no_failure() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    terminate(p, LEAVER).await;
    let revoke = Deprovision {
        assignment_id: "E009.lucidchart".into(),
        request_id: None,
        reason: AssignmentStatus::Revoked,
    };
    fulfilment::deprovision(p, &revoke).await.unwrap();
    // The function revoked, then its response was lost: the Map recorded a Lambda error.
    let input = json!({"action": "report", "employeeId": LEAVER, "requests": null, "approvals": null,
        "holdings": {"items": [{"assignmentId": "E009.lucidchart", "itemId": "lucidchart"}]},
        "devices": null,
        "revocations": [{"assignmentId": "E009.lucidchart",
                         "failure": {"Error": "Lambda.Unknown", "Cause": "timed out"}}],
        "failures": {}});

    let out = invoke_json(input, |i| offboarding::handle(p, i))
        .await
        .expect("report");

    assert_eq!(out["complete"], true, "{out}");
    assert!(published(&demo, event_types::REVOCATION_FAILED).is_empty());
}
