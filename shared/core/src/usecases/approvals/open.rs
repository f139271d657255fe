//! Opening a stage: its approvers, its task with the workflow's token, its dates.

use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::{acting_for, complete};
use crate::model::*;
use crate::names::event_types;
use crate::ports::Ports;
use crate::usecases::{identity, pinned_item, publish, request, update_request};
use crate::{Error, Result};

/// Input of the approval step (`.waitForTaskToken`). The token is stored server-side only.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenStage {
    pub request_id: String,
    pub stage_index: u32,
    pub task_token: String,
}

fn approval_id(request_id: &str, stage_index: u32) -> String {
    format!("{request_id}-s{stage_index}")
}

/// `hours` after `at`, or a validation error naming the policy `field` when that is past the latest date a
/// timestamp can hold.
fn hours_after(at: Timestamp, hours: u32, field: &str) -> Result<Timestamp> {
    at.checked_add_signed(Duration::hours(i64::from(hours)))
        .ok_or_else(|| {
            Error::validation(
                field,
                format!("{hours} hours after {at} is past the latest date Provisio can store"),
            )
        })
}

/// Resolves the stage's approvers, applies delegation and segregation of duties, stores the task with its token
/// and announces it. Re-running it (a retried task gets a new token) only moves the task to the new token; a
/// decision made meanwhile is then delivered to it.
pub async fn open_stage(p: &Ports, input: &OpenStage) -> Result<ApprovalTask> {
    let req = request(p, &input.request_id).await?;
    if req.cancel_requested || req.status.is_terminal() {
        return Err(Error::Cancelled);
    }
    let id = approval_id(&req.request_id, input.stage_index);
    if let Some(existing) = p.approvals.get(&id).await? {
        return retried(p, existing, &input.task_token).await;
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
    let sla_field = format!("approvalPolicy.stages[{}].slaHours", input.stage_index);
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
        due_at: hours_after(now, spec.sla_hours, &sla_field)?,
        expires_at: it
            .approval_policy
            .max_age_hours
            .map(|h| hours_after(req.created_at, h, "approvalPolicy.maxAgeHours"))
            .transpose()?,
        reminded_at: None,
        escalated_at: None,
        outstanding: None,
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

/// The stage's task already exists: this is a redelivery (same token) or a retried workflow task waiting on a
/// new token. A pending task takes the new token; a decided one also delivers its decision to it, since the old
/// token's task failed before the decision could resume it (a resumed task is never retried).
async fn retried(p: &Ports, mut task: ApprovalTask, token: &str) -> Result<ApprovalTask> {
    if task.task_token == token {
        return Ok(task);
    }
    let decided = matches!(
        task.status,
        ApprovalStatus::Approved | ApprovalStatus::Rejected
    );
    if !decided && task.status != ApprovalStatus::Pending {
        return Ok(task);
    }
    task.task_token = token.to_owned();
    if decided {
        task.outstanding.get_or_insert(Outstanding::Resume);
    }
    p.approvals.save(&mut task).await?;
    complete(p, task).await
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
