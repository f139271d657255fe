use chrono::Duration;
use provisio_core::model::DelegateWindow;
use provisio_core::ports::Ports;

use crate::fixtures::{catalog_item, identity, unique};

/// Every put stores the next version; get and list serve the latest.
pub async fn catalog_put_creates_the_next_version(ports: &Ports) {
    let item_id = unique("item");
    let first = ports
        .catalog
        .put(catalog_item(&item_id, "Slack"))
        .await
        .expect("catalog put failed");
    assert_eq!(
        first.version, 1,
        "the first put of an item must store version 1"
    );

    let mut edited = catalog_item(&item_id, "Slack Enterprise");
    edited.version = 42; // callers cannot pick the version
    let second = ports.catalog.put(edited).await.expect("catalog put failed");
    assert_eq!(
        second.version, 2,
        "a put must store the previous version + 1, ignoring the given version"
    );
    assert_eq!(
        second.name, "Slack Enterprise",
        "put must return what it stored"
    );

    let latest = ports
        .catalog
        .get(&item_id)
        .await
        .expect("catalog get failed");
    assert_eq!(
        latest,
        Some(second.clone()),
        "get must return the latest version as stored"
    );

    let pinned = ports
        .catalog
        .get_version(&item_id, first.version)
        .await
        .expect("catalog get_version failed");
    assert_eq!(
        pinned.map(|i| i.name),
        Some("Slack".to_string()),
        "an older version stays readable by its number"
    );

    let listed: Vec<_> = ports
        .catalog
        .list()
        .await
        .expect("catalog list failed")
        .into_iter()
        .filter(|i| i.item_id == item_id)
        .collect();
    assert_eq!(
        listed,
        [second],
        "list must hold each item once, at its latest version"
    );

    assert_eq!(
        ports
            .catalog
            .get(&unique("missing"))
            .await
            .expect("catalog get failed"),
        None
    );
}

/// Following the cursor visits every identity exactly once, in employee id order.
pub async fn identities_paginate_in_order(ports: &Ports) {
    let prefix = unique("emp");
    let ids: Vec<String> = (0..7).map(|i| format!("{prefix}-{i:02}")).collect();
    // Stored out of order: the order must come from the store.
    for id in ids.iter().rev() {
        ports
            .identities
            .put(identity(id))
            .await
            .expect("identity put failed");
    }
    let mut updated = identity(&ids[3]);
    updated.job_title = "Staff Engineer".into();
    ports
        .identities
        .put(updated.clone())
        .await
        .expect("identity put failed");
    assert_eq!(
        ports
            .identities
            .get(&ids[3])
            .await
            .expect("identity get failed"),
        Some(updated),
        "put must replace the stored identity"
    );

    let limit = 3;
    let mut visited: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ports
            .identities
            .list(cursor.as_deref(), limit)
            .await
            .expect("identity list failed");
        assert!(
            page.items.len() <= limit,
            "a page must hold at most {limit} identities, got {}",
            page.items.len()
        );
        visited.extend(page.items.into_iter().map(|i| i.employee_id));
        match page.next_cursor {
            // A cursor that does not move forward would loop forever.
            Some(next) => {
                assert!(
                    cursor.as_ref().is_none_or(|c| *c < next),
                    "the cursor must move forward: {cursor:?} then {next:?}"
                );
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert!(
        visited.windows(2).all(|w| w[0] < w[1]),
        "pagination must return identities in strictly increasing employee id order, without repeats"
    );
    let ours: Vec<String> = visited
        .into_iter()
        .filter(|id| id.starts_with(&prefix))
        .collect();
    assert_eq!(
        ours, ids,
        "pagination must visit every identity exactly once"
    );
}

/// delegators_of finds identities whose delegate windows name the delegate, and follows updates.
pub async fn identities_delegators_of(ports: &Ports) {
    let prefix = unique("emp");
    let [delegate, absent, expired, other] =
        ["delegate", "absent", "expired", "other"].map(|r| format!("{prefix}-{r}"));
    let now = ports.clock.now();
    let window = |delegate_id: &str, until| DelegateWindow {
        delegate_id: delegate_id.into(),
        from: now,
        until,
    };

    let mut on_leave = identity(&absent);
    on_leave.delegates = vec![window(&delegate, None)];
    let mut past = identity(&expired);
    past.delegates = vec![
        window(&other, None),
        window(&delegate, Some(now - Duration::days(1))),
    ];
    let mut unrelated = identity(&other);
    unrelated.delegates = vec![window(&absent, None)];
    for identity in [on_leave.clone(), past, unrelated] {
        ports
            .identities
            .put(identity)
            .await
            .expect("identity put failed");
    }

    let delegators = |id: String| async move {
        let mut ids: Vec<String> = ports
            .identities
            .delegators_of(&id)
            .await
            .expect("delegators_of failed")
            .into_iter()
            .map(|i| i.employee_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        delegators(delegate.clone()).await,
        [absent.clone(), expired.clone()],
        "delegators_of must return every identity with a window naming the delegate"
    );

    on_leave.delegates.clear();
    ports
        .identities
        .put(on_leave)
        .await
        .expect("identity put failed");
    assert_eq!(
        delegators(delegate).await,
        [expired],
        "a put that removes the window must drop the delegator"
    );
}
