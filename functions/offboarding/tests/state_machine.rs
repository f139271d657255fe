//! statemachines/offboarding.asl.json run by the ASL interpreter, its Tasks dispatched in-process to this function
//! and the deprovisioning one over the demo organisation in memory, with scripted connectors and a clock that
//! jumps over every wait (retry back-off, the wait for requests in flight).

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provisio_asl::{
    Definition, Engine, ExecutionDescription, ExecutionStatus, TaskFailure, TaskInvoker,
};
use provisio_core::model::*;
use provisio_core::names::{errors, event_types};
use provisio_core::ports::{Clock as _, Ports};
use provisio_core::usecases::approvals::{self, OpenStage};
use provisio_core::usecases::fulfilment;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, repo_root};
use provisio_lambda::task::invoke_json;
use provisio_memory::{ConnectorFailure, ManualClock};
use serde_json::{Value, json};

const LEAVER: &str = "E009";

/// Runs a Task's function in-process, as the local stack does; optionally plays the fulfilment state machine of
/// a flagged request the moment the offboarding looks at the requests for the `n`th time.
struct Functions {
    ports: Ports,
    cancel_checks: AtomicUsize,
    stop_on_check: Mutex<Option<(usize, String)>>,
}

#[async_trait]
impl TaskInvoker for Functions {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let p = &self.ports;
        if payload["action"] == "cancelRequests" {
            let n = self.cancel_checks.fetch_add(1, Ordering::SeqCst) + 1;
            let stop = self.stop_on_check.lock().unwrap().clone();
            if let Some((_, request_id)) = stop.filter(|(at, _)| *at == n) {
                stop_flagged_fulfilment(p, &request_id).await;
            }
        }
        let result = match function {
            "offboarding" => invoke_json(payload, |i| offboarding::handle(p, i)).await,
            "deprovisioning" => invoke_json(payload, |i| deprovisioning::handle(p, i)).await,
            other => panic!("no function {other}"),
        };
        result.map_err(|e| TaskFailure::new(e.name(), e.to_string()))
    }
}

/// What the fulfilment state machine does with a request flagged to stop: Provision refuses, ReleaseSeat closes.
async fn stop_flagged_fulfilment(p: &Ports, request_id: &str) {
    let refused = fulfilment::provision(p, request_id).await;
    assert!(
        matches!(refused, Err(provisio_core::Error::Cancelled)),
        "{refused:?}"
    );
    let close = fulfilment::Close {
        request_id: request_id.into(),
        error: Some(errors::CANCELLED.into()),
        cause: Some("cancelled".into()),
    };
    fulfilment::close(p, &close).await.unwrap();
}

/// The demo's manual clock, jumped forward to the deadline of every short sleep (retry back-off, Wait states).
/// Long ones (the execution's TimeoutSeconds) never end: the test would otherwise jump past them first.
struct JumpingClock(Arc<ManualClock>);

#[async_trait]
impl provisio_asl::Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let now = self.0.now();
        if deadline - now > chrono::Duration::hours(1) {
            std::future::pending::<()>().await;
        }
        if deadline > now {
            self.0.set(deadline);
        }
    }
}

struct Machine {
    engine: Arc<Engine>,
    definition: Arc<Definition>,
    functions: Arc<Functions>,
}

fn machine(demo: &Demo) -> Machine {
    let text = std::fs::read_to_string(repo_root().join("statemachines/offboarding.asl.json"))
        .expect("read the definition");
    let substitutions = HashMap::from([
        (
            "OffboardingFunctionArn".to_string(),
            "offboarding".to_string(),
        ),
        (
            "DeprovisioningFunctionArn".to_string(),
            "deprovisioning".to_string(),
        ),
    ]);
    let definition = Definition::parse(&text, &substitutions).expect("definition parses");
    let functions = Arc::new(Functions {
        ports: demo.ports.clone(),
        cancel_checks: AtomicUsize::new(0),
        stop_on_check: Mutex::new(None),
    });
    let engine = Engine::new(
        functions.clone(),
        Arc::new(JumpingClock(demo.clock.clone())),
    );
    Machine {
        engine,
        definition: Arc::new(definition),
        functions,
    }
}

