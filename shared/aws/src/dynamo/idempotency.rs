use async_trait::async_trait;
use provisio_core::model::Timestamp;
use provisio_core::ports::{Claim, IdempotencyStore, StoredResponse};
use provisio_core::{Error, Result};

use super::{
    Item, RACE_RETRIES, Table, condition_failed, n, number, s, string, unavailable,
    unless_condition_failed,
};

/// Table `idempotency` (key `id`), in the Powertools design: a claim is a put on condition that no live record
/// exists (`expiresAt` in epoch milliseconds: the in-progress deadline, then the replay deadline); completion
/// stores the response; `ttl` (epoch seconds) lets DynamoDB delete records some time after they stop binding.
pub struct DynamoIdempotency(pub(crate) Table);

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

fn key(id: &str) -> Item {
    Item::from([("id".to_owned(), s(id))])
}

/// What a live record tells a new claim with `fingerprint`.
fn verdict(item: &Item, fingerprint: &str) -> Result<Claim> {
    if string(item, "fingerprint") != Some(fingerprint) {
        return Ok(Claim::Mismatch);
    }
    if string(item, "status") != Some(COMPLETED) {
        return Ok(Claim::InProgress);
    }
    let status = number(item, "responseStatus")
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| Error::Internal("idempotency record without response status".into()))?;
    let body = string(item, "responseBody")
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::Internal(format!("idempotency response body: {e}")))?
        .unwrap_or_default();
    Ok(Claim::Completed(StoredResponse { status, body }))
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        key_: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<Claim> {
        let now_ms = now.timestamp_millis();
        for _ in 0..RACE_RETRIES {
            let result = self
                .0
                .client
                .put_item()
                .table_name(&self.0.name)
                .item("id", s(key_))
                .item("status", s(IN_PROGRESS))
                .item("fingerprint", s(fingerprint))
                .item("expiresAt", n(in_progress_until.timestamp_millis()))
                .item("ttl", n(in_progress_until.timestamp()))
                .condition_expression("attribute_not_exists(#id) OR #expiresAt < :now")
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#expiresAt", "expiresAt")
                .expression_attribute_values(":now", n(now_ms))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Claim::Acquired),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
            // A live record exists, unless it was abandoned or expired since: then claim again.
            if let Some(item) = self.0.get_item(key(key_)).await?
                && number(&item, "expiresAt").is_some_and(|exp| exp >= now_ms)
            {
                return verdict(&item, fingerprint);
            }
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        key_: &str,
        response: StoredResponse,
        expires_at: Timestamp,
    ) -> Result<()> {
        let body = serde_json::to_string(&response.body)
            .map_err(|e| Error::Internal(format!("idempotency response body: {e}")))?;
        let result = self
            .0
            .client
            .update_item()
            .table_name(&self.0.name)
            .set_key(Some(key(key_)))
            .update_expression(
                "SET #status = :done, responseStatus = :rs, responseBody = :rb, expiresAt = :exp, #ttl = :ttl",
            )
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":done", s(COMPLETED))
            .expression_attribute_values(":rs", n(response.status))
            .expression_attribute_values(":rb", s(body))
            .expression_attribute_values(":exp", n(expires_at.timestamp_millis()))
            .expression_attribute_values(":ttl", n(expires_at.timestamp()))
            .send()
            .await;
        // A key nobody holds (abandoned, or never claimed) has no payload to compare replays against.
        unless_condition_failed(result)
    }

    async fn abandon(&self, key_: &str) -> Result<()> {
        let result = self
            .0
            .client
            .delete_item()
            .table_name(&self.0.name)
            .set_key(Some(key(key_)))
            // A completed response must outlive a late abandon, or a retry would run the operation twice.
            .condition_expression("#status = :p")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":p", s(IN_PROGRESS))
            .send()
            .await;
        unless_condition_failed(result)
    }
}
