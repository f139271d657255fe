use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use provisio_core::Result;
use provisio_core::model::{CampaignStatus, ReviewCampaign, ReviewStatus, ReviewTask, Timestamp};
use provisio_core::ports::ReviewStore;

use super::{Item, Table, from_item, s, sort_time, versioned};

/// Table `reviews`: campaigns and their tasks under one key `pk` (the campaign id, or the review id, which always
/// holds a dot a campaign id never has). Indexes: `byReviewer` (`pendingReviewer` + `dueKey`, pending tasks
/// only), `byCampaign` (`campaignId` + `reviewId`: tasks only, as campaigns have no review id), `byDue`
/// (`pendingDue` + `dueKey`, pending tasks only) and `openCampaigns` (`openCampaign`, open campaigns only). The
/// sparse indexes keep the sweep and the reviewers' lists to what is pending, however many tasks were decided.
pub struct DynamoReviews(pub(crate) Table);

const KEY: &str = "pk";
/// The one partition of the sparse due-date and open-campaign indexes.
const PENDING: &str = "pending";
const OPEN: &str = "open";

fn key(id: &str) -> Item {
    Item::from([(KEY.to_owned(), s(id))])
}

fn task_attributes(t: &ReviewTask) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = vec![(KEY, s(&t.review_id))];
    if t.status == ReviewStatus::Pending {
        attributes.extend([
            ("pendingReviewer", s(&t.reviewer_id)),
            ("pendingDue", s(PENDING)),
            ("dueKey", s(sort_time(t.due_at))),
        ]);
    }
    attributes
}

fn campaign_attributes(c: &ReviewCampaign) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = vec![(KEY, s(&c.campaign_id))];
    if c.status == CampaignStatus::Open {
        attributes.push(("openCampaign", s(OPEN)));
    }
    attributes
}

impl DynamoReviews {
    /// Tasks an index holds, re-checked against `keep`: the index may lag a save.
    async fn tasks(
        &self,
        index: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
        keep: impl Fn(&ReviewTask) -> bool,
    ) -> Result<Vec<ReviewTask>> {
        let mut tasks = Vec::new();
        for item in self
            .0
            .query_all(Some(index), condition, values, true)
            .await?
        {
            let task: ReviewTask = from_item(item)?;
            if keep(&task) {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }
}

#[async_trait]
impl ReviewStore for DynamoReviews {
    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<ReviewCampaign>> {
        self.0
            .get_item(key(campaign_id))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn save_campaign(&self, campaign: &mut ReviewCampaign) -> Result<()> {
        versioned::create_or_save(&self.0, KEY, campaign, campaign_attributes).await
    }

    async fn open_campaigns(&self) -> Result<Vec<ReviewCampaign>> {
        let items = self
            .0
            .query_all(
                Some("openCampaigns"),
                "#openCampaign = :o",
                &[(":o", s(OPEN))],
                true,
            )
            .await?;
        let mut open = Vec::new();
        for item in items {
            let c: ReviewCampaign = from_item(item)?;
            if c.status == CampaignStatus::Open {
                open.push(c);
            }
        }
        Ok(open)
    }

    async fn get(&self, review_id: &str) -> Result<Option<ReviewTask>> {
        self.0
            .get_item(key(review_id))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn save(&self, task: &mut ReviewTask) -> Result<()> {
        versioned::create_or_save(&self.0, KEY, task, task_attributes).await
    }

    async fn pending_for(&self, reviewer_id: &str) -> Result<Vec<ReviewTask>> {
        self.tasks(
            "byReviewer",
            "#pendingReviewer = :r",
            &[(":r", s(reviewer_id))],
            |t| t.status == ReviewStatus::Pending && t.reviewer_id == reviewer_id,
        )
        .await
    }

    async fn of_campaign(&self, campaign_id: &str) -> Result<Vec<ReviewTask>> {
        self.tasks(
            "byCampaign",
            "#campaignId = :c",
            &[(":c", s(campaign_id))],
            |_| true,
        )
        .await
    }

    async fn overdue(&self, now: Timestamp) -> Result<Vec<ReviewTask>> {
        self.tasks(
            "byDue",
            "#pendingDue = :p AND #dueKey <= :until",
            &[(":p", s(PENDING)), (":until", s(sort_time(now)))],
            |t| t.status == ReviewStatus::Pending && t.due_at <= now,
        )
        .await
    }
}
