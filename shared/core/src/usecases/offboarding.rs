//! A leaver's offboarding, step by step as statemachines/offboarding.asl.json runs it:
//!
//! 1. [`check_leaver`]: only a terminated identity is offboarded (a rehire must not lose their access).
//! 2. [`cancel_requests`]: the leaver's open requests end CANCELLED; those already being fulfilled are flagged
//!    so fulfilment stops at its next step, and the state machine waits for them to settle.
//! 3. [`reassign_approvals`]: approvals waiting for the leaver go to their manager (else the item's fallback
//!    group, else its owner), through [`approvals::reassign`].
//! 4. [`list_holdings`]: the active holdings to revoke (the Map state sends each to the deprovisioning step).
//! 5. [`request_device_returns`]: a return task for every device the leaver holds, before revocation, so a
//!    device comes back even when its revocation fails.
//! 6. [`report`]: `RevocationFailed` per holding that could not be revoked, `OffboardingCompleted` with the
//!    counts, and whether anything is left undone (the execution then fails, which raises the alarm).
//!
//! Every step is safe to repeat (Lambda and Step Functions retry it, an operator may re-run the execution): it
//! works from the stored state and changes only what is not yet done.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::approvals::{self, Reassignment};
use super::{audit, identity, publish, update_request};
use crate::model::*;
use crate::names::{errors, event_types};
use crate::ports::{Claim, Ports, StoredResponse};
use crate::{Error, Result};

const SYSTEM: &str = "provisio";
/// The timeline note of a request cancelled because its beneficiary left; a retry recognises its own work by it.
pub const LEAVER_NOTE: &str = "cancelled: the beneficiary left the organisation";
/// How long a device-return request is remembered, so re-runs of the same offboarding do not repeat it.
const DEVICE_RETURN_RETENTION: Duration = Duration::days(30);
/// How long one attempt may hold a device-return claim before a retry may take over.
const DEVICE_RETURN_IN_PROGRESS: Duration = Duration::seconds(10);

/// Input of every step but the report: who leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Leaver {
    pub employee_id: String,
}

/// Fails (`Forbidden`, not retried) unless `employee_id` is terminated: offboarding someone still (or again) employed is a mistake that
/// must stop the execution rather than take their access away.
pub async fn check_leaver(p: &Ports, employee_id: &str) -> Result<Identity> {
    let who = identity(p, employee_id).await?;
    if who.status != IdentityStatus::Terminated {
        return Err(Error::Forbidden(format!(
            "{employee_id} is not terminated: offboarding refused"
        )));
    }
    Ok(who)
}

/// What [`cancel_requests`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestsOutcome {
    /// Requests this call cancelled (a repeat counts none twice).
    pub cancelled: u32,
    /// Requests already approved or being provisioned: flagged to stop, but not terminal yet.
    pub in_flight: Vec<String>,
    /// No request of the leaver is in flight: holdings can be listed without missing one about to land.
    pub settled: bool,
}

/// Whether offboarding cancelled this request (and so also owns closing its approval tasks).
fn cancelled_by_offboarding(req: &Request) -> bool {
    req.status == RequestStatus::Cancelled
        && req
            .timeline
            .last()
            .is_some_and(|t| t.actor == SYSTEM && t.note == LEAVER_NOTE)
}

enum Cancel {
    Cancelled,
    InFlight,
    /// Terminal by the time we looked again.
    Ended,
}

