use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use provisio_core::ports::Workflow;
use provisio_core::{Error, Result};
use serde_json::{Value, json};

/// ARNs of the state machines the workflow port starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineArns {
    pub fulfilment: String,
    pub deprovision: String,
    pub offboarding: String,
}

/// The workflow port on Step Functions. Executions are named deterministically (fulfilment by request id), so
/// a redelivered start finds its execution and is harmless.
pub struct StepFunctionsWorkflow {
    client: Client,
    arns: StateMachineArns,
}

impl StepFunctionsWorkflow {
    pub fn new(client: Client, arns: StateMachineArns) -> Self {
        Self { client, arns }
    }

    async fn start(&self, arn: &str, name: &str, input: Value) -> Result<()> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Same name: this start already happened (the execution may even have finished).
            Err(e) if code(&e) == Some("ExecutionAlreadyExists") => {
                tracing::info!(execution = name, "execution already started");
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
}

fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

fn failed<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match code(&err) {
        // The execution stopped waiting: timed out, cancelled or already resumed.
        Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken") => {
            Error::Conflict("the workflow is no longer waiting for this decision".into())
        }
        _ => crate::errors::sdk_error("Step Functions", err),
    }
}

#[async_trait]
impl Workflow for StepFunctionsWorkflow {
    async fn start_fulfilment(&self, request_id: &str) -> Result<()> {
        self.start(
            &self.arns.fulfilment,
            request_id,
            json!({"requestId": request_id}),
        )
        .await
    }

    async fn start_deprovision(&self, execution_name: &str, input: Value) -> Result<()> {
        self.start(&self.arns.deprovision, execution_name, input)
            .await
    }

    async fn start_offboarding(&self, execution_name: &str, input: Value) -> Result<()> {
        self.start(&self.arns.offboarding, execution_name, input)
            .await
    }

    async fn complete_task(&self, task_token: &str, output: Value) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(failed)
    }
}
