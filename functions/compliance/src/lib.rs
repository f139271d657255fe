//! Scheduled (EventBridge): compliance sweeps, daily. Time-bound access ends on time, the finding streams
//! (expiry notices, licence over-allocation and under-utilization, end-of-life holdings, orphans, idle licences)
//! are brought up to date, idle licences are reclaimed after their notice and grace period, and overdue access
//! reviews are escalated or revoked. The quarterly `reviews` schedule, whose input names the task
//! `reviewCampaign`, starts an access review campaign instead.

use provisio_core::Result;
use provisio_core::names::schedules;
use provisio_core::ports::Ports;
use provisio_core::usecases::compliance::{self, ComplianceReport, ComplianceSettings};
use provisio_core::usecases::reviews::{self, CampaignStart};
use serde::Serialize;
use serde_json::Value;

/// What a run did: the sweep's report, or the campaign it started.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Sweep(ComplianceReport),
    Campaign(CampaignStart),
}

/// The scheduled event carries nothing the sweep needs (what is due comes from the store and the clock); a
/// `task` names another job.
#[tracing::instrument(skip_all)]
pub async fn handle(p: &Ports, settings: &ComplianceSettings, input: Value) -> Result<Outcome> {
    if input.get("task").and_then(Value::as_str) == Some(schedules::reviews::input::TASK) {
        let start = reviews::start_scheduled(p).await?;
        tracing::info!(campaign = %start.campaign.campaign_id, created = start.created, "review campaign");
        return Ok(Outcome::Campaign(start));
    }
    let report = compliance::sweep(p, settings).await?;
    tracing::info!(?report, "compliance sweep");
    Ok(Outcome::Sweep(report))
}
