//! Scheduled every 15 minutes (EventBridge): reminds, escalates and expires overdue approvals.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::escalation::{self, SweepReport};
use serde_json::Value;

/// The schedule's event carries nothing the sweep needs: what is due comes from the store and the clock.
#[tracing::instrument(skip_all)]
pub async fn handle(p: &Ports, _schedule: Value) -> Result<SweepReport> {
    let report = escalation::sweep(p).await?;
    tracing::info!(?report, "escalation sweep");
    Ok(report)
}
