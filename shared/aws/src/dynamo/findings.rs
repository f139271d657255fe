use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use provisio_core::Result;
use provisio_core::model::{Finding, FindingKind};
use provisio_core::ports::FindingStore;

use super::{Item, Table, from_item_keeping, s, versioned};

/// Table `findings`: one item per kind and subject (key `findingId`), and the sparse index `byKind`
/// (`activeKind` = the kind while the finding is active or its event is still to go out), so a sweep reads only
/// the findings it may have to resolve, however many resolved ones have piled up.
pub struct DynamoFindings(pub(crate) Table);

/// The finding in `item`: its own `kind` is kept (the identities table uses `kind` as an index attribute).
fn decode(item: Item) -> Result<Finding> {
    from_item_keeping(item, &["kind"])
}

fn key(finding_id: &str) -> Item {
    Item::from([("findingId".to_owned(), s(finding_id))])
}

fn index_attributes(f: &Finding) -> Vec<(&'static str, AttributeValue)> {
    if f.is_active() || !f.published {
        vec![("activeKind", s(f.kind.as_str()))]
    } else {
        vec![]
    }
}

#[async_trait]
impl FindingStore for DynamoFindings {
    async fn get(&self, finding_id: &str) -> Result<Option<Finding>> {
        self.0
            .get_item(key(finding_id))
            .await?
            .map(decode)
            .transpose()
    }

    async fn save(&self, finding: &mut Finding) -> Result<()> {
        versioned::create_or_save(&self.0, "findingId", finding, index_attributes).await
    }

    async fn active(&self, kind: FindingKind) -> Result<Vec<Finding>> {
        let items = self
            .0
            .query_all(
                Some("byKind"),
                "#activeKind = :k",
                &[(":k", s(kind.as_str()))],
                true,
            )
            .await?;
        let mut active = Vec::new();
        for item in items {
            let f = decode(item)?;
            // The index may lag a save: keep only what still belongs there.
            if f.is_active() || !f.published {
                active.push(f);
            }
        }
        Ok(active)
    }
}
