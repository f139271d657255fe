//! DynamoDB stores. Key schema and indexes: shared/tables.json (also read by the CDK app); access patterns:
//! docs/data-model.md. Records are stored attribute by attribute (serde_dynamo) next to their key and index
//! attributes, so items read naturally in the console and in exports.

mod approvals;
mod assignments;
mod audit;
mod catalog;
mod findings;
mod idempotency;
mod identities;
mod licenses;
mod requests;
mod reviews;
mod schema;
mod versioned;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use provisio_core::model::Timestamp;
use provisio_core::names::tables;
use provisio_core::ports::{Clock, Connectors, EventBus, Ports, Workflow};
use provisio_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use approvals::DynamoApprovals;
pub use assignments::DynamoAssignments;
pub use audit::DynamoAudit;
pub use catalog::DynamoCatalog;
pub use findings::DynamoFindings;
pub use idempotency::DynamoIdempotency;
pub use identities::DynamoIdentities;
pub use licenses::DynamoLicenses;
pub use requests::DynamoRequests;
pub use reviews::DynamoReviews;
pub use schema::create_tables;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Physical table names, by the logical names of shared/names.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub catalog: String,
    pub identities: String,
    pub requests: String,
    pub approvals: String,
    pub licenses: String,
    pub assignments: String,
    pub audit: String,
    pub idempotency: String,
    pub findings: String,
    pub reviews: String,
}

impl TableNames {
    /// The names of shared/names.json, as the local stack and tests create them.
    pub fn defaults() -> Self {
        Self::with_prefix("")
    }

    /// The default names behind `prefix`, so test runs can share one endpoint without sharing tables.
    pub fn with_prefix(prefix: &str) -> Self {
        let name = |n: &str| format!("{prefix}{n}");
        Self {
            catalog: name(tables::CATALOG),
            identities: name(tables::IDENTITIES),
            requests: name(tables::REQUESTS),
            approvals: name(tables::APPROVALS),
            licenses: name(tables::LICENSES),
            assignments: name(tables::ASSIGNMENTS),
            audit: name(tables::AUDIT),
            idempotency: name(tables::IDEMPOTENCY),
            findings: name(tables::FINDINGS),
            reviews: name(tables::REVIEWS),
        }
    }

    /// (logical name, physical name) pairs, in names.json order.
    pub fn pairs(&self) -> [(&'static str, &str); 10] {
        [
            ("catalog", &self.catalog),
            ("identities", &self.identities),
            ("requests", &self.requests),
            ("approvals", &self.approvals),
            ("licenses", &self.licenses),
            ("assignments", &self.assignments),
            ("audit", &self.audit),
            ("idempotency", &self.idempotency),
            ("findings", &self.findings),
            ("reviews", &self.reviews),
        ]
    }
}

/// Every DynamoDB store over one client.
#[derive(Clone)]
pub struct DynamoStores {
    pub catalog: Arc<DynamoCatalog>,
    pub identities: Arc<DynamoIdentities>,
    pub requests: Arc<DynamoRequests>,
    pub approvals: Arc<DynamoApprovals>,
    pub licenses: Arc<DynamoLicenses>,
    pub assignments: Arc<DynamoAssignments>,
    pub audit: Arc<DynamoAudit>,
    pub idempotency: Arc<DynamoIdempotency>,
    pub findings: Arc<DynamoFindings>,
    pub reviews: Arc<DynamoReviews>,
}

impl DynamoStores {
    pub fn new(client: Client, names: &TableNames) -> Self {
        let table = |name: &str| Table {
            client: client.clone(),
            name: name.to_owned(),
        };
        Self {
            catalog: Arc::new(DynamoCatalog(table(&names.catalog))),
            identities: Arc::new(DynamoIdentities(table(&names.identities))),
            requests: Arc::new(DynamoRequests(table(&names.requests))),
            approvals: Arc::new(DynamoApprovals(table(&names.approvals))),
            licenses: Arc::new(DynamoLicenses(table(&names.licenses))),
            assignments: Arc::new(DynamoAssignments(table(&names.assignments))),
            audit: Arc::new(DynamoAudit(table(&names.audit))),
            idempotency: Arc::new(DynamoIdempotency(table(&names.idempotency))),
            findings: Arc::new(DynamoFindings(table(&names.findings))),
            reviews: Arc::new(DynamoReviews(table(&names.reviews))),
        }
    }

