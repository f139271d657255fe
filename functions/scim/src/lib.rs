//! SCIM 2.0 (RFC 7643/7644) for identity providers: Users with the enterprise extension.

use provisio_core::Error;
use provisio_core::names::routes;
use provisio_core::ports::Ports;
use provisio_lambda::api::{ApiRequest, ApiResponse};

/// Route keys this function serves (API Gateway and the local stack register exactly these).
pub const ROUTES: &[&str] = routes::SCIM;

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(_p: &Ports, _token: &str, req: ApiRequest) -> ApiResponse {
    ApiResponse::problem(&Error::NotFound(format!("route {}", req.route)))
}
