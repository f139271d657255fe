//! Fulfilment step: re-check eligibility and compute the approval route.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::fulfilment::{self, Route};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub request_id: String,
}

#[tracing::instrument(skip_all, fields(request = %input.request_id))]
pub async fn handle(p: &Ports, input: Input) -> Result<Route> {
    fulfilment::route(p, &input.request_id).await
}
