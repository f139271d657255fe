//! What the approval-callback test files share: the demo request waiting at its manager stage.

use provisio_core::ports::Ports;
use provisio_core::usecases::{approvals, fulfilment};
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, http_event, task_event};

/// The approval the fixtures decide: stage 0 of the fixture request.
pub const APPROVAL: &str = "req-fixture-1-s0";

/// The fixture `case` of the approval-callback function, handled over `ports`.
pub async fn call(ports: &Ports, case: &str) -> ApiResponse {
    approval_callback::handle(ports, http_event("approval-callback", case)).await
}

/// E013's adobe-creative-cloud request waiting at its manager stage (E009), opened with the approval fixture;
/// and the stage's task token.
pub async fn waiting_for_manager() -> (Demo, String) {
    let demo = demo_ports().await;
    demo.seed_request(FIXTURE_REQUEST_ID, "E013", "adobe-creative-cloud")
        .await;
    fulfilment::route(&demo.ports, FIXTURE_REQUEST_ID)
        .await
        .unwrap();
    let open = task_event("approval", "await-decision-stage-0");
    let input = serde_json::from_value(open.clone()).unwrap();
    approvals::open_stage(&demo.ports, &input).await.unwrap();
    let token = open["taskToken"].as_str().unwrap().to_string();
    (demo, token)
}
