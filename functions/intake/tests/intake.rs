//! The employee-facing HTTP API, driven by the API Gateway events in events/intake/.

use std::sync::Arc;

use provisio_core::model::{Caller, RequestStatus};
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{
    Demo, FIXTURE_REQUEST_ID, check_http_fixtures, demo_ports, http_event, task_event,
};
use provisio_memory::Unavailable;
use serde_json::{Value, json};

async fn call(demo: &Demo, case: &str) -> ApiResponse {
    intake::handle(&demo.ports, http_event("intake", case)).await
}

fn header<'a>(resp: &'a ApiResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_fixture_targets_an_intake_route() {
    let cases = check_http_fixtures("intake", intake::ROUTES);
    for required in [
        "get-catalog",
        "submit-request",
        "get-request",
        "cancel-request",
        "list-assignments",
        "return-assignment",
    ] {
        assert!(cases.iter().any(|c| c == required), "missing {required}");
    }
}

#[test]
fn the_caller_comes_from_the_jwt_claims() {
    let req = http_event("intake", "submit-request");
    assert_eq!(req.route, "POST /requests");
    assert_eq!(
        req.caller,
        Some(Caller {
            employee_id: "E013".into(),
            email: Some("sarah.kim@example.com".into()),
            groups: vec![],
        })
    );
    assert!(req.header("idempotency-key").is_some());
}

#[tokio::test]
async fn submitting_accepts_the_request_and_starts_fulfilment_once_per_idempotency_key() {
    let demo = demo_ports().await;

    let resp = call(&demo, "submit-request").await;

    assert_eq!(resp.status, 202, "{:?}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(body["status"], "SUBMITTED");
    let id = body["requestId"].as_str().expect("requestId").to_string();
    assert_eq!(
        header(&resp, "location"),
        Some(format!("/requests/{id}").as_str())
    );
    assert_eq!(demo.workflow.fulfilments(), std::slice::from_ref(&id));
    let stored = demo.request(&id).await;
    assert_eq!(stored.item_id, "adobe-creative-cloud");
    assert_eq!(stored.beneficiary_id, "E013");

    // A client retry with the same key and body replays the first answer without a second request.
    let replay = call(&demo, "submit-request").await;
    assert_eq!(replay.status, 202);
    assert_eq!(replay.body_json(), body);
    assert_eq!(demo.workflow.fulfilments(), [id]);
}

#[tokio::test]
async fn a_request_whose_fulfilment_cannot_start_is_closed_and_the_key_can_be_retried() {
    let mut demo = demo_ports().await;
    let working = demo.ports.workflow.clone();
    demo.ports.workflow = Arc::new(Unavailable("Step Functions"));

    let resp = call(&demo, "submit-request").await;
    assert_eq!(resp.status, 503, "{:?}", resp.body_json());
    let mine = demo.ports.requests.list_for("E013").await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[0].status,
        RequestStatus::Failed,
        "closed, not left open"
    );

    // Step Functions is back: the client's retry with the same key goes through.
    demo.ports.workflow = working;
    let retry = call(&demo, "submit-request").await;
    assert_eq!(retry.status, 202, "{:?}", retry.body_json());
    assert_eq!(demo.workflow.fulfilments().len(), 1);
}

#[tokio::test]
async fn a_lost_notification_does_not_fail_a_running_request() {
    let mut demo = demo_ports().await;
    demo.ports.events = Arc::new(Unavailable("EventBridge"));

    let resp = call(&demo, "submit-request").await;
    assert_eq!(resp.status, 202, "{:?}", resp.body_json());
    assert_eq!(demo.workflow.fulfilments().len(), 1, "fulfilment runs");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_conflict() {
    let demo = demo_ports().await;
    assert_eq!(call(&demo, "submit-request").await.status, 202);
    let mut req = http_event("intake", "submit-request");
    req.body = br#"{"itemId":"lucidchart"}"#.to_vec().into();
    let resp = intake::handle(&demo.ports, req).await;
    assert_eq!(resp.status, 409, "{:?}", resp.body_json());
    assert_eq!(demo.workflow.fulfilments().len(), 1);
}

#[tokio::test]
async fn without_a_token_the_answer_is_401_and_nothing_happens() {
    let demo = demo_ports().await;
    let resp = call(&demo, "submit-request-no-token").await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.content_type, "application/problem+json");
    assert_eq!(resp.body_json()["status"], 401);
    assert!(demo.workflow.fulfilments().is_empty());
}

