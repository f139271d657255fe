//! What the domain needs from the outside world. Adapters: `provisio-memory` (local stack, tests) and the AWS
//! adapters (DynamoDB, Step Functions, EventBridge). Every method is safe to retry: Lambda and SQS deliver at
//! least once.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Result;
use crate::audit::{AuditEntry, AuditRecord};
use crate::model::*;

#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn get(&self, item_id: &str) -> Result<Option<CatalogItem>>;
    /// One stored version; requests pin the version they were routed with.
    async fn get_version(&self, item_id: &str, version: u32) -> Result<Option<CatalogItem>>;
    async fn list(&self) -> Result<Vec<CatalogItem>>;
    /// Stores `item` as the next version of its id (the given `version` is ignored) and returns what was stored.
    async fn put(&self, item: CatalogItem) -> Result<CatalogItem>;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn get(&self, employee_id: &str) -> Result<Option<Identity>>;
    async fn put(&self, identity: Identity) -> Result<()>;
    /// Identities ordered by employee id, starting after `cursor`.
    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Identity>>;
    /// Identities with a delegate window naming `delegate_id`.
    async fn delegators_of(&self, delegate_id: &str) -> Result<Vec<Identity>>;
    /// The identity whose live SCIM account ([`ScimAccount::is_live`]) has this userName, compared
    /// case-insensitively ([`ScimAccount::user_name_key`]). Reads only that one (an index), never a scan.
    async fn by_scim_user_name(&self, user_name: &str) -> Result<Option<Identity>>;
    /// Identities whose live SCIM account has this externalId (case-exact; identity providers do not promise
    /// it is unique), in employee id order. Reads only those (an index).
    async fn by_scim_external_id(&self, external_id: &str) -> Result<Vec<Identity>>;
    /// Identities with a live SCIM account, ordered by [`ScimAccount::user_name_key`]: `limit` of them from the
    /// 0-based `offset` (SCIM pages by index), and how many there are in all. Reads only SCIM identities (an
    /// index), never the HR-only ones.
    async fn scim_users(&self, offset: usize, limit: usize) -> Result<ScimUsers>;
    /// Terminated identities whose termination ([`Identity::terminated_at`]) is at or after `from`, earliest
    /// first. Reads only those (a sparse index on the termination time), however many people ever left.
    async fn terminated_since(&self, from: Timestamp) -> Result<Vec<Identity>>;
}

#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Stores a new request. An open one (status not terminal) also claims its open-request key
    /// ([`Request::open_key`]: one beneficiary, one item) in the same atomic step, so of any number of
    /// concurrent creates for one key exactly one succeeds. `Conflict` if the id exists, or if another request
    /// holding the key is still open (the message names it); a key whose holder has ended is taken over.
    async fn create(&self, request: &Request) -> Result<()>;
    async fn get(&self, request_id: &str) -> Result<Option<Request>>;
    /// Saves only if the stored version equals `request.version`, then bumps it; `Conflict` otherwise. A save
    /// that leaves the request terminal releases its open-request key (repeating it is harmless).
    async fn save(&self, request: &mut Request) -> Result<()>;
    /// Requests submitted by or for `employee_id`, newest first.
    async fn list_for(&self, employee_id: &str) -> Result<Vec<Request>>;
    /// Requests created in `[from, to)`, oldest first (same instant: id order). Reads only those (an index on the creation month, one
    /// query per month of the range), never a scan.
    async fn created_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Request>>;
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    async fn create(&self, task: &ApprovalTask) -> Result<()>;
    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalTask>>;
    /// Optimistic save, as `RequestStore::save`.
    async fn save(&self, task: &mut ApprovalTask) -> Result<()>;
    /// Pending tasks assigned to `principal` (the approver+status index).
    async fn pending_for(&self, principal: &Principal) -> Result<Vec<ApprovalTask>>;
    async fn for_request(&self, request_id: &str) -> Result<Vec<ApprovalTask>>;
    /// Tasks in which `employee_id` recorded a decision.
    async fn decided_by(&self, employee_id: &str) -> Result<Vec<ApprovalTask>>;
    /// Pending tasks whose next escalation step ([`ApprovalTask::next_escalation`]) is due at `now`, earliest
    /// first. Reads only those tasks (an index on the step time), however many tasks wait.
    async fn needing_escalation(&self, now: Timestamp) -> Result<Vec<ApprovalTask>>;
}

