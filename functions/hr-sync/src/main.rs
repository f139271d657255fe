//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    provisio_lambda::runtime::init_tracing();
    let ports = provisio_lambda::wiring::ports_from_env().await?;
    let settings = provisio_lambda::wiring::lifecycle_from_env()?;
    let (ports, settings) = (&ports, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(hr_sync::handle(ports, settings, event.payload).await)
    }))
    .await
}
