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

/// What approvers see of a task: all of it except the task token and the storage version.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalView {
    pub task: ApprovalTask,
    /// Set when the caller sees this task as someone's delegate.
    pub as_delegate_of: Option<String>,
}

impl ApprovalTask {
    pub fn view(&self, as_delegate_of: Option<String>) -> ApprovalView {
        ApprovalView {
            task: self.clone(),
            as_delegate_of,
        }
    }
}

impl Serialize for ApprovalView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.task).map_err(serde::ser::Error::custom)?;
        if let Some(fields) = value.as_object_mut() {
            // The token resumes the workflow: it never leaves the backend.
            fields.remove("taskToken");
            fields.remove("version");
            if let Some(of) = &self.as_delegate_of {
                fields.insert("asDelegateOf".into(), of.clone().into());
            }
        }
        value.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApprovalMode;

    #[test]
    fn a_view_carries_the_task_but_never_its_token() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let task = ApprovalTask {
            approval_id: "req-1-s0".into(),
            request_id: "req-1".into(),
            stage_index: 0,
            stage_name: "manager".into(),
            item_id: "figma".into(),
            requester_id: "E2".into(),
            beneficiary_id: "E2".into(),
            mode: ApprovalMode::Any,
            approvers: vec![Principal::User("E1".into())],
            decisions: vec![],
            status: ApprovalStatus::Pending,
            task_token: "secret-token".into(),
            created_at: at,
            due_at: at,
            version: 3,
        };
        let json = serde_json::to_value(task.view(Some("E9".into()))).unwrap();
        assert!(!json.to_string().contains("secret-token"));
        assert_eq!(json["approvalId"], "req-1-s0");
        assert_eq!(json["approvers"][0], "user:E1");
        assert_eq!(json["asDelegateOf"], "E9");
        assert!(json.get("version").is_none());
    }
}
