//! Time-bound access ends on time: the daily compliance schedule, under the virtual clock, through the same
//! `/_local/schedules/compliance/run` the timer would call.

use provisio_tests::Stack;
use serde_json::json;

#[tokio::test]
async fn time_bound_access_ends_at_its_expiry_and_not_before() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "lucidchart", "durationHours": 24}))
        .await;
    s.wait_status("E013", &id, "FULFILLED").await;
    let holding = s
        .wait_assignment("E013", "lucidchart", "active", |a| a["status"] == "ACTIVE")
        .await;
    assert!(holding["expiresAt"].is_string(), "time-bound: {holding:?}");

    s.advance_hours(23).await;
    assert_eq!(s.run_schedule("compliance").await["expired"], 0);
    s.wait_assignment("E013", "lucidchart", "still active", |a| {
        a["status"] == "ACTIVE"
    })
    .await;

    s.advance_hours(2).await;
    assert_eq!(s.run_schedule("compliance").await["expired"], 1);
    s.wait_assignment("E013", "lucidchart", "expired", |a| {
        a["status"] == "EXPIRED"
    })
    .await;
    let revoked = s.wait_published("AccessRevoked", 1).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["reason"], "EXPIRED");
    assert_eq!(
        s.run_schedule("compliance").await["expired"],
        0,
        "nothing left to end"
    );
}

#[tokio::test]
async fn an_extension_before_expiry_keeps_access() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "lucidchart", "durationHours": 24}))
        .await;
    s.wait_status("E013", &id, "FULFILLED").await;
    s.advance_hours(20).await;
    let holding = s
        .wait_assignment("E013", "lucidchart", "active", |a| a["status"] == "ACTIVE")
        .await;
    let extend = s
        .call(
            "E013",
            "POST",
            &format!(
                "/assignments/{}/extend",
                holding["assignmentId"].as_str().unwrap()
            ),
            Some(json!({"durationHours": 48})),
        )
        .await;
    assert_eq!(extend.status, 202, "{:?}", extend.body);
    s.wait_status(
        "E013",
        extend.body["requestId"].as_str().unwrap(),
        "FULFILLED",
    )
    .await;

    s.advance_hours(10).await;
    assert_eq!(
        s.run_schedule("compliance").await["expired"],
        0,
        "the extension moved the expiry"
    );
    s.wait_assignment("E013", "lucidchart", "still active", |a| {
        a["status"] == "ACTIVE"
    })
    .await;
}
