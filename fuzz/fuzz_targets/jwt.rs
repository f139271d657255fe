//! Bearer tokens as the local stack verifies them (HS256 with the dev secret, then the caller from the claims):
//! an `Authorization` header as sent (first byte even), or claims signed with the right secret (odd), so the
//! claim checks and `caller_from_claims` are reached too.
#![no_main]

use std::sync::LazyLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use provisio_local::auth::{DEFAULT_DEV_SECRET, DevAuth};
use serde_json::{Map, Value};

static AUTH: LazyLock<DevAuth> = LazyLock::new(|| DevAuth::new(DEFAULT_DEV_SECRET));
static KEY: LazyLock<EncodingKey> =
    LazyLock::new(|| EncodingKey::from_secret(DEFAULT_DEV_SECRET.as_bytes()));

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        let _ = AUTH.caller(Some(text));
        return;
    }
    let Ok(claims) = serde_json::from_str::<Map<String, Value>>(text) else {
        return;
    };
    if let Ok(token) = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &KEY) {
        let _ = AUTH.caller(Some(&format!("Bearer {token}")));
    }
});