/// Seat accounting. Every change is atomic per call, so no interleaving of callers oversubscribes a pool.
#[async_trait]
pub trait LicenseLedger: Send + Sync {
    async fn get_pool(&self, pool_id: &str) -> Result<Option<LicensePool>>;
    /// Creates the pool or resizes it; a total below the assigned seats is a `Validation` error.
    async fn set_total(&self, pool_id: &str, item_id: &str, total: u32) -> Result<LicensePool>;
    /// Reserves one seat per pool for the request, all or none. Repeating it for the same request is a no-op;
    /// a full pool fails with `SeatUnavailable(pool_id)`.
    async fn reserve(&self, request_id: &str, pool_ids: &[String]) -> Result<()>;
    /// Turns the request's reservation in `pool_id` into an assigned seat. Idempotent.
    async fn assign(&self, request_id: &str, pool_id: &str) -> Result<()>;
    /// Frees the request's seat in `pool_id`, whether reserved or assigned. Idempotent.
    async fn release(&self, request_id: &str, pool_id: &str) -> Result<()>;
    async fn seats(&self, request_id: &str) -> Result<Vec<Seat>>;
    /// Every pool, ordered by id. Reads only pool records (an index), never the seats.
    async fn pools(&self) -> Result<Vec<LicensePool>>;
}

#[async_trait]
pub trait AssignmentStore: Send + Sync {
    async fn get(&self, assignment_id: &str) -> Result<Option<Assignment>>;
    /// Version 0 creates (`Conflict` if it exists); otherwise an optimistic save as `RequestStore::save`.
    async fn save(&self, assignment: &mut Assignment) -> Result<()>;
    async fn list_by_holder(&self, holder_id: &str) -> Result<Vec<Assignment>>;
    /// Active holdings that end ([`Assignment::ends_at`]: expiry or scheduled revocation) at or before `now`,
    /// earliest first. Reads only those (an index on the end of active holdings), however many holdings exist.
    async fn ending_by(&self, now: Timestamp) -> Result<Vec<Assignment>>;
    /// Active holdings of one item, ordered by assignment id. Reads only those (an index on active holdings
    /// by item).
    async fn active_of_item(&self, item_id: &str) -> Result<Vec<Assignment>>;
    /// Active holdings of one item last used ([`Assignment::last_use`]) at or before `cutoff`, least recently
    /// used first. Reads only those (an index on active holdings by item and last use).
    async fn idle_of_item(&self, item_id: &str, cutoff: Timestamp) -> Result<Vec<Assignment>>;
    /// Holdings active at some moment in `[from, to)` ([`Assignment::held_between`]), in assignment id order.
    /// Reads only active holdings granted before `to` and ended holdings that ended after `from` (indexes on the
    /// grant and on the end), never a scan.
    async fn held_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Assignment>>;
}

/// Compliance findings, one record per kind and subject.
#[async_trait]
pub trait FindingStore: Send + Sync {
    async fn get(&self, finding_id: &str) -> Result<Option<Finding>>;
    /// Version 0 creates (`Conflict` if it exists); otherwise an optimistic save as `RequestStore::save`.
    async fn save(&self, finding: &mut Finding) -> Result<()>;
    /// Findings of `kind` not yet resolved, ordered by id. Reads only those (a sparse index), however many
    /// resolved findings have piled up.
    async fn active(&self, kind: FindingKind) -> Result<Vec<Finding>>;
}

/// Access review campaigns and their tasks.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<ReviewCampaign>>;
    /// Version 0 creates (`Conflict` if it exists); otherwise an optimistic save as `RequestStore::save`.
    async fn save_campaign(&self, campaign: &mut ReviewCampaign) -> Result<()>;
    /// Open campaigns, ordered by id. Reads only those (a sparse index).
    async fn open_campaigns(&self) -> Result<Vec<ReviewCampaign>>;
    async fn get(&self, review_id: &str) -> Result<Option<ReviewTask>>;
    /// Version 0 creates (`Conflict` if it exists); otherwise an optimistic save as `RequestStore::save`.
    async fn save(&self, task: &mut ReviewTask) -> Result<()>;
    /// Pending tasks of `reviewer_id`, earliest due first (an index on reviewer, pending tasks only).
    async fn pending_for(&self, reviewer_id: &str) -> Result<Vec<ReviewTask>>;
    /// Every task of a campaign, ordered by review id (an index on the campaign).
    async fn of_campaign(&self, campaign_id: &str) -> Result<Vec<ReviewTask>>;
    /// Pending tasks due at or before `now`, earliest first. Reads only those (a sparse index on the due date
    /// of pending tasks), however many tasks were decided.
    async fn overdue(&self, now: Timestamp) -> Result<Vec<ReviewTask>>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `record` at the end of one record chain: its subject's home shard, or another shard when a
    /// concurrent appender holds the home shard's next slot (see [`crate::audit`]). Safe under concurrent
    /// appenders; no gap and no fork in any chain.
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry>;
    /// Appends an anchor record at the end of the anchor chain ([`crate::audit::anchor`] builds it).
    async fn append_anchor(&self, record: AuditRecord) -> Result<AuditEntry>;
    /// The newest entry of `chain`.
    async fn head(&self, chain: &str) -> Result<Option<AuditEntry>>;
    /// The entries of `chain` with `seq > after`, in sequence order: `limit` of them, fewer only at the end of
    /// the chain.
    async fn page(&self, chain: &str, after: u64, limit: usize) -> Result<Vec<AuditEntry>>;

    /// Every record entry (anchors left out), chain by chain, each chain in sequence order. It holds the
    /// whole trail in memory: for tests and offline tools, never a request path (verification pages).
    async fn entries(&self) -> Result<Vec<AuditEntry>> {
        let mut all = Vec::new();
        for chain in crate::audit::record_chains() {
            let mut after = 0;
            loop {
                let page = self.page(&chain, after, crate::audit::VERIFY_PAGE).await?;
                let full = page.len() >= crate::audit::VERIFY_PAGE;
                after = page.last().map_or(after, |e| e.seq);
                all.extend(page);
                if !full {
                    break;
                }
            }
        }
        Ok(all)
    }
}

