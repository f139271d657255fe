//! The administration HTTP API, driven by the API Gateway events in events/admin/.

use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{Demo, check_http_fixtures, demo_ports, http_event};

async fn call(demo: &Demo, case: &str) -> ApiResponse {
    admin::handle(&demo.ports, http_event("admin", case)).await
}

#[test]
fn every_fixture_targets_an_admin_route() {
    let cases = check_http_fixtures("admin", admin::ROUTES);
    for required in [
        "put-catalog-item",
        "put-license-pool",
        "audit-verify",
        "list-findings",
        "start-review-campaign",
        "review-campaign-report",
        "report-usage",
    ] {
        assert!(cases.iter().any(|c| c == required), "missing {required}");
    }
}

#[test]
fn groups_arrive_in_the_flattened_form_api_gateway_produces() {
    let req = http_event("admin", "put-catalog-item");
    let caller = req.caller.expect("caller");
    assert_eq!(caller.employee_id, "E016");
    assert!(caller.is_admin(), "groups {:?}", caller.groups);
    assert!(!caller.is_auditor());
}

#[tokio::test]
async fn an_admin_creates_a_catalog_item_as_version_one() {
    let demo = demo_ports().await;

    let resp = call(&demo, "put-catalog-item").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(body["itemId"], "miro-business");
    assert_eq!(body["version"], 1);
    assert_eq!(body["updatedBy"], "E016");
    let stored = demo
        .ports
        .catalog
        .get("miro-business")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.name, "Miro Business");

    let again = call(&demo, "put-catalog-item").await;
    assert_eq!(
        again.body_json()["version"],
        2,
        "a replace is a new version"
    );
}

#[tokio::test]
async fn a_non_admin_may_not_change_the_catalog() {
    let demo = demo_ports().await;

    let resp = call(&demo, "put-catalog-item-non-admin").await;

    assert_eq!(resp.status, 403, "{:?}", resp.body_json());
    assert_eq!(resp.content_type, "application/problem+json");
    assert!(
        demo.ports
            .catalog
            .get("miro-business")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_item_whose_path_and_body_ids_differ_is_400() {
    let demo = demo_ports().await;
    let mut req = http_event("admin", "put-catalog-item");
    req.path_params
        .insert("itemId".into(), "something-else".into());
    let resp = admin::handle(&demo.ports, req).await;
    assert_eq!(resp.status, 400);
    let errors = resp.body_json()["errors"].clone();
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "itemId"),
        "{errors}"
    );
}

#[tokio::test]
async fn an_admin_resizes_a_license_pool() {
    let demo = demo_ports().await;

    let resp = call(&demo, "put-license-pool").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(body["poolId"], "pool-adobe-cc");
    assert_eq!(body["total"], 4);
    assert_eq!(body["available"], 4);
    let pool = demo
        .ports
        .licenses
        .get_pool("pool-adobe-cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pool.total, 4);
}

#[tokio::test]
async fn a_pool_cannot_be_moved_to_another_item() {
    let demo = demo_ports().await;
    let mut req = http_event("admin", "put-license-pool");
    req.body = br#"{"itemId":"lucidchart","total":4}"#.to_vec().into();
    let resp = admin::handle(&demo.ports, req).await;
    assert_eq!(resp.status, 400);
    let pool = demo
        .ports
        .licenses
        .get_pool("pool-adobe-cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pool.item_id.as_str(), pool.total),
        ("adobe-creative-cloud", 2)
    );
}

#[tokio::test]
async fn the_auditor_verifies_the_chain_and_sees_tampering() {
    let demo = demo_ports().await;
    // Two audited admin writes.
    assert_eq!(call(&demo, "put-license-pool").await.status, 200);
    assert_eq!(call(&demo, "put-catalog-item").await.status, 200);

    let resp = call(&demo, "audit-verify").await;
    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["checked"], 2);
    assert!(body.get("firstBroken").is_none());

    let mut tampered = None;
    demo.stores.audit.tamper(|chains| {
        let first = chains
            .values_mut()
            .find_map(|chain| chain.get_mut(&1))
            .expect("an entry");
        first.record.actor = "E013".into();
        tampered = Some(first.chain.clone());
    });
    let body = call(&demo, "audit-verify").await.body_json();
    assert_eq!(body["ok"], false);
    assert_eq!(body["firstBroken"], 1);
    assert_eq!(body["brokenChain"], tampered.expect("tampered chain"));
    assert_eq!(body["reason"], "content");
}

