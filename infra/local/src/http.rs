//! The HTTP server: every route of the Lambda functions (same route keys as API Gateway), dev-JWT auth, and the
//! local-only `/_local` control endpoints.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use provisio_core::Error;
use provisio_core::names::routes;
use provisio_lambda::api::{ApiRequest, ApiResponse, MAX_BODY_BYTES, parse_json, respond};
use serde::Deserialize;
use serde_json::json;

use crate::clock::MAX_OFFSET_HOURS;
use crate::stack::LocalStack;

type Ctx = Arc<LocalStack>;

#[derive(Clone, Copy)]
enum Function {
    Intake,
    ApprovalCallback,
    Admin,
    HrWebhook,
    Scim,
}

impl Function {
    const ALL: [Function; 5] = [
        Function::Intake,
        Function::ApprovalCallback,
        Function::Admin,
        Function::HrWebhook,
        Function::Scim,
    ];

    fn routes(self) -> &'static [&'static str] {
        match self {
            Function::Intake => intake::ROUTES,
            Function::ApprovalCallback => approval_callback::ROUTES,
            Function::Admin => admin::ROUTES,
            Function::HrWebhook => hr_webhook::ROUTES,
            Function::Scim => scim::ROUTES,
        }
    }

    /// The answer to a body over [`MAX_BODY_BYTES`], in the function's own error format.
    fn too_large(self) -> ApiResponse {
        match self {
            Function::Scim => scim::ScimError::TooLarge(MAX_BODY_BYTES).response(),
            _ => ApiResponse::problem(&Error::TooLarge(MAX_BODY_BYTES)),
        }
    }

    async fn call(self, ctx: &LocalStack, req: ApiRequest) -> ApiResponse {
        match self {
            Function::Intake => intake::handle(&ctx.ports, req).await,
            Function::ApprovalCallback => approval_callback::handle(&ctx.ports, req).await,
            Function::Admin => admin::handle(&ctx.ports, req).await,
            Function::HrWebhook => hr_webhook::handle(&ctx.hr_webhook, req).await,
            Function::Scim => {
                let settings = scim::Settings {
                    token: ctx.scim_token.clone(),
                    lifecycle: ctx.lifecycle.clone(),
                };
                scim::handle(&ctx.ports, &settings, req).await
            }
        }
    }
}

/// The local API. Fails only on a malformed route key in shared/names.json (a build defect, caught at startup).
pub fn router(ctx: Ctx) -> Result<Router, Error> {
    // Group by path first: one MethodRouter per path, as axum requires.
    let mut by_path: BTreeMap<&'static str, MethodRouter<Ctx>> = BTreeMap::new();
    for function in Function::ALL {
        for route in function.routes() {
            let (filter, path) = route
                .split_once(' ')
                .and_then(|(method, path)| Some((method_filter(method)?, path)))
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "route key {route:?} is not 'METHOD /path' with a supported method"
                    ))
                })?;
            let handler = move |State(ctx): State<Ctx>,
                                Path(params): Path<HashMap<String, String>>,
                                req: Request| async move {
                dispatch(ctx, function, route, params, req).await
            };
            let entry = by_path.remove(path).unwrap_or_default();
            by_path.insert(path, entry.on(filter, handler));
        }
    }
    let mut api = Router::new();
    for (path, methods) in by_path {
        api = api.route(path, methods);
    }
    Ok(api
        .route("/_local/clock/advance", post(advance_clock))
        .route(
            "/_local/schedules/{name}/run",
            on(MethodFilter::POST, run_schedule),
        )
        .route("/_local/executions/{requestId}", get(execution))
        .route("/_local/events", get(events))
        .route("/_local/queues/hr", get(hr_queue))
        .fallback(|| async { to_response(ApiResponse::problem(&Error::NotFound("route".into()))) })
        .with_state(ctx))
}

/// The axum filter of a route key's method, None for a method axum cannot route.
fn method_filter(method: &str) -> Option<MethodFilter> {
    MethodFilter::try_from(method.parse::<axum::http::Method>().ok()?).ok()
}

