use chrono::Duration;
use provisio_core::Error;
use provisio_core::model::{
    AssignmentStatus, Finding, FindingKind, FindingStatus, GrantSource, Timestamp,
};
use provisio_core::ports::Ports;
use serde_json::json;

use crate::fixtures::{assignment, unique};

/// Ids of the active findings of `kind` about `subject` (other checks' findings share the store).
async fn active_ids(ports: &Ports, kind: FindingKind, subject: &str) -> Vec<String> {
    ports
        .findings
        .active(kind)
        .await
        .expect("findings active failed")
        .into_iter()
        .filter(|f| f.subject == subject)
        .map(|f| f.finding_id)
        .collect()
}

pub async fn findings_are_optimistic_and_listed_until_resolved_and_published(ports: &Ports) {
    let now = ports.clock.now();
    let subject = unique("holding");
    let kind = FindingKind::EndOfLife;
    let mut finding = Finding {
        finding_id: Finding::id_for(kind, &subject),
        kind,
        subject: subject.clone(),
        detail: json!({"replacementItemId": "lucidchart"}),
        status: FindingStatus::Open,
        observed_since: now,
        last_observed_at: now,
        opened_at: Some(now),
        resolved_at: None,
        published: false,
        version: 0,
    };
    ports
        .findings
        .save(&mut finding)
        .await
        .expect("finding create failed");
    assert_eq!(finding.version, 1, "a create stores version 1");
    let stored = ports.findings.get(&finding.finding_id).await;
    assert_eq!(
        stored.expect("finding get failed").as_ref(),
        Some(&finding),
        "a finding reads back as saved"
    );
    let mut again = Finding {
        version: 0,
        ..finding.clone()
    };
    assert!(
        matches!(
            ports.findings.save(&mut again).await,
            Err(Error::Conflict(_))
        ),
        "a second create of the same kind and subject is a conflict"
    );
    let mut stale = finding.clone();
    finding.published = true;
    ports
        .findings
        .save(&mut finding)
        .await
        .expect("finding save failed");
    assert!(
        matches!(
            ports.findings.save(&mut stale).await,
            Err(Error::Conflict(_))
        ),
        "a save from an old version is a conflict"
    );
    assert_eq!(
        active_ids(ports, kind, &subject).await,
        [finding.finding_id.clone()],
        "an open finding is active"
    );
    assert!(
        active_ids(ports, FindingKind::Expiring, &subject)
            .await
            .is_empty(),
        "active lists one kind only"
    );

    finding.status = FindingStatus::Resolved;
    finding.resolved_at = Some(now);
    finding.published = false;
    ports
        .findings
        .save(&mut finding)
        .await
        .expect("finding save failed");
    assert_eq!(
        active_ids(ports, kind, &subject).await,
        [finding.finding_id.clone()],
        "a resolved finding stays listed until its event went out"
    );
    finding.published = true;
    ports
        .findings
        .save(&mut finding)
        .await
        .expect("finding save failed");
    assert!(
        active_ids(ports, kind, &subject).await.is_empty(),
        "a resolved and published finding is no longer listed"
    );
}

pub async fn assignments_active_of_item_are_its_active_holdings(ports: &Ports) {
    let now = ports.clock.now();
    let item = unique("item");
    let mut holdings = [
        assignment(&unique("b-holder"), &item, now),
        assignment(&unique("a-holder"), &item, now),
        assignment(&unique("returned"), &item, now),
        assignment(&unique("other"), &unique("other-item"), now),
    ];
    for a in &mut holdings {
        ports
            .assignments
            .save(a)
            .await
            .expect("assignment create failed");
    }
    holdings[2].status = AssignmentStatus::Returned;
    holdings[2].ended_at = Some(now);
    ports
        .assignments
        .save(&mut holdings[2])
        .await
        .expect("assignment save failed");
    let found: Vec<String> = ports
        .assignments
        .active_of_item(&item)
        .await
        .expect("assignment active_of_item failed")
        .into_iter()
        .map(|a| a.assignment_id)
        .collect();
    let mut expected = vec![
        holdings[0].assignment_id.clone(),
        holdings[1].assignment_id.clone(),
    ];
    expected.sort();
    assert_eq!(
        found, expected,
        "the item's active holdings in id order, not ended ones or other items'"
    );
}

pub async fn assignments_idle_of_item_are_its_least_recently_used(ports: &Ports) {
    let now = ports.clock.now();
    let days = |n| now - Duration::days(n);
    let item = unique("item");
    // Granted 90 days ago and never used; granted 120 days ago, used 60 days ago; used yesterday; granted 90
    // days ago and given again 2 days ago; ended; another item's.
    let mut holdings = [
        assignment(&unique("never"), &item, days(90)),
        assignment(&unique("used"), &item, days(120)),
        assignment(&unique("recent"), &item, days(120)),
        assignment(&unique("regranted"), &item, days(90)),
        assignment(&unique("ended"), &item, days(90)),
        assignment(&unique("other"), &unique("other-item"), days(90)),
    ];
    holdings[1].last_used_at = Some(days(60));
    holdings[2].last_used_at = Some(days(1));
    holdings[3].sources.push(GrantSource {
        request_id: unique("req"),
        via_bundle: None,
        granted_at: days(2),
        expires_at: None,
    });
    for a in &mut holdings {
        ports
            .assignments
            .save(a)
            .await
            .expect("assignment create failed");
    }
    holdings[4].status = AssignmentStatus::Revoked;
    holdings[4].ended_at = Some(now);
    ports
        .assignments
        .save(&mut holdings[4])
        .await
        .expect("assignment save failed");
    let ids: Vec<String> = holdings.iter().map(|a| a.assignment_id.clone()).collect();
    let id = |i: usize| ids[i].clone();
    let idle = |cutoff| idle_ids(ports, &item, cutoff);
    assert_eq!(
        idle(days(30)).await,
        [id(0), id(1)],
        "the item's active holdings last used (or granted) by the cutoff, least recently used first"
    );
    assert_eq!(
        idle(days(60)).await,
        [id(0), id(1)],
        "a holding last used exactly at the cutoff is idle"
    );
    assert_eq!(
        idle(days(61)).await,
        [id(0)],
        "the cutoff bounds the last use"
    );

    // A usage signal takes the holding out of the index's idle range.
    holdings[0].last_used_at = Some(now);
    ports
        .assignments
        .save(&mut holdings[0])
        .await
        .expect("assignment save failed");
    assert_eq!(
        idle(days(30)).await,
        [id(1)],
        "a holding used since is no longer idle"
    );
}

async fn idle_ids(ports: &Ports, item: &str, cutoff: Timestamp) -> Vec<String> {
    ports
        .assignments
        .idle_of_item(item, cutoff)
        .await
        .expect("assignment idle_of_item failed")
        .into_iter()
        .map(|a| a.assignment_id)
        .collect()
}
