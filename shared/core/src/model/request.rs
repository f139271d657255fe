use serde::{Deserialize, Serialize};

use super::{ApprovalMode, Principal, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    Submitted,
    PendingApproval,
    Approved,
    Provisioning,
    Fulfilled,
    Rejected,
    Cancelled,
    Expired,
    Failed,
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The wire name (FULFILLED, PENDING_APPROVAL, ...), as clients see it.
        let v = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(v.as_str().unwrap_or_default())
    }
}

impl RequestStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Fulfilled | Self::Rejected | Self::Cancelled | Self::Expired | Self::Failed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageStatus {
    Waiting,
    Open,
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// One approver's decision. `on_behalf_of` is set when a delegate decided for an approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub approver_id: String,
    /// The assigned principal this decision answers for (the approver, one of their groups, or whom they stand in for).
    pub principal: Principal,
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
    pub at: Timestamp,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// An approval stage that applies to this request (computed at routing time, stored with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub index: u32,
    pub name: String,
    pub mode: ApprovalMode,
    pub sla_hours: u32,
    pub status: StageStatus,
    #[serde(default)]
    pub approval_id: Option<String>,
    #[serde(default)]
    pub decisions: Vec<DecisionRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub status: RequestStatus,
    pub actor: String,
    pub note: String,
}

/// Why a request ended the way it did (set on terminal failure paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub error: String,
    pub reason: String,
}

/// An employee's ask for one catalog item, from submission to a terminal status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub request_id: String,
    pub item_id: String,
    pub item_version: u32,
    /// Who submitted it.
    pub requester_id: String,
    /// Who receives the access (differs from the requester for on-behalf-of requests).
    pub beneficiary_id: String,
    #[serde(default)]
    pub justification: Option<String>,
    #[serde(default)]
    pub duration_hours: Option<u32>,
    /// Set when this request extends an existing holding rather than creating one.
    #[serde(default)]
    pub extends_assignment_id: Option<String>,
    pub status: RequestStatus,
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// True when no approval stage applied.
    #[serde(default)]
    pub auto_approved: bool,
    #[serde(default)]
    pub cancel_requested: bool,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    pub timeline: Vec<TimelineEntry>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version, bumped by every save.
    #[serde(default)]
    pub version: u64,
}

/// What a new request asks for.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub request_id: String,
    pub item_id: String,
    pub item_version: u32,
    pub requester_id: String,
    pub beneficiary_id: String,
    pub justification: Option<String>,
    pub duration_hours: Option<u32>,
    pub extends_assignment_id: Option<String>,
}

impl Request {
    /// A request just submitted at `at`, with its first timeline entry.
    pub fn submitted(new: NewRequest, at: Timestamp) -> Self {
        let mut req = Self {
            request_id: new.request_id,
            item_id: new.item_id,
            item_version: new.item_version,
            requester_id: new.requester_id,
            beneficiary_id: new.beneficiary_id,
            justification: new.justification,
            duration_hours: new.duration_hours,
            extends_assignment_id: new.extends_assignment_id,
            status: RequestStatus::Submitted,
            stages: vec![],
            auto_approved: false,
            cancel_requested: false,
            outcome: None,
            timeline: vec![],
            created_at: at,
            updated_at: at,
            version: 0,
        };
        let actor = req.requester_id.clone();
        req.transition(RequestStatus::Submitted, &actor, "submitted", at);
        req
    }

    /// Moves to `status`, recording who did it and why on the timeline.
    pub fn transition(
        &mut self,
        status: RequestStatus,
        actor: &str,
        note: impl Into<String>,
        at: Timestamp,
    ) {
        self.status = status;
        self.updated_at = at;
        self.timeline.push(TimelineEntry {
            at,
            status,
            actor: actor.into(),
            note: note.into(),
        });
    }

    /// The key "one open request per beneficiary and item" is enforced on ([`crate::ports::RequestStore`]).
    /// Ids are JSON-quoted, so no pair of ids can spell another pair's key.
    pub fn open_key(&self) -> String {
        format!(
            "open#{}",
            serde_json::json!([self.beneficiary_id, self.item_id])
        )
    }

    /// Why a second open request for one beneficiary and item is refused, naming the open one.
    pub fn still_open(open_request_id: &str) -> String {
        format!("request {open_request_id} for this item is still open")
    }

    /// Everyone who may not approve this request: the requester and the beneficiary.
    pub fn parties(&self) -> [&str; 2] {
        [&self.requester_id, &self.beneficiary_id]
    }

    pub fn stage_mut(&mut self, index: u32) -> Option<&mut Stage> {
        self.stages.iter_mut().find(|s| s.index == index)
    }
}
