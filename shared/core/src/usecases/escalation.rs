//! The escalation sweep (every 15 minutes): approvals must not rot. Past its SLA a pending task gets a reminder;
//! past twice the SLA it is escalated (user approvers' managers, or the policy's fallback group, join the
//! approvers; the original approvers keep acting); past the policy's maximum age the waiting execution is
//! failed with `Provisio.Expired`, which releases the seat and ends the request EXPIRED. A decision whose effects
//! its approver's call left unfinished (and nobody retried) is completed instead, a few minutes after it was made
//! ([`COMPLETION_GRACE`](crate::model::COMPLETION_GRACE)): an approved request goes on, it never expires for it.
//!
//! Each step is recorded on the task before the next sweep looks again, and only tasks with a step due are read,
//! so the sweep is cheap and safe to re-run. Each run also anchors the audit chains.

use serde::Serialize;
use serde_json::json;

use super::{approvals, audit, pinned_item, publish, request, sweep_result};
use crate::model::{ApprovalStatus, ApprovalTask, Escalation, Principal};
use crate::names::{errors, event_types};
use crate::ports::Ports;
use crate::{Error, Result};

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub reminded: u32,
    pub escalated: u32,
    pub expired: u32,
    /// Decisions whose unfinished effects (request, audit, workflow, events) this sweep completed.
    pub completed: u32,
    /// Tasks whose step failed this time (the sweep then fails as a whole); the next sweep tries them again.
    /// An audit anchor that could not be written counts as one.
    pub failed: u32,
    /// Whether this run anchored the audit chains (not when nothing was appended since the last anchor).
    pub anchored: bool,
}

pub async fn sweep(p: &Ports) -> Result<SweepReport> {
    let now = p.clock.now();
    let mut report = SweepReport::default();
    for task in p.approvals.needing_escalation(now).await? {
        let Some(step) = task.escalation_due(now) else {
            continue;
        };
        let id = task.approval_id.clone();
        let outcome = match step {
            Escalation::Remind => remind(p, task).await.map(|()| &mut report.reminded),
            Escalation::Escalate => escalate(p, task).await.map(|()| &mut report.escalated),
            Escalation::Expire => expire(p, task).await.map(|()| &mut report.expired),
            Escalation::Complete => approvals::complete(p, task)
                .await
                .map(|_| &mut report.completed),
        };
        match outcome {
            Ok(count) => *count += 1,
            Err(e) => {
                // One broken task must not hold up the others.
                tracing::warn!(approval = %id, error = %e, "escalation step failed");
                report.failed += 1;
            }
        }
    }
    // The audit trail's anchor rides on this 15-minute schedule (see crate::audit).
    match crate::audit::anchor(p.audit.as_ref(), now).await {
        Ok(anchor) => report.anchored = anchor.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "audit anchor failed");
            report.failed += 1;
        }
    }
    let failed = report.failed;
    sweep_result("escalation", report, failed)
}

async fn remind(p: &Ports, mut task: ApprovalTask) -> Result<()> {
    task.reminded_at = Some(p.clock.now());
    p.approvals.save(&mut task).await?;
    publish(
        p,
        event_types::APPROVAL_REMINDER,
        json!({"approvalId": task.approval_id, "requestId": task.request_id,
               "approvers": task.approvers, "dueAt": task.due_at}),
    )
    .await
}

async fn escalate(p: &Ports, mut task: ApprovalTask) -> Result<()> {
    let req = request(p, &task.request_id).await?;
    let policy = pinned_item(p, &req).await?.approval_policy;
    let mut added = Vec::new();
    for approver in &task.approvers {
        let next = match approver {
            // An approver unknown to the store has no manager to escalate to; a store failure fails the step.
            Principal::User(id) => p
                .identities
                .get(id)
                .await?
                .and_then(|i| i.manager_id)
                .map(Principal::User),
            Principal::Group(_) => policy.fallback_group.clone().map(Principal::Group),
        };
        // The request's own parties never approve it (segregation of duties).
        let party =
            matches!(&next, Some(Principal::User(id)) if req.parties().contains(&id.as_str()));
        if let Some(next) =
            next.filter(|n| !party && !task.approvers.contains(n) && !added.contains(n))
        {
            added.push(next);
        }
    }
    let before = json!({"approvers": task.approvers});
    task.approvers.extend(added.iter().cloned());
    task.escalated_at = Some(p.clock.now());
    p.approvals.save(&mut task).await?;
    audit(
        p,
        "provisio",
        "approval.escalated",
        &task.approval_id,
        before,
        json!({"approvers": task.approvers}),
        None,
    )
    .await?;
    publish(
        p,
        event_types::APPROVAL_ESCALATED,
        json!({"approvalId": task.approval_id, "requestId": task.request_id, "escalatedTo": added}),
    )
    .await
}

/// Fails the waiting execution; its ReleaseSeat step frees the seat and closes the request and the task.
async fn expire(p: &Ports, mut task: ApprovalTask) -> Result<()> {
    let cause = "the request waited for approval longer than its policy's maximum age";
    match p
        .workflow
        .fail_task(&task.task_token, errors::EXPIRED, cause)
        .await
    {
        Ok(()) => Ok(()),
        // Nobody waits on this task any more: close it so no sweep picks it up again.
        Err(Error::Conflict(_)) => {
            task.status = ApprovalStatus::Expired;
            p.approvals.save(&mut task).await
        }
        Err(e) => Err(e),
    }
}
