//! Hardening of submissions: bounded durations, one open request per person and item under parallel
//! submits, and justification length in characters.

use provisio_tests::{Stack, assert_problem};
use serde_json::{Value, json};

/// `MAX_DURATION_HOURS` of shared/core: 5 years.
const MAX_HOURS: u64 = 43_800;

/// An auto-approved item with a one-seat pool, as an admin puts it.
async fn pooled_item(s: &Stack, item_id: &str) {
    let pool = format!("{item_id}-pool");
    s.put_item(item_id, json!({"licensePoolId": pool})).await;
    s.put_pool(&pool, item_id, 1).await;
}

fn field(r: &provisio_tests::Reply) -> Value {
    r.body["errors"][0]["field"].clone()
}

#[tokio::test]
async fn a_duration_beyond_the_bound_is_a_400_and_wedges_no_seat() {
    let s = Stack::start().await;
    pooled_item(&s, "long-lived").await;
    for hours in [u64::from(u32::MAX), 1_000_000, MAX_HOURS + 1] {
        let r = s
            .call(
                "E013",
                "POST",
                "/requests",
                Some(json!({"itemId": "long-lived", "durationHours": hours})),
            )
            .await;
        assert_problem(&r, 400);
        assert_eq!(field(&r), "durationHours", "{hours}: {:?}", r.body);
    }
    let pool = s.pool("long-lived-pool").await;
    assert_eq!(
        (&pool["reserved"], &pool["assigned"]),
        (&json!(0), &json!(0)),
        "a refused request holds no seat: {pool}"
    );

    // The bound itself is fine: fulfilled, with an expiry five years on in plain RFC 3339.
    let id = s
        .submit(
            "E013",
            json!({"itemId": "long-lived", "durationHours": MAX_HOURS}),
        )
        .await;
    s.wait_status("E013", &id, "FULFILLED").await;
    s.wait_pool("long-lived-pool", 0, 1).await;
    let held = s.assignments("E013").await;
    let holding = held
        .iter()
        .find(|a| a["itemId"] == "long-lived")
        .expect("holding");
    let expires = holding["expiresAt"].as_str().expect("expiresAt");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("RFC 3339 expiry");
    let granted = holding["grantedAt"].as_str().expect("grantedAt");
    let granted = chrono::DateTime::parse_from_rfc3339(granted).expect("RFC 3339 grant");
    assert_eq!(
        (expires - granted).num_hours(),
        MAX_HOURS as i64,
        "{expires}"
    );

    // Extending by more than the bound is refused the same way.
    let extend = s
        .call(
            "E013",
            "POST",
            &format!(
                "/assignments/{}/extend",
                holding["assignmentId"].as_str().unwrap()
            ),
            Some(json!({"durationHours": u32::MAX})),
        )
        .await;
    assert_problem(&extend, 400);
    assert_eq!(field(&extend), "durationHours");
}

#[tokio::test]
async fn a_catalog_item_cannot_allow_more_than_the_bound() {
    let s = Stack::start().await;
    let item = json!({
        "itemId": "forever", "name": "forever", "category": "saas",
        "cost": {"amount": 1.0, "currency": "EUR", "recurrence": "monthly"},
        "glCode": "6200", "ownerId": "E016", "risk": "low", "lifecycle": "active",
        "maxDurationHours": u32::MAX
    });
    let r = s
        .call("E016", "PUT", "/admin/catalog/forever", Some(item))
        .await;
    assert_problem(&r, 400);
    assert_eq!(field(&r), "maxDurationHours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_submits_of_one_item_open_exactly_one_request() {
    const SUBMITS: usize = 20;
    let s = Stack::start().await;
    // Manager approval keeps the winner open while the others arrive.
    s.put_item(
        "contended",
        json!({"licensePoolId": "contended-pool", "approvalPolicy": {"stages": [
            {"name": "manager", "approvers": [{"type": "manager"}]}
        ]}}),
    )
    .await;
    s.put_pool("contended-pool", "contended", 1).await;
    let token = s.token("E013").await;
    let body = json!({"itemId": "contended"}).to_string();
    let mut calls = Vec::new();
    for i in 0..SUBMITS {
        let (s, token, body) = (s.clone(), token.clone(), body.clone());
        calls.push(tokio::spawn(async move {
            let key = format!("parallel-{i}");
            s.send(
                "POST",
                "/requests",
                Some(&token),
                Some(body.as_bytes()),
                &[("idempotency-key", &key)],
            )
            .await
        }));
    }
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for call in calls {
        let r = call.await.expect("submit task");
        match r.status {
            202 => accepted.push(r.body["requestId"].as_str().unwrap().to_string()),
            _ => refused.push(r),
        }
    }
    assert_eq!(
        accepted.len(),
        1,
        "exactly one submit opens a request: {accepted:?}"
    );
    let open = &accepted[0];
    for r in &refused {
        assert_problem(r, 409);
        assert_eq!(r.body["type"], "urn:provisio:problem:Conflict");
        assert!(
            r.body["detail"].as_str().unwrap().contains(open.as_str()),
            "the 409 names the open request: {:?}",
            r.body
        );
    }
    s.wait_open_stage("E013", open, 0).await;
    s.wait_pool("contended-pool", 1, 0).await;
    let mine = s.call("E013", "GET", "/requests", None).await;
    let of_item = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["itemId"] == "contended")
        .count();
    assert_eq!(of_item, 1, "only one request was recorded");

    // Once it has ended, the item may be asked for again.
    let cancel = s
        .call("E013", "POST", &format!("/requests/{open}/cancel"), None)
        .await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);
    s.wait_pool("contended-pool", 0, 0).await;
    let again = s.submit("E013", json!({"itemId": "contended"})).await;
    s.wait_open_stage("E013", &again, 0).await;
}

#[tokio::test]
async fn justification_length_counts_characters_not_bytes() {
    let s = Stack::start().await;
    s.put_item("cyrillic", json!({"requiresJustification": true}))
        .await;
    // 1,500 Cyrillic characters are 3,000 bytes of UTF-8, within the 2,000-character limit.
    let long = "д".repeat(1_500);
    s.submit("E013", json!({"itemId": "cyrillic", "justification": long}))
        .await;
    let too_long = s
        .call(
            "E022",
            "POST",
            "/requests",
            Some(json!({"itemId": "cyrillic", "justification": "д".repeat(2_001)})),
        )
        .await;
    assert_problem(&too_long, 400);
    assert_eq!(field(&too_long), "justification");
}
