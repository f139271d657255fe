//! HR systems post joiner/mover/leaver events here (`POST /hr/events`). The signature is checked before the body
//! is even parsed; a valid event is queued (FIFO: in order per employee, once per event id) and answered 202
//! only once the queue has it. hr-sync applies it.

use std::sync::Arc;

use provisio_core::model::HrEvent;
use provisio_core::names::routes;
use provisio_core::ports::{Clock, Queue};
use provisio_core::usecases::hr;
use provisio_core::{Error, Result, signature};
use provisio_lambda::api::{ApiRequest, ApiResponse, MAX_BODY_BYTES, parse_json, unknown_route};
use serde_json::json;

/// Route keys this function serves (API Gateway and the local stack register exactly these).
pub const ROUTES: &[&str] = routes::HR_WEBHOOK;

/// What the webhook needs: where events go, the time (for the replay window) and the shared secret.
pub struct Webhook {
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub secret: String,
}

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(w: &Webhook, req: ApiRequest) -> ApiResponse {
    if req.route != "POST /hr/events" {
        return unknown_route(&req);
    }
    match accept(w, &req).await {
        Ok(event) => {
            ApiResponse::json(202, &json!({"eventId": event.event_id, "status": "queued"}))
        }
        Err(e) => ApiResponse::problem(&e),
    }
}

async fn accept(w: &Webhook, req: &ApiRequest) -> Result<HrEvent> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(Error::TooLarge(MAX_BODY_BYTES));
    }
    signature::verify(
        w.secret.as_bytes(),
        req.header(signature::HEADER),
        &req.body,
        w.clock.now(),
    )?;
    let event: HrEvent = parse_json(&req.body)?;
    hr::validate(&event)?;
    w.queue.send(hr::queue_message(&event, &req.body)).await?;
    tracing::info!(event = %event.event_id, kind = ?event.kind, "HR event queued");
    Ok(event)
}
