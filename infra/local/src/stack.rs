//! Wiring of the local stack: memory stores, the ASL engine running statemachines/ with every Task dispatched
//! in-process to the handler function its Lambda would run.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use hr_webhook::Webhook;
use provisio_asl::{AslError, Definition, Engine, TaskFailure, TaskInvoker};
use provisio_aws::{DynamoStores, TableNames, create_tables};
use provisio_connectors::HttpConnectors;
use provisio_core::names::{queues, schedules, state_machines};
use provisio_core::ports::{Clock, Connectors, EventBus, Ports, Workflow};
use provisio_core::usecases::compliance::ComplianceSettings;
use provisio_core::usecases::lifecycle::LifecycleSettings;
use provisio_core::{Error, Result};
use provisio_lambda::task::invoke_json;
use provisio_memory::{FifoQueue, MemoryStores, Received, RecordingEventBus};
use serde_json::{Value, json};

use crate::auth::DevAuth;
use crate::clock::VirtualClock;
use crate::seed::{Seed, SeedError};

/// Function names as the ASL `${...Arn}` substitutions resolve locally.
const FUNCTIONS: &[(&str, &str)] = &[
    ("EligibilityFunctionArn", "eligibility"),
    ("LicenseCheckFunctionArn", "license-check"),
    ("ApprovalFunctionArn", "approval"),
    ("ProvisioningFunctionArn", "provisioning"),
    ("DeprovisioningFunctionArn", "deprovisioning"),
    ("OffboardingFunctionArn", "offboarding"),
];

/// The definitions shipped in statemachines/, compiled in so the binary runs from any directory.
const DEFINITIONS: &[(&str, &str)] = &[
    (
        state_machines::FULFILMENT,
        include_str!("../../../statemachines/fulfilment.asl.json"),
    ),
    (
        state_machines::DEPROVISION,
        include_str!("../../../statemachines/deprovision.asl.json"),
    ),
    (
        state_machines::OFFBOARDING,
        include_str!("../../../statemachines/offboarding.asl.json"),
    ),
];

