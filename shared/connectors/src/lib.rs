//! Fulfilment connectors. `record`: the Provisio assignment is the entitlement. `webhook`: a signed JSON POST
//! to the target system; 5xx, 408, 429 and network failures are transient (the state machine retries them),
//! other 4xx are permanent.

use std::time::Duration;

use async_trait::async_trait;
use provisio_core::model::ConnectorConfig;
use provisio_core::ports::{Connectors, Grant};
use provisio_core::{Error, Result};
use serde_json::{Value, json};

/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the scheme HR webhooks use too.
pub const SIGNATURE_HEADER: &str = "x-provisio-signature";
/// Env var holding the webhook secret when an item's connector names none.
pub const DEFAULT_SECRET_ENV: &str = "PROVISIO_CONNECTOR_SECRET";

pub use provisio_core::signature::sign;

pub struct HttpConnectors {
    client: reqwest::Client,
}

impl HttpConnectors {
    pub fn new(timeout: Duration) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Internal(format!("http client: {e}")))?;
        Ok(Self { client })
    }

    async fn call(
        &self,
        config: &ConnectorConfig,
        action: &str,
        grant: &Grant,
        reference: Option<&Value>,
    ) -> Result<Value> {
        let ConnectorConfig::Webhook { url, secret_env } = config else {
            return Ok(json!({"connector": "record"}));
        };
        let env = secret_env.as_deref().unwrap_or(DEFAULT_SECRET_ENV);
        let secret = std::env::var(env).map_err(|_| {
            Error::ConnectorPermanent(format!("webhook secret env {env} is not set"))
        })?;
        let body =
            serde_json::to_vec(&json!({"action": action, "grant": grant, "reference": reference}))
                .map_err(|e| Error::Internal(e.to_string()))?;
        let signature = sign(secret.as_bytes(), chrono::Utc::now().timestamp(), &body);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("idempotency-key", format!("{action}:{}", grant.grant_id))
            .body(body)
            .send()
            .await
            .map_err(|e| Error::ConnectorTransient(format!("{action} {}: {e}", grant.item_id)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json::<Value>().await.unwrap_or(Value::Null));
        }
        let what = format!(
            "{action} {} answered HTTP {}",
            grant.item_id,
            status.as_u16()
        );
        match status.as_u16() {
            408 | 429 | 500..=599 => Err(Error::ConnectorTransient(what)),
            _ => Err(Error::ConnectorPermanent(what)),
        }
    }
}

#[async_trait]
impl Connectors for HttpConnectors {
    async fn grant(&self, config: &ConnectorConfig, grant: &Grant) -> Result<Value> {
        self.call(config, "grant", grant, None).await
    }

    async fn revoke(
        &self,
        config: &ConnectorConfig,
        grant: &Grant,
        reference: Option<&Value>,
    ) -> Result<()> {
        self.call(config, "revoke", grant, reference)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;

    fn grant() -> Grant {
        Grant {
            grant_id: "req-1:figma".into(),
            request_id: "req-1".into(),
            holder_id: "E100".into(),
            item_id: "figma".into(),
            expires_at: None,
        }
    }

    async fn target(status: StatusCode) -> String {
        let app = Router::new().route("/hook", post(move || async move { (status, "{}") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hook")
    }

    fn webhook(url: String) -> ConnectorConfig {
        ConnectorConfig::Webhook {
            url,
            secret_env: Some("PROVISIO_TEST_CONNECTOR_SECRET".into()),
        }
    }

    #[tokio::test]
    async fn status_codes_map_to_transient_or_permanent() {
        // SAFETY: set before any connector reads it; no other test in this crate writes the environment.
        unsafe { std::env::set_var("PROVISIO_TEST_CONNECTOR_SECRET", "s3cret") };
        let c = HttpConnectors::new(Duration::from_secs(2)).unwrap();
        let ok = c
            .grant(&webhook(target(StatusCode::OK).await), &grant())
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        let unavailable = c
            .grant(
                &webhook(target(StatusCode::SERVICE_UNAVAILABLE).await),
                &grant(),
            )
            .await;
        assert!(
            matches!(unavailable, Err(Error::ConnectorTransient(_))),
            "{unavailable:?}"
        );
        let throttled = c
            .grant(
                &webhook(target(StatusCode::TOO_MANY_REQUESTS).await),
                &grant(),
            )
            .await;
        assert!(
            matches!(throttled, Err(Error::ConnectorTransient(_))),
            "{throttled:?}"
        );
        let bad = c
            .grant(&webhook(target(StatusCode::BAD_REQUEST).await), &grant())
            .await;
        assert!(matches!(bad, Err(Error::ConnectorPermanent(_))), "{bad:?}");
        let refused = c
            .grant(&webhook("http://127.0.0.1:9/hook".into()), &grant())
            .await;
        assert!(
            matches!(refused, Err(Error::ConnectorTransient(_))),
            "{refused:?}"
        );
    }
}
