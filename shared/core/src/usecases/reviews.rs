//! Access reviews. A campaign (quarterly on the schedule, or started by an admin) gives every active holding one
//! review task. The reviewer is the holder's manager, or the item owner for high-risk items; never the holder
//! (segregation of duties: the item owner steps in, else the holding is skipped and counted). Someone
//! terminated is replaced by their manager and someone away by their delegate, as for approvals.
//!
//! Reviewers keep or revoke; a revoke ends the holding through the deprovision state machine (reason REVOKED).
//! Tasks still pending at their due date are handled by the daily compliance sweep per the item's policy
//! ([`AccessReviewPolicy`]): revoke, or escalate once (reviewer's manager, else the item owner; a week more),
//! then revoke. A campaign closes once no task is pending.
//!
//! Retries are harmless: campaign ids are per quarter (schedule), review ids per campaign and holding, and
//! every revoke starts an execution named by its review id.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::admin::{require_admin, require_reader};
use super::approvals::acting_for;
use super::assignments::execution_name;
use super::compliance::end_holding;
use super::{MAX_CONFLICT_RETRIES, audit, publish};
use crate::model::*;
use crate::names::event_types;
use crate::ports::Ports;
use crate::{Error, Result};

/// Reviewers' time to decide, unless an admin says otherwise.
pub const DEFAULT_DEADLINE_DAYS: u32 = 14;
/// The longest deadline an admin may give: a campaign should end within its quarter.
pub const MAX_DEADLINE_DAYS: u32 = 90;
/// The extra time an escalated task gets.
pub const ESCALATION_DAYS: i64 = 7;

/// Body of `POST /admin/reviews/campaigns`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignInput {
    #[serde(default)]
    pub deadline_days: Option<u32>,
}

/// What a campaign start did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignStart {
    pub campaign: ReviewCampaign,
    /// Tasks created by this run (a resumed start creates only the missing ones).
    pub created: u32,
}

/// `POST /admin/reviews/campaigns`: starts a campaign now, unless one is open (`Conflict`).
pub async fn start_on_demand(
    p: &Ports,
    caller: &Caller,
    input: CampaignInput,
) -> Result<ReviewCampaign> {
    require_admin(caller)?;
    let days = input.deadline_days.unwrap_or(DEFAULT_DEADLINE_DAYS);
    if !(1..=MAX_DEADLINE_DAYS).contains(&days) {
        return Err(Error::validation(
            "deadlineDays",
            format!("must be between 1 and {MAX_DEADLINE_DAYS}"),
        ));
    }
    let now = p.clock.now();
    let id = format!("adhoc-{}", now.format("%Y%m%dT%H%M%S"));
    if p.reviews.get_campaign(&id).await?.is_some() {
        return Err(Error::Conflict(format!("campaign {id} already exists")));
    }
    let start = start(p, &id, &caller.employee_id, days).await?;
    Ok(start.campaign)
}

/// The quarterly schedule: starts (or resumes) the campaign of the current quarter, e.g. `2026-Q4`.
pub async fn start_scheduled(p: &Ports) -> Result<CampaignStart> {
    let now = p.clock.now();
    let id = format!("{}-Q{}", now.year(), now.month0() / 3 + 1);
    start(p, &id, "provisio", DEFAULT_DEADLINE_DAYS).await
}

