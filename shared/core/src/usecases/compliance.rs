//! The daily compliance sweep. Today it ends access on time: every active holding past its `expiresAt` (EXPIRED)
//! or past a scheduled revocation such as a mover's grace period (REVOKED) is deprovisioned through the
//! deprovision state machine (connector revoke, seat released). Only due holdings are read (an index on the end
//! of active holdings), and each gets a deterministic execution name, so a re-run while a deprovision is still
//! going starts nothing twice. An extension moves `expiresAt` and with it the name, so an extended holding is
//! never ended by an old schedule.

use serde::Serialize;

use super::assignments::execution_name;
use super::fulfilment::Deprovision;
use super::sweep_result;
use crate::model::{Assignment, AssignmentStatus, Timestamp};
use crate::ports::Ports;
use crate::{Error, Result};

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    /// Holdings whose deprovisioning was started because they expired.
    pub expired: u32,
    /// Holdings whose revocation was started because a scheduled revocation (a mover's grace period) passed.
    pub revoked: u32,
    /// Holdings whose deprovisioning could not be started (the sweep then fails as a whole); retried next run.
    pub failed: u32,
}

pub async fn sweep(p: &Ports) -> Result<ComplianceReport> {
    let now = p.clock.now();
    let mut report = ComplianceReport::default();
    for holding in p.assignments.ending_by(now).await? {
        let Some((reason, at)) = ending(&holding, now) else {
            continue;
        };
        match end(p, &holding.assignment_id, reason, at).await {
            Ok(()) if reason == AssignmentStatus::Revoked => report.revoked += 1,
            Ok(()) => report.expired += 1,
            Err(e) => {
                tracing::warn!(assignment = %holding.assignment_id, error = %e, "ending not started");
                report.failed += 1;
            }
        }
    }
    let failed = report.failed;
    sweep_result("compliance", report, failed)
}

/// How a due holding ends, and when: a scheduled revocation that came first revokes it, else it expires.
fn ending(a: &Assignment, now: Timestamp) -> Option<(AssignmentStatus, Timestamp)> {
    let revoke = a.revocation.as_ref().map(|r| r.at).filter(|at| *at <= now);
    let expire = a.expires_at.filter(|at| *at <= now);
    match (revoke, expire) {
        (Some(r), Some(e)) if e < r => Some((AssignmentStatus::Expired, e)),
        (Some(r), _) => Some((AssignmentStatus::Revoked, r)),
        (None, Some(e)) => Some((AssignmentStatus::Expired, e)),
        (None, None) => None,
    }
}

/// Starts the deprovision state machine for the whole holding. The execution name comes from the holding and
/// the moment it ended, so a re-run starts nothing twice while a moved end (an extension) starts anew.
async fn end(
    p: &Ports,
    assignment_id: &str,
    reason: AssignmentStatus,
    at: Timestamp,
) -> Result<()> {
    let prefix = match reason {
        AssignmentStatus::Revoked => "revoke",
        _ => "expire",
    };
    let input = Deprovision {
        assignment_id: assignment_id.to_string(),
        // Past its end every source goes.
        request_id: None,
        reason,
    };
    let name = execution_name(prefix, &[assignment_id, &at.to_rfc3339()]);
    let payload = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    p.workflow.start_deprovision(&name, payload).await
}
