//! Scheduled daily (EventBridge): compliance sweeps. Time-bound access ends on time, the finding streams
//! (expiry notices, licence over-allocation and under-utilization, end-of-life holdings, idle licences) are
//! brought up to date, and idle licences are reclaimed after their notice and grace period.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::compliance::{self, ComplianceReport, ComplianceSettings};
use serde_json::Value;

/// The schedule's event carries nothing the sweep needs: what is due comes from the store and the clock.
#[tracing::instrument(skip_all)]
pub async fn handle(
    p: &Ports,
    settings: &ComplianceSettings,
    _schedule: Value,
) -> Result<ComplianceReport> {
    let report = compliance::sweep(p, settings).await?;
    tracing::info!(?report, "compliance sweep");
    Ok(report)
}
