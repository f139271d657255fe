//! The daily compliance sweep.
//!
//! It ends access on time: every active holding past its `expiresAt` (EXPIRED) or past a scheduled revocation
//! such as a mover's grace period (REVOKED) is deprovisioned through the deprovision state machine (connector
//! revoke, seat released). Only due holdings are read (an index on the end of active holdings), and each gets a
//! deterministic execution name, so a re-run while a deprovision is still going starts nothing twice. An
//! extension moves `expiresAt` and with it the name, so an extended holding is never ended by an old schedule.
//!
//! Then it reports, as findings ([`super::findings`]): holdings that expire within the notice lead time (their
//! holders can still extend), licence pools with more holders than seats or under half used for 30 days,
//! holdings of end-of-life items with their replacement, and leavers' holdings that outlived their offboarding
//! (orphans), which it also revokes.
//!
//! It reclaims idle licences. A holding of an item with a reclamation policy that has not been used (no usage
//! signal, no grant) for the item's `idleDays` gets a notice: its `idle` finding opens, naming when it will be
//! revoked. Once `graceDays` have passed since the notice went out and the holding is still idle, it is revoked
//! (REVOKED) through the deprovision state machine, which frees the seat; its finding resolves when the holding
//! has ended. A usage signal meanwhile makes it no longer idle: its finding resolves, nothing is revoked.
//!
//! Last, access reviews past their due date are escalated or revoked, and finished campaigns closed
//! ([`super::reviews`]).

use std::collections::BTreeMap;

use chrono::Duration;
use serde::Serialize;
use serde_json::{Value, json};

use super::assignments::execution_name;
use super::findings::{FindingCounts, reconcile};
use super::fulfilment::Deprovision;
use super::reviews::{self, ReviewSweep};
use super::sweep_result;
use crate::model::{
    Assignment, AssignmentStatus, Finding, FindingKind, FindingStatus, Lifecycle, Timestamp, time,
};
use crate::ports::Ports;
use crate::{Error, Result};

