//! Step Functions tasks: errors leave as a Diagnostic whose `error_type` is the stable `Provisio.*` name, which
//! is what the ASL Retry/Catch blocks match.

use lambda_runtime::Diagnostic;
use provisio_core::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug)]
pub struct TaskError(pub Error);

impl From<Error> for TaskError {
    fn from(e: Error) -> Self {
        TaskError(e)
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<TaskError> for Diagnostic {
    fn from(e: TaskError) -> Self {
        Diagnostic {
            error_type: e.0.name().to_string(),
            error_message: e.0.to_string(),
        }
    }
}

/// Runs a typed task handler on a JSON payload: the one decode/encode path used by the Lambda runtime loop and
/// by the local stack's in-process invoker. A payload of the wrong shape is a `Validation` error.
pub async fn invoke_json<I, O, F, Fut>(payload: Value, handler: F) -> Result<Value, Error>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, Error>>,
{
    let input: I = serde_json::from_value(payload)
        .map_err(|e| Error::validation("payload", format!("invalid task input: {e}")))?;
    let output = handler(input).await?;
    serde_json::to_value(output).map_err(|e| Error::Internal(format!("task output: {e}")))
}
