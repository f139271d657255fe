//! Access follows people: what a change of an identity (an HR event or a SCIM write) means for what they hold.
//!
//! A change is stored first, marked as settling together with the identity as it was before; then its
//! consequences run (birthright requests, re-evaluation of holdings, re-routed approvals, offboarding); then it is
//! marked settled. Every consequence is idempotent, so a redelivered change whose consequences failed half-way
//! resumes from the same starting point, and a settled one is a no-op. An older change than the last applied
//! one never overwrites it.

use serde_json::{Value, json};

use super::assignments::execution_name;
use super::{audit, publish};
use crate::model::*;
use crate::names::event_types;
use crate::policy::{self, Facts};
use crate::ports::Ports;
use crate::{Error, Result};

/// How long a mover keeps access that no longer fits, unless configured otherwise.
pub const DEFAULT_MOVER_GRACE_HOURS: u32 = 7 * 24;

/// Why a scheduled revocation is there; a mover who becomes eligible again keeps the holding.
pub const NO_LONGER_ELIGIBLE: &str = "no longer eligible after a move";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// How long a mover keeps a holding they are no longer eligible for, after a notice.
    pub mover_grace: chrono::Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            mover_grace: chrono::Duration::hours(DEFAULT_MOVER_GRACE_HOURS.into()),
        }
    }
}

/// What became of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Stored, and its consequences are done.
    Applied(Identity),
    /// This change was applied before: nothing done again.
    Duplicate(Identity),
    /// A newer change was applied already: this one is ignored.
    Stale(Identity),
}

impl Applied {
    pub fn identity(&self) -> &Identity {
        match self {
            Applied::Applied(i) | Applied::Duplicate(i) | Applied::Stale(i) => i,
        }
    }
}

/// One change of an identity, identified for idempotency and ordered by when it happened.
pub struct Change<'a> {
    pub employee_id: &'a str,
    /// Unique per change (the HR event id, or one per SCIM write).
    pub change_id: &'a str,
    pub occurred_at: Timestamp,
    /// Who made it, for the audit trail: "hr" or "scim".
    pub source: &'a str,
}

/// Applies `change`: `update` turns the stored identity (None: unknown) into the new one; then joiner, mover,
/// leaver and leave consequences follow from the difference. Safe to repeat: a redelivery of a change whose
/// consequences failed resumes them; a settled one is a `Duplicate`.
pub async fn apply(
    p: &Ports,
    settings: &LifecycleSettings,
    change: Change<'_>,
    update: impl FnOnce(Option<&Identity>) -> Result<Identity> + Send,
) -> Result<Applied> {
    let stored = p.identities.get(change.employee_id).await?;
    let last = stored.as_ref().and_then(|s| s.last_change.clone());
    let (before, mut after) = match (&stored, last) {
        (Some(s), Some(last)) if last.change_id == change.change_id => match last.settling_from {
            None => return Ok(Applied::Duplicate(s.clone())),
            // Stored earlier, consequences not all done: resume from where the change started.
            Some(previous) => (previous.identity, s.clone()),
        },
        (Some(s), Some(last)) if last.occurred_at > change.occurred_at => {
            return Ok(Applied::Stale(s.clone()));
        }
        _ => {
            if let Some(unsettled) = stored
                .as_ref()
                .and_then(|s| s.last_change.as_ref())
                .filter(|l| l.settling_from.is_some())
            {
                // Its delivery gave up (dead-letter queue); this newer change takes over from the stored state.
                tracing::warn!(change = %unsettled.change_id, "superseding a change that never settled");
            }
            let mut after = update(stored.as_ref())?;
            if after.employee_id != change.employee_id {
                return Err(Error::validation(
                    "employeeId",
                    "a change cannot rename an employee",
                ));
            }
            let before = stored.map(|mut s| {
                s.last_change = None;
                s
            });
            after.last_change = Some(AppliedChange {
                change_id: change.change_id.to_string(),
                occurred_at: change.occurred_at,
                settling_from: Some(Box::new(Previous {
                    identity: before.clone(),
                })),
            });
            p.identities.put(after.clone()).await?;
            audit(
                p,
                change.source,
                "identity.changed",
                change.employee_id,
                before.as_ref().map(summary).unwrap_or(Value::Null),
                summary(&after),
                Some(change.change_id.to_string()),
            )
            .await?;
            (before, after)
        }
    };
    consequences(p, settings, &change, before.as_ref(), &after).await?;
    if let Some(last) = after.last_change.as_mut() {
        last.settling_from = None;
    }
    p.identities.put(after.clone()).await?;
    Ok(Applied::Applied(after))
}

