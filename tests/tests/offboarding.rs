//! Leaver offboarding over the local stack: the offboarding state machine revokes every holding through its
//! connector (record and two webhook targets), releases seats, cancels the leaver's open requests, hands the
//! approvals they held to their manager and opens a device-return task.
//!
//! The leaver is E009 (Daniel Okafor, manager E002; E013 and E015 report to him). Until HR events drive it, the
//! tests terminate the identity through the store and start the execution as the lifecycle use case does.

use std::time::Duration;

use axum::http::StatusCode;
use provisio_core::model::AssignmentStatus;
use provisio_core::names::{errors, event_types};
use provisio_core::usecases::assignments::execution_name;
use provisio_tests::Stack;
use provisio_tests::target::Target;
use serde_json::{Value, json};

const LEAVER: &str = "E009";
const MANAGER: &str = "E002";

/// The leaver's world: five holdings across three connectors, two open requests, two approvals they hold.
struct Leaver {
    s: Stack,
    a: Target,
    b: Target,
    /// E009's own requests still waiting for approval (figma-professional; adobe-creative-cloud holding a seat).
    open: Vec<String>,
    /// E013's figma-professional request, waiting for E009's manager approval.
    e013: String,
    e013_approval: String,
    /// E015's github-copilot request, waiting for E009 too.
    e015_approval: String,
}

async fn leaver() -> Leaver {
    let s = Stack::start().await;
    let a = Target::start().await;
    let b = Target::start().await;
    s.put_item(
        "partner-a",
        json!({"licensePoolId": "pool-partner-a", "connector": {"type": "webhook", "url": a.url}}),
    )
    .await;
    s.put_pool("pool-partner-a", "partner-a", 2).await;
    s.put_item(
        "partner-b",
        json!({"connector": {"type": "webhook", "url": b.url}}),
    )
    .await;
    s.put_item("record-seat", json!({"licensePoolId": "pool-record"}))
        .await;
    s.put_pool("pool-record", "record-seat", 1).await;
    // Auto-approved: partner-a, partner-b, record-seat (put_item defaults), lucidchart, yubikey-5c (a device).
    for item in [
        "partner-a",
        "partner-b",
        "record-seat",
        "lucidchart",
        "yubikey-5c",
    ] {
        let id = s.submit(LEAVER, json!({"itemId": item})).await;
        s.wait_status(LEAVER, &id, "FULFILLED").await;
    }
    s.wait_pool("pool-partner-a", 0, 1).await;
    s.wait_pool("pool-record", 0, 1).await;

    let mut open = Vec::new();
    for item in ["figma-professional", "adobe-creative-cloud"] {
        let id = s.submit(LEAVER, json!({"itemId": item})).await;
        s.wait_open_stage(LEAVER, &id, 0).await;
        open.push(id);
    }
    s.wait_pool("pool-adobe-cc", 1, 0).await;

    let e013 = s
        .submit("E013", json!({"itemId": "figma-professional"}))
        .await;
    let e013_approval = s.wait_open_stage("E013", &e013, 0).await;
    let e015 = s.submit("E015", json!({"itemId": "github-copilot"})).await;
    let e015_approval = s.wait_open_stage("E015", &e015, 0).await;
    assert!(approval_ids(&s, LEAVER).await.contains(&e013_approval));
    Leaver {
        s,
        a,
        b,
        open,
        e013,
        e013_approval,
        e015_approval,
    }
}

