//! Scheduled daily (EventBridge): compliance sweeps. Today: time-bound access ends on time.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::compliance::{self, ComplianceReport};
use serde_json::Value;

/// The schedule's event carries nothing the sweep needs: what is due comes from the store and the clock.
#[tracing::instrument(skip_all)]
pub async fn handle(p: &Ports, _schedule: Value) -> Result<ComplianceReport> {
    let report = compliance::sweep(p).await?;
    tracing::info!(?report, "compliance sweep");
    Ok(report)
}
