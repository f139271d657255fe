//! Amazon States Language (JSONPath flavour) interpreter.
//!
//! Runs the same `*.asl.json` Step Functions definitions the cloud deployment uses, offline:
//! Task states are dispatched to a [`TaskInvoker`], time goes through a [`Clock`] so tests can
//! drive waits, retries and timeouts with a virtual clock.

mod choice;
mod definition;
mod engine;
mod history;
mod intrinsics;
mod paths;
mod runner;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
pub use serde_json::Value;

pub use definition::Definition;
pub use engine::Engine;
pub use history::{ExecutionDescription, ExecutionStatus, HistoryEvent};

/// Errors of the engine's API (as opposed to failures inside an execution, see [`TaskFailure`]).
#[derive(Debug, thiserror::Error)]
pub enum AslError {
    #[error("invalid state machine definition: {0}")]
    InvalidDefinition(String),
    #[error("execution '{0}' already exists with a different input or state machine")]
    ExecutionAlreadyExists(String),
    #[error("execution '{0}' does not exist")]
    ExecutionDoesNotExist(String),
    #[error("task token does not exist or its task has finished")]
    TaskDoesNotExist,
    #[error("task token belongs to a task that timed out")]
    TaskTimedOut,
}

/// Failure of a task, as Step Functions reports it (error name + cause).
///
/// The engine uses the same pair for every failure inside an execution (States.Runtime,
/// States.Timeout, ...), because Retry, Catch and Fail all work on error names.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// States.Timeout or States.HeartbeatTimeout.
    pub(crate) fn is_timeout(&self) -> bool {
        self.error == errors::TIMEOUT || self.error == errors::HEARTBEAT_TIMEOUT
    }

    /// A States.Runtime failure: bad input for the definition. Never retried by States.ALL.
    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self::new(errors::RUNTIME, cause)
    }
}

/// Well-known Step Functions error names.
pub(crate) mod errors {
    pub const ALL: &str = "States.ALL";
    pub const RUNTIME: &str = "States.Runtime";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
}

/// Executes Task states.
#[async_trait::async_trait]
pub trait TaskInvoker: Send + Sync {
    /// Invokes the function named `function` (the resolved Parameters.FunctionName, or the
    /// Resource ARN for a direct Lambda ARN resource) with `payload`.
    /// `Err(TaskFailure { error: errorType, cause: message })` is a function error.
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure>;
}

/// Source of time for executions, timestamps and history.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves when `now() >= deadline`. A virtual clock may jump forward, so implementations
    /// wake sleepers when advanced.
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// Wall clock backed by `tokio::time::sleep`.
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        // A deadline in the past gives a negative duration, which `to_std` rejects: no sleep.
        if let Ok(remaining) = (deadline - Utc::now()).to_std() {
            tokio::time::sleep(remaining).await;
        }
    }
}
