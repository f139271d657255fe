use std::collections::HashMap;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::Timestamp;
use provisio_core::ports::{Claim, IdempotencyStore, StoredResponse};

use crate::locked::Locked;

#[derive(Default)]
pub struct MemoryIdempotency(Locked<HashMap<String, Record>>);

enum Record {
    InProgress {
        fingerprint: String,
        until: Timestamp,
    },
    Completed {
        fingerprint: String,
        response: StoredResponse,
        expires_at: Timestamp,
    },
}

impl Record {
    fn fingerprint(&self) -> &str {
        match self {
            Record::InProgress { fingerprint, .. } | Record::Completed { fingerprint, .. } => {
                fingerprint
            }
        }
    }

    /// Whether the record still binds at `now`. As in the Powertools condition (`expiry < now` frees the key),
    /// a record lives through its deadline and is as good as absent after it.
    fn live_at(&self, now: Timestamp) -> bool {
        match self {
            Record::InProgress {
                until: deadline, ..
            }
            | Record::Completed {
                expires_at: deadline,
                ..
            } => now <= *deadline,
        }
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<Claim> {
        self.0.with(|records| {
            match records.get(key).filter(|r| r.live_at(now)) {
                Some(r) if r.fingerprint() != fingerprint => return Ok(Claim::Mismatch),
                Some(Record::InProgress { .. }) => return Ok(Claim::InProgress),
                Some(Record::Completed { response, .. }) => {
                    return Ok(Claim::Completed(response.clone()));
                }
                None => {}
            }
            let claim = Record::InProgress {
                fingerprint: fingerprint.to_owned(),
                until: in_progress_until,
            };
            records.insert(key.to_owned(), claim);
            Ok(Claim::Acquired)
        })
    }

    async fn complete(
        &self,
        key: &str,
        response: StoredResponse,
        expires_at: Timestamp,
    ) -> Result<()> {
        self.0.with(|records| {
            // A key nobody holds (abandoned, or never claimed) has no payload to compare replays against.
            if let Some(record) = records.get_mut(key) {
                let fingerprint = record.fingerprint().to_owned();
                *record = Record::Completed {
                    fingerprint,
                    response,
                    expires_at,
                };
            }
        });
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<()> {
        self.0.with(|records| {
            // A completed response must outlive a late abandon, or a retry would run the operation twice.
            if matches!(records.get(key), Some(Record::InProgress { .. })) {
                records.remove(key);
            }
        });
        Ok(())
    }
}
