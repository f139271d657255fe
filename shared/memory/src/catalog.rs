use std::collections::BTreeMap;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::CatalogItem;
use provisio_core::ports::CatalogStore;

use crate::locked::Locked;

/// Every version of every item, oldest first, as the catalog table keeps them.
#[derive(Default)]
pub struct MemoryCatalog(Locked<BTreeMap<String, Vec<CatalogItem>>>);

impl MemoryCatalog {
    /// Every stored version of `item_id`, oldest first. Requests pin `item_version`, so old versions stay.
    pub fn versions(&self, item_id: &str) -> Vec<CatalogItem> {
        self.0
            .with(|items| items.get(item_id).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl CatalogStore for MemoryCatalog {
    async fn get_version(&self, item_id: &str, version: u32) -> Result<Option<CatalogItem>> {
        Ok(self
            .versions(item_id)
            .into_iter()
            .find(|i| i.version == version))
    }

    async fn get(&self, item_id: &str) -> Result<Option<CatalogItem>> {
        Ok(self
            .0
            .with(|items| items.get(item_id).and_then(|v| v.last()).cloned()))
    }

    async fn list(&self) -> Result<Vec<CatalogItem>> {
        Ok(self
            .0
            .with(|items| items.values().filter_map(|v| v.last()).cloned().collect()))
    }

    async fn put(&self, mut item: CatalogItem) -> Result<CatalogItem> {
        self.0.with(|items| {
            let versions = items.entry(item.item_id.clone()).or_default();
            item.version = versions.last().map_or(1, |latest| latest.version + 1);
            versions.push(item.clone());
            Ok(item)
        })
    }
}
