//! Webhook connectors: transient failures are retried by the state machine, permanent ones fail the request and
//! release its seat. Grants are signed.

use axum::http::StatusCode;
use provisio_tests::Stack;
use provisio_tests::target::Target;
use serde_json::json;

/// A target whose next `failures` grants answer `fail_with`.
async fn target(failures: usize, fail_with: StatusCode) -> Target {
    let t = Target::start().await;
    t.fail_next("grant", failures, fail_with);
    t
}

async fn webhook_item(s: &Stack, url: &str) {
    s.put_item(
        "partner-app",
        json!({"licensePoolId": "pool-partner", "connector": {"type": "webhook", "url": url}}),
    )
    .await;
    s.put_pool("pool-partner", "partner-app", 1).await;
}

#[tokio::test]
async fn transient_failures_are_retried_then_fulfilled() {
    let s = Stack::start().await;
    let t = target(2, StatusCode::SERVICE_UNAVAILABLE).await;
    webhook_item(&s, &t.url).await;
    let id = s.submit("E013", json!({"itemId": "partner-app"})).await;
    s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(t.calls(), 3, "two 503s, then success");
    assert_eq!(
        t.bad_signatures(),
        0,
        "every call carried a valid signature"
    );
    s.wait_pool("pool-partner", 0, 1).await;

    let history = s
        .send("GET", &format!("/_local/executions/{id}"), None, None, &[])
        .await;
    let failed: Vec<_> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert_eq!(
        failed.len(),
        2,
        "the two transient failures are in the execution history"
    );
}

#[tokio::test]
async fn a_permanent_failure_fails_the_request_and_releases_the_seat() {
    let s = Stack::start().await;
    let t = target(usize::MAX, StatusCode::BAD_REQUEST).await;
    webhook_item(&s, &t.url).await;
    let id = s.submit("E013", json!({"itemId": "partner-app"})).await;
    let req = s.wait_status("E013", &id, "FAILED").await;
    assert_eq!(req["outcome"]["error"], "Provisio.ConnectorPermanent");
    assert_eq!(t.calls(), 1, "permanent failures are not retried");
    s.wait_pool("pool-partner", 0, 0).await;
    assert!(s.assignments("E013").await.is_empty());
}

#[tokio::test]
async fn a_bundle_is_provisioned_all_or_none() {
    let s = Stack::start().await;
    let t = target(usize::MAX, StatusCode::UNPROCESSABLE_ENTITY).await;
    webhook_item(&s, &t.url).await;
    // lucidchart (record connector) is granted first, then partner-app fails for good: lucidchart must be undone.
    s.put_item(
        "partner-bundle",
        json!({"components": ["lucidchart", "partner-app"]}),
    )
    .await;
    let id = s.submit("E013", json!({"itemId": "partner-bundle"})).await;
    let req = s.wait_status("E013", &id, "FAILED").await;
    assert_eq!(req["outcome"]["error"], "Provisio.ConnectorPermanent");
    assert!(
        s.assignments("E013").await.is_empty(),
        "no component of a failed bundle is left granted"
    );
    s.wait_pool("pool-partner", 0, 0).await;
}
