//! Idempotency-Key handling for submissions: same key + same body replays the first response; same key + another
//! body is a conflict. Only successful responses are remembered, so a failed attempt can be retried.

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::model::time;
use crate::ports::{Claim, Ports, StoredResponse};
use crate::{Error, Result};

/// How long a remembered response is replayed.
const RETENTION: Duration = Duration::hours(24);
/// How long an attempt may run before another one with the same key may take over.
const IN_PROGRESS: Duration = Duration::seconds(60);
const MAX_KEY_LEN: usize = 255;

/// Fingerprint of a JSON body, insensitive to key order and whitespace.
pub fn fingerprint(body: &serde_json::Value) -> String {
    // serde_json's Map is ordered by key (no preserve_order feature), so this encoding is canonical.
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

fn scoped(caller: &str, key: &str) -> Result<String> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::validation(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
        ));
    }
    // Keys are per caller: one employee's key never replays another's response.
    Ok(format!("{caller}#{key}"))
}

/// Runs `op` at most once per (caller, key) with the same body fingerprint.
pub async fn once<F, Fut>(
    p: &Ports,
    caller: &str,
    key: &str,
    fingerprint: &str,
    op: F,
) -> Result<StoredResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredResponse>>,
{
    let key = scoped(caller, key)?;
    let now = p.clock.now();
    match p
        .idempotency
        .claim(
            &key,
            fingerprint,
            now,
            time::plus(now, IN_PROGRESS, "idempotency claim")?,
        )
        .await?
    {
        Claim::Completed(response) => Ok(response),
        Claim::Mismatch => Err(Error::Conflict(
            "this Idempotency-Key was already used with a different request body".into(),
        )),
        Claim::InProgress => Err(Error::Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        )),
        Claim::Acquired => match op().await {
            Ok(response) => {
                p.idempotency
                    .complete(
                        &key,
                        response.clone(),
                        time::plus(p.clock.now(), RETENTION, "idempotency retention")?,
                    )
                    .await?;
                Ok(response)
            }
            Err(e) => {
                p.idempotency.abandon(&key).await?;
                Err(e)
            }
        },
    }
}
