use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::Assignment;
use provisio_core::ports::AssignmentStore;

use super::{Item, Table, from_item, s, versioned};

/// Table `assignments`: one item per holding (key `assignmentId` = holder.item); index `byHolder`.
pub struct DynamoAssignments(pub(crate) Table);

fn key(assignment_id: &str) -> Item {
    Item::from([("assignmentId".to_owned(), s(assignment_id))])
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
        if assignment.version > 0 {
            return versioned::save(&self.0, key(&assignment.assignment_id), assignment, &[]).await;
        }
        // A create is the save from version 0, so it stores version 1 like any other save.
        let created = Assignment {
            version: 1,
            ..assignment.clone()
        };
        versioned::create(&self.0, "assignmentId", &created, &[]).await?;
        assignment.version = 1;
        Ok(())
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
