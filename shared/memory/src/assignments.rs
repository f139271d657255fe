use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{Assignment, AssignmentStatus, Timestamp};
use provisio_core::ports::AssignmentStore;

use crate::versioned::VersionedMap;

#[derive(Default)]
pub struct MemoryAssignments(VersionedMap<Assignment>);

#[async_trait]
impl AssignmentStore for MemoryAssignments {
    async fn get(&self, assignment_id: &str) -> Result<Option<Assignment>> {
        Ok(self.0.get(assignment_id))
    }

    async fn save(&self, assignment: &mut Assignment) -> Result<()> {
        self.0.create_or_save(assignment)
    }

    async fn list_by_holder(&self, holder_id: &str) -> Result<Vec<Assignment>> {
        Ok(self.0.select(|a| a.holder_id == holder_id))
    }

    async fn ending_by(&self, now: Timestamp) -> Result<Vec<Assignment>> {
        let mut due = self.0.select(|a| {
            a.status == AssignmentStatus::Active && a.ends_at().is_some_and(|at| at <= now)
        });
        due.sort_by_key(Assignment::ends_at);
        Ok(due)
    }

    async fn active_of_item(&self, item_id: &str) -> Result<Vec<Assignment>> {
        Ok(self
            .0
            .select(|a| a.status == AssignmentStatus::Active && a.item_id == item_id))
    }

    async fn idle_of_item(&self, item_id: &str, cutoff: Timestamp) -> Result<Vec<Assignment>> {
        let mut idle = self.0.select(|a| {
            a.status == AssignmentStatus::Active && a.item_id == item_id && a.last_use() <= cutoff
        });
        idle.sort_by_key(Assignment::last_use);
        Ok(idle)
    }

    async fn held_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Assignment>> {
        Ok(self.0.select(|a| a.held_between(from, to)))
    }
}
