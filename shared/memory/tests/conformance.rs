//! The store conformance suite against the in-memory adapters, one test per check so failures are named.

use std::sync::Arc;

use chrono::DateTime;
use provisio_core::ports::Ports;
use provisio_memory::{
    ManualClock, MemoryStores, RecordingEventBus, RecordingWorkflow, ScriptedConnectors,
};

/// Fresh stores per test, like an empty database.
fn ports() -> Ports {
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    MemoryStores::new().ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(start)),
        Arc::new(ScriptedConnectors::default()),
    )
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            provisio_conformance::$check(&ports()).await;
        }
    )*};
}

conformance!(
    catalog_put_creates_the_next_version,
    identities_paginate_in_order,
    identities_delegators_of,
    requests_are_optimistic,
    requests_list_for_newest_first,
    approvals_are_optimistic,
    approvals_pending_for_excludes_decided,
    approvals_for_request_and_decided_by,
    assignments_are_optimistic,
    assignments_list_by_holder,
    licenses_concurrent_reservations_never_oversubscribe,
    licenses_reserve_is_all_or_none,
    licenses_repeated_calls_are_noops,
    licenses_set_total_never_drops_below_assigned,
    idempotency_concurrent_claims_have_one_winner,
    idempotency_completed_replays_until_expiry,
    idempotency_expired_in_progress_is_reacquirable,
    idempotency_abandon_allows_a_new_claim,
    audit_concurrent_appends_chain_without_gaps,
);

/// All checks on one shared store, as they will run against one DynamoDB: they must not disturb each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_store() {
    provisio_conformance::run_all(&ports()).await;
}
