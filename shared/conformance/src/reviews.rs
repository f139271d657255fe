use chrono::Duration;
use provisio_core::Error;
use provisio_core::model::{CampaignStatus, ReviewCampaign, ReviewStatus, ReviewTask, Timestamp};
use provisio_core::ports::Ports;

use crate::fixtures::unique;

fn task(campaign_id: &str, holding: &str, reviewer: &str, due_at: Timestamp) -> ReviewTask {
    ReviewTask {
        review_id: ReviewTask::id_for(campaign_id, holding),
        campaign_id: campaign_id.into(),
        assignment_id: holding.into(),
        holder_id: "E-holder".into(),
        item_id: "zoom-pro".into(),
        granted_at: Some(due_at - chrono::Duration::days(90)),
        reviewer_id: reviewer.into(),
        status: ReviewStatus::Pending,
        due_at,
        escalated_from: None,
        decided_by: None,
        decided_at: None,
        comment: None,
        version: 0,
    }
}

fn ids(tasks: Vec<ReviewTask>, campaign_id: &str) -> Vec<String> {
    tasks
        .into_iter()
        .filter(|t| t.campaign_id == campaign_id)
        .map(|t| t.review_id)
        .collect()
}

async fn open_ids(ports: &Ports, campaign_id: &str) -> Vec<String> {
    ports
        .reviews
        .open_campaigns()
        .await
        .expect("open campaigns failed")
        .into_iter()
        .filter(|c| c.campaign_id == campaign_id)
        .map(|c| c.campaign_id)
        .collect()
}

pub async fn review_campaigns_are_optimistic_and_listed_while_open(ports: &Ports) {
    let now = ports.clock.now();
    let id = unique("campaign");
    let mut campaign = ReviewCampaign {
        campaign_id: id.clone(),
        started_at: now,
        started_by: "E-admin".into(),
        deadline: now + Duration::days(14),
        status: CampaignStatus::Open,
        skipped: 0,
        closed_at: None,
        version: 0,
    };
    let reviews = &ports.reviews;
    reviews
        .save_campaign(&mut campaign)
        .await
        .expect("campaign create failed");
    assert_eq!(campaign.version, 1, "a create stores version 1");
    assert_eq!(
        reviews
            .get_campaign(&id)
            .await
            .expect("get campaign failed"),
        Some(campaign.clone()),
        "a campaign reads back as saved"
    );
    let mut again = ReviewCampaign {
        version: 0,
        ..campaign.clone()
    };
    assert!(
        matches!(
            reviews.save_campaign(&mut again).await,
            Err(Error::Conflict(_))
        ),
        "a second create of the same campaign is a conflict"
    );
    assert_eq!(
        open_ids(ports, &id).await,
        [id.as_str()],
        "an open campaign is listed"
    );
    let mut stale = campaign.clone();
    campaign.status = CampaignStatus::Closed;
    reviews
        .save_campaign(&mut campaign)
        .await
        .expect("campaign save failed");
    assert!(
        matches!(
            reviews.save_campaign(&mut stale).await,
            Err(Error::Conflict(_))
        ),
        "a save from an old version is a conflict"
    );
    assert!(
        open_ids(ports, &id).await.is_empty(),
        "a closed campaign is not listed"
    );
}

pub async fn review_tasks_are_optimistic_and_indexed_while_pending(ports: &Ports) {
    let now = ports.clock.now();
    let campaign = unique("campaign");
    let reviewer = unique("reviewer");
    let reviews = &ports.reviews;
    let mut overdue = task(
        &campaign,
        "E1.zoom-pro",
        &reviewer,
        now - Duration::hours(1),
    );
    let mut due_now = task(&campaign, "E2.zoom-pro", &reviewer, now);
    let mut later = task(
        &campaign,
        "E3.zoom-pro",
        &reviewer,
        now + Duration::hours(1),
    );
    for t in [&mut later, &mut due_now, &mut overdue] {
        reviews.save(t).await.expect("task create failed");
        assert_eq!(t.version, 1, "a create stores version 1");
    }
    assert_eq!(
        reviews.get(&overdue.review_id).await.expect("get failed"),
        Some(overdue.clone()),
        "a task reads back as saved"
    );
    let mut again = ReviewTask {
        version: 0,
        ..overdue.clone()
    };
    assert!(
        matches!(reviews.save(&mut again).await, Err(Error::Conflict(_))),
        "a second create of the same review is a conflict"
    );
    let pending = reviews
        .pending_for(&reviewer)
        .await
        .expect("pending_for failed");
    assert_eq!(
        ids(pending, &campaign),
        [
            overdue.review_id.as_str(),
            &due_now.review_id,
            &later.review_id
        ],
        "a reviewer's pending tasks, earliest due first"
    );
    let due = reviews.overdue(now).await.expect("overdue failed");
    assert_eq!(
        ids(due, &campaign),
        [overdue.review_id.as_str(), &due_now.review_id],
        "overdue: pending tasks due at or before now, earliest first"
    );

    let stale = overdue.clone();
    overdue.status = ReviewStatus::Kept;
    overdue.decided_by = Some(reviewer.clone());
    reviews.save(&mut overdue).await.expect("task save failed");
    assert!(
        matches!(
            reviews.save(&mut stale.clone()).await,
            Err(Error::Conflict(_))
        ),
        "a save from an old version is a conflict"
    );
    let pending = reviews
        .pending_for(&reviewer)
        .await
        .expect("pending_for failed");
    assert_eq!(
        ids(pending, &campaign),
        [due_now.review_id.as_str(), &later.review_id],
        "a decided task leaves the reviewer's list"
    );
    let due = reviews.overdue(now).await.expect("overdue failed");
    assert_eq!(
        ids(due, &campaign),
        [due_now.review_id.as_str()],
        "a decided task is not overdue"
    );
    let all = reviews
        .of_campaign(&campaign)
        .await
        .expect("of_campaign failed");
    assert_eq!(
        all.iter()
            .map(|t| (t.review_id.as_str(), t.status))
            .collect::<Vec<_>>(),
        [
            (overdue.review_id.as_str(), ReviewStatus::Kept),
            (due_now.review_id.as_str(), ReviewStatus::Pending),
            (later.review_id.as_str(), ReviewStatus::Pending),
        ],
        "a campaign's tasks, decided or not, in review id order"
    );
}
