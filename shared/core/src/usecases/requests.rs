//! Submitting, reading, listing and cancelling requests.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::assignments::execution_name;
use super::{audit, identity, item, publish, request, summary, update_request};
use crate::model::*;
use crate::names::{errors, event_types};
use crate::policy::{ineligibility_reasons, request_facts};
use crate::ports::Ports;
use crate::{Error, FieldError, Result};

const MAX_JUSTIFICATION: usize = 2000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitInput {
    pub item_id: String,
    #[serde(default)]
    pub justification: Option<String>,
    #[serde(default)]
    pub duration_hours: Option<u32>,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// What a new request is for; shared by submissions and extensions.
struct Draft<'a> {
    item: CatalogItem,
    beneficiary: Identity,
    justification: Option<String>,
    duration_hours: Option<u32>,
    extends: Option<String>,
    actor: &'a Caller,
    /// Set when the submission must be idempotent by id (system submissions); a fresh id otherwise.
    request_id: Option<String>,
}

/// Validates and records a request, then starts its fulfilment. Eligibility is checked here too, so the employee
/// learns at once (422) rather than from a later rejection.
pub async fn submit(p: &Ports, caller: &Caller, input: SubmitInput) -> Result<Request> {
    let mut field_errors = Vec::new();
    if input.item_id.trim().is_empty() {
        field_errors.push(FieldError::new("itemId", "is required"));
    }
    if input
        .justification
        .as_ref()
        .is_some_and(|j| j.chars().count() > MAX_JUSTIFICATION)
    {
        field_errors.push(FieldError::new(
            "justification",
            format!("at most {MAX_JUSTIFICATION} characters"),
        ));
    }
    if !field_errors.is_empty() {
        return Err(Error::Validation(field_errors));
    }
    let it =
        p.catalog.get(&input.item_id).await?.ok_or_else(|| {
            Error::validation("itemId", format!("no catalog item {}", input.item_id))
        })?;
    let beneficiary = match input.on_behalf_of.as_deref() {
        None => identity(p, &caller.employee_id).await?,
        Some(id) if id == caller.employee_id => identity(p, id).await?,
        Some(id) => {
            let other = p.identities.get(id).await?;
            match other {
                Some(o)
                    if o.manager_id.as_deref() == Some(&caller.employee_id)
                        || caller.is_admin() =>
                {
                    o
                }
                _ => {
                    return Err(Error::Forbidden(
                        "you may request on behalf of your direct reports only".into(),
                    ));
                }
            }
        }
    };
    let draft = Draft {
        item: it,
        beneficiary,
        justification: input.justification,
        duration_hours: input.duration_hours,
        extends: None,
        actor: caller,
        request_id: None,
    };
    create(p, draft).await
}

/// Requests `item` for `who` as Provisio itself (a birthright of joining or moving); `cause` names the change
/// it follows from, so a repeat finds the same request id and creates nothing twice (`Conflict`).
pub async fn submit_birthright(
    p: &Ports,
    who: &Identity,
    item: CatalogItem,
    cause: &str,
) -> Result<Request> {
    let request_id = execution_name("req-birthright", &[&who.employee_id, &item.item_id, cause]);
    let draft = Draft {
        item,
        beneficiary: who.clone(),
        justification: Some("birthright access".into()),
        duration_hours: None,
        extends: None,
        actor: &Caller::system(),
        request_id: Some(request_id),
    };
    create(p, draft).await
}

/// Asks for more time on a holding. It travels the same fulfilment path, so the item's approval policy applies.
pub async fn extend(
    p: &Ports,
    caller: &Caller,
    assignment: &Assignment,
    duration_hours: u32,
) -> Result<Request> {
    let draft = Draft {
        item: item(p, &assignment.item_id).await?,
        beneficiary: identity(p, &assignment.holder_id).await?,
        justification: Some(format!("extension of {}", assignment.assignment_id)),
        duration_hours: Some(duration_hours),
        extends: Some(assignment.assignment_id.clone()),
        actor: caller,
        request_id: None,
    };
    create(p, draft).await
}

