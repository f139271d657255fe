//! The store conformance suite: the promises of the store ports, checked the same way against every adapter set
//! (the in-memory stores and the DynamoDB adapters on a moto server).
//!
//! Each check is independent: it writes only under fresh ids, so checks can share one database, run in any
//! order or in parallel. A broken promise panics with a message naming it. Concurrency checks spawn tasks, so
//! run them on a multi-thread Tokio runtime.

mod audit;
mod catalog;
mod findings;
mod fixtures;
mod idempotency;
mod identities;
mod licenses;
pub mod moto;
mod open_requests;
mod periods;
mod records;
mod reviews;

use provisio_core::ports::Ports;

pub use audit::{
    AuditBackdoor, audit_concurrent_appends_chain_without_gaps,
    audit_concurrent_appends_on_one_subject_all_succeed, audit_tampering_is_found_in_every_shard,
};
pub use catalog::{
    catalog_put_creates_the_next_version, identities_delegators_of, identities_paginate_in_order,
};
pub use findings::{
    assignments_active_of_item_are_its_active_holdings,
    assignments_idle_of_item_are_its_least_recently_used,
    findings_are_optimistic_and_listed_until_resolved_and_published,
};
pub use idempotency::{
    idempotency_abandon_allows_a_new_claim, idempotency_completed_replays_until_expiry,
    idempotency_concurrent_claims_have_one_winner, idempotency_expired_in_progress_is_reacquirable,
};
pub use identities::{
    identities_scim_lookups, identities_scim_users_page_in_user_name_order,
    identities_terminated_since_are_the_recent_leavers,
};
pub use licenses::{
    licenses_concurrent_reservations_never_oversubscribe,
    licenses_pools_lists_every_pool_and_counts_refused_reservations,
    licenses_repeated_calls_are_noops, licenses_reserve_is_all_or_none,
    licenses_set_total_never_drops_below_assigned,
};
pub use open_requests::{
    requests_concurrent_creates_for_one_key_have_one_winner,
    requests_one_open_per_beneficiary_and_item,
};
pub use periods::{
    assignments_held_between_cover_the_period, requests_created_between_cover_the_period,
};
pub use records::{
    approvals_are_optimistic, approvals_for_request_and_decided_by,
    approvals_needing_escalation_are_the_due_pending_ones, approvals_pending_for_excludes_decided,
    assignments_are_optimistic, assignments_expired_by_are_the_due_active_ones,
    assignments_list_by_holder, requests_are_optimistic, requests_list_for_newest_first,
};
pub use reviews::{
    review_campaigns_are_optimistic_and_listed_while_open,
    review_tasks_are_optimistic_and_indexed_while_pending,
};

/// Runs every check, one after the other.
pub async fn run_all(ports: &Ports) {
    catalog_put_creates_the_next_version(ports).await;
    identities_paginate_in_order(ports).await;
    identities_delegators_of(ports).await;
    identities_scim_lookups(ports).await;
    identities_scim_users_page_in_user_name_order(ports).await;
    identities_terminated_since_are_the_recent_leavers(ports).await;
    requests_are_optimistic(ports).await;
    requests_list_for_newest_first(ports).await;
    requests_one_open_per_beneficiary_and_item(ports).await;
    requests_concurrent_creates_for_one_key_have_one_winner(ports).await;
    requests_created_between_cover_the_period(ports).await;
    approvals_are_optimistic(ports).await;
    approvals_pending_for_excludes_decided(ports).await;
    approvals_for_request_and_decided_by(ports).await;
    approvals_needing_escalation_are_the_due_pending_ones(ports).await;
    assignments_are_optimistic(ports).await;
    assignments_list_by_holder(ports).await;
    assignments_expired_by_are_the_due_active_ones(ports).await;
    assignments_active_of_item_are_its_active_holdings(ports).await;
    assignments_idle_of_item_are_its_least_recently_used(ports).await;
    findings_are_optimistic_and_listed_until_resolved_and_published(ports).await;
    review_campaigns_are_optimistic_and_listed_while_open(ports).await;
    review_tasks_are_optimistic_and_indexed_while_pending(ports).await;
    licenses_pools_lists_every_pool_and_counts_refused_reservations(ports).await;
    assignments_held_between_cover_the_period(ports).await;
    licenses_concurrent_reservations_never_oversubscribe(ports).await;
    licenses_reserve_is_all_or_none(ports).await;
    licenses_repeated_calls_are_noops(ports).await;
    licenses_set_total_never_drops_below_assigned(ports).await;
    idempotency_concurrent_claims_have_one_winner(ports).await;
    idempotency_completed_replays_until_expiry(ports).await;
    idempotency_expired_in_progress_is_reacquirable(ports).await;
    idempotency_abandon_allows_a_new_claim(ports).await;
    audit_concurrent_appends_chain_without_gaps(ports).await;
    audit_concurrent_appends_on_one_subject_all_succeed(ports).await;
}

/// One `#[tokio::test]` per check, each on the ports `$ports().await` builds (an empty store per test). Also a
/// test running every check on one store, as checks must not disturb each other.
#[macro_export]
macro_rules! suite {
    ($ports:path) => {
        $crate::suite!(@each $ports;
            catalog_put_creates_the_next_version,
            identities_paginate_in_order,
            identities_delegators_of,
            identities_scim_lookups,
            identities_scim_users_page_in_user_name_order,
            identities_terminated_since_are_the_recent_leavers,
            requests_are_optimistic,
            requests_list_for_newest_first,
            requests_one_open_per_beneficiary_and_item,
            requests_concurrent_creates_for_one_key_have_one_winner,
            requests_created_between_cover_the_period,
            approvals_are_optimistic,
            approvals_pending_for_excludes_decided,
            approvals_for_request_and_decided_by,
            approvals_needing_escalation_are_the_due_pending_ones,
            assignments_are_optimistic,
            assignments_list_by_holder,
            assignments_expired_by_are_the_due_active_ones,
            assignments_active_of_item_are_its_active_holdings,
            assignments_idle_of_item_are_its_least_recently_used,
            findings_are_optimistic_and_listed_until_resolved_and_published,
            review_campaigns_are_optimistic_and_listed_while_open,
            review_tasks_are_optimistic_and_indexed_while_pending,
            licenses_pools_lists_every_pool_and_counts_refused_reservations,
            assignments_held_between_cover_the_period,
            licenses_concurrent_reservations_never_oversubscribe,
            licenses_reserve_is_all_or_none,
            licenses_repeated_calls_are_noops,
            licenses_set_total_never_drops_below_assigned,
            idempotency_concurrent_claims_have_one_winner,
            idempotency_completed_replays_until_expiry,
            idempotency_expired_in_progress_is_reacquirable,
            idempotency_abandon_allows_a_new_claim,
            audit_concurrent_appends_chain_without_gaps,
            audit_concurrent_appends_on_one_subject_all_succeed,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn run_all_on_one_store() {
            $crate::run_all(&$ports().await).await;
        }
    };
    (@each $ports:path; $($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            $crate::$check(&$ports().await).await;
        }
    )*};
}
