//! The compliance sweep on its schedule event (events/compliance/scheduled.json), under a manual clock.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use provisio_core::model::{
    AppliedChange, AssignmentStatus, Caller, FindingStatus, IdentityStatus, Reclamation,
};
use provisio_core::names::event_types;
use provisio_core::usecases::compliance::ComplianceSettings;
use provisio_core::usecases::fulfilment::{self, Deprovision};
use provisio_core::usecases::usage::{self, UsageSignal};
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, demo_ports, task_event};
use provisio_lambda::task::invoke_json;
use serde_json::{Value, json};

const HOLDING: &str = "E013.prod-db-admin";

async fn sweep_with(demo: &Demo, settings: &ComplianceSettings) -> Value {
    invoke_json(task_event("compliance", "scheduled"), |input| {
        compliance::handle(&demo.ports, settings, input)
    })
    .await
    .expect("sweep")
}

async fn sweep(demo: &Demo) -> Value {
    sweep_with(demo, &ComplianceSettings::default()).await
}

/// (detail-type, subject) of the finding events published so far.
fn finding_events(demo: &Demo) -> Vec<(&'static str, String)> {
    demo.events
        .events()
        .into_iter()
        .filter(|e| e.detail_type.starts_with("Finding"))
        .map(|e| {
            (
                e.detail_type,
                e.detail["findingId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn time_bound_access_is_deprovisioned_when_it_expires_and_not_before() {
    let demo = demo_ports().await;
    // prod-db-admin is held for at most 72 hours.
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "prod-db-admin")
        .await;
    let holding = demo.ports.assignments.get(HOLDING).await.unwrap().unwrap();
    let expires_at = holding.expires_at.expect("time-bound");
    assert_eq!(expires_at - demo.ports.clock.now(), Duration::hours(72));

    demo.clock.advance(Duration::hours(71));
    let report = sweep(&demo).await;
    assert_eq!(
        (report["expired"].clone(), report["failed"].clone()),
        (json!(0), json!(0))
    );
    assert!(
        demo.workflow.deprovisions().is_empty(),
        "not before its time"
    );

    demo.clock.advance(Duration::hours(2));
    let report = sweep(&demo).await;
    assert_eq!(
        (report["expired"].clone(), report["failed"].clone()),
        (json!(1), json!(0))
    );
    // A re-run before the deprovision finished starts nothing new: the execution name is the same.
    sweep(&demo).await;
    let started = demo.workflow.deprovisions();
    assert_eq!(started.len(), 1);
    let input: Deprovision = serde_json::from_value(started[0].input.clone()).unwrap();
    assert_eq!(input.assignment_id, HOLDING);
    assert_eq!(input.request_id, None, "every source has expired");
    assert_eq!(input.reason, AssignmentStatus::Expired);

    // The deprovision state machine runs it: the holding ends EXPIRED and leaves the sweep's view.
    let ended = fulfilment::deprovision(&demo.ports, &input).await.unwrap();
    assert_eq!(ended.status, AssignmentStatus::Expired);
    assert_eq!(sweep(&demo).await["expired"], 0);
}

#[tokio::test]
async fn the_holder_is_notified_once_within_the_lead_time_and_the_notice_resolves_when_access_ends()
{
    let demo = demo_ports().await;
    let settings = ComplianceSettings {
        expiry_notice: Duration::hours(24),
    };
    demo.fulfil(FIXTURE_REQUEST_ID, "E013", "prod-db-admin")
        .await;
    let id = format!("expiring:{HOLDING}");

    // 72 h held, 24 h notice: nothing at 47 h, the notice at 49 h.
    demo.clock.advance(Duration::hours(47));
    assert_eq!(
        sweep_with(&demo, &settings).await["findings"]["expiring"]["opened"],
        0
    );
    demo.clock.advance(Duration::hours(2));
    let report = sweep_with(&demo, &settings).await;
    assert_eq!(
        report["findings"]["expiring"],
        json!({"opened": 1, "resolved": 0, "open": 1})
    );
    let finding = demo.ports.findings.get(&id).await.unwrap().unwrap();
    assert_eq!(finding.status, FindingStatus::Open);
    assert_eq!(
        finding.detail,
        json!({"assignmentId": HOLDING, "holderId": "E013", "itemId": "prod-db-admin",
               "expiresAt": "2026-11-25T10:00:00Z"})
    );
    let opened = demo
        .events
        .events()
        .into_iter()
        .find(|e| e.detail_type == event_types::FINDING_OPENED)
        .expect("FindingOpened published");
    assert_eq!(opened.detail["kind"], "expiring");
    assert_eq!(
        opened.detail["detail"]["holderId"], "E013",
        "the holder is named by id"
    );

    // Re-runs inside the window tell nobody again.
    sweep_with(&demo, &settings).await;
    assert_eq!(
        finding_events(&demo),
        [(event_types::FINDING_OPENED, id.clone())]
    );

    // Past its expiry the notice is over: the sweep ends the holding and resolves the notice.
    demo.clock.advance(Duration::hours(24));
    let report = sweep_with(&demo, &settings).await;
    assert_eq!(report["expired"], 1);
    assert_eq!(
        report["findings"]["expiring"],
        json!({"opened": 0, "resolved": 1, "open": 0})
    );
    assert_eq!(
        finding_events(&demo),
        [
            (event_types::FINDING_OPENED, id.clone()),
            (event_types::FINDING_RESOLVED, id.clone())
        ]
    );
    assert_eq!(
        demo.ports.findings.get(&id).await.unwrap().unwrap().status,
        FindingStatus::Resolved
    );
}

#[tokio::test]
async fn more_holders_than_seats_is_an_over_allocation_until_the_pool_grows() {
    let demo = demo_ports().await;
    // Three people held Tableau before its pool of 3 seats existed; the renewal bought only 2.
    for holder in ["E009", "E011", "E013"] {
        demo.hold(holder, "tableau-creator").await;
    }
    sweep(&demo).await;
    assert!(
        demo.ports
            .findings
            .get("over_allocation:pool-tableau")
            .await
            .unwrap()
            .is_none()
    );
    demo.ports
        .licenses
        .set_total("pool-tableau", "tableau-creator", 2)
        .await
        .unwrap();

    let report = sweep(&demo).await;
    assert_eq!(report["findings"]["over_allocation"]["opened"], 1);
    let finding = demo
        .ports
        .findings
        .get("over_allocation:pool-tableau")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finding.status, FindingStatus::Open);
    assert_eq!(
        finding.detail,
        json!({"poolId": "pool-tableau", "itemId": "tableau-creator", "total": 2, "inUse": 3,
               "reserved": 0, "denied": 0})
    );

    demo.ports
        .licenses
        .set_total("pool-tableau", "tableau-creator", 3)
        .await
        .unwrap();
    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["over_allocation"],
        json!({"opened": 0, "resolved": 1, "open": 0})
    );

    // The item moves to a new 2-seat pool: the seatless holders count against that one, not the old one.
    demo.ports
        .licenses
        .set_total("pool-tableau-2027", "tableau-creator", 2)
        .await
        .unwrap();
    let mut item = demo
        .ports
        .catalog
        .get("tableau-creator")
        .await
        .unwrap()
        .unwrap();
    item.license_pool_id = Some("pool-tableau-2027".into());
    demo.ports.catalog.put(item).await.unwrap();
    sweep(&demo).await;
    let open = |id: &'static str| {
        let demo = &demo;
        async move { demo.ports.findings.get(id).await.unwrap().map(|f| f.status) }
    };
    assert_eq!(
        open("over_allocation:pool-tableau-2027").await,
        Some(FindingStatus::Open)
    );
    assert_eq!(
        open("over_allocation:pool-tableau").await,
        Some(FindingStatus::Resolved)
    );
}

