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

/// The media type of every response body unless a route offers another one.
pub const JSON: &str = "application/json";
pub const CSV: &str = "text/csv";

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

    /// Whether the `Accept` header asks for `media_type` rather than JSON, the default: `media_type` is
    /// acceptable and ranks above JSON by quality, then by the specificity of the ranges that match (RFC 9110,
    /// section 12.5.1). No header, or one naming neither, means JSON.
    pub fn prefers(&self, media_type: &str) -> bool {
        let Some(accept) = self.header("accept") else {
            return false;
        };
        let offered = rank(accept, media_type);
        offered.0 > 0 && offered > rank(accept, JSON)
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

/// (quality in thousandths, specificity) that `accept` gives `media_type`: the most specific matching range
/// decides (3 = exact, 2 = `type/*`, 1 = `*/*`); (0, 0) when none matches.
fn rank(accept: &str, media_type: &str) -> (u16, u8) {
    let wildcard = media_type
        .split_once('/')
        .map(|(kind, _)| format!("{kind}/*"))
        .unwrap_or_default();
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            let specificity = match name.as_str() {
                n if n == media_type => 3,
                n if n == wildcard => 2,
                "*/*" => 1,
                _ => return None,
            };
            // A malformed quality makes the range unacceptable rather than preferred.
            let quality = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q))
                .map_or(0, |q| (q * 1000.0).round() as u16);
            Some((specificity, quality))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map_or((0, 0), |(specificity, quality)| (quality, specificity))
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
                content_type: JSON,
                headers: vec![],
                body: bytes.into(),
            },
            Err(e) => Self::problem(&Error::Internal(format!("response serialization: {e}"))),
        }
    }

    /// A CSV document (RFC 4180), UTF-8.
    pub fn csv(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "text/csv; charset=utf-8",
            headers: vec![],
            body: body.into(),
        }
    }

    /// A JSON document that is already serialized (e.g. embedded at build time).
    pub fn raw_json(status: u16, body: &'static str) -> Self {
        Self {
            status,
            content_type: JSON,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(accept: Option<&str>) -> ApiRequest {
        let mut req = ApiRequest::default();
        if let Some(accept) = accept {
            req.headers
                .insert("accept", accept.parse().expect("header value"));
        }
        req
    }

    #[test]
    fn csv_is_chosen_only_when_accept_ranks_it_above_json() {
        for (accept, csv) in [
            (None, false),
            (Some("*/*"), false),
            (Some("application/json"), false),
            (Some("text/csv"), true),
            (Some("Text/CSV; charset=utf-8"), true),
            (Some("text/csv, */*"), true),
            (Some("text/*"), true),
            // Equal quality and specificity: the default wins.
            (Some("application/json, text/csv"), false),
            (Some("text/csv;q=0.5, application/json"), false),
            (Some("application/json;q=0.4, text/csv;q=0.8"), true),
            (Some("text/csv;q=0"), false),
            (Some("text/csv;q=nonsense"), false),
            (Some("text/html"), false),
        ] {
            assert_eq!(accepting(accept).prefers(CSV), csv, "Accept: {accept:?}");
        }
    }
}
