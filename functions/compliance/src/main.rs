//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    provisio_lambda::runtime::init_tracing();
    let ports = provisio_lambda::wiring::ports_from_env().await?;
    let settings = provisio_lambda::wiring::compliance_from_env()?;
    provisio_lambda::runtime::run_task(|input| compliance::handle(&ports, &settings, input)).await
}
