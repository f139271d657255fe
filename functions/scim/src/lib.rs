//! SCIM 2.0 (RFC 7643/7644) for identity providers (Okta, Entra ID): Users with the enterprise extension, at
//! /scim/v2. Identity providers authenticate with a static bearer token (`PROVISIO_SCIM_TOKEN`).
//!
//! A User is an identity: its `id` is the employee id, and every write goes through the lifecycle use case, so
//! a new User is a joiner, a change of department or manager a mover, and `active: false` or DELETE a leaver.

mod error;
mod filter;
mod patch;
mod query;
mod resource;
mod schema;
mod users;

use provisio_core::names::routes;
use provisio_core::ports::Ports;
use provisio_core::usecases::lifecycle::LifecycleSettings;
use provisio_lambda::api::{ApiRequest, ApiResponse, MAX_BODY_BYTES};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use error::ScimError;
// The parsers and PATCH as the handlers run them, callable without a store: the fuzz targets (fuzz/) use them.
pub use filter::{Filter, Scope, parse as parse_filter, sort_key};
pub use patch::apply as apply_patch;
pub use query::{ListQuery, from_search, from_url};
pub use resource::{Doc, normalize, user_name};

use crate::error::Result;
use crate::schema::Schema;

/// Route keys this function serves (API Gateway and the local stack register exactly these).
pub const ROUTES: &[&str] = routes::SCIM;

pub const CONTENT_TYPE: &str = "application/scim+json";

/// Where the SCIM service lives under the API's origin.
const BASE_PATH: &str = "/scim/v2";

/// What the SCIM function needs besides the ports.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The bearer token identity providers send. An empty token admits nobody.
    pub token: String,
    pub lifecycle: LifecycleSettings,
}

/// One request's context.
pub(crate) struct Ctx<'a> {
    pub p: &'a Ports,
    pub settings: &'a Settings,
    /// Absolute URL of the service (`https://host/scim/v2`), for `meta.location` and `$ref`.
    pub base: &'a str,
}

pub(crate) fn scim_json(status: u16, body: &Value) -> ApiResponse {
    ApiResponse {
        status,
        content_type: CONTENT_TYPE,
        headers: vec![],
        body: serde_json::to_vec(body).unwrap_or_default().into(),
    }
}

