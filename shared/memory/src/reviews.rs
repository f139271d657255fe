use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{CampaignStatus, ReviewCampaign, ReviewStatus, ReviewTask, Timestamp};
use provisio_core::ports::ReviewStore;

use crate::versioned::VersionedMap;

#[derive(Default)]
pub struct MemoryReviews {
    campaigns: VersionedMap<ReviewCampaign>,
    tasks: VersionedMap<ReviewTask>,
}

impl MemoryReviews {
    /// Pending tasks `keep` accepts, earliest due first (as the DynamoDB indexes sort them).
    fn pending(&self, keep: impl Fn(&ReviewTask) -> bool) -> Vec<ReviewTask> {
        let mut tasks = self
            .tasks
            .select(|t| t.status == ReviewStatus::Pending && keep(t));
        tasks.sort_by_key(|t| t.due_at);
        tasks
    }
}

#[async_trait]
impl ReviewStore for MemoryReviews {
    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<ReviewCampaign>> {
        Ok(self.campaigns.get(campaign_id))
    }

    async fn save_campaign(&self, campaign: &mut ReviewCampaign) -> Result<()> {
        self.campaigns.create_or_save(campaign)
    }

    async fn open_campaigns(&self) -> Result<Vec<ReviewCampaign>> {
        Ok(self.campaigns.select(|c| c.status == CampaignStatus::Open))
    }

    async fn get(&self, review_id: &str) -> Result<Option<ReviewTask>> {
        Ok(self.tasks.get(review_id))
    }

    async fn save(&self, task: &mut ReviewTask) -> Result<()> {
        self.tasks.create_or_save(task)
    }

    async fn pending_for(&self, reviewer_id: &str) -> Result<Vec<ReviewTask>> {
        Ok(self.pending(|t| t.reviewer_id == reviewer_id))
    }

    async fn of_campaign(&self, campaign_id: &str) -> Result<Vec<ReviewTask>> {
        Ok(self.tasks.select(|t| t.campaign_id == campaign_id))
    }

    async fn overdue(&self, now: Timestamp) -> Result<Vec<ReviewTask>> {
        Ok(self.pending(|t| t.due_at <= now))
    }
}
