//! A decision is one idempotent step: when something after recording it fails (the workflow callback, the
//! request save, the audit append), the function answers 5xx and the same decision retried completes every
//! remaining effect exactly once; any other decision stays refused. The escalation sweep completes a decision
//! nobody retries.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use common::{APPROVAL, call, waiting_for_manager};
use provisio_core::audit::{AuditEntry, AuditRecord};
use provisio_core::model::{Request, StageStatus, Timestamp};
use provisio_core::names::{errors, event_types};
use provisio_core::ports::{AuditLog, Ports, RequestStore};
use provisio_core::usecases::escalation;
use provisio_core::{Error, Result};
use provisio_lambda::ApiResponse;
use provisio_lambda::fixtures::{Demo, FIXTURE_REQUEST_ID, http_event};
use provisio_memory::{CallbackFault, FlakyWorkflow};

fn throttled() -> Error {
    Error::StoreUnavailable("DynamoDB: ThrottlingException".into())
}

/// The first call of a store method fails as a throttled DynamoDB write; later ones pass through.
struct FailsOnce<S: ?Sized> {
    inner: Arc<S>,
    armed: AtomicBool,
}

impl<S: ?Sized> FailsOnce<S> {
    fn new(inner: Arc<S>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            armed: AtomicBool::new(true),
        })
    }

    fn trip(&self) -> Result<()> {
        match self.armed.swap(false, Ordering::SeqCst) {
            true => Err(throttled()),
            false => Ok(()),
        }
    }
}

/// `save` fails once.
#[async_trait]
impl RequestStore for FailsOnce<dyn RequestStore> {
    async fn create(&self, request: &Request) -> Result<()> {
        self.inner.create(request).await
    }
    async fn get(&self, request_id: &str) -> Result<Option<Request>> {
        self.inner.get(request_id).await
    }
    async fn save(&self, request: &mut Request) -> Result<()> {
        self.trip()?;
        self.inner.save(request).await
    }
    async fn list_for(&self, employee_id: &str) -> Result<Vec<Request>> {
        self.inner.list_for(employee_id).await
    }
    async fn created_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Request>> {
        self.inner.created_between(from, to).await
    }
}

/// `append` of the decision's own entry (its subject is the approval) fails once.
#[async_trait]
impl AuditLog for FailsOnce<dyn AuditLog> {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        if record.subject == APPROVAL {
            self.trip()?;
        }
        self.inner.append(record).await
    }
    async fn append_anchor(&self, record: AuditRecord) -> Result<AuditEntry> {
        self.inner.append_anchor(record).await
    }
    async fn head(&self, chain: &str) -> Result<Option<AuditEntry>> {
        self.inner.head(chain).await
    }
    async fn page(&self, chain: &str, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.inner.page(chain, after, limit).await
    }
}

/// The demo's ports with a workflow engine whose next task callback suffers `fault`.
fn callback_fails(demo: &Demo, fault: CallbackFault) -> Ports {
    let mut ports = demo.ports.clone();
    ports.workflow = Arc::new(FlakyWorkflow::new(demo.workflow.clone(), fault, 1));
    ports
}

/// The fixture decision of E009 with another body.
async fn decide(ports: &Ports, body: &str) -> ApiResponse {
    let mut req = http_event("approval-callback", "decide-approve");
    req.body = body.as_bytes().to_vec().into();
    approval_callback::handle(ports, req).await
}

/// How many `approval.decided` audit entries name `subject`.
async fn decided_entries(demo: &Demo, subject: &str) -> usize {
    let entries = demo.ports.audit.entries().await.unwrap();
    entries
        .iter()
        .filter(|e| e.record.action == "approval.decided" && e.record.subject == subject)
        .count()
}

fn published(demo: &Demo, detail_type: &str) -> usize {
    let events = demo.events.events();
    events
        .iter()
        .filter(|e| e.detail_type == detail_type)
        .count()
}

/// The approval fixture failed once over `ports`, then succeeds on retry: every effect happened exactly once.
async fn approved_on_retry(demo: &Demo, ports: &Ports, token: &str) {
    let first = call(ports, "decide-approve").await;
    assert_eq!(first.status, 503, "{:?}", first.body_json());

    for _ in 0..2 {
        let retry = call(ports, "decide-approve").await;
        assert_eq!(retry.status, 200, "{:?}", retry.body_json());
        assert_eq!(retry.body_json()["status"], "APPROVED");
    }

    let completed = demo.workflow.completed_tasks();
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0].task_token, token);
    let req = demo.request(FIXTURE_REQUEST_ID).await;
    assert_eq!(req.stages[0].status, StageStatus::Approved);
    assert_eq!(req.stages[0].decisions.len(), 1);
    assert_eq!(decided_entries(demo, APPROVAL).await, 1);
    assert_eq!(decided_entries(demo, FIXTURE_REQUEST_ID).await, 1);
    assert_eq!(published(demo, event_types::APPROVAL_DECIDED), 1);
}

