//! Local authentication: HS256 bearer tokens signed with `PROVISIO_DEV_JWT_SECRET`, carrying the same claims as
//! the API Gateway JWT authorizer passes on (`sub`, `email`, `groups`). `exp` and `nbf` are verified when present,
//! as the API Gateway JWT authorizer does.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use provisio_core::Error;
use provisio_core::model::Caller;
use provisio_lambda::claims::caller_from_claims;
use serde_json::{Map, Value, json};

/// Documented default for local use only; never deploy it.
pub const DEFAULT_DEV_SECRET: &str = "provisio-local-dev-secret";

#[derive(Clone)]
pub struct DevAuth {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl DevAuth {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = 0;
        Self {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// A token for `employee_id`, valid for `ttl_seconds`.
    pub fn token(
        &self,
        employee_id: &str,
        groups: &[String],
        ttl_seconds: i64,
    ) -> Result<String, Error> {
        let claims = json!({
            "sub": employee_id,
            "email": format!("{}@example.com", employee_id.to_lowercase()),
            "groups": groups,
            "exp": chrono::Utc::now().timestamp() + ttl_seconds,
        });
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("token: {e}")))
    }

    /// The caller from an `Authorization` header value: None when absent; 401 when present but not valid.
    pub fn caller(&self, authorization: Option<&str>) -> Result<Option<Caller>, Error> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(Error::Unauthorized)?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            token.trim(),
            &self.decoding,
            &self.validation,
        )
        .map_err(|_| Error::Unauthorized)?;
        caller_from_claims(&data.claims)
            .map(Some)
            .ok_or(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_to_its_caller() {
        let auth = DevAuth::new("s");
        let token = auth.token("E100", &["provisio-admins".into()], 60).unwrap();
        let caller = auth
            .caller(Some(&format!("Bearer {token}")))
            .unwrap()
            .unwrap();
        assert_eq!(caller.employee_id, "E100");
        assert!(caller.is_admin());
    }

    #[test]
    fn wrong_secret_expired_and_garbage_are_unauthorized() {
        let token = DevAuth::new("other").token("E100", &[], 60).unwrap();
        let auth = DevAuth::new("s");
        assert!(matches!(
            auth.caller(Some(&format!("Bearer {token}"))),
            Err(Error::Unauthorized)
        ));
        let expired = auth.token("E100", &[], -10).unwrap();
        assert!(matches!(
            auth.caller(Some(&format!("Bearer {expired}"))),
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            auth.caller(Some("Bearer not.a.jwt")),
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            auth.caller(Some("Basic abc")),
            Err(Error::Unauthorized)
        ));
        assert!(auth.caller(None).unwrap().is_none());
    }

    #[test]
    fn a_token_not_valid_before_a_future_time_is_unauthorized() {
        let auth = DevAuth::new("s");
        let now = chrono::Utc::now().timestamp();
        let sign = |nbf: i64| {
            let claims = json!({"sub": "E100", "nbf": nbf, "exp": now + 600});
            let token =
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding)
                    .unwrap();
            auth.caller(Some(&format!("Bearer {token}")))
        };
        assert!(matches!(sign(now + 300), Err(Error::Unauthorized)));
        assert_eq!(sign(now - 5).unwrap().unwrap().employee_id, "E100");
    }
}