#[tokio::test]
async fn a_movers_scheduled_revocation_is_no_expiry_notice() {
    let demo = demo_ports().await;
    let now = demo.ports.clock.now();
    // Held until March, but revoked in two days because its holder moved: RevocationScheduled told them.
    let mut held = demo.hold("E011", "zoom-pro").await;
    held.expires_at = Some(now + Duration::days(100));
    held.revocation = Some(provisio_core::model::Revocation {
        at: now + Duration::days(2),
        reason: "moved".into(),
    });
    demo.ports.assignments.save(&mut held).await.unwrap();

    let report = sweep(&demo).await;
    assert_eq!(report["findings"]["expiring"]["open"], 0);
    assert!(
        demo.ports
            .findings
            .get("expiring:E011.zoom-pro")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_pool_under_half_used_is_reported_after_30_days_with_its_refused_requests() {
    let demo = demo_ports().await;
    let id = "under_utilization:pool-jetbrains";
    // 5 seats, none in use: watched from the first sweep, reported only once it has lasted 30 days.
    sweep(&demo).await;
    let watched = demo.ports.findings.get(id).await.unwrap().unwrap();
    assert_eq!(watched.status, FindingStatus::Watching);
    demo.clock.advance(Duration::days(29));
    sweep(&demo).await;
    assert!(
        finding_events(&demo).is_empty(),
        "nothing reported before 30 days"
    );

    // Meanwhile the Adobe pool (2 seats) turned a third requester away.
    for (request, holder) in [("r-a1", "E011"), ("r-a2", "E013"), ("r-a3", "E009")] {
        demo.seed_request(request, holder, "adobe-creative-cloud")
            .await;
        let _ = fulfilment::reserve_seats(&demo.ports, request).await;
    }
    demo.clock.advance(Duration::days(1));
    let report = sweep(&demo).await;
    let opened: Vec<String> = finding_events(&demo)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert!(opened.contains(&id.to_string()), "{opened:?}");
    assert_eq!(
        report["findings"]["under_utilization"]["open"], 4,
        "jetbrains, tableau, copilot, salesforce"
    );
    let finding = demo.ports.findings.get(id).await.unwrap().unwrap();
    assert_eq!(finding.detail["inUse"], 0);
    let adobe = demo
        .ports
        .licenses
        .get_pool("pool-adobe-cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (adobe.reserved, adobe.denied),
        (2, 1),
        "the refused reservation is counted"
    );
    let adobe_finding = demo
        .ports
        .findings
        .get("under_utilization:pool-adobe-cc")
        .await;
    assert_eq!(
        adobe_finding.unwrap().map(|f| f.status),
        Some(FindingStatus::Resolved),
        "watched while empty, no longer once its seats were reserved"
    );

    // Three of the five seats taken: the finding resolves.
    for holder in ["E009", "E011", "E013"] {
        demo.hold(holder, "jetbrains-intellij-ultimate").await;
    }
    sweep(&demo).await;
    assert_eq!(
        demo.ports.findings.get(id).await.unwrap().unwrap().status,
        FindingStatus::Resolved
    );
}

#[tokio::test]
async fn holdings_of_an_end_of_life_item_are_reported_with_its_replacement() {
    let demo = demo_ports().await;
    // Visio went end-of-life after E011 got it; Lucidchart replaces it.
    demo.hold("E011", "microsoft-visio").await;
    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["end_of_life"],
        json!({"opened": 1, "resolved": 0, "open": 1})
    );
    let finding = demo
        .ports
        .findings
        .get("end_of_life:E011.microsoft-visio")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finding.detail["replacementItemId"], "lucidchart");
    assert_eq!(finding.detail["holderId"], "E011");
}