#[tokio::test]
async fn an_unknown_field_is_400_with_field_errors() {
    let demo = demo_ports().await;
    let resp = call(&demo, "submit-request-unknown-field").await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.content_type, "application/problem+json");
    let body = resp.body_json();
    let errors = body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap_or_default().contains("colour")),
        "the unknown field is named: {body}"
    );
    assert!(demo.workflow.fulfilments().is_empty());
}

#[tokio::test]
async fn the_catalog_shows_eligibility_per_item_for_the_caller() {
    let demo = demo_ports().await;
    let resp = call(&demo, "get-catalog").await;
    assert_eq!(resp.status, 200);
    let items = resp.body_json();
    let items = items["items"].as_array().expect("a list of entries");
    let find = |id: &str| -> &Value {
        items
            .iter()
            .find(|i| i["itemId"] == id)
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    // E013 is an engineer in the US.
    assert_eq!(find("github-copilot")["eligible"], true);
    let netsuite = find("netsuite-finance-role");
    assert_eq!(netsuite["eligible"], false);
    assert_eq!(netsuite["reasons"], json!(["Available to Finance only"]));
    assert!(
        items.iter().all(|i| i["itemId"] != "microsoft-visio"),
        "end-of-life items are not offered"
    );
}

#[tokio::test]
async fn a_request_is_visible_to_its_requester_only() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;

    let resp = call(&demo, "get-request").await;
    assert_eq!(resp.status, 200);
    let body = resp.body_json();
    assert_eq!(body["requestId"], FIXTURE_REQUEST_ID);
    assert_eq!(body["status"], "SUBMITTED");
    assert!(body["timeline"].is_array());

    let mut other = http_event("intake", "get-request");
    other.caller = Some(Caller {
        employee_id: "E022".into(),
        email: None,
        groups: vec![],
    });
    let resp = intake::handle(&demo.ports, other).await;
    assert_eq!(resp.status, 404, "no existence leak");
}

#[tokio::test]
async fn cancelling_an_open_request_closes_it() {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;

    let resp = call(&demo, "cancel-request").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(resp.body_json()["status"], "CANCELLED");
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.status, RequestStatus::Cancelled);
    assert!(
        req.cancel_requested,
        "the state machine stops at its next step"
    );

    let again = call(&demo, "cancel-request").await;
    assert_eq!(again.status, 409, "already terminal");
}

/// E013 holds adobe-creative-cloud through req-fixture-1.
async fn holding() -> Demo {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    demo
}

#[tokio::test]
async fn the_caller_lists_their_holdings() {
    let demo = holding().await;
    let resp = call(&demo, "list-assignments").await;
    assert_eq!(resp.status, 200);
    let body = resp.body_json();
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["assignmentId"], "E013.adobe-creative-cloud");
    assert_eq!(items[0]["status"], "ACTIVE");
}

#[tokio::test]
async fn returning_a_holding_starts_the_deprovision_the_deprovisioning_fixture_describes() {
    let demo = holding().await;

    let resp = call(&demo, "return-assignment").await;

    assert_eq!(resp.status, 202, "{:?}", resp.body_json());
    let started = demo.workflow.deprovisions();
    assert_eq!(started.len(), 1);
    assert!(started[0].execution_name.starts_with("return-"));
    // What intake starts is exactly what events/deprovisioning/return.json feeds the Revoke step.
    assert_eq!(started[0].input, task_event("deprovisioning", "return"));

    let mut not_mine = http_event("intake", "return-assignment");
    not_mine.caller = Some(Caller {
        employee_id: "E014".into(),
        email: None,
        groups: vec![],
    });
    assert_eq!(intake::handle(&demo.ports, not_mine).await.status, 404);
    assert_eq!(demo.workflow.deprovisions().len(), 1);
}
