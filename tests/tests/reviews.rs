//! Access reviews over the HTTP API: an admin starts a campaign, the holders' manager keeps one holding and
//! revokes another (its seat is released), nobody reviews a high-risk holding, which the daily compliance
//! schedule revokes at the deadline; the campaign then closes and its report shows every outcome.

use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn a_review_campaign_with_keep_revoke_and_unreviewed_outcomes() {
    let s = Stack::start().await;
    s.put_item(
        "team-seat",
        json!({"licensePoolId": "pool-team", "accessReview": {"unreviewed": "escalate"}}),
    )
    .await;
    s.put_pool("pool-team", "team-seat", 3).await;
    // High risk: its owner reviews it, and unreviewed it is revoked (the default for high risk).
    s.put_item("vault-access", json!({"risk": "high", "ownerId": "E007"}))
        .await;
    for (employee, item) in [
        ("E013", "team-seat"),
        ("E014", "team-seat"),
        ("E015", "vault-access"),
    ] {
        let id = s.submit(employee, json!({"itemId": item})).await;
        s.wait_status(employee, &id, "FULFILLED").await;
    }
    s.wait_pool("pool-team", 0, 2).await;

    let employee = s
        .call("E013", "POST", "/admin/reviews/campaigns", Some(json!({})))
        .await;
    assert_problem(&employee, 403);
    let started = s
        .call(
            "E016",
            "POST",
            "/admin/reviews/campaigns",
            Some(json!({"deadlineDays": 14})),
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let campaign = started.body["campaignId"].as_str().unwrap().to_owned();
    assert_eq!(started.body["status"], "OPEN");
    let second = s
        .call("E016", "POST", "/admin/reviews/campaigns", None)
        .await;
    assert_problem(&second, 409);

    // E009 manages E013 and E014; E007 owns vault-access.
    let mine = s.call("E009", "GET", "/reviews", None).await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    let mut holdings: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["assignmentId"].as_str().unwrap())
        .collect();
    holdings.sort_unstable();
    assert_eq!(holdings, ["E013.team-seat", "E014.team-seat"]);
    let owner = s.call("E007", "GET", "/reviews", None).await;
    assert_eq!(owner.body["items"][0]["assignmentId"], "E015.vault-access");

    let review = |holding: &str| format!("/reviews/{campaign}.{holding}/decision");
    let kept = s
        .call(
            "E009",
            "POST",
            &review("E013.team-seat"),
            Some(json!({"decision": "keep", "comment": "still needed"})),
        )
        .await;
    assert_eq!(kept.status, 200, "{:?}", kept.body);
    assert_eq!(kept.body["status"], "KEPT");
    let not_mine = s
        .call(
            "E022",
            "POST",
            &review("E014.team-seat"),
            Some(json!({"decision": "keep"})),
        )
        .await;
    assert_problem(&not_mine, 404);
    let revoked = s
        .call(
            "E009",
            "POST",
            &review("E014.team-seat"),
            Some(json!({"decision": "revoke"})),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["status"], "REVOKED");
    let again = s
        .call(
            "E009",
            "POST",
            &review("E014.team-seat"),
            Some(json!({"decision": "keep"})),
        )
        .await;
    assert_problem(&again, 409);
    s.wait_assignment("E014", "team-seat", "REVOKED", |a| a["status"] == "REVOKED")
        .await;
    s.wait_pool("pool-team", 0, 1).await;

    let progress = s
        .call(
            "E021",
            "GET",
            &format!("/admin/reviews/campaigns/{campaign}"),
            None,
        )
        .await;
    assert_eq!(progress.status, 200, "{:?}", progress.body);
    assert_eq!(progress.body["pendingByReviewer"], json!({"E007": 1}));

    // Past the deadline nobody reviewed vault-access: revoked, and the campaign closes.
    s.advance_hours(15 * 24).await;
    let sweep = s.run_schedule("compliance").await;
    assert_eq!(sweep["reviews"]["revoked"], 1, "{sweep}");
    assert_eq!(sweep["reviews"]["closedCampaigns"], 1, "{sweep}");
    s.wait_assignment("E015", "vault-access", "REVOKED", |a| {
        a["status"] == "REVOKED"
    })
    .await;
    s.wait_assignment("E013", "team-seat", "still ACTIVE", |a| {
        a["status"] == "ACTIVE"
    })
    .await;

    let outcome = s
        .call(
            "E021",
            "GET",
            &format!("/admin/reviews/campaigns/{campaign}"),
            None,
        )
        .await;
    assert_eq!(outcome.status, 200, "{:?}", outcome.body);
    assert_eq!(outcome.body["campaign"]["status"], "CLOSED");
    assert_eq!(
        outcome.body["byStatus"],
        json!({"KEPT": 1, "REVOKED": 1, "UNREVIEWED": 1})
    );
    assert_eq!(
        outcome.body["revokedAssignmentIds"],
        json!(["E014.team-seat", "E015.vault-access"])
    );
    assert_eq!(s.wait_published("ReviewDecided", 3).await.len(), 3);
    assert_eq!(s.wait_published("ReviewCampaignClosed", 1).await.len(), 1);

    // The quarterly schedule starts the next campaign over what is still held, once.
    let quarterly = s.run_schedule("reviews").await;
    assert_eq!(quarterly["created"], 1, "{quarterly}");
    assert_eq!(s.run_schedule("reviews").await["created"], 0);
}