/// Default lead time of expiry notices: a week, so a holder back from a week off can still extend.
pub const DEFAULT_EXPIRY_NOTICE_HOURS: u32 = 7 * 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplianceSettings {
    /// How long before `expiresAt` a holder is told their access ends.
    pub expiry_notice: Duration,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        Self {
            expiry_notice: Duration::hours(DEFAULT_EXPIRY_NOTICE_HOURS.into()),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    /// Holdings whose deprovisioning was started because they expired.
    pub expired: u32,
    /// Holdings whose revocation was started because a scheduled revocation (a mover's grace period) passed.
    pub revoked: u32,
    /// Idle holdings whose revocation was started because their grace period after the notice passed.
    pub reclaimed: u32,
    /// What each finding stream opened and resolved, by kind.
    pub findings: BTreeMap<FindingKind, FindingCounts>,
    /// Overdue access review tasks escalated or revoked, campaigns closed.
    pub reviews: ReviewSweep,
    /// Holdings whose deprovisioning or reclamation could not be started, and finding streams that could not be
    /// brought up to date (the sweep then fails as a whole); retried next run.
    pub failed: u32,
}

pub async fn sweep(p: &Ports, settings: &ComplianceSettings) -> Result<ComplianceReport> {
    let now = p.clock.now();
    let mut report = ComplianceReport::default();
    end_due_holdings(p, now, &mut report).await?;
    for part in observations(p, now, settings, &mut report).await {
        // One stream failing must not hold up the others.
        let streams = match part {
            Ok(streams) => streams,
            Err(e) => {
                tracing::warn!(error = %e, "finding streams not observed");
                report.failed += 1;
                continue;
            }
        };
        for (kind, observed) in streams {
            match reconcile(p, kind, observed).await {
                Ok(counts) => {
                    report.findings.insert(kind, counts);
                }
                Err(e) => {
                    tracing::warn!(kind = kind.as_str(), error = %e, "finding stream not brought up to date");
                    report.failed += 1;
                }
            }
        }
    }
    let mut reviews = ReviewSweep::default();
    if let Err(e) = reviews::sweep(p, &mut reviews, &mut report.failed).await {
        tracing::warn!(error = %e, "overdue reviews not read");
        report.failed += 1;
    }
    report.reviews = reviews;
    let failed = report.failed;
    sweep_result("compliance", report, failed)
}

async fn end_due_holdings(p: &Ports, now: Timestamp, report: &mut ComplianceReport) -> Result<()> {
    for holding in p.assignments.ending_by(now).await? {
        let Some((reason, at)) = ending(&holding, now) else {
            continue;
        };
        let cause = match reason {
            AssignmentStatus::Revoked => "revoke",
            _ => "expire",
        };
        match end(p, &holding.assignment_id, reason, cause, at).await {
            Ok(()) if reason == AssignmentStatus::Revoked => report.revoked += 1,
            Ok(()) => report.expired += 1,
            Err(e) => {
                tracing::warn!(assignment = %holding.assignment_id, error = %e, "ending not started");
                report.failed += 1;
            }
        }
    }
    Ok(())
}

/// Subject → detail: every subject on which a finding's condition holds now, with what a reader needs to act.
type Observed = BTreeMap<String, Value>;

/// What each finding stream observes now, by the part of the sweep that observes it (the licence part
/// observes two streams in one pass over the pools), or why a part could not tell. The idle part also reclaims
/// what is due, counted in `report`.
async fn observations(
    p: &Ports,
    now: Timestamp,
    settings: &ComplianceSettings,
    report: &mut ComplianceReport,
) -> Vec<Result<Vec<(FindingKind, Observed)>>> {
    vec![
        expiring(p, now, settings)
            .await
            .map(|o| vec![(FindingKind::Expiring, o)]),
        pool_usage(p).await.map(|(over, under)| {
            vec![
                (FindingKind::OverAllocation, over),
                (FindingKind::UnderUtilization, under),
            ]
        }),
        end_of_life(p)
            .await
            .map(|o| vec![(FindingKind::EndOfLife, o)]),
        revoke_orphans(p, now)
            .await
            .map(|o| vec![(FindingKind::Orphan, o)]),
        idle(p, now, report)
            .await
            .map(|o| vec![(FindingKind::Idle, o)]),
    ]
}

/// Holdings whose `expiresAt` falls within the notice lead time. Those already past it are being ended, and a
/// scheduled revocation had its own notice (`RevocationScheduled`).
async fn expiring(p: &Ports, now: Timestamp, settings: &ComplianceSettings) -> Result<Observed> {
    let mut observed = Observed::new();
    let horizon = time::plus(now, settings.expiry_notice, "expiry notice horizon")?;
    for a in p.assignments.ending_by(horizon).await? {
        // The index keys on the earlier of expiry and revocation: a mover's holding is due here for its
        // revocation while its expiry may lie far beyond the window.
        if let Some(at) = a.expires_at.filter(|at| *at > now && *at <= horizon) {
            observed.insert(
                a.assignment_id.clone(),
                json!({"assignmentId": a.assignment_id, "holderId": a.holder_id,
                       "itemId": a.item_id, "expiresAt": at}),
            );
        }
    }
    Ok(observed)
}

/// Pools with more holders than seats (over-allocation) and pools with under half their seats held or reserved
/// (under-utilization).
async fn pool_usage(p: &Ports) -> Result<(Observed, Observed)> {
    let (mut over, mut under) = (Observed::new(), Observed::new());
    for pool in p.licenses.pools().await? {
        // Holdings with a seat in this pool count, and so do seatless ones (granted before the item had a pool)
        // if this is the item's pool now; an item's old pool is not charged with holders of its new one.
        let current = p
            .catalog
            .get(&pool.item_id)
            .await?
            .and_then(|item| item.license_pool_id)
            .is_some_and(|id| id == pool.pool_id);
        let holders = p
            .assignments
            .active_of_item(&pool.item_id)
            .await?
            .into_iter()
            .filter(|a| match &a.pool_id {
                Some(id) => *id == pool.pool_id,
                None => current,
            })
            .count();
        let in_use = u64::try_from(holders)
            .unwrap_or(u64::MAX)
            .max(pool.assigned.into());
        let total = u64::from(pool.total);
        // Reserved seats are promised to requests in flight: not waste, but not held yet either.
        let committed = in_use + u64::from(pool.reserved);
        let detail = || {
            json!({"poolId": pool.pool_id, "itemId": pool.item_id, "total": pool.total,
                   "inUse": in_use, "reserved": pool.reserved, "denied": pool.denied})
        };
        if in_use > total {
            over.insert(pool.pool_id.clone(), detail());
        } else if committed * 2 < total {
            under.insert(pool.pool_id.clone(), detail());
        }
    }
    Ok((over, under))
}

/// Holdings of end-of-life items, with the replacement the catalog names.
async fn end_of_life(p: &Ports) -> Result<Observed> {
    let mut observed = Observed::new();
    for item in p.catalog.list().await? {
        if item.lifecycle != Lifecycle::Eol {
            continue;
        }
        for a in p.assignments.active_of_item(&item.item_id).await? {
            observed.insert(
                a.assignment_id.clone(),
                json!({"assignmentId": a.assignment_id, "holderId": a.holder_id,
                       "itemId": a.item_id, "replacementItemId": item.replacement_item_id}),
            );
        }
    }
    Ok(observed)
}

/// How long a leaver's offboarding has to revoke their access before what is left counts as orphaned.
const OFFBOARDING_GRACE_HOURS: i64 = 24;

/// How far back the sweep looks for leavers. Nothing is granted to a terminated identity (eligibility refuses
/// them), so access left after a termination dates from around it: a month of daily sweeps is ample, and the
/// read stays bounded by recent leavers however many people ever left.
const ORPHAN_LOOKBACK_DAYS: i64 = 30;

/// Active holdings of recent leavers whose offboarding has had its time: each is revoked through the deprovision
/// state machine (named from the holding and the termination, so re-runs start nothing twice) and reported
/// until it has ended. Holdings of unknown identities cannot arise: identities are never deleted, and grants
/// need a known beneficiary.
async fn revoke_orphans(p: &Ports, now: Timestamp) -> Result<Observed> {
    let mut observed = Observed::new();
    let since = time::minus(now, Duration::days(ORPHAN_LOOKBACK_DAYS), "orphan lookback")?;
    for leaver in p.identities.terminated_since(since).await? {
        let Some(left) = leaver
            .terminated_at()
            .filter(|at| now - *at >= Duration::hours(OFFBOARDING_GRACE_HOURS))
        else {
            continue;
        };
        for a in p.assignments.list_by_holder(&leaver.employee_id).await? {
            if a.status != AssignmentStatus::Active {
                continue;
            }
            end(
                p,
                &a.assignment_id,
                AssignmentStatus::Revoked,
                "orphan",
                left,
            )
            .await?;
            observed.insert(
                a.assignment_id.clone(),
                json!({"assignmentId": a.assignment_id, "holderId": a.holder_id,
                       "itemId": a.item_id, "terminatedAt": left}),
            );
        }
    }
    Ok(observed)
}

/// Idle holdings of items with a reclamation policy (one index query per such item), with when each is revoked:
/// `graceDays` after its notice (its open finding), or after this sweep's notice. Those whose notice went out
/// (the finding is open and its event published) and whose grace period has passed are revoked now; they stay
/// observed until they have ended, so their finding resolves only then.
async fn idle(p: &Ports, now: Timestamp, report: &mut ComplianceReport) -> Result<Observed> {
    let mut observed = Observed::new();
    for item in p.catalog.list().await? {
        let Some(policy) = item.reclamation else {
            continue;
        };
        // Days out of range (an item stored before admin checks bounded them) fail this item, not the sweep.
        let window = time::days(policy.idle_days, "reclamation.idleDays")
            .and_then(|d| time::minus(now, d, "reclamation.idleDays"));
        let grace = time::days(policy.grace_days, "reclamation.graceDays");
        let (cutoff, grace) = match (window, grace) {
            (Ok(cutoff), Ok(grace)) => (cutoff, grace),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(item = %item.item_id, error = %e, "reclamation policy out of range");
                report.failed += 1;
                continue;
            }
        };
        for a in p.assignments.idle_of_item(&item.item_id, cutoff).await? {
            let notice = p
                .findings
                .get(&Finding::id_for(FindingKind::Idle, &a.assignment_id))
                .await?
                .filter(|f| f.status == FindingStatus::Open);
            // Grace counts from the notice reaching the holder: this run, if it has not yet.
            let noticed_at = notice
                .as_ref()
                .filter(|f| f.published)
                .and_then(|f| f.opened_at)
                .unwrap_or(now);
            let Ok(revoke_at) = time::plus(noticed_at, grace, "reclamation.graceDays") else {
                tracing::warn!(assignment = %a.assignment_id, "reclamation grace out of range");
                report.failed += 1;
                continue;
            };
            // Never revoke before the holder could have heard of it.
            let told = notice.is_some_and(|f| f.published);
            if told && revoke_at <= now {
                match end(
                    p,
                    &a.assignment_id,
                    AssignmentStatus::Revoked,
                    "reclaim",
                    revoke_at,
                )
                .await
                {
                    Ok(()) => report.reclaimed += 1,
                    Err(e) => {
                        tracing::warn!(assignment = %a.assignment_id, error = %e, "reclamation not started");
                        report.failed += 1;
                    }
                }
            }
            observed.insert(
                a.assignment_id.clone(),
                json!({"assignmentId": a.assignment_id, "holderId": a.holder_id, "itemId": a.item_id,
                       "lastUsedAt": a.last_used_at, "revokeAt": revoke_at}),
            );
        }
    }
    Ok(observed)
}