pub fn substitutions() -> HashMap<String, String> {
    FUNCTIONS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub struct Config {
    pub seed: Seed,
    pub jwt_secret: String,
    /// The bearer token SCIM clients present.
    pub scim_token: String,
    /// The HMAC secret HR systems sign webhook events with.
    pub hr_webhook_secret: String,
    pub lifecycle: LifecycleSettings,
    pub compliance: ComplianceSettings,
    pub connector_timeout: std::time::Duration,
    pub store: Store,
}

/// Where the local stack keeps its data.
#[derive(Clone)]
pub enum Store {
    /// In-process memory (these stores; the caller may keep a handle): gone when the process ends.
    Memory(MemoryStores),
    /// Tables of shared/tables.json on a DynamoDB-protocol endpoint (moto, DynamoDB Local), created if missing,
    /// named `prefix` + the names.json name.
    DynamoDb {
        endpoint: String,
        table_prefix: String,
    },
}

impl Store {
    /// The ports over this store plus the non-store adapters.
    async fn ports(
        &self,
        workflow: Arc<dyn Workflow>,
        events: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        connectors: Arc<dyn Connectors>,
    ) -> Result<Ports> {
        Ok(match self {
            Store::Memory(stores) => stores.ports(workflow, events, clock, connectors),
            Store::DynamoDb {
                endpoint,
                table_prefix,
            } => {
                let config = provisio_aws::endpoint_config(endpoint).await;
                let client = aws_sdk_dynamodb::Client::new(&config);
                let names = TableNames::with_prefix(table_prefix);
                create_tables(&client, &names).await.map_err(|e| {
                    let detail = match e {
                        Error::StoreUnavailable(detail) => detail,
                        other => other.to_string(),
                    };
                    Error::StoreUnavailable(format!("--dynamodb-endpoint {endpoint}: {detail}"))
                })?;
                DynamoStores::new(client, &names).ports(workflow, events, clock, connectors)
            }
        })
    }
}

pub struct LocalStack {
    pub ports: Ports,
    pub events: Arc<RecordingEventBus>,
    pub clock: Arc<VirtualClock>,
    pub engine: Arc<Engine>,
    pub auth: DevAuth,
    pub scim_token: String,
    pub lifecycle: LifecycleSettings,
    pub compliance: ComplianceSettings,
    /// The HR webhook, sending to `hr_queue`.
    pub hr_webhook: Webhook,
    /// The HR FIFO queue, consumed by hr-sync in the background.
    pub hr_queue: Arc<FifoQueue>,
}

/// How long a failed HR event waits before it is delivered again (SQS: the visibility timeout).
const HR_RETRY_DELAY: Duration = Duration::from_millis(200);
/// How often an idle consumer looks at the HR queue again.
const HR_POLL: Duration = Duration::from_millis(20);
/// SQS hands a Lambda at most 10 FIFO messages per batch.
const HR_BATCH: usize = 10;

impl LocalStack {
    pub async fn new(config: Config) -> std::result::Result<Arc<Self>, StackError> {
        let clock = Arc::new(VirtualClock::default());
        let invoker = Arc::new(LocalInvoker::default());
        let engine = Engine::new(invoker.clone(), clock.clone());
        let mut definitions = HashMap::new();
        for (name, text) in DEFINITIONS {
            let def = Definition::parse(text, &substitutions())
                .map_err(|e| StackError::Definition(name, e))?;
            definitions.insert(*name, Arc::new(def));
        }
        let workflow = Arc::new(LocalWorkflow {
            engine: engine.clone(),
            definitions,
        });
        let events = Arc::new(RecordingEventBus::default());
        let connectors = Arc::new(HttpConnectors::new(config.connector_timeout)?);
        let hr_queue = Arc::new(FifoQueue::new(
            queues::hr::MAX_RECEIVE_COUNT as u32,
            HR_RETRY_DELAY,
        ));
        let ports = config
            .store
            .ports(workflow, events.clone(), clock.clone(), connectors)
            .await?;
        // The invoker needs the ports and the ports need the engine that owns the invoker: close the loop here.
        let _ = invoker.ports.set(ports.clone());
        // A store that already has a catalog (a DynamoDB endpoint from an earlier run) keeps its data.
        if ports.catalog.list().await?.is_empty() {
            config.seed.load(&ports).await?;
        }
        let hr_webhook = Webhook {
            queue: hr_queue.clone(),
            clock: clock.clone(),
            secret: config.hr_webhook_secret,
        };
        Ok(Arc::new(Self {
            ports,
            events,
            clock,
            engine,
            auth: DevAuth::new(&config.jwt_secret),
            scim_token: config.scim_token,
            lifecycle: config.lifecycle,
            compliance: config.compliance,
            hr_webhook,
            hr_queue,
        }))
        .inspect(|stack| {
            tokio::spawn(Self::consume_hr_queue(Arc::downgrade(stack)));
        })
    }

    /// The event source mapping: feeds the HR queue to hr-sync while the stack is alive.
    async fn consume_hr_queue(stack: Weak<Self>) {
        loop {
            let Some(s) = stack.upgrade() else {
                return;
            };
            let delivered = s.deliver_hr_batch().await;
            drop(s);
            if !delivered {
                tokio::time::sleep(HR_POLL).await;
            }
        }
    }

    /// Hands one batch of HR messages to hr-sync as SQS would and settles it by the partial batch response;
    /// false when nothing was ready.
    pub async fn deliver_hr_batch(&self) -> bool {
        let batch = self.hr_queue.receive(HR_BATCH);
        if batch.is_empty() {
            return false;
        }
        let mut event = SqsEvent::default();
        event.records = batch.iter().map(sqs_message).collect();
        let response = hr_sync::handle(&self.ports, &self.lifecycle, event).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        let ids: Vec<String> = batch.into_iter().map(|r| r.message_id).collect();
        self.hr_queue.settle(&ids, &failed);
        true
    }
}

/// A received message in the shape SQS hands it to a Lambda.
fn sqs_message(r: &Received) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(r.message_id.clone());
    m.body = Some(r.message.body.clone());
    m.attributes = HashMap::from([
        ("MessageGroupId".to_string(), r.message.group_id.clone()),
        (
            "MessageDeduplicationId".to_string(),
            r.message.deduplication_id.clone(),
        ),
        (
            "ApproximateReceiveCount".to_string(),
            r.receive_count.to_string(),
        ),
    ]);
    m
}

/// The schedules of names.json: name, rate.
const SCHEDULES: &[(&str, u64)] = &[
    ("escalation", schedules::escalation::RATE_MINUTES),
    ("compliance", schedules::compliance::RATE_MINUTES),
    ("reviews", schedules::reviews::RATE_MINUTES),
];

impl LocalStack {
    /// Runs a scheduled function now with a scheduled event, as its EventBridge rule would; its report.
    pub async fn run_schedule(&self, name: &str) -> Result<Value> {
        let event = json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": self.clock.now()});
        match name {
            "escalation" => escalation::handle(&self.ports, event)
                .await
                .map(|r| json!(r)),
            "compliance" => compliance::handle(&self.ports, &self.compliance, event)
                .await
                .map(|r| json!(r)),
            // The rule's constant input, as EventBridge passes it instead of the scheduled event.
            "reviews" => compliance::handle(
                &self.ports,
                &self.compliance,
                json!({"task": schedules::reviews::input::TASK}),
            )
            .await
            .map(|r| json!(r)),
            _ => Err(Error::NotFound(format!("schedule {name}"))),
        }
    }

