//! Append-only, hash-chained audit trail, sharded so that concurrent appends do not contend on one slot.
//!
//! **Chains.** The trail is [`SHARDS`] independent hash chains (`shard-00` … `shard-63`), plus the chain
//! `provisio` that held the whole trail before it was sharded (kept and verified, never appended to again),
//! plus the anchor chain `anchor`. In each chain an entry's hash covers its sequence number, its content and
//! the previous entry's hash; a chain's first entry links to [`genesis`] of the chain's name, so an entry or a
//! whole chain moved under another name no longer links. Editing, deleting or reordering an entry breaks its
//! chain from that point on.
//!
//! **Appends.** An append goes to its subject's home shard ([`home_shard`]: a stable hash of the subject), so
//! one request's trail normally sits in one chain in order. A store that finds the home shard's next slot
//! taken by a concurrent appender moves the entry to another shard, picked at random, instead of queueing
//! behind the winner: hundreds of concurrent appends (even on one subject) spread over the shards.
//!
//! **Anchors.** A chain's newest entries have no successor whose link would betray an edit or a truncation.
//! [`anchor`] appends to the anchor chain an entry committing the head (sequence number and hash) of every
//! record chain; the escalation sweep does so every 15 minutes when anything was appended since the last
//! anchor. Verification checks every chain against the latest anchor, so after the next anchor an edited,
//! re-hashed or deleted tail, or a deleted chain, is found too. The latest anchor's hash, returned by
//! verification, is what an auditor can note outside Provisio: a store rewritten wholesale (every chain and
//! anchor recomputed) is only detectable against such an outside copy.
//!
//! **Verification** ([`verify`]) reads chain by chain, page by page ([`VERIFY_PAGE`] entries at a time), so
//! memory stays bounded whatever the trail's length.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Timestamp;
use crate::ports::AuditLog;
use crate::{Error, Result};

mod verify;

pub use verify::{Broken, BrokenReason, LatestAnchor, Verification, verify};

/// Number of record chains appends spread over. It may grow in a later version, never shrink: verification
/// reads the shards this number names.
pub const SHARDS: u32 = 64;
/// The single chain of the trail before it was sharded; it links to 64 zeros.
pub const LEGACY_CHAIN: &str = "provisio";
/// The chain of anchor entries.
pub const ANCHOR_CHAIN: &str = "anchor";
/// Entries read per page during verification (one store round trip each).
pub const VERIFY_PAGE: usize = 200;

/// Actor, action and subject of anchor entries.
const ANCHOR_ACTOR: &str = "provisio";
const ANCHOR_ACTION: &str = "audit.anchored";
const ANCHOR_SUBJECT: &str = "audit";

/// What a use case records; the store assigns the chain, `seq` and the hashes.
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
    /// The chain the entry is stored in (entries written before sharding carry none: the legacy chain).
    #[serde(default = "legacy_chain")]
    pub chain: String,
    pub seq: u64,
    #[serde(flatten)]
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

fn legacy_chain() -> String {
    LEGACY_CHAIN.to_string()
}

impl AuditEntry {
    /// Chains `record` in `chain` after the entry with `prev` (seq, hash), or as the chain's first entry.
    pub fn next(chain: &str, record: AuditRecord, prev: Option<(u64, &str)>) -> Self {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq.saturating_add(1), hash.to_string()),
            None => (1, genesis(chain)),
        };
        let hash = digest(seq, &record, &prev_hash);
        Self {
            chain: chain.to_string(),
            seq,
            record,
            prev_hash,
            hash,
        }
    }

    /// Whether `hash` is the digest of this entry's own content.
    pub(crate) fn hash_matches(&self) -> bool {
        self.hash == digest(self.seq, &self.record, &self.prev_hash)
    }
}

/// The hash a chain's first entry links to: 64 zeros for the legacy chain (as written before sharding), the
/// SHA-256 of the chain's name otherwise, which binds every entry to the chain it was appended to.
pub fn genesis(chain: &str) -> String {
    if chain == LEGACY_CHAIN {
        return "0".repeat(64);
    }
    hex::encode(Sha256::digest(format!("provisio-audit-chain:{chain}")))
}