impl Machine {
    async fn run(&self, name: &str) -> ExecutionDescription {
        self.engine
            .run(
                "offboarding",
                self.definition.clone(),
                name,
                json!({"employeeId": LEAVER}),
            )
            .await
            .expect("execution runs")
    }

    fn entered(&self, name: &str, state: &str) -> usize {
        self.engine
            .history(name)
            .unwrap()
            .iter()
            .filter(|e| {
                e.r#type.ends_with("StateEntered") && e.state_name.as_deref() == Some(state)
            })
            .count()
    }
}

async fn terminate(p: &Ports) {
    let mut who = p.identities.get(LEAVER).await.unwrap().unwrap();
    who.status = IdentityStatus::Terminated;
    p.identities.put(who).await.unwrap();
}

async fn status(p: &Ports, assignment_id: &str) -> AssignmentStatus {
    p.assignments
        .get(assignment_id)
        .await
        .unwrap()
        .expect("assignment")
        .status
}

async fn assigned(p: &Ports, pool: &str) -> u32 {
    p.licenses.get_pool(pool).await.unwrap().unwrap().assigned
}

fn published(demo: &Demo, detail_type: &str) -> Vec<Value> {
    demo.events
        .events()
        .into_iter()
        .filter(|e| e.detail_type == detail_type)
        .map(|e| e.detail)
        .collect()
}

async fn open_first_stage(p: &Ports, request_id: &str) -> ApprovalTask {
    fulfilment::route(p, request_id).await.unwrap();
    let open = OpenStage {
        request_id: request_id.into(),
        stage_index: 0,
        task_token: format!("token-{request_id}"),
    };
    approvals::open_stage(p, &open).await.unwrap()
}

#[tokio::test]
async fn a_leaver_is_offboarded_and_a_holding_that_cannot_be_revoked_fails_the_execution() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    for (request, item) in [
        ("req-1", "lucidchart"),
        ("req-2", "yubikey-5c"),
        ("req-3", "jetbrains-intellij-ultimate"),
        ("req-4", "github-copilot"),
        ("req-5", "adobe-acrobat-pro"),
    ] {
        demo.fulfil(request, LEAVER, item).await;
    }
    assert_eq!(assigned(p, "pool-jetbrains").await, 1);
    demo.seed_request("req-open", LEAVER, "figma-professional")
        .await;
    open_first_stage(p, "req-open").await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    let waiting = open_first_stage(p, FIXTURE_REQUEST_ID).await;
    terminate(p).await;
    // Two transient failures are retried; the acrobat revoke fails for good.
    demo.connectors
        .fail_next("github-copilot", 2, ConnectorFailure::Transient);
    demo.connectors
        .fail_next("adobe-acrobat-pro", 1, ConnectorFailure::Permanent);
    let m = machine(&demo);

    let done = m.run("offboard-1").await;

    assert_eq!(done.status, ExecutionStatus::Failed, "{done:?}");
    assert_eq!(done.error.as_deref(), Some(errors::OFFBOARDING_INCOMPLETE));
    let cause = done.cause.unwrap();
    assert!(
        cause.contains(
            "1 of 5 holdings not revoked: E009.adobe-acrobat-pro (Provisio.ConnectorPermanent)"
        ),
        "{cause}"
    );
    for held in [
        "lucidchart",
        "yubikey-5c",
        "jetbrains-intellij-ultimate",
        "github-copilot",
    ] {
        assert_eq!(
            status(p, &format!("E009.{held}")).await,
            AssignmentStatus::Revoked,
            "{held}"
        );
    }
    assert_eq!(
        status(p, "E009.adobe-acrobat-pro").await,
        AssignmentStatus::Active
    );
    assert_eq!(assigned(p, "pool-jetbrains").await, 0);
    assert_eq!(assigned(p, "pool-copilot").await, 0);
    assert_eq!(
        demo.request("req-open").await.status,
        RequestStatus::Cancelled
    );
    assert_eq!(
        p.approvals
            .get(&waiting.approval_id)
            .await
            .unwrap()
            .unwrap()
            .approvers,
        [Principal::User("E002".into())]
    );
    assert_eq!(
        published(&demo, event_types::DEVICE_RETURN_REQUESTED),
        [json!({"assignmentId": "E009.yubikey-5c", "holderId": LEAVER, "itemId": "yubikey-5c"})]
    );
    let failed = published(&demo, event_types::REVOCATION_FAILED);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["assignmentId"], "E009.adobe-acrobat-pro");
    let report = &published(&demo, event_types::OFFBOARDING_COMPLETED)[0];
    assert_eq!(report["complete"], false);
    assert_eq!(report["revoked"], 4);
    assert_eq!(report["requestsCancelled"], 1);
    assert_eq!(report["approvalsReassigned"], 1);

    // Fixed at the target, a re-run finishes the job and repeats nothing already done.
    let again = m.run("offboard-2").await;

    assert_eq!(again.status, ExecutionStatus::Succeeded, "{again:?}");
    assert_eq!(
        status(p, "E009.adobe-acrobat-pro").await,
        AssignmentStatus::Revoked
    );
    assert_eq!(published(&demo, event_types::REQUEST_CANCELLED).len(), 1);
    assert_eq!(published(&demo, event_types::APPROVAL_REASSIGNED).len(), 1);
    assert_eq!(
        published(&demo, event_types::DEVICE_RETURN_REQUESTED).len(),
        1
    );
    assert_eq!(
        published(&demo, event_types::OFFBOARDING_COMPLETED)[1]["complete"],
        true
    );
    let revokes: Vec<String> = demo
        .connectors
        .revokes()
        .into_iter()
        .map(|r| r.grant.item_id)
        .collect();
    assert_eq!(revokes.len(), 5, "each holding revoked once: {revokes:?}");
}

