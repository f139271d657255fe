//! Approval stages: who may decide (delegates, segregation of duties), and what a decision does to the workflow.
//!
//! A decision is recorded on its task in one conditional write that also marks its effects outstanding
//! ([`Outstanding`](crate::model::Outstanding)): the request's stage, the audit trail, the waiting workflow, the
//! events. The effects then run in order, each moving the mark on, so whoever finds a decision unfinished (its
//! approver retrying the same decision, the task's next approver, the escalation sweep) completes it from where
//! it stopped.

mod decide;
mod effects;
mod inbox;
mod open;
mod reassign;

pub use decide::{DecisionInput, decide};
pub(crate) use effects::complete;
pub use inbox::pending_for;
pub(crate) use inbox::{acting_for, acting_principals};
pub use open::{OpenStage, open_stage};
pub use reassign::{Reassignment, reassign};

use crate::Result;
use crate::model::ApprovalStatus;
use crate::ports::Ports;

/// Closes every pending approval task of a request (cancel, expiry, rejection elsewhere). With `fail_with`, the
/// waiting workflow is failed with that error name.
pub(crate) async fn close_open_tasks(
    p: &Ports,
    request_id: &str,
    status: ApprovalStatus,
    fail_with: Option<&str>,
) -> Result<()> {
    for mut task in p.approvals.for_request(request_id).await? {
        if task.status != ApprovalStatus::Pending {
            continue;
        }
        task.status = status;
        p.approvals.save(&mut task).await?;
        if let Some(error) = fail_with {
            // The execution may already have moved on (timeout); that is not an error here.
            if let Err(e) = p
                .workflow
                .fail_task(&task.task_token, error, "closed by Provisio")
                .await
            {
                tracing::info!(approval = %task.approval_id, error = %e, "workflow task already closed");
            }
        }
    }
    Ok(())
}