async fn create(p: &Ports, d: Draft<'_>) -> Result<Request> {
    let justification = d
        .justification
        .map(|j| j.trim().to_string())
        .filter(|j| !j.is_empty());
    if d.item.requires_justification && justification.is_none() {
        return Err(Error::validation(
            "justification",
            format!("{} requires a business justification", d.item.name),
        ));
    }
    let duration_hours = match (d.duration_hours, d.item.max_duration_hours) {
        (Some(0), _) => return Err(Error::validation("durationHours", "must be at least 1")),
        (Some(h), _) if h > time::MAX_DURATION_HOURS => {
            return Err(Error::validation(
                "durationHours",
                format!("at most {} hours", time::MAX_DURATION_HOURS),
            ));
        }
        (Some(h), Some(max)) if h > max => {
            return Err(Error::validation(
                "durationHours",
                format!("{} can be held for at most {max} hours", d.item.name),
            ));
        }
        (Some(h), _) => Some(h),
        // An item stored before the bound existed may allow more: its default stays within the bound.
        (None, max) => max.map(|m| m.min(time::MAX_DURATION_HOURS)),
    };
    let on_behalf = d.actor.employee_id != d.beneficiary.employee_id;
    let facts = request_facts(justification.as_deref(), duration_hours, on_behalf);
    let reasons = ineligibility_reasons(&d.item, &d.beneficiary, facts);
    if !reasons.is_empty() {
        return Err(Error::NotEligible(reasons));
    }
    let now = p.clock.now();
    let req = Request::submitted(
        NewRequest {
            request_id: d
                .request_id
                .unwrap_or_else(|| format!("req-{}", Uuid::new_v4())),
            item_id: d.item.item_id.clone(),
            item_version: d.item.version,
            requester_id: d.actor.employee_id.clone(),
            beneficiary_id: d.beneficiary.employee_id.clone(),
            justification,
            duration_hours,
            extends_assignment_id: d.extends,
        },
        now,
    );
    // The store refuses a second open request for this beneficiary and item atomically (`Conflict` naming the
    // open one): a read-then-write check here would let parallel submits all through.
    p.requests.create(&req).await?;
    // Once stored, the request must either run or end: a failure before the execution starts closes it as
    // FAILED, so it never sits open (and blocks a retry) with nothing driving it.
    let started = async {
        audit(
            p,
            &d.actor.employee_id,
            "request.submitted",
            &req.request_id,
            serde_json::Value::Null,
            summary(&req),
            None,
        )
        .await?;
        p.workflow.start_fulfilment(&req.request_id).await
    }
    .await;
    if let Err(e) = started {
        tracing::error!(request = %req.request_id, error = %e, "could not start fulfilment");
        update_request(p, &req.request_id, "provisio", "request.failed", |r| {
            r.outcome = Some(Outcome {
                error: errors::INTERNAL.into(),
                reason: "fulfilment could not start".into(),
            });
            r.transition(
                RequestStatus::Failed,
                "provisio",
                "fulfilment could not start",
                now,
            );
            Ok(())
        })
        .await?;
        return Err(Error::StoreUnavailable(
            "fulfilment could not start; please retry".into(),
        ));
    }
    // The request is running now; a lost notification must not fail it (the audit trail has the submission).
    if let Err(e) = publish(
        p,
        event_types::REQUEST_SUBMITTED,
        json!({"requestId": req.request_id, "itemId": req.item_id, "beneficiaryId": req.beneficiary_id}),
    )
    .await
    {
        tracing::error!(request = %req.request_id, error = %e, "RequestSubmitted not published");
    }
    Ok(req)
}

/// Whether `caller` may read the request: its parties, its approvers (and their delegates), auditors, admins.
async fn can_read(p: &Ports, caller: &Caller, req: &Request) -> Result<bool> {
    if req.parties().contains(&caller.employee_id.as_str())
        || caller.is_auditor()
        || caller.is_admin()
    {
        return Ok(true);
    }
    let mine: BTreeSet<Principal> = super::approvals::acting_principals(p, caller)
        .await?
        .into_keys()
        .collect();
    let tasks = p.approvals.for_request(&req.request_id).await?;
    Ok(tasks.iter().any(|t| {
        t.approvers.iter().any(|a| mine.contains(a))
            || t.decisions
                .iter()
                .any(|d| d.approver_id == caller.employee_id)
    }))
}

/// A request as its reader may see it; others get NotFound, never a hint that it exists.
pub async fn get(p: &Ports, caller: &Caller, request_id: &str) -> Result<Request> {
    match p.requests.get(request_id).await? {
        Some(req) if can_read(p, caller, &req).await? => Ok(req),
        _ => Err(Error::NotFound(format!("request {request_id}"))),
    }
}

/// The caller's requests, or (`as_approver`) the requests the caller decided on.
pub async fn list(p: &Ports, caller: &Caller, as_approver: bool) -> Result<Vec<Request>> {
    if !as_approver {
        return p.requests.list_for(&caller.employee_id).await;
    }
    let ids: BTreeSet<String> = p
        .approvals
        .decided_by(&caller.employee_id)
        .await?
        .into_iter()
        .map(|t| t.request_id)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(request(p, &id).await?);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    Ok(out)
}

/// Cancels a request that fulfilment has not started on. Open approvals are closed and the state machine
/// releases the seat on its way out.
pub async fn cancel(p: &Ports, caller: &Caller, request_id: &str) -> Result<Request> {
    let req = get(p, caller, request_id).await?;
    if !req.parties().contains(&caller.employee_id.as_str()) {
        return Err(Error::NotFound(format!("request {request_id}")));
    }
    let now = p.clock.now();
    let (req, ()) = update_request(
        p,
        request_id,
        &caller.employee_id,
        "request.cancelled",
        |r| match r.status {
            s if s.is_terminal() => Err(Error::Conflict(format!("request is already {s}"))),
            RequestStatus::Approved | RequestStatus::Provisioning => Err(Error::Conflict(
                "fulfilment has started; return the assignment once it is delivered".into(),
            )),
            _ => {
                r.cancel_requested = true;
                r.outcome = Some(Outcome {
                    error: errors::CANCELLED.into(),
                    reason: "cancelled by the requester".into(),
                });
                for stage in r
                    .stages
                    .iter_mut()
                    .filter(|s| matches!(s.status, StageStatus::Open | StageStatus::Waiting))
                {
                    stage.status = StageStatus::Cancelled;
                }
                r.transition(
                    RequestStatus::Cancelled,
                    &caller.employee_id,
                    "cancelled by the requester",
                    now,
                );
                Ok(())
            }
        },
    )
    .await?;
    super::approvals::close_open_tasks(
        p,
        request_id,
        ApprovalStatus::Cancelled,
        Some(errors::CANCELLED),
    )
    .await?;
    publish(
        p,
        event_types::REQUEST_CANCELLED,
        json!({"requestId": request_id}),
    )
    .await?;
    Ok(req)
}
