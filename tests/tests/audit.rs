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

    // The request's second entry: the trail is sharded, so verification names the chain and the position.
    let (chain, seq) = s.tamper_audit_actor(&id, 1, "someone-else").await;
    let broken = s.call("E021", "GET", "/admin/audit/verify", None).await;
    assert_eq!(broken.body["ok"], false);
    assert_eq!(broken.body["firstBroken"], seq);
    assert_eq!(broken.body["brokenChain"], chain);
    assert_eq!(broken.body["reason"], "content");
}

#[tokio::test]
async fn the_escalation_sweep_anchors_the_audit_trail_once_per_change() {
    let s = Stack::start().await;
    let id = s.submit("E013", json!({"itemId": "lucidchart"})).await;
    s.wait_status("E013", &id, "FULFILLED").await;
    assert_eq!(s.run_schedule("escalation").await["anchored"], true);
    assert_eq!(
        s.run_schedule("escalation").await["anchored"],
        false,
        "nothing appended since the last anchor"
    );
    let ok = s.call("E021", "GET", "/admin/audit/verify", None).await;
    assert_eq!(
        (ok.body["ok"].clone(), ok.body["anchors"].clone()),
        (json!(true), json!(1)),
        "{:?}",
        ok.body
    );
    assert_eq!(ok.body["latestAnchor"]["seq"], 1);
}
