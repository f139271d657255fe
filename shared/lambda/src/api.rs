//! HTTP handlers are written against [`ApiRequest`]/[`ApiResponse`], so the same code serves API Gateway and the
//! local stack. Routing is by route key ("POST /requests/{id}/cancel"), exactly as API Gateway reports it.

use std::collections::HashMap;

use bytes::Bytes;
use http::HeaderMap;
use provisio_core::model::Caller;
use provisio_core::{Error, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Largest JSON body accepted; API payloads here are small, and big ones are abuse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// API Gateway route key, e.g. `POST /requests/{id}/cancel`.
    pub route: String,
    pub path_params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From verified claims only; None when unauthenticated.
    pub caller: Option<Caller>,
}

impl ApiRequest {
    pub fn caller(&self) -> Result<&Caller, Error> {
        self.caller.as_ref().ok_or(Error::Unauthorized)
    }

    pub fn param(&self, name: &str) -> Result<&str, Error> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Error::validation(name, "missing path parameter"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the JSON body strictly: unknown fields, wrong types and oversized bodies are 4xx with the reason.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.body)
    }

    /// The body as JSON, `{}` when empty (for endpoints whose body is optional).
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            Ok(T::default())
        } else {
            self.json()
        }
    }
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::TooLarge(MAX_BODY_BYTES));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_data() {
            "does not match the expected shape"
        } else {
            "is not valid JSON"
        };
        Error::Validation(vec![FieldError::new("body", format!("{what}: {e}"))])
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ApiResponse {
    pub fn json<T: Serialize>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => Self {
                status,
                content_type: "application/json",
                headers: vec![],
                body: bytes.into(),
            },
            Err(e) => Self::problem(&Error::Internal(format!("response serialization: {e}"))),
        }
    }

    /// A JSON document that is already serialized (e.g. embedded at build time).
    pub fn raw_json(status: u16, body: &'static str) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: vec![],
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// RFC 9457 problem details. `type` is a stable URN built from the error name; 5xx details stay generic
    /// so internals do not leak.
    pub fn problem(err: &Error) -> Self {
        let status = err.status();
        let detail = if status >= 500
            && !matches!(
                err,
                Error::ConnectorTransient(_) | Error::StoreUnavailable(_)
            ) {
            "an unexpected error occurred".to_string()
        } else {
            err.to_string()
        };
        let mut body = json!({
            "type": format!("urn:provisio:problem:{}", err.name().trim_start_matches("Provisio.")),
            "title": title(status),
            "status": status,
            "detail": detail,
        });
        match err {
            Error::Validation(errors) => body["errors"] = json!(errors),
            Error::NotEligible(reasons) => body["reasons"] = json!(reasons),
            _ => {}
        }
        if status >= 500 {
            tracing::error!(error = %err, "request failed");
        }
        Self {
            status,
            content_type: "application/problem+json",
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap_or_default().into(),
        }
    }

    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Maps a use-case result to a response: `Ok` as JSON with `status`, errors as problem+json.
pub fn respond<T: Serialize>(status: u16, result: Result<T, Error>) -> ApiResponse {
    match result {
        Ok(body) => ApiResponse::json(status, &body),
        Err(e) => ApiResponse::problem(&e),
    }
}

/// The response for a route key a handler does not serve.
pub fn unknown_route(req: &ApiRequest) -> ApiResponse {
    ApiResponse::problem(&Error::NotFound(format!("route {}", req.route)))
}
