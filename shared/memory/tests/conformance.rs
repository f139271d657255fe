//! The store conformance suite against the in-memory adapters, one test per check so failures are named.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::DateTime;
use provisio_core::ports::Ports;
use provisio_memory::{
    ManualClock, MemoryStores, RecordingEventBus, RecordingWorkflow, ScriptedConnectors,
};

/// Fresh stores per test, like an empty database.
async fn ports() -> Ports {
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    MemoryStores::new().ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    )
}

provisio_conformance::suite!(ports);

/// The in-memory trail, edited through the store handle.
struct Backdoor(Arc<provisio_memory::MemoryAudit>);

#[async_trait::async_trait]
impl provisio_conformance::AuditBackdoor for Backdoor {
    async fn overwrite(&self, entry: &provisio_core::audit::AuditEntry) {
        self.0.tamper(|chains| {
            chains
                .entry(entry.chain.clone())
                .or_default()
                .insert(entry.seq, entry.clone());
        });
    }

    async fn delete(&self, chain: &str, seq: u64) {
        self.0.tamper(|chains| {
            chains.get_mut(chain).and_then(|c| c.remove(&seq));
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tampering_is_found_in_every_shard() {
    let stores = MemoryStores::new();
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    let ports = stores.ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    );
    provisio_conformance::audit_tampering_is_found_in_every_shard(
        &ports,
        &Backdoor(stores.audit.clone()),
    )
    .await;
}
