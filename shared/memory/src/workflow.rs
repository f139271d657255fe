use std::sync::Arc;

use async_trait::async_trait;
use provisio_core::ports::Workflow;
use provisio_core::{Error, Result};
use serde_json::Value;

use crate::Unavailable;
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

/// A workflow engine that runs nothing and records what it was asked to do. Like Step Functions, it takes one
/// callback per task token: a second one, for a token already completed or failed, is a `Conflict` (Step
/// Functions answers TaskTimedOut or InvalidToken, which the AWS adapter reports the same way).
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

impl Calls {
    fn closed(&self, task_token: &str) -> bool {
        self.completed.iter().any(|t| t.task_token == task_token)
            || self.failed.iter().any(|t| t.task_token == task_token)
    }
}

fn token_closed() -> Error {
    Error::Conflict("the workflow is no longer waiting for this decision".into())
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
        self.0.with(|calls| {
            if calls.closed(&task.task_token) {
                return Err(token_closed());
            }
            calls.completed.push(task);
            Ok(())
        })
    }

    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        let task = FailedTask {
            task_token: task_token.to_owned(),
            error: error.to_owned(),
            cause: cause.to_owned(),
        };
        self.0.with(|calls| {
            if calls.closed(&task.task_token) {
                return Err(token_closed());
            }
            calls.failed.push(task);
            Ok(())
        })
    }
}

/// How a [`FlakyWorkflow`] breaks a task callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackFault {
    /// The call never reaches the engine (throttled, connection refused).
    Refused,
    /// The engine takes the call but the answer is lost (a timeout): the task is closed, the caller sees an error.
    Lost,
}

/// Another workflow engine whose next task callbacks (SendTaskSuccess/SendTaskFailure) fail as [`Unavailable`]
/// fails them; starts and later callbacks pass through. For tests of what a use case does when a callback fails.
pub struct FlakyWorkflow {
    inner: Arc<dyn Workflow>,
    fault: CallbackFault,
    failures_left: Locked<u32>,
}

impl FlakyWorkflow {
    /// Fails the next `failures` task callbacks with `fault`.
    pub fn new(inner: Arc<dyn Workflow>, fault: CallbackFault, failures: u32) -> Self {
        Self {
            inner,
            fault,
            failures_left: Locked::new(failures),
        }
    }

    /// The fault this callback suffers, if it is one of the failing ones.
    fn fault(&self) -> Option<CallbackFault> {
        self.failures_left.with(|left| {
            let fails = *left > 0;
            *left = left.saturating_sub(1);
            fails.then_some(self.fault)
        })
    }
}

const DOWN: Unavailable = Unavailable("the workflow engine");

#[async_trait]
impl Workflow for FlakyWorkflow {
    async fn start_fulfilment(&self, request_id: &str) -> Result<()> {
        self.inner.start_fulfilment(request_id).await
    }

    async fn start_deprovision(&self, execution_name: &str, input: Value) -> Result<()> {
        self.inner.start_deprovision(execution_name, input).await
    }

    async fn start_offboarding(&self, execution_name: &str, input: Value) -> Result<()> {
        self.inner.start_offboarding(execution_name, input).await
    }

    async fn complete_task(&self, task_token: &str, output: Value) -> Result<()> {
        match self.fault() {
            None => self.inner.complete_task(task_token, output).await,
            Some(CallbackFault::Refused) => DOWN.complete_task(task_token, output).await,
            Some(CallbackFault::Lost) => {
                self.inner.complete_task(task_token, output.clone()).await?;
                DOWN.complete_task(task_token, output).await
            }
        }
    }

    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        match self.fault() {
            None => self.inner.fail_task(task_token, error, cause).await,
            Some(CallbackFault::Refused) => DOWN.fail_task(task_token, error, cause).await,
            Some(CallbackFault::Lost) => {
                self.inner.fail_task(task_token, error, cause).await?;
                DOWN.fail_task(task_token, error, cause).await
            }
        }
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

    #[tokio::test]
    async fn a_second_callback_for_a_closed_token_is_a_conflict() {
        let workflow = RecordingWorkflow::default();
        workflow
            .complete_task("tok-1", json!({}))
            .await
            .expect("complete");

        let again = workflow
            .fail_task("tok-1", "Provisio.Rejected", "late")
            .await;

        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        assert!(workflow.failed_tasks().is_empty());
        assert_eq!(workflow.completed_tasks().len(), 1);
    }

    #[tokio::test]
    async fn a_lost_callback_reaches_the_engine_and_a_refused_one_does_not() {
        let engine = Arc::new(RecordingWorkflow::default());
        let lost = FlakyWorkflow::new(engine.clone(), CallbackFault::Lost, 1);
        let refused = FlakyWorkflow::new(engine.clone(), CallbackFault::Refused, 1);

        let first = lost.complete_task("tok-1", json!({})).await;
        let second = refused.complete_task("tok-2", json!({})).await;
        refused
            .complete_task("tok-2", json!({}))
            .await
            .expect("only the first callback fails");

        assert!(
            matches!(first, Err(Error::StoreUnavailable(_))),
            "{first:?}"
        );
        assert!(
            matches!(second, Err(Error::StoreUnavailable(_))),
            "{second:?}"
        );
        let tokens: Vec<_> = engine
            .completed_tasks()
            .into_iter()
            .map(|t| t.task_token)
            .collect();
        assert_eq!(tokens, ["tok-1", "tok-2"]);
    }
}
