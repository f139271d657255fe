use serde::{Deserialize, Serialize};

use super::{ApprovalMode, DecisionRecord, Principal, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

/// One open approval stage of a request, waiting on its approvers. The Step Functions task token lives only
/// here, server-side; API views never include it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalTask {
    pub approval_id: String,
    pub request_id: String,
    pub stage_index: u32,
    pub stage_name: String,
    pub item_id: String,
    pub requester_id: String,
    pub beneficiary_id: String,
    pub mode: ApprovalMode,
    /// Who may decide. For mode `all`, each principal must approve.
    pub approvers: Vec<Principal>,
    pub decisions: Vec<DecisionRecord>,
    pub status: ApprovalStatus,
    pub task_token: String,
    pub created_at: Timestamp,
    pub due_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// What approvers see of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    pub approval_id: String,
    pub request_id: String,
    pub stage_index: u32,
    pub stage_name: String,
    pub item_id: String,
    pub requester_id: String,
    pub beneficiary_id: String,
    pub mode: ApprovalMode,
    pub approvers: Vec<Principal>,
    pub decisions: Vec<DecisionRecord>,
    pub status: ApprovalStatus,
    pub created_at: Timestamp,
    pub due_at: Timestamp,
    /// Set when the caller sees this task as someone's delegate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_delegate_of: Option<String>,
}

impl ApprovalTask {
    pub fn view(&self, as_delegate_of: Option<String>) -> ApprovalView {
        ApprovalView {
            approval_id: self.approval_id.clone(),
            request_id: self.request_id.clone(),
            stage_index: self.stage_index,
            stage_name: self.stage_name.clone(),
            item_id: self.item_id.clone(),
            requester_id: self.requester_id.clone(),
            beneficiary_id: self.beneficiary_id.clone(),
            mode: self.mode,
            approvers: self.approvers.clone(),
            decisions: self.decisions.clone(),
            status: self.status,
            created_at: self.created_at,
            due_at: self.due_at,
            as_delegate_of,
        }
    }
}
