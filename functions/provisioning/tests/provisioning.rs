//! The Provision step, driven by events/provisioning/*.json.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use provisio_core::model::{AssignmentStatus, RequestStatus};
use provisio_core::names::{errors, event_types};
use provisio_core::usecases::fulfilment;
use provisio_lambda::TaskError;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use provisio_memory::ConnectorFailure;
use serde_json::{Value, json};

async fn provision(demo: &Demo) -> Result<Value, Error> {
    invoke_json(task_event("provisioning", "provision"), |input| {
        provisioning::handle(&demo.ports, input)
    })
    .await
}

/// A routed, approved request with its seats reserved, as the state machine has it when it reaches Provision.
async fn ready(who: &str, item: &str) -> Demo {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, who, item).await;
    fulfilment::route(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .expect("route");
    demo.approve(FIXTURE_REQUEST_ID).await;
    fulfilment::reserve_seats(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .expect("reserve");
    demo
}

#[tokio::test]
async fn provisioning_grants_through_the_connector_and_records_the_holding() {
    let demo = ready("E013", "adobe-creative-cloud").await;

    let out = provision(&demo).await.expect("provision");

    assert_eq!(out, json!({"assignmentIds": ["E013.adobe-creative-cloud"]}));
    let grants = demo.connectors.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].grant_id, "req-fixture-1:adobe-creative-cloud");
    assert_eq!(grants[0].holder_id, "E013");

    let a = demo
        .ports
        .assignments
        .get("E013.adobe-creative-cloud")
        .await
        .unwrap()
        .expect("holding recorded");
    assert_eq!(a.status, AssignmentStatus::Active);
    assert_eq!(a.sources.len(), 1);
    assert_eq!(a.sources[0].request_id, FIXTURE_REQUEST_ID);
    assert_eq!(
        a.connector_ref,
        Some(json!({"ref": "req-fixture-1:adobe-creative-cloud"})),
        "kept for the revoke"
    );
    assert_eq!(
        demo.request(FIXTURE_REQUEST_ID).await.status,
        RequestStatus::Provisioning
    );
    assert!(
        demo.events
            .events()
            .iter()
            .any(|e| e.detail_type == event_types::ACCESS_PROVISIONED)
    );
}

#[tokio::test]
async fn a_repeated_delivery_does_not_grant_twice() {
    let demo = ready("E013", "adobe-creative-cloud").await;
    provision(&demo).await.expect("first");
    let again = provision(&demo).await.expect("second");
    assert_eq!(
        again,
        json!({"assignmentIds": ["E013.adobe-creative-cloud"]})
    );
    assert_eq!(demo.connectors.grants().len(), 1, "the holding is kept");
    let a = demo
        .ports
        .assignments
        .get("E013.adobe-creative-cloud")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.sources.len(), 1);
}

#[tokio::test]
async fn a_transient_failure_in_a_bundle_leaves_nothing_granted_and_a_retry_delivers_all() {
    // engineering-starter = jetbrains-intellij-ultimate + github-copilot + vpn-access; the last one fails.
    let demo = ready("E010", "engineering-starter").await;
    demo.connectors
        .fail_next("vpn-access", 1, ConnectorFailure::Transient);

    let err = provision(&demo).await.expect_err("vpn connector is down");

    assert!(matches!(err, Error::ConnectorTransient(_)), "got {err:?}");
    let diagnostic = Diagnostic::from(TaskError(err));
    assert_eq!(diagnostic.error_type, errors::CONNECTOR_TRANSIENT);
    assert_eq!(diagnostic.error_type, "Provisio.ConnectorTransient");

    let mut granted: Vec<String> = demo
        .connectors
        .grants()
        .into_iter()
        .map(|g| g.grant_id)
        .collect();
    let mut revoked: Vec<String> = demo
        .connectors
        .revokes()
        .into_iter()
        .map(|r| r.grant.grant_id)
        .collect();
    granted.sort();
    revoked.sort();
    assert_eq!(granted.len(), 2, "the first two components were granted");
    assert_eq!(granted, revoked, "and compensated");
    assert!(
        demo.ports
            .assignments
            .list_by_holder("E010")
            .await
            .unwrap()
            .is_empty(),
        "no holding recorded"
    );

    // The state machine's Retry on Provisio.ConnectorTransient.
    let out = provision(&demo).await.expect("retry succeeds");
    let mut ids: Vec<String> = serde_json::from_value(out["assignmentIds"].clone()).unwrap();
    ids.sort();
    assert_eq!(
        ids,
        [
            "E010.github-copilot",
            "E010.jetbrains-intellij-ultimate",
            "E010.vpn-access"
        ]
    );
    for a in demo.ports.assignments.list_by_holder("E010").await.unwrap() {
        assert_eq!(
            a.sources[0].via_bundle.as_deref(),
            Some("engineering-starter")
        );
    }
}

#[tokio::test]
async fn a_permanent_failure_is_reported_as_permanent() {
    let demo = ready("E013", "adobe-creative-cloud").await;
    demo.connectors
        .fail_next("adobe-creative-cloud", 1, ConnectorFailure::Permanent);
    let err = provision(&demo).await.expect_err("rejected by the target");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        "Provisio.ConnectorPermanent"
    );
    assert!(demo.connectors.grants().is_empty());
}

#[tokio::test]
async fn a_cancelled_request_is_not_provisioned() {
    let demo = ready("E013", "adobe-creative-cloud").await;
    let mut req = demo.request(FIXTURE_REQUEST_ID).await;
    req.cancel_requested = true;
    demo.ports.requests.save(&mut req).await.unwrap();

    let err = provision(&demo).await.expect_err("cancelled");
    assert_eq!(
        Diagnostic::from(TaskError(err)).error_type,
        errors::CANCELLED
    );
    assert!(demo.connectors.grants().is_empty());
}
