//! Verification of the sharded audit trail: the anchor chain first, then every record chain against the latest
//! anchor, each read page by page.

use serde::Serialize;

use super::{
    ANCHOR_CHAIN, AuditEntry, Head, Heads, VERIFY_PAGE, anchored_heads, genesis, record_chains,
};
use crate::Result;
use crate::model::Timestamp;
use crate::ports::AuditLog;

/// Why an entry does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BrokenReason {
    /// The entry at this position is missing or out of order (a deletion or a reordering).
    Sequence,
    /// The entry does not link to its predecessor's hash.
    Link,
    /// The entry's hash does not match its content (an edit).
    Content,
    /// The entry differs from the head the latest anchor committed, or the chain ends before it.
    Anchor,
}

/// Where verification stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub chain: String,
    pub seq: u64,
    pub reason: BrokenReason,
}

/// The newest anchor, as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestAnchor {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
}

/// The answer of `GET /admin/audit/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub ok: bool,
    /// Record entries (not anchors) verified before the first broken one; all of them when ok.
    pub checked: u64,
    /// Sequence number, within `broken_chain`, of the first entry that does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<BrokenReason>,
    /// Anchor entries verified.
    pub anchors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_anchor: Option<LatestAnchor>,
}

/// One chain's check, fed entries in store order.
struct ChainCheck<'a> {
    chain: &'a str,
    next_seq: u64,
    prev_hash: String,
    anchored: Option<&'a Head>,
}

impl<'a> ChainCheck<'a> {
    fn new(chain: &'a str, anchored: Option<&'a Head>) -> Self {
        Self {
            chain,
            next_seq: 1,
            prev_hash: genesis(chain),
            anchored,
        }
    }

    fn broken(&self, seq: u64, reason: BrokenReason) -> Broken {
        Broken {
            chain: self.chain.to_string(),
            seq,
            reason,
        }
    }

    /// Checks the next entry: its position, its link, its hash, and the anchored head if it is that one.
    fn check(&mut self, entry: &AuditEntry) -> std::result::Result<(), Broken> {
        let seq = self.next_seq;
        if entry.seq != seq {
            return Err(self.broken(seq, BrokenReason::Sequence));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(self.broken(seq, BrokenReason::Link));
        }
        if !entry.hash_matches() {
            return Err(self.broken(seq, BrokenReason::Content));
        }
        if self
            .anchored
            .is_some_and(|head| head.seq == seq && head.hash != entry.hash)
        {
            return Err(self.broken(seq, BrokenReason::Anchor));
        }
        self.prev_hash.clone_from(&entry.hash);
        self.next_seq = seq.saturating_add(1);
        Ok(())
    }

    /// At the chain's end: it must reach the head the latest anchor committed.
    fn finish(&self) -> std::result::Result<(), Broken> {
        match self.anchored {
            Some(head) if head.seq >= self.next_seq => {
                Err(self.broken(self.next_seq, BrokenReason::Anchor))
            }
            _ => Ok(()),
        }
    }
}

/// How one chain's pass ended.
struct ChainResult {
    checked: u64,
    broken: Option<Broken>,
    last: Option<AuditEntry>,
}

/// Reads `chain` page by page through `check`, keeping only the current page and the last good entry.
async fn check_chain(
    log: &dyn AuditLog,
    chain: &str,
    anchored: Option<&Head>,
) -> Result<ChainResult> {
    let mut check = ChainCheck::new(chain, anchored);
    let mut result = ChainResult {
        checked: 0,
        broken: None,
        last: None,
    };
    let mut after = 0;
    loop {
        let page = log.page(chain, after, VERIFY_PAGE).await?;
        let full = page.len() >= VERIFY_PAGE;
        for entry in page {
            if let Err(broken) = check.check(&entry) {
                result.broken = Some(broken);
                return Ok(result);
            }
            result.checked += 1;
            after = entry.seq;
            result.last = Some(entry);
        }
        if !full {
            result.broken = check.finish().err();
            return Ok(result);
        }
    }
}

