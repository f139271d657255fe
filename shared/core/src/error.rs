use serde::Serialize;

use crate::names::errors;

/// A field-level validation problem, reported in problem+json `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way a Provisio use case can fail. Each variant has a stable name (`Provisio.*`) that state machines
/// Retry/Catch on and that HTTP responses expose as the problem `type`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("request is invalid")]
    Validation(Vec<FieldError>),
    #[error("body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not in a media type the route reads (e.g. not JSON).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("not eligible: {}", .0.join("; "))]
    NotEligible(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error("no seat available in license pool {0}")]
    SeatUnavailable(String),
    #[error("no approver can act on stage {0}")]
    NoApprover(String),
    #[error("rejected: {0}")]
    Rejected(String),
    #[error("cancelled by the requester")]
    Cancelled,
    #[error("connector failed (transient): {0}")]
    ConnectorTransient(String),
    #[error("connector failed (permanent): {0}")]
    ConnectorPermanent(String),
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable name state machines and clients match on.
    pub fn name(&self) -> &'static str {
        match self {
            Error::NotFound(_) => errors::NOT_FOUND,
            Error::Unauthorized => errors::UNAUTHORIZED,
            Error::Forbidden(_) => errors::FORBIDDEN,
            Error::Validation(_) | Error::TooLarge(_) | Error::UnsupportedMediaType(_) => {
                errors::VALIDATION
            }
            Error::NotEligible(_) => errors::NOT_ELIGIBLE,
            Error::Conflict(_) => errors::CONFLICT,
            Error::SeatUnavailable(_) => errors::SEAT_UNAVAILABLE,
            Error::NoApprover(_) => errors::NO_APPROVER,
            Error::Rejected(_) => errors::REJECTED,
            Error::Cancelled => errors::CANCELLED,
            Error::ConnectorTransient(_) => errors::CONNECTOR_TRANSIENT,
            Error::ConnectorPermanent(_) => errors::CONNECTOR_PERMANENT,
            Error::StoreUnavailable(_) => errors::STORE_UNAVAILABLE,
            Error::Internal(_) => errors::INTERNAL,
        }
    }

    /// HTTP status for the API layer.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::Unauthorized => 401,
            Error::Forbidden(_) => 403,
            Error::Validation(_) => 400,
            Error::TooLarge(_) => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::NotEligible(_) => 422,
            Error::Conflict(_) | Error::Cancelled => 409,
            Error::SeatUnavailable(_) | Error::NoApprover(_) | Error::Rejected(_) => 422,
            Error::ConnectorTransient(_) | Error::StoreUnavailable(_) => 503,
            Error::ConnectorPermanent(_) => 502,
            Error::Internal(_) => 500,
        }
    }
}
