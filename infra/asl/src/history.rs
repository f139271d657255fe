//! Execution descriptions and history events, as DescribeExecution / GetExecutionHistory show them.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    pub name: String,
    pub state_machine: String,
    pub status: ExecutionStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub id: u64,
    pub timestamp: DateTime<Utc>,
    /// ExecutionStarted, TaskStateEntered, TaskScheduled, TaskSubmitted, TaskSucceeded, ...
    pub r#type: String,
    pub state_name: Option<String>,
    /// Input/output/error/cause, as relevant to the event type.
    pub details: Value,
}

/// Everything known about one execution; guarded by a mutex in the engine.
#[derive(Debug)]
pub(crate) struct Record {
    pub description: ExecutionDescription,
    pub events: Vec<HistoryEvent>,
}

impl Record {
    pub fn push(
        &mut self,
        timestamp: DateTime<Utc>,
        r#type: impl Into<String>,
        state_name: Option<&str>,
        details: Value,
    ) {
        let id = self.events.len() as u64 + 1;
        self.events.push(HistoryEvent {
            id,
            timestamp,
            r#type: r#type.into(),
            state_name: state_name.map(str::to_owned),
            details,
        });
    }
}