#[tokio::test]
async fn an_approval_whose_workflow_callback_is_refused_is_completed_by_its_retry() {
    let (demo, token) = waiting_for_manager().await;
    let ports = callback_fails(&demo, CallbackFault::Refused);
    approved_on_retry(&demo, &ports, &token).await;
}

#[tokio::test]
async fn an_approval_whose_workflow_callback_answer_is_lost_is_completed_by_its_retry() {
    let (demo, token) = waiting_for_manager().await;
    // The engine takes the callback; a second one for the same token is refused, as Step Functions does.
    let ports = callback_fails(&demo, CallbackFault::Lost);
    approved_on_retry(&demo, &ports, &token).await;
}

#[tokio::test]
async fn an_approval_whose_request_save_fails_is_completed_by_its_retry() {
    let (demo, token) = waiting_for_manager().await;
    let mut ports = demo.ports.clone();
    ports.requests = FailsOnce::new(demo.ports.requests.clone());
    approved_on_retry(&demo, &ports, &token).await;
}

#[tokio::test]
async fn an_approval_whose_decision_audit_append_fails_is_completed_by_its_retry() {
    let (demo, token) = waiting_for_manager().await;
    let mut ports = demo.ports.clone();
    ports.audit = FailsOnce::new(demo.ports.audit.clone());
    approved_on_retry(&demo, &ports, &token).await;
}

#[tokio::test]
async fn a_rejection_whose_workflow_callback_fails_is_completed_by_its_retry() {
    let (demo, token) = waiting_for_manager().await;
    let ports = callback_fails(&demo, CallbackFault::Refused);
    let body = r#"{"decision":"reject","comment":"not this quarter"}"#;

    assert_eq!(decide(&ports, body).await.status, 503);
    let retry = decide(&ports, body).await;

    assert_eq!(retry.status, 200, "{:?}", retry.body_json());
    assert_eq!(retry.body_json()["status"], "REJECTED");
    let failed = demo.workflow.failed_tasks();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].task_token, token);
    assert_eq!(failed[0].error, errors::REJECTED);
    assert!(demo.workflow.completed_tasks().is_empty());
    assert_eq!(decided_entries(&demo, APPROVAL).await, 1);
}

#[tokio::test]
async fn after_a_failed_attempt_only_the_same_decision_is_accepted() {
    let (demo, _) = waiting_for_manager().await;
    let ports = callback_fails(&demo, CallbackFault::Refused);
    assert_eq!(call(&ports, "decide-approve").await.status, 503);

    for other in [
        r#"{"decision":"reject","comment":"Fine for the launch"}"#,
        r#"{"decision":"approve","comment":"another comment"}"#,
        r#"{"decision":"approve"}"#,
    ] {
        let resp = decide(&ports, other).await;
        assert_eq!(resp.status, 409, "{other}: {:?}", resp.body_json());
    }
    assert!(demo.workflow.completed_tasks().is_empty());
    assert!(demo.workflow.failed_tasks().is_empty());

    assert_eq!(call(&ports, "decide-approve").await.status, 200);
    assert_eq!(demo.workflow.completed_tasks().len(), 1);
}

#[tokio::test]
async fn the_escalation_sweep_completes_an_approval_nobody_retries_instead_of_expiring_it() {
    let (demo, token) = waiting_for_manager().await;
    let ports = callback_fails(&demo, CallbackFault::Refused);
    assert_eq!(call(&ports, "decide-approve").await.status, 503);

    // While the approver's own call may still be running, the sweep leaves the decision alone.
    let early = escalation::sweep(&demo.ports).await.unwrap();
    assert_eq!(early.completed, 0);
    assert!(demo.workflow.completed_tasks().is_empty());

    // Past the policy's maximum age (168 h): the decision is completed, not expired.
    demo.clock.advance(chrono::Duration::hours(200));
    let report = escalation::sweep(&demo.ports).await.unwrap();

    assert_eq!((report.completed, report.expired), (1, 0), "{report:?}");
    let completed = demo.workflow.completed_tasks();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].task_token, token);
    assert!(demo.workflow.failed_tasks().is_empty());
    assert_eq!(decided_entries(&demo, APPROVAL).await, 1);
    assert_eq!(escalation::sweep(&demo.ports).await.unwrap().completed, 0);
    // The approver's late retry finds it done.
    assert_eq!(call(&demo.ports, "decide-approve").await.status, 200);
    assert_eq!(demo.workflow.completed_tasks().len(), 1);
}
