use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{ApprovalStatus, ApprovalTask, Principal, Timestamp};
use provisio_core::ports::ApprovalStore;

use crate::versioned::VersionedMap;

#[derive(Default)]
pub struct MemoryApprovals(VersionedMap<ApprovalTask>);

impl MemoryApprovals {
    /// The tasks `keep` accepts, oldest first.
    fn select(&self, keep: impl Fn(&ApprovalTask) -> bool) -> Vec<ApprovalTask> {
        let mut tasks = self.0.select(keep);
        tasks.sort_by_key(|t| t.created_at);
        tasks
    }
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
        Ok(self.select(|t| t.status == ApprovalStatus::Pending && t.approvers.contains(principal)))
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<ApprovalTask>> {
        let mut tasks = self.select(|t| t.request_id == request_id);
        tasks.sort_by_key(|t| t.stage_index);
        Ok(tasks)
    }

    async fn decided_by(&self, employee_id: &str) -> Result<Vec<ApprovalTask>> {
        Ok(self.select(|t| t.decisions.iter().any(|d| d.approver_id == employee_id)))
    }

    async fn needing_escalation(&self, now: Timestamp) -> Result<Vec<ApprovalTask>> {
        let mut due: Vec<(Timestamp, ApprovalTask)> = self
            .0
            .select(|_| true)
            .into_iter()
            .filter_map(|t| t.next_escalation().map(|(at, _)| (at, t)))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().map(|(_, t)| t).collect())
    }
}