fn digest(seq: u64, record: &AuditRecord, prev_hash: &str) -> String {
    // serde_json writes struct fields in declaration order and maps sorted (no preserve_order), so the
    // encoding is canonical for a given record.
    let body = serde_json::to_vec(&(seq, record, prev_hash)).unwrap_or_default();
    hex::encode(Sha256::digest(&body))
}

/// The name of shard `index`.
pub fn shard_chain(index: u32) -> String {
    format!("shard-{index:02}")
}

/// The shard a subject's entries go to while nobody else is appending there.
pub fn home_shard(subject: &str) -> String {
    let hash = Sha256::digest(subject.as_bytes());
    let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
    shard_chain(first % SHARDS)
}

/// Every chain that holds records (not anchors), in verification order: the legacy chain, then the shards.
pub fn record_chains() -> impl Iterator<Item = String> {
    std::iter::once(LEGACY_CHAIN.to_string()).chain((0..SHARDS).map(shard_chain))
}

/// A chain's newest entry as an anchor commits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The heads an anchor entry commits, by chain (chains without entries are left out).
pub type Heads = BTreeMap<String, Head>;

#[derive(Serialize, Deserialize)]
struct AnchorBody {
    heads: Heads,
}

/// The heads committed by anchor entry `entry`.
pub fn anchored_heads(entry: &AuditEntry) -> Result<Heads> {
    AnchorBody::deserialize(&entry.record.after)
        .map(|body| body.heads)
        .map_err(|e| Error::Internal(format!("anchor {} has no heads: {e}", entry.seq)))
}

/// Appends an anchor committing the current head of every record chain, unless no chain changed since the
/// latest anchor (or there is nothing to anchor). Returns the anchor written, if any. Safe to run
/// concurrently: two anchors written at once are both valid.
pub async fn anchor(log: &dyn AuditLog, at: Timestamp) -> Result<Option<AuditEntry>> {
    let mut heads = Heads::new();
    for chain in record_chains() {
        if let Some(head) = log.head(&chain).await? {
            heads.insert(
                chain,
                Head {
                    seq: head.seq,
                    hash: head.hash,
                },
            );
        }
    }
    let unchanged = match log.head(ANCHOR_CHAIN).await? {
        Some(latest) => anchored_heads(&latest).is_ok_and(|latest| latest == heads),
        None => heads.is_empty(),
    };
    if unchanged {
        return Ok(None);
    }
    let after = serde_json::to_value(AnchorBody { heads })
        .map_err(|e| Error::Internal(format!("cannot encode anchor: {e}")))?;
    let record = AuditRecord {
        at,
        actor: ANCHOR_ACTOR.into(),
        action: ANCHOR_ACTION.into(),
        subject: ANCHOR_SUBJECT.into(),
        before: Value::Null,
        after,
        comment: None,
    };
    log.append_anchor(record).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_starts_from_its_own_genesis() {
        assert_eq!(genesis(LEGACY_CHAIN), "0".repeat(64));
        assert_ne!(genesis("shard-00"), genesis("shard-01"));
        assert_eq!(genesis("shard-00").len(), 64);
    }

    #[test]
    fn subjects_spread_over_every_shard_and_keep_their_home() {
        let homes: std::collections::BTreeSet<String> = (0..2_000)
            .map(|i| home_shard(&format!("req-{i}")))
            .collect();
        assert_eq!(homes.len(), SHARDS as usize);
        assert_eq!(home_shard("req-7"), home_shard("req-7"));
        assert_eq!(record_chains().count(), SHARDS as usize + 1);
    }

    #[test]
    fn entries_written_before_sharding_read_as_legacy_chain_entries() {
        let old = serde_json::json!({"seq": 1, "at": "2026-01-01T00:00:00Z", "actor": "E1", "action": "a",
            "subject": "s", "before": null, "after": null, "prevHash": "0".repeat(64), "hash": "x"});
        let entry: AuditEntry = serde_json::from_value(old).expect("old entry decodes");
        assert_eq!(entry.chain, LEGACY_CHAIN);
    }
}