/// Verifies the whole trail: the anchor chain, then every record chain, each against the heads committed by
/// the latest anchor. Stops at the first broken entry.
pub async fn verify(log: &dyn AuditLog) -> Result<Verification> {
    let anchors = check_chain(log, ANCHOR_CHAIN, None).await?;
    let mut verification = Verification {
        ok: true,
        checked: 0,
        first_broken: None,
        broken_chain: None,
        reason: None,
        anchors: anchors.checked,
        latest_anchor: None,
    };
    if let Some(broken) = anchors.broken {
        return Ok(verification.broken(broken));
    }
    let heads = match &anchors.last {
        Some(latest) => match anchored_heads(latest) {
            Ok(heads) => heads,
            Err(_) => {
                let broken = Broken {
                    chain: ANCHOR_CHAIN.into(),
                    seq: latest.seq,
                    reason: BrokenReason::Content,
                };
                return Ok(verification.broken(broken));
            }
        },
        None => Heads::new(),
    };
    verification.latest_anchor = anchors.last.map(|a| LatestAnchor {
        seq: a.seq,
        hash: a.hash,
        at: a.record.at,
    });
    for chain in record_chains() {
        let result = check_chain(log, &chain, heads.get(&chain)).await?;
        verification.checked += result.checked;
        if let Some(broken) = result.broken {
            return Ok(verification.broken(broken));
        }
    }
    Ok(verification)
}

impl Verification {
    fn broken(mut self, broken: Broken) -> Self {
        self.ok = false;
        self.first_broken = Some(broken.seq);
        self.broken_chain = Some(broken.chain);
        self.reason = Some(broken.reason);
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::audit::AuditRecord;

    fn chain(name: &str, n: u64) -> Vec<AuditEntry> {
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
            out.push(AuditEntry::next(name, record, prev));
        }
        out
    }

    /// Where checking `entries` as chain `name` (anchored at `head`) stops, if it does.
    fn first_broken(
        name: &str,
        entries: &[AuditEntry],
        head: Option<&Head>,
    ) -> Option<(u64, BrokenReason)> {
        let mut check = ChainCheck::new(name, head);
        entries
            .iter()
            .try_for_each(|e| check.check(e))
            .and_then(|()| check.finish())
            .err()
            .map(|b| (b.seq, b.reason))
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(first_broken("shard-01", &chain("shard-01", 5), None), None);
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut entries = chain("shard-01", 5);
        entries[2].record.after = json!({"status": "FULFILLED"});
        assert_eq!(
            first_broken("shard-01", &entries, None),
            Some((3, BrokenReason::Content))
        );
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut entries = chain("shard-01", 5);
        entries.remove(1);
        assert_eq!(
            first_broken("shard-01", &entries, None),
            Some((2, BrokenReason::Sequence))
        );
    }

    #[test]
    fn reordered_entries_are_found() {
        let mut entries = chain("shard-01", 5);
        entries.swap(3, 4);
        assert_eq!(
            first_broken("shard-01", &entries, None),
            Some((4, BrokenReason::Sequence))
        );
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_link_to_the_next_entry() {
        let mut entries = chain("shard-01", 5);
        entries[1].record.actor = "attacker".into();
        entries[1].hash = digest_of(&entries[1]);
        assert_eq!(
            first_broken("shard-01", &entries, None),
            Some((3, BrokenReason::Link))
        );
    }

    #[test]
    fn a_chain_moved_under_another_name_no_longer_links() {
        assert_eq!(
            first_broken("shard-02", &chain("shard-01", 3), None),
            Some((1, BrokenReason::Link))
        );
    }

    #[test]
    fn the_latest_anchor_exposes_a_rehashed_or_truncated_tail() {
        let entries = chain("shard-01", 5);
        let head = Head {
            seq: 5,
            hash: entries[4].hash.clone(),
        };
        assert_eq!(first_broken("shard-01", &entries, Some(&head)), None);

        // The newest entry edited and re-hashed: nothing after it links to it, the anchor still does.
        let mut rehashed = entries.clone();
        rehashed[4].record.actor = "attacker".into();
        rehashed[4].hash = digest_of(&rehashed[4]);
        assert_eq!(
            first_broken("shard-01", &rehashed, Some(&head)),
            Some((5, BrokenReason::Anchor))
        );

        // The last two entries deleted.
        assert_eq!(
            first_broken("shard-01", &entries[..3], Some(&head)),
            Some((4, BrokenReason::Anchor))
        );
        // Entries appended after the anchor are fine.
        let older = Head {
            seq: 2,
            hash: entries[1].hash.clone(),
        };
        assert_eq!(first_broken("shard-01", &entries, Some(&older)), None);
    }

    fn digest_of(e: &AuditEntry) -> String {
        super::super::digest(e.seq, &e.record, &e.prev_hash)
    }
}