#[tokio::test]
async fn a_leavers_access_left_after_offboarding_is_revoked_and_reported() {
    let demo = demo_ports().await;
    let now = demo.ports.clock.now();
    // E011 left two days ago, yet still holds Figma (say, a grant that landed as offboarding ran);
    // E013 left an hour ago: their offboarding is still at work, so the sweep leaves them be.
    for (leaver, ago) in [("E011", Duration::days(2)), ("E013", Duration::hours(1))] {
        demo.hold(leaver, "figma-professional").await;
        let mut who = demo.ports.identities.get(leaver).await.unwrap().unwrap();
        who.status = IdentityStatus::Terminated;
        who.last_change = Some(AppliedChange {
            change_id: format!("e-terminate-{leaver}"),
            occurred_at: now - ago,
            settling_from: None,
        });
        demo.ports.identities.put(who).await.unwrap();
    }

    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["orphan"],
        json!({"opened": 1, "resolved": 0, "open": 1})
    );
    let finding = demo
        .ports
        .findings
        .get("orphan:E011.figma-professional")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finding.detail["terminatedAt"], "2026-11-20T10:00:00Z");
    let started = demo.workflow.deprovisions();
    assert_eq!(
        started.len(),
        1,
        "only the leaver past the offboarding grace"
    );
    let input: Deprovision = serde_json::from_value(started[0].input.clone()).unwrap();
    assert_eq!(
        (input.assignment_id.as_str(), input.reason),
        ("E011.figma-professional", AssignmentStatus::Revoked)
    );
    // A re-run while the revocation runs starts nothing new.
    sweep(&demo).await;
    assert_eq!(demo.workflow.deprovisions().len(), 1);

    let ended = fulfilment::deprovision(&demo.ports, &input).await.unwrap();
    assert_eq!(ended.status, AssignmentStatus::Revoked);
    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["orphan"],
        json!({"opened": 0, "resolved": 1, "open": 0})
    );
}

