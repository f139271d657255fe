use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{Finding, FindingKind};
use provisio_core::ports::FindingStore;

use crate::versioned::VersionedMap;

#[derive(Default)]
pub struct MemoryFindings(VersionedMap<Finding>);

#[async_trait]
impl FindingStore for MemoryFindings {
    async fn get(&self, finding_id: &str) -> Result<Option<Finding>> {
        Ok(self.0.get(finding_id))
    }

    async fn save(&self, finding: &mut Finding) -> Result<()> {
        self.0.create_or_save(finding)
    }

    async fn active(&self, kind: FindingKind) -> Result<Vec<Finding>> {
        // As the DynamoDB index: a resolved finding stays until its event went out.
        Ok(self
            .0
            .select(|f| f.kind == kind && (f.is_active() || !f.published)))
    }
}
