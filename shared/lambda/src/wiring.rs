//! Cold-start wiring for main.rs: reads the environment once, builds every adapter once and hands back the
//! [`Ports`] the handlers run against. Bad configuration fails the init phase with a message saying what to set,
//! instead of failing every invocation later.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `PROVISIO_BACKEND` | required. `memory`: in-process stores, a recording workflow engine and event bus (for running one function offline, e.g. under `cargo lambda watch`). |
//! | `PROVISIO_CONNECTOR_TIMEOUT_MS` | timeout of one webhook connector call, default 10000. |

use std::sync::Arc;
use std::time::Duration;

use provisio_connectors::HttpConnectors;
use provisio_core::model::Timestamp;
use provisio_core::ports::{Clock, Ports};
use provisio_memory::{MemoryStores, RecordingEventBus, RecordingWorkflow};

pub const BACKEND_ENV: &str = "PROVISIO_BACKEND";
pub const CONNECTOR_TIMEOUT_ENV: &str = "PROVISIO_CONNECTOR_TIMEOUT_MS";
pub const DEFAULT_CONNECTOR_TIMEOUT_MS: u64 = 10_000;

/// The backends this build can wire.
pub const MEMORY_BACKEND: &str = "memory";

/// Why the process cannot start. `Debug` prints the message too: main.rs returns this error, and Rust shows a
/// returned error with `Debug`, which is what lands in the function's init log.
#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{BACKEND_ENV} is not set; set it to \"{MEMORY_BACKEND}\" to run this function offline \
         (e.g. under `cargo lambda watch`)"
    )]
    MissingBackend,
    #[error(
        "{BACKEND_ENV}={0:?} is not supported: the only backend in this build is \"{MEMORY_BACKEND}\"; \
         the DynamoDB backend comes with the AWS adapters"
    )]
    UnsupportedBackend(String),
    #[error("{CONNECTOR_TIMEOUT_ENV}={0:?} is not a positive whole number of milliseconds")]
    InvalidConnectorTimeout(String),
    #[error("cannot build the connector HTTP client: {0}")]
    Connectors(#[source] provisio_core::Error),
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Wall-clock time, for every backend but tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// The ports for this process, from the process environment. Call once, at cold start.
pub fn ports_from_env() -> Result<Ports, ConfigError> {
    from_lookup(|name| std::env::var(name).ok())
}

/// [`ports_from_env`] over any variable lookup, so configuration is testable without touching the process
/// environment.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Ports, ConfigError> {
    let backend = get(BACKEND_ENV)
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .ok_or(ConfigError::MissingBackend)?;
    if backend != MEMORY_BACKEND {
        return Err(ConfigError::UnsupportedBackend(backend));
    }
    let timeout = connector_timeout(get(CONNECTOR_TIMEOUT_ENV))?;
    let connectors = HttpConnectors::new(timeout).map_err(ConfigError::Connectors)?;
    tracing::info!(
        backend = %backend,
        connector_timeout_ms = timeout.as_millis() as u64,
        "wiring ports"
    );
    Ok(MemoryStores::new().ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(SystemClock),
        Arc::new(connectors),
    ))
}

fn connector_timeout(raw: Option<String>) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Duration::from_millis(DEFAULT_CONNECTOR_TIMEOUT_MS));
    };
    match raw.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError::InvalidConnectorTimeout(raw)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use provisio_core::model::Identity;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn err(vars: &[(&str, &str)]) -> ConfigError {
        match from_lookup(lookup(vars)) {
            Ok(_) => panic!("{vars:?} should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_missing_or_blank_backend_is_refused_with_what_to_set() {
        for vars in [&[][..], &[(BACKEND_ENV, "  ")][..]] {
            let e = err(vars);
            assert!(matches!(e, ConfigError::MissingBackend), "got {e:?}");
            let message = e.to_string();
            assert!(message.contains("PROVISIO_BACKEND"), "{message}");
            assert!(message.contains("\"memory\""), "{message}");
        }
    }

    #[test]
    fn another_backend_is_refused_naming_the_only_one_built_in() {
        let e = err(&[(BACKEND_ENV, "dynamodb")]);
        assert!(
            matches!(&e, ConfigError::UnsupportedBackend(b) if b == "dynamodb"),
            "got {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains("\"dynamodb\""), "{message}");
        assert!(
            message.contains("only backend in this build is \"memory\""),
            "{message}"
        );
        assert!(message.contains("DynamoDB backend comes with the AWS adapters"));
        // The name is exact: no case folding that would hide a typo in deployment config.
        assert!(matches!(
            err(&[(BACKEND_ENV, "Memory")]),
            ConfigError::UnsupportedBackend(_)
        ));
    }

    #[test]
    fn the_error_main_returns_prints_the_message() {
        let e = err(&[(BACKEND_ENV, "dynamodb")]);
        assert_eq!(format!("{e:?}"), e.to_string());
    }

    #[test]
    fn a_bad_connector_timeout_is_refused() {
        for bad in ["0", "-5", "ten", "1.5", ""] {
            let e = err(&[(BACKEND_ENV, "memory"), (CONNECTOR_TIMEOUT_ENV, bad)]);
            assert!(
                matches!(&e, ConfigError::InvalidConnectorTimeout(v) if v == bad),
                "{bad:?}: got {e:?}"
            );
            assert!(e.to_string().contains(CONNECTOR_TIMEOUT_ENV));
        }
    }

    #[test]
    fn the_timeout_defaults_to_ten_seconds_and_may_be_set() {
        assert_eq!(connector_timeout(None).unwrap(), Duration::from_secs(10));
        assert_eq!(
            connector_timeout(Some(" 2500 ".into())).unwrap(),
            Duration::from_millis(2500)
        );
    }

    #[tokio::test]
    async fn memory_wires_working_empty_stores_and_the_wall_clock() {
        let before = chrono::Utc::now();
        let p = from_lookup(lookup(&[
            (BACKEND_ENV, "memory"),
            (CONNECTOR_TIMEOUT_ENV, "500"),
        ]))
        .expect("memory backend");
        let now = p.clock.now();
        assert!(now >= before && now <= chrono::Utc::now());
        assert!(p.catalog.list().await.unwrap().is_empty());

        let identity: Identity = serde_json::from_value(serde_json::json!({
            "employeeId": "E1", "email": "e1@example.com", "displayName": "E One",
            "department": "IT", "jobTitle": "Admin", "location": "DE", "costCenter": "CC-200",
            "employmentType": "FTE", "status": "active"
        }))
        .unwrap();
        p.identities.put(identity.clone()).await.unwrap();
        assert_eq!(p.identities.get("E1").await.unwrap(), Some(identity));
        // The workflow port accepts starts (it records them) so intake works offline.
        p.workflow.start_fulfilment("req-1").await.unwrap();
    }
}
