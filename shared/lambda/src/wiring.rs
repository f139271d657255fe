//! Cold-start wiring for main.rs: reads the environment once, builds every adapter once and hands back the
//! [`Ports`] the handlers run against. Bad configuration fails the init phase with a message saying what to set,
//! instead of failing every invocation later. Variable names: shared/names.json, section `environment`.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `PROVISIO_BACKEND` | required. `dynamodb`: DynamoDB stores, Step Functions, EventBridge (as deployed). `memory`: in-process stores, a recording workflow engine and event bus (for running one function offline, e.g. under `cargo lambda watch`). |
//! | `PROVISIO_TABLE_*` | `dynamodb` only, required: the physical name of each table. |
//! | `PROVISIO_STATE_MACHINE_*_ARN` | `dynamodb` only, required: the fulfilment and deprovision state machines. |
//! | `PROVISIO_EVENT_BUS_NAME` | `dynamodb` only, required: the custom event bus. |
//! | `PROVISIO_CONNECTOR_TIMEOUT_MS` | timeout of one webhook connector call, default 10000. |
//! | `PROVISIO_MOVER_GRACE_HOURS` | hr-sync, scim: how long a mover keeps access that no longer fits, default 168. |
//! | `PROVISIO_EXPIRY_NOTICE_HOURS` | compliance: how long before `expiresAt` a holder is notified, default 168. |
//! | `PROVISIO_HR_QUEUE_URL` | hr-webhook, required: the HR FIFO queue. |
//! | `PROVISIO_HR_WEBHOOK_SECRET` | hr-webhook, required: the HMAC secret of HR events. |
//! | `PROVISIO_SCIM_TOKEN` | scim, required: the bearer token of SCIM clients. |
//!
//! The AWS clients take region, credentials and endpoint from the standard AWS variables (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...).

use std::sync::Arc;
use std::time::Duration;

use provisio_aws::{
    DynamoStores, EventBridgeBus, SqsQueue, StateMachineArns, StepFunctionsWorkflow, TableNames,
};
use provisio_connectors::HttpConnectors;
use provisio_core::model::Timestamp;
use provisio_core::names::environment as env;
use provisio_core::ports::{Clock, Ports, Queue};
use provisio_core::usecases::compliance::ComplianceSettings;
use provisio_core::usecases::lifecycle::LifecycleSettings;
use provisio_memory::{MemoryStores, RecordingEventBus, RecordingWorkflow};

pub const BACKEND_ENV: &str = env::BACKEND;
pub const CONNECTOR_TIMEOUT_ENV: &str = env::CONNECTOR_TIMEOUT_MS;
pub const DEFAULT_CONNECTOR_TIMEOUT_MS: u64 = 10_000;

pub const MEMORY_BACKEND: &str = "memory";
pub const DYNAMODB_BACKEND: &str = "dynamodb";

/// Why the process cannot start. `Debug` prints the message too: main.rs returns this error, and Rust shows a
/// returned error with `Debug`, which is what lands in the function's init log.
#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{BACKEND_ENV} is not set; set it to \"{DYNAMODB_BACKEND}\" (deployed) or \"{MEMORY_BACKEND}\" (offline, \
         e.g. under `cargo lambda watch`)"
    )]
    MissingBackend,
    #[error(
        "{BACKEND_ENV}={0:?} is not supported: use \"{DYNAMODB_BACKEND}\" or \"{MEMORY_BACKEND}\""
    )]
    UnsupportedBackend(String),
    #[error("the {DYNAMODB_BACKEND} backend needs these variables, which are not set: {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("{CONNECTOR_TIMEOUT_ENV}={0:?} is not a positive whole number of milliseconds")]
    InvalidConnectorTimeout(String),
    #[error("cannot build the connector HTTP client: {0}")]
    Connectors(#[source] provisio_core::Error),
    #[error("{0} is not set")]
    MissingVariable(&'static str),
    #[error("{0}={1:?} is not {2}")]
    Invalid(&'static str, String, &'static str),
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

/// Where the stores, workflow and events live.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    Memory,
    DynamoDb(Box<AwsResources>),
}

/// The deployed resources the `dynamodb` backend talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsResources {
    pub tables: TableNames,
    pub state_machines: StateMachineArns,
    pub event_bus: String,
}

/// Everything main.rs needs from the environment, read and checked in one go.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub backend: Backend,
    pub connector_timeout: Duration,
}

