use serde::{Deserialize, Serialize};

use super::{Risk, Timestamp, Versioned};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    Open,
    /// No task is pending any more.
    Closed,
}

/// An access review campaign: every active holding at its start gets one review task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewCampaign {
    /// `2026-Q4` for the quarterly schedule, `adhoc-20261125T142242` when started on demand; never contains a
    /// dot, so it cannot collide with a review id in the shared table.
    pub campaign_id: String,
    pub started_at: Timestamp,
    pub started_by: String,
    /// When the first round of tasks falls due.
    pub deadline: Timestamp,
    pub status: CampaignStatus,
    /// Holdings left out: nobody but the holder could review them (segregation of duties), or their item is
    /// no longer in the catalog.
    #[serde(default)]
    pub skipped: u32,
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    Pending,
    /// The reviewer confirmed the holding.
    Kept,
    /// The reviewer revoked the holding.
    Revoked,
    /// Nobody decided in time: the holding was revoked.
    Unreviewed,
}

/// One reviewer's task: keep or revoke one holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewTask {
    /// `<campaignId>.<assignmentId>`: a retried campaign start finds the task it already created.
    pub review_id: String,
    pub campaign_id: String,
    pub assignment_id: String,
    pub holder_id: String,
    pub item_id: String,
    /// When the reviewed holding was granted: a holding returned and granted anew since is not the one under
    /// review (its new grant went through its own approval), so a revoke leaves it alone.
    #[serde(default)]
    pub granted_at: Option<Timestamp>,
    pub reviewer_id: String,
    pub status: ReviewStatus,
    pub due_at: Timestamp,
    /// Set once the task moved to the next reviewer (at most once).
    #[serde(default)]
    pub escalated_from: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub version: u64,
}

impl ReviewTask {
    pub fn id_for(campaign_id: &str, assignment_id: &str) -> String {
        format!("{campaign_id}.{assignment_id}")
    }
}

/// What happens to a holding nobody reviewed by the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnreviewedAction {
    Revoke,
    /// The task moves up once (reviewer's manager, else the item owner) for another week; then it revokes.
    Escalate,
}

/// A catalog item's access review policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessReviewPolicy {
    pub unreviewed: UnreviewedAction,
}

impl AccessReviewPolicy {
    /// Without a policy: high-risk access is not left standing unreviewed; anything else escalates first.
    pub fn default_for(risk: Risk) -> Self {
        let unreviewed = match risk {
            Risk::High => UnreviewedAction::Revoke,
            _ => UnreviewedAction::Escalate,
        };
        Self { unreviewed }
    }
}

impl Versioned for ReviewCampaign {
    const KIND: &'static str = "review campaign";
    fn id(&self) -> &str {
        &self.campaign_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Versioned for ReviewTask {
    const KIND: &'static str = "review";
    fn id(&self) -> &str {
        &self.review_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}
