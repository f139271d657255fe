use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{Datelike, Months, NaiveDate};
use provisio_core::model::{Request, Timestamp};
use provisio_core::ports::RequestStore;
use provisio_core::{Error, Result};

use super::{
    Item, RACE_RETRIES, Table, backoff, from_item, s, sort_time, to_item, unless_condition_failed,
    versioned,
};

/// Table `requests`: one item per request (key `requestId`); indexes `byRequester` and `byBeneficiary`
/// (sort key `createdKey`) serve "my requests", `byCreatedMonth` (partition `createdMonth`, `YYYY-MM` in UTC)
/// the reports over a period. Next to the requests, one marker item per open-request key
/// ([`Request::open_key`] as `requestId`, attribute `openRequestId` = the open request): written in the same
/// transaction as the request it names, deleted when that request ends. Markers carry no index attribute, so
/// no index sees them.
pub struct DynamoRequests(pub(crate) Table);

const OPEN_REQUEST: &str = "openRequestId";

fn key(request_id: &str) -> Item {
    Item::from([("requestId".to_owned(), s(request_id))])
}

const MONTH: &str = "%Y-%m";

fn index_attributes(
    request: &Request,
) -> [(&'static str, aws_sdk_dynamodb::types::AttributeValue); 2] {
    [
        ("createdKey", s(sort_time(request.created_at))),
        (
            "createdMonth",
            s(request.created_at.format(MONTH).to_string()),
        ),
    ]
}

/// The `createdMonth` partitions `[from, to)` touches, in order.
fn months(from: Timestamp, to: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1);
    while let Some(first) = month.filter(|m| m.and_time(chrono::NaiveTime::MIN).and_utc() < to) {
        out.push(first.format(MONTH).to_string());
        month = first.checked_add_months(Months::new(1));
    }
    out
}

fn built<T>(r: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    r.map_err(|e| Error::Internal(e.to_string()))
}

impl DynamoRequests {
    /// The put of a new item under a `requestId` nobody uses yet, or (`holder`) of the marker still naming a
    /// request that has ended.
    fn put(&self, item: Item, holder: Option<&str>) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.0.name)
            .set_item(Some(item))
            .expression_attribute_names("#k", "requestId");
        let put = match holder {
            None => put.condition_expression("attribute_not_exists(#k)"),
            Some(id) => put
                .condition_expression("#open = :holder")
                .expression_attribute_names("#open", OPEN_REQUEST)
                .expression_attribute_values(":holder", s(id)),
        };
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// The request holding open-request key `open_key`, if any.
    async fn holder(&self, open_key: &str) -> Result<Option<String>> {
        let marker = self.0.get_item(key(open_key)).await?;
        Ok(marker.and_then(|m| super::string(&m, OPEN_REQUEST).map(str::to_owned)))
    }

    /// Stores an open request and its marker in one transaction. A marker naming a request that has ended (its
    /// release was lost) is taken over, conditioned on still naming that request.
    async fn create_open(&self, request: &Request) -> Result<()> {
        let record = to_item(request, &index_attributes(request))?;
        let open_key = request.open_key();
        let marker = Item::from([
            ("requestId".to_owned(), s(&open_key)),
            (OPEN_REQUEST.to_owned(), s(&request.request_id)),
        ]);
        let mut ended: Option<String> = None;
        for attempt in 0..RACE_RETRIES {
            let writes = vec![
                self.put(record.clone(), None)?,
                self.put(marker.clone(), ended.as_deref())?,
            ];
            let Some(codes) = self.0.transact(writes).await? else {
                return Ok(());
            };
            let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
            if failed(0) {
                return Err(Error::Conflict(format!(
                    "request {} already exists",
                    request.request_id
                )));
            }
            if !failed(1) {
                backoff(attempt).await; // a concurrent transaction on the same items: try again
                continue;
            }
            ended = match self.holder(&open_key).await? {
                None => None, // released meanwhile
                Some(holder) => match self.get(&holder).await? {
                    Some(open) if !open.status.is_terminal() => {
                        return Err(Error::Conflict(Request::still_open(&holder)));
                    }
                    _ => Some(holder),
                },
            };
        }
        Err(Error::Conflict(format!(
            "request {} could not claim its open-request key; try again",
            request.request_id
        )))
    }

    /// Deletes the marker of an ended request if it still names it. A failure leaves a marker that the next
    /// create for the key takes over, so it is logged, not returned: the request itself is saved.
    async fn release(&self, request: &Request) {
        let result = self
            .0
            .client
            .delete_item()
            .table_name(&self.0.name)
            .set_key(Some(key(&request.open_key())))
            .condition_expression("#open = :id")
            .expression_attribute_names("#open", OPEN_REQUEST)
            .expression_attribute_values(":id", s(&request.request_id))
            .send()
            .await;
        if let Err(e) = unless_condition_failed(result) {
            tracing::warn!(request = %request.request_id, error = %e, "open-request key not released");
        }
    }
}

#[async_trait]
impl RequestStore for DynamoRequests {
    async fn create(&self, request: &Request) -> Result<()> {
        if request.status.is_terminal() {
            return versioned::create(&self.0, "requestId", request, &index_attributes(request))
                .await;
        }
        self.create_open(request).await
    }

    async fn get(&self, request_id: &str) -> Result<Option<Request>> {
        match self.0.get_item(key(request_id)).await? {
            // An open-request marker is no request, whatever id a caller asks for.
            Some(item) if item.contains_key(OPEN_REQUEST) => Ok(None),
            item => item.map(from_item).transpose(),
        }
    }

    async fn save(&self, request: &mut Request) -> Result<()> {
        let extra = index_attributes(request);
        versioned::save(&self.0, key(&request.request_id), request, &extra).await?;
        if request.status.is_terminal() {
            self.release(request).await;
        }
        Ok(())
    }

    async fn list_for(&self, employee_id: &str) -> Result<Vec<Request>> {
        // Requests for oneself are in both indexes: merge by id.
        let mut by_id = BTreeMap::new();
        for (index, attr) in [
            ("byRequester", "requesterId"),
            ("byBeneficiary", "beneficiaryId"),
        ] {
            let items = self
                .0
                .query_all(
                    Some(index),
                    &format!("#{attr} = :e"),
                    &[(":e", s(employee_id))],
                    false,
                )
                .await?;
            for item in items {
                let request: Request = from_item(item)?;
                by_id.insert(request.request_id.clone(), request);
            }
        }
        // Index reads are eventually consistent: a request saved a moment ago may show its previous state.
        let mut requests: Vec<Request> = by_id.into_values().collect();
        requests.sort_by_key(|r| Reverse(r.created_at));
        Ok(requests)
    }

    async fn created_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Request>> {
        let mut requests = Vec::new();
        for month in months(from, to) {
            // Inclusive key bounds because sort keys are cut to microseconds; the record decides exactly.
            let items = self
                .0
                .query_all(
                    Some("byCreatedMonth"),
                    "#createdMonth = :m AND #createdKey BETWEEN :from AND :to",
                    &[
                        (":m", s(month)),
                        (":from", s(sort_time(from))),
                        (":to", s(sort_time(to))),
                    ],
                    true,
                )
                .await?;
            for item in items {
                let request: Request = from_item(item)?;
                if from <= request.created_at && request.created_at < to {
                    requests.push(request);
                }
            }
        }
        // Same-instant requests in id order, as every adapter returns them.
        requests.sort_by(|a, b| (a.created_at, &a.request_id).cmp(&(b.created_at, &b.request_id)));
        Ok(requests)
    }
}