/// Ends the requests whose beneficiary is the leaver (their own, or made for them). Requests the leaver made
/// for someone else stand: that person still needs the item. A request not yet approved is cancelled like
/// `requests::cancel` does (open approval tasks closed, which fails the waiting task token so fulfilment
/// releases the reserved seat). One already APPROVED or PROVISIONING cannot be taken back here: it is flagged
/// `cancelRequested`, which stops fulfilment at its next step (it then ends CANCELLED and releases its seat),
/// and is reported in flight until it is terminal.
pub async fn cancel_requests(p: &Ports, employee_id: &str) -> Result<RequestsOutcome> {
    let mut out = RequestsOutcome::default();
    for req in p.requests.list_for(employee_id).await? {
        if req.beneficiary_id != employee_id {
            continue;
        }
        let in_flight = matches!(
            req.status,
            RequestStatus::Approved | RequestStatus::Provisioning
        );
        if req.status.is_terminal() || (in_flight && req.cancel_requested) {
            if cancelled_by_offboarding(&req) {
                // A retry after a failure between cancelling and closing: close what is still open.
                close_tasks(p, &req.request_id).await?;
            }
            if in_flight {
                out.in_flight.push(req.request_id);
            }
            continue;
        }
        let now = p.clock.now();
        let action = if in_flight {
            "request.cancel_requested"
        } else {
            "request.cancelled"
        };
        let (_, what) =
            update_request(p, &req.request_id, SYSTEM, action, |r| {
                Ok(match r.status {
                    s if s.is_terminal() => Cancel::Ended,
                    RequestStatus::Approved | RequestStatus::Provisioning => {
                        r.cancel_requested = true;
                        Cancel::InFlight
                    }
                    _ => {
                        r.cancel_requested = true;
                        r.outcome = Some(Outcome {
                            error: errors::CANCELLED.into(),
                            reason: LEAVER_NOTE.into(),
                        });
                        for stage in r.stages.iter_mut().filter(|s| {
                            matches!(s.status, StageStatus::Open | StageStatus::Waiting)
                        }) {
                            stage.status = StageStatus::Cancelled;
                        }
                        r.transition(RequestStatus::Cancelled, SYSTEM, LEAVER_NOTE, now);
                        Cancel::Cancelled
                    }
                })
            })
            .await?;
        match what {
            Cancel::Ended => {}
            Cancel::InFlight => out.in_flight.push(req.request_id),
            Cancel::Cancelled => {
                close_tasks(p, &req.request_id).await?;
                publish(
                    p,
                    event_types::REQUEST_CANCELLED,
                    json!({"requestId": req.request_id, "reason": "beneficiaryLeft"}),
                )
                .await?;
                out.cancelled += 1;
            }
        }
    }
    out.settled = out.in_flight.is_empty();
    Ok(out)
}

async fn close_tasks(p: &Ports, request_id: &str) -> Result<()> {
    approvals::close_open_tasks(
        p,
        request_id,
        ApprovalStatus::Cancelled,
        Some(errors::CANCELLED),
    )
    .await
}

/// Hands the approvals waiting for the leaver to their manager (see [`approvals::reassign`] for the fallbacks
/// when there is none, or the manager may not decide a request).
pub async fn reassign_approvals(p: &Ports, employee_id: &str) -> Result<Reassignment> {
    // An identity already gone from the store has no manager to hand over to; the fallbacks still apply.
    let manager = p
        .identities
        .get(employee_id)
        .await?
        .and_then(|i| i.manager_id);
    approvals::reassign(p, employee_id, manager.as_deref(), None).await
}

/// One holding to revoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldingRef {
    pub assignment_id: String,
    pub item_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holdings {
    pub items: Vec<HoldingRef>,
}

/// The leaver's active holdings. Checks the leaver again: this is the last step before access is taken away.
pub async fn list_holdings(p: &Ports, employee_id: &str) -> Result<Holdings> {
    check_leaver(p, employee_id).await?;
    let items = p
        .assignments
        .list_by_holder(employee_id)
        .await?
        .into_iter()
        .filter(|a| a.status == AssignmentStatus::Active)
        .map(|a| HoldingRef {
            assignment_id: a.assignment_id,
            item_id: a.item_id,
        })
        .collect();
    Ok(Holdings { items })
}

/// What [`request_device_returns`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceReturns {
    /// Holdings a return was requested for by this call.
    pub requested: Vec<String>,
    /// Device holdings whose return an earlier attempt already requested.
    pub already_requested: u32,
}

/// Opens a device-return task for every active holding of a `device` item: the `DeviceReturnRequested` event
/// (ids only; IT's tooling picks it up) and an audit entry. Each holding's return is requested once per time it
/// was granted, remembered in the idempotency store, so retries and re-runs do not repeat it.
pub async fn request_device_returns(p: &Ports, employee_id: &str) -> Result<DeviceReturns> {
    let mut out = DeviceReturns::default();
    for a in p.assignments.list_by_holder(employee_id).await? {
        if a.status != AssignmentStatus::Active {
            continue;
        }
        let Some(item) = p.catalog.get(&a.item_id).await? else {
            // Its revocation fails on the missing item too, and the report names it.
            tracing::warn!(assignment = %a.assignment_id, "holding of an unknown catalog item");
            continue;
        };
        if item.category != Category::Device {
            continue;
        }
        if request_device_return(p, &a).await? {
            out.requested.push(a.assignment_id);
        } else {
            out.already_requested += 1;
        }
    }
    Ok(out)
}

