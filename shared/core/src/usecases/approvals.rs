//! Approval stages: who may decide (delegates, segregation of duties), and what a decision does to the workflow.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::{audit, identity, pinned_item, publish, request, update_request};
use crate::model::*;
use crate::names::{errors, event_types};
use crate::ports::Ports;
use crate::{Error, Result};

/// Input of the approval step (`.waitForTaskToken`). The token is stored server-side only.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenStage {
    pub request_id: String,
    pub stage_index: u32,
    pub task_token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

fn approval_id(request_id: &str, stage_index: u32) -> String {
    format!("{request_id}-s{stage_index}")
}

/// Resolves the stage's approvers, applies delegation and segregation of duties, stores the task with its token
/// and announces it. Re-running it (a retried task gets a new token) only refreshes the token.
pub async fn open_stage(p: &Ports, input: &OpenStage) -> Result<ApprovalTask> {
    let req = request(p, &input.request_id).await?;
    if req.cancel_requested || req.status.is_terminal() {
        return Err(Error::Cancelled);
    }
    let id = approval_id(&req.request_id, input.stage_index);
    if let Some(mut existing) = p.approvals.get(&id).await? {
        if existing.status == ApprovalStatus::Pending && existing.task_token != input.task_token {
            existing.task_token = input.task_token.clone();
            p.approvals.save(&mut existing).await?;
        }
        return Ok(existing);
    }
    let stage = req
        .stages
        .iter()
        .find(|s| s.index == input.stage_index)
        .ok_or_else(|| {
            Error::NotFound(format!("stage {} of {}", input.stage_index, req.request_id))
        })?;
    let it = pinned_item(p, &req).await?;
    let spec = it
        .approval_policy
        .stages
        .get(input.stage_index as usize)
        .ok_or_else(|| Error::NoApprover(stage.name.clone()))?;
    let approvers = resolve_approvers(p, &req, &it, spec).await?;
    if approvers.is_empty() {
        return Err(Error::NoApprover(stage.name.clone()));
    }
    let now = p.clock.now();
    let mut task = ApprovalTask {
        approval_id: id.clone(),
        request_id: req.request_id.clone(),
        stage_index: input.stage_index,
        stage_name: stage.name.clone(),
        item_id: req.item_id.clone(),
        requester_id: req.requester_id.clone(),
        beneficiary_id: req.beneficiary_id.clone(),
        mode: spec.mode,
        approvers,
        decisions: vec![],
        status: ApprovalStatus::Pending,
        task_token: input.task_token.clone(),
        created_at: now,
        due_at: now + Duration::hours(i64::from(spec.sla_hours)),
        expires_at: it
            .approval_policy
            .max_age_hours
            .map(|h| req.created_at + Duration::hours(i64::from(h))),
        reminded_at: None,
        escalated_at: None,
        version: 0,
    };
    p.approvals.create(&task).await.or_else(|e| match e {
        // A concurrent duplicate delivery created it first: same task, keep going.
        Error::Conflict(_) => Ok(()),
        e => Err(e),
    })?;
    let index = input.stage_index;
    let name = stage.name.clone();
    update_request(p, &req.request_id, "provisio", "approval.opened", |r| {
        if r.cancel_requested {
            return Err(Error::Cancelled);
        }
        if let Some(s) = r.stage_mut(index) {
            s.status = StageStatus::Open;
            s.approval_id = Some(id.clone());
        }
        r.transition(
            RequestStatus::PendingApproval,
            "provisio",
            format!("waiting for {name} approval"),
            now,
        );
        Ok(())
    })
    .await?;
    task.version = p
        .approvals
        .get(&task.approval_id)
        .await?
        .map_or(task.version, |t| t.version);
    publish(
        p,
        event_types::APPROVAL_REQUESTED,
        json!({"requestId": task.request_id, "approvalId": task.approval_id, "stage": task.stage_name,
               "approvers": task.approvers, "dueAt": task.due_at}),
    )
    .await?;
    Ok(task)
}

/// Approvers of a stage for this request: delegates stand in for approvers who are away; the request's parties
/// and anyone who already decided an earlier stage are left out.
async fn resolve_approvers(
    p: &Ports,
    req: &Request,
    it: &CatalogItem,
    spec: &StageSpec,
) -> Result<Vec<Principal>> {
    let now = p.clock.now();
    let earlier: Vec<&str> = req
        .stages
        .iter()
        .flat_map(|s| s.decisions.iter().map(|d| d.approver_id.as_str()))
        .collect();
    let excluded = |id: &str| req.parties().contains(&id) || earlier.contains(&id);
    let mut out = Vec::new();
    for approver in &spec.approvers {
        let user = match approver {
            ApproverSpec::Group { group } => {
                out.push(Principal::Group(group.clone()));
                continue;
            }
            ApproverSpec::Manager => identity(p, &req.beneficiary_id).await?.manager_id,
            ApproverSpec::ItemOwner => Some(it.owner_id.clone()),
            ApproverSpec::User { employee_id } => Some(employee_id.clone()),
        };
        let Some(user) = user else { continue };
        if excluded(&user) {
            continue;
        }
        if let Some(acting) = acting_for(p, user, now).await?.filter(|a| !excluded(a)) {
            let principal = Principal::User(acting);
            if !out.contains(&principal) {
                out.push(principal);
            }
        }
    }
    Ok(out)
}

