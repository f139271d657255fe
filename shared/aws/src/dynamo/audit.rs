use async_trait::async_trait;
use provisio_core::audit::{AuditEntry, AuditRecord};
use provisio_core::ports::AuditLog;
use provisio_core::{Error, Result};

use super::{Item, RACE_RETRIES, Table, backoff, condition_failed, n, s, string, unavailable};

/// Table `audit` (key `chain` + `seq`): one partition holds the chain. An append reads the last entry and
/// writes `seq + 1` on condition that the slot is free; a concurrent appender that took the slot makes it
/// re-read and chain after that one. The entry is kept as the exact JSON that was hashed (`entry`), with `hash`
/// beside it for reading, so verification recomputes over what was written.
pub struct DynamoAudit(pub(crate) Table);

const CHAIN: &str = "provisio";

fn decode(item: &Item) -> Result<AuditEntry> {
    let json =
        string(item, "entry").ok_or_else(|| Error::Internal("audit item without entry".into()))?;
    serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("cannot decode audit entry: {e}")))
}

impl DynamoAudit {
    async fn last(&self) -> Result<Option<AuditEntry>> {
        self.0
            .newest("chain", CHAIN)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }
}

#[async_trait]
impl AuditLog for DynamoAudit {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        for attempt in 0..RACE_RETRIES {
            let last = self.last().await?;
            let entry = AuditEntry::chain(
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
                .item("chain", s(CHAIN))
                .item("seq", n(entry.seq))
                .item("hash", s(&entry.hash))
                .item("entry", s(json))
                .condition_expression("attribute_not_exists(#seq)")
                .expression_attribute_names("#seq", "seq")
                .send()
                .await;
            match result {
                Ok(_) => return Ok(entry),
                Err(e) if condition_failed(&e) => backoff(attempt).await,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(Error::StoreUnavailable(
            "DynamoDB: audit append kept losing the race for the next slot".into(),
        ))
    }

    async fn entries(&self) -> Result<Vec<AuditEntry>> {
        let items = self
            .0
            .query_all(None, "#chain = :c", &[(":c", s(CHAIN))], true)
            .await?;
        items.iter().map(decode).collect()
    }
}
