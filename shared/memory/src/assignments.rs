use std::collections::BTreeMap;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{Assignment, AssignmentStatus, Timestamp};
use provisio_core::ports::AssignmentStore;

use crate::versioned::{Indexed, VersionedMap};

/// The indexes of the DynamoDB table: by holder; active holdings by end, by item, by item and last use, by
/// grant; ended holdings by end.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AssignmentKey {
    Holder(String),
    Ending(Timestamp),
    ActiveItem(String),
    IdleItem(String, Timestamp),
    Granted(Timestamp),
    Ended(Timestamp),
}

impl Indexed for Assignment {
    type Key = AssignmentKey;
    fn index_keys(&self) -> Vec<AssignmentKey> {
        let mut keys = vec![AssignmentKey::Holder(self.holder_id.clone())];
        if self.status == AssignmentStatus::Active {
            keys.extend(self.ends_at().map(AssignmentKey::Ending));
            keys.push(AssignmentKey::ActiveItem(self.item_id.clone()));
            keys.push(AssignmentKey::IdleItem(
                self.item_id.clone(),
                self.last_use(),
            ));
            keys.push(AssignmentKey::Granted(self.granted_at));
        } else {
            keys.extend(self.ended_at.map(AssignmentKey::Ended));
        }
        keys
    }
}

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
        Ok(self.0.find(&AssignmentKey::Holder(holder_id.into())))
    }

    async fn ending_by(&self, now: Timestamp) -> Result<Vec<Assignment>> {
        Ok(self.0.find_from(
            &AssignmentKey::Ending(Timestamp::MIN_UTC),
            |k| matches!(k, AssignmentKey::Ending(at) if *at <= now),
        ))
    }

    async fn active_of_item(&self, item_id: &str) -> Result<Vec<Assignment>> {
        Ok(self.0.find(&AssignmentKey::ActiveItem(item_id.into())))
    }

    async fn idle_of_item(&self, item_id: &str, cutoff: Timestamp) -> Result<Vec<Assignment>> {
        let first = AssignmentKey::IdleItem(item_id.into(), Timestamp::MIN_UTC);
        Ok(self.0.find_from(
            &first,
            |k| matches!(k, AssignmentKey::IdleItem(i, at) if i == item_id && *at <= cutoff),
        ))
    }

    async fn held_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Assignment>> {
        let active = self.0.find_from(
            &AssignmentKey::Granted(Timestamp::MIN_UTC),
            |k| matches!(k, AssignmentKey::Granted(at) if *at < to),
        );
        let ended = self.0.find_from(&AssignmentKey::Ended(from), |k| {
            matches!(k, AssignmentKey::Ended(_))
        });
        let by_id: BTreeMap<String, Assignment> = active
            .into_iter()
            .chain(ended)
            .filter(|a| a.held_between(from, to))
            .map(|a| (a.assignment_id.clone(), a))
            .collect();
        Ok(by_id.into_values().collect())
    }
}
