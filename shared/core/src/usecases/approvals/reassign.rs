//! Handing pending approvals over when their approver leaves or moves.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::*;
use crate::names::event_types;
use crate::ports::Ports;
use crate::usecases::{MAX_CONFLICT_RETRIES, audit, pinned_item, publish, request};
use crate::{Error, Result};

/// What [`reassign`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reassignment {
    /// Pending tasks that wait for someone else now instead of `from`.
    pub reassigned: u32,
    /// Pending tasks nobody could take over (ids): `from` stays on them, and the escalation sweep still reminds,
    /// escalates and finally expires them.
    pub unassigned: Vec<String>,
}

/// Hands the pending approval tasks that wait for user `from` to someone else: `to` (a leaver's manager, a
/// mover's new manager), or, for a task `to` may not decide or when there is no `to`, the item's approval policy
/// `fallbackGroup`, else the item's owner. Who may not decide a task: a party of the request, whoever decided
/// another stage of it or already decided this task, `from` itself, and unknown or terminated people. With
/// `only_for_beneficiary`, only tasks of that person's requests move (a mover's own requests).
///
/// A decision `from` already recorded on a task (mode `all`) stands and the task stays as it is. The task keeps
/// its due date and escalation state. Each move is audited and announced (`ApprovalReassigned`, ids only).
/// Safe to repeat: a task moved before no longer waits for `from`.
pub async fn reassign(
    p: &Ports,
    from: &str,
    to: Option<&str>,
    only_for_beneficiary: Option<&str>,
) -> Result<Reassignment> {
    let leaving = Principal::User(from.to_string());
    let mut out = Reassignment::default();
    for task in p.approvals.pending_for(&leaving).await? {
        if only_for_beneficiary.is_some_and(|b| task.beneficiary_id != b) {
            continue;
        }
        if task.decisions.iter().any(|d| d.principal == leaving) {
            continue;
        }
        let req = request(p, &task.request_id).await?;
        let it = pinned_item(p, &req).await?;
        let candidates = [
            to.map(|id| Principal::User(id.to_string())),
            it.approval_policy.fallback_group.map(Principal::Group),
            Some(Principal::User(it.owner_id)),
        ];
        let mut successor = None;
        for candidate in candidates.into_iter().flatten() {
            if may_take_over(p, &req, &task, from, &candidate).await? {
                successor = Some(candidate);
                break;
            }
        }
        let Some(successor) = successor else {
            tracing::warn!(approval = %task.approval_id, "nobody can take over this approval");
            out.unassigned.push(task.approval_id);
            continue;
        };
        if let Some((before, after)) = hand_over(p, &task.approval_id, &leaving, &successor).await?
        {
            audit(
                p,
                "provisio",
                "approval.reassigned",
                &task.approval_id,
                json!({"approvers": before}),
                json!({"approvers": after}),
                None,
            )
            .await?;
            publish(
                p,
                event_types::APPROVAL_REASSIGNED,
                json!({"approvalId": task.approval_id, "requestId": task.request_id,
                       "from": leaving, "to": successor}),
            )
            .await?;
            out.reassigned += 1;
        }
    }
    Ok(out)
}

/// Whether `candidate` may decide `task` in place of `from` (segregation of duties as `authorize` applies it).
async fn may_take_over(
    p: &Ports,
    req: &Request,
    task: &ApprovalTask,
    from: &str,
    candidate: &Principal,
) -> Result<bool> {
    if task.decisions.iter().any(|d| &d.principal == candidate) {
        return Ok(false);
    }
    let Principal::User(id) = candidate else {
        return Ok(true);
    };
    let decided = req
        .stages
        .iter()
        .flat_map(|s| &s.decisions)
        .chain(&task.decisions)
        .any(|d| &d.approver_id == id);
    if id == from || req.parties().contains(&id.as_str()) || decided {
        return Ok(false);
    }
    // Someone on leave still qualifies: their delegate sees the task (acting_principals) and escalation runs.
    Ok(p.identities
        .get(id)
        .await?
        .is_some_and(|who| who.status != IdentityStatus::Terminated))
}

/// Replaces `from` by `to` among the task's approvers (or just drops `from` when `to` is already one), under
/// optimistic concurrency. The approvers before and after, or None when the task no longer waits for `from`.
async fn hand_over(
    p: &Ports,
    approval_id: &str,
    from: &Principal,
    to: &Principal,
) -> Result<Option<(Vec<Principal>, Vec<Principal>)>> {
    for _ in 0..MAX_CONFLICT_RETRIES {
        let Some(mut task) = p.approvals.get(approval_id).await? else {
            return Ok(None);
        };
        if task.status != ApprovalStatus::Pending || !task.approvers.contains(from) {
            return Ok(None);
        }
        let before = task.approvers.clone();
        let present = task.approvers.contains(to);
        task.approvers = before
            .iter()
            .filter_map(|a| match a {
                a if a == from && !present => Some(to.clone()),
                a if a == from => None,
                a => Some(a.clone()),
            })
            .collect();
        match p.approvals.save(&mut task).await {
            Ok(()) => return Ok(Some((before, task.approvers))),
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "approval {approval_id} is changing concurrently; try again"
    )))
}
