//! The effects of a recorded decision, in order: the request's stage (and its audit entry), the decision's audit
//! entry, the waiting workflow, the events. The task's mark ([`Outstanding`]) moves on after each part, so an
//! attempt that failed or crashed part-way is completed by the next one without doing anything twice:
//!
//! - the request is left alone once it shows the decision, so neither it nor its audit entry is written again
//!   (that entry follows the request's save as in every request change: a failure between the two loses it);
//! - the decision's audit entry has a part of its own: appended once, unless the mark's save after it fails (the
//!   one window in which a retry appends it a second time);
//! - the workflow takes one callback per task token: a closed token on a later attempt means an earlier callback
//!   got through (or the execution stopped waiting: timed out or cancelled); either way nothing waits any more;
//! - the events go out before the mark is cleared (at least once, as every event on the bus).

use serde_json::json;

use crate::model::*;
use crate::names::{errors, event_types};
use crate::ports::Ports;
use crate::usecases::{MAX_CONFLICT_RETRIES, audit, publish, request, update_request};
use crate::{Error, Result};

/// Carries out what is left of the effects of the task's latest decision and returns the task as stored after.
/// Safe to run again after any failure, and by anyone: its approver's retry, the next approver, the sweep.
pub(crate) async fn complete(p: &Ports, mut task: ApprovalTask) -> Result<ApprovalTask> {
    loop {
        let Some(step) = task.outstanding else {
            return Ok(task);
        };
        let record = task.decisions.last().cloned().ok_or_else(|| {
            Error::Internal(format!(
                "approval {} has effects but no decision",
                task.approval_id
            ))
        })?;
        let next = match step {
            Outstanding::Record => {
                record_on_request(p, &task, &record).await?;
                Some(Outstanding::Audit)
            }
            Outstanding::Audit => {
                audit(
                    p,
                    &record.approver_id,
                    "approval.decided",
                    &task.approval_id,
                    json!({"status": ApprovalStatus::Pending}),
                    json!({"status": task.status, "decision": record.decision}),
                    record.comment.clone(),
                )
                .await?;
                Some(Outstanding::Resume)
            }
            Outstanding::Resume => {
                resume_workflow(p, &task, &record).await?;
                announce(p, &task, &record).await?;
                None
            }
        };
        task = mark(p, task, next).await?;
    }
}

/// Adds the decision to the request's stage and, when it decides the stage, the stage's (and, at the last
/// stage, the request's) outcome. A request that shows the decision already is not written again.
async fn record_on_request(p: &Ports, task: &ApprovalTask, record: &DecisionRecord) -> Result<()> {
    let index = task.stage_index;
    let has_it = |s: &Stage| {
        s.decisions
            .iter()
            .any(|d| d.approver_id == record.approver_id)
    };
    let req = request(p, &task.request_id).await?;
    if req.stages.iter().any(|s| s.index == index && has_it(s)) {
        return Ok(());
    }
    let stage_status = match task.status {
        ApprovalStatus::Approved => Some(StageStatus::Approved),
        ApprovalStatus::Rejected => Some(StageStatus::Rejected),
        _ => None,
    };
    let now = p.clock.now();
    update_request(
        p,
        &task.request_id,
        &record.approver_id,
        "approval.decided",
        |r| {
            let last_stage = r.stages.iter().map(|s| s.index).max() == Some(index);
            // A request closed meanwhile (cancelled, expired) keeps its outcome; the decision is still on record.
            let open = !r.status.is_terminal();
            if let Some(s) = r.stage_mut(index) {
                if !has_it(s) {
                    s.decisions.push(record.clone());
                }
                if let Some(status) = stage_status.filter(|_| open) {
                    s.status = status;
                }
            }
            if open && last_stage && stage_status == Some(StageStatus::Approved) {
                r.transition(
                    RequestStatus::Approved,
                    &record.approver_id,
                    "all approval stages approved",
                    now,
                );
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// Resumes (approved) or fails (rejected) the workflow waiting on the task; nothing while the stage is open.
async fn resume_workflow(p: &Ports, task: &ApprovalTask, record: &DecisionRecord) -> Result<()> {
    let sent = match task.status {
        ApprovalStatus::Approved => {
            p.workflow
                .complete_task(
                    &task.task_token,
                    json!({"stageIndex": task.stage_index, "decision": "approve"}),
                )
                .await
        }
        ApprovalStatus::Rejected => {
            let cause = format!(
                "rejected at {} approval{}",
                task.stage_name,
                record
                    .comment
                    .as_ref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            );
            p.workflow
                .fail_task(&task.task_token, errors::REJECTED, &cause)
                .await
        }
        _ => Ok(()),
    };
    match sent {
        // The token is closed: an earlier attempt's callback got through, or the execution stopped waiting.
        Err(Error::Conflict(reason)) => {
            tracing::info!(approval = %task.approval_id, %reason, "workflow no longer waits on this task");
            Ok(())
        }
        other => other,
    }
}

async fn announce(p: &Ports, task: &ApprovalTask, record: &DecisionRecord) -> Result<()> {
    publish(
        p,
        event_types::APPROVAL_DECIDED,
        json!({"requestId": task.request_id, "approvalId": task.approval_id,
               "decision": record.decision, "status": task.status}),
    )
    .await?;
    if task.status != ApprovalStatus::Approved {
        return Ok(());
    }
    let req = request(p, &task.request_id).await?;
    if req.stages.iter().map(|s| s.index).max() == Some(task.stage_index) {
        publish(
            p,
            event_types::REQUEST_APPROVED,
            json!({"requestId": task.request_id}),
        )
        .await?;
    }
    Ok(())
}

/// Saves the task with its mark moved from where it is to `to`. When another writer saved the task meanwhile
/// (a reminder, a reassignment), the mark is moved on the task as it is now, unless the mark itself moved
/// (someone else completed this part, or a new decision was recorded): then the task is handed back as it is.
async fn mark(p: &Ports, mut task: ApprovalTask, to: Option<Outstanding>) -> Result<ApprovalTask> {
    let (from, decisions) = (task.outstanding, task.decisions.len());
    for _ in 0..MAX_CONFLICT_RETRIES {
        task.outstanding = to;
        match p.approvals.save(&mut task).await {
            Ok(()) => return Ok(task),
            Err(Error::Conflict(_)) => {
                task = p
                    .approvals
                    .get(&task.approval_id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("approval {}", task.approval_id)))?;
                if task.outstanding != from || task.decisions.len() != decisions {
                    return Ok(task);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "approval {} is changing concurrently; try again",
        task.approval_id
    )))
}