/// What the audit trail keeps of an identity: status and the attributes rules look at, never names or emails.
fn summary(i: &Identity) -> Value {
    json!({
        "status": i.status,
        "department": i.department,
        "jobTitle": i.job_title,
        "location": i.location,
        "costCenter": i.cost_center,
        "managerId": i.manager_id,
        "employmentType": i.employment_type,
    })
}

/// Whether anything eligibility or routing rules may look at changed.
fn moved(before: &Identity, after: &Identity) -> bool {
    summary(before) != summary(after) || before.groups != after.groups
}

async fn consequences(
    p: &Ports,
    settings: &LifecycleSettings,
    change: &Change<'_>,
    before: Option<&Identity>,
    after: &Identity,
) -> Result<()> {
    let id = after.employee_id.as_str();
    let was = before.map(|b| b.status);
    let terminated = IdentityStatus::Terminated;
    if after.status == terminated {
        if was.is_some_and(|s| s != terminated) {
            end_delegations_to(p, id, change.occurred_at).await?;
            let name = execution_name("offboard", &[id, change.change_id]);
            p.workflow
                .start_offboarding(&name, json!({"employeeId": id}))
                .await?;
            publish(p, event_types::EMPLOYEE_LEFT, json!({"employeeId": id})).await?;
        }
        return Ok(());
    }
    let joined = was.is_none_or(|s| s == terminated);
    let moved = before.is_some_and(|b| !joined && moved(b, after));
    if joined {
        publish(p, event_types::EMPLOYEE_JOINED, json!({"employeeId": id})).await?;
    }
    if moved {
        publish(p, event_types::EMPLOYEE_MOVED, json!({"employeeId": id})).await?;
        reevaluate_holdings(p, settings, after).await?;
    }
    if joined || moved {
        grant_birthright(p, after, change.change_id).await?;
    }
    if let Some(b) = before.filter(|_| !joined) {
        if b.manager_id != after.manager_id {
            reroute_approvals(p, b, after).await?;
        }
        match (b.status, after.status) {
            (IdentityStatus::OnLeave, IdentityStatus::OnLeave) => {}
            (_, IdentityStatus::OnLeave) => {
                publish(p, event_types::LEAVE_STARTED, json!({"employeeId": id})).await?;
            }
            (IdentityStatus::OnLeave, _) => {
                publish(p, event_types::LEAVE_ENDED, json!({"employeeId": id})).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Requests, on the person's behalf, every item whose `birthright` rule holds for them and that they neither
/// hold nor have asked for. Such requests travel the normal fulfilment path, so the item's approval policy
/// applies. An item the person is not eligible for is skipped (and logged), not an error of the change.
async fn grant_birthright(p: &Ports, who: &Identity, cause: &str) -> Result<()> {
    let id = &who.employee_id;
    let mut held: Vec<String> = p
        .assignments
        .list_by_holder(id)
        .await?
        .into_iter()
        .filter(|a| a.status == AssignmentStatus::Active)
        .map(|a| a.item_id)
        .collect();
    held.extend(
        p.requests
            .list_for(id)
            .await?
            .into_iter()
            .filter(|r| r.beneficiary_id == *id && !r.status.is_terminal())
            .map(|r| r.item_id),
    );
    for item in p.catalog.list().await? {
        let Some(rule) = &item.birthright else {
            continue;
        };
        if held.contains(&item.item_id) || item.lifecycle == Lifecycle::Eol {
            continue;
        }
        match policy::holds(rule, &Facts::new(who, &item, Value::Null)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(item = %item.item_id, error = %e, "birthright rule failed to evaluate");
                continue;
            }
        }
        let item_id = item.item_id.clone();
        match super::requests::submit_birthright(p, who, item, cause).await {
            Ok(req) => held.push(req.item_id),
            Err(Error::NotEligible(_)) => {
                tracing::warn!(item = %item_id, "birthright item skipped: not eligible");
            }
            // Submitted by an earlier delivery of this change.
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Schedules the revocation (after the grace period, with a notice) of every active holding the mover no longer
/// fits, and withdraws a scheduled one for a holding that fits again.
async fn reevaluate_holdings(
    p: &Ports,
    settings: &LifecycleSettings,
    who: &Identity,
) -> Result<()> {
    let now = p.clock.now();
    for mut holding in p.assignments.list_by_holder(&who.employee_id).await? {
        if holding.status != AssignmentStatus::Active {
            continue;
        }
        let Some(item) = p.catalog.get(&holding.item_id).await? else {
            continue;
        };
        let fits = still_fits(p, who, &item, &holding).await?;
        let scheduled = holding.revocation.as_ref().map(|r| r.reason.as_str());
        let detail = json!({"assignmentId": holding.assignment_id, "itemId": holding.item_id, "holderId": who.employee_id});
        if !fits && scheduled.is_none() {
            let at = time::plus(now, settings.mover_grace, "mover grace")?;
            holding.revocation = Some(Revocation {
                at,
                reason: NO_LONGER_ELIGIBLE.into(),
            });
            p.assignments.save(&mut holding).await?;
            let mut detail = detail;
            detail["revokeAt"] = json!(at);
            publish(p, event_types::REVOCATION_SCHEDULED, detail).await?;
        } else if fits && scheduled == Some(NO_LONGER_ELIGIBLE) {
            holding.revocation = None;
            p.assignments.save(&mut holding).await?;
            publish(p, event_types::REVOCATION_CANCELLED, detail).await?;
        }
    }
    Ok(())
}

/// Whether a holding still fits its holder: the item's eligibility rules about the person hold (rules about the
/// original ask, `request.*`, are not re-judged), and a holding granted only as a birthright still matches the
/// item's birthright rule.
async fn still_fits(
    p: &Ports,
    who: &Identity,
    item: &CatalogItem,
    holding: &Assignment,
) -> Result<bool> {
    if !policy::person_reasons(item, who).is_empty() {
        return Ok(false);
    }
    let Some(rule) = &item.birthright else {
        return Ok(true);
    };
    let mut only_birthright = !holding.sources.is_empty();
    for source in &holding.sources {
        let by_system = p
            .requests
            .get(&source.request_id)
            .await?
            .is_some_and(|r| r.requester_id == Caller::system().employee_id);
        only_birthright &= by_system;
    }
    if !only_birthright {
        return Ok(true);
    }
    Ok(policy::holds(rule, &Facts::new(who, item, Value::Null)).unwrap_or(false))
}

/// A leaver stands in for nobody any more: delegate windows naming them end when they leave, so new approval
/// stages go to the absent approver's other stand-ins or managers instead (pending tasks are moved by the
/// offboarding).
async fn end_delegations_to(p: &Ports, leaver: &str, at: Timestamp) -> Result<()> {
    for mut who in p.identities.delegators_of(leaver).await? {
        let mut changed = false;
        for w in who
            .delegates
            .iter_mut()
            .filter(|w| w.delegate_id == leaver && w.until.is_none_or(|u| u > at))
        {
            w.until = Some(at.max(w.from));
            changed = true;
        }
        if changed {
            p.identities.put(who).await?;
        }
    }
    Ok(())
}

/// A new manager takes over the pending approvals of the person's own requests that wait on the old manager.
async fn reroute_approvals(p: &Ports, before: &Identity, after: &Identity) -> Result<()> {
    let (Some(old), Some(new)) = (&before.manager_id, &after.manager_id) else {
        return Ok(());
    };
    super::approvals::reassign(p, old, Some(new), Some(&after.employee_id))
        .await
        .map(|_| ())
}