const CC: &str = "adobe-creative-cloud";
const CC_HOLDING: &str = "E011.adobe-creative-cloud";
const CC_IDLE: &str = "idle:E011.adobe-creative-cloud";

/// E011 holds Creative Cloud (a seat of its 2-seat pool), reclaimed after 30 idle days and 14 days' grace.
async fn idle_licence() -> Demo {
    let demo = demo_ports().await;
    let mut item = demo.ports.catalog.get(CC).await.unwrap().unwrap();
    item.reclamation = Some(Reclamation {
        idle_days: 30,
        grace_days: 14,
    });
    demo.ports.catalog.put(item).await.unwrap();
    demo.fulfil(FIXTURE_REQUEST_ID, "E011", CC).await;
    demo
}

/// A connector's report that the holding was used now.
async fn used_now(demo: &Demo) {
    let connector = Caller {
        employee_id: "svc-connector".into(),
        email: None,
        groups: vec!["provisio-fulfilment".into()],
    };
    let signal = UsageSignal {
        assignment_id: CC_HOLDING.into(),
        used_at: demo.ports.clock.now(),
    };
    usage::record(&demo.ports, &connector, signal)
        .await
        .unwrap();
}

#[tokio::test]
async fn reclamation_notice_then_grace_then_revoke_frees_the_seat() {
    let demo = idle_licence().await;
    let assigned = || async {
        demo.ports
            .licenses
            .get_pool("pool-adobe-cc")
            .await
            .unwrap()
            .unwrap()
            .assigned
    };
    assert_eq!(assigned().await, 1);

    // Unused since the grant: idle after 30 days, not before.
    demo.clock.advance(Duration::days(30) - Duration::hours(1));
    assert_eq!(sweep(&demo).await["findings"]["idle"]["opened"], 0);
    demo.clock.advance(Duration::hours(1));
    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["idle"],
        json!({"opened": 1, "resolved": 0, "open": 1})
    );
    // The notice names the holder by id and the day the licence goes.
    let notice = demo
        .events
        .events()
        .into_iter()
        .find(|e| e.detail_type == event_types::FINDING_OPENED)
        .expect("FindingOpened published");
    assert_eq!(notice.detail["kind"], "idle");
    assert_eq!(
        notice.detail["detail"],
        json!({"assignmentId": CC_HOLDING, "holderId": "E011", "itemId": CC,
               "lastUsedAt": null, "revokeAt": "2027-01-05T10:00:00Z"})
    );

    // Within the grace period nothing is revoked, however often the sweep runs.
    demo.clock.advance(Duration::days(14) - Duration::hours(1));
    assert_eq!(sweep(&demo).await["reclaimed"], 0);
    assert!(demo.workflow.deprovisions().is_empty());

    // Past it, the holding is revoked once (a re-run starts nothing new) and the seat goes back to the pool.
    demo.clock.advance(Duration::hours(1));
    let report = sweep(&demo).await;
    assert_eq!(
        (report["reclaimed"].clone(), report["failed"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(
        report["findings"]["idle"]["open"], 1,
        "the notice stays open until access has ended"
    );
    sweep(&demo).await;
    let started = demo.workflow.deprovisions();
    assert_eq!(started.len(), 1);
    let input: Deprovision = serde_json::from_value(started[0].input.clone()).unwrap();
    assert_eq!(
        (
            input.assignment_id.as_str(),
            input.request_id.as_deref(),
            input.reason
        ),
        (CC_HOLDING, None, AssignmentStatus::Revoked)
    );
    let ended = fulfilment::deprovision(&demo.ports, &input).await.unwrap();
    assert_eq!(ended.status, AssignmentStatus::Revoked);
    assert_eq!(assigned().await, 0, "the seat is free again");

    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["idle"],
        json!({"opened": 0, "resolved": 1, "open": 0})
    );
    assert_eq!(
        finding_events(&demo),
        [
            (event_types::FINDING_OPENED, CC_IDLE.to_owned()),
            (event_types::FINDING_RESOLVED, CC_IDLE.to_owned())
        ]
    );
}

#[tokio::test]
async fn a_usage_signal_during_the_grace_period_keeps_the_licence() {
    let demo = idle_licence().await;
    demo.clock.advance(Duration::days(30));
    sweep(&demo).await;
    assert_eq!(
        demo.ports
            .findings
            .get(CC_IDLE)
            .await
            .unwrap()
            .unwrap()
            .status,
        FindingStatus::Open
    );

    demo.clock.advance(Duration::days(10));
    used_now(&demo).await;
    let report = sweep(&demo).await;
    assert_eq!(
        report["findings"]["idle"],
        json!({"opened": 0, "resolved": 1, "open": 0}),
        "used again: the notice is withdrawn"
    );

    // Where the old grace period would have ended, nothing happens; 30 days after the use, a new notice.
    demo.clock.advance(Duration::days(5));
    assert_eq!(sweep(&demo).await["reclaimed"], 0);
    demo.clock.advance(Duration::days(25));
    let report = sweep(&demo).await;
    assert_eq!(
        (
            report["reclaimed"].clone(),
            report["findings"]["idle"]["opened"].clone()
        ),
        (json!(0), json!(1))
    );
    assert!(demo.workflow.deprovisions().is_empty());
    let holding = demo
        .ports
        .assignments
        .get(CC_HOLDING)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holding.status, AssignmentStatus::Active);
}

