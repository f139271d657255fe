use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::Request;
use provisio_core::ports::RequestStore;

use super::{Item, Table, from_item, s, sort_time, versioned};

/// Table `requests`: one item per request (key `requestId`); indexes `byRequester` and `byBeneficiary`
/// (sort key `createdKey`) serve "my requests".
pub struct DynamoRequests(pub(crate) Table);

fn key(request_id: &str) -> Item {
    Item::from([("requestId".to_owned(), s(request_id))])
}

fn index_attributes(
    request: &Request,
) -> [(&'static str, aws_sdk_dynamodb::types::AttributeValue); 1] {
    [("createdKey", s(sort_time(request.created_at)))]
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
}
