//! The audit trail: every transition recorded, and tampering detected.

use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn audit_verify_passes_then_detects_a_tampered_entry() {
    let s = Stack::start().await;
    let id = s.submit("E013", json!({"itemId": "lucidchart"})).await;
    s.wait_status("E013", &id, "FULFILLED").await;

    let ok = s.call("E021", "GET", "/admin/audit/verify", None).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["ok"], true);
    assert!(
        ok.body["checked"].as_u64().unwrap() >= 4,
        "submit, route, provision, fulfil: {:?}",
        ok.body
    );
    assert_problem(
        &s.call("E013", "GET", "/admin/audit/verify", None).await,
        403,
    );

    s.tamper_audit_actor(2, "someone-else").await;
    let broken = s.call("E021", "GET", "/admin/audit/verify", None).await;
    assert_eq!(broken.body["ok"], false);
    assert_eq!(broken.body["firstBroken"], 2);
}
