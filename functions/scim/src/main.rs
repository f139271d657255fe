//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    provisio_lambda::runtime::init_tracing();
    let ports = provisio_lambda::wiring::ports_from_env().await?;
    let token = std::env::var(provisio_core::names::environment::SCIM_TOKEN)
        .map_err(|_| "PROVISIO_SCIM_TOKEN is not set")?;
    provisio_lambda::runtime::run_http(|req| scim::handle(&ports, &token, req)).await
}
