//! What an auditor sees in the reports after a few weeks of real requests, approvals and a return, over the
//! HTTP API. The virtual clock is moved to 25 January 2040 first, so the months are fixed: January 2040 has 31
//! days, February 2040 has 29.

use provisio_tests::{Stack, assert_problem};
use serde_json::{Value, json};

fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    rfc3339.parse().expect("RFC 3339")
}

/// Hours as the report shows them, within 0.05 h: the virtual clock runs on with wall time between steps.
fn assert_hours(value: &Value, hours: f64, what: &str) {
    let shown = value.as_f64().unwrap_or_else(|| panic!("{what}: {value}"));
    assert!(
        (shown - hours).abs() < 0.05,
        "{what}: {shown} h, expected {hours} h"
    );
}

#[tokio::test]
async fn an_auditor_reads_chargeback_and_fulfilment_metrics_of_real_requests() {
    let s = Stack::start().await;
    s.advance_to(at("2040-01-25T10:00:00Z")).await;

    // E013 (CC-100) gets lucidchart (9 EUR/month, GL 6200) and a YubiKey (55 EUR once, GL 1500), both
    // auto-approved. E022 (CC-400), E014 and E015 ask for figma-professional (15 EUR/month, GL 6200), which waits
    // for their manager (E005 for E022, E009 for E014 and E015).
    let lucid = s.submit("E013", json!({"itemId": "lucidchart"})).await;
    let yubikey = s.submit("E013", json!({"itemId": "yubikey-5c"})).await;
    let figma = s
        .submit("E022", json!({"itemId": "figma-professional"}))
        .await;
    let rejected = s
        .submit("E014", json!({"itemId": "figma-professional"}))
        .await;
    let cancelled = s
        .submit("E015", json!({"itemId": "figma-professional"}))
        .await;
    s.wait_status("E013", &lucid, "FULFILLED").await;
    s.wait_status("E013", &yubikey, "FULFILLED").await;
    let figma_approval = s.wait_open_stage("E022", &figma, 0).await;
    let rejected_approval = s.wait_open_stage("E014", &rejected, 0).await;
    s.wait_open_stage("E015", &cancelled, 0).await;

    // After 1 h E015 cancels; after 2 h E009 rejects E014's; after 5 h E005 approves E022's (at 15:00).
    s.advance_hours(1).await;
    let r = s
        .call(
            "E015",
            "POST",
            &format!("/requests/{cancelled}/cancel"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.advance_hours(1).await;
    let r = s.decide("E009", &rejected_approval, "reject", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.wait_status("E014", &rejected, "REJECTED").await;
    s.advance_hours(3).await;
    let r = s.decide("E005", &figma_approval, "approve", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.wait_status("E022", &figma, "FULFILLED").await;

    // Five requests on 25 January, all terminal. Time to fulfil: ~0, ~0 and 5 h: median (rank 2) ~0, p90 (rank
    // 3) 5 h. The manager stage waited 1, 2 and 5 h: median 2 h, p90 5 h.
    let metrics = s
        .call(
            "E021",
            "GET",
            "/reports/fulfilment?from=2040-01-25&to=2040-01-26",
            None,
        )
        .await;
    assert_eq!(metrics.status, 200, "{:?}", metrics.body);
    let m = &metrics.body;
    assert_eq!(
        m["requests"],
        json!({"total": 5, "terminal": 5, "byStatus": {"CANCELLED": 1, "FULFILLED": 3, "REJECTED": 1}})
    );
    assert_eq!(m["timeToFulfil"]["count"], 3);
    assert_hours(
        &m["timeToFulfil"]["medianHours"],
        0.0,
        "median time to fulfil",
    );
    assert_hours(&m["timeToFulfil"]["p90Hours"], 5.0, "p90 time to fulfil");
    assert_eq!(m["stageWaits"].as_array().map(Vec::len), Some(1));
    let manager = &m["stageWaits"][0];
    assert_eq!(
        (&manager["stage"], &manager["count"]),
        (&json!("manager"), &json!(3))
    );
    assert_hours(&manager["medianHours"], 2.0, "median manager wait");
    assert_hours(&manager["p90Hours"], 5.0, "p90 manager wait");
    assert_eq!(m["bottleneck"], "manager");
    assert_eq!(
        m["rates"],
        json!({"rejection": 0.2, "expiry": 0.0, "cancellation": 0.2})
    );

    // E013 returns lucidchart on 10 February at 09:00.
    s.advance_to(at("2040-02-10T09:00:00Z")).await;
    let r = s
        .call("E013", "POST", "/assignments/E013.lucidchart/return", None)
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    s.wait_assignment("E013", "lucidchart", "returned", |a| {
        a["status"] == "RETURNED"
    })
    .await;

    // January: the YubiKey once; lucidchart 9 × 7/31 = 2.032… → 2.03; figma 15 × 7/31 = 3.387… → 3.39.
    // Monthly total 168/31 = 5.419… → 5.42.
    let january = s
        .call("E021", "GET", "/reports/chargeback?month=2040-01", None)
        .await;
    assert_eq!(january.status, 200, "{:?}", january.body);
    assert_eq!(
        (&january.body["lines"], &january.body["totals"]),
        (
            &json!([
                {"costCenter": "CC-100", "glCode": "1500", "currency": "EUR",
                 "oneTime": 55.0, "monthly": 0.0, "total": 55.0, "holdings": 1},
                {"costCenter": "CC-100", "glCode": "6200", "currency": "EUR",
                 "oneTime": 0.0, "monthly": 2.03, "total": 2.03, "holdings": 1},
                {"costCenter": "CC-400", "glCode": "6200", "currency": "EUR",
                 "oneTime": 0.0, "monthly": 3.39, "total": 3.39, "holdings": 1},
            ]),
            &json!([{"currency": "EUR", "oneTime": 55.0, "monthly": 5.42, "total": 60.42, "holdings": 3}])
        )
    );

    // February, the current month, as CSV: lucidchart Feb 1..10 = 9 × 10/29 = 3.103… → 3.10; figma still held,
    // up to today = 15 × 10/29 = 5.172… → 5.17. No YubiKey: one-time costs fall in the grant month only.
    let csv = s
        .send(
            "GET",
            "/reports/chargeback?month=2040-02",
            Some(&s.token("E021").await),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        csv.text,
        "costCenter,glCode,currency,oneTime,monthly,total,holdings\r\n\
         CC-100,6200,EUR,0.00,3.10,3.10,1\r\n\
         CC-400,6200,EUR,0.00,5.17,5.17,1\r\n"
    );
    // The total comes from the exact sum, 240/29 = 8.275… → 8.28, not from the rounded lines (8.27).
    let february = s
        .call("E021", "GET", "/reports/chargeback?month=2040-02", None)
        .await;
    assert_eq!(february.body["totals"][0]["total"], 8.28);

    // Employees read no reports; without a token nobody does.
    assert_problem(
        &s.call("E013", "GET", "/reports/chargeback?month=2040-01", None)
            .await,
        403,
    );
    assert_problem(
        &s.call(
            "E013",
            "GET",
            "/reports/fulfilment?from=2040-01-25&to=2040-01-26",
            None,
        )
        .await,
        403,
    );
    assert_problem(
        &s.send("GET", "/reports/chargeback?month=2040-01", None, None, &[])
            .await,
        401,
    );
    assert_problem(
        &s.call("E021", "GET", "/reports/chargeback?month=2040-1", None)
            .await,
        400,
    );
}