/// Who acts for `user` at `now`: a terminated person's manager, the delegate of someone away, else the user;
/// nobody for an unknown id.
pub(crate) async fn acting_for(p: &Ports, user: String, now: Timestamp) -> Result<Option<String>> {
    Ok(match p.identities.get(&user).await? {
        Some(who) if who.status == IdentityStatus::Terminated => who.manager_id,
        Some(who) => Some(who.replaced_by(now).map(str::to_string).unwrap_or(user)),
        None => None,
    })
}

/// Principals the caller answers for, each with whom it stands in for (None = as itself).
pub(crate) async fn acting_principals(
    p: &Ports,
    caller: &Caller,
) -> Result<BTreeMap<Principal, Option<String>>> {
    let now = p.clock.now();
    let mut out: BTreeMap<Principal, Option<String>> = caller
        .principals()
        .into_iter()
        .map(|pr| (pr, None))
        .collect();
    for who in p.identities.delegators_of(&caller.employee_id).await? {
        if who.replaced_by(now) == Some(caller.employee_id.as_str()) {
            out.entry(Principal::User(who.employee_id.clone()))
                .or_insert(Some(who.employee_id));
        }
    }
    Ok(out)
}

/// Approval tasks waiting for the caller, directly, through a group, or as a delegate.
pub async fn pending_for(p: &Ports, caller: &Caller) -> Result<Vec<ApprovalView>> {
    let mut views: BTreeMap<String, ApprovalView> = BTreeMap::new();
    for (principal, delegate_of) in acting_principals(p, caller).await? {
        for task in p.approvals.pending_for(&principal).await? {
            if task.requester_id == caller.employee_id || task.beneficiary_id == caller.employee_id
            {
                continue;
            }
            views
                .entry(task.approval_id.clone())
                .or_insert_with(|| task.view(delegate_of.clone()));
        }
    }
    let mut out: Vec<_> = views.into_values().collect();
    out.sort_by_key(|v| v.task.due_at);
    Ok(out)
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

/// Records the caller's decision and, once the stage is decided, resumes or fails the waiting workflow.
pub async fn decide(
    p: &Ports,
    caller: &Caller,
    approval_id: &str,
    input: DecisionInput,
) -> Result<ApprovalView> {
    let mut task = p
        .approvals
        .get(approval_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("approval {approval_id}")))?;
    let req = request(p, &task.request_id).await?;
    let (principal, on_behalf_of) = authorize(p, caller, &task, &req).await?;
    if task.status != ApprovalStatus::Pending {
        return Err(Error::Conflict(format!(
            "approval {approval_id} is already decided"
        )));
    }
    if task
        .decisions
        .iter()
        .any(|d| d.approver_id == caller.employee_id)
    {
        return Err(Error::Conflict("you already decided this approval".into()));
    }
    let now = p.clock.now();
    let comment = input
        .comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let record = DecisionRecord {
        approver_id: caller.employee_id.clone(),
        principal,
        decision: input.decision,
        comment: comment.clone(),
        at: now,
        on_behalf_of,
    };
    task.decisions.push(record.clone());
    task.status = match (input.decision, task.mode) {
        (Decision::Reject, _) => ApprovalStatus::Rejected,
        (Decision::Approve, ApprovalMode::Any) => ApprovalStatus::Approved,
        (Decision::Approve, ApprovalMode::All) => {
            let all = task
                .approvers
                .iter()
                .all(|a| task.decisions.iter().any(|d| &d.principal == a));
            if all {
                ApprovalStatus::Approved
            } else {
                ApprovalStatus::Pending
            }
        }
    };
    p.approvals.save(&mut task).await.map_err(|e| match e {
        Error::Conflict(_) => {
            Error::Conflict(format!("approval {approval_id} was decided concurrently"))
        }
        e => e,
    })?;

    let last_stage = req.stages.iter().map(|s| s.index).max() == Some(task.stage_index);
    let stage_status = match task.status {
        ApprovalStatus::Approved => Some(StageStatus::Approved),
        ApprovalStatus::Rejected => Some(StageStatus::Rejected),
        _ => None,
    };
    let stage_index = task.stage_index;
    update_request(
        p,
        &task.request_id,
        &caller.employee_id,
        "approval.decided",
        |r| {
            if let Some(s) = r.stage_mut(stage_index) {
                if !s.decisions.contains(&record) {
                    s.decisions.push(record.clone());
                }
                if let Some(st) = stage_status {
                    s.status = st;
                }
            }
            if stage_status == Some(StageStatus::Approved) && last_stage {
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
    audit(
        p,
        &caller.employee_id,
        "approval.decided",
        &task.approval_id,
        json!({"status": ApprovalStatus::Pending}),
        json!({"status": task.status, "decision": input.decision}),
        comment.clone(),
    )
    .await?;

    let resumed = match task.status {
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
                comment.map(|c| format!(": {c}")).unwrap_or_default()
            );
            p.workflow
                .fail_task(&task.task_token, errors::REJECTED, &cause)
                .await
        }
        _ => Ok(()),
    };
    resumed?;
    publish(
        p,
        event_types::APPROVAL_DECIDED,
        json!({"requestId": task.request_id, "approvalId": task.approval_id, "decision": input.decision, "status": task.status}),
    )
    .await?;
    if task.status == ApprovalStatus::Approved && last_stage {
        publish(
            p,
            event_types::REQUEST_APPROVED,
            json!({"requestId": task.request_id}),
        )
        .await?;
    }
    Ok(task.view(None))
}

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

/// What [`reassign`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
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
    for _ in 0..super::MAX_CONFLICT_RETRIES {
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
