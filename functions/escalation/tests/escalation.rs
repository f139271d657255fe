//! The escalation sweep on its schedule event (events/escalation/scheduled.json), under a manual clock.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use provisio_core::model::{ApprovalStatus, Principal};
use provisio_core::names::{errors, event_types};
use provisio_core::usecases::fulfilment;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

const TASK: &str = "req-fixture-1-s0";

async fn sweep(demo: &Demo) -> Value {
    invoke_json(task_event("escalation", "scheduled"), |input| {
        escalation::handle(&demo.ports, input)
    })
    .await
    .expect("sweep")
}

/// E013's adobe-creative-cloud request, waiting on its manager stage (SLA 48 h), with the given maximum age.
async fn waiting(max_age_hours: Option<u32>) -> Demo {
    let demo = demo_ports().await;
    let mut item = demo
        .ports
        .catalog
        .get("adobe-creative-cloud")
        .await
        .unwrap()
        .unwrap();
    item.approval_policy.max_age_hours = max_age_hours;
    demo.ports.catalog.put(item).await.unwrap();
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    fulfilment::route(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .expect("route");
    invoke_json(task_event("approval", "await-decision-stage-0"), |i| {
        approval::handle(&demo.ports, i)
    })
    .await
    .expect("open stage");
    demo
}

fn published(demo: &Demo, detail_type: &str) -> Vec<Value> {
    demo.events
        .events()
        .into_iter()
        .filter(|e| e.detail_type == detail_type)
        .map(|e| e.detail)
        .collect()
}

#[tokio::test]
async fn an_overdue_approval_is_reminded_then_escalated_to_the_approvers_manager() {
    let demo = waiting(None).await;
    let task = demo.ports.approvals.get(TASK).await.unwrap().unwrap();
    let sla = task.due_at - task.created_at;

    // Within the SLA nothing happens.
    demo.clock.advance(sla - Duration::minutes(1));
    assert_eq!(sweep(&demo).await["reminded"], 0);

    demo.clock.advance(Duration::minutes(2));
    assert_eq!(
        sweep(&demo).await,
        json!({"reminded": 1, "escalated": 0, "expired": 0, "completed": 0, "failed": 0, "anchored": false})
    );
    assert_eq!(published(&demo, event_types::APPROVAL_REMINDER).len(), 1);
    // A second run in the same window does not remind again.
    assert_eq!(sweep(&demo).await["reminded"], 0);

    demo.clock.advance(sla);
    assert_eq!(sweep(&demo).await["escalated"], 1);
    let manager = demo
        .ports
        .identities
        .get("E009")
        .await
        .unwrap()
        .unwrap()
        .manager_id
        .expect("E009 has a manager");
    let task = demo.ports.approvals.get(TASK).await.unwrap().unwrap();
    assert_eq!(
        task.approvers,
        [
            Principal::User("E009".into()),
            Principal::User(manager.clone())
        ],
        "the original approver keeps the task, their manager joins"
    );
    assert_eq!(task.status, ApprovalStatus::Pending);
    assert_eq!(
        published(&demo, event_types::APPROVAL_ESCALATED)[0]["escalatedTo"],
        json!([format!("user:{manager}")])
    );

    // Nothing further is due without a maximum age.
    demo.clock.advance(Duration::days(30));
    assert_eq!(
        sweep(&demo).await,
        json!({"reminded": 0, "escalated": 0, "expired": 0, "completed": 0, "failed": 0, "anchored": false})
    );
}

#[tokio::test]
async fn past_the_maximum_age_the_waiting_execution_is_failed_as_expired() {
    let demo = waiting(Some(24)).await;

    demo.clock.advance(Duration::hours(23));
    assert_eq!(sweep(&demo).await["expired"], 0);
    demo.clock.advance(Duration::hours(2));
    assert_eq!(
        sweep(&demo).await["expired"],
        1,
        "before the 48 h SLA: expiry comes first"
    );

    let token = task_event("approval", "await-decision-stage-0")["taskToken"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = demo.workflow.failed_tasks();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].task_token, token);
    assert_eq!(failed[0].error, errors::EXPIRED);
}

#[tokio::test]
async fn a_step_that_fails_fails_the_sweep_and_is_retried_by_the_next_one() {
    let mut demo = waiting(Some(24)).await;
    let working = demo.ports.workflow.clone();
    demo.ports.workflow = std::sync::Arc::new(provisio_memory::Unavailable("Step Functions"));
    demo.clock.advance(Duration::hours(25));

    let failed = invoke_json(task_event("escalation", "scheduled"), |input| {
        escalation::handle(&demo.ports, input)
    })
    .await
    .expect_err("the function reports the failure, so its error alarm sees it");
    assert_eq!(failed.name(), errors::STORE_UNAVAILABLE);

    demo.ports.workflow = working;
    assert_eq!(sweep(&demo).await["expired"], 1, "the next run expires it");
}
