//! Offboarding steps (Step Functions tasks of statemachines/offboarding.asl.json).

use provisio_core::ports::Ports;
use provisio_core::{Error, Result};
use serde_json::Value;

#[tracing::instrument(skip_all)]
pub async fn handle(_p: &Ports, _input: Value) -> Result<Value> {
    Err(Error::Internal("offboarding: not built yet".into()))
}
