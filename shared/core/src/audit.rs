//! Append-only, hash-chained audit trail. Each entry's hash covers its content and the previous entry's hash, so
//! editing, deleting or reordering any entry breaks verification from that point on.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Timestamp;

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a use case records; the store assigns `seq` and the chain fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Value,
    pub after: Value,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(flatten)]
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// Chains `record` after the entry with `prev` (seq, hash), or after genesis.
    pub fn chain(record: AuditRecord, prev: Option<(u64, &str)>) -> Self {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash.to_string()),
            None => (1, GENESIS.to_string()),
        };
        let hash = digest(seq, &record, &prev_hash);
        Self {
            seq,
            record,
            prev_hash,
            hash,
        }
    }
}

fn digest(seq: u64, record: &AuditRecord, prev_hash: &str) -> String {
    // serde_json writes struct fields in declaration order and maps sorted (no preserve_order), so the
    // encoding is canonical for a given record.
    let body = serde_json::to_vec(&(seq, record, prev_hash)).unwrap_or_default();
    hex::encode(Sha256::digest(&body))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub ok: bool,
    pub checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<u64>,
}

/// Verifies entries in store order: sequence numbers contiguous from 1, each linked to its predecessor's hash,
/// each hash matching its content.
pub fn verify(entries: &[AuditEntry]) -> Verification {
    let mut prev_hash = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let intact = e.seq == expected_seq
            && e.prev_hash == prev_hash
            && e.hash == digest(e.seq, &e.record, &e.prev_hash);
        if !intact {
            return Verification {
                ok: false,
                checked: i as u64,
                first_broken: Some(expected_seq),
            };
        }
        prev_hash = &e.hash;
    }
    Verification {
        ok: true,
        checked: entries.len() as u64,
        first_broken: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let record = AuditRecord {
                at: chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap(),
                actor: "E1".into(),
                action: "request.submitted".into(),
                subject: format!("req-{i}"),
                before: Value::Null,
                after: json!({"status": "SUBMITTED"}),
                comment: None,
            };
            let prev = out.last().map(|e| (e.seq, e.hash.as_str()));
            let entry = AuditEntry::chain(record, prev);
            out.push(entry);
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(
            verify(&chain(5)),
            Verification {
                ok: true,
                checked: 5,
                first_broken: None
            }
        );
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut entries = chain(5);
        entries[2].record.after = json!({"status": "FULFILLED"});
        assert_eq!(verify(&entries).first_broken, Some(3));
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut entries = chain(5);
        entries.remove(1);
        assert_eq!(verify(&entries).first_broken, Some(2));
    }

    #[test]
    fn reordered_entries_are_found() {
        let mut entries = chain(5);
        entries.swap(3, 4);
        assert_eq!(verify(&entries).first_broken, Some(4));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_link_to_the_next_entry() {
        let mut entries = chain(5);
        entries[1].record.actor = "attacker".into();
        entries[1].hash = digest(entries[1].seq, &entries[1].record, &entries[1].prev_hash);
        assert_eq!(verify(&entries).first_broken, Some(3));
    }
}
