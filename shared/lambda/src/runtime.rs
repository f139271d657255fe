//! The Lambda runtime loops main.rs files call: decode the event, run the handler, encode the result.

use std::future::Future;

use bytes::Bytes;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use lambda_runtime::{LambdaEvent, service_fn};
use provisio_core::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ApiRequest, ApiResponse};
use crate::claims::caller_from_claims;
use crate::task::{TaskError, invoke_json};

/// JSON logs with the Lambda request id; level from `RUST_LOG`/`AWS_LAMBDA_LOG_LEVEL`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Serves a Step Functions task: `handler` gets the typed payload; errors leave with their `Provisio.*` name.
pub async fn run_task<I, O, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, Error>> + Send,
{
    let handler = &handler;
    // Decode through invoke_json, so a malformed payload is `Provisio.Validation` here as in the local stack.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        invoke_json(event.payload, handler).await.map_err(TaskError)
    }))
    .await
}

/// Serves API Gateway HTTP API routes through a transport-neutral handler.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ApiResponse> + Send,
{
    let handler = &handler;
    lambda_http::run(service_fn(move |req: lambda_http::Request| async move {
        let response = handler(from_api_gateway(req)).await;
        to_lambda(response).map_err(|e| lambda_runtime::Diagnostic {
            error_type: provisio_core::names::errors::INTERNAL.into(),
            error_message: e.to_string(),
        })
    }))
    .await
}

/// The one conversion from an API Gateway HTTP API event (as lambda_http decodes it) to an [`ApiRequest`], used
/// by [`run_http`] and by the `fixtures` event loader. API Gateway has already verified the JWT; its claims are
/// the only source of the caller.
pub fn from_api_gateway(req: lambda_http::Request) -> ApiRequest {
    let (route, claims) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ApiGatewayV2httpRequestContext {
            route_key,
            authorizer,
            ..
        })) => {
            let claims = authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| {
                jwt.claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect()
            });
            (route_key.clone().unwrap_or_default(), claims)
        }
        _ => (String::new(), None),
    };
    let pairs = |m: Option<&lambda_http::aws_lambda_events::query_map::QueryMap>| {
        m.map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
    };
    ApiRequest {
        route,
        path_params: pairs(req.path_parameters_ref()),
        query: pairs(req.query_string_parameters_ref()),
        headers: req.headers().clone(),
        body: Bytes::copy_from_slice(req.body().as_ref()),
        caller: claims.and_then(|c: serde_json::Map<String, Value>| caller_from_claims(&c)),
    }
}

fn to_lambda(resp: ApiResponse) -> Result<lambda_http::Response<Body>, lambda_http::http::Error> {
    let mut builder = lambda_http::Response::builder()
        .status(resp.status)
        .header("content-type", resp.content_type);
    for (name, value) in &resp.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Body::Text(String::from_utf8_lossy(&resp.body).into_owned()))
}
