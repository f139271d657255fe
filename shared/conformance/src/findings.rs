use provisio_core::Error;
use provisio_core::model::{AssignmentStatus, Finding, FindingKind, FindingStatus};
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
