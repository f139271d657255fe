//! The HR webhook, driven by the API Gateway events in events/hr-webhook/ (signed with the fixture secret at
//! the demo time).

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use hr_webhook::Webhook;
use provisio_core::ports::Queue;
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{DEMO_NOW, check_http_fixtures, http_event};
use provisio_memory::{FifoQueue, ManualClock, Unavailable};

const SECRET: &str = "fixture-hr-webhook-secret";

fn webhook(queue: Arc<dyn Queue>) -> Webhook {
    Webhook {
        queue,
        clock: Arc::new(ManualClock::new(DEMO_NOW.parse().unwrap())),
        secret: SECRET.into(),
    }
}

async fn call(case: &str) -> (ApiResponse, Arc<FifoQueue>) {
    let queue = Arc::new(FifoQueue::new(5, Duration::ZERO));
    let resp = hr_webhook::handle(&webhook(queue.clone()), http_event("hr-webhook", case)).await;
    (resp, queue)
}

#[test]
fn every_fixture_targets_the_webhook_route() {
    let cases = check_http_fixtures("hr-webhook", hr_webhook::ROUTES);
    for required in ["hire", "bad-signature", "stale-signature", "malformed"] {
        assert!(cases.iter().any(|c| c == required), "missing {required}");
    }
}

#[tokio::test]
async fn a_signed_event_is_queued_in_its_employee_group_once_per_event_id() {
    let (resp, queue) = call("hire").await;

    assert_eq!(resp.status, 202, "{:?}", resp.body_json());
    assert_eq!(resp.body_json()["eventId"], "wd-2026-11-22-0001");
    let received = queue.receive(10);
    assert_eq!(received.len(), 1);
    let message = &received[0].message;
    assert_eq!(message.group_id, "E031", "ordered per employee");
    assert_eq!(message.deduplication_id, "wd-2026-11-22-0001");
    let req = http_event("hr-webhook", "hire");
    assert_eq!(
        message.body.as_bytes(),
        req.body.as_ref(),
        "the signed body as sent"
    );
}

#[tokio::test]
async fn bad_or_stale_signatures_and_malformed_events_queue_nothing() {
    for (case, status) in [
        ("bad-signature", 401),
        ("stale-signature", 401),
        ("malformed", 400),
    ] {
        let (resp, queue) = call(case).await;
        assert_eq!(resp.status, status, "{case}: {:?}", resp.body_json());
        assert_eq!(resp.content_type, "application/problem+json");
        assert_eq!(queue.depth().waiting, 0, "{case} queued something");
    }
}

#[tokio::test]
async fn without_the_queue_the_event_is_not_acknowledged() {
    let resp = hr_webhook::handle(
        &webhook(Arc::new(Unavailable("SQS"))),
        http_event("hr-webhook", "hire"),
    )
    .await;
    assert_eq!(
        resp.status,
        503,
        "the HR system must retry: {:?}",
        resp.body_json()
    );
}
