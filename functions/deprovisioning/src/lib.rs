//! Deprovision step: remove a grant source; on the last one revoke, free the seat and close the holding.

use provisio_core::Result;
use provisio_core::model::AssignmentStatus;
use provisio_core::ports::Ports;
use provisio_core::usecases::fulfilment::{self, Deprovision};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub assignment_id: String,
    pub status: AssignmentStatus,
    pub remaining_sources: usize,
}

#[tracing::instrument(skip_all, fields(assignment = %input.assignment_id))]
pub async fn handle(p: &Ports, input: Deprovision) -> Result<Output> {
    let a = fulfilment::deprovision(p, &input).await?;
    Ok(Output {
        assignment_id: a.assignment_id,
        status: a.status,
        remaining_sources: a.sources.len(),
    })
}