    /// Runs every schedule whenever its rate has passed on the virtual clock, checking every `tick` of wall
    /// time. After a clock jump a schedule runs once, not once per missed period (EventBridge does not
    /// backfill either).
    pub async fn run_schedules_on_timers(self: Arc<Self>, tick: std::time::Duration) {
        let start = self.clock.now();
        let mut last: Vec<_> = SCHEDULES.iter().map(|_| start).collect();
        loop {
            tokio::time::sleep(tick).await;
            for ((name, minutes), last_run) in SCHEDULES.iter().zip(last.iter_mut()) {
                let now = self.clock.now();
                if now - *last_run < chrono::Duration::minutes(*minutes as i64) {
                    continue;
                }
                *last_run = now;
                match self.run_schedule(name).await {
                    Ok(report) => tracing::info!(schedule = name, %report, "schedule ran"),
                    Err(e) => tracing::warn!(schedule = name, error = %e, "schedule failed"),
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("state machine {0}: {1}")]
    Definition(&'static str, AslError),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Setup(#[from] Error),
}

/// Dispatches ASL Tasks to the handler functions, by function name.
#[derive(Default)]
struct LocalInvoker {
    ports: OnceLock<Ports>,
}

#[async_trait]
impl TaskInvoker for LocalInvoker {
    async fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> std::result::Result<Value, TaskFailure> {
        let p = self
            .ports
            .get()
            .ok_or_else(|| TaskFailure::new("Lambda.ServiceException", "stack not wired"))?;
        let result = match function {
            "eligibility" => invoke_json(payload, |i| eligibility::handle(p, i)).await,
            "license-check" => invoke_json(payload, |i| license_check::handle(p, i)).await,
            "approval" => invoke_json(payload, |i| approval::handle(p, i)).await,
            "provisioning" => invoke_json(payload, |i| provisioning::handle(p, i)).await,
            "deprovisioning" => invoke_json(payload, |i| deprovisioning::handle(p, i)).await,
            "offboarding" => invoke_json(payload, |i| offboarding::handle(p, i)).await,
            other => {
                return Err(TaskFailure::new(
                    "Lambda.ResourceNotFoundException",
                    format!("no function {other}"),
                ));
            }
        };
        // The same (errorType, errorMessage) pair a Lambda function error carries.
        result.map_err(|e| TaskFailure::new(e.name(), e.to_string()))
    }
}

/// The Workflow port over the local ASL engine.
struct LocalWorkflow {
    engine: Arc<Engine>,
    definitions: HashMap<&'static str, Arc<Definition>>,
}

impl LocalWorkflow {
    fn start(&self, machine: &str, name: &str, input: Value) -> Result<()> {
        let def = self
            .definitions
            .get(machine)
            .ok_or_else(|| Error::Internal(format!("no state machine {machine}")))?;
        self.engine
            .start_execution(machine, def.clone(), name, input)
            .map(|_| ())
            .map_err(workflow_error)
    }
}

fn workflow_error(e: AslError) -> Error {
    match e {
        AslError::TaskDoesNotExist | AslError::TaskTimedOut => {
            Error::Conflict("the workflow is no longer waiting for this decision".into())
        }
        AslError::ExecutionAlreadyExists(name) => {
            Error::Conflict(format!("execution {name} already exists"))
        }
        other => Error::Internal(other.to_string()),
    }
}

#[async_trait]
impl Workflow for LocalWorkflow {
    async fn start_fulfilment(&self, request_id: &str) -> Result<()> {
        self.start(
            state_machines::FULFILMENT,
            request_id,
            json!({"requestId": request_id}),
        )
    }

    async fn start_deprovision(&self, execution_name: &str, input: Value) -> Result<()> {
        self.start(state_machines::DEPROVISION, execution_name, input)
    }

    async fn start_offboarding(&self, execution_name: &str, input: Value) -> Result<()> {
        self.start(state_machines::OFFBOARDING, execution_name, input)
    }

    async fn complete_task(&self, task_token: &str, output: Value) -> Result<()> {
        self.engine
            .send_task_success(task_token, output)
            .map_err(workflow_error)
    }

    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        self.engine
            .send_task_failure(task_token, error, cause)
            .map_err(workflow_error)
    }
}
