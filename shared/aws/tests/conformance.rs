//! The store conformance suite against the DynamoDB adapters on a moto server (started and, if needed,
//! installed by the harness). Each test gets its own tables under a fresh prefix, like an empty database.

use std::sync::Arc;

use chrono::DateTime;
use provisio_aws::{DynamoStores, TableNames, create_tables};
use provisio_conformance::moto::Moto;
use provisio_core::ports::Ports;
use provisio_memory::{ManualClock, RecordingEventBus, RecordingWorkflow, ScriptedConnectors};

async fn ports() -> Ports {
    let moto = Moto::shared();
    let config = provisio_aws::endpoint_config(&moto.endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&format!("t{}-", uuid::Uuid::new_v4().simple()));
    create_tables(&client, &names)
        .await
        .expect("create tables on moto");
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    DynamoStores::new(client, &names).ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    )
}

provisio_conformance::suite!(ports);
