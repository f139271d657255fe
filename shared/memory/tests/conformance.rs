//! The store conformance suite against the in-memory adapters, one test per check so failures are named.

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
