//! Access review campaigns: the quarterly schedule (events/compliance/review-campaign.json) starts one, reviewers
//! keep or revoke, and the daily sweep (events/compliance/scheduled.json) handles what nobody reviewed.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use provisio_core::model::{
    AccessReviewPolicy, Caller, IdentityStatus, ReviewStatus, UnreviewedAction,
};
use provisio_core::names::event_types;
use provisio_core::usecases::compliance::ComplianceSettings;
use provisio_core::usecases::reviews::{self, ReviewDecision, ReviewDecisionInput};
use provisio_core::{Error, Result};
use provisio_lambda::fixtures::{Demo, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::Value;

async fn run(demo: &Demo, case: &str) -> Value {
    let settings = ComplianceSettings::default();
    invoke_json(task_event("compliance", case), |input| {
        compliance::handle(&demo.ports, &settings, input)
    })
    .await
    .expect(case)
}

fn person(id: &str) -> Caller {
    Caller {
        employee_id: id.into(),
        email: None,
        groups: vec![],
    }
}

async fn decide(
    demo: &Demo,
    reviewer: &str,
    review_id: &str,
    decision: ReviewDecision,
) -> Result<()> {
    let input = ReviewDecisionInput {
        decision,
        comment: None,
    };
    reviews::decide(&demo.ports, &person(reviewer), review_id, input)
        .await
        .map(|_| ())
}

async fn status(demo: &Demo, review_id: &str) -> ReviewStatus {
    demo.ports
        .reviews
        .get(review_id)
        .await
        .unwrap()
        .unwrap()
        .status
}

const CAMPAIGN: &str = "2026-Q4";

#[tokio::test]
async fn a_review_campaign_with_keep_revoke_and_unreviewed_outcomes() {
    let demo = demo_ports().await;
    // E009 manages E013 and E014; prod-db-admin is high risk, so its owner E007 reviews it.
    demo.hold("E013", "adobe-creative-cloud").await;
    demo.hold("E014", "tableau-creator").await;
    demo.hold("E015", "prod-db-admin").await;
    demo.hold("E013", "figma-professional").await;

    let started = run(&demo, "review-campaign").await;
    assert_eq!(started["campaign"]["campaignId"], CAMPAIGN);
    assert_eq!(started["campaign"]["status"], "OPEN");
    assert_eq!(started["created"], 4);
    // A retried start creates nothing twice.
    assert_eq!(run(&demo, "review-campaign").await["created"], 0);

    let mine = reviews::pending_for(&demo.ports, &person("E009"))
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    let owner = reviews::pending_for(&demo.ports, &person("E007"))
        .await
        .unwrap();
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0].assignment_id, "E015.prod-db-admin");

    let kept = format!("{CAMPAIGN}.E013.adobe-creative-cloud");
    let revoked = format!("{CAMPAIGN}.E014.tableau-creator");
    let unreviewed_high = format!("{CAMPAIGN}.E015.prod-db-admin");
    let escalated = format!("{CAMPAIGN}.E013.figma-professional");
    decide(&demo, "E009", &kept, ReviewDecision::Keep)
        .await
        .unwrap();
    decide(&demo, "E009", &revoked, ReviewDecision::Revoke)
        .await
        .unwrap();
    // Decided once only; someone else's task does not exist for the caller.
    assert!(matches!(
        decide(&demo, "E009", &kept, ReviewDecision::Revoke).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        decide(&demo, "E022", &escalated, ReviewDecision::Keep).await,
        Err(Error::NotFound(_))
    ));
    let deprovisions = demo.workflow.deprovisions();
    assert_eq!(deprovisions.len(), 1);
    assert_eq!(
        deprovisions[0].input["assignmentId"],
        "E014.tableau-creator"
    );
    assert_eq!(deprovisions[0].input["reason"], "REVOKED");
    assert_eq!(deprovisions[0].input["requestId"], Value::Null);

    // Past the deadline: high risk revokes at once, the rest escalates to the reviewer's manager (E002).
    demo.clock.advance(Duration::days(15));
    let report = run(&demo, "scheduled").await;
    assert_eq!(report["reviews"]["escalated"], 1, "{report}");
    assert_eq!(report["reviews"]["revoked"], 1, "{report}");
    assert_eq!(report["reviews"]["closedCampaigns"], 0, "{report}");
    assert_eq!(
        status(&demo, &unreviewed_high).await,
        ReviewStatus::Unreviewed
    );
    let task = demo.ports.reviews.get(&escalated).await.unwrap().unwrap();
    assert_eq!(
        (
            task.reviewer_id.as_str(),
            task.escalated_from.as_deref(),
            task.status
        ),
        ("E002", Some("E009"), ReviewStatus::Pending)
    );
    assert_eq!(task.due_at, demo.ports.clock.now() + Duration::days(7));
    // The first reviewer lost it.
    assert!(matches!(
        decide(&demo, "E009", &escalated, ReviewDecision::Keep).await,
        Err(Error::NotFound(_))
    ));

    // Unreviewed again: revoked, and the campaign closes.
    demo.clock.advance(Duration::days(8));
    let report = run(&demo, "scheduled").await;
    assert_eq!(report["reviews"]["revoked"], 1, "{report}");
    assert_eq!(report["reviews"]["closedCampaigns"], 1, "{report}");
    assert_eq!(status(&demo, &escalated).await, ReviewStatus::Unreviewed);
    let ended: Vec<String> = demo
        .workflow
        .deprovisions()
        .iter()
        .map(|d| d.input["assignmentId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ended,
        [
            "E014.tableau-creator",
            "E015.prod-db-admin",
            "E013.figma-professional"
        ]
    );

    let auditor = Caller {
        groups: vec!["provisio-auditors".into()],
        ..person("E021")
    };
    let outcome = reviews::report(&demo.ports, &auditor, CAMPAIGN)
        .await
        .unwrap();
    let outcome = serde_json::to_value(outcome).unwrap();
    assert_eq!(outcome["campaign"]["status"], "CLOSED");
    assert_eq!(
        outcome["byStatus"],
        serde_json::json!({"KEPT": 1, "REVOKED": 1, "UNREVIEWED": 2})
    );
    assert_eq!(outcome["escalated"], 1);
    assert_eq!(outcome["pendingByReviewer"], serde_json::json!({}));
    assert_eq!(
        outcome["revokedAssignmentIds"],
        serde_json::json!([
            "E013.figma-professional",
            "E014.tableau-creator",
            "E015.prod-db-admin"
        ])
    );
    assert!(matches!(
        reviews::report(&demo.ports, &person("E013"), CAMPAIGN).await,
        Err(Error::Forbidden(_))
    ));

    let published: Vec<&str> = demo.events.events().iter().map(|e| e.detail_type).collect();
    for kind in [
        event_types::REVIEW_CAMPAIGN_STARTED,
        event_types::REVIEW_REQUESTED,
        event_types::REVIEW_DECIDED,
        event_types::REVIEW_ESCALATED,
        event_types::REVIEW_CAMPAIGN_CLOSED,
    ] {
        assert!(published.contains(&kind), "{kind} in {published:?}");
    }
    let audited: Vec<String> = demo
        .ports
        .audit
        .entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.action.starts_with("review."))
        .map(|e| {
            format!(
                "{} {} {}",
                e.record.actor, e.record.action, e.record.subject
            )
        })
        .collect();
    assert_eq!(audited.len(), 5, "{audited:?}");
    assert!(audited.contains(&format!("E009 review.decided {kept}")));
}

