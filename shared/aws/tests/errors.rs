//! How DynamoDB failures reach the state machines: a refusal (here a table that does not exist, as when a
//! deployment names the wrong table) is `Provisio.Internal`, which no Retry block in statemachines/ retries,
//! while an endpoint that cannot be reached is `Provisio.StoreUnavailable`, which they do.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::DateTime;
use provisio_aws::{DynamoStores, TableNames};
use provisio_conformance::moto::Moto;
use provisio_core::Error;
use provisio_core::names::errors;
use provisio_core::ports::Ports;
use provisio_memory::{ManualClock, RecordingEventBus, RecordingWorkflow, ScriptedConnectors};

/// Ports on `endpoint` whose tables were never created.
async fn ports_without_tables(endpoint: &str) -> Ports {
    let config = provisio_aws::endpoint_config(endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&format!("missing{}-", uuid::Uuid::new_v4().simple()));
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    DynamoStores::new(client, &names).ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    )
}

/// The error names the state machines retry on store failures (fulfilment's CheckEligibility task).
fn retried_names() -> Vec<String> {
    let asl: serde_json::Value =
        serde_json::from_str(include_str!("../../../statemachines/fulfilment.asl.json"))
            .expect("fulfilment ASL");
    asl["States"]["CheckEligibility"]["Retry"]
        .as_array()
        .expect("Retry")
        .iter()
        .flat_map(|r| r["ErrorEquals"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_missing_table_is_a_misconfiguration_that_is_not_retried() {
    let p = ports_without_tables(&Moto::shared().endpoint).await;
    let err = p.catalog.get("zoom-pro").await.expect_err("no table");
    assert!(matches!(err, Error::Internal(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("DynamoDB refused the request (misconfiguration")
            && message.contains("ResourceNotFoundException"),
        "{message}"
    );
    assert!(!retried_names().contains(&err.name().to_string()));
    assert!(retried_names().contains(&errors::STORE_UNAVAILABLE.to_string()));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried() {
    // Nothing listens on port 9 (discard) on loopback: the connection is refused.
    let p = ports_without_tables("http://127.0.0.1:9").await;
    let err = p.catalog.get("zoom-pro").await.expect_err("no endpoint");
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    assert!(retried_names().contains(&err.name().to_string()));
}
