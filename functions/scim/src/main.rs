//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

use provisio_lambda::wiring;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    provisio_lambda::runtime::init_tracing();
    let ports = wiring::ports_from_env().await?;
    let settings = scim::Settings {
        token: wiring::required(provisio_core::names::environment::SCIM_TOKEN)?,
        lifecycle: wiring::lifecycle_from_env()?,
    };
    provisio_lambda::runtime::run_http(|req| scim::handle(&ports, &settings, req)).await
}
