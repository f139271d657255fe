//! The in-memory stores serve the local stack's hot paths (a submit, its steps, "my requests", "my approvals",
//! "my holdings") from indexes: the cost of one request's reads and writes must not grow with the number of
//! requests already stored, or the local stack slows down as it fills.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta};
use provisio_core::model::{
    ApprovalMode, ApprovalStatus, ApprovalTask, Assignment, GrantSource, NewRequest, Principal,
    Request, RequestStatus,
};
use provisio_core::ports::{ApprovalStore, AssignmentStore, RequestStore};
use provisio_memory::MemoryStores;

/// Requests per person: the stores grow by more people, so each person's own lists stay the same size.
const PER_PERSON: usize = 5;

fn request(i: usize, people: usize, at: DateTime<chrono::Utc>) -> Request {
    let person = format!("E{}", i % people);
    Request::submitted(
        NewRequest {
            request_id: format!("req-{i:08}"),
            item_id: format!("item-{i}"),
            item_version: 1,
            requester_id: person.clone(),
            beneficiary_id: person,
            justification: None,
            duration_hours: None,
            extends_assignment_id: None,
        },
        at,
    )
}

fn task(req: &Request, at: DateTime<chrono::Utc>) -> ApprovalTask {
    ApprovalTask {
        approval_id: format!("apr-{}", req.request_id),
        request_id: req.request_id.clone(),
        stage_index: 0,
        stage_name: "manager".into(),
        item_id: req.item_id.clone(),
        requester_id: req.requester_id.clone(),
        beneficiary_id: req.beneficiary_id.clone(),
        mode: ApprovalMode::Any,
        approvers: vec![manager(&req.beneficiary_id)],
        decisions: vec![],
        status: ApprovalStatus::Pending,
        task_token: String::new(),
        created_at: at,
        due_at: at + TimeDelta::hours(48),
        expires_at: None,
        reminded_at: None,
        escalated_at: None,
        outstanding: None,
        version: 0,
    }
}

fn manager(person: &str) -> Principal {
    Principal::User(format!("M-{person}"))
}

/// One request's way through the stores, as the local stack drives it: submit, "my requests", the approval
/// task and "my approvals", the grant and "my holdings", the close.
async fn one_request(stores: &MemoryStores, i: usize, people: usize, at: DateTime<chrono::Utc>) {
    let mut req = request(i, people, at);
    let who = req.beneficiary_id.clone();
    stores.requests.create(&req).await.expect("create");
    stores.requests.list_for(&who).await.expect("list_for");
    let mut approval = task(&req, at);
    stores.approvals.create(&approval).await.expect("task");
    stores
        .approvals
        .pending_for(&manager(&who))
        .await
        .expect("pending_for");
    approval.status = ApprovalStatus::Approved;
    stores.approvals.save(&mut approval).await.expect("decide");
    let mut holding = Assignment::new(&who, &req.item_id, at);
    holding.sources.push(GrantSource {
        request_id: req.request_id.clone(),
        via_bundle: None,
        granted_at: at,
        expires_at: None,
    });
    stores.assignments.save(&mut holding).await.expect("grant");
    stores
        .assignments
        .list_by_holder(&who)
        .await
        .expect("list_by_holder");
    req.transition(RequestStatus::Fulfilled, "provisio", "fulfilled", at);
    stores.requests.save(&mut req).await.expect("close");
}

/// Mean time of one request's store calls once `stored` requests (with their tasks and holdings) exist.
async fn cost_at(stored: usize) -> Duration {
    const SAMPLE: usize = 500;
    let stores = MemoryStores::new();
    let people = stored / PER_PERSON;
    let start = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    for i in 0..stored {
        one_request(&stores, i, people, start + TimeDelta::seconds(i as i64)).await;
    }
    let began = Instant::now();
    for i in stored..stored + SAMPLE {
        one_request(&stores, i, people, start + TimeDelta::seconds(i as i64)).await;
    }
    began.elapsed() / SAMPLE as u32
}

#[tokio::test]
async fn a_request_costs_the_same_at_16k_stored_requests_as_at_1k() {
    let small = cost_at(1_000).await;
    let large = cost_at(16_000).await;
    println!("one request's store calls: {small:?} at 1k stored, {large:?} at 16k stored");
    // A scan of every record grows 16-fold; an index lookup by a little (deeper trees, colder caches).
    assert!(
        large < small * 4,
        "per-request cost grew from {small:?} (1k stored) to {large:?} (16k stored)"
    );
}
