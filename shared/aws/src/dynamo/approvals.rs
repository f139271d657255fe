use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use provisio_core::model::{ApprovalStatus, ApprovalTask, Principal, Timestamp, Versioned};
use provisio_core::ports::ApprovalStore;
use provisio_core::{Error, Result};

use super::{
    Item, RACE_RETRIES, Table, backoff, from_item, n, s, sort_time, string, to_item, versioned,
};

/// Table `approvals` (key `pk` + `sk`). Per task: the task item (`pk` = approval id, `sk` = "task"; index
/// `byRequest` by request id and stage index; sparse index `byEscalation` by the time of its next escalation
/// step, while it has one) and one lookup item per approver and per decider (`sk` =
/// `approver#user:E1` / `decider#E1`). Lookup items feed index `byLookup` (partition `lookup` = their `sk`,
/// sort `lookupSort` = status#created), so an inbox is one query even though a task has many approvers. Task
/// and lookups change in one transaction.
pub struct DynamoApprovals(pub(crate) Table);

const TASK: &str = "task";
const ESCALATION: &str = "pending";

fn key(approval_id: &str, sk: &str) -> Item {
    Item::from([("pk".to_owned(), s(approval_id)), ("sk".to_owned(), s(sk))])
}

fn status_name(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "PENDING",
        ApprovalStatus::Approved => "APPROVED",
        ApprovalStatus::Rejected => "REJECTED",
        ApprovalStatus::Cancelled => "CANCELLED",
        ApprovalStatus::Expired => "EXPIRED",
    }
}

fn approver_lookup(principal: &Principal) -> String {
    format!("approver#{principal}")
}

fn decider_lookup(employee_id: &str) -> String {
    format!("decider#{employee_id}")
}

/// The lookup keys a task should have.
fn lookups(task: &ApprovalTask) -> BTreeSet<String> {
    task.approvers
        .iter()
        .map(approver_lookup)
        .chain(
            task.decisions
                .iter()
                .map(|d| decider_lookup(&d.approver_id)),
        )
        .collect()
}

impl DynamoApprovals {
    fn writes(
        &self,
        task: &ApprovalTask,
        task_condition: (&str, Option<u64>),
        stale: &BTreeSet<String>,
    ) -> Result<Vec<TransactWriteItem>> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| Error::Internal(e.to_string());
        let mut attributes = vec![("pk", s(&task.approval_id)), ("sk", s(TASK))];
        // Sparse: only tasks with an escalation step ahead are in the index the sweep reads.
        if let Some((at, _)) = task.next_escalation() {
            attributes.push(("escalation", s(ESCALATION)));
            attributes.push(("escalationAt", s(sort_time(at))));
        }
        let mut put_task = Put::builder()
            .table_name(&self.0.name)
            .set_item(Some(to_item(task, &attributes)?))
            .condition_expression(task_condition.0);
        if let Some(version) = task_condition.1 {
            put_task = put_task
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(version));
        }
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(put_task.build().map_err(build)?)
                .build(),
        ];
        let sort = format!(
            "{}#{}",
            status_name(task.status),
            sort_time(task.created_at)
        );
        for lookup in lookups(task) {
            let mut item = key(&task.approval_id, &lookup);
            item.insert("lookup".into(), s(&lookup));
            item.insert("lookupSort".into(), s(&sort));
            let put = Put::builder()
                .table_name(&self.0.name)
                .set_item(Some(item))
                .build()
                .map_err(build)?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        for lookup in stale {
            let delete = Delete::builder()
                .table_name(&self.0.name)
                .set_key(Some(key(&task.approval_id, lookup)))
                .build()
                .map_err(build)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(writes)
    }

    /// Runs a transaction whose first write is the task; `Ok(false)` when the task's condition failed.
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<bool> {
        for attempt in 0..RACE_RETRIES {
            match self.0.transact(writes.clone()).await? {
                None => return Ok(true),
                Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                    return Ok(false);
                }
                Some(_) => backoff(attempt).await,
            }
        }
        Err(Error::StoreUnavailable(
            "DynamoDB: approval write kept conflicting".into(),
        ))
    }

    /// Tasks named by the `pk` of lookup items, re-read from the table and kept if `keep` still holds (the
    /// index may lag behind).
    async fn via_lookup(
        &self,
        lookup: &str,
        sort_prefix: Option<&str>,
        keep: impl Fn(&ApprovalTask) -> bool,
    ) -> Result<Vec<ApprovalTask>> {
        // DynamoDB refuses begins_with on an empty prefix, so no prefix means no sort-key condition.
        let (condition, values) = match sort_prefix {
            Some(prefix) => (
                "#lookup = :l AND begins_with(#lookupSort, :p)",
                vec![(":l", s(lookup)), (":p", s(prefix))],
            ),
            None => ("#lookup = :l", vec![(":l", s(lookup))]),
        };
        let items = self
            .0
            .query_all(Some("byLookup"), condition, &values, true)
            .await?;
        let mut tasks = Vec::new();
        for item in items {
            let Some(id) = string(&item, "pk") else {
                continue;
            };
            if let Some(task) = self.get(id).await?.filter(&keep) {
                tasks.push(task);
            }
        }
        tasks.sort_by_key(|t| t.created_at);
        Ok(tasks)
    }
}

