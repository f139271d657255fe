use chrono::Duration;
use provisio_core::ports::{Claim, Ports, StoredResponse};
use serde_json::json;

use crate::fixtures::unique;

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: json!({ "requestId": body }),
    }
}

/// Of 50 concurrent first claims of one key, exactly one runs the operation; the others see it in progress.
pub async fn idempotency_concurrent_claims_have_one_winner(ports: &Ports) {
    let key = unique("key");
    let now = ports.clock.now();
    let until = now + Duration::minutes(5);
    let claims: Vec<_> = (0..50)
        .map(|_| {
            let (store, key) = (ports.idempotency.clone(), key.clone());
            tokio::spawn(async move { store.claim(&key, "fp-1", now, until).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in claims {
        outcomes.push(
            handle
                .await
                .expect("a claim task panicked")
                .expect("idempotency claim failed"),
        );
    }
    let acquired = outcomes.iter().filter(|c| **c == Claim::Acquired).count();
    let in_progress = outcomes.iter().filter(|c| **c == Claim::InProgress).count();
    assert_eq!(
        (acquired, in_progress),
        (1, 49),
        "exactly one concurrent claim must be Acquired, the rest InProgress"
    );
}

/// A completed key replays its response to the same payload, refuses another, and frees up after expiry.
pub async fn idempotency_completed_replays_until_expiry(ports: &Ports) {
    let store = &ports.idempotency;
    let key = unique("key");
    let now = ports.clock.now();
    let expires_at = now + Duration::hours(24);
    let claim = store
        .claim(&key, "fp-1", now, now + Duration::minutes(5))
        .await
        .expect("idempotency claim failed");
    assert_eq!(
        claim,
        Claim::Acquired,
        "the first claim of a key must be Acquired"
    );
    store
        .complete(&key, response("req-1"), expires_at)
        .await
        .expect("idempotency complete failed");

    let later = now + Duration::minutes(10);
    let replay = store
        .claim(&key, "fp-1", later, later + Duration::minutes(5))
        .await
        .expect("claim failed");
    assert_eq!(
        replay,
        Claim::Completed(response("req-1")),
        "a completed key must replay the stored response"
    );
    let other = store
        .claim(&key, "fp-2", later, later + Duration::minutes(5))
        .await
        .expect("claim failed");
    assert_eq!(
        other,
        Claim::Mismatch,
        "a completed key reused with another payload must be a Mismatch"
    );
    store
        .abandon(&key)
        .await
        .expect("idempotency abandon failed");
    let kept = store
        .claim(&key, "fp-1", later, later + Duration::minutes(5))
        .await
        .expect("claim failed");
    assert_eq!(
        kept,
        Claim::Completed(response("req-1")),
        "abandon must not forget a completed response"
    );

    let expired = expires_at + Duration::seconds(1);
    let fresh = store
        .claim(&key, "fp-2", expired, expired + Duration::minutes(5))
        .await
        .expect("claim failed");
    assert_eq!(
        fresh,
        Claim::Acquired,
        "a completed key past its expiry must be claimable again"
    );
}

/// An in-progress claim blocks others until its deadline, then the key can be claimed again.
pub async fn idempotency_expired_in_progress_is_reacquirable(ports: &Ports) {
    let store = &ports.idempotency;
    let key = unique("key");
    let now = ports.clock.now();
    let until = now + Duration::minutes(1);
    assert_eq!(
        store
            .claim(&key, "fp-1", now, until)
            .await
            .expect("claim failed"),
        Claim::Acquired
    );

    let during = now + Duration::seconds(30);
    let blocked = store
        .claim(&key, "fp-1", during, during + Duration::minutes(1))
        .await
        .expect("claim failed");
    assert_eq!(
        blocked,
        Claim::InProgress,
        "a live in-progress claim must block the same payload"
    );
    let other = store
        .claim(&key, "fp-2", during, during + Duration::minutes(1))
        .await
        .expect("claim failed");
    assert_eq!(
        other,
        Claim::Mismatch,
        "a live in-progress claim reused with another payload must be a Mismatch"
    );

    let after = until + Duration::seconds(1);
    let retaken = store
        .claim(&key, "fp-1", after, after + Duration::minutes(1))
        .await
        .expect("claim failed");
    assert_eq!(
        retaken,
        Claim::Acquired,
        "an in-progress claim past its deadline must be claimable again"
    );
}

/// Abandoning an in-progress claim lets a retry run at once.
pub async fn idempotency_abandon_allows_a_new_claim(ports: &Ports) {
    let store = &ports.idempotency;
    let key = unique("key");
    let now = ports.clock.now();
    let until = now + Duration::minutes(5);
    assert_eq!(
        store
            .claim(&key, "fp-1", now, until)
            .await
            .expect("claim failed"),
        Claim::Acquired
    );
    store
        .abandon(&key)
        .await
        .expect("idempotency abandon failed");
    store
        .abandon(&key)
        .await
        .expect("a repeated abandon must succeed");
    let retry = store
        .claim(&key, "fp-1", now, until)
        .await
        .expect("claim failed");
    assert_eq!(
        retry,
        Claim::Acquired,
        "an abandoned key must be claimable again before its deadline"
    );
}