#[tokio::test]
async fn an_admin_who_is_not_an_auditor_may_not_verify_the_audit_log() {
    let demo = demo_ports().await;
    let mut req = http_event("admin", "audit-verify");
    req.caller = http_event("admin", "put-catalog-item").caller;
    assert_eq!(admin::handle(&demo.ports, req).await.status, 403);
}

#[tokio::test]
async fn auditors_list_the_open_findings_of_one_kind() {
    let demo = demo_ports().await;
    // Visio went end-of-life after E011 got it; the daily sweep reports the holding.
    demo.hold("E011", "microsoft-visio").await;
    let settings = Default::default();
    provisio_core::usecases::compliance::sweep(&demo.ports, &settings)
        .await
        .unwrap();

    let resp = call(&demo, "list-findings").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    let items = resp.body_json()["items"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items:?}");
    assert_eq!(items[0]["findingId"], "end_of_life:E011.microsoft-visio");
    assert_eq!(items[0]["status"], "OPEN");
    assert_eq!(items[0]["detail"]["replacementItemId"], "lucidchart");
}

#[tokio::test]
async fn findings_are_for_admins_and_auditors_and_kinds_are_checked() {
    let demo = demo_ports().await;

    assert_eq!(call(&demo, "list-findings-employee").await.status, 403);
    let bad = call(&demo, "list-findings-bad-kind").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body_json()["errors"][0]["field"], "kind");
}

#[tokio::test]
async fn an_admin_starts_one_review_campaign_at_a_time_and_auditors_follow_it() {
    let demo = demo_ports().await;
    demo.hold("E013", "adobe-creative-cloud").await;

    let started = call(&demo, "start-review-campaign").await;
    assert_eq!(started.status, 201, "{:?}", started.body_json());
    let campaign = started.body_json();
    assert_eq!(campaign["campaignId"], "adhoc-20261122T100000");
    assert_eq!(campaign["status"], "OPEN");
    assert_eq!(campaign["startedBy"], "E016");
    assert_eq!(campaign["deadline"], "2026-12-06T10:00:00Z");

    let second = call(&demo, "start-review-campaign").await;
    assert_eq!(second.status, 409, "{:?}", second.body_json());

    let mut req = http_event("admin", "review-campaign-report");
    req.path_params
        .insert("campaignId".into(), "adhoc-20261122T100000".into());
    let report = admin::handle(&demo.ports, req).await;
    assert_eq!(report.status, 200, "{:?}", report.body_json());
    let report = report.body_json();
    assert_eq!(report["tasks"], 1);
    assert_eq!(report["byStatus"]["PENDING"], 1);
    assert_eq!(report["pendingByReviewer"]["E009"], 1);
    assert_eq!(report["revokedAssignmentIds"], serde_json::json!([]));
}

#[tokio::test]
async fn employees_may_not_start_review_campaigns_and_unknown_campaigns_are_404() {
    let demo = demo_ports().await;

    let resp = call(&demo, "start-review-campaign-non-admin").await;
    assert_eq!(resp.status, 403, "{:?}", resp.body_json());
    assert!(
        demo.ports
            .reviews
            .open_campaigns()
            .await
            .unwrap()
            .is_empty()
    );

    let resp = call(&demo, "review-campaign-report").await;
    assert_eq!(resp.status, 404, "{:?}", resp.body_json());
}
