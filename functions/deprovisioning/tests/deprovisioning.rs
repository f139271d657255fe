//! The Revoke step of the deprovision state machine, driven by events/deprovisioning/*.json.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::{AssignmentStatus, LicensePool};
use provisio_core::names::{errors, event_types};
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use provisio_memory::ConnectorFailure;
use serde_json::{Value, json};

const HOLDING: &str = "E013.adobe-creative-cloud";
const POOL: &str = "pool-adobe-cc";

async fn revoke(demo: &Demo, case: &str) -> Result<Value, Error> {
    invoke_json(task_event("deprovisioning", case), |input| {
        deprovisioning::handle(&demo.ports, input)
    })
    .await
}

async fn pool(demo: &Demo) -> LicensePool {
    demo.ports.licenses.get_pool(POOL).await.unwrap().unwrap()
}

#[tokio::test]
async fn returning_the_only_source_revokes_and_releases_the_seat() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    assert_eq!(pool(&demo).await.assigned, 1);

    let out = revoke(&demo, "return").await.expect("revoke");

    // The deprovision ASL's ResultSelector reads these three fields.
    assert_eq!(
        out,
        json!({"assignmentId": HOLDING, "status": "RETURNED", "remainingSources": 0})
    );
    let p = pool(&demo).await;
    assert_eq!((p.reserved, p.assigned, p.available()), (0, 0, 2));
    let revokes = demo.connectors.revokes();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].grant.holder_id, "E013");
    assert_eq!(
        revokes[0].connector_ref,
        Some(json!({"ref": "req-fixture-1:adobe-creative-cloud"})),
        "the connector gets back what it returned at grant time"
    );
    let a = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    assert_eq!(a.status, AssignmentStatus::Returned);
    assert!(a.ended_at.is_some());
    assert!(
        demo.events
            .events()
            .iter()
            .any(|e| e.detail_type == event_types::ACCESS_REVOKED)
    );

    // A redelivery changes nothing.
    revoke(&demo, "return").await.expect("redelivery");
    assert_eq!(demo.connectors.revokes().len(), 1);
}

#[tokio::test]
async fn returning_one_of_two_sources_keeps_access_and_the_seat() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    demo.fulfil("req-fixture-2", "E013", "adobe-creative-cloud")
        .await;
    let a = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    assert_eq!(a.sources.len(), 2);
    assert_eq!(pool(&demo).await.assigned, 1, "one holding, one seat");

    let out = revoke(&demo, "return").await.expect("revoke one source");

    assert_eq!(
        out,
        json!({"assignmentId": HOLDING, "status": "ACTIVE", "remainingSources": 1})
    );
    assert!(demo.connectors.revokes().is_empty(), "access stays");
    assert_eq!(pool(&demo).await.assigned, 1);
}

#[tokio::test]
async fn revoking_all_sources_ends_the_holding_as_revoked() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    demo.fulfil("req-fixture-2", "E013", "adobe-creative-cloud")
        .await;

    let out = revoke(&demo, "revoke-all").await.expect("leaver");

    assert_eq!(out["status"], "REVOKED");
    assert_eq!(out["remainingSources"], 0);
    assert_eq!(pool(&demo).await.assigned, 0);
    assert_eq!(demo.connectors.revokes().len(), 1);
}

#[tokio::test]
async fn a_transient_revoke_failure_is_retried_to_completion() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    demo.connectors
        .fail_next("adobe-creative-cloud", 1, ConnectorFailure::Transient);

    let err = revoke(&demo, "return").await.expect_err("connector down");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        "Provisio.ConnectorTransient"
    );
    assert_eq!(
        pool(&demo).await.assigned,
        1,
        "the seat is kept until revoked"
    );
    let a = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    assert_eq!(a.status, AssignmentStatus::Active);

    // The ASL retries Provisio.ConnectorTransient; the emptied sources were saved, so the retry still revokes.
    let out = revoke(&demo, "return").await.expect("retry");
    assert_eq!(out["status"], "RETURNED");
    assert_eq!(pool(&demo).await.assigned, 0);
    assert_eq!(demo.connectors.revokes().len(), 1);
}

#[tokio::test]
async fn an_unknown_holding_is_not_found() {
    let demo = demo_ports().await;
    let err = revoke(&demo, "return").await.expect_err("nothing held");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::NOT_FOUND
    );
}

#[tokio::test]
async fn the_revoke_names_the_same_grant_as_the_grant_for_an_item_without_a_pool() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "lucidchart").await;
    let granted = demo.connectors.grants()[0].clone();

    invoke_json(
        json!({"assignmentId": "E013.lucidchart", "requestId": FIXTURE_REQUEST_ID, "reason": "RETURNED"}),
        |input| deprovisioning::handle(&demo.ports, input),
    )
    .await
    .expect("revoke");

    let revoked = &demo.connectors.revokes()[0].grant;
    assert_eq!(revoked.grant_id, granted.grant_id);
    assert_eq!(revoked.request_id, granted.request_id);
}