impl Settings {
    /// Reads the settings through any variable lookup, so configuration is testable without touching the
    /// process environment. Every missing variable is named at once.
    pub fn from_lookup(raw: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            raw(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let backend = get(BACKEND_ENV).ok_or(ConfigError::MissingBackend)?;
        let connector_timeout = connector_timeout(raw(CONNECTOR_TIMEOUT_ENV))?;
        let backend = match backend.as_str() {
            MEMORY_BACKEND => Backend::Memory,
            DYNAMODB_BACKEND => {
                let mut missing = Vec::new();
                let mut need = |name: &'static str| {
                    get(name).unwrap_or_else(|| {
                        missing.push(name);
                        String::new()
                    })
                };
                let tables = TableNames {
                    catalog: need(env::tables::CATALOG),
                    identities: need(env::tables::IDENTITIES),
                    requests: need(env::tables::REQUESTS),
                    approvals: need(env::tables::APPROVALS),
                    licenses: need(env::tables::LICENSES),
                    assignments: need(env::tables::ASSIGNMENTS),
                    audit: need(env::tables::AUDIT),
                    idempotency: need(env::tables::IDEMPOTENCY),
                    findings: need(env::tables::FINDINGS),
                    reviews: need(env::tables::REVIEWS),
                };
                let state_machines = StateMachineArns {
                    fulfilment: need(env::state_machine_arns::FULFILMENT),
                    deprovision: need(env::state_machine_arns::DEPROVISION),
                    offboarding: need(env::state_machine_arns::OFFBOARDING),
                };
                let event_bus = need(env::EVENT_BUS_NAME);
                if !missing.is_empty() {
                    return Err(ConfigError::Missing(missing));
                }
                Backend::DynamoDb(Box::new(AwsResources {
                    tables,
                    state_machines,
                    event_bus,
                }))
            }
            _ => return Err(ConfigError::UnsupportedBackend(backend)),
        };
        Ok(Self {
            backend,
            connector_timeout,
        })
    }

    /// Builds every adapter once: AWS clients from the standard AWS environment, or empty memory stores.
    pub async fn ports(&self) -> Result<Ports, ConfigError> {
        let connectors =
            Arc::new(HttpConnectors::new(self.connector_timeout).map_err(ConfigError::Connectors)?);
        let clock = Arc::new(SystemClock);
        tracing::info!(
            backend = match self.backend {
                Backend::Memory => MEMORY_BACKEND,
                Backend::DynamoDb(_) => DYNAMODB_BACKEND,
            },
            connector_timeout_ms = self.connector_timeout.as_millis() as u64,
            "wiring ports"
        );
        Ok(match &self.backend {
            Backend::Memory => MemoryStores::new().ports(
                Arc::new(RecordingWorkflow::default()),
                Arc::new(RecordingEventBus::default()),
                clock,
                connectors,
            ),
            Backend::DynamoDb(aws) => {
                let AwsResources {
                    tables,
                    state_machines,
                    event_bus,
                } = aws.as_ref();
                let config = provisio_aws::sdk_config().await;
                DynamoStores::new(aws_sdk_dynamodb::Client::new(&config), tables).ports(
                    Arc::new(StepFunctionsWorkflow::new(
                        aws_sdk_sfn::Client::new(&config),
                        state_machines.clone(),
                    )),
                    Arc::new(EventBridgeBus::new(
                        aws_sdk_eventbridge::Client::new(&config),
                        event_bus.clone(),
                    )),
                    clock,
                    connectors,
                )
            }
        })
    }
}

/// The ports for this process, from the process environment. Call once, at cold start.
pub async fn ports_from_env() -> Result<Ports, ConfigError> {
    Settings::from_lookup(|name| std::env::var(name).ok())?
        .ports()
        .await
}

/// A variable this function cannot start without.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::MissingVariable(name))
}

/// The HR FIFO queue at `PROVISIO_HR_QUEUE_URL` (SQS; the endpoint from the standard AWS variables).
pub async fn hr_queue_from_env() -> Result<Arc<dyn Queue>, ConfigError> {
    let url = required(env::HR_QUEUE_URL)?;
    let config = provisio_aws::sdk_config().await;
    Ok(Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&config),
        url,
    )))
}

/// Lifecycle settings: `PROVISIO_MOVER_GRACE_HOURS`, whole hours, default 7 days.
pub fn lifecycle_from_env() -> Result<LifecycleSettings, ConfigError> {
    lifecycle_settings(std::env::var(env::MOVER_GRACE_HOURS).ok())
}

fn lifecycle_settings(raw: Option<String>) -> Result<LifecycleSettings, ConfigError> {
    Ok(match hours(env::MOVER_GRACE_HOURS, raw)? {
        Some(mover_grace) => LifecycleSettings { mover_grace },
        None => LifecycleSettings::default(),
    })
}

/// Compliance settings: `PROVISIO_EXPIRY_NOTICE_HOURS`, whole hours, default 7 days.
pub fn compliance_from_env() -> Result<ComplianceSettings, ConfigError> {
    compliance_settings(std::env::var(env::EXPIRY_NOTICE_HOURS).ok())
}