/// Requests the return of the device `a` stands for, unless already requested for this grant of it. Returns
/// whether this call requested it.
pub async fn request_device_return(p: &Ports, a: &Assignment) -> Result<bool> {
    // No '#' in the key: HTTP idempotency keys are "<caller>#<key>", so the two never collide.
    let key = format!(
        "device-return:{}:{}",
        a.assignment_id,
        a.granted_at.timestamp_millis()
    );
    let now = p.clock.now();
    let fingerprint = "device-return";
    match p
        .idempotency
        .claim(
            &key,
            fingerprint,
            now,
            time::plus(now, DEVICE_RETURN_IN_PROGRESS, "device return claim")?,
        )
        .await?
    {
        Claim::Completed(_) => return Ok(false),
        Claim::InProgress => {
            return Err(Error::Conflict(format!(
                "the return of {} is being requested right now",
                a.assignment_id
            )));
        }
        Claim::Mismatch => {
            return Err(Error::Internal(format!(
                "idempotency key {key} is used by something else"
            )));
        }
        Claim::Acquired => {}
    }
    let done = async {
        audit(
            p,
            SYSTEM,
            "device.return_requested",
            &a.assignment_id,
            Value::Null,
            json!({"holderId": a.holder_id, "itemId": a.item_id}),
            None,
        )
        .await?;
        publish(
            p,
            event_types::DEVICE_RETURN_REQUESTED,
            json!({"assignmentId": a.assignment_id, "holderId": a.holder_id, "itemId": a.item_id}),
        )
        .await
    }
    .await;
    match done {
        Ok(()) => {
            let response = StoredResponse {
                status: 200,
                body: json!({"assignmentId": a.assignment_id}),
            };
            p.idempotency
                .complete(
                    &key,
                    response,
                    time::plus(
                        p.clock.now(),
                        DEVICE_RETURN_RETENTION,
                        "device return retention",
                    )?,
                )
                .await?;
            Ok(true)
        }
        Err(e) => {
            p.idempotency.abandon(&key).await?;
            Err(e)
        }
    }
}

/// What the Map state made of one holding: the deprovisioning step's output (`status`), or the error its Catch
/// recorded (`failure`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationResult {
    pub assignment_id: String,
    #[serde(default)]
    pub status: Option<AssignmentStatus>,
    #[serde(default)]
    pub failure: Option<CaughtError>,
}

/// An error a Catch recorded (`ResultPath`), as Step Functions shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// Input of the report step: what every earlier step returned (null when it failed) and the errors caught.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    pub employee_id: String,
    #[serde(default)]
    pub requests: Option<RequestsOutcome>,
    #[serde(default)]
    pub approvals: Option<Reassignment>,
    #[serde(default)]
    pub holdings: Option<Holdings>,
    #[serde(default)]
    pub devices: Option<DeviceReturns>,
    #[serde(default)]
    pub revocations: Vec<RevocationResult>,
    /// Step name → the error that step ended with.
    #[serde(default)]
    pub failures: BTreeMap<String, CaughtError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Nothing is left undone; false makes the execution fail.
    pub complete: bool,
    /// One line for operators (the failed execution's cause): ids and error names only.
    pub summary: String,
}

