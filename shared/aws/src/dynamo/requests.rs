use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{Datelike, Months, NaiveDate};
use provisio_core::Result;
use provisio_core::model::{Request, Timestamp};
use provisio_core::ports::RequestStore;

use super::{Item, Table, from_item, s, sort_time, versioned};

/// Table `requests`: one item per request (key `requestId`); indexes `byRequester` and `byBeneficiary`
/// (sort key `createdKey`) serve "my requests", `byCreatedMonth` (partition `createdMonth`, `YYYY-MM` in UTC)
/// the reports over a period.
pub struct DynamoRequests(pub(crate) Table);

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

#[async_trait]
impl RequestStore for DynamoRequests {
    async fn create(&self, request: &Request) -> Result<()> {
        versioned::create(&self.0, "requestId", request, &index_attributes(request)).await
    }

    async fn get(&self, request_id: &str) -> Result<Option<Request>> {
        self.0
            .get_item(key(request_id))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn save(&self, request: &mut Request) -> Result<()> {
        let extra = index_attributes(request);
        versioned::save(&self.0, key(&request.request_id), request, &extra).await
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