fn compliance_settings(raw: Option<String>) -> Result<ComplianceSettings, ConfigError> {
    Ok(match hours(env::EXPIRY_NOTICE_HOURS, raw)? {
        Some(expiry_notice) => ComplianceSettings { expiry_notice },
        None => ComplianceSettings::default(),
    })
}

/// A duration set in whole hours by variable `name`; None when unset or blank (the default applies).
fn hours(name: &'static str, raw: Option<String>) -> Result<Option<chrono::Duration>, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(|h| Some(chrono::Duration::hours(h.into())))
            .map_err(|_| ConfigError::Invalid(name, v.into(), "a whole number of hours")),
    }
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
        match Settings::from_lookup(lookup(vars)) {
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
    fn an_unknown_backend_is_refused_naming_the_supported_ones() {
        let e = err(&[(BACKEND_ENV, "postgres")]);
        assert!(
            matches!(&e, ConfigError::UnsupportedBackend(b) if b == "postgres"),
            "got {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains("\"dynamodb\" or \"memory\""), "{message}");
        // The name is exact: no case folding that would hide a typo in deployment config.
        assert!(matches!(
            err(&[(BACKEND_ENV, "Memory")]),
            ConfigError::UnsupportedBackend(_)
        ));
        assert_eq!(
            format!("{e:?}"),
            message,
            "main returns it: Debug must print the message"
        );
    }

    #[test]
    fn dynamodb_names_every_missing_variable_at_once() {
        let e = err(&[
            (BACKEND_ENV, "dynamodb"),
            (env::tables::CATALOG, "cat"),
            (env::EVENT_BUS_NAME, " "),
        ]);
        let ConfigError::Missing(missing) = &e else {
            panic!("got {e:?}");
        };
        assert_eq!(
            missing.len(),
            env::tables::ALL.len() - 1 + env::state_machine_arns::ALL.len() + 1,
            "every table but the catalog, every state machine, the bus: {missing:?}"
        );
        assert!(!missing.contains(&env::tables::CATALOG));
        for name in [
            env::tables::AUDIT,
            env::state_machine_arns::FULFILMENT,
            env::EVENT_BUS_NAME,
        ] {
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn dynamodb_settings_come_from_the_names_json_variables() {
        let mut vars: Vec<(&str, String)> = env::tables::ALL
            .iter()
            .map(|v| (*v, format!("tbl-{v}")))
            .collect();
        vars.extend(
            env::state_machine_arns::ALL
                .iter()
                .map(|v| (*v, format!("arn-{v}"))),
        );
        vars.push((env::EVENT_BUS_NAME, "bus".into()));
        vars.push((BACKEND_ENV, "dynamodb".into()));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let settings = Settings::from_lookup(lookup(&vars)).expect("complete settings");
        let Backend::DynamoDb(aws) = settings.backend else {
            panic!("dynamodb expected");
        };
        let AwsResources {
            tables,
            state_machines,
            event_bus,
        } = *aws;
        assert_eq!(tables.audit, format!("tbl-{}", env::tables::AUDIT));
        assert_eq!(
            state_machines.deprovision,
            format!("arn-{}", env::state_machine_arns::DEPROVISION)
        );
        assert_eq!(event_bus, "bus");
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
    fn the_mover_grace_defaults_to_a_week_and_must_be_whole_hours() {
        assert_eq!(
            lifecycle_settings(None).unwrap(),
            LifecycleSettings::default()
        );
        assert_eq!(
            lifecycle_settings(Some(" 48 ".into())).unwrap().mover_grace,
            chrono::Duration::hours(48)
        );
        for bad in ["-1", "1.5", "week"] {
            let e = lifecycle_settings(Some(bad.into())).unwrap_err();
            assert!(e.to_string().contains(env::MOVER_GRACE_HOURS), "{e}");
        }
    }

    #[test]
    fn the_expiry_notice_defaults_to_a_week_and_must_be_whole_hours() {
        assert_eq!(
            compliance_settings(Some("".into())).unwrap(),
            ComplianceSettings::default()
        );
        assert_eq!(
            compliance_settings(Some("24".into()))
                .unwrap()
                .expiry_notice,
            chrono::Duration::hours(24)
        );
        let e = compliance_settings(Some("a day".into())).unwrap_err();
        assert!(e.to_string().contains(env::EXPIRY_NOTICE_HOURS), "{e}");
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
        let p = Settings::from_lookup(lookup(&[
            (BACKEND_ENV, "memory"),
            (CONNECTOR_TIMEOUT_ENV, "500"),
        ]))
        .expect("memory backend")
        .ports()
        .await
        .expect("memory ports");
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
