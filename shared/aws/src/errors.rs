//! One classification of AWS SDK failures for every adapter. A failure that may pass on retry (throttling,
//! timeouts, connection trouble, 5xx) is `Provisio.StoreUnavailable`, which the state machines' Retry blocks
//! retry. A request the service refused for what it is (validation, access denied, missing table, unknown
//! credentials) fails the same way every time: it is a bug or a misconfiguration, so it is
//! `Provisio.Internal`, which no Retry block names, with a message saying so.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use provisio_core::Error;

/// Error codes that mean "not now" although AWS answers them with a 4xx status.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    // Credentials rotate: the SDK fetches fresh ones on the next attempt.
    "ExpiredTokenException",
    "KMSThrottlingException",
];

/// Whether a service error with this code and HTTP status may succeed when retried.
pub(crate) fn transient(code: Option<&str>, status: Option<u16>) -> bool {
    code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
        || status.is_some_and(|s| s == 429 || s >= 500)
        // No status and no code: the service said nothing we can judge by, so assume a blip.
        || (code.is_none() && status.is_none())
}

/// The Provisio error for an SDK failure of `service` ("DynamoDB", "SQS", ...).
pub(crate) fn sdk_error<E>(service: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(_) => {
            let code = err.as_service_error().and_then(ProvideErrorMetadata::code);
            let message = err
                .as_service_error()
                .and_then(ProvideErrorMetadata::message)
                .unwrap_or_default();
            let status = err.raw_response().map(|r| r.status().as_u16());
            let detail = format!("{}: {message}", code.unwrap_or("service error"));
            if transient(code, status) {
                Error::StoreUnavailable(format!("{service}: {detail}"))
            } else {
                refused(service, &detail)
            }
        }
        // The request could not even be built, or the endpoint is not a usable URL: retrying cannot help.
        SdkError::ConstructionFailure(_) => {
            refused(service, &DisplayErrorContext(&err).to_string())
        }
        SdkError::DispatchFailure(d) if d.is_user() => {
            refused(service, &DisplayErrorContext(&err).to_string())
        }
        // Timeouts, connection failures, unreadable responses.
        _ => Error::StoreUnavailable(format!("{service}: {}", DisplayErrorContext(&err))),
    }
}

fn refused(service: &str, detail: &str) -> Error {
    Error::Internal(format!(
        "{service} refused the request (misconfiguration or a bug; not retried): {detail}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_timeouts_and_server_errors_are_retried() {
        for (code, status) in [
            (Some("ThrottlingException"), Some(400)),
            (Some("ProvisionedThroughputExceededException"), Some(400)),
            (Some("RequestLimitExceeded"), Some(400)),
            (Some("TransactionConflictException"), Some(400)),
            (Some("ExpiredTokenException"), Some(400)),
            (Some("InternalServerError"), Some(500)),
            (Some("ServiceUnavailable"), Some(503)),
            (None, Some(502)),
            (Some("SlowDown"), Some(429)),
            (None, None),
        ] {
            assert!(transient(code, status), "{code:?} {status:?}");
        }
    }

    #[test]
    fn refusals_are_not_retried() {
        for (code, status) in [
            (Some("ValidationException"), Some(400)),
            (Some("AccessDeniedException"), Some(400)),
            (Some("ResourceNotFoundException"), Some(400)),
            (Some("UnrecognizedClientException"), Some(400)),
            (Some("InvalidSignatureException"), Some(400)),
            (Some("MissingAuthenticationTokenException"), Some(403)),
            (Some("SerializationException"), Some(400)),
            (Some("ConditionalCheckFailedException"), Some(400)),
            (Some("ItemCollectionSizeLimitExceededException"), Some(400)),
            (None, Some(404)),
        ] {
            assert!(!transient(code, status), "{code:?} {status:?}");
        }
    }

    #[test]
    fn a_refusal_is_internal_and_says_why() {
        let err = refused("DynamoDB", "ValidationException: bad key");
        assert_eq!(err.name(), provisio_core::names::errors::INTERNAL);
        assert!(
            err.to_string()
                .contains("DynamoDB refused the request (misconfiguration")
        );
        assert!(err.to_string().contains("ValidationException: bad key"));
    }
}
