//! An approver's decision: who may decide, and recording it as one idempotent step.

use serde::Deserialize;

use super::{acting_principals, complete};
use crate::model::*;
use crate::ports::Ports;
use crate::usecases::{MAX_CONFLICT_RETRIES, request};
use crate::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Which principal of the task the caller decides for, or why not. Parties and earlier-stage approvers get 403
/// (they know the request); anyone else unrelated gets 404.
async fn authorize(
    p: &Ports,
    caller: &Caller,
    task: &ApprovalTask,
    req: &Request,
) -> Result<(Principal, Option<String>)> {
    let me = caller.employee_id.as_str();
    if req.parties().contains(&me) {
        return Err(Error::Forbidden(
            "you cannot approve a request you made or benefit from".into(),
        ));
    }
    let decided_other_stage = req
        .stages
        .iter()
        .filter(|s| s.index != task.stage_index)
        .any(|s| s.decisions.iter().any(|d| d.approver_id == me));
    if decided_other_stage {
        return Err(Error::Forbidden(
            "you already decided another stage of this request".into(),
        ));
    }
    let acting = acting_principals(p, caller).await?;
    let satisfied: Vec<&Principal> = task.decisions.iter().map(|d| &d.principal).collect();
    let mut candidates = task
        .approvers
        .iter()
        .filter_map(|a| acting.get(a).map(|of| (a, of)));
    let first = candidates.clone().next();
    match candidates.find(|(a, _)| !satisfied.contains(a)).or(first) {
        Some((_, Some(of))) if req.parties().contains(&of.as_str()) => Err(Error::Forbidden(
            "a delegate cannot act on their principal's own request".into(),
        )),
        Some((principal, of)) => Ok((principal.clone(), of.clone())),
        None => Err(Error::NotFound(format!("approval {}", task.approval_id))),
    }
}

/// The task's status once `decision` is added to its decisions.
fn outcome(task: &ApprovalTask, decision: Decision) -> ApprovalStatus {
    let all_approved = || {
        task.approvers
            .iter()
            .all(|a| task.decisions.iter().any(|d| &d.principal == a))
    };
    match (decision, task.mode) {
        (Decision::Reject, _) => ApprovalStatus::Rejected,
        (Decision::Approve, ApprovalMode::Any) => ApprovalStatus::Approved,
        (Decision::Approve, ApprovalMode::All) if all_approved() => ApprovalStatus::Approved,
        (Decision::Approve, ApprovalMode::All) => ApprovalStatus::Pending,
    }
}

/// Records the caller's decision and, once the stage is decided, resumes or fails the waiting workflow.
///
/// Idempotent: the caller's same decision again (same comment) completes whatever an earlier attempt left
/// undone and answers as that attempt should have; any other decision by someone who already decided, or on a
/// decided task, is a `Conflict`.
pub async fn decide(
    p: &Ports,
    caller: &Caller,
    approval_id: &str,
    input: DecisionInput,
) -> Result<ApprovalView> {
    let comment = input
        .comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    for _ in 0..MAX_CONFLICT_RETRIES {
        let mut task = p
            .approvals
            .get(approval_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("approval {approval_id}")))?;
        if let Some(mine) = task
            .decisions
            .iter()
            .find(|d| d.approver_id == caller.employee_id)
        {
            if mine.decision == input.decision && mine.comment == comment {
                // Authorized when it was recorded; a retry only finishes its effects.
                return Ok(complete(p, task).await?.view(None));
            }
            return Err(Error::Conflict("you already decided this approval".into()));
        }
        let req = request(p, &task.request_id).await?;
        let (principal, on_behalf_of) = authorize(p, caller, &task, &req).await?;
        if task.status != ApprovalStatus::Pending {
            return Err(Error::Conflict(format!(
                "approval {approval_id} is already decided"
            )));
        }
        if task.outstanding.is_some() {
            // An earlier approver's decision (mode `all`) is unfinished; the mark covers only the latest
            // decision, so that one is completed first.
            complete(p, task).await?;
            continue;
        }
        task.decisions.push(DecisionRecord {
            approver_id: caller.employee_id.clone(),
            principal,
            decision: input.decision,
            comment: comment.clone(),
            at: p.clock.now(),
            on_behalf_of,
        });
        task.status = outcome(&task, input.decision);
        task.outstanding = Some(Outstanding::Record);
        match p.approvals.save(&mut task).await {
            Ok(()) => return Ok(complete(p, task).await?.view(None)),
            // Someone decided meanwhile: look again (it may even be this caller's own earlier attempt).
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "approval {approval_id} is changing concurrently; try again"
    )))
}