/// Publishes the outcome (`RevocationFailed` per holding that could not be revoked, then `OffboardingCompleted`
/// with the counts, in one batch) and records it in the audit trail. Whatever the steps reported, it looks at
/// the store again: a holding still active (a revocation failed, or a grant landed after the listing) or a
/// request still in flight means the offboarding is incomplete.
pub async fn report(p: &Ports, input: &ReportInput) -> Result<Report> {
    let leaver = input.employee_id.as_str();
    let active: Vec<Assignment> = p
        .assignments
        .list_by_holder(leaver)
        .await?
        .into_iter()
        .filter(|a| a.status == AssignmentStatus::Active)
        .collect();
    let still_active: BTreeSet<&str> = active.iter().map(|a| a.assignment_id.as_str()).collect();
    // A caught error whose holding ended anyway (e.g. a Lambda timeout after the revoke went through) is no
    // failure: only what is still active is.
    let failed: Vec<&RevocationResult> = input
        .revocations
        .iter()
        .filter(|r| r.failure.is_some() && still_active.contains(r.assignment_id.as_str()))
        .collect();
    let revoked = input.revocations.len() - failed.len();
    let failed_ids: BTreeSet<&str> = failed.iter().map(|r| r.assignment_id.as_str()).collect();
    let appeared: Vec<&str> = active
        .iter()
        .map(|a| a.assignment_id.as_str())
        .filter(|id| !failed_ids.contains(id))
        .collect();
    let mut in_flight = Vec::new();
    for id in input.requests.iter().flat_map(|r| &r.in_flight) {
        if p.requests
            .get(id)
            .await?
            .is_some_and(|r| !r.status.is_terminal())
        {
            in_flight.push(id.as_str());
        }
    }
    let requests = input.requests.clone().unwrap_or_default();
    let approvals = input.approvals.clone().unwrap_or_default();
    let devices = input.devices.clone().unwrap_or_default();
    let listed = input.holdings.as_ref().map_or(0, |h| h.items.len());
    let steps_failed: Vec<&str> = input.failures.keys().map(String::as_str).collect();
    let complete = failed.is_empty()
        && appeared.is_empty()
        && in_flight.is_empty()
        && input.failures.is_empty();

    let counts = json!({
        "employeeId": leaver,
        "complete": complete,
        "holdings": listed,
        "revoked": revoked,
        "revocationsFailed": failed.len(),
        "holdingsRemaining": active.len(),
        "requestsCancelled": requests.cancelled,
        "requestsInFlight": in_flight.len(),
        "approvalsReassigned": approvals.reassigned,
        "approvalsUnassigned": approvals.unassigned.len(),
        "deviceReturnsRequested": devices.requested.len(),
        "stepsFailed": steps_failed,
    });
    let items: BTreeMap<&str, &str> = input
        .holdings
        .iter()
        .flat_map(|h| &h.items)
        .map(|h| (h.assignment_id.as_str(), h.item_id.as_str()))
        .chain(
            active
                .iter()
                .map(|a| (a.assignment_id.as_str(), a.item_id.as_str())),
        )
        .collect();
    let mut events: Vec<DomainEvent> = failed
        .iter()
        .map(|r| {
            DomainEvent::new(
                event_types::REVOCATION_FAILED,
                json!({"employeeId": leaver, "assignmentId": r.assignment_id,
                       "itemId": items.get(r.assignment_id.as_str()),
                       "error": r.failure.as_ref().map(|f| &f.error)}),
            )
        })
        .collect();
    events.push(DomainEvent::new(
        event_types::OFFBOARDING_COMPLETED,
        counts.clone(),
    ));
    audit(
        p,
        SYSTEM,
        if complete {
            "offboarding.completed"
        } else {
            "offboarding.incomplete"
        },
        leaver,
        Value::Null,
        counts,
        None,
    )
    .await?;
    p.events.publish(events).await?;

    let summary = if complete {
        format!(
            "offboarding of {leaver} complete: {revoked} holdings revoked, {} requests cancelled, {} approvals \
             reassigned, {} device returns requested",
            requests.cancelled,
            approvals.reassigned,
            devices.requested.len()
        )
    } else {
        let mut parts = Vec::new();
        if !failed.is_empty() {
            let which: Vec<String> = failed
                .iter()
                .map(|r| {
                    format!(
                        "{} ({})",
                        r.assignment_id,
                        r.failure.as_ref().map_or("", |f| f.error.as_str())
                    )
                })
                .collect();
            parts.push(format!(
                "{} of {} holdings not revoked: {}",
                failed.len(),
                input.revocations.len(),
                which.join(", ")
            ));
        }
        if !appeared.is_empty() {
            parts.push(format!(
                "holdings granted during offboarding still active: {}",
                appeared.join(", ")
            ));
        }
        if !in_flight.is_empty() {
            parts.push(format!(
                "requests still being fulfilled: {}",
                in_flight.join(", ")
            ));
        }
        for (step, e) in &input.failures {
            parts.push(format!("step {step} failed ({})", e.error));
        }
        format!(
            "offboarding of {leaver} incomplete: {}; re-run it once the cause is fixed",
            parts.join("; ")
        )
    };
    if !complete {
        tracing::error!(employee = leaver, %summary, "offboarding incomplete");
    }
    Ok(Report { complete, summary })
}