/// A response remembered for an idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First use: the caller runs the operation, then `complete`s (or `abandon`s) the key.
    Acquired,
    /// Another attempt with this key is running right now.
    InProgress,
    /// Already done: replay this response.
    Completed(StoredResponse),
    /// The key was used with a different payload.
    Mismatch,
}

/// Idempotency records in the Powertools design: conditional put, in-progress expiry, stored response, TTL.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<Claim>;
    async fn complete(
        &self,
        key: &str,
        response: StoredResponse,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// Forgets an in-progress claim after a failure so a retry can run.
    async fn abandon(&self, key: &str) -> Result<()>;
}

/// The workflow engine: Step Functions on AWS, the ASL interpreter locally.
#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts the fulfilment state machine; the execution is named by the request id, so a repeat is harmless.
    async fn start_fulfilment(&self, request_id: &str) -> Result<()>;
    /// Starts the deprovision state machine under a unique, deterministic execution name.
    async fn start_deprovision(&self, execution_name: &str, input: Value) -> Result<()>;
    /// Starts the offboarding state machine (a leaver's holdings, requests and approvals) under a unique,
    /// deterministic execution name.
    async fn start_offboarding(&self, execution_name: &str, input: Value) -> Result<()>;
    async fn complete_task(&self, task_token: &str, output: Value) -> Result<()>;
    async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()>;
}

#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<()>;
}

/// A message for a FIFO queue: delivered in order within its group, and once per deduplication id (within the
/// queue's deduplication window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub group_id: String,
    pub deduplication_id: String,
    pub body: String,
}

/// A FIFO work queue (SQS on AWS). Producers only: consumers are triggered by the queue itself.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Returns once the queue has accepted the message; a repeat with the same deduplication id is harmless.
    async fn send(&self, message: QueueMessage) -> Result<()>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// What a connector is asked to grant or revoke.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// Stable per request and item: connectors use it to make grants idempotent.
    pub grant_id: String,
    pub request_id: String,
    pub holder_id: String,
    pub item_id: String,
    pub expires_at: Option<Timestamp>,
}

impl Grant {
    /// The grant `request_id` makes of `item_id` to `holder_id`; revokes rebuild it from the same ids.
    pub fn new(
        request_id: &str,
        holder_id: &str,
        item_id: &str,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Self {
            grant_id: format!("{request_id}:{item_id}"),
            request_id: request_id.to_string(),
            holder_id: holder_id.to_string(),
            item_id: item_id.to_string(),
            expires_at,
        }
    }
}

/// Fulfilment back ends. Errors: `ConnectorTransient` (retried by the state machine) or `ConnectorPermanent`.
#[async_trait]
pub trait Connectors: Send + Sync {
    /// Returns a reference the connector wants back on revoke.
    async fn grant(&self, config: &ConnectorConfig, grant: &Grant) -> Result<Value>;
    async fn revoke(
        &self,
        config: &ConnectorConfig,
        grant: &Grant,
        connector_ref: Option<&Value>,
    ) -> Result<()>;
}

/// Every port a use case may need, wired once per process.
#[derive(Clone)]
pub struct Ports {
    pub catalog: Arc<dyn CatalogStore>,
    pub identities: Arc<dyn IdentityStore>,
    pub requests: Arc<dyn RequestStore>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub licenses: Arc<dyn LicenseLedger>,
    pub assignments: Arc<dyn AssignmentStore>,
    pub audit: Arc<dyn AuditLog>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub findings: Arc<dyn FindingStore>,
    pub reviews: Arc<dyn ReviewStore>,
    pub workflow: Arc<dyn Workflow>,
    pub events: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub connectors: Arc<dyn Connectors>,
}
