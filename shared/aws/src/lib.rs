//! AWS adapters of the Provisio ports: DynamoDB for every store, Step Functions for the workflow, EventBridge
//! for domain events. They keep the promises of the port docs exactly as `provisio-memory` does;
//! `provisio-conformance` runs the same checks against both (the DynamoDB ones on a moto server).

pub mod dynamo;
mod eventbridge;
mod sfn;

pub use dynamo::{DynamoStores, TableNames, create_tables};
pub use eventbridge::EventBridgeBus;
pub use sfn::{StateMachineArns, StepFunctionsWorkflow};

/// Shared SDK configuration from the standard AWS environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
