use chrono::Duration;
use provisio_core::model::{AppliedChange, Identity, IdentityStatus, ScimAccount};
use provisio_core::ports::Ports;
use serde_json::json;

use crate::fixtures::{identity, unique};

/// `identity(employee_id)` with a SCIM account named `user_name`.
fn scim_identity(
    ports: &Ports,
    employee_id: &str,
    user_name: &str,
    external_id: Option<&str>,
) -> Identity {
    let now = ports.clock.now();
    let mut i = identity(employee_id);
    i.scim = Some(ScimAccount {
        user_name: user_name.into(),
        external_id: external_id.map(Into::into),
        attributes: serde_json::Map::new(),
        created: now,
        last_modified: now,
        deleted_at: None,
    });
    i
}

async fn put(ports: &Ports, identity: Identity) {
    ports
        .identities
        .put(identity)
        .await
        .expect("identity put failed");
}

fn ids(identities: Vec<Identity>) -> Vec<String> {
    identities.into_iter().map(|i| i.employee_id).collect()
}

/// userName finds the one live SCIM account, whatever the case; externalId finds every live account with it;
/// HR-only identities, deleted accounts and old names are never found; the SCIM document survives storage.
pub async fn identities_scim_lookups(ports: &Ports) {
    let prefix = unique("scim");
    let [alice, bob, carol, hr_only, gone] =
        ["alice", "bob", "carol", "hr", "gone"].map(|r| format!("{prefix}-{r}"));
    let external = format!("{prefix}-ext");

    let mut first = scim_identity(
        ports,
        &alice,
        &format!("Alice.{prefix}@Example.com"),
        Some(&external),
    );
    // Nested objects, arrays, booleans and extension URNs as keys: the shapes a SCIM User has.
    first.scim.as_mut().expect("scim").attributes = json!({
        "name": {"givenName": "Alice", "familyName": "Example"},
        "emails": [{"value": "alice@example.com", "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42"},
    })
    .as_object()
    .expect("object")
    .clone();
    put(ports, first.clone()).await;
    put(
        ports,
        scim_identity(ports, &bob, &format!("bob.{prefix}"), Some(&external)),
    )
    .await;
    put(
        ports,
        scim_identity(ports, &carol, &format!("carol.{prefix}"), None),
    )
    .await;
    put(ports, identity(&hr_only)).await;
    let mut deleted = scim_identity(ports, &gone, &format!("gone.{prefix}"), Some(&external));
    deleted.scim.as_mut().expect("scim").deleted_at = Some(ports.clock.now());
    put(ports, deleted).await;

    assert_eq!(
        ports
            .identities
            .get(&alice)
            .await
            .expect("identity get failed"),
        Some(first.clone()),
        "the SCIM account, with its attributes document, must be stored as given"
    );
    let found = ports
        .identities
        .by_scim_user_name(&format!("alice.{prefix}@EXAMPLE.COM"))
        .await
        .expect("by_scim_user_name failed");
    assert_eq!(
        found,
        Some(first),
        "by_scim_user_name must find the live account whatever the case of the userName"
    );
    assert_eq!(
        ports
            .identities
            .by_scim_user_name(&format!("gone.{prefix}"))
            .await
            .expect("by_scim_user_name failed"),
        None,
        "a deleted SCIM account must not be found by userName"
    );
    assert_eq!(
        ports
            .identities
            .by_scim_user_name(&hr_only)
            .await
            .expect("by_scim_user_name failed"),
        None
    );
    assert_eq!(
        ids(ports
            .identities
            .by_scim_external_id(&external)
            .await
            .expect("by_scim_external_id failed")),
        [alice.clone(), bob.clone()],
        "by_scim_external_id must return every live account with the externalId, in employee id order"
    );
    assert_eq!(
        ports
            .identities
            .by_scim_external_id(&external.to_uppercase())
            .await
            .expect("by_scim_external_id failed"),
        [],
        "externalId is case-exact"
    );

    // A rename moves the account to its new userName; a delete takes it out of both lookups.
    let renamed = scim_identity(ports, &bob, &format!("robert.{prefix}"), Some(&external));
    put(ports, renamed.clone()).await;
    assert_eq!(
        ports
            .identities
            .by_scim_user_name(&format!("bob.{prefix}"))
            .await
            .expect("by_scim_user_name failed"),
        None,
        "the old userName must no longer be found after a rename"
    );
    assert_eq!(
        ports
            .identities
            .by_scim_user_name(&format!("Robert.{prefix}"))
            .await
            .expect("by_scim_user_name failed"),
        Some(renamed)
    );
    let mut bob_deleted = scim_identity(ports, &bob, &format!("robert.{prefix}"), Some(&external));
    bob_deleted.scim.as_mut().expect("scim").deleted_at = Some(ports.clock.now());
    put(ports, bob_deleted).await;
    assert_eq!(
        ids(ports
            .identities
            .by_scim_external_id(&external)
            .await
            .expect("by_scim_external_id failed")),
        [alice],
        "a deleted account must leave the externalId lookup"
    );
}

/// scim_users pages through the live SCIM accounts only, in userName order, with the total.
pub async fn identities_scim_users_page_in_user_name_order(ports: &Ports) {
    let prefix = unique("scimpage");
    // Stored in an order unlike the userName order, with mixed case.
    let names = ["Echo", "alpha", "Delta", "charlie", "Bravo"];
    for (n, name) in names.iter().enumerate() {
        put(
            ports,
            scim_identity(
                ports,
                &format!("{prefix}-{n}"),
                &format!("{prefix}-{name}"),
                None,
            ),
        )
        .await;
    }
    put(ports, identity(&format!("{prefix}-hr-only"))).await;
    let mut deleted = scim_identity(
        ports,
        &format!("{prefix}-gone"),
        &format!("{prefix}-Aaron"),
        None,
    );
    deleted.scim.as_mut().expect("scim").deleted_at = Some(ports.clock.now() - Duration::hours(1));
    put(ports, deleted).await;

    let limit = 2;
    let mut seen: Vec<Identity> = Vec::new();
    let mut total = None;
    loop {
        let page = ports
            .identities
            .scim_users(seen.len(), limit)
            .await
            .expect("scim_users failed");
        assert!(
            page.items.len() <= limit,
            "a page must hold at most {limit} identities, got {}",
            page.items.len()
        );
        assert!(
            total.is_none_or(|t| t == page.total),
            "the total must not change between pages"
        );
        total = Some(page.total);
        if page.items.is_empty() {
            break;
        }
        seen.extend(page.items);
    }
    assert_eq!(
        Some(seen.len()),
        total,
        "paging to the end must visit as many identities as the total says"
    );
    let keys: Vec<String> = seen
        .iter()
        .map(|i| {
            let account = i.scim.as_ref().expect("only SCIM identities are listed");
            assert!(
                account.is_live(),
                "deleted SCIM accounts must not be listed"
            );
            ScimAccount::user_name_key(&account.user_name)
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "scim_users must be ordered by the lower-cased userName: {keys:?}"
    );
    let ours: Vec<String> = seen
        .into_iter()
        .filter(|i| i.employee_id.starts_with(&prefix))
        .map(|i| i.scim.expect("scim").user_name)
        .collect();
    assert_eq!(
        ours,
        ["alpha", "Bravo", "charlie", "Delta", "Echo"].map(|n| format!("{prefix}-{n}")),
        "every live SCIM account must be listed once, HR-only identities never"
    );

    let past_the_end = ports
        .identities
        .scim_users(total.expect("total") + 5, limit)
        .await
        .expect("scim_users failed");
    assert!(past_the_end.items.is_empty());
    assert_eq!(Some(past_the_end.total), total);
}

pub async fn identities_terminated_since_are_the_recent_leavers(ports: &Ports) {
    let now = ports.clock.now();
    let prefix = unique("leaver");
    let person = |role: &str, status: IdentityStatus, changed: Option<Duration>| {
        let mut i = identity(&format!("{prefix}-{role}"));
        i.status = status;
        i.last_change = changed.map(|ago| AppliedChange {
            change_id: format!("{role}-change"),
            occurred_at: now - ago,
            settling_from: None,
        });
        i
    };
    let people = [
        person(
            "left-yesterday",
            IdentityStatus::Terminated,
            Some(Duration::days(1)),
        ),
        person(
            "left-last-week",
            IdentityStatus::Terminated,
            Some(Duration::days(7)),
        ),
        person(
            "left-long-ago",
            IdentityStatus::Terminated,
            Some(Duration::days(400)),
        ),
        person("seeded-leaver", IdentityStatus::Terminated, None),
        person("working", IdentityStatus::Active, Some(Duration::days(2))),
        person(
            "rehired",
            IdentityStatus::Terminated,
            Some(Duration::days(3)),
        ),
    ];
    for p in people.clone() {
        ports.identities.put(p).await.expect("identity put failed");
    }
    // Back at work: the rehire replaces the termination.
    let mut rehired = people[5].clone();
    rehired.status = IdentityStatus::Active;
    ports
        .identities
        .put(rehired)
        .await
        .expect("identity put failed");

    let leavers: Vec<String> = ports
        .identities
        .terminated_since(now - Duration::days(30))
        .await
        .expect("identities terminated_since failed")
        .into_iter()
        .map(|i| i.employee_id)
        .filter(|id| id.starts_with(&prefix))
        .collect();
    assert_eq!(
        leavers,
        [
            format!("{prefix}-left-last-week"),
            format!("{prefix}-left-yesterday")
        ],
        "terminated within the window, earliest first; not rehired, long gone or never terminated by a change"
    );
}
