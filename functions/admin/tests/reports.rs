//! The reports (chargeback, fulfilment metrics) through the admin handler, over the demo organisation in memory
//! with the clock at the demo time (2026-11-22T10:00Z). Holdings, requests and approval tasks are written
//! straight into the stores, so every figure below is computed by hand in the comments.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use provisio_core::model::*;
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{Demo, demo_ports, http_event};
use serde_json::{Value, json};
// Short names for the request stories below.
use ApprovalStatus as A;
use RequestStatus as R;

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("RFC 3339")
}

fn hours(h: f64) -> Duration {
    Duration::minutes((h * 60.0).round() as i64)
}

async fn call(demo: &Demo, case: &str) -> ApiResponse {
    admin::handle(&demo.ports, http_event("admin", case)).await
}

/// The fixture `case` with its query replaced.
async fn call_with_query(demo: &Demo, case: &str, query: &[(&str, &str)]) -> ApiResponse {
    let mut req = http_event("admin", case);
    req.query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    admin::handle(&demo.ports, req).await
}

async fn hold(demo: &Demo, holder: &str, item: &str, granted: &str, ended: Option<&str>) {
    let mut holding = Assignment {
        status: match ended {
            Some(_) => AssignmentStatus::Returned,
            None => AssignmentStatus::Active,
        },
        ended_at: ended.map(at),
        ..Assignment::new(holder, item, at(granted))
    };
    demo.ports
        .assignments
        .save(&mut holding)
        .await
        .expect("holding stored");
}

/// Demo prices (EUR): figma-professional 15/month and lucidchart 9/month (GL 6200), adobe-creative-cloud
/// 89.99/month (GL 6100), vpn-access 0/month (GL 6300), yubikey-5c 55 and macbook-pro-16 3299 one-time (GL 1500);
/// plus `zoom-us`, 20 USD/month (GL 6200). E013 is in CC-100, E022 in CC-400, E016 in CC-200; E999 is unknown.
async fn chargeback_fixture() -> Demo {
    let demo = demo_ports().await;
    let mut zoom = demo.ports.catalog.get("zoom-pro").await.unwrap().unwrap();
    zoom.item_id = "zoom-us".into();
    zoom.cost = Cost {
        amount: 20.0,
        currency: "USD".into(),
        recurrence: Recurrence::Monthly,
    };
    demo.ports.catalog.put(zoom).await.unwrap();
    let holdings = [
        // Crosses the month boundary: Jan 25..31 = 7/31, Feb 1..10 = 10/28.
        (
            "E013",
            "figma-professional",
            "2026-01-25T10:00:00Z",
            Some("2026-02-10T09:00:00Z"),
        ),
        // Ended at midnight: Jan 20..31 = 12/31, nothing in February.
        (
            "E013",
            "lucidchart",
            "2026-01-20T08:00:00Z",
            Some("2026-02-01T00:00:00Z"),
        ),
        // One-time, in its grant month only.
        ("E013", "yubikey-5c", "2026-01-12T09:00:00Z", None),
        // Granted at the first instant of February: not held in January; free of charge in February.
        ("E013", "vpn-access", "2026-02-01T00:00:00Z", None),
        // Whole months.
        ("E022", "lucidchart", "2025-12-01T09:00:00Z", None),
        // Feb 20..28 = 9/28.
        ("E022", "adobe-creative-cloud", "2026-02-20T15:00:00Z", None),
        // Jan 31 = 1/31, then all of February, in USD.
        ("E022", "zoom-us", "2026-01-31T12:00:00Z", None),
        // Unknown holder: Feb 27..28 = 2/28, UNASSIGNED.
        (
            "E999",
            "lucidchart",
            "2026-02-27T10:00:00Z",
            Some("2026-03-02T10:00:00Z"),
        ),
        // One-time in December: nothing in January or February.
        ("E016", "macbook-pro-16", "2025-12-15T09:00:00Z", None),
    ];
    for (holder, item, granted, ended) in holdings {
        hold(&demo, holder, item, granted, ended).await;
    }
    demo
}

