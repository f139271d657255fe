//! Smoke test of the deployable artefacts: every function binary, configured only through its environment with
//! the `dynamodb` backend, runs under `cargo lambda watch` (the Lambda runtime API emulator) and answers its
//! events/ fixtures through `cargo lambda invoke`, against DynamoDB, Step Functions and EventBridge on moto.
//!
//! It needs cargo-lambda and the function binaries (`cargo build --bins`), so it is ignored by a plain
//! `cargo test`; scripts/test.sh builds both and runs it with `--ignored`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provisio_aws::{DynamoStores, TableNames, create_tables};
use provisio_conformance::moto::Moto;
use provisio_core::model::AssignmentStatus;
use provisio_core::names::{environment as env, event_types, state_machines, tables};
use provisio_core::ports::Ports;
use provisio_lambda::fixtures::{FIXTURE_REQUEST_ID, approve, events_dir, repo_root, seed_request};
use provisio_lambda::wiring::SystemClock;
use provisio_local::seed::Seed;
use provisio_memory::{RecordingEventBus, RecordingWorkflow, ScriptedConnectors};
use serde_json::Value;
use std::sync::Arc;

/// The secret the events/hr-webhook fixtures are signed with, and the token of the events/scim fixtures.
const HR_SECRET: &str = "fixture-hr-webhook-secret";
const SCIM_TOKEN: &str = "fixture-scim-token";

/// What a fixture must produce.
enum Expect {
    /// An HTTP function's response status.
    Status(u16),
    /// A task function's successful result.
    Done,
    /// An SQS consumer's partial batch response reporting no failure.
    NoBatchFailures,
}
use Expect::{Done, NoBatchFailures, Status};

/// The AWS side, created on moto the way the CDK app creates it on AWS.
struct Aws {
    /// Stops when the test ends.
    _moto: Moto,
    env: Vec<(String, String)>,
    ports: Ports,
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    hr_queue_url: String,
}

