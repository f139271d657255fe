//! Employee-facing HTTP API: catalog, requests, assignments.

use provisio_core::model::Caller;
use provisio_core::names::routes;
use provisio_core::ports::{Ports, StoredResponse};
use provisio_core::usecases::{assignments, catalog, idempotency, requests};
use provisio_core::{Error, Result};
use provisio_lambda::api::{ApiRequest, ApiResponse, respond, unknown_route};
use serde_json::{Value, json};

/// Route keys this function serves (API Gateway and the local stack register exactly these).
pub const ROUTES: &[&str] = routes::INTAKE;

/// The OpenAPI document of the whole HTTP API, served without authentication.
pub const OPENAPI: &str = include_str!("../../../shared/openapi.json");

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(p: &Ports, req: ApiRequest) -> ApiResponse {
    if req.route == "GET /openapi.json" {
        return ApiResponse::raw_json(200, OPENAPI);
    }
    let caller = match req.caller() {
        Ok(c) => c.clone(),
        Err(e) => return ApiResponse::problem(&e),
    };
    let param = |name| req.param(name).map(str::to_string);
    match req.route.as_str() {
        "GET /catalog" => respond(
            200,
            catalog::browse(p, &caller)
                .await
                .map(|items| json!({"items": items})),
        ),
        "GET /catalog/{itemId}" => respond(
            200,
            async { catalog::get(p, &caller, &param("itemId")?).await }.await,
        ),
        "POST /requests" => submit(p, &caller, &req)
            .await
            .unwrap_or_else(|e| ApiResponse::problem(&e)),
        "GET /requests" => respond(
            200,
            async {
                let as_approver = match req.query.get("role").map(String::as_str) {
                    None => false,
                    Some("approver") => true,
                    Some(_) => return Err(Error::validation("role", "must be \"approver\"")),
                };
                requests::list(p, &caller, as_approver)
                    .await
                    .map(|items| json!({"items": items}))
            }
            .await,
        ),
        "GET /requests/{id}" => respond(
            200,
            async { requests::get(p, &caller, &param("id")?).await }.await,
        ),
        "POST /requests/{id}/cancel" => respond(
            200,
            async { requests::cancel(p, &caller, &param("id")?).await }.await,
        ),
        "GET /assignments" => respond(
            200,
            assignments::list(p, &caller)
                .await
                .map(|items| json!({"items": items})),
        ),
        "POST /assignments/{id}/return" => respond(
            202,
            async {
                assignments::give_back(p, &caller, &param("id")?, req.json_or_default()?).await
            }
            .await,
        ),
        "POST /assignments/{id}/extend" => respond(
            202,
            async {
                let r = assignments::extend(p, &caller, &param("id")?, req.json()?).await?;
                Ok::<_, Error>(accepted(&r))
            }
            .await,
        ),
        _ => unknown_route(&req),
    }
}

fn accepted(r: &provisio_core::model::Request) -> Value {
    json!({"requestId": r.request_id, "status": r.status})
}

/// Submits with Idempotency-Key semantics: same key + same body replays the first response.
async fn submit(p: &Ports, caller: &Caller, req: &ApiRequest) -> Result<ApiResponse> {
    let body: Value = req.json()?;
    let input: requests::SubmitInput = serde_json::from_value(body.clone()).map_err(|e| {
        Error::validation("body", format!("does not match the expected shape: {e}"))
    })?;
    let run = || async {
        let r = requests::submit(p, caller, input).await?;
        Ok(StoredResponse {
            status: 202,
            body: accepted(&r),
        })
    };
    let stored = match req.header("idempotency-key") {
        Some(key) => {
            idempotency::once(
                p,
                &caller.employee_id,
                key,
                &idempotency::fingerprint(&body),
                run,
            )
            .await?
        }
        None => run().await?,
    };
    let location = stored.body["requestId"]
        .as_str()
        .map(|id| format!("/requests/{id}"))
        .unwrap_or_default();
    Ok(ApiResponse::json(stored.status, &stored.body).with_header("location", location))
}
