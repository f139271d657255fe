//! Use cases: what Provisio does, independent of how it is triggered. Lambda handlers and the local stack call
//! these with a wired [`Ports`].

pub mod admin;
pub mod approvals;
pub mod assignments;
pub mod catalog;
pub mod compliance;
pub mod escalation;
pub mod findings;
pub mod fulfilment;
pub mod hr;
pub mod idempotency;
pub mod lifecycle;
pub mod offboarding;
pub mod reports;
pub mod requests;
pub mod reviews;
pub mod usage;

use serde_json::Value;

use crate::audit::AuditRecord;
use crate::model::{CatalogItem, DomainEvent, Identity, Request};
use crate::ports::Ports;
use crate::{Error, Result};

/// How often an optimistic update is retried before giving up with `Conflict`.
const MAX_CONFLICT_RETRIES: usize = 8;

pub(crate) async fn item(p: &Ports, item_id: &str) -> Result<CatalogItem> {
    p.catalog
        .get(item_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("catalog item {item_id}")))
}

/// The catalog item at the version the request was routed with (falls back to the latest for old records).
pub(crate) async fn pinned_item(p: &Ports, req: &Request) -> Result<CatalogItem> {
    match p
        .catalog
        .get_version(&req.item_id, req.item_version)
        .await?
    {
        Some(it) => Ok(it),
        None => item(p, &req.item_id).await,
    }
}

pub(crate) async fn identity(p: &Ports, employee_id: &str) -> Result<Identity> {
    p.identities
        .get(employee_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("employee {employee_id}")))
}

pub(crate) async fn request(p: &Ports, request_id: &str) -> Result<Request> {
    p.requests
        .get(request_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("request {request_id}")))
}

/// Loads, changes and saves a request, retrying on concurrent writes. `change` returns the value to hand back;
/// it must be safe to run more than once. The audit entry records the status before and after.
pub(crate) async fn update_request<T>(
    p: &Ports,
    request_id: &str,
    actor: &str,
    action: &str,
    mut change: impl FnMut(&mut Request) -> Result<T>,
) -> Result<(Request, T)> {
    for _ in 0..MAX_CONFLICT_RETRIES {
        let mut req = request(p, request_id).await?;
        let before = summary(&req);
        let out = change(&mut req)?;
        match p.requests.save(&mut req).await {
            Ok(()) => {
                audit(p, actor, action, request_id, before, summary(&req), None).await?;
                return Ok((req, out));
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "request {request_id} is changing concurrently; try again"
    )))
}

/// What the audit trail keeps of a request: ids and statuses, never justification text.
pub(crate) fn summary(req: &Request) -> Value {
    serde_json::json!({
        "status": req.status,
        "stages": req.stages.iter().map(|s| serde_json::json!({"index": s.index, "status": s.status})).collect::<Vec<_>>(),
    })
}

pub(crate) async fn audit(
    p: &Ports,
    actor: &str,
    action: &str,
    subject: &str,
    before: Value,
    after: Value,
    comment: Option<String>,
) -> Result<()> {
    let record = AuditRecord {
        at: p.clock.now(),
        actor: actor.to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        before,
        after,
        comment,
    };
    p.audit.append(record).await.map(|_| ())
}

/// The end of a sweep: its report, or, when some items failed, an error naming how many. A failed invocation
/// is what the function's error alarm watches; the next run retries the failed items.
pub(crate) fn sweep_result<R: std::fmt::Debug>(sweep: &str, report: R, failed: u32) -> Result<R> {
    if failed == 0 {
        return Ok(report);
    }
    tracing::error!(?report, "{sweep} sweep incomplete");
    Err(crate::Error::StoreUnavailable(format!(
        "{failed} items of the {sweep} sweep failed; the next run retries them"
    )))
}

pub(crate) async fn publish(p: &Ports, detail_type: &'static str, detail: Value) -> Result<()> {
    p.events
        .publish(vec![DomainEvent::new(detail_type, detail)])
        .await
}
