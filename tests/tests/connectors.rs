//! Webhook connectors: transient failures are retried by the state machine, permanent ones fail the request and
//! release its seat. Grants are signed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use provisio_tests::{CONNECTOR_SECRET, Stack};
use serde_json::json;

/// A target system answering `failures` times with `fail_with`, then 200. Counts calls and checks signatures.
struct Target {
    url: String,
    calls: Arc<AtomicUsize>,
    bad_signatures: Arc<AtomicUsize>,
}

async fn target(failures: usize, fail_with: StatusCode) -> Target {
    let calls = Arc::new(AtomicUsize::new(0));
    let bad_signatures = Arc::new(AtomicUsize::new(0));
    let (c, b) = (calls.clone(), bad_signatures.clone());
    let app = Router::new().route(
        "/grants",
        post(move |headers: HeaderMap, body: Bytes| {
            let (c, b) = (c.clone(), b.clone());
            async move {
                let sig = headers
                    .get("x-provisio-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let t: i64 = sig
                    .split(',')
                    .next()
                    .and_then(|p| p.strip_prefix("t="))
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if sig != provisio_connectors::sign(CONNECTOR_SECRET.as_bytes(), t, &body) {
                    b.fetch_add(1, Ordering::SeqCst);
                }
                if c.fetch_add(1, Ordering::SeqCst) < failures {
                    (fail_with, "{}")
                } else {
                    (StatusCode::OK, r#"{"account":"acc-1"}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/grants", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Target {
        url,
        calls,
        bad_signatures,
    }
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
    assert_eq!(t.calls.load(Ordering::SeqCst), 3, "two 503s, then success");
    assert_eq!(
        t.bad_signatures.load(Ordering::SeqCst),
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
    assert_eq!(
        t.calls.load(Ordering::SeqCst),
        1,
        "permanent failures are not retried"
    );
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