#[async_trait]
impl ApprovalStore for DynamoApprovals {
    async fn create(&self, task: &ApprovalTask) -> Result<()> {
        let writes = self.writes(task, ("attribute_not_exists(pk)", None), &BTreeSet::new())?;
        if self.transact(writes).await? {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "{} {} already exists",
                ApprovalTask::KIND,
                task.approval_id
            )))
        }
    }

    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalTask>> {
        self.0
            .get_item(key(approval_id, TASK))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn save(&self, task: &mut ApprovalTask) -> Result<()> {
        let stored = self
            .get(&task.approval_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("approval {}", task.approval_id)))?;
        let current = lookups(task);
        let stale: BTreeSet<String> = lookups(&stored).difference(&current).cloned().collect();
        let expected = task.version;
        let mut next = task.clone();
        next.version = expected + 1;
        let writes = self.writes(&next, ("#v = :v", Some(expected)), &stale)?;
        if self.transact(writes).await? {
            task.version = expected + 1;
            Ok(())
        } else {
            Err(versioned::lost_race::<ApprovalTask>(
                &self.0,
                key(&task.approval_id, TASK),
                &task.approval_id,
            )
            .await)
        }
    }

    async fn pending_for(&self, principal: &Principal) -> Result<Vec<ApprovalTask>> {
        self.via_lookup(&approver_lookup(principal), Some("PENDING#"), |t| {
            t.status == ApprovalStatus::Pending && t.approvers.contains(principal)
        })
        .await
    }

    async fn for_request(&self, request_id: &str) -> Result<Vec<ApprovalTask>> {
        let items = self
            .0
            .query_all(
                Some("byRequest"),
                "#requestId = :r",
                &[(":r", s(request_id))],
                true,
            )
            .await?;
        items.into_iter().map(from_item).collect()
    }

    async fn needing_escalation(&self, now: Timestamp) -> Result<Vec<ApprovalTask>> {
        let items = self
            .0
            .query_all(
                Some("byEscalation"),
                "#escalation = :e AND #escalationAt <= :now",
                &[(":e", s(ESCALATION)), (":now", s(sort_time(now)))],
                true,
            )
            .await?;
        let mut due = Vec::new();
        for item in items {
            let task: ApprovalTask = from_item(item)?;
            // The index may lag a save: keep only what is still due.
            if task.next_escalation().is_some_and(|(at, _)| at <= now) {
                due.push(task);
            }
        }
        Ok(due)
    }

    async fn decided_by(&self, employee_id: &str) -> Result<Vec<ApprovalTask>> {
        self.via_lookup(&decider_lookup(employee_id), None, |t| {
            t.decisions.iter().any(|d| d.approver_id == employee_id)
        })
        .await
    }
}