    /// The ports over these stores plus the given non-store adapters.
    pub fn ports(
        &self,
        workflow: Arc<dyn Workflow>,
        events: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        connectors: Arc<dyn Connectors>,
    ) -> Ports {
        Ports {
            catalog: self.catalog.clone(),
            identities: self.identities.clone(),
            requests: self.requests.clone(),
            approvals: self.approvals.clone(),
            licenses: self.licenses.clone(),
            assignments: self.assignments.clone(),
            audit: self.audit.clone(),
            idempotency: self.idempotency.clone(),
            findings: self.findings.clone(),
            reviews: self.reviews.clone(),
            workflow,
            events,
            clock,
            connectors,
        }
    }
}

/// One table and the client to reach it.
#[derive(Clone)]
pub(crate) struct Table {
    pub(crate) client: Client,
    pub(crate) name: String,
}

impl Table {
    /// Every item a query returns, across pages. Attribute names are always aliased (`#a` for `a`), as several
    /// of ours are DynamoDB reserved words.
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: &[(&str, AttributeValue)],
        forward: bool,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.name)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(key_condition)
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take());
            // Base-table reads are strongly consistent (GSIs cannot be), so a write is visible to the next read.
            if index.is_none() {
                q = q.consistent_read(true);
            }
            for (name, value) in values {
                q = q.expression_attribute_values(*name, value.clone());
            }
            for name in aliased(key_condition) {
                q = q.expression_attribute_names(format!("#{name}"), name);
            }
            let out = q.send().await.map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// The item with the greatest sort key under `partition` (attribute `pk_name` = `pk_value`), read
    /// strongly consistent.
    pub(crate) async fn newest(&self, pk_name: &str, pk_value: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(pk_value))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.items.unwrap_or_default().into_iter().next())
    }

    /// Runs a transaction: `Ok(None)` when it committed, `Ok(Some(codes))` when DynamoDB cancelled it (one
    /// reason code per write, in order: "ConditionalCheckFailed", "TransactionConflict", "None", ...).
    pub(crate) async fn transact(
        &self,
        writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<Option<Vec<String>>> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e) => match cancellation_codes(&e) {
                Some(codes) => Ok(Some(codes)),
                None => Err(unavailable(e)),
            },
        }
    }

    pub(crate) async fn get_item(&self, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

/// The attribute names an expression aliases as `#name`.
pub(crate) fn aliased(expression: &str) -> Vec<&str> {
    let mut names: Vec<&str> = expression
        .split('#')
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A sortable, fixed-width timestamp for sort keys.
pub(crate) fn sort_time(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `record`'s attributes plus the key and index attributes in `extra`.
pub(crate) fn to_item<T: Serialize>(record: &T, extra: &[(&str, AttributeValue)]) -> Result<Item> {
    let mut item: Item = serde_dynamo::to_item(record)
        .map_err(|e| Error::Internal(format!("cannot encode record: {e}")))?;
    for (name, value) in extra {
        item.insert((*name).to_owned(), value.clone());
    }
    Ok(item)
}

/// Key and index attributes the adapters add next to a record's own (see shared/tables.json).
const STORAGE_ONLY: &[&str] = &[
    "pk",
    "sk",
    "kind",
    "delegating",
    "current",
    "createdKey",
    "createdMonth",
    "lookup",
    "lookupSort",
    "escalation",
    "escalationAt",
    "expiring",
    "expiresKey",
    "activeItem",
    "activeKind",
    "poolList",
    "held",
    "grantedKey",
    "ended",
    "endedKey",
    "leaver",
    "terminatedKey",
    "scimAccount",
    "scimUserName",
    "scimExternalId",
    "pendingReviewer",
    "pendingDue",
    "dueKey",
    "openCampaign",
];

/// The record stored in `item`, without the storage-only attributes (some records deny unknown fields).
pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    from_item_keeping(item, &[])
}

/// As [`from_item`], but keeps the attributes in `keep`: fields of the record that share their name with
/// another table's storage-only attribute (a finding's `kind`).
pub(crate) fn from_item_keeping<T: DeserializeOwned>(mut item: Item, keep: &[&str]) -> Result<T> {
    for name in STORAGE_ONLY.iter().filter(|name| !keep.contains(name)) {
        item.remove(*name);
    }
    serde_dynamo::from_item(item).map_err(|e| Error::Internal(format!("cannot decode record: {e}")))
}

pub(crate) fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub(crate) fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A DynamoDB failure the caller did not expect, classified once for every store (see `crate::errors`):
/// throttling, timeouts and 5xx are `Provisio.StoreUnavailable` (retried); a refusal such as a
/// ValidationException, AccessDenied or a missing table is `Provisio.Internal` (a misconfiguration, not retried).
pub(crate) fn unavailable<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    crate::errors::sdk_error("DynamoDB", err)
}

/// Whether a single-item write failed its condition.
pub(crate) fn condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A conditional write whose condition failing means "nothing to do".
pub(crate) fn unless_condition_failed<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if condition_failed(&e) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

/// Why a transaction was cancelled: one code per item, in request order ("None" for items that were fine).
fn cancellation_codes(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<Vec<String>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// How often a write that lost a race (condition or transaction conflict) is re-read and retried.
pub(crate) const RACE_RETRIES: u32 = 50;

/// A short, jittered pause between race retries so contenders spread out.
pub(crate) async fn backoff(attempt: u32) {
    let base = 5 * u64::from(attempt.min(10) + 1);
    let jitter = rand::random_range(0..base);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}