#[tokio::test]
async fn no_revocation_before_the_notice_reached_the_bus() {
    let demo = idle_licence().await;
    demo.clock.advance(Duration::days(30));
    sweep(&demo).await;
    // As if the bus had refused the notice after the finding opened.
    let mut finding = demo.ports.findings.get(CC_IDLE).await.unwrap().unwrap();
    finding.published = false;
    demo.ports.findings.save(&mut finding).await.unwrap();

    // Past the grace period the notice goes out again first, and the grace period runs from then.
    demo.clock.advance(Duration::days(15));
    let report = sweep(&demo).await;
    assert_eq!(report["reclaimed"], 0);
    assert_eq!(
        finding_events(&demo),
        [
            (event_types::FINDING_OPENED, CC_IDLE.to_owned()),
            (event_types::FINDING_OPENED, CC_IDLE.to_owned())
        ]
    );
    assert_eq!(
        sweep(&demo).await["reclaimed"],
        0,
        "the holder was told only now"
    );
    demo.clock.advance(Duration::days(14));
    assert_eq!(sweep(&demo).await["reclaimed"], 1);
}

#[tokio::test]
async fn items_without_a_reclamation_policy_are_never_reclaimed() {
    let demo = demo_ports().await;
    demo.fulfil(FIXTURE_REQUEST_ID, "E011", CC).await;
    demo.clock.advance(Duration::days(400));
    let report = sweep(&demo).await;
    assert_eq!(report["findings"]["idle"]["open"], 0);
    assert_eq!(report["reclaimed"], 0);
}
