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

#[tokio::test]
async fn auditors_see_an_expiry_notice_until_the_holder_extends() {
    let s = Stack::start().await;
    let id = s
        .submit("E013", json!({"itemId": "lucidchart", "durationHours": 72}))
        .await;
    s.wait_status("E013", &id, "FULFILLED").await;
    let findings = |who: &'static str| {
        let s = &s;
        async move {
            s.call(who, "GET", "/reports/findings?kind=expiring", None)
                .await
        }
    };

    // Held for 72 h, inside the default week of notice: the first sweep tells the holder.
    let report = s.run_schedule("compliance").await;
    assert_eq!(report["findings"]["expiring"]["opened"], 1, "{report}");
    let notice = s.wait_published("FindingOpened", 1).await;
    assert_eq!(notice[0]["findingId"], "expiring:E013.lucidchart");
    assert_eq!(notice[0]["detail"]["holderId"], "E013");
    let seen = findings("E021").await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    assert_eq!(seen.body["items"][0]["subject"], "E013.lucidchart");
    assert_eq!(seen.body["items"][0]["status"], "OPEN");
    assert_eq!(
        findings("E013").await.status,
        403,
        "holders are told by event, not by the report"
    );

    // Extended by a month, the holding leaves the notice window and the notice resolves.
    let extend = s
        .call(
            "E013",
            "POST",
            "/assignments/E013.lucidchart/extend",
            Some(json!({"durationHours": 720})),
        )
        .await;
    assert_eq!(extend.status, 202, "{:?}", extend.body);
    let ext = extend.body["requestId"].as_str().unwrap().to_string();
    s.wait_status("E013", &ext, "FULFILLED").await;
    let report = s.run_schedule("compliance").await;
    assert_eq!(report["findings"]["expiring"]["resolved"], 1, "{report}");
    assert_eq!(s.wait_published("FindingResolved", 1).await.len(), 1);
    let seen = findings("E021").await;
    assert_eq!(seen.body["items"], json!([]));
}