#[tokio::test]
async fn an_auditor_gets_the_chargeback_of_a_month_by_cost_center_gl_code_and_currency() {
    let demo = chargeback_fixture().await;

    let resp = call(&demo, "chargeback").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(resp.content_type, "application/json");
    // CC-100/6200: figma 15 × 7/31 + lucidchart 9 × 12/31 = 213/31 = 6.8709… → 6.87.
    // CC-400/6200/USD: 20 × 1/31 = 0.6451… → 0.65.
    // EUR monthly: 213/31 + 9 = 492/31 = 15.8709… → 15.87; total 55 + 15.8709… = 70.87.
    assert_eq!(
        resp.body_json(),
        json!({
            "month": "2026-01",
            "asOf": "2026-11-22T10:00:00Z",
            "lines": [
                {"costCenter": "CC-100", "glCode": "1500", "currency": "EUR",
                 "oneTime": 55.0, "monthly": 0.0, "total": 55.0, "holdings": 1},
                {"costCenter": "CC-100", "glCode": "6200", "currency": "EUR",
                 "oneTime": 0.0, "monthly": 6.87, "total": 6.87, "holdings": 2},
                {"costCenter": "CC-400", "glCode": "6200", "currency": "EUR",
                 "oneTime": 0.0, "monthly": 9.0, "total": 9.0, "holdings": 1},
                {"costCenter": "CC-400", "glCode": "6200", "currency": "USD",
                 "oneTime": 0.0, "monthly": 0.65, "total": 0.65, "holdings": 1},
            ],
            "totals": [
                {"currency": "EUR", "oneTime": 55.0, "monthly": 15.87, "total": 70.87, "holdings": 4},
                {"currency": "USD", "oneTime": 0.0, "monthly": 0.65, "total": 0.65, "holdings": 1},
            ],
        })
    );
}

#[tokio::test]
async fn the_chargeback_comes_as_csv_when_accept_asks_for_it() {
    let demo = chargeback_fixture().await;

    let resp = call(&demo, "chargeback-csv").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(resp.content_type, "text/csv; charset=utf-8");
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("content-disposition"),
        Some("attachment; filename=\"chargeback-2026-02.csv\"")
    );
    assert_eq!(header("vary"), Some("accept"));
    // February has 28 days. figma 15 × 10/28 = 5.357… → 5.36; adobe 89.99 × 9/28 = 28.925… → 28.93;
    // E999's lucidchart 9 × 2/28 = 0.642… → 0.64; lucidchart for E022 and zoom-us whole months.
    assert_eq!(
        std::str::from_utf8(&resp.body).unwrap(),
        "costCenter,glCode,currency,oneTime,monthly,total,holdings\r\n\
         CC-100,6200,EUR,0.00,5.36,5.36,1\r\n\
         CC-100,6300,EUR,0.00,0.00,0.00,1\r\n\
         CC-400,6100,EUR,0.00,28.93,28.93,1\r\n\
         CC-400,6200,EUR,0.00,9.00,9.00,1\r\n\
         CC-400,6200,USD,0.00,20.00,20.00,1\r\n\
         UNASSIGNED,6200,EUR,0.00,0.64,0.64,1\r\n"
    );

    // The same month as JSON: EUR totals from the exact sum (150 + 809.91 + 252 + 18) / 28 = 43.925… → 43.93.
    let json = call_with_query(&demo, "chargeback", &[("month", "2026-02")]).await;
    assert_eq!(
        json.body_json()["totals"],
        json!([
            {"currency": "EUR", "oneTime": 0.0, "monthly": 43.93, "total": 43.93, "holdings": 5},
            {"currency": "USD", "oneTime": 0.0, "monthly": 20.0, "total": 20.0, "holdings": 1},
        ])
    );
}

#[tokio::test]
async fn the_current_month_counts_active_holdings_up_to_today() {
    let demo = demo_ports().await;
    // Nov 10..22 (today) = 13 of November's 30 days: 15 × 13/30 = 6.50.
    hold(
        &demo,
        "E013",
        "figma-professional",
        "2026-11-10T08:00:00Z",
        None,
    )
    .await;

    let resp = call_with_query(&demo, "chargeback", &[("month", "2026-11")]).await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    assert_eq!(resp.body_json()["lines"][0]["monthly"], 6.5);
    // A day later the same report counts one more day: 15 × 14/30 = 7.00.
    demo.clock.advance(Duration::days(1));
    let later = call_with_query(&demo, "chargeback", &[("month", "2026-11")]).await;
    assert_eq!(later.body_json()["lines"][0]["monthly"], 7.0);
}