/// HR says E009 left, through the signed webhook: hr-sync terminates the identity and starts the offboarding.
/// Returns the finished execution and its history, as `GET /_local/executions/{name}` shows them.
async fn offboard(s: &Stack) -> Value {
    let event_id = "wd-leaver-E009";
    s.hr_events(&[json!({
        "eventId": event_id, "type": "terminate", "occurredAt": s.stack.clock.now(),
        "employee": {"employeeId": LEAVER}
    })])
    .await;
    assert_eq!(s.identity(LEAVER).await["status"], "terminated");
    let execution = execution_name("offboard", &[LEAVER, event_id]);
    tokio::time::timeout(Duration::from_secs(60), s.stack.engine.wait_for(&execution))
        .await
        .expect("offboarding finishes")
        .expect("execution exists");
    let r = s
        .send(
            "GET",
            &format!("/_local/executions/{execution}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn holdings(s: &Stack) -> Vec<(String, AssignmentStatus)> {
    let mut out: Vec<_> = s
        .stack
        .ports
        .assignments
        .list_by_holder(LEAVER)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.item_id, a.status))
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

async fn approval_ids(s: &Stack, approver: &str) -> Vec<String> {
    let r = s.call(approver, "GET", "/approvals", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["approvalId"].as_str().unwrap().to_string())
        .collect()
}

fn statuses(items: &[&str], status: AssignmentStatus) -> Vec<(String, AssignmentStatus)> {
    items.iter().map(|i| (i.to_string(), status)).collect()
}

#[tokio::test]
async fn a_leaver_loses_every_holding_their_requests_and_their_approvals() {
    let l = leaver().await;
    let s = &l.s;

    let done = offboard(s).await;

    assert_eq!(done["execution"]["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(
        holdings(s).await,
        statuses(
            &[
                "lucidchart",
                "partner-a",
                "partner-b",
                "record-seat",
                "yubikey-5c"
            ],
            AssignmentStatus::Revoked
        )
    );
    assert_eq!((l.a.calls_of("revoke"), l.b.calls_of("revoke")), (1, 1));
    assert_eq!(l.a.bad_signatures() + l.b.bad_signatures(), 0);
    s.wait_pool("pool-partner-a", 0, 0).await;
    s.wait_pool("pool-record", 0, 0).await;
    // The open requests end CANCELLED and fulfilment gives back the seat adobe-creative-cloud reserved.
    for id in &l.open {
        let req = s.wait_status(LEAVER, id, "CANCELLED").await;
        assert_eq!(req["outcome"]["error"], errors::CANCELLED);
    }
    s.wait_pool("pool-adobe-cc", 0, 0).await;

    // The approvals E009 held wait for E002 now; E002 approves and E013 gets figma.
    assert!(approval_ids(s, LEAVER).await.is_empty());
    let inbox = approval_ids(s, MANAGER).await;
    assert!(
        inbox.contains(&l.e013_approval) && inbox.contains(&l.e015_approval),
        "{inbox:?}"
    );
    let reassigned = s.published(event_types::APPROVAL_REASSIGNED).await;
    assert_eq!(reassigned.len(), 2, "{reassigned:?}");
    assert!(
        reassigned
            .iter()
            .all(|e| e["from"] == "user:E009" && e["to"] == "user:E002")
    );
    let r = s.decide(MANAGER, &l.e013_approval, "approve", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.wait_status("E013", &l.e013, "FULFILLED").await;

    let devices = s.published(event_types::DEVICE_RETURN_REQUESTED).await;
    assert_eq!(
        devices,
        [json!({"assignmentId": "E009.yubikey-5c", "holderId": LEAVER, "itemId": "yubikey-5c"})]
    );
    let report = s.published(event_types::OFFBOARDING_COMPLETED).await;
    assert_eq!(report.len(), 1);
    assert_eq!(
        (
            &report[0]["complete"],
            &report[0]["revoked"],
            &report[0]["requestsCancelled"]
        ),
        (&json!(true), &json!(5), &json!(2))
    );
    assert!(s.published(event_types::REVOCATION_FAILED).await.is_empty());
}

#[tokio::test]
async fn a_transient_connector_failure_during_offboarding_is_retried() {
    let l = leaver().await;
    l.a.fail_next("revoke", 2, StatusCode::SERVICE_UNAVAILABLE);

    let done = offboard(&l.s).await;

    assert_eq!(done["execution"]["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(l.a.calls_of("revoke"), 3, "two 503s, then the revoke");
    let held = holdings(&l.s).await;
    assert!(
        held.iter().all(|(_, st)| *st == AssignmentStatus::Revoked),
        "{held:?}"
    );
    l.s.wait_pool("pool-partner-a", 0, 0).await;
    let retried = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["type"] == "TaskFailed" && e["details"]["error"] == errors::CONNECTOR_TRANSIENT
        })
        .count();
    assert_eq!(retried, 2, "both failures are in the execution history");
}

#[tokio::test]
async fn a_permanent_connector_failure_is_reported_and_fails_the_execution() {
    let l = leaver().await;
    l.b.fail_next("revoke", usize::MAX, StatusCode::BAD_REQUEST);

    let done = offboard(&l.s).await;

    let execution = &done["execution"];
    assert_eq!(execution["status"], "FAILED", "{done:#}");
    assert_eq!(execution["error"], errors::OFFBOARDING_INCOMPLETE);
    assert!(
        execution["cause"]
            .as_str()
            .unwrap()
            .contains("E009.partner-b (Provisio.ConnectorPermanent)"),
        "{execution:#}"
    );
    assert_eq!(
        l.b.calls_of("revoke"),
        1,
        "a permanent failure is not retried"
    );
    use AssignmentStatus::{Active, Revoked};
    let expected = [
        ("lucidchart", Revoked),
        ("partner-a", Revoked),
        ("partner-b", Active),
        ("record-seat", Revoked),
        ("yubikey-5c", Revoked),
    ]
    .map(|(item, status)| (item.to_string(), status));
    assert_eq!(
        holdings(&l.s).await,
        expected,
        "the other holdings are still revoked"
    );
    l.s.wait_pool("pool-partner-a", 0, 0).await;
    let failed: Vec<Value> = l.s.published(event_types::REVOCATION_FAILED).await;
    assert_eq!(
        failed,
        [
            json!({"employeeId": LEAVER, "assignmentId": "E009.partner-b", "itemId": "partner-b",
                "error": errors::CONNECTOR_PERMANENT})
        ]
    );
    let report = &l.s.published(event_types::OFFBOARDING_COMPLETED).await[0];
    assert_eq!(
        (
            &report["complete"],
            &report["revoked"],
            &report["revocationsFailed"]
        ),
        (&json!(false), &json!(4), &json!(1))
    );
    // The rest of the offboarding went ahead.
    assert!(approval_ids(&l.s, MANAGER).await.contains(&l.e013_approval));
    for id in &l.open {
        l.s.wait_status(LEAVER, id, "CANCELLED").await;
    }
}

#[tokio::test]
async fn a_device_holding_opens_a_device_return_task() {
    let s = Stack::start().await;
    for item in ["yubikey-5c", "lucidchart"] {
        let id = s.submit(LEAVER, json!({"itemId": item})).await;
        s.wait_status(LEAVER, &id, "FULFILLED").await;
    }

    let done = offboard(&s).await;

    assert_eq!(done["execution"]["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(
        s.published(event_types::DEVICE_RETURN_REQUESTED).await,
        [json!({"assignmentId": "E009.yubikey-5c", "holderId": LEAVER, "itemId": "yubikey-5c"})],
        "a return task for the device only"
    );
    let audit = s.stack.ports.audit.entries().await.unwrap();
    let task = audit
        .iter()
        .find(|e| e.record.action == "device.return_requested")
        .expect("the task is in the audit trail");
    assert_eq!(task.record.subject, "E009.yubikey-5c");
    assert_eq!(
        holdings(&s).await,
        statuses(&["lucidchart", "yubikey-5c"], AssignmentStatus::Revoked)
    );
}
