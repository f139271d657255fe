//! The webhook signature of CONTRACT.md, both ways: `X-Provisio-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<raw body>")>`. Provisio signs what it sends to connectors and verifies what HR
//! systems send to it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::Timestamp;
use crate::{Error, Result};

/// The header the signature travels in.
pub const HEADER: &str = "x-provisio-signature";

/// How far a signature's timestamp may be from now, either way, before it is refused as a replay.
pub const TOLERANCE_SECONDS: i64 = 300;

// HMAC accepts keys of any length (RFC 2104: longer keys are hashed, shorter ones padded), so
// `new_from_slice` never returns `InvalidLength` for `Hmac<Sha256>`; hmac has no infallible
// constructor for a slice key, and `sign` stays infallible for its callers.
#[allow(clippy::expect_used)]
fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at unix time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

/// Checks `header` signs `body` with `secret` within the tolerance of `now`. Any `v1` entry may match (a sender
/// rotating its secret sends two); the comparison is constant-time. Every refusal is `Unauthorized`, without
/// saying which part failed.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now: Timestamp) -> Result<()> {
    let header = header.ok_or(Error::Unauthorized)?;
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = t.ok_or(Error::Unauthorized)?;
    // Checked: a timestamp near the ends of the i64 range would overflow the difference.
    let skew = now.timestamp().checked_sub(t);
    if skew.is_none_or(|skew| skew.unsigned_abs() > TOLERANCE_SECONDS.unsigned_abs()) {
        tracing::warn!(skew_seconds = ?skew, "signature timestamp outside tolerance");
        return Err(Error::Unauthorized);
    }
    let expected = mac(secret, t, body);
    if candidates
        .iter()
        .any(|c| expected.clone().verify_slice(c).is_ok())
    {
        Ok(())
    } else {
        tracing::warn!("signature does not match");
        Err(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"hr-secret";

    fn at(t: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(t, 0).unwrap()
    }

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // Independent check of the scheme: HMAC-SHA256("key", "1700000000.{}").
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            sign(b"key", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={expected}")
        );
    }

    #[test]
    fn a_fresh_signature_over_the_exact_body_passes() {
        let header = sign(SECRET, 1_800_000_000, b"{\"a\":1}");
        assert!(verify(SECRET, Some(&header), b"{\"a\":1}", at(1_800_000_100)).is_ok());
    }

    #[test]
    fn any_change_or_a_stale_timestamp_is_refused() {
        let t = 1_800_000_000;
        let header = sign(SECRET, t, b"body");
        let refused = |secret: &[u8], header: Option<&str>, body: &[u8], now: i64| {
            matches!(
                verify(secret, header, body, at(now)),
                Err(Error::Unauthorized)
            )
        };
        assert!(refused(SECRET, Some(&header), b"body!", t), "changed body");
        assert!(refused(b"other", Some(&header), b"body", t), "other secret");
        assert!(refused(SECRET, Some(&header), b"body", t + 301), "stale");
        assert!(
            refused(SECRET, Some(&header), b"body", t - 301),
            "from the future"
        );
        assert!(refused(SECRET, None, b"body", t), "no header");
        assert!(refused(SECRET, Some("v1=00"), b"body", t), "no timestamp");
        let moved = header.replace(&format!("t={t}"), &format!("t={}", t + 1));
        assert!(
            refused(SECRET, Some(&moved), b"body", t),
            "timestamp is signed"
        );
        assert!(
            verify(SECRET, Some(&header), b"body", at(t + 300)).is_ok(),
            "edge of the tolerance"
        );
    }

    #[test]
    fn a_timestamp_at_the_ends_of_the_integer_range_is_refused_not_a_panic() {
        // The skew computation overflowed (a panic with overflow checks, a wrapped skew that passed without).
        for t in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let header = format!("t={t},v1=00");
            for now in [0, 1_800_000_000, -1_000] {
                assert!(
                    matches!(
                        verify(SECRET, Some(&header), b"x", at(now)),
                        Err(Error::Unauthorized)
                    ),
                    "t={t} now={now}"
                );
            }
        }
    }

    #[test]
    fn a_second_v1_for_secret_rotation_is_accepted() {
        let t = 1_800_000_000;
        let old = sign(b"old", t, b"x");
        let new = sign(SECRET, t, b"x");
        let both = format!("{old},{}", new.split_once(',').unwrap().1);
        assert!(verify(SECRET, Some(&both), b"x", at(t)).is_ok());
    }

    #[test]
    fn secrets_of_any_length_sign_and_verify() {
        // `mac` relies on HMAC taking any key length: empty, shorter and longer than the 64-byte block.
        let t = 1_800_000_000;
        for secret in [&b""[..], b"k", &[7u8; 64], &[7u8; 1000]] {
            let header = sign(secret, t, b"x");
            assert!(verify(secret, Some(&header), b"x", at(t)).is_ok());
        }
    }
}
