//! Holdings: returning gives back one source; the last one revokes and frees the seat.

use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn returning_releases_the_seat() {
    let s = Stack::start().await;
    s.put_item("team-seat", json!({"licensePoolId": "pool-team"}))
        .await;
    s.put_pool("pool-team", "team-seat", 2).await;
    let id = s.submit("E013", json!({"itemId": "team-seat"})).await;
    s.wait_status("E013", &id, "FULFILLED").await;
    s.wait_pool("pool-team", 0, 1).await;
    let held = s
        .wait_assignment("E013", "team-seat", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;
    let aid = held["assignmentId"].as_str().unwrap();

    // Nobody else can return it.
    assert_problem(
        &s.call("E015", "POST", &format!("/assignments/{aid}/return"), None)
            .await,
        404,
    );
    let r = s
        .call("E013", "POST", &format!("/assignments/{aid}/return"), None)
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    s.wait_assignment("E013", "team-seat", "RETURNED", |a| {
        a["status"] == "RETURNED"
    })
    .await;
    s.wait_pool("pool-team", 0, 0).await;
    assert_problem(
        &s.call("E013", "POST", &format!("/assignments/{aid}/return"), None)
            .await,
        409,
    );
}

#[tokio::test]
async fn a_second_source_keeps_the_holding_when_one_is_returned() {
    let s = Stack::start().await;
    // vpn-access is auto-approved and also a component of the engineering-starter bundle (manager approval).
    let direct = s.submit("E013", json!({"itemId": "vpn-access"})).await;
    s.wait_status("E013", &direct, "FULFILLED").await;
    let bundle = s
        .submit("E013", json!({"itemId": "engineering-starter"}))
        .await;
    let approval = s.wait_open_stage("E013", &bundle, 0).await;
    assert_eq!(
        s.decide("E009", &approval, "approve", None).await.status,
        200
    );
    s.wait_status("E013", &bundle, "FULFILLED").await;

    let vpn = s
        .wait_assignment("E013", "vpn-access", "two sources", |a| {
            a["sources"].as_array().unwrap().len() == 2
        })
        .await;
    let aid = vpn["assignmentId"].as_str().unwrap().to_string();
    assert_eq!(
        s.assignments("E013")
            .await
            .iter()
            .filter(|a| a["itemId"] == "vpn-access")
            .count(),
        1,
        "extends, never duplicates"
    );
    // The bundle's licensed component took a seat.
    s.wait_pool("pool-jetbrains", 0, 1).await;

    let r = s
        .call(
            "E013",
            "POST",
            &format!("/assignments/{aid}/return"),
            Some(json!({"requestId": direct})),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let kept = s
        .wait_assignment("E013", "vpn-access", "one source", |a| {
            a["sources"].as_array().unwrap().len() == 1
        })
        .await;
    assert_eq!(kept["status"], "ACTIVE");
    assert_eq!(kept["sources"][0]["requestId"], bundle.as_str());

    // Returning the bundle's licensed component frees its seat.
    let jetbrains = s
        .wait_assignment("E013", "jetbrains-intellij-ultimate", "ACTIVE", |a| {
            a["status"] == "ACTIVE"
        })
        .await;
    let jid = jetbrains["assignmentId"].as_str().unwrap();
    assert_eq!(
        s.call("E013", "POST", &format!("/assignments/{jid}/return"), None)
            .await
            .status,
        202
    );
    s.wait_pool("pool-jetbrains", 0, 0).await;
    let unknown = s
        .call(
            "E013",
            "POST",
            &format!("/assignments/{aid}/return"),
            Some(json!({"requestId": "req-nope"})),
        )
        .await;
    assert_problem(&unknown, 400);
}

#[tokio::test]
async fn extending_a_time_bound_holding_moves_its_expiry() {
    let s = Stack::start().await;
    s.put_item(
        "staging-access",
        json!({"category": "access", "maxDurationHours": 48}),
    )
    .await;
    let first = s
        .submit(
            "E013",
            json!({"itemId": "staging-access", "durationHours": 24}),
        )
        .await;
    s.wait_status("E013", &first, "FULFILLED").await;
    let held = s
        .wait_assignment("E013", "staging-access", "ACTIVE", |a| {
            a["status"] == "ACTIVE"
        })
        .await;
    let aid = held["assignmentId"].as_str().unwrap();
    let before = held["expiresAt"].as_str().unwrap().to_string();

    let too_long = s
        .call(
            "E013",
            "POST",
            &format!("/assignments/{aid}/extend"),
            Some(json!({"durationHours": 100})),
        )
        .await;
    assert_problem(&too_long, 400);
    let r = s
        .call(
            "E013",
            "POST",
            &format!("/assignments/{aid}/extend"),
            Some(json!({"durationHours": 48})),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let extension = r.body["requestId"].as_str().unwrap();
    s.wait_status("E013", extension, "FULFILLED").await;
    let after = s
        .wait_assignment("E013", "staging-access", "extended", |a| {
            a["expiresAt"].as_str() > Some(before.as_str())
        })
        .await;
    assert_eq!(after["sources"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn extending_an_item_with_an_approval_policy_asks_again() {
    let s = Stack::start().await;
    let id = s.submit("E013", json!({"itemId": "prod-db-admin", "justification": "incident 4711", "durationHours": 8})).await;
    let manager = s.wait_open_stage("E013", &id, 0).await;
    assert_eq!(
        s.decide("E009", &manager, "approve", None).await.status,
        200
    );
    let security = s.wait_open_stage("E013", &id, 1).await;
    assert_eq!(
        s.decide("E028", &security, "approve", None).await.status,
        200
    );
    s.wait_status("E013", &id, "FULFILLED").await;
    let held = s
        .wait_assignment("E013", "prod-db-admin", "ACTIVE", |a| {
            a["status"] == "ACTIVE"
        })
        .await;

    let aid = held["assignmentId"].as_str().unwrap();
    let r = s
        .call(
            "E013",
            "POST",
            &format!("/assignments/{aid}/extend"),
            Some(json!({"durationHours": 8})),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let extension = r.body["requestId"].as_str().unwrap();
    s.wait_open_stage("E013", extension, 0).await;
    assert_eq!(
        s.request("E013", extension).await["status"],
        "PENDING_APPROVAL"
    );
}
