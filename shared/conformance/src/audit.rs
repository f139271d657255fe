use provisio_core::audit::verify;
use provisio_core::ports::Ports;

use crate::fixtures::{audit_record, unique};

/// 100 concurrent appends each get their own sequence number, with no gap, and the chain verifies.
pub async fn audit_concurrent_appends_chain_without_gaps(ports: &Ports) {
    let before = ports
        .audit
        .entries()
        .await
        .expect("audit entries failed")
        .len() as u64;
    let prefix = unique("audit");
    let now = ports.clock.now();
    let appends: Vec<_> = (0..100)
        .map(|i| {
            let (log, record) = (
                ports.audit.clone(),
                audit_record(&format!("{prefix}-{i}"), now),
            );
            tokio::spawn(async move { log.append(record).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for handle in appends {
        let entry = handle
            .await
            .expect("an append task panicked")
            .expect("audit append failed");
        seqs.push(entry.seq);
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (before + 1..=before + 100).collect();
    assert_eq!(
        seqs, expected,
        "concurrent appends must take consecutive sequence numbers, no gap or duplicate"
    );

    let entries = ports.audit.entries().await.expect("audit entries failed");
    assert!(
        entries.windows(2).all(|w| w[0].seq < w[1].seq),
        "entries must come back in sequence order"
    );
    let verification = verify(&entries);
    assert!(
        verification.ok,
        "the chain must verify after concurrent appends: {verification:?}"
    );
    let ours = entries
        .iter()
        .filter(|e| e.record.subject.starts_with(&prefix))
        .count();
    assert_eq!(ours, 100, "every appended record must be in the log");
}