#[tokio::test]
async fn an_item_policy_overrides_the_risk_default() {
    let demo = demo_ports().await;
    let mut item = demo
        .ports
        .catalog
        .get("tableau-creator")
        .await
        .unwrap()
        .unwrap();
    item.access_review = Some(AccessReviewPolicy {
        unreviewed: UnreviewedAction::Revoke,
    });
    demo.ports.catalog.put(item).await.unwrap();
    demo.hold("E014", "tableau-creator").await;
    run(&demo, "review-campaign").await;

    demo.clock.advance(Duration::days(15));
    let report = run(&demo, "scheduled").await;
    assert_eq!(report["reviews"]["revoked"], 1, "{report}");
    assert_eq!(report["reviews"]["escalated"], 0, "{report}");
    assert_eq!(report["reviews"]["closedCampaigns"], 1, "{report}");
}

#[tokio::test]
async fn nobody_reviews_their_own_access_and_terminated_reviewers_are_replaced() {
    let demo = demo_ports().await;
    // E007 owns prod-db-admin (high risk): nobody but the holder could review it.
    demo.hold("E007", "prod-db-admin").await;
    // E013's manager E009 has left: E009's manager E002 reviews instead.
    let mut e009 = demo.ports.identities.get("E009").await.unwrap().unwrap();
    e009.status = IdentityStatus::Terminated;
    demo.ports.identities.put(e009).await.unwrap();
    demo.hold("E013", "adobe-creative-cloud").await;

    let started = run(&demo, "review-campaign").await;
    assert_eq!(started["created"], 1, "{started}");
    assert_eq!(started["campaign"]["skipped"], 1, "{started}");
    let task = demo
        .ports
        .reviews
        .get(&format!("{CAMPAIGN}.E013.adobe-creative-cloud"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.reviewer_id, "E002");
}

#[tokio::test]
async fn a_revoke_leaves_a_holding_granted_anew_since_the_review_began() {
    let demo = demo_ports().await;
    demo.hold("E013", "figma-professional").await;
    run(&demo, "review-campaign").await;
    // E013 returned Figma and was granted it again, through its own approval, before E009 got to the review.
    let mut again = demo
        .ports
        .assignments
        .get("E013.figma-professional")
        .await
        .unwrap()
        .unwrap();
    again.granted_at = demo.ports.clock.now() + Duration::hours(1);
    demo.ports.assignments.save(&mut again).await.unwrap();

    let review = format!("{CAMPAIGN}.E013.figma-professional");
    decide(&demo, "E009", &review, ReviewDecision::Revoke)
        .await
        .unwrap();
    assert!(
        demo.workflow.deprovisions().is_empty(),
        "the new grant is not the access under review"
    );
    assert_eq!(status(&demo, &review).await, ReviewStatus::Revoked);
}
