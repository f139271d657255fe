//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

use std::sync::Arc;

use hr_webhook::Webhook;
use provisio_core::names::environment as env;
use provisio_lambda::wiring::{SystemClock, hr_queue_from_env, required};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    provisio_lambda::runtime::init_tracing();
    let webhook = Webhook {
        secret: required(env::HR_WEBHOOK_SECRET)?,
        queue: hr_queue_from_env().await?,
        clock: Arc::new(SystemClock),
    };
    provisio_lambda::runtime::run_http(|req| hr_webhook::handle(&webhook, req)).await
}
