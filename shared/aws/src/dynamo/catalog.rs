use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use provisio_core::model::CatalogItem;
use provisio_core::ports::CatalogStore;
use provisio_core::{Error, Result};

use super::{Item, RACE_RETRIES, Table, backoff, from_item, n, s, to_item};

/// Table `catalog`: one item per version (key `itemId` + `version`). The newest version also carries
/// `current = "1"`, which puts it in the sparse index `current` that lists the catalog.
pub struct DynamoCatalog(pub(crate) Table);

const CURRENT: &str = "1";

impl DynamoCatalog {
    async fn latest_version(&self, item_id: &str) -> Result<Option<CatalogItem>> {
        self.0
            .newest("itemId", item_id)
            .await?
            .map(from_item)
            .transpose()
    }

    /// Writes version `latest + 1` and moves the `current` marker to it, in one transaction; a concurrent
    /// writer of the same version makes it fail, and the caller retries on the new latest.
    async fn try_put(&self, item: &CatalogItem, latest: Option<u32>) -> Result<bool> {
        let put = Put::builder()
            .table_name(&self.0.name)
            .set_item(Some(to_item(item, &[("current", s(CURRENT))])?))
            .condition_expression("attribute_not_exists(itemId)")
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(previous) = latest {
            let demote = Update::builder()
                .table_name(&self.0.name)
                .set_key(Some(Item::from([
                    ("itemId".to_owned(), s(&item.item_id)),
                    ("version".to_owned(), n(previous)),
                ])))
                .update_expression("REMOVE #c")
                .condition_expression("#c = :c")
                .expression_attribute_names("#c", "current")
                .expression_attribute_values(":c", s(CURRENT))
                .build()
                .map_err(|e| Error::Internal(e.to_string()))?;
            writes.push(TransactWriteItem::builder().update(demote).build());
        }
        Ok(self.0.transact(writes).await?.is_none())
    }
}

#[async_trait]
impl CatalogStore for DynamoCatalog {
    async fn get(&self, item_id: &str) -> Result<Option<CatalogItem>> {
        self.latest_version(item_id).await
    }

    async fn get_version(&self, item_id: &str, version: u32) -> Result<Option<CatalogItem>> {
        let key = Item::from([
            ("itemId".to_owned(), s(item_id)),
            ("version".to_owned(), n(version)),
        ]);
        self.0.get_item(key).await?.map(from_item).transpose()
    }

    async fn list(&self) -> Result<Vec<CatalogItem>> {
        let items = self
            .0
            .query_all(
                Some("current"),
                "#current = :c",
                &[(":c", s(CURRENT))],
                true,
            )
            .await?;
        items.into_iter().map(from_item).collect()
    }

    async fn put(&self, mut item: CatalogItem) -> Result<CatalogItem> {
        for attempt in 0..RACE_RETRIES {
            let latest = self.latest_version(&item.item_id).await?.map(|i| i.version);
            item.version = latest.map_or(1, |v| v + 1);
            if self.try_put(&item, latest).await? {
                return Ok(item);
            }
            backoff(attempt).await;
        }
        Err(Error::Conflict(format!(
            "catalog item {} is being changed concurrently",
            item.item_id
        )))
    }
}
