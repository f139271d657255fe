//! Approvers' and reviewers' HTTP API: what waits for me, and my decision (an approval resumes or fails the
//! waiting workflow; an access review keeps or revokes a holding).

use provisio_core::names::routes;
use provisio_core::ports::Ports;
use provisio_core::usecases::{approvals, reviews};
use provisio_lambda::api::{ApiRequest, ApiResponse, respond, unknown_route};
use serde_json::json;

pub const ROUTES: &[&str] = routes::APPROVAL_CALLBACK;

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(p: &Ports, req: ApiRequest) -> ApiResponse {
    let caller = match req.caller() {
        Ok(c) => c.clone(),
        Err(e) => return ApiResponse::problem(&e),
    };
    match req.route.as_str() {
        "GET /approvals" => respond(
            200,
            approvals::pending_for(p, &caller)
                .await
                .map(|items| json!({"items": items})),
        ),
        "POST /approvals/{approvalId}/decision" => respond(
            200,
            async { approvals::decide(p, &caller, req.param("approvalId")?, req.json()?).await }
                .await,
        ),
        "GET /reviews" => respond(
            200,
            reviews::pending_for(p, &caller)
                .await
                .map(|items| json!({"items": items})),
        ),
        "POST /reviews/{reviewId}/decision" => respond(
            200,
            async { reviews::decide(p, &caller, req.param("reviewId")?, req.json()?).await }.await,
        ),
        _ => unknown_route(&req),
    }
}
