//! Fulfilment step (`.waitForTaskToken`): open an approval stage. The execution waits until a decision arrives
//! through approval-callback; the token stays in the approvals table.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::approvals::{self, OpenStage};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub approval_id: String,
}

#[tracing::instrument(skip_all, fields(request = %input.request_id, stage = input.stage_index))]
pub async fn handle(p: &Ports, input: OpenStage) -> Result<Output> {
    let task = approvals::open_stage(p, &input).await?;
    Ok(Output {
        approval_id: task.approval_id,
    })
}