#[tokio::test]
async fn a_month_that_is_missing_malformed_or_ahead_is_400_on_month() {
    let demo = demo_ports().await;
    for query in [
        vec![],
        vec![("month", "2026-13")],
        vec![("month", "2026-1")],
        vec![("month", "January")],
        vec![("month", "2026-12")],
    ] {
        let resp = call_with_query(&demo, "chargeback", &query).await;
        assert_eq!(resp.status, 400, "{query:?}: {:?}", resp.body_json());
        assert_eq!(resp.content_type, "application/problem+json");
        let errors = resp.body_json()["errors"].clone();
        assert_eq!(
            errors.as_array().map(Vec::len),
            Some(1),
            "{query:?}: {errors}"
        );
        assert_eq!(errors[0]["field"], "month", "{query:?}");
    }
}

#[tokio::test]
async fn only_admins_and_auditors_read_reports() {
    let demo = chargeback_fixture().await;
    let employee = call(&demo, "chargeback-by-employee").await;
    assert_eq!(employee.status, 403, "{:?}", employee.body_json());
    assert_eq!(employee.content_type, "application/problem+json");

    let mut anonymous = http_event("admin", "fulfilment-metrics");
    anonymous.caller = None;
    assert_eq!(admin::handle(&demo.ports, anonymous).await.status, 401);

    let mut employee = http_event("admin", "fulfilment-metrics");
    employee.caller = http_event("admin", "chargeback-by-employee").caller;
    assert_eq!(admin::handle(&demo.ports, employee).await.status, 403);

    // The admin of the fixture reads the chargeback too.
    let mut admin_caller = http_event("admin", "chargeback");
    admin_caller.caller = http_event("admin", "fulfilment-metrics").caller;
    assert_eq!(admin::handle(&demo.ports, admin_caller).await.status, 200);
}

