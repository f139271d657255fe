use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{ApprovalStatus, ApprovalTask, Principal, Timestamp};
use provisio_core::ports::ApprovalStore;

use crate::versioned::{Indexed, VersionedMap};

/// The indexes of the DynamoDB table: pending tasks by approver, tasks by request, by deciding approver, and
/// pending tasks by the time of their next escalation step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ApprovalKey {
    Pending(Principal),
    Request(String),
    DecidedBy(String),
    Escalation(Timestamp),
}

impl Indexed for ApprovalTask {
    type Key = ApprovalKey;
    fn index_keys(&self) -> Vec<ApprovalKey> {
        let mut keys = vec![ApprovalKey::Request(self.request_id.clone())];
        let mut deciders: Vec<&str> = self
            .decisions
            .iter()
            .map(|d| d.approver_id.as_str())
            .collect();
        deciders.sort_unstable();
        deciders.dedup();
        keys.extend(
            deciders
                .into_iter()
                .map(|e| ApprovalKey::DecidedBy(e.into())),
        );
        if self.status == ApprovalStatus::Pending {
            keys.extend(self.approvers.iter().cloned().map(ApprovalKey::Pending));
        }
        keys.extend(
            self.next_escalation()
                .map(|(at, _)| ApprovalKey::Escalation(at)),
        );
        keys.sort();
        keys.dedup();
        keys
    }
}

#[derive(Default)]
pub struct MemoryApprovals(VersionedMap<ApprovalTask>);

/// Oldest first; same-instant tasks in id order.
fn oldest_first(mut tasks: Vec<ApprovalTask>) -> Vec<ApprovalTask> {
    tasks.sort_by_key(|t| t.created_at);
    tasks
}

#[async_trait]
impl ApprovalStore for MemoryApprovals {
    async fn create(&self, task: &ApprovalTask) -> Result<()> {
        self.0.create(task.clone())
    }

    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalTask>> {
        Ok(self.0.get(approval_id))
    }

    async fn save(&self, task: &mut ApprovalTask) -> Result<()> {
        self.0.save(task)
    }

    async fn pending_for(&self, principal: &Principal) -> Result<Vec<ApprovalTask>> {
        Ok(oldest_first(
            self.0.find(&ApprovalKey::Pending(principal.clone())),
        ))
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<ApprovalTask>> {
        let mut tasks = oldest_first(self.0.find(&ApprovalKey::Request(request_id.into())));
        tasks.sort_by_key(|t| t.stage_index);
        Ok(tasks)
    }

    async fn decided_by(&self, employee_id: &str) -> Result<Vec<ApprovalTask>> {
        Ok(oldest_first(
            self.0.find(&ApprovalKey::DecidedBy(employee_id.into())),
        ))
    }

    async fn needing_escalation(&self, now: Timestamp) -> Result<Vec<ApprovalTask>> {
        Ok(self.0.find_from(
            &ApprovalKey::Escalation(Timestamp::MIN_UTC),
            |k| matches!(k, ApprovalKey::Escalation(at) if *at <= now),
        ))
    }
}