/// How a due holding ends, and when: a scheduled revocation that came first revokes it, else it expires.
fn ending(a: &Assignment, now: Timestamp) -> Option<(AssignmentStatus, Timestamp)> {
    let revoke = a.revocation.as_ref().map(|r| r.at).filter(|at| *at <= now);
    let expire = a.expires_at.filter(|at| *at <= now);
    match (revoke, expire) {
        (Some(r), Some(e)) if e < r => Some((AssignmentStatus::Expired, e)),
        (Some(r), _) => Some((AssignmentStatus::Revoked, r)),
        (None, Some(e)) => Some((AssignmentStatus::Expired, e)),
        (None, None) => None,
    }
}

/// Starts the deprovision state machine for the whole holding. The execution name comes from the holding and
/// the moment it ended, so a re-run starts nothing twice while a moved end (an extension) starts anew.
async fn end(
    p: &Ports,
    assignment_id: &str,
    reason: AssignmentStatus,
    cause: &str,
    at: Timestamp,
) -> Result<()> {
    let name = execution_name(cause, &[assignment_id, &at.to_rfc3339()]);
    end_holding(p, &name, assignment_id, reason).await
}

/// Starts the deprovision state machine for every source of a holding under the deterministic `name`.
pub(crate) async fn end_holding(
    p: &Ports,
    name: &str,
    assignment_id: &str,
    reason: AssignmentStatus,
) -> Result<()> {
    let input = Deprovision {
        assignment_id: assignment_id.to_string(),
        // Past its end every source goes.
        request_id: None,
        reason,
    };
    let payload = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    p.workflow.start_deprovision(name, payload).await
}
