use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::audit::{AuditEntry, AuditRecord};
use provisio_core::ports::AuditLog;

use crate::locked::Locked;

#[derive(Default)]
pub struct MemoryAudit(Locked<Vec<AuditEntry>>);

impl MemoryAudit {
    /// Edits the stored chain behind the port's back. It exists so tests and local tooling can prove that
    /// `provisio_core::audit::verify` detects tampering; nothing in the product calls it.
    pub fn tamper(&self, f: impl FnOnce(&mut Vec<AuditEntry>)) {
        self.0.with(f);
    }
}

#[async_trait]
impl AuditLog for MemoryAudit {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        self.0.with(|entries| {
            let entry = AuditEntry::chain(record, entries.last().map(|e| (e.seq, e.hash.as_str())));
            entries.push(entry.clone());
            Ok(entry)
        })
    }

    async fn entries(&self) -> Result<Vec<AuditEntry>> {
        Ok(self.0.with(|entries| entries.clone()))
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
        for subject in ["req-1", "req-2", "req-3"] {
            let record = AuditRecord {
                at: DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp"),
                actor: "E1".into(),
                action: "request.submitted".into(),
                subject: subject.into(),
                before: Value::Null,
                after: json!({"status": "SUBMITTED"}),
                comment: None,
            };
            audit.append(record).await.expect("append");
        }
        assert!(verify(&audit.entries().await.expect("entries")).ok);

        audit.tamper(|entries| entries[1].record.actor = "attacker".into());
        assert_eq!(
            verify(&audit.entries().await.expect("entries")).first_broken,
            Some(2)
        );
    }
}