async fn start(p: &Ports, campaign_id: &str, started_by: &str, days: u32) -> Result<CampaignStart> {
    let now = p.clock.now();
    if let Some(other) = p
        .reviews
        .open_campaigns()
        .await?
        .into_iter()
        .find(|c| c.campaign_id != campaign_id)
    {
        return Err(Error::Conflict(format!(
            "campaign {} is still open",
            other.campaign_id
        )));
    }
    let mut campaign = match p.reviews.get_campaign(campaign_id).await? {
        // This quarter's campaign ran already.
        Some(c) if c.status == CampaignStatus::Closed => {
            return Ok(CampaignStart {
                campaign: c,
                created: 0,
            });
        }
        // A start that failed half-way: resume it.
        Some(c) => c,
        None => {
            let mut c = ReviewCampaign {
                campaign_id: campaign_id.to_string(),
                started_at: now,
                started_by: started_by.to_string(),
                deadline: time::plus(now, Duration::days(days.into()), "deadlineDays")?,
                status: CampaignStatus::Open,
                skipped: 0,
                closed_at: None,
                version: 0,
            };
            p.reviews.save_campaign(&mut c).await?;
            publish(
                p,
                event_types::REVIEW_CAMPAIGN_STARTED,
                json!({"campaignId": c.campaign_id, "deadline": c.deadline, "startedBy": c.started_by}),
            )
            .await?;
            c
        }
    };
    let (mut created, mut skipped) = (0, 0);
    // Active holdings only, through the index on grants (never a scan).
    for a in p
        .assignments
        .held_between(now, time::plus(now, Duration::seconds(1), "review start")?)
        .await?
    {
        if a.status != AssignmentStatus::Active {
            continue;
        }
        let review_id = ReviewTask::id_for(campaign_id, &a.assignment_id);
        if p.reviews.get(&review_id).await?.is_some() {
            continue;
        }
        let Some(reviewer) = first_reviewer(p, &a, now).await? else {
            skipped += 1;
            continue;
        };
        let mut task = ReviewTask {
            review_id,
            campaign_id: campaign_id.to_string(),
            assignment_id: a.assignment_id,
            holder_id: a.holder_id,
            item_id: a.item_id,
            granted_at: Some(a.granted_at),
            reviewer_id: reviewer,
            status: ReviewStatus::Pending,
            due_at: campaign.deadline,
            escalated_from: None,
            decided_by: None,
            decided_at: None,
            comment: None,
            version: 0,
        };
        match p.reviews.save(&mut task).await {
            Ok(()) => created += 1,
            // A concurrent start created it.
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
        publish(
            p,
            event_types::REVIEW_REQUESTED,
            json!({"reviewId": task.review_id, "campaignId": task.campaign_id,
                   "assignmentId": task.assignment_id, "reviewerId": task.reviewer_id, "dueAt": task.due_at}),
        )
        .await?;
    }
    if skipped > 0 {
        tracing::warn!(
            campaign = campaign_id,
            skipped,
            "holdings nobody but their holder could review"
        );
    }
    if campaign.skipped != skipped {
        campaign.skipped = skipped;
        p.reviews.save_campaign(&mut campaign).await?;
    }
    Ok(CampaignStart { campaign, created })
}

/// The first of `candidates` that someone other than the `excluded` people acts for (terminated → manager,
/// away → delegate).
async fn first_acting(
    p: &Ports,
    candidates: [Option<String>; 2],
    excluded: &[&str],
    now: Timestamp,
) -> Result<Option<String>> {
    for candidate in candidates.into_iter().flatten() {
        let acting = acting_for(p, candidate, now).await?;
        if let Some(acting) = acting.filter(|a| !excluded.contains(&a.as_str())) {
            return Ok(Some(acting));
        }
    }
    Ok(None)
}

/// The holder's manager (the item owner for high-risk items), else the item owner; never the holder.
async fn first_reviewer(p: &Ports, a: &Assignment, now: Timestamp) -> Result<Option<String>> {
    let Some(it) = p.catalog.get(&a.item_id).await? else {
        return Ok(None);
    };
    let manager = p
        .identities
        .get(&a.holder_id)
        .await?
        .and_then(|h| h.manager_id);
    let first = if it.risk == Risk::High {
        Some(it.owner_id.clone())
    } else {
        manager
    };
    first_acting(p, [first, Some(it.owner_id)], &[&a.holder_id], now).await
}

/// `GET /reviews`: the caller's pending review tasks.
pub async fn pending_for(p: &Ports, caller: &Caller) -> Result<Vec<ReviewTask>> {
    p.reviews.pending_for(&caller.employee_id).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Keep,
    Revoke,
}

/// Body of `POST /reviews/{reviewId}/decision`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDecisionInput {
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /reviews/{reviewId}/decision`: only the task's reviewer may decide (anyone else: NotFound), once
/// (`Conflict` after).
pub async fn decide(
    p: &Ports,
    caller: &Caller,
    review_id: &str,
    input: ReviewDecisionInput,
) -> Result<ReviewTask> {
    let me = caller.employee_id.as_str();
    let task = match p.reviews.get(review_id).await? {
        Some(t) if t.reviewer_id == me => t,
        _ => return Err(Error::NotFound(format!("review {review_id}"))),
    };
    require_pending(&task)?;
    let status = match input.decision {
        ReviewDecision::Keep => ReviewStatus::Kept,
        ReviewDecision::Revoke => {
            // Before the task is marked: a retry after a failed save starts no second execution.
            revoke(p, &task).await?;
            ReviewStatus::Revoked
        }
    };
    settle(p, review_id, Some(me), status, input.comment).await
}

fn require_pending(task: &ReviewTask) -> Result<()> {
    if task.status != ReviewStatus::Pending {
        return Err(Error::Conflict(format!(
            "review {} was already decided",
            task.review_id
        )));
    }
    Ok(())
}

/// Ends the reviewed holding, if it is still the one reviewed: one that ended, or was returned and granted anew,
/// is left alone.
async fn revoke(p: &Ports, task: &ReviewTask) -> Result<()> {
    let reviewed = p
        .assignments
        .get(&task.assignment_id)
        .await?
        .is_some_and(|a| {
            a.status == AssignmentStatus::Active
                && task.granted_at.is_none_or(|at| at == a.granted_at)
        });
    if !reviewed {
        return Ok(());
    }
    let name = execution_name("review", &[&task.review_id]);
    end_holding(p, &name, &task.assignment_id, AssignmentStatus::Revoked).await
}

/// Records the outcome of a pending task (by `reviewer`, or by Provisio when None), audited and announced.
async fn settle(
    p: &Ports,
    review_id: &str,
    reviewer: Option<&str>,
    status: ReviewStatus,
    comment: Option<String>,
) -> Result<ReviewTask> {
    let actor = reviewer.unwrap_or("provisio");
    for _ in 0..MAX_CONFLICT_RETRIES {
        let mut task = match p.reviews.get(review_id).await? {
            Some(t) if reviewer.is_none_or(|r| r == t.reviewer_id) => t,
            // Escalated to someone else meanwhile.
            _ => return Err(Error::NotFound(format!("review {review_id}"))),
        };
        require_pending(&task)?;
        task.status = status;
        task.decided_by = Some(actor.to_string());
        task.decided_at = Some(p.clock.now());
        task.comment.clone_from(&comment);
        match p.reviews.save(&mut task).await {
            Ok(()) => {}
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
        audit(
            p,
            actor,
            "review.decided",
            review_id,
            json!({"status": ReviewStatus::Pending, "reviewerId": task.reviewer_id}),
            json!({"status": status}),
            comment,
        )
        .await?;
        publish(
            p,
            event_types::REVIEW_DECIDED,
            json!({"reviewId": task.review_id, "campaignId": task.campaign_id,
                   "assignmentId": task.assignment_id, "status": status, "decidedBy": actor}),
        )
        .await?;
        return Ok(task);
    }
    Err(Error::Conflict(format!(
        "review {review_id} is changing concurrently; try again"
    )))
}

/// What the compliance sweep did to reviews.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSweep {
    /// Overdue tasks moved to the next reviewer.
    pub escalated: u32,
    /// Overdue tasks whose holding was revoked (UNREVIEWED).
    pub revoked: u32,
    pub closed_campaigns: u32,
}

/// Overdue tasks per their item's policy, then campaigns with nothing pending closed. Each task or campaign
/// that fails is logged and counted in `failed`; only an unreadable index fails the step as a whole.
pub(crate) async fn sweep(p: &Ports, out: &mut ReviewSweep, failed: &mut u32) -> Result<()> {
    let now = p.clock.now();
    for task in p.reviews.overdue(now).await? {
        match lapse(p, task, now).await {
            Ok(true) => out.escalated += 1,
            Ok(false) => out.revoked += 1,
            Err(e) => {
                tracing::warn!(error = %e, "overdue review not handled");
                *failed += 1;
            }
        }
    }
    for campaign in p.reviews.open_campaigns().await? {
        match close_if_done(p, campaign, now).await {
            Ok(closed) => out.closed_campaigns += u32::from(closed),
            Err(e) => {
                tracing::warn!(error = %e, "review campaign not closed");
                *failed += 1;
            }
        }
    }
    Ok(())
}

/// Escalates (true) or revokes (false) an overdue task.
async fn lapse(p: &Ports, mut task: ReviewTask, now: Timestamp) -> Result<bool> {
    let it = p.catalog.get(&task.item_id).await?;
    let escalates = task.escalated_from.is_none()
        && it
            .as_ref()
            .is_some_and(|it| it.review_policy().unreviewed == UnreviewedAction::Escalate);
    if escalates {
        let manager = p
            .identities
            .get(&task.reviewer_id)
            .await?
            .and_then(|r| r.manager_id);
        let owner = it.map(|it| it.owner_id);
        let excluded = [task.holder_id.as_str(), task.reviewer_id.as_str()];
        if let Some(next) = first_acting(p, [manager, owner], &excluded, now).await? {
            let from = std::mem::replace(&mut task.reviewer_id, next);
            task.escalated_from = Some(from.clone());
            task.due_at = time::plus(now, Duration::days(ESCALATION_DAYS), "review escalation")?;
            // Optimistic: a decision that came first wins (Conflict, counted; the next run sees it decided).
            p.reviews.save(&mut task).await?;
            audit(
                p,
                "provisio",
                "review.escalated",
                &task.review_id,
                json!({"reviewerId": from}),
                json!({"reviewerId": task.reviewer_id, "dueAt": task.due_at}),
                None,
            )
            .await?;
            publish(
                p,
                event_types::REVIEW_ESCALATED,
                json!({"reviewId": task.review_id, "campaignId": task.campaign_id,
                       "from": from, "to": task.reviewer_id, "dueAt": task.due_at}),
            )
            .await?;
            return Ok(true);
        }
    }
    // Re-read: the index may lag a decision made just now.
    let current = p
        .reviews
        .get(&task.review_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("review {}", task.review_id)))?;
    require_pending(&current)?;
    revoke(p, &current).await?;
    settle(p, &task.review_id, None, ReviewStatus::Unreviewed, None).await?;
    Ok(false)
}

async fn close_if_done(p: &Ports, mut campaign: ReviewCampaign, now: Timestamp) -> Result<bool> {
    let tally = Tally::of(&p.reviews.of_campaign(&campaign.campaign_id).await?);
    if tally.by_status.contains_key(&ReviewStatus::Pending) {
        return Ok(false);
    }
    campaign.status = CampaignStatus::Closed;
    campaign.closed_at = Some(now);
    p.reviews.save_campaign(&mut campaign).await?;
    publish(
        p,
        event_types::REVIEW_CAMPAIGN_CLOSED,
        json!({"campaignId": campaign.campaign_id, "byStatus": tally.by_status,
               "escalated": tally.escalated, "skipped": campaign.skipped}),
    )
    .await?;
    Ok(true)
}

/// A campaign's figures.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub tasks: u32,
    pub by_status: BTreeMap<ReviewStatus, u32>,
    /// Tasks that moved to a second reviewer (whatever came of them).
    pub escalated: u32,
    /// Reviewer → pending tasks.
    pub pending_by_reviewer: BTreeMap<String, u32>,
    /// Holdings revoked by a reviewer or for want of a review.
    pub revoked_assignment_ids: Vec<String>,
}

impl Tally {
    fn of(tasks: &[ReviewTask]) -> Self {
        let mut t = Tally::default();
        for task in tasks {
            t.tasks += 1;
            *t.by_status.entry(task.status).or_default() += 1;
            t.escalated += u32::from(task.escalated_from.is_some());
            match task.status {
                ReviewStatus::Pending => {
                    *t.pending_by_reviewer
                        .entry(task.reviewer_id.clone())
                        .or_default() += 1;
                }
                ReviewStatus::Revoked | ReviewStatus::Unreviewed => {
                    t.revoked_assignment_ids.push(task.assignment_id.clone());
                }
                ReviewStatus::Kept => {}
            }
        }
        t
    }
}

/// `GET /admin/reviews/campaigns/{campaignId}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    pub campaign: ReviewCampaign,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A campaign's progress and outcomes, for admins and auditors.
pub async fn report(p: &Ports, caller: &Caller, campaign_id: &str) -> Result<CampaignReport> {
    require_reader(caller)?;
    let campaign = p
        .reviews
        .get_campaign(campaign_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("review campaign {campaign_id}")))?;
    let tally = Tally::of(&p.reviews.of_campaign(campaign_id).await?);
    Ok(CampaignReport { campaign, tally })
}
