use async_trait::async_trait;
use provisio_core::audit::{
    ANCHOR_CHAIN, AuditEntry, AuditRecord, SHARDS, home_shard, shard_chain,
};
use provisio_core::ports::AuditLog;
use provisio_core::{Error, Result};

use super::{Item, RACE_RETRIES, Table, backoff, condition_failed, n, s, string, unavailable};

/// Table `audit` (key `chain` + `seq`): one partition per chain of `provisio_core::audit` (the shards
/// `shard-NN`, the anchor chain, and the pre-sharding chain `provisio`). An append reads its chain's newest
/// entry and writes `seq + 1` on condition that the slot is free. An appender that loses that slot to a
/// concurrent one moves to a random other shard rather than queueing behind the winner, so contention spreads
/// over the shards instead of piling up on one partition. The entry is kept as the exact JSON that was hashed
/// (`entry`), with `hash` beside it for reading, so verification recomputes over what was written.
pub struct DynamoAudit(pub(crate) Table);

fn decode(item: &Item) -> Result<AuditEntry> {
    let json =
        string(item, "entry").ok_or_else(|| Error::Internal("audit item without entry".into()))?;
    let mut entry: AuditEntry = serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("cannot decode audit entry: {e}")))?;
    // Where the entry is stored is what verification checks it against.
    if let Some(chain) = string(item, "chain") {
        entry.chain = chain.to_string();
    }
    Ok(entry)
}

impl DynamoAudit {
    /// One attempt to append `record` at the end of `chain`: `None` when a concurrent appender took the slot.
    async fn try_append(&self, chain: &str, record: &AuditRecord) -> Result<Option<AuditEntry>> {
        let last = self.head(chain).await?;
        let entry = AuditEntry::next(
            chain,
            record.clone(),
            last.as_ref().map(|e| (e.seq, e.hash.as_str())),
        );
        let json = serde_json::to_string(&entry)
            .map_err(|e| Error::Internal(format!("cannot encode audit entry: {e}")))?;
        let result = self
            .0
            .client
            .put_item()
            .table_name(&self.0.name)
            .item("chain", s(chain))
            .item("seq", n(entry.seq))
            .item("hash", s(&entry.hash))
            .item("entry", s(json))
            .condition_expression("attribute_not_exists(#seq)")
            .expression_attribute_names("#seq", "seq")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(entry)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Appends to the chain `next_chain` names for each attempt, pausing between lost races.
    async fn append_with(
        &self,
        record: AuditRecord,
        mut next_chain: impl FnMut(u32) -> String,
    ) -> Result<AuditEntry> {
        for attempt in 0..RACE_RETRIES {
            if let Some(entry) = self.try_append(&next_chain(attempt), &record).await? {
                return Ok(entry);
            }
            backoff(attempt).await;
        }
        Err(Error::StoreUnavailable(
            "DynamoDB: audit append kept losing the race for the next slot".into(),
        ))
    }
}

#[async_trait]
impl AuditLog for DynamoAudit {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        let home = home_shard(&record.subject);
        self.append_with(record, |attempt| match attempt {
            0 => home.clone(),
            _ => shard_chain(rand::random_range(0..SHARDS)),
        })
        .await
    }

    async fn append_anchor(&self, record: AuditRecord) -> Result<AuditEntry> {
        self.append_with(record, |_| ANCHOR_CHAIN.to_string()).await
    }

    async fn head(&self, chain: &str) -> Result<Option<AuditEntry>> {
        self.0
            .newest("chain", chain)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn page(&self, chain: &str, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut entries = Vec::with_capacity(limit);
        let mut start: Option<Item> = None;
        // DynamoDB may end a page early (1 MB); read on until `limit` entries or the chain's end.
        while entries.len() < limit {
            let want = i32::try_from(limit - entries.len()).unwrap_or(i32::MAX);
            let out = self
                .0
                .client
                .query()
                .table_name(&self.0.name)
                .key_condition_expression("#chain = :c AND #seq > :after")
                .expression_attribute_names("#chain", "chain")
                .expression_attribute_names("#seq", "seq")
                .expression_attribute_values(":c", s(chain))
                .expression_attribute_values(":after", n(after))
                .consistent_read(true)
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                entries.push(decode(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(entries)
    }
}
