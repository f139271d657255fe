//! AWS adapters of the Provisio ports: DynamoDB for every store, Step Functions for the workflow, EventBridge
//! for domain events, SQS FIFO for work queues. They keep the promises of the port docs exactly as `provisio-memory` does;
//! `provisio-conformance` runs the same checks against both (the DynamoDB ones on a moto server).

pub mod dynamo;
mod errors;
mod eventbridge;
mod sfn;
mod sqs;

pub use dynamo::{DynamoStores, TableNames, create_tables};
pub use eventbridge::EventBridgeBus;
pub use sfn::{StateMachineArns, StepFunctionsWorkflow};
pub use sqs::SqsQueue;

use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;

/// Shared SDK configuration from the standard AWS environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// SDK configuration for a local AWS-protocol endpoint (moto, DynamoDB Local): region from `AWS_REGION` or
/// us-east-1, and dummy credentials unless the environment has some (local endpoints do not check them).
pub async fn endpoint_config(endpoint: &str) -> aws_config::SdkConfig {
    // Not the default chain: a local endpoint has no instance metadata to ask.
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else("us-east-1");
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .endpoint_url(endpoint);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.test_credentials();
    }
    loader.load().await
}
