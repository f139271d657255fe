//! The store conformance suite against the DynamoDB adapters on a moto server (started and, if needed,
//! installed by the harness). Each test gets its own tables under a fresh prefix, like an empty database.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::DateTime;
use provisio_aws::{DynamoStores, TableNames, create_tables};
use provisio_conformance::moto::Moto;
use provisio_core::audit::AuditEntry;
use provisio_core::ports::Ports;
use provisio_memory::{ManualClock, RecordingEventBus, RecordingWorkflow, ScriptedConnectors};

async fn ports() -> Ports {
    stores().await.0
}

/// Fresh tables on the shared moto server: the ports over them, the client and the audit table's name.
async fn stores() -> (Ports, aws_sdk_dynamodb::Client, String) {
    let moto = Moto::shared();
    let config = provisio_aws::endpoint_config(&moto.endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&format!("t{}-", uuid::Uuid::new_v4().simple()));
    create_tables(&client, &names)
        .await
        .expect("create tables on moto");
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    let ports = DynamoStores::new(client.clone(), &names).ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    );
    (ports, client, names.audit)
}

provisio_conformance::suite!(ports);

/// The audit table edited item by item, as anyone with write access to it could.
struct Backdoor {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

#[async_trait::async_trait]
impl provisio_conformance::AuditBackdoor for Backdoor {
    async fn overwrite(&self, entry: &AuditEntry) {
        let json = serde_json::to_string(entry).expect("encode entry");
        self.client
            .put_item()
            .table_name(&self.table)
            .item("chain", AttributeValue::S(entry.chain.clone()))
            .item("seq", AttributeValue::N(entry.seq.to_string()))
            .item("hash", AttributeValue::S(entry.hash.clone()))
            .item("entry", AttributeValue::S(json))
            .send()
            .await
            .expect("overwrite audit item");
    }

    async fn delete(&self, chain: &str, seq: u64) {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("chain", AttributeValue::S(chain.into()))
            .key("seq", AttributeValue::N(seq.to_string()))
            .send()
            .await
            .expect("delete audit item");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tampering_is_found_in_every_shard() {
    let (ports, client, table) = stores().await;
    provisio_conformance::audit_tampering_is_found_in_every_shard(
        &ports,
        &Backdoor { client, table },
    )
    .await;
}
