use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use provisio_core::Result;
use provisio_core::model::{Assignment, AssignmentStatus, Timestamp};
use provisio_core::ports::AssignmentStore;

use super::{Item, Table, from_item, s, sort_time, versioned};

/// Table `assignments`: one item per holding (key `assignmentId` = holder.item); index `byHolder`; the sparse
/// index `byExpiry` (sort key `expiresKey`) holding only active, time-bound holdings, for the expiry sweep; the
/// sparse index `byItem` (`activeItem` = item id on active holdings only) for the licence and end-of-life
/// sweeps; the sparse index `byLastUse` (`activeItem`, sort key `lastUseKey`) for the reclamation of idle
/// holdings, one query per item with a reclamation policy; and for reports over a period the sparse indexes
/// `byGranted` (active holdings by `grantedKey`) and `byEnded` (ended holdings by `endedKey`).
pub struct DynamoAssignments(pub(crate) Table);

const EXPIRING: &str = "active";
const HELD: &str = "active";
const ENDED: &str = "ended";

fn key(assignment_id: &str) -> Item {
    Item::from([("assignmentId".to_owned(), s(assignment_id))])
}

fn index_attributes(a: &Assignment) -> Vec<(&'static str, AttributeValue)> {
    if a.status != AssignmentStatus::Active {
        return a.ended_at.map_or_else(Vec::new, |at| {
            vec![("ended", s(ENDED)), ("endedKey", s(sort_time(at)))]
        });
    }
    let mut attributes = vec![
        ("activeItem", s(&a.item_id)),
        ("lastUseKey", s(sort_time(a.last_use()))),
        ("held", s(HELD)),
        ("grantedKey", s(sort_time(a.granted_at))),
    ];
    if let Some(at) = a.ends_at() {
        attributes.extend([("expiring", s(EXPIRING)), ("expiresKey", s(sort_time(at)))]);
    }
    attributes
}

#[async_trait]
impl AssignmentStore for DynamoAssignments {
    async fn get(&self, assignment_id: &str) -> Result<Option<Assignment>> {
        self.0
            .get_item(key(assignment_id))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn save(&self, assignment: &mut Assignment) -> Result<()> {
        versioned::create_or_save(&self.0, "assignmentId", assignment, index_attributes).await
    }

    async fn ending_by(&self, now: Timestamp) -> Result<Vec<Assignment>> {
        let items = self
            .0
            .query_all(
                Some("byExpiry"),
                "#expiring = :e AND #expiresKey <= :now",
                &[(":e", s(EXPIRING)), (":now", s(sort_time(now)))],
                true,
            )
            .await?;
        let mut due = Vec::new();
        for item in items {
            let a: Assignment = from_item(item)?;
            // The index may lag a save: keep only what is still due.
            if a.status == AssignmentStatus::Active && a.ends_at().is_some_and(|at| at <= now) {
                due.push(a);
            }
        }
        Ok(due)
    }

    async fn active_of_item(&self, item_id: &str) -> Result<Vec<Assignment>> {
        let items = self
            .0
            .query_all(
                Some("byItem"),
                "#activeItem = :i",
                &[(":i", s(item_id))],
                true,
            )
            .await?;
        let mut active = Vec::new();
        for item in items {
            let a: Assignment = from_item(item)?;
            // The index may lag a save: keep only what is still active.
            if a.status == AssignmentStatus::Active {
                active.push(a);
            }
        }
        Ok(active)
    }

    async fn idle_of_item(&self, item_id: &str, cutoff: Timestamp) -> Result<Vec<Assignment>> {
        // The bound is inclusive because sort keys are cut to microseconds; the record decides exactly.
        let items = self
            .0
            .query_all(
                Some("byLastUse"),
                "#activeItem = :i AND #lastUseKey <= :cutoff",
                &[(":i", s(item_id)), (":cutoff", s(sort_time(cutoff)))],
                true,
            )
            .await?;
        let mut idle = Vec::new();
        for item in items {
            let a: Assignment = from_item(item)?;
            // The index may lag a save (a usage signal, an ending): keep only what is still idle.
            if a.status == AssignmentStatus::Active && a.last_use() <= cutoff {
                idle.push(a);
            }
        }
        Ok(idle)
    }

    async fn held_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Assignment>> {
        // Key bounds are inclusive because sort keys are cut to microseconds; the record decides exactly.
        let active = self
            .0
            .query_all(
                Some("byGranted"),
                "#held = :h AND #grantedKey <= :to",
                &[(":h", s(HELD)), (":to", s(sort_time(to)))],
                true,
            )
            .await?;
        let ended = self
            .0
            .query_all(
                Some("byEnded"),
                "#ended = :e AND #endedKey >= :from",
                &[(":e", s(ENDED)), (":from", s(sort_time(from)))],
                true,
            )
            .await?;
        // A holding that ended a moment ago may still be in both indexes: keep its newest version.
        let mut newest: BTreeMap<String, Assignment> = BTreeMap::new();
        for item in active.into_iter().chain(ended) {
            let a: Assignment = from_item(item)?;
            if newest
                .get(&a.assignment_id)
                .is_none_or(|kept| kept.version < a.version)
            {
                newest.insert(a.assignment_id.clone(), a);
            }
        }
        Ok(newest
            .into_values()
            .filter(|a| a.held_between(from, to))
            .collect())
    }

    async fn list_by_holder(&self, holder_id: &str) -> Result<Vec<Assignment>> {
        let items = self
            .0
            .query_all(
                Some("byHolder"),
                "#holderId = :h",
                &[(":h", s(holder_id))],
                true,
            )
            .await?;
        items.into_iter().map(from_item).collect()
    }
}