async fn dispatch(
    ctx: Ctx,
    function: Function,
    route: &str,
    path_params: HashMap<String, String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // As on API Gateway, public routes have no authorizer: a token there is neither needed nor checked.
    let caller = if routes::PUBLIC.contains(&route) {
        None
    } else {
        match ctx.auth.caller(authorization) {
            Ok(c) => c,
            Err(e) => return to_response(ApiResponse::problem(&e)),
        }
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return to_response(function.too_large()),
    };
    // Last value wins, percent-decoded: as API Gateway passes queryStringParameters.
    let query = match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        Ok(Query(q)) => q,
        Err(e) => {
            return to_response(ApiResponse::problem(&Error::validation(
                "query",
                e.body_text(),
            )));
        }
    };
    let req = ApiRequest {
        route: route.to_string(),
        path_params,
        query,
        headers: parts.headers,
        body,
        caller,
    };
    to_response(function.call(&ctx, req).await)
}

fn to_response(resp: ApiResponse) -> Response {
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(resp.content_type),
    );
    for (name, value) in resp.headers {
        if let (Ok(name), Ok(value)) = (
            name.parse::<header::HeaderName>(),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().insert(name, value);
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    hours: f64,
}

async fn advance_clock(State(ctx): State<Ctx>, body: axum::body::Bytes) -> Response {
    let advance: Advance = match parse_json(&body) {
        Ok(a) => a,
        Err(e) => return to_response(ApiResponse::problem(&e)),
    };
    // Bounded before converting, so the float-to-milliseconds cast cannot saturate into a nonsense offset.
    let by = Some(advance.hours)
        .filter(|h| h.is_finite() && *h > 0.0 && *h <= MAX_OFFSET_HOURS as f64)
        .and_then(|h| chrono::Duration::try_milliseconds((h * 3_600_000.0).round() as i64));
    let result = match by {
        Some(by) => ctx.clock.advance(by),
        None => Err(Error::validation(
            "hours",
            format!("must be a positive number of at most {MAX_OFFSET_HOURS}"),
        )),
    };
    to_response(respond(200, result.map(|now| json!({"now": now}))))
}

/// Runs a scheduled function now, as its EventBridge schedule would, and answers with what it did.
async fn run_schedule(State(ctx): State<Ctx>, Path(name): Path<String>) -> Response {
    to_response(respond(200, ctx.run_schedule(&name).await))
}

async fn execution(State(ctx): State<Ctx>, Path(request_id): Path<String>) -> Response {
    match (
        ctx.engine.describe_execution(&request_id),
        ctx.engine.history(&request_id),
    ) {
        (Some(execution), Some(history)) => to_response(ApiResponse::json(
            200,
            &json!({"execution": execution, "history": history}),
        )),
        _ => to_response(ApiResponse::problem(&Error::NotFound(format!(
            "execution {request_id}"
        )))),
    }
}

async fn events(State(ctx): State<Ctx>) -> impl IntoResponse {
    to_response(ApiResponse::json(
        200,
        &json!({"items": ctx.events.events()}),
    ))
}

/// The HR queue as hr-sync sees it: what waits, what is being handled, and what was set aside after failing.
async fn hr_queue(State(ctx): State<Ctx>) -> Response {
    let depth = ctx.hr_queue.depth();
    let dead: Vec<_> = ctx
        .hr_queue
        .dead_letters()
        .into_iter()
        .map(|d| {
            json!({
                "groupId": d.message.group_id,
                "deduplicationId": d.message.deduplication_id,
                "receiveCount": d.receive_count,
                "body": d.message.body,
            })
        })
        .collect();
    to_response(ApiResponse::json(
        200,
        &json!({"waiting": depth.waiting, "inFlight": depth.in_flight, "deadLetters": dead}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_methods_map_to_filters_and_unknown_ones_are_refused() {
        assert_eq!(method_filter("GET"), Some(MethodFilter::GET));
        assert_eq!(method_filter("PATCH"), Some(MethodFilter::PATCH));
        // Methods are case-sensitive: "get" is an extension method, which axum cannot route, like any other.
        assert_eq!(method_filter("get"), None);
        assert_eq!(method_filter("FETCH"), None);
        assert_eq!(method_filter(""), None);
    }
}
