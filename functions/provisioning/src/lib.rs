//! Fulfilment step: grant through the item's connector(s) and record the holdings.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::fulfilment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub request_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub assignment_ids: Vec<String>,
}

#[tracing::instrument(skip_all, fields(request = %input.request_id))]
pub async fn handle(p: &Ports, input: Input) -> Result<Output> {
    let assignment_ids = fulfilment::provision(p, &input.request_id).await?;
    Ok(Output { assignment_ids })
}
