use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{ApprovalMode, DecisionRecord, Principal, Timestamp};

/// How long after a decision the escalation sweep completes its unfinished effects: far longer than the
/// approval-callback function may run (10 s), so the sweep never races the approver's own call.
pub const COMPLETION_GRACE: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

/// What is left to do of the effects of a task's latest decision, in order. Whoever finds a task marked so (the
/// approver retrying the same decision, the task's next approver, the escalation sweep) carries on from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outstanding {
    /// Record the decision on the request's stage (the request's audit entry comes with that save).
    Record,
    /// Append the decision's own audit entry.
    Audit,
    /// Resume or fail the waiting workflow if the decision closed the stage (a callback may have gone out
    /// already), then announce the decision.
    Resume,
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
    /// End of the stage's SLA: a reminder goes out after it, an escalation after twice the SLA.
    pub due_at: Timestamp,
    /// When the request passes its policy's maximum age and expires, if the policy sets one.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub reminded_at: Option<Timestamp>,
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    /// Effects of the latest decision not carried out yet; None once they all are (and on tasks stored before
    /// decisions were resumable, whose effects all ran in one go).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outstanding: Option<Outstanding>,
    #[serde(default)]
    pub version: u64,
}

/// What approvers see of a task: all of it except the task token and the bookkeeping (storage version, unfinished
/// effects).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalView {
    pub task: ApprovalTask,
    /// Set when the caller sees this task as someone's delegate.
    pub as_delegate_of: Option<String>,
}

/// What the escalation sweep does next to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    Remind,
    Escalate,
    Expire,
    /// Carry out the effects a decision left unfinished (its approver's call failed and was not retried).
    Complete,
}

impl ApprovalTask {
    /// The time of the task's next escalation step, and the step; None once nothing is left to do. An unfinished
    /// decision comes first: it is completed, never reminded, escalated or expired.
    pub fn next_escalation(&self) -> Option<(Timestamp, Escalation)> {
        if self.outstanding.is_some() {
            let decided = self.decisions.last().map_or(self.created_at, |d| d.at);
            let at = decided
                .checked_add_signed(COMPLETION_GRACE)
                .unwrap_or(decided);
            return Some((at, Escalation::Complete));
        }
        if self.status != ApprovalStatus::Pending {
            return None;
        }
        let sla = self.due_at - self.created_at;
        let step = if self.reminded_at.is_none() {
            Some((self.due_at, Escalation::Remind))
        } else if self.escalated_at.is_none() {
            // A step beyond the representable time never comes; the expiry (if any) still does.
            self.due_at
                .checked_add_signed(sla)
                .map(|at| (at, Escalation::Escalate))
        } else {
            None
        };
        let expiry = self.expires_at.map(|at| (at, Escalation::Expire));
        match (step, expiry) {
            // Expiry ends the wait, so it wins over any reminder or escalation that would come later.
            (Some(s), Some(e)) => Some(if e.0 <= s.0 { e } else { s }),
            (s, e) => s.or(e),
        }
    }

    /// The step due at `now`, if any; a sweep that ran late still takes only the latest one (expiry first).
    pub fn escalation_due(&self, now: Timestamp) -> Option<Escalation> {
        let pending = self.status == ApprovalStatus::Pending && self.outstanding.is_none();
        if pending && self.expires_at.is_some_and(|at| at <= now) {
            return Some(Escalation::Expire);
        }
        self.next_escalation()
            .filter(|(at, _)| *at <= now)
            .map(|(_, step)| step)
    }

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
            fields.remove("outstanding");
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
    use crate::model::{ApprovalMode, Decision};

    /// A pending task opened at `at` with a 48-hour SLA that expires a week later.
    fn task(at: Timestamp) -> ApprovalTask {
        ApprovalTask {
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
            due_at: at + Duration::hours(48),
            expires_at: Some(at + Duration::hours(168)),
            reminded_at: None,
            escalated_at: None,
            outstanding: None,
            version: 3,
        }
    }

    fn opened() -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn a_view_carries_the_task_but_never_its_token() {
        let mut task = task(opened());
        task.outstanding = Some(Outstanding::Resume);
        let json = serde_json::to_value(task.view(Some("E9".into()))).unwrap();
        assert!(!json.to_string().contains("secret-token"));
        assert_eq!(json["approvalId"], "req-1-s0");
        assert_eq!(json["approvers"][0], "user:E1");
        assert_eq!(json["asDelegateOf"], "E9");
        assert!(json.get("version").is_none());
        assert!(json.get("outstanding").is_none());
    }

    #[test]
    fn an_unfinished_decision_is_completed_after_the_grace_and_never_expired() {
        let mut task = task(opened());
        let decided = opened() + Duration::hours(1);
        task.decisions.push(DecisionRecord {
            approver_id: "E1".into(),
            principal: Principal::User("E1".into()),
            decision: Decision::Approve,
            comment: None,
            at: decided,
            on_behalf_of: None,
        });
        task.status = ApprovalStatus::Approved;
        task.outstanding = Some(Outstanding::Record);

        assert_eq!(
            task.next_escalation(),
            Some((decided + COMPLETION_GRACE, Escalation::Complete))
        );
        assert_eq!(task.escalation_due(decided), None, "within the grace");
        let long_after = opened() + Duration::days(30);
        assert_eq!(task.escalation_due(long_after), Some(Escalation::Complete));
        // Still pending (mode `all`): its expiry waits until the decision is complete.
        task.status = ApprovalStatus::Pending;
        assert_eq!(task.escalation_due(long_after), Some(Escalation::Complete));
        task.outstanding = None;
        assert_eq!(task.escalation_due(long_after), Some(Escalation::Expire));
    }

    #[test]
    fn an_escalation_past_the_last_date_is_never_due_rather_than_a_panic() {
        let mut task = task(opened());
        task.due_at = chrono::DateTime::<chrono::Utc>::MAX_UTC - Duration::hours(1);
        task.expires_at = None;
        task.reminded_at = Some(opened());

        assert_eq!(task.next_escalation(), None);
        assert_eq!(task.escalation_due(task.due_at), None);
    }
}