#[tokio::test]
async fn an_active_employee_is_never_offboarded() {
    let demo = demo_ports().await;
    demo.fulfil("req-1", LEAVER, "lucidchart").await;
    let m = machine(&demo);

    let done = m.run("offboard-active").await;

    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some(errors::FORBIDDEN));
    assert_eq!(
        status(&demo.ports, "E009.lucidchart").await,
        AssignmentStatus::Active
    );
    assert!(demo.connectors.revokes().is_empty());
}

#[tokio::test]
async fn an_approved_request_is_waited_for_until_fulfilment_stops_it() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.seed_request("req-approved", LEAVER, "lucidchart")
        .await;
    fulfilment::route(p, "req-approved").await.unwrap();
    terminate(p).await;
    let m = machine(&demo);
    // Fulfilment gets to its next step while the offboarding waits, before the third look.
    *m.functions.stop_on_check.lock().unwrap() = Some((3, "req-approved".into()));

    let done = m.run("offboard-wait").await;

    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(m.entered("offboard-wait", "WaitForInFlightRequests"), 2);
    assert_eq!(
        demo.request("req-approved").await.status,
        RequestStatus::Cancelled
    );
    assert!(demo.connectors.grants().is_empty(), "nothing was granted");
}

#[tokio::test]
async fn a_request_that_stays_in_flight_is_reported_after_the_waits() {
    let demo = demo_ports().await;
    let p = &demo.ports;
    demo.seed_request("req-stuck", LEAVER, "lucidchart").await;
    fulfilment::route(p, "req-stuck").await.unwrap();
    terminate(p).await;
    let m = machine(&demo);
    let started = p.clock.now();

    let done = m.run("offboard-stuck").await;

    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some(errors::OFFBOARDING_INCOMPLETE));
    assert!(
        done.cause
            .unwrap()
            .contains("requests still being fulfilled: req-stuck")
    );
    assert_eq!(m.entered("offboard-stuck", "WaitForInFlightRequests"), 10);
    assert_eq!(p.clock.now() - started, chrono::Duration::seconds(300));
}
