//! Licence reclamation over the HTTP API: a holding nobody uses gets a notice, then a grace period, then is
//! revoked and its seat freed; a usage signal (`POST /usage`, as a connector reports it) during the grace period
//! keeps it. The daily compliance schedule runs through `/_local/schedules/compliance/run` under the virtual clock.

use provisio_tests::Stack;
use serde_json::json;

const HOLDING: &str = "E011.design-suite";
const FINDING: &str = "idle:E011.design-suite";

/// Runs the sweep and returns its idle stream's counts and how many holdings it reclaimed.
async fn sweep(s: &Stack) -> (serde_json::Value, serde_json::Value) {
    let report = s.run_schedule("compliance").await;
    assert_eq!(report["failed"], 0, "{report}");
    (
        report["findings"]["idle"].clone(),
        report["reclaimed"].clone(),
    )
}

#[tokio::test]
async fn reclamation_notice_then_grace_then_revoke() {
    let s = Stack::start().await;
    // One seat, reclaimed after 30 idle days and 14 days' notice.
    s.put_item(
        "design-suite",
        json!({"licensePoolId": "pool-design", "reclamation": {"idleDays": 30, "graceDays": 14}}),
    )
    .await;
    s.put_pool("pool-design", "design-suite", 1).await;
    let id = s.submit("E011", json!({"itemId": "design-suite"})).await;
    s.wait_status("E011", &id, "FULFILLED").await;
    s.wait_pool("pool-design", 0, 1).await;

    // Used on day 20 (the connector reports it): not idle on day 49, idle on day 51.
    s.advance_hours(20 * 24).await;
    let used = s.report_usage(HOLDING, s.stack.clock.now()).await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(used.body["status"], "ACTIVE");
    s.advance_hours(29 * 24).await;
    assert_eq!(sweep(&s).await.0["opened"], 0);
    s.advance_hours(2 * 24).await;
    assert_eq!(
        sweep(&s).await.0,
        json!({"opened": 1, "resolved": 0, "open": 1})
    );
    let notice = s.wait_published("FindingOpened", 1).await;
    assert_eq!(notice[0]["findingId"], FINDING);
    assert_eq!(notice[0]["detail"]["holderId"], "E011");
    assert!(notice[0]["detail"]["revokeAt"].is_string(), "{notice:?}");

    // Used again during the grace period: the notice is withdrawn and nothing is revoked.
    s.advance_hours(4 * 24).await;
    let used = s.report_usage(HOLDING, s.stack.clock.now()).await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(
        sweep(&s).await,
        (json!({"opened": 0, "resolved": 1, "open": 0}), json!(0))
    );
    s.advance_hours(11 * 24).await;
    assert_eq!(
        sweep(&s).await.1,
        0,
        "the old grace period is over, the holding is not idle"
    );

    // Unused for 30 days after that: a new notice, and 14 days later the licence goes back to the pool.
    s.advance_hours(20 * 24).await;
    assert_eq!(sweep(&s).await.0["opened"], 1);
    s.advance_hours(13 * 24).await;
    assert_eq!(sweep(&s).await.1, 0, "still within the grace period");
    s.advance_hours(24).await;
    assert_eq!(sweep(&s).await.1, 1);
    s.wait_assignment("E011", "design-suite", "revoked", |a| {
        a["status"] == "REVOKED"
    })
    .await;
    let revoked = s.wait_published("AccessRevoked", 1).await;
    assert_eq!(revoked[0]["reason"], "REVOKED");
    s.wait_pool("pool-design", 0, 0).await;

    // Its access ended, the notice resolves; a late signal for the ended holding changes nothing.
    assert_eq!(
        sweep(&s).await,
        (json!({"opened": 0, "resolved": 1, "open": 0}), json!(0))
    );
    let late = s.report_usage(HOLDING, s.stack.clock.now()).await;
    assert_eq!(late.status, 200, "{:?}", late.body);
    assert_eq!(late.body["status"], "REVOKED");
    let unknown = s.report_usage("E011.nothing", s.stack.clock.now()).await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
}

#[tokio::test]
async fn concurrent_usage_signals_keep_the_latest() {
    let s = Stack::start().await;
    let id = s.submit("E011", json!({"itemId": "lucidchart"})).await;
    s.wait_status("E011", &id, "FULFILLED").await;
    let now = s.stack.clock.now();
    // Eight at once, in no order: each lost save is re-read and retried, and the last use never moves back.
    let signals: Vec<_> = (0..8)
        .map(|minutes| {
            let s = s.clone();
            tokio::spawn(async move {
                s.report_usage("E011.lucidchart", now - chrono::Duration::minutes(minutes))
                    .await
            })
        })
        .collect();
    for signal in signals {
        let reply = signal.await.expect("signal task");
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let holding = s
        .wait_assignment("E011", "lucidchart", "used", |a| {
            a["lastUsedAt"].is_string()
        })
        .await;
    let last: chrono::DateTime<chrono::Utc> =
        holding["lastUsedAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(last, now);
}
