//! The daily compliance sweep. Today it ends time-bound access on time: every active holding past its
//! `expiresAt` is deprovisioned through the deprovision state machine (connector revoke, seat released, holding
//! EXPIRED). Only due holdings are read (an index on expiry), and each gets a deterministic execution name, so a
//! re-run while a deprovision is still going starts nothing twice. An extension moves `expiresAt` and with it the
//! name, so an extended holding is never ended by an old schedule.

use serde::Serialize;

use super::assignments::execution_name;
use super::fulfilment::Deprovision;
use super::sweep_result;
use crate::model::{AssignmentStatus, Timestamp};
use crate::ports::Ports;
use crate::{Error, Result};

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    /// Holdings whose deprovisioning was started because they expired.
    pub expired: u32,
    /// Holdings whose deprovisioning could not be started (the sweep then fails as a whole); retried next run.
    pub failed: u32,
}

pub async fn sweep(p: &Ports) -> Result<ComplianceReport> {
    let now = p.clock.now();
    let mut report = ComplianceReport::default();
    for holding in p.assignments.expired_by(now).await? {
        let Some(expires_at) = holding.expires_at else {
            continue;
        };
        match expire(p, &holding.assignment_id, expires_at).await {
            Ok(()) => report.expired += 1,
            Err(e) => {
                tracing::warn!(assignment = %holding.assignment_id, error = %e, "expiry not started");
                report.failed += 1;
            }
        }
    }
    let failed = report.failed;
    sweep_result("compliance", report, failed)
}

async fn expire(p: &Ports, assignment_id: &str, expires_at: Timestamp) -> Result<()> {
    let input = Deprovision {
        assignment_id: assignment_id.to_string(),
        // Past the holding's expiry every source has expired: remove them all.
        request_id: None,
        reason: AssignmentStatus::Expired,
    };
    let name = execution_name("expire", &[assignment_id, &expires_at.to_rfc3339()]);
    let payload = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    p.workflow.start_deprovision(&name, payload).await
}
