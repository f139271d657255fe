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

/// Ids that admins create (catalog items, license pools): a letter or digit, then letters, digits, `.`, `_`
/// or `-`, 128 characters at most. shared/openapi.json states the same pattern (`components.schemas.Id`).
pub const ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
const ID_MAX_LEN: usize = 128;

/// Whether `id` matches [`ID_PATTERN`]: nothing that reads as a path (`../x`), blank or invisible.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= ID_MAX_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
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

    /// A path parameter that names an id an admin creates: 400 naming it unless it matches [`ID_PATTERN`].
    pub fn id_param(&self, name: &str) -> Result<&str, Error> {
        let id = self.param(name)?;
        if is_valid_id(id) {
            Ok(id)
        } else {
            Err(Error::validation(
                name,
                format!(
                    "must match {ID_PATTERN} (letters, digits, '.', '_', '-'; at most {ID_MAX_LEN})"
                ),
            ))
        }
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

    /// Parses the JSON body strictly: unknown fields, wrong types and oversized bodies are 4xx with the reason;
    /// a body declared as something other than JSON is 415. No `Content-Type` at all is read as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if let Some(declared) = self.header("content-type")
            && !is_json_media_type(declared)
        {
            return Err(Error::UnsupportedMediaType(format!(
                "the body must be {JSON}, not {}",
                declared.split(';').next().unwrap_or_default().trim()
            )));
        }
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

/// `application/json` or a `+json` structured syntax (RFC 6839), parameters such as `charset` aside.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == JSON
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::TooLarge(MAX_BODY_BYTES));
    }
    let shape_error = |what: &str, e: serde_json::Error| {
        Error::Validation(vec![FieldError::new("body", format!("{what}: {e}"))])
    };
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| shape_error("is not valid JSON", e))?;
    integral_floats_as_integers(&mut value);
    T::deserialize(value).map_err(|e| shape_error("does not match the expected shape", e))
}

/// JSON Schema counts `130.0` as an integer, serde does not: integer-valued floats become integers before the
/// typed parse, so every integer field accepts both spellings (number fields take integers anyway). Depth is
/// bounded by serde_json's own nesting limit.
fn integral_floats_as_integers(value: &mut Value) {
    // 2^63 and 2^64 as f64: the bounds within which the casts below are exact.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if (-I64_END..I64_END).contains(&f) {
                    *n = (f as i64).into();
                } else if (0.0..U64_END).contains(&f) {
                    *n = (f as u64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(members) => members.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
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
        // RFC 9110 section 15.5.2: a 401 names the scheme that would succeed.
        let headers = match err {
            Error::Unauthorized => vec![("www-authenticate".to_string(), "Bearer".to_string())],
            _ => vec![],
        };
        Self {
            status,
            content_type: "application/problem+json",
            headers,
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
        415 => "Unsupported Media Type",
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

    fn with_body(content_type: Option<&str>, body: &str) -> ApiRequest {
        let mut req = ApiRequest {
            body: Bytes::copy_from_slice(body.as_bytes()),
            ..ApiRequest::default()
        };
        if let Some(ct) = content_type {
            req.headers
                .insert("content-type", ct.parse().expect("header value"));
        }
        req
    }

    #[derive(Debug, serde::Deserialize)]
    struct Counts {
        whole: u32,
        #[serde(default)]
        real: Option<f64>,
    }

    #[test]
    fn an_integer_valued_float_is_an_integer_and_a_fraction_is_not() {
        let parsed: Counts = parse_json(br#"{"whole": 130.0, "real": 2.0}"#).unwrap();
        assert_eq!((parsed.whole, parsed.real), (130, Some(2.0)));
        let parsed: Counts = parse_json(br#"{"whole": 1.3e2}"#).unwrap();
        assert_eq!(parsed.whole, 130);
        let nested: Vec<Vec<u64>> = parse_json(b"[[1.0, 18446744073709549568.0]]").unwrap();
        assert_eq!(nested, vec![vec![1, 18_446_744_073_709_549_568]]);
        for bad in [
            r#"{"whole": 130.5}"#,
            r#"{"whole": -1.0}"#,
            r#"{"whole": 1e300}"#,
        ] {
            let err = parse_json::<Counts>(bad.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, Error::Validation(e) if e[0].field == "body"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn a_body_declared_as_something_else_than_json_is_415() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
        ] {
            let err = with_body(Some(ct), r#"{"whole": 1}"#)
                .json::<Counts>()
                .unwrap_err();
            assert_eq!(err.status(), 415, "{ct}");
            assert_eq!(ApiResponse::problem(&err).status, 415);
        }
        for ct in [
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/merge-patch+json"),
            None,
        ] {
            assert_eq!(
                with_body(ct, r#"{"whole": 1}"#)
                    .json::<Counts>()
                    .unwrap()
                    .whole,
                1
            );
        }
        // An optional body that is absent needs no media type.
        let none: ReturnLike = with_body(Some("text/plain"), "").json_or_default().unwrap();
        assert_eq!(none, ReturnLike::default());
    }

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    struct ReturnLike {
        #[serde(default)]
        request_id: Option<String>,
    }

    #[test]
    fn a_401_carries_a_bearer_challenge() {
        let resp = ApiResponse::problem(&Error::Unauthorized);
        assert_eq!(resp.status, 401);
        assert!(
            resp.headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && v == "Bearer")
        );
        assert!(
            ApiResponse::problem(&Error::Forbidden("no".into()))
                .headers
                .is_empty()
        );
    }

    #[test]
    fn admin_ids_match_the_documented_pattern() {
        for ok in [
            "a",
            "jetbrains-intellij-ultimate",
            "pool.v2_x",
            "9",
            &"a".repeat(128),
        ] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in [
            "",
            " ",
            "../../etc",
            ".hidden",
            "-x",
            "a/b",
            "a b",
            "é",
            "a\n",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
        let mut req = ApiRequest::default();
        req.path_params.insert("itemId".into(), "../../etc".into());
        assert!(
            matches!(req.id_param("itemId"), Err(Error::Validation(e)) if e[0].field == "itemId")
        );
    }
}
