//! SCIM errors (RFC 7644 section 3.12): an HTTP status and, where the RFC defines one, a `scimType`.

use provisio_lambda::api::ApiResponse;
use serde_json::json;

use crate::schema;

#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Carries the methods that are allowed (the `Allow` header).
    #[error("method not allowed here; allowed: {0}")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    Uniqueness(String),
    /// The identity changed under this write, or a newer change of it was applied first.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("body is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Core(#[from] provisio_core::Error),
}

pub type Result<T, E = ScimError> = std::result::Result<T, E>;

impl ScimError {
    pub fn status(&self) -> u16 {
        match self {
            ScimError::Unauthorized => 401,
            ScimError::Forbidden(_) => 403,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::InvalidFilter(_)
            | ScimError::InvalidSyntax(_)
            | ScimError::InvalidPath(_)
            | ScimError::NoTarget(_)
            | ScimError::InvalidValue(_)
            | ScimError::Mutability(_) => 400,
            ScimError::Uniqueness(_) | ScimError::Conflict(_) => 409,
            ScimError::PreconditionFailed(_) => 412,
            ScimError::TooLarge(_) => 413,
            ScimError::Core(e) => match e {
                provisio_core::Error::Validation(_) | provisio_core::Error::TooLarge(_) => 400,
                provisio_core::Error::Conflict(_) => 409,
                other => other.status(),
            },
        }
    }

    /// The `scimType` RFC 7644 table 9 defines for this error, if any.
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            ScimError::InvalidFilter(_) => Some("invalidFilter"),
            ScimError::InvalidSyntax(_) => Some("invalidSyntax"),
            ScimError::InvalidPath(_) => Some("invalidPath"),
            ScimError::NoTarget(_) => Some("noTarget"),
            ScimError::InvalidValue(_) | ScimError::Core(provisio_core::Error::Validation(_)) => {
                Some("invalidValue")
            }
            ScimError::Mutability(_) => Some("mutability"),
            ScimError::Uniqueness(_) => Some("uniqueness"),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            ScimError::Core(provisio_core::Error::Validation(errors)) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            // Store outages are worth naming (the client retries); other internals stay generic.
            ScimError::Core(e @ provisio_core::Error::StoreUnavailable(_)) => e.to_string(),
            e if e.status() >= 500 => "an unexpected error occurred".into(),
            e => e.to_string(),
        }
    }

    /// The SCIM error response.
    pub fn response(&self) -> ApiResponse {
        let status = self.status();
        if status >= 500 {
            tracing::error!(error = %self, "SCIM request failed");
        }
        let mut body = json!({
            "schemas": [schema::ERROR],
            "status": status.to_string(),
            "detail": self.detail(),
        });
        if let Some(scim_type) = self.scim_type() {
            body["scimType"] = json!(scim_type);
        }
        let resp = crate::scim_json(status, &body);
        match self {
            ScimError::Unauthorized => {
                resp.with_header("WWW-Authenticate", "Bearer realm=\"provisio-scim\"")
            }
            ScimError::MethodNotAllowed(allow) => resp.with_header("Allow", *allow),
            _ => resp,
        }
    }
}