impl Aws {
    async fn new(prefix: &str) -> Self {
        let moto = Moto::start();
        let config = provisio_aws::endpoint_config(&moto.endpoint).await;
        let names = TableNames::with_prefix(prefix);
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        create_tables(&dynamodb, &names)
            .await
            .expect("create tables");

        let sfn = aws_sdk_sfn::Client::new(&config);
        let mut vars = Vec::new();
        for machine in state_machines::ALL {
            let definition = std::fs::read_to_string(
                repo_root().join(format!("statemachines/{machine}.asl.json")),
            )
            .expect("read state machine");
            let arn = sfn
                .create_state_machine()
                .name(format!("{prefix}{machine}"))
                .definition(definition)
                .role_arn("arn:aws:iam::123456789012:role/provisio-states")
                .send()
                .await
                .expect("create state machine")
                .state_machine_arn;
            let variable = env::state_machine_arns::ALL
                .iter()
                .find(|v| v.ends_with(&format!("_{}_ARN", machine.to_uppercase())))
                .unwrap_or_else(|| panic!("names.json has no ARN variable for {machine}"));
            vars.push((variable.to_string(), arn));
        }

        // The bus, and a rule copying every Provisio event to a queue the test reads.
        let bus = format!("{prefix}provisio");
        let events = aws_sdk_eventbridge::Client::new(&config);
        events
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("create bus");
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}events"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{prefix}events");
        events
            .put_rule()
            .name("all-provisio-events")
            .event_bus_name(&bus)
            .event_pattern(format!(
                r#"{{"source":["{}"]}}"#,
                provisio_core::names::EVENT_SOURCE
            ))
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule("all-provisio-events")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");

        // The HR FIFO queue the webhook sends to, as the CDK app declares it.
        let hr_queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}hr-events.fifo"))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .expect("create HR queue")
            .queue_url
            .expect("HR queue url");

        vars.extend([
            (env::BACKEND.to_string(), "dynamodb".to_string()),
            (env::EVENT_BUS_NAME.to_string(), bus),
            (env::HR_QUEUE_URL.to_string(), hr_queue_url.clone()),
            (env::HR_WEBHOOK_SECRET.to_string(), HR_SECRET.to_string()),
            (env::SCIM_TOKEN.to_string(), SCIM_TOKEN.to_string()),
            ("AWS_ENDPOINT_URL".into(), moto.endpoint.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ]);
        for (logical, physical) in names.pairs() {
            let variable = env::tables::ALL
                .iter()
                .find(|v| v.ends_with(&format!("_{}", logical.to_uppercase())))
                .unwrap_or_else(|| panic!("names.json has no variable for table {logical}"));
            vars.push((variable.to_string(), physical.to_string()));
        }
        let ports = DynamoStores::new(dynamodb, &names).ports(
            Arc::new(RecordingWorkflow::default()),
            Arc::new(RecordingEventBus::default()),
            Arc::new(SystemClock),
            Arc::new(ScriptedConnectors::default()),
        );
        Seed::demo()
            .expect("demo seed")
            .load(&ports)
            .await
            .expect("load demo seed");
        assert_eq!(tables::ALL.len(), names.pairs().len());
        Self {
            _moto: moto,
            env: vars,
            ports,
            sfn,
            sqs,
            queue_url,
            hr_queue_url,
        }
    }

    /// Detail-types of the events that reached the bus so far.
    async fn published(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return seen;
            }
            for m in messages {
                let event: Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).expect("event JSON");
                seen.insert(
                    event["detail-type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
}

/// `cargo lambda watch --only-lambda-apis`: the runtime API the function binaries poll.
struct Emulator {
    port: u16,
    child: Child,
}

impl Emulator {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda watch (install with: pip install cargo-lambda)");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { port, child }
    }

    /// Starts `function`'s binary against the emulator, invokes each events/ case, checks the result, stops it.
    fn run(&self, aws: &Aws, function: &str, cases: &[(&str, Expect)]) {
        let files: Vec<(PathBuf, &Expect)> = cases
            .iter()
            .map(|(case, expect)| {
                (
                    events_dir().join(function).join(format!("{case}.json")),
                    expect,
                )
            })
            .collect();
        self.run_files(aws, function, &files);
    }

    /// As [`Emulator::run`], with event files from anywhere (e.g. made by the test).
    fn run_files(&self, aws: &Aws, function: &str, cases: &[(PathBuf, &Expect)]) {
        let binary = binary(function);
        let mut process = Command::new(&binary)
            .envs(aws.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        for (fixture, expect) in cases {
            let case = fixture.display();
            let out = invoke(self.port, fixture);
            if let Ok(Some(status)) = process.try_wait() {
                panic!("{function} exited ({status}) during {case}: its init failed");
            }
            let out = out.unwrap_or_else(|e| panic!("{function}/{case}: {e}"));
            match expect {
                Status(want) => {
                    assert_eq!(out["statusCode"], *want, "{function}/{case} answered {out}")
                }
                Done => assert!(
                    out.get("errorType").is_none(),
                    "{function}/{case} failed: {out}"
                ),
                NoBatchFailures => assert_eq!(
                    out["batchItemFailures"],
                    serde_json::json!([]),
                    "{function}/{case} answered {out}"
                ),
            }
        }
        let _ = process.kill();
        let _ = process.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the API Gateway event in `fixture` signed now with the fixture secret (the fixture itself is signed
/// at the demo time, which real time has left behind), in a file of its own.
fn fresh_signature(fixture: &Path) -> PathBuf {
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("read fixture"))
            .expect("JSON");
    let body = event["body"].as_str().expect("body").to_string();
    let t = chrono::Utc::now().timestamp();
    event["headers"]["x-provisio-signature"] =
        provisio_core::signature::sign(HR_SECRET.as_bytes(), t, body.as_bytes()).into();
    let dir = std::env::temp_dir().join(format!("provisio-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("hr-event-signed-now.json");
    std::fs::write(&path, event.to_string()).expect("write signed event");
    path
}

/// The debug binary `cargo build --bins` left in the target directory.
fn binary(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("debug").join(function);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first",
        path.display()
    );
    path
}

/// `cargo lambda invoke --data-file`, with a deadline; the function's JSON answer (or its error object).
fn invoke(port: u16, fixture: &Path) -> Result<Value, String> {
    let mut child = Command::new("cargo")
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .arg("--output-format")
        .arg("json")
        .arg("_")
        .arg("--data-file")
        .arg(fixture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo lambda invoke: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("no answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Ok(value) = serde_json::from_str::<Value>(stdout.trim()) {
        return Ok(value);
    }
    // A function error: cargo lambda reports it on stderr.
    Ok(
        serde_json::json!({"errorType": "invoke failed", "errorMessage": format!("{stdout} {stderr}")}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs cargo-lambda and `cargo build --bins`; scripts/test.sh runs it"]
async fn every_function_binary_answers_its_fixtures_on_the_dynamodb_backend() {
    let emulator = Emulator::start();

    // A requester cancels a request before anything happens, then asks again (twice, with one
    // Idempotency-Key: one request, one execution).
    let asking = Aws::new("smoke-ask-").await;
    seed_request(
        &asking.ports,
        FIXTURE_REQUEST_ID,
        "E013",
        "adobe-creative-cloud",
    )
    .await;
    emulator.run(
        &asking,
        "intake",
        &[
            ("cancel-request", Status(200)),
            ("submit-request", Status(202)),
            ("submit-request", Status(202)),
            ("submit-request-no-token", Status(401)),
            ("submit-request-unknown-field", Status(400)),
        ],
    );
    let fulfilment_arn = &asking
        .env
        .iter()
        .find(|(k, _)| k == env::state_machine_arns::FULFILMENT)
        .expect("fulfilment ARN")
        .1;
    let executions = asking
        .sfn
        .list_executions()
        .state_machine_arn(fulfilment_arn)
        .send()
        .await
        .expect("list executions");
    assert_eq!(
        executions.executions().len(),
        1,
        "the repeated submit started one execution, named by the request id"
    );
    let published = asking.published().await;
    for wanted in [
        event_types::REQUEST_CANCELLED,
        event_types::REQUEST_SUBMITTED,
    ] {
        assert!(
            published.contains(wanted),
            "{wanted} not published: {published:?}"
        );
    }

    // The fixture request's whole life, step by step as the state machine drives it.
    let aws = Aws::new("smoke-").await;
    seed_request(
        &aws.ports,
        FIXTURE_REQUEST_ID,
        "E013",
        "adobe-creative-cloud",
    )
    .await;
    emulator.run(
        &aws,
        "intake",
        &[
            ("get-catalog", Status(200)),
            ("get-request", Status(200)),
            ("list-assignments", Status(200)),
        ],
    );
    emulator.run(&aws, "eligibility", &[("check-eligibility", Done)]);
    emulator.run(&aws, "license-check", &[("reserve", Done)]);
    emulator.run(&aws, "approval", &[("await-decision-stage-0", Done)]);
    emulator.run(
        &aws,
        "approval-callback",
        &[
            ("list-approvals", Status(200)),
            ("decide-by-non-approver", Status(404)),
            ("decide-approve", Status(200)),
        ],
    );
    emulator.run(&aws, "approval", &[("await-decision-stage-1", Done)]);
    // The item owner's decision on stage 1 has no fixture: record the request as approved.
    approve(&aws.ports, FIXTURE_REQUEST_ID).await;
    emulator.run(&aws, "provisioning", &[("provision", Done)]);
    emulator.run(&aws, "license-check", &[("commit", Done)]);
    emulator.run(&aws, "intake", &[("return-assignment", Status(202))]);
    emulator.run(
        &aws,
        "deprovisioning",
        &[("return", Done), ("revoke-all", Done)],
    );
    emulator.run(
        &aws,
        "license-check",
        &[
            ("release-rejected", Done),
            ("release-seat-unavailable", Done),
        ],
    );
    // The schedules' events: nothing is overdue or expired yet, and the sweeps say so.
    emulator.run(&aws, "escalation", &[("scheduled", Done)]);
    emulator.run(&aws, "compliance", &[("scheduled", Done)]);
    emulator.run(
        &aws,
        "admin",
        &[
            ("put-catalog-item", Status(200)),
            ("put-catalog-item-non-admin", Status(403)),
            ("put-license-pool", Status(200)),
            ("audit-verify", Status(200)),
            // The reports query their indexes (nothing falls in the fixtures' periods).
            ("chargeback", Status(200)),
            ("chargeback-csv", Status(200)),
            ("chargeback-by-employee", Status(403)),
            ("fulfilment-metrics", Status(200)),
            // Usage signals: E011 holds no Creative Cloud here, the holding is looked up and not found. (The
            // future-signal fixture is future only on the fixtures' clock, not on the binaries' real one.)
            ("report-usage", Status(404)),
            ("report-usage-employee", Status(403)),
        ],
    );

    // What the binaries wrote is there: the holding went through and back, the audit chain verifies.
    let holding = aws
        .ports
        .assignments
        .get("E013.adobe-creative-cloud")
        .await
        .expect("assignments")
        .expect("the holding exists");
    assert_ne!(
        holding.status,
        AssignmentStatus::Active,
        "returned, then revoked"
    );
    let pool = aws
        .ports
        .licenses
        .get_pool("pool-adobe-cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pool.reserved, pool.assigned),
        (0, 0),
        "every seat went back"
    );
    let verification = provisio_core::audit::verify(aws.ports.audit.as_ref())
        .await
        .unwrap();
    assert!(verification.ok, "{verification:?}");

    // HR: the webhook refuses what is not signed with its secret and queues a freshly signed event in the FIFO
    // queue, grouped by employee and deduplicated by event id; hr-sync applies what SQS delivers.
    emulator.run(&aws, "hr-webhook", &[("bad-signature", Status(401))]);
    let signed = fresh_signature(&events_dir().join("hr-webhook/hire.json"));
    emulator.run_files(&aws, "hr-webhook", &[(signed.clone(), &Status(202))]);
    let queued = aws
        .sqs
        .receive_message()
        .queue_url(&aws.hr_queue_url)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive HR queue")
        .messages
        .unwrap_or_default();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let attributes = queued[0].attributes().expect("system attributes");
    let attribute = |name| {
        attributes
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::from(name))
            .map(String::as_str)
    };
    assert_eq!(attribute("MessageGroupId"), Some("E031"));
    assert_eq!(
        attribute("MessageDeduplicationId"),
        Some("wd-2026-11-22-0001")
    );
    emulator.run(
        &aws,
        "hr-sync",
        &[
            ("hire-then-move", NoBatchFailures),
            ("terminate", NoBatchFailures),
        ],
    );
    let joiner = aws
        .ports
        .identities
        .get("E031")
        .await
        .unwrap()
        .expect("E031 hired");
    assert_eq!(joiner.department, "Sales", "hired, then moved");
    let leaver = aws.ports.identities.get("E013").await.unwrap().unwrap();
    assert_eq!(
        leaver.status,
        provisio_core::model::IdentityStatus::Terminated
    );
    let offboarding_arn = &aws
        .env
        .iter()
        .find(|(k, _)| k == env::state_machine_arns::OFFBOARDING)
        .expect("offboarding ARN")
        .1;
    let offboardings = aws
        .sfn
        .list_executions()
        .state_machine_arn(offboarding_arn)
        .send()
        .await
        .expect("list executions");
    assert_eq!(
        offboardings.executions().len(),
        1,
        "the leaver's offboarding started"
    );

    // An identity provider creates, finds and deactivates a user over SCIM; a wrong token gets nothing.
    emulator.run(
        &aws,
        "scim",
        &[
            ("create-user", Status(201)),
            ("list-users-by-user-name", Status(200)),
            ("get-enterprise-schema", Status(200)),
            ("deactivate-user", Status(200)),
            ("list-users-wrong-token", Status(401)),
        ],
    );
    let deactivated = aws
        .ports
        .identities
        .get("E900")
        .await
        .unwrap()
        .expect("E900 created over SCIM");
    assert_eq!(
        deactivated.status,
        provisio_core::model::IdentityStatus::Terminated
    );

    // Offboarding steps for E009, terminated as hr-sync would.
    let mut e009 = aws.ports.identities.get("E009").await.unwrap().unwrap();
    e009.status = provisio_core::model::IdentityStatus::Terminated;
    aws.ports.identities.put(e009).await.unwrap();
    emulator.run(
        &aws,
        "offboarding",
        &[
            ("check-leaver", Done),
            ("cancel-requests", Done),
            ("reassign-approvals", Done),
            ("list-holdings", Done),
            ("request-device-returns", Done),
            ("report-step-failed", Done),
        ],
    );

    // Events reached the bus.
    let published = aws.published().await;
    for wanted in [
        event_types::APPROVAL_REQUESTED,
        event_types::ACCESS_PROVISIONED,
        event_types::ACCESS_REVOKED,
        event_types::EMPLOYEE_JOINED,
        event_types::EMPLOYEE_LEFT,
    ] {
        assert!(
            published.contains(wanted),
            "{wanted} not published: {published:?}"
        );
    }
}
