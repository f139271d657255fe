use std::collections::BTreeMap;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::audit::{ANCHOR_CHAIN, AuditEntry, AuditRecord, home_shard};
use provisio_core::ports::AuditLog;

use crate::locked::Locked;

/// Stored entries by chain, then by sequence number: the key layout of the DynamoDB table.
pub type AuditChains = BTreeMap<String, BTreeMap<u64, AuditEntry>>;

/// The sharded audit trail of `provisio_core::audit`. Appends run under one lock, so the home shard's slot is
/// never taken by someone else and every entry stays in its subject's home shard.
#[derive(Default)]
pub struct MemoryAudit(Locked<AuditChains>);

impl MemoryAudit {
    /// Edits the stored chains behind the port's back. It exists so tests and local tooling can prove that
    /// `provisio_core::audit::verify` detects tampering; nothing in the product calls it.
    pub fn tamper(&self, f: impl FnOnce(&mut AuditChains)) {
        self.0.with(f);
    }

    fn append_to(&self, chain: &str, record: AuditRecord) -> AuditEntry {
        self.0.with(|chains| {
            let entries = chains.entry(chain.to_string()).or_default();
            let last = entries
                .last_key_value()
                .map(|(_, e)| (e.seq, e.hash.as_str()));
            let entry = AuditEntry::next(chain, record, last);
            entries.insert(entry.seq, entry.clone());
            entry
        })
    }
}

#[async_trait]
impl AuditLog for MemoryAudit {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        let chain = home_shard(&record.subject);
        Ok(self.append_to(&chain, record))
    }

    async fn append_anchor(&self, record: AuditRecord) -> Result<AuditEntry> {
        Ok(self.append_to(ANCHOR_CHAIN, record))
    }

    async fn head(&self, chain: &str) -> Result<Option<AuditEntry>> {
        Ok(self.0.with(|chains| {
            chains
                .get(chain)
                .and_then(|entries| entries.last_key_value())
                .map(|(_, e)| e.clone())
        }))
    }

    async fn page(&self, chain: &str, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        Ok(self.0.with(|chains| {
            chains
                .get(chain)
                .map(|entries| {
                    entries
                        .range(after.saturating_add(1)..)
                        .take(limit)
                        .map(|(_, e)| e.clone())
                        .collect()
                })
                .unwrap_or_default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use provisio_core::audit::verify;
    use serde_json::{Value, json};

    use super::*;

    #[tokio::test]
    async fn tampering_is_caught_by_verification() {
        let audit = MemoryAudit::default();
        let mut appended = Vec::new();
        for subject in ["req-1", "req-1", "req-1"] {
            let record = AuditRecord {
                at: DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp"),
                actor: "E1".into(),
                action: "request.submitted".into(),
                subject: subject.into(),
                before: Value::Null,
                after: json!({"status": "SUBMITTED"}),
                comment: None,
            };
            appended.push(audit.append(record).await.expect("append"));
        }
        assert!(verify(&audit).await.expect("verify").ok);

        let chain = appended[1].chain.clone();
        audit.tamper(|chains| {
            if let Some(e) = chains.get_mut(&chain).and_then(|c| c.get_mut(&2)) {
                e.record.actor = "attacker".into();
            }
        });
        let verification = verify(&audit).await.expect("verify");
        assert_eq!(
            (verification.broken_chain, verification.first_broken),
            (Some(chain), Some(2))
        );
    }
}