/// The request body as a JSON object: `invalidSyntax` otherwise (RFC 7644 section 3.12).
pub(crate) fn parse_body(req: &ApiRequest) -> Result<Map<String, Value>> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ScimError::TooLarge(MAX_BODY_BYTES));
    }
    match serde_json::from_slice(&req.body) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(_) => Err(ScimError::InvalidSyntax(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ScimError::InvalidSyntax(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// Compares the bearer token in constant time: both sides are hashed first, so neither the content nor the
/// length of the expected token shows in the timing.
fn authorized(req: &ApiRequest, token: &str) -> bool {
    let Some(given) = req.header("authorization").and_then(|h| {
        let (scheme, value) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
    }) else {
        return false;
    };
    let expected = Sha256::digest(token.as_bytes());
    let given = Sha256::digest(given.as_bytes());
    let differs = expected
        .iter()
        .zip(given.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    !token.is_empty() && differs == 0
}

/// The service's absolute URL from the request: `X-Forwarded-Proto` (set by API Gateway) and `Host`. A
/// malformed host gives a relative base rather than a URL under someone else's name.
fn base_url(req: &ApiRequest) -> String {
    let host = req
        .header("x-forwarded-host")
        .or_else(|| req.header("host"))
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        });
    let proto = req
        .header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map(str::trim)
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    match host {
        Some(host) => format!("{proto}://{host}{BASE_PATH}"),
        None => BASE_PATH.to_string(),
    }
}

/// A path parameter, percent-decoded if the transport left it encoded (schema URNs have colons).
fn path_param(req: &ApiRequest, name: &str) -> String {
    let raw = req.path_params.get(name).map(String::as_str).unwrap_or("");
    if !raw.contains('%') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn list_response(resources: Vec<Value>) -> ApiResponse {
    scim_json(
        200,
        &json!({
            "schemas": [schema::LIST_RESPONSE],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// RFC 7644 section 4: discovery endpoints answer a filter with 403, so no client believes it was applied.
fn refuse_filter(req: &ApiRequest) -> Result<()> {
    if req.query.keys().any(|k| k.eq_ignore_ascii_case("filter")) {
        return Err(ScimError::Forbidden(
            "discovery endpoints do not filter".into(),
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(p: &Ports, settings: &Settings, req: ApiRequest) -> ApiResponse {
    if !authorized(&req, &settings.token) {
        return ScimError::Unauthorized.response();
    }
    let base = base_url(&req);
    let ctx = Ctx {
        p,
        settings,
        base: &base,
    };
    route(&ctx, &req).await.unwrap_or_else(|e| e.response())
}

async fn route(ctx: &Ctx<'_>, req: &ApiRequest) -> Result<ApiResponse> {
    let base = ctx.base;
    match req.route.as_str() {
        "GET /scim/v2/ServiceProviderConfig" => {
            refuse_filter(req)?;
            Ok(scim_json(200, &schema::service_provider_config(base)))
        }
        "GET /scim/v2/ResourceTypes" => {
            refuse_filter(req)?;
            Ok(list_response(vec![schema::user_resource_type(base)]))
        }
        "GET /scim/v2/ResourceTypes/{id}" => match path_param(req, "id").as_str() {
            "User" => Ok(scim_json(200, &schema::user_resource_type(base))),
            other => Err(ScimError::NotFound(format!("resource type {other:?}"))),
        },
        "GET /scim/v2/Schemas" => {
            refuse_filter(req)?;
            Ok(list_response(
                [Schema::User, Schema::Enterprise]
                    .into_iter()
                    .map(|s| schema::schema_resource(s, base))
                    .collect(),
            ))
        }
        "GET /scim/v2/Schemas/{id}" => {
            let id = path_param(req, "id");
            match Schema::from_urn(&id) {
                Some(s) => Ok(scim_json(200, &schema::schema_resource(s, base))),
                None => Err(ScimError::NotFound(format!("schema {id:?}"))),
            }
        }
        "GET /scim/v2/Users" => users::list(ctx, &query::from_url(&req.query)?).await,
        "POST /scim/v2/Users/.search" | "POST /scim/v2/.search" => {
            let body = Value::Object(parse_body(req)?);
            users::list(ctx, &query::from_search(&body)?).await
        }
        "POST /scim/v2/Users" => {
            users::create(ctx, req, &query::projection_from_query(&req.query)?).await
        }
        "GET /scim/v2/Users/{id}" => {
            let projection = query::projection_from_query(&req.query)?;
            users::get(ctx, &path_param(req, "id"), req, &projection).await
        }
        "PUT /scim/v2/Users/{id}" => {
            let projection = query::projection_from_query(&req.query)?;
            users::replace(ctx, &path_param(req, "id"), req, &projection).await
        }
        "PATCH /scim/v2/Users/{id}" => {
            let projection = query::projection_from_query(&req.query)?;
            users::patch(ctx, &path_param(req, "id"), req, &projection).await
        }
        "DELETE /scim/v2/Users/{id}" => users::delete(ctx, &path_param(req, "id"), req).await,
        route if route.starts_with("GET /scim/v2/{") => Err(ScimError::NotFound(format!(
            "resource type at /{}",
            path_param(req, "resource")
        ))),
        route
            if ["ServiceProviderConfig", "ResourceTypes", "Schemas"]
                .iter()
                .any(|e| route.ends_with(&format!(" /scim/v2/{e}"))) =>
        {
            Err(ScimError::MethodNotAllowed("GET"))
        }
        route => Err(ScimError::NotFound(format!("route {route}"))),
    }
}
