//! Reads over a period (the reports): requests by creation time, holdings by when they were held.

use chrono::{DateTime, Duration, Utc};
use provisio_core::model::{Assignment, AssignmentStatus};
use provisio_core::ports::Ports;

use crate::fixtures::{assignment, request, unique};

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("test timestamps are RFC 3339")
}

/// created_between holds the requests created in `[from, to)` across month boundaries, oldest first (same
/// instant: id order): one created exactly at `from` is in, one created exactly at `to` is out.
pub async fn requests_created_between_cover_the_period(ports: &Ports) {
    let requester = unique("requester");
    let created = [
        ("before", "2031-01-31T23:59:59.999999Z"),
        ("at-from", "2031-02-01T00:00:00Z"),
        ("mid-feb-1", "2031-02-15T12:00:00Z"),
        ("mid-feb-2", "2031-02-15T12:00:00Z"),
        ("march-first", "2031-03-01T00:00:00Z"),
        ("march-last", "2031-03-31T23:59:59.999999Z"),
        ("at-to", "2031-04-01T00:00:00Z"),
    ];
    let mut ids = Vec::new();
    for (name, when) in created {
        let id = format!("{requester}-{name}");
        let record = request(&id, &requester, &requester, at(when));
        ports
            .requests
            .create(&record)
            .await
            .expect("request create failed");
        ids.push(id);
    }
    let between = |from: &str, to: &str| {
        let requester = requester.clone();
        let (from, to) = (at(from), at(to));
        async move {
            ports
                .requests
                .created_between(from, to)
                .await
                .expect("request created_between failed")
                .into_iter()
                .filter(|r| r.requester_id == requester)
                .map(|r| r.request_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        between("2031-02-01T00:00:00Z", "2031-04-01T00:00:00Z").await,
        ids[1..6],
        "created_between must hold [from, to) across months, oldest first, same instant in id order"
    );
    assert_eq!(
        between("2031-02-15T12:00:00Z", "2031-02-15T12:00:00.000001Z").await,
        ids[2..4],
        "a period of one microsecond holds the requests of that instant"
    );
    assert!(
        between("2031-04-01T00:00:01Z", "2031-05-01T00:00:00Z")
            .await
            .is_empty(),
        "a period with no request is empty"
    );
}

/// held_between holds the holdings active at some moment in `[from, to)`: active ones granted before `to` and
/// ended ones that ended after `from`. Ended exactly at `from` or granted exactly at `to` is out. A holding that
/// ends and is granted again counts with its latest grant.
pub async fn assignments_held_between_cover_the_period(ports: &Ports) {
    let holder = unique("holder");
    let (from, to) = (at("2031-02-01T00:00:00Z"), at("2031-03-01T00:00:00Z"));
    let holding = |item: &str, granted: &str, ended: Option<&str>| {
        let mut a = assignment(&holder, item, at(granted));
        if let Some(end) = ended {
            a.status = AssignmentStatus::Returned;
            a.ended_at = Some(at(end));
        }
        a
    };
    let mut holdings = [
        holding(
            "ended-before",
            "2031-01-05T08:00:00Z",
            Some("2031-01-20T08:00:00Z"),
        ),
        holding(
            "ended-at-from",
            "2031-01-10T08:00:00Z",
            Some("2031-02-01T00:00:00Z"),
        ),
        holding(
            "ended-just-after-from",
            "2031-01-10T08:00:00Z",
            Some("2031-02-01T00:00:00.000001Z"),
        ),
        holding(
            "crossing-into",
            "2031-01-25T10:00:00Z",
            Some("2031-02-10T09:00:00Z"),
        ),
        holding(
            "within",
            "2031-02-03T10:00:00Z",
            Some("2031-02-04T10:00:00Z"),
        ),
        holding(
            "crossing-out",
            "2031-02-20T10:00:00Z",
            Some("2031-03-05T10:00:00Z"),
        ),
        holding("active-long", "2030-06-01T10:00:00Z", None),
        holding(
            "granted-just-before-to",
            "2031-02-28T23:59:59.999999Z",
            None,
        ),
        holding("granted-at-to", "2031-03-01T00:00:00Z", None),
        holding(
            "after",
            "2031-03-02T10:00:00Z",
            Some("2031-03-03T10:00:00Z"),
        ),
        holding("regranted", "2031-02-02T10:00:00Z", None),
    ];
    for a in &mut holdings {
        ports
            .assignments
            .save(a)
            .await
            .expect("assignment create failed");
    }
    let held = || {
        let holder = holder.clone();
        async move {
            ports
                .assignments
                .held_between(from, to)
                .await
                .expect("assignment held_between failed")
                .into_iter()
                .filter(|a| a.holder_id == holder)
                .map(|a| a.item_id)
                .collect::<Vec<_>>()
        }
    };
    let expected = |extra: &[&'static str]| {
        let mut items = vec![
            "active-long",
            "crossing-into",
            "crossing-out",
            "ended-just-after-from",
            "granted-just-before-to",
            "within",
        ];
        items.extend(extra);
        items.sort();
        items
    };
    assert_eq!(
        held().await,
        expected(&["regranted"]),
        "held_between must hold exactly the holdings active at some moment in [from, to), in id order"
    );

    // Returned within the period: still held in it. Granted again after it: only the latest grant counts.
    let regranted = &mut holdings[10];
    regranted.status = AssignmentStatus::Returned;
    regranted.ended_at = Some(at("2031-02-05T10:00:00Z"));
    ports
        .assignments
        .save(regranted)
        .await
        .expect("assignment save failed");
    assert_eq!(
        held().await,
        expected(&["regranted"]),
        "a holding returned within the period was held in it"
    );
    *regranted = Assignment {
        status: AssignmentStatus::Active,
        granted_at: to + Duration::days(4),
        ended_at: None,
        ..regranted.clone()
    };
    ports
        .assignments
        .save(regranted)
        .await
        .expect("assignment save failed");
    assert_eq!(
        held().await,
        expected(&[]),
        "a holding granted again counts from its latest grant"
    );
}