/// An approval stage of a story: its name, when it opened, and how and when its task closed (None while
/// pending), in hours after the request's creation.
type StageStory = (&'static str, f64, Option<(ApprovalStatus, f64)>);

/// A stored request of E013 for `item`, created at `created`, that reached each status `hours` after creation.
struct Story {
    id: &'static str,
    item: &'static str,
    created: &'static str,
    statuses: &'static [(f64, RequestStatus)],
    stages: &'static [StageStory],
}

async fn tell(demo: &Demo, story: &Story) {
    let created = at(story.created);
    let mut req = Request::submitted(
        NewRequest {
            request_id: story.id.into(),
            item_id: story.item.into(),
            item_version: 1,
            requester_id: "E013".into(),
            beneficiary_id: "E013".into(),
            justification: None,
            duration_hours: None,
            extends_assignment_id: None,
        },
        created,
    );
    for (index, (name, opened, closed)) in story.stages.iter().enumerate() {
        let approval_id = format!("{}-s{index}", story.id);
        let decisions = match closed {
            Some((status @ (ApprovalStatus::Approved | ApprovalStatus::Rejected), after)) => {
                vec![DecisionRecord {
                    approver_id: "E009".into(),
                    principal: Principal::User("E009".into()),
                    decision: if *status == ApprovalStatus::Approved {
                        Decision::Approve
                    } else {
                        Decision::Reject
                    },
                    comment: None,
                    at: created + hours(*after),
                    on_behalf_of: None,
                }]
            }
            _ => vec![],
        };
        let task = ApprovalTask {
            approval_id: approval_id.clone(),
            request_id: story.id.into(),
            stage_index: index as u32,
            stage_name: name.to_string(),
            item_id: story.item.into(),
            requester_id: "E013".into(),
            beneficiary_id: "E013".into(),
            mode: ApprovalMode::Any,
            approvers: vec![Principal::User("E009".into())],
            decisions: decisions.clone(),
            status: closed.map_or(ApprovalStatus::Pending, |(status, _)| status),
            task_token: format!("token-{approval_id}"),
            created_at: created + hours(*opened),
            due_at: created + hours(*opened + 48.0),
            expires_at: None,
            reminded_at: None,
            escalated_at: None,
            outstanding: None,
            version: 0,
        };
        demo.ports
            .approvals
            .create(&task)
            .await
            .expect("task stored");
        req.stages.push(Stage {
            index: index as u32,
            name: name.to_string(),
            mode: ApprovalMode::Any,
            sla_hours: 48,
            status: StageStatus::Open,
            approval_id: Some(approval_id),
            decisions,
        });
    }
    for (after, status) in story.statuses {
        req.transition(*status, "provisio", "fixture", created + hours(*after));
    }
    demo.ports
        .requests
        .create(&req)
        .await
        .expect("request stored");
}

/// Requests of March 2026 (the fixture's period), and two just outside it.
const STORIES: &[Story] = &[
    // Fulfilled 3 h after creation; the manager waited 2 h.
    Story {
        id: "r1",
        item: "figma-professional",
        created: "2026-03-02T09:00:00Z",
        statuses: &[
            (0.0, R::PendingApproval),
            (2.0, R::Approved),
            (3.0, R::Fulfilled),
        ],
        stages: &[("manager", 0.0, Some((A::Approved, 2.0)))],
    },
    // Fulfilled after 10 h: the manager waited 1 h, the item owner 8 h (opened at 1 h, approved at 9 h).
    Story {
        id: "r2",
        item: "adobe-creative-cloud",
        created: "2026-03-03T09:00:00Z",
        statuses: &[
            (0.0, R::PendingApproval),
            (9.0, R::Approved),
            (10.0, R::Fulfilled),
        ],
        stages: &[
            ("manager", 0.0, Some((A::Approved, 1.0))),
            ("item-owner", 1.0, Some((A::Approved, 9.0))),
        ],
    },
    // Rejected by the item owner after 20 h (opened at 4 h); the manager waited 4 h.
    Story {
        id: "r3",
        item: "adobe-creative-cloud",
        created: "2026-03-04T09:00:00Z",
        statuses: &[(0.0, R::PendingApproval), (24.0, R::Rejected)],
        stages: &[
            ("manager", 0.0, Some((A::Approved, 4.0))),
            ("item-owner", 4.0, Some((A::Rejected, 24.0))),
        ],
    },
    // Auto-approved, fulfilled after 30 minutes.
    Story {
        id: "r4",
        item: "lucidchart",
        created: "2026-03-05T09:00:00Z",
        statuses: &[(0.0, R::Approved), (0.5, R::Fulfilled)],
        stages: &[],
    },
    // Cancelled after 6 h while the manager waited: the task closed then.
    Story {
        id: "r5",
        item: "figma-professional",
        created: "2026-03-06T09:00:00Z",
        statuses: &[(0.0, R::PendingApproval), (6.0, R::Cancelled)],
        stages: &[("manager", 0.0, Some((A::Cancelled, 6.0)))],
    },
    // Expired after 14 days (336 h) waiting for the manager.
    Story {
        id: "r6",
        item: "figma-professional",
        created: "2026-03-07T09:00:00Z",
        statuses: &[(0.0, R::PendingApproval), (336.0, R::Expired)],
        stages: &[("manager", 0.0, Some((A::Expired, 336.0)))],
    },
    // Still waiting: counted in the volume, not in the waits nor the rates.
    Story {
        id: "r7",
        item: "figma-professional",
        created: "2026-03-30T09:00:00Z",
        statuses: &[(0.0, R::PendingApproval)],
        stages: &[("manager", 0.0, None)],
    },
    Story {
        id: "r8-failed",
        item: "lucidchart",
        created: "2026-03-10T09:00:00Z",
        statuses: &[(0.0, R::Approved), (1.0, R::Failed)],
        stages: &[],
    },
    // Cancelled before any stage opened.
    Story {
        id: "r9-cancelled",
        item: "figma-professional",
        created: "2026-03-11T09:00:00Z",
        statuses: &[(1.0, R::Cancelled)],
        stages: &[],
    },
    // Outside [from, to): created an hour before it, and exactly at its end.
    Story {
        id: "x-before",
        item: "figma-professional",
        created: "2026-02-28T23:00:00Z",
        statuses: &[
            (0.0, R::PendingApproval),
            (100.0, R::Approved),
            (101.0, R::Fulfilled),
        ],
        stages: &[("manager", 0.0, Some((A::Approved, 100.0)))],
    },
    Story {
        id: "x-at-to",
        item: "lucidchart",
        created: "2026-04-01T00:00:00Z",
        statuses: &[(0.0, R::Approved), (1.0, R::Rejected)],
        stages: &[],
    },
];

#[tokio::test]
async fn fulfilment_metrics_of_a_period() {
    let demo = demo_ports().await;
    for story in STORIES {
        tell(&demo, story).await;
    }

    let resp = call(&demo, "fulfilment-metrics").await;

    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    // 9 requests in March, 8 of them terminal (r7 waits).
    // Time to fulfil: r4 0.5 h, r1 3 h, r2 10 h: median rank ⌈0.5 × 3⌉ = 2 → 3 h; p90 rank ⌈0.9 × 3⌉ = 3 → 10 h.
    // manager waits: 1, 2, 4, 6, 336 h: median rank 3 → 4 h; p90 rank ⌈4.5⌉ = 5 → 336 h.
    // item-owner waits: 8, 20 h: median rank 1 → 8 h; p90 rank ⌈1.8⌉ = 2 → 20 h; the higher median: bottleneck.
    // Rates over 8 terminal: 1 rejected, 1 expired, 2 cancelled.
    assert_eq!(
        resp.body_json(),
        json!({
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-04-01T00:00:00Z",
            "requests": {
                "total": 9,
                "terminal": 8,
                "byStatus": {"CANCELLED": 2, "EXPIRED": 1, "FAILED": 1, "FULFILLED": 3,
                             "PENDING_APPROVAL": 1, "REJECTED": 1},
            },
            "timeToFulfil": {"count": 3, "medianHours": 3.0, "p90Hours": 10.0},
            "stageWaits": [
                {"stage": "item-owner", "count": 2, "medianHours": 8.0, "p90Hours": 20.0},
                {"stage": "manager", "count": 5, "medianHours": 4.0, "p90Hours": 336.0},
            ],
            "bottleneck": "item-owner",
            "rates": {"rejection": 0.125, "expiry": 0.125, "cancellation": 0.25},
        })
    );
}

#[tokio::test]
async fn fulfilment_metrics_of_an_empty_period_have_no_figures() {
    let demo = demo_ports().await;
    let resp = call_with_query(
        &demo,
        "fulfilment-metrics",
        &[("from", "2026-03-01T01:00:00+01:00"), ("to", "2026-03-02")],
    )
    .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(
        body["from"], "2026-03-01T00:00:00Z",
        "an offset is read as UTC"
    );
    assert_eq!(
        body["requests"],
        json!({"total": 0, "terminal": 0, "byStatus": {}})
    );
    assert_eq!(
        body["timeToFulfil"],
        json!({"count": 0, "medianHours": null, "p90Hours": null})
    );
    assert_eq!(body["stageWaits"], json!([]));
    assert_eq!(body["bottleneck"], Value::Null);
    assert_eq!(
        body["rates"],
        json!({"rejection": null, "expiry": null, "cancellation": null})
    );
}

#[tokio::test]
async fn a_bad_period_is_400_naming_the_field() {
    let demo = demo_ports().await;
    let fields = |resp: ApiResponse| -> Vec<String> {
        assert_eq!(resp.status, 400, "{:?}", resp.body_json());
        resp.body_json()["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect()
    };
    let period = |from: &'static str, to: &'static str| {
        let demo = &demo;
        async move { call_with_query(demo, "fulfilment-metrics", &[("from", from), ("to", to)]).await }
    };
    assert_eq!(
        fields(call_with_query(&demo, "fulfilment-metrics", &[]).await),
        ["from", "to"]
    );
    assert_eq!(fields(period("March", "2026-04-01").await), ["from"]);
    assert_eq!(
        fields(period("2026-04-01", "2026-03-01").await),
        ["to"],
        "to before from"
    );
    assert_eq!(
        fields(period("2026-03-01", "2026-03-01").await),
        ["to"],
        "an empty period"
    );
    // 2026-01-01 + 366 days = 2027-01-02: allowed; a second more is not.
    assert_eq!(period("2026-01-01", "2027-01-02").await.status, 200);
    assert_eq!(
        fields(period("2026-01-01", "2027-01-02T00:00:01Z").await),
        ["to"]
    );
}
