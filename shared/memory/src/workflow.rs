use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::ports::Workflow;
use serde_json::Value;

use crate::locked::Locked;

/// A deprovision or offboarding execution that was started.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    pub execution_name: String,
    pub input: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompletedTask {
    pub task_token: String,
    pub output: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailedTask {
    pub task_token: String,
    pub error: String,
    pub cause: String,
}

/// Step Functions starts one execution per name; a repeated start is harmless.
fn start_once(started: &mut Vec<StartedExecution>, execution_name: &str, input: Value) {
    if !started.iter().any(|d| d.execution_name == execution_name) {
        started.push(StartedExecution {
            execution_name: execution_name.to_owned(),
            input,
        });
    }
}

/// A workflow engine that runs nothing and records what it was asked to do.
#[derive(Default)]
pub struct RecordingWorkflow(Locked<Calls>);

#[derive(Default)]
struct Calls {
    fulfilments: Vec<String>,
    deprovisions: Vec<StartedExecution>,
    offboardings: Vec<StartedExecution>,
    completed: Vec<CompletedTask>,
    failed: Vec<FailedTask>,
}

impl RecordingWorkflow {
    /// Request ids whose fulfilment was started, once each, in start order.
    pub fn fulfilments(&self) -> Vec<String> {
        self.0.with(|calls| calls.fulfilments.clone())
    }

    /// Deprovisions started, once per execution name, in start order.
    pub fn deprovisions(&self) -> Vec<StartedExecution> {
        self.0.with(|calls| calls.deprovisions.clone())
    }

    /// Offboardings started, once per execution name, in start order.
    pub fn offboardings(&self) -> Vec<StartedExecution> {
        self.0.with(|calls| calls.offboardings.clone())
    }

    /// Every `complete_task` call, in order.
    pub fn completed_tasks(&self) -> Vec<CompletedTask> {
        self.0.with(|calls| calls.completed.clone())
    }

    /// Every `fail_task` call, in order.
    pub fn failed_tasks(&self) -> Vec<FailedTask> {
        self.0.with(|calls| calls.failed.clone())
    }
}

#[async_trait]
impl Workflow for RecordingWorkflow {
    async fn start_fulfilment(&self, request_id: &str) -> Result<()> {
        // Step Functions accepts a repeated execution name without starting a second execution.
        self.0.with(|calls| {
            if !calls.fulfilments.iter().any(|id| id == request_id) {
                calls.fulfilments.push(request_id.to_owned());
            }
        });
        Ok(())
    }

    async fn start_deprovision(&self, execution_name: &str, input: Value) -> Result<()> {
        self.0
            .with(|calls| start_once(&mut calls.deprovisions, execution_name, input));
        Ok(())
    }

    async fn start_offboarding(&self, execution_name: &str, input: Value) -> Result<()> {
        self.0
            .with(|calls| start_once(&mut calls.offboardings, execution_name, input));
        Ok(())
    }

    async fn complete_task(&self, task_token: &str, output: Value) -> Result<()> {
        let task = CompletedTask {
            task_token: task_token.to_owned(),
            output,
        };
        self.0.with(|calls| calls.completed.push(task));
        Ok(())
    }

    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        let task = FailedTask {
            task_token: task_token.to_owned(),
            error: error.to_owned(),
            cause: cause.to_owned(),
        };
        self.0.with(|calls| calls.failed.push(task));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_repeated_start_is_recorded_once() {
        let workflow = RecordingWorkflow::default();
        for _ in 0..2 {
            workflow
                .start_fulfilment("req-1")
                .await
                .expect("start fulfilment");
            workflow
                .start_deprovision("dep-1", json!({"assignmentId": "E1.slack"}))
                .await
                .expect("start deprovision");
        }
        workflow
            .start_fulfilment("req-2")
            .await
            .expect("start fulfilment");

        assert_eq!(workflow.fulfilments(), ["req-1", "req-2"]);
        assert_eq!(
            workflow.deprovisions(),
            [StartedExecution {
                execution_name: "dep-1".into(),
                input: json!({"assignmentId": "E1.slack"})
            }]
        );
    }

    #[tokio::test]
    async fn task_callbacks_are_recorded_in_order() {
        let workflow = RecordingWorkflow::default();
        workflow
            .complete_task("tok-1", json!({"decision": "approve"}))
            .await
            .expect("complete");
        workflow
            .fail_task("tok-2", "Provisio.Rejected", "rejected by E2")
            .await
            .expect("fail");

        assert_eq!(
            workflow.completed_tasks(),
            [CompletedTask {
                task_token: "tok-1".into(),
                output: json!({"decision": "approve"})
            }]
        );
        assert_eq!(
            workflow.failed_tasks(),
            [FailedTask {
                task_token: "tok-2".into(),
                error: "Provisio.Rejected".into(),
                cause: "rejected by E2".into()
            }]
        );
    }
}
