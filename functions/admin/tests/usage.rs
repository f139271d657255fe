//! `POST /usage`: usage signals from connectors (a service identity in provisio-fulfilment) and admins, driven
//! by the events in events/admin/report-usage*.json; and the reclamation policy of catalog items.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use provisio_core::model::AssignmentStatus;
use provisio_core::usecases::fulfilment::{self, Deprovision};
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, http_event};
use serde_json::{Value, json};

const HOLDING: &str = "E011.adobe-creative-cloud";

/// E011 holds Creative Cloud.
async fn holding() -> Demo {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E011", "adobe-creative-cloud")
        .await;
    demo
}

async fn call(demo: &Demo, case: &str) -> ApiResponse {
    admin::handle(&demo.ports, http_event("admin", case)).await
}

/// The connector's signal with another body.
async fn report(demo: &Demo, body: Value) -> ApiResponse {
    let mut req = http_event("admin", "report-usage");
    req.body = body.to_string().into_bytes().into();
    admin::handle(&demo.ports, req).await
}

async fn last_used_at(demo: &Demo) -> Value {
    let a = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    json!(a.last_used_at)
}

#[tokio::test]
async fn a_connector_reports_usage_and_the_last_use_never_moves_back() {
    let demo = holding().await;

    let resp = call(&demo, "report-usage").await;
    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(
        resp.body_json(),
        json!({"assignmentId": HOLDING, "status": "ACTIVE", "lastUsedAt": "2026-11-22T09:30:00Z"})
    );
    assert_eq!(last_used_at(&demo).await, "2026-11-22T09:30:00Z");
    let version = demo
        .ports
        .assignments
        .get(HOLDING)
        .await
        .unwrap()
        .unwrap()
        .version;

    // A late, older signal and a repeat change nothing (and write nothing).
    let older = report(
        &demo,
        json!({"assignmentId": HOLDING, "usedAt": "2026-11-22T08:00:00Z"}),
    )
    .await;
    assert_eq!(older.body_json()["lastUsedAt"], "2026-11-22T09:30:00Z");
    call(&demo, "report-usage").await;
    let a = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    assert_eq!(a.version, version, "nothing saved");

    // A newer one moves it; a clock a little ahead of ours is tolerated.
    let ahead = report(
        &demo,
        json!({"assignmentId": HOLDING, "usedAt": "2026-11-22T10:04:00Z"}),
    )
    .await;
    assert_eq!(ahead.status, 200, "{:?}", ahead.body_json());
    assert_eq!(last_used_at(&demo).await, "2026-11-22T10:04:00Z");
}

#[tokio::test]
async fn a_signal_from_the_future_is_400() {
    let demo = holding().await;
    let resp = call(&demo, "report-usage-future").await;
    assert_eq!(resp.status, 400, "{:?}", resp.body_json());
    assert_eq!(resp.body_json()["errors"][0]["field"], "usedAt");
    assert_eq!(last_used_at(&demo).await, Value::Null);
}

#[tokio::test]
async fn a_malformed_signal_is_400() {
    let demo = holding().await;
    for body in [
        json!({"assignmentId": HOLDING}),
        json!({"assignmentId": HOLDING, "usedAt": "yesterday"}),
        json!({"assignmentId": HOLDING, "usedAt": "2026-11-22T09:30:00Z", "seconds": 5}),
    ] {
        assert_eq!(report(&demo, body.clone()).await.status, 400, "{body}");
    }
}

#[tokio::test]
async fn an_unknown_holding_is_404() {
    let demo = demo_ports().await;
    let resp = call(&demo, "report-usage").await;
    assert_eq!(resp.status, 404, "{:?}", resp.body_json());
}

#[tokio::test]
async fn an_employee_may_not_report_usage() {
    let demo = holding().await;
    let resp = call(&demo, "report-usage-employee").await;
    assert_eq!(resp.status, 403, "{:?}", resp.body_json());
    assert_eq!(last_used_at(&demo).await, Value::Null);
}

#[tokio::test]
async fn a_signal_for_an_ended_holding_changes_nothing() {
    let demo = holding().await;
    let returned = Deprovision {
        assignment_id: HOLDING.into(),
        request_id: None,
        reason: AssignmentStatus::Returned,
    };
    fulfilment::deprovision(&demo.ports, &returned)
        .await
        .unwrap();

    let resp = call(&demo, "report-usage").await;
    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(
        resp.body_json(),
        json!({"assignmentId": HOLDING, "status": "RETURNED", "lastUsedAt": null})
    );
}

/// The catalog item fixture with a reclamation policy.
async fn put_item_reclaimed(demo: &Demo, reclamation: Value) -> ApiResponse {
    let mut req = http_event("admin", "put-catalog-item");
    let mut item: Value = serde_json::from_slice(&req.body).unwrap();
    item["reclamation"] = reclamation;
    req.body = item.to_string().into_bytes().into();
    admin::handle(&demo.ports, req).await
}

#[tokio::test]
async fn a_reclamation_policy_needs_positive_days() {
    let demo = demo_ports().await;

    let resp = put_item_reclaimed(&demo, json!({"idleDays": 0, "graceDays": 0})).await;
    assert_eq!(resp.status, 400, "{:?}", resp.body_json());
    let fields: Vec<Value> = resp.body_json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!("reclamation.idleDays"),
            json!("reclamation.graceDays")
        ]
    );
    for bad in [
        json!({"idleDays": 30}),
        json!({"idleDays": -1, "graceDays": 14}),
        json!({"idleDays": 30, "graceDays": 14, "notice": 1}),
    ] {
        assert_eq!(
            put_item_reclaimed(&demo, bad.clone()).await.status,
            400,
            "{bad}"
        );
    }

    let resp = put_item_reclaimed(&demo, json!({"idleDays": 30, "graceDays": 14})).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(
        resp.body_json()["reclamation"],
        json!({"idleDays": 30, "graceDays": 14})
    );
}
