use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use provisio_core::audit::{AuditEntry, BrokenReason, Verification, anchor, verify};
use provisio_core::ports::Ports;
use tokio::sync::Semaphore;

use crate::fixtures::{audit_record, unique};

/// Raw access to the stored audit entries behind the port's back, as anyone with write access to the store
/// has: what verification must catch.
#[async_trait]
pub trait AuditBackdoor: Send + Sync {
    /// Stores `entry` as it is, at its chain and sequence number, replacing what is there.
    async fn overwrite(&self, entry: &AuditEntry);
    /// Removes the entry at `chain` / `seq`.
    async fn delete(&self, chain: &str, seq: u64);
}

async fn verified(ports: &Ports) -> Verification {
    verify(ports.audit.as_ref())
        .await
        .expect("audit verification failed to read")
}

/// Appends in flight at once: as many as a test server accepts connections for (moto serves one request at a
/// time and refuses connections beyond its listen backlog), far more than one partition can take in turn.
const IN_FLIGHT: usize = 64;

/// `count` appends at once (`IN_FLIGHT` at a time), on `subjects` subjects (round robin): every one succeeds, no two share a slot, and
/// the trail verifies with exactly `count` more entries.
async fn concurrent_appends(ports: &Ports, count: usize, subjects: usize) {
    let before = verified(ports).await;
    assert!(before.ok, "{before:?}");
    let prefix = unique("audit");
    let now = ports.clock.now();
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let appends: Vec<_> = (0..count)
        .map(|i| {
            let (log, record) = (
                ports.audit.clone(),
                audit_record(&format!("{prefix}-{}", i % subjects), now),
            );
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                let _permit = in_flight.acquire_owned().await;
                log.append(record).await
            })
        })
        .collect();
    let mut slots = BTreeSet::new();
    let mut failed = Vec::new();
    for handle in appends {
        match handle.await.expect("an append task panicked") {
            Ok(entry) => {
                slots.insert((entry.chain, entry.seq));
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "audit: {count} concurrent appends on {subjects} subjects: {} failed, {elapsed:.2} s, {:.0} appends/s, {} chains",
        failed.len(),
        (count - failed.len()) as f64 / elapsed,
        slots.iter().map(|(c, _)| c).collect::<BTreeSet<_>>().len(),
    );
    assert!(
        failed.is_empty(),
        "every concurrent append must succeed; {} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(slots.len(), count, "two appends took the same slot");

    let after = verified(ports).await;
    assert!(
        after.ok,
        "the trail must verify after concurrent appends: {after:?}"
    );
    assert_eq!(after.checked, before.checked + count as u64, "{after:?}");
    let ours = ports
        .audit
        .entries()
        .await
        .expect("audit entries failed")
        .iter()
        .filter(|e| e.record.subject.starts_with(&prefix))
        .count();
    assert_eq!(ours, count, "every appended record must be in the trail");
}

/// 400 concurrent appends on 200 subjects all succeed, each in its own slot, and the trail verifies.
pub async fn audit_concurrent_appends_chain_without_gaps(ports: &Ports) {
    concurrent_appends(ports, 400, 200).await;
}

/// 400 concurrent appends on one subject (one home shard) all succeed too: losers move to other shards.
pub async fn audit_concurrent_appends_on_one_subject_all_succeed(ports: &Ports) {
    concurrent_appends(ports, 400, 1).await;
}

/// Asserts that verification stops at `chain` / `seq` for `reason`.
async fn assert_broken(ports: &Ports, chain: &str, seq: u64, reason: BrokenReason, what: &str) {
    let v = verified(ports).await;
    assert_eq!(
        (v.ok, v.broken_chain.as_deref(), v.first_broken, v.reason),
        (false, Some(chain), Some(seq), Some(reason)),
        "{what} must be found: {v:?}"
    );
}

/// An edited, deleted or reordered entry is found in whichever shard it sits; once anchored, so are an edited
/// and re-hashed tail, a truncated tail and a deleted chain. Each restored, the trail verifies again.
pub async fn audit_tampering_is_found_in_every_shard(ports: &Ports, store: &dyn AuditBackdoor) {
    let now = ports.clock.now();
    // Three subjects with three different home shards, three entries each (appended one at a time).
    let mut chains: Vec<Vec<AuditEntry>> = Vec::new();
    let mut homes = BTreeSet::new();
    while chains.len() < 3 {
        let subject = unique("tamper");
        if !homes.insert(provisio_core::audit::home_shard(&subject)) {
            continue;
        }
        let mut entries = Vec::new();
        for _ in 0..3 {
            let entry = ports
                .audit
                .append(audit_record(&subject, now))
                .await
                .expect("append");
            entries.push(entry);
        }
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].chain == w[1].chain && w[0].seq + 1 == w[1].seq),
            "one at a time, a subject's entries follow each other in its home shard: {entries:?}"
        );
        chains.push(entries);
    }
    assert!(verified(ports).await.ok);

    for entries in &chains {
        let [middle, last] = [&entries[1], &entries[2]];
        let chain = middle.chain.as_str();

        let mut edited = middle.clone();
        edited.record.actor = "attacker".into();
        store.overwrite(&edited).await;
        assert_broken(ports, chain, middle.seq, BrokenReason::Content, "an edit").await;
        store.overwrite(middle).await;

        store.delete(chain, middle.seq).await;
        assert_broken(
            ports,
            chain,
            middle.seq,
            BrokenReason::Sequence,
            "a deletion",
        )
        .await;
        store.overwrite(middle).await;

        let (mut swapped_a, mut swapped_b) = (last.clone(), middle.clone());
        (swapped_a.seq, swapped_b.seq) = (middle.seq, last.seq);
        store.overwrite(&swapped_a).await;
        store.overwrite(&swapped_b).await;
        assert_broken(ports, chain, middle.seq, BrokenReason::Link, "a reordering").await;
        store.overwrite(middle).await;
        store.overwrite(last).await;
        assert!(verified(ports).await.ok, "restored, the trail verifies");
    }

    let written = anchor(ports.audit.as_ref(), now)
        .await
        .expect("anchor")
        .expect("an anchor is written after appends");
    assert_eq!(
        anchor(ports.audit.as_ref(), now).await.expect("anchor"),
        None,
        "nothing appended since: no new anchor"
    );
    let v = verified(ports).await;
    assert!(v.ok, "{v:?}");
    assert_eq!(v.latest_anchor.map(|a| a.hash), Some(written.hash));

    for entries in &chains {
        let last = &entries[2];
        let chain = last.chain.as_str();

        // The newest entry edited and its hash recomputed: no later entry links to it, the anchor does.
        let mut record = last.record.clone();
        record.actor = "attacker".into();
        let rehashed = AuditEntry::next(chain, record, Some((entries[1].seq, &entries[1].hash)));
        store.overwrite(&rehashed).await;
        assert_broken(
            ports,
            chain,
            last.seq,
            BrokenReason::Anchor,
            "a re-hashed tail",
        )
        .await;
        store.overwrite(last).await;

        store.delete(chain, last.seq).await;
        assert_broken(
            ports,
            chain,
            last.seq,
            BrokenReason::Anchor,
            "a truncated tail",
        )
        .await;
        store.overwrite(last).await;
        assert!(verified(ports).await.ok, "restored, the trail verifies");
    }

    // A whole shard deleted: the anchor still names its head.
    let whole = &chains[0];
    for entry in whole {
        store.delete(&entry.chain, entry.seq).await;
    }
    let head = &whole[2];
    let v = verified(ports).await;
    assert_eq!(
        (v.broken_chain.as_deref(), v.reason),
        (Some(head.chain.as_str()), Some(BrokenReason::Anchor)),
        "a deleted shard must be found: {v:?}"
    );
    for entry in whole {
        store.overwrite(entry).await;
    }
    assert!(verified(ports).await.ok);
}
