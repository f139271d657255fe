//! The steps of the fulfilment and deprovision state machines. Each is idempotent: Step Functions may deliver a
//! task more than once, and Retry re-runs failed ones.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{audit, identity, item, pinned_item, publish, request, update_request};
use crate::model::*;
use crate::names::{errors, event_types};
use crate::policy::{Facts, applicable_stages, ineligibility_reasons, request_facts};
use crate::ports::{Grant, Ports};
use crate::{Error, Result};

const SYSTEM: &str = "provisio";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRef {
    pub index: u32,
    pub name: String,
}

/// Output of the eligibility step: the stages the Map state walks through, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub request_id: String,
    pub stages: Vec<StageRef>,
    pub auto_approved: bool,
}

fn check_not_cancelled(req: &Request) -> Result<()> {
    if req.cancel_requested {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

/// Re-checks eligibility (HR data may have changed since submission) and computes the approval route.
pub async fn route(p: &Ports, request_id: &str) -> Result<Route> {
    let req = request(p, request_id).await?;
    check_not_cancelled(&req)?;
    let it = item(p, &req.item_id).await?;
    let user = identity(p, &req.beneficiary_id).await?;
    let facts_input = request_facts(
        req.justification.as_deref(),
        req.duration_hours,
        req.requester_id != req.beneficiary_id,
    );
    let reasons = ineligibility_reasons(&it, &user, facts_input.clone());
    if !reasons.is_empty() {
        return Err(Error::NotEligible(reasons));
    }
    let facts = Facts::new(&user, &it, facts_input);
    let stages: Vec<Stage> = applicable_stages(&it, &facts)?
        .into_iter()
        .map(|(index, spec)| Stage {
            index,
            name: spec.name.clone(),
            mode: spec.mode,
            sla_hours: spec.sla_hours,
            status: StageStatus::Waiting,
            approval_id: None,
            decisions: vec![],
        })
        .collect();
    let now = p.clock.now();
    let auto = stages.is_empty();
    let routed_version = it.version;
    let (req, routed_now) = update_request(p, request_id, SYSTEM, "request.routed", |r| {
        check_not_cancelled(r)?;
        if r.status != RequestStatus::Submitted {
            return Ok(false); // already routed by an earlier delivery
        }
        // Stage indexes point into this version's policy: pin it for the approval steps.
        r.item_version = routed_version;
        r.stages = stages.clone();
        r.auto_approved = auto;
        if auto {
            r.transition(
                RequestStatus::Approved,
                SYSTEM,
                "auto-approved: no approval stage applies",
                now,
            );
        } else {
            let names: Vec<_> = stages.iter().map(|s| s.name.as_str()).collect();
            r.transition(
                RequestStatus::PendingApproval,
                SYSTEM,
                format!("approval route: {}", names.join(", ")),
                now,
            );
        }
        Ok(true)
    })
    .await?;
    if routed_now && req.auto_approved {
        publish(
            p,
            event_types::REQUEST_APPROVED,
            json!({"requestId": request_id, "auto": true}),
        )
        .await?;
    }
    Ok(Route {
        request_id: request_id.to_string(),
        stages: req
            .stages
            .iter()
            .map(|s| StageRef {
                index: s.index,
                name: s.name.clone(),
            })
            .collect(),
        auto_approved: req.auto_approved,
    })
}

/// The items a request delivers: the bundle's components, or the item itself.
async fn targets(p: &Ports, it: &CatalogItem) -> Result<Vec<CatalogItem>> {
    if !it.is_bundle() {
        return Ok(vec![it.clone()]);
    }
    let mut out = Vec::with_capacity(it.components.len());
    for c in &it.components {
        out.push(item(p, c).await?);
    }
    Ok(out)
}

async fn active_holding(p: &Ports, holder: &str, item_id: &str) -> Result<Option<Assignment>> {
    let a = p
        .assignments
        .get(&Assignment::id_for(holder, item_id))
        .await?;
    Ok(a.filter(|a| a.status == AssignmentStatus::Active))
}

/// Reserves a seat in every pool the request needs, all or none. Items the beneficiary already holds need none.
pub async fn reserve_seats(p: &Ports, request_id: &str) -> Result<Vec<String>> {
    let req = request(p, request_id).await?;
    check_not_cancelled(&req)?;
    let it = item(p, &req.item_id).await?;
    let mut pools = Vec::new();
    for t in targets(p, &it).await? {
        if let Some(pool) = t.license_pool_id
            && active_holding(p, &req.beneficiary_id, &t.item_id)
                .await?
                .is_none()
        {
            pools.push(pool);
        }
    }
    p.licenses.reserve(request_id, &pools).await?;
    if !pools.is_empty() {
        audit(
            p,
            SYSTEM,
            "seat.reserved",
            request_id,
            Value::Null,
            json!({"pools": pools}),
            None,
        )
        .await?;
    }
    Ok(pools)
}

/// Grants every target item through its connector, all or none: on failure the grants made in this attempt are
/// revoked before the error goes back to the state machine (which retries transient ones).
pub async fn provision(p: &Ports, request_id: &str) -> Result<Vec<String>> {
    let req = request(p, request_id).await?;
    match req.status {
        RequestStatus::Fulfilled => return Ok(vec![]),
        RequestStatus::Approved | RequestStatus::Provisioning => check_not_cancelled(&req)?,
        other => return Err(Error::Conflict(format!("request is {other}, not approved"))),
    }
    let now = p.clock.now();
    // A duration over the bound (a record stored before intake enforced it) fails the request for good: the
    // state machine's Catch releases the seat and closes it as FAILED.
    let expires_at = match req.duration_hours {
        Some(h) if h > time::MAX_DURATION_HOURS => {
            return Err(Error::validation(
                "durationHours",
                format!("at most {} hours", time::MAX_DURATION_HOURS),
            ));
        }
        Some(h) => Some(time::plus(now, time::hours(h, "expiry")?, "expiry")?),
        None => None,
    };
    update_request(p, request_id, SYSTEM, "request.provisioning", |r| {
        check_not_cancelled(r)?;
        if r.status != RequestStatus::Provisioning {
            r.transition(RequestStatus::Provisioning, SYSTEM, "provisioning", now);
        }
        Ok(())
    })
    .await?;
    let it = pinned_item(p, &req).await?;
    let via_bundle = it.is_bundle().then(|| it.item_id.clone());

    let mut granted: Vec<(CatalogItem, Grant, Value)> = Vec::new();
    let mut kept: Vec<CatalogItem> = Vec::new();
    for t in targets(p, &it).await? {
        let holding = active_holding(p, &req.beneficiary_id, &t.item_id).await?;
        if holding.is_some() {
            kept.push(t); // already delivered; this request becomes one more source
            continue;
        }
        let grant = Grant::new(request_id, &req.beneficiary_id, &t.item_id, expires_at);
        match p.connectors.grant(&t.connector, &grant).await {
            Ok(reference) => granted.push((t, grant, reference)),
            Err(e) => {
                for (done, g, reference) in &granted {
                    if let Err(undo) = p
                        .connectors
                        .revoke(&done.connector, g, Some(reference))
                        .await
                    {
                        tracing::error!(request = %request_id, item = %done.item_id, error = %undo, "compensating revoke failed");
                    }
                }
                return Err(e);
            }
        }
    }

    let mut ids = Vec::new();
    let source = GrantSource {
        request_id: request_id.to_string(),
        via_bundle,
        granted_at: now,
        expires_at,
    };
    let fresh = granted
        .into_iter()
        .map(|(t, _, reference)| (t, Some(reference)));
    for (t, reference) in fresh.chain(kept.into_iter().map(|t| (t, None))) {
        let (a, added) = record_grant(p, &req.beneficiary_id, &t, &source, reference).await?;
        if added {
            publish(
                p,
                event_types::ACCESS_PROVISIONED,
                json!({"requestId": request_id, "assignmentId": a.assignment_id, "itemId": t.item_id, "expiresAt": a.expires_at}),
            )
            .await?;
        }
        ids.push(a.assignment_id);
    }
    Ok(ids)
}

/// Adds `source` to the holder's assignment of `t`, creating or re-activating it. Returns whether the source
/// is new: a redelivered step changes nothing and announces nothing.
async fn record_grant(
    p: &Ports,
    holder: &str,
    t: &CatalogItem,
    source: &GrantSource,
    reference: Option<Value>,
) -> Result<(Assignment, bool)> {
    let id = Assignment::id_for(holder, &t.item_id);
    for _ in 0..super::MAX_CONFLICT_RETRIES {
        let mut a = match p.assignments.get(&id).await? {
            Some(a) if a.status == AssignmentStatus::Active => a,
            // Granted anew after it ended: a fresh holding under the same record (and its version).
            Some(old) => Assignment {
                version: old.version,
                ..Assignment::new(holder, &t.item_id, source.granted_at)
            },
            None => Assignment::new(holder, &t.item_id, source.granted_at),
        };
        let before = json!({"status": a.status, "sources": a.sources.len()});
        let added = !a.sources.iter().any(|s| s.request_id == source.request_id);
        if !added && reference.is_none() {
            return Ok((a, false));
        }
        if added {
            a.sources.push(source.clone());
        }
        if reference.is_some() {
            // This request's grant created the entitlement: revoke must name the same grant.
            a.connector_ref = reference.clone();
            a.granted_by = Some(source.request_id.clone());
        }
        a.recompute_expiry();
        match p.assignments.save(&mut a).await {
            Ok(()) => {
                let after = json!({"status": a.status, "sources": a.sources.len(), "expiresAt": a.expires_at});
                audit(p, SYSTEM, "assignment.granted", &id, before, after, None).await?;
                return Ok((a, added));
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "assignment {id} is changing concurrently"
    )))
}

/// Turns the request's reserved seats into assigned ones held by the new holdings, then closes the request as
/// FULFILLED. A holding that already occupies a seat keeps it, and this request's spare seat is freed.
pub async fn commit(p: &Ports, request_id: &str) -> Result<()> {
    let req = request(p, request_id).await?;
    for seat in p.licenses.seats(request_id).await? {
        if seat.state != SeatState::Reserved {
            continue;
        }
        let pool = p
            .licenses
            .get_pool(&seat.pool_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("pool {}", seat.pool_id)))?;
        let id = Assignment::id_for(&req.beneficiary_id, &pool.item_id);
        let mut holding = p
            .assignments
            .get(&id)
            .await?
            .filter(|a| a.status == AssignmentStatus::Active);
        match holding.as_mut() {
            Some(a) if a.seat_request_id.is_none() => {
                p.licenses.assign(request_id, &seat.pool_id).await?;
                a.pool_id = Some(seat.pool_id.clone());
                a.seat_request_id = Some(request_id.to_string());
                p.assignments.save(a).await?;
            }
            _ => p.licenses.release(request_id, &seat.pool_id).await?,
        }
    }
    let now = p.clock.now();
    let (req, newly) = update_request(p, request_id, SYSTEM, "request.fulfilled", |r| {
        let newly = r.status != RequestStatus::Fulfilled;
        if newly {
            r.transition(RequestStatus::Fulfilled, SYSTEM, "fulfilled", now);
        }
        Ok(newly)
    })
    .await?;
    if newly {
        publish(
            p,
            event_types::REQUEST_FULFILLED,
            json!({"requestId": request_id, "itemId": req.item_id}),
        )
        .await?;
    }
    Ok(())
}

/// Input of the closing step on every unhappy path: the error the state machine caught.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Close {
    pub request_id: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// The terminal status an error name leads to.
fn terminal_status(error: &str) -> RequestStatus {
    match error {
        e if e == errors::REJECTED
            || e == errors::NOT_ELIGIBLE
            || e == errors::SEAT_UNAVAILABLE
            || e == errors::NO_APPROVER =>
        {
            RequestStatus::Rejected
        }
        e if e == errors::CANCELLED => RequestStatus::Cancelled,
        e if e == errors::EXPIRED => RequestStatus::Expired,
        "States.Timeout" => RequestStatus::Expired,
        _ => RequestStatus::Failed,
    }
}

/// Lambda reports a function error's cause as `{"errorMessage": ..., "errorType": ...}`; people want the message.
fn readable_cause(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

/// Releases what the request still reserves, closes open approvals and sets the terminal status from the caught
/// error. A status already terminal (e.g. cancelled by the requester) is kept.
pub async fn close(p: &Ports, input: &Close) -> Result<RequestStatus> {
    for seat in p.licenses.seats(&input.request_id).await? {
        if seat.state == SeatState::Reserved {
            p.licenses.release(&input.request_id, &seat.pool_id).await?;
        }
    }
    let error = input
        .error
        .clone()
        .unwrap_or_else(|| errors::INTERNAL.to_string());
    let status = terminal_status(&error);
    let reason = readable_cause(input.cause.as_deref().unwrap_or("no cause given"));
    super::approvals::close_open_tasks(p, &input.request_id, ApprovalStatus::Expired, None).await?;
    let now = p.clock.now();
    let (req, newly) = update_request(p, &input.request_id, SYSTEM, "request.closed", |r| {
        if r.status.is_terminal() {
            return Ok(false);
        }
        for s in r
            .stages
            .iter_mut()
            .filter(|s| matches!(s.status, StageStatus::Open | StageStatus::Waiting))
        {
            s.status = if status == RequestStatus::Expired {
                StageStatus::Expired
            } else {
                StageStatus::Cancelled
            };
        }
        r.outcome = Some(Outcome {
            error: error.clone(),
            reason: reason.clone(),
        });
        r.transition(status, SYSTEM, reason.clone(), now);
        Ok(true)
    })
    .await?;
    if newly {
        let detail_type = match status {
            RequestStatus::Rejected => event_types::REQUEST_REJECTED,
            RequestStatus::Cancelled => event_types::REQUEST_CANCELLED,
            RequestStatus::Expired => event_types::REQUEST_EXPIRED,
            _ => event_types::REQUEST_FAILED,
        };
        publish(
            p,
            detail_type,
            json!({"requestId": input.request_id, "error": error}),
        )
        .await?;
    }
    Ok(req.status)
}

/// Input of the deprovision state machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deprovision {
    pub assignment_id: String,
    /// The source to remove; None removes every source (leaver, orphan, expiry).
    #[serde(default)]
    pub request_id: Option<String>,
    pub reason: AssignmentStatus,
}

/// Removes a source from a holding; when none is left, revokes through the connector, frees the seat and closes
/// the holding with `reason`.
pub async fn deprovision(p: &Ports, input: &Deprovision) -> Result<Assignment> {
    let id = &input.assignment_id;
    let mut a = p
        .assignments
        .get(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("assignment {id}")))?;
    if a.status != AssignmentStatus::Active {
        return Ok(a);
    }
    let before = json!({"status": a.status, "sources": a.sources.len()});
    match &input.request_id {
        Some(source) => a.sources.retain(|s| &s.request_id != source),
        None => a.sources.clear(),
    }
    a.recompute_expiry();
    if !a.sources.is_empty() {
        p.assignments.save(&mut a).await?;
        audit(
            p,
            SYSTEM,
            "assignment.source_removed",
            id,
            before,
            json!({"status": a.status, "sources": a.sources.len()}),
            None,
        )
        .await?;
        return Ok(a);
    }
    // Persist the emptied sources first, so a retry after a failed revoke still revokes.
    p.assignments.save(&mut a).await?;
    let it = item(p, &a.item_id).await?;
    let granted_by = a
        .granted_by
        .as_deref()
        .or(a.seat_request_id.as_deref())
        .unwrap_or_default();
    let grant = Grant::new(granted_by, &a.holder_id, &a.item_id, a.expires_at);
    p.connectors
        .revoke(&it.connector, &grant, a.connector_ref.as_ref())
        .await?;
    if let (Some(pool), Some(seat_request)) = (&a.pool_id, &a.seat_request_id) {
        p.licenses.release(seat_request, pool).await?;
    }
    a.status = input.reason;
    a.ended_at = Some(p.clock.now());
    p.assignments.save(&mut a).await?;
    audit(
        p,
        SYSTEM,
        "assignment.ended",
        id,
        before,
        json!({"status": a.status}),
        None,
    )
    .await?;
    publish(
        p,
        event_types::ACCESS_REVOKED,
        json!({"assignmentId": id, "itemId": a.item_id, "reason": a.status}),
    )
    .await?;
    Ok(a)
}
